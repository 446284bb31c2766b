package rotation

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Secret holds a token value. It refuses to print, log or marshal itself, so a
// token cannot reach a log line, an error string or a stored record by accident;
// adapters call Reveal at the one place they send it.
type Secret struct{ v string }

// NewSecret wraps a token value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the token value. Call it only where the value leaves the process
// for the API that needs it.
func (s Secret) Reveal() string { return s.v }

// Empty reports whether no value is held.
func (s Secret) Empty() bool { return s.v == "" }

// Equal reports whether two secrets hold the same value.
func (s Secret) Equal(o Secret) bool { return s.v == o.v }

// Fingerprint is the first 8 hex characters of the value's SHA-256: enough to tell
// two tokens apart in an audit trail, useless to an attacker.
func (s Secret) Fingerprint() string { return Fingerprint(s.v) }

func (s Secret) String() string               { return "[redacted]" }
func (s Secret) GoString() string             { return "rotation.Secret{[redacted]}" }
func (s Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte("[redacted]")) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// keyedDigest is HMAC-SHA256 of the value under key, in hex: what a run keeps to
// compare values by (Run.OldDigest, Run.NewDigest). Keyed by the run's own random
// key, it is no plain digest of the token — it matches nothing outside the run —
// and, like any SHA-256, cannot be reversed to a token nor collided.
func (s Secret) keyedDigest(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s.v))
	return hex.EncodeToString(m.Sum(nil))
}

// Fingerprint returns the first 8 hex characters of SHA-256 of v.
func Fingerprint(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:4])
}

// TokenKind is the kind of GitHub personal access token.
type TokenKind string

const (
	FineGrained TokenKind = "fine-grained"
	Classic     TokenKind = "classic"
	// HerokuAPIKey is a Heroku API key (an OAuth authorization of an account),
	// which rotabot mints itself: no paste (a Minter).
	HerokuAPIKey TokenKind = "heroku-api-key"
)

// Minted reports whether rotabot makes the new value of kind k by API.
func (k TokenKind) Minted() bool { return k == HerokuAPIKey }

// Service names where a credential of kind k lives and is checked, for people.
func (k TokenKind) Service() string {
	return cmp.Or(map[TokenKind]string{HerokuAPIKey: "Heroku"}[k], "GitHub")
}

// GitHubWeb is github.com's web address, where tokens of github.com live.
const GitHubWeb = "https://github.com"

// SettingsURL is the page of the GitHub at web (GitHubWeb when "") that lists
// tokens of kind k, where one is deleted (classic) or revoked (fine-grained); its
// "/new" is where one is made.
func (k TokenKind) SettingsURL(web string) string {
	if k == HerokuAPIKey {
		return "https://dashboard.heroku.com/account/applications"
	}
	if web = strings.TrimRight(web, "/"); web == "" {
		web = GitHubWeb
	}
	if k == Classic {
		return web + "/settings/tokens"
	}
	return web + "/settings/personal-access-tokens"
}

// Token prefixes GitHub uses, and the ones people paste by mistake.
const (
	PrefixFineGrained = "github_pat_"
	PrefixClassic     = "ghp_"
)

// PublicPrefixes start every credential of a kind alike (GitHub's, Heroku's,
// Slack's): they say what a value is, never which one. A leak check does not
// count them; a message may name them.
var PublicPrefixes = []string{PrefixFineGrained, PrefixClassic, "gho_", "ghu_", "ghs_", "ghr_", "HRKU-", "xoxb-", "xoxp-", "xapp-", "xoxe-"}

// otherPrefixes are token shapes we recognise so the message can say what was pasted.
var otherPrefixes = []struct{ prefix, what string }{
	{"gho_", "a GitHub OAuth token"},
	{"ghu_", "a GitHub App user token"},
	{"ghs_", "a GitHub App installation token"},
	{"ghr_", "a GitHub refresh token"},
	{"xoxb-", "a Slack bot token"},
	{"xoxp-", "a Slack user token"},
	{"xapp-", "a Slack app token"},
	{"xoxe", "a Slack token"},
}

// HerokuKeyShape is a Heroku API key: HRKU-… (since 2024), or a bare UUID.
var HerokuKeyShape = regexp.MustCompile(`^(HRKU-[A-Za-z0-9_-]{20,255}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)

// ShapeOf says which kind of credential value looks like: a Heroku API key, or
// else what TokenShape says. Each kind goes to its own service only.
func ShapeOf(value string) (TokenKind, error) {
	if HerokuKeyShape.MatchString(value) {
		return HerokuAPIKey, nil
	}
	return TokenShape(value)
}

// CheckAs asks c about a value held for a secret of kind: only when its shape
// belongs to kind's service, so a value of another service (another vendor's
// key pasted into the vault) is refused here and sent nowhere, never to the
// service its shape alone points at.
func CheckAs(ctx context.Context, c TokenChecker, kind TokenKind, v Secret) (TokenInfo, error) {
	if shape, err := ShapeOf(v.Reveal()); err == nil && kind != "" && shape.Service() != kind.Service() {
		return TokenInfo{}, Errorf(EINVALID, "the value `%s` has the shape of a %s credential, but the secret is a %s one: it was sent nowhere", v.Fingerprint(), shape.Service(), kind.Service())
	}
	return c.Check(ctx, v)
}

// TokenShape checks that value looks like a GitHub personal access token and says
// which kind it is. The message of its error never repeats the value.
func TokenShape(value string) (TokenKind, error) {
	switch {
	case value == "":
		return "", Errorf(EINVALID, "The token is empty: paste the new token GitHub showed you")
	case strings.ContainsAny(value, " \t\r\n"):
		return "", Errorf(EINVALID, "The token contains spaces or line breaks: paste it as one word")
	}
	for _, p := range otherPrefixes {
		if strings.HasPrefix(value, p.prefix) {
			return "", Errorf(EINVALID, "That is %s, not a GitHub personal access token (ghp_… or github_pat_…)", p.what)
		}
	}
	kind, rest := TokenKind(""), ""
	switch {
	case strings.HasPrefix(value, PrefixFineGrained):
		kind, rest = FineGrained, value[len(PrefixFineGrained):]
	case strings.HasPrefix(value, PrefixClassic):
		kind, rest = Classic, value[len(PrefixClassic):]
	default:
		return "", Errorf(EINVALID, "That is not a GitHub token (ghp_… or github_pat_…)")
	}
	if len(rest) < 20 || len(rest) > 255 {
		return "", Errorf(EINVALID, "That is not a whole GitHub token: it is too short or too long (ghp_… or github_pat_…)")
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return "", Errorf(EINVALID, "That is not a GitHub token: it holds characters GitHub tokens never have (ghp_… or github_pat_…)")
		}
	}
	return kind, nil
}

// TokenInfo is what GitHub says about a token (GET /user and its headers).
type TokenInfo struct {
	Login string
	Kind  TokenKind
	// ExpiresAt is zero when the token never expires.
	ExpiresAt time.Time
	// Scopes are the classic token's OAuth scopes (X-OAuth-Scopes).
	Scopes []string
	// Repos is how many repositories a fine-grained token can see (-1: not counted).
	Repos int
	// Detail is what else the service says, for people (a Heroku key's
	// authorization: id, scope, description).
	Detail string
	// CreatedAt is when the credential was made, when the service says (zero:
	// it does not; GitHub does not for a token).
	CreatedAt time.Time
}
