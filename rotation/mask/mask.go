// Package mask takes credentials out of a log line before anyone sees it: every
// part of the values it is given (a run's own old and new token) wherever it
// stands, and whatever is shaped like a credential; the engine reaches it through
// its LineMasker port (Lines). It is text in, text out: it must not know about
// runs, the vault, Slack or any SDK, and it keeps nothing of a value beyond the
// Masker a caller holds for one line.
package mask

import (
	"regexp"
	"strings"

	"github.com/raxx-app/rotabot/rotation"
)

// Why, and how. A log watch's match is shown on the card and in its thread,
// written to the audit entry and post, and kept in the store: the line an app
// wrote may hold any credential. Two layers:
//
//   - The run's own old and new value, which the engine reads from the vault for
//     the purpose and drops once the line is masked. Every stretch of 8 or more
//     characters of either (after a known prefix such as github_pat_, in any
//     letter case) is masked wherever it stands: the project's own definition of
//     a token shown "in part". This layer is the guarantee: Mask reports a line
//     it could not clear of them, and the caller then shows none of the line.
//   - The shapes credentials take in the lines real apps write, for every other
//     secret: known token prefixes, a URL's user part, a value assigned to a
//     name that says it is secret (DB_PASSWORD=…, "api_key": "…", :token=>"…",
//     Password:… in Go's %+v), an Authorization, Cookie, Bearer or Basic
//     credential, and long opaque strings. This layer is best effort by nature:
//     it leans to masking, and keeps the words an on-call engineer reads the
//     line for ("401", "Bad credentials", the path, the error class).

// masked stands in for what was taken out.
const masked = "[masked]"

// gramLen is how many consecutive characters of a known value count as showing
// it "in part".
const gramLen = 8

// Masker masks log lines: the known values it was made with, and anything
// credential-shaped. It holds parts of those values: keep it only as long as the
// lines being masked, never on a Run or in a log.
type Masker struct {
	grams map[string]struct{} // every gramLen bytes of a known value's body, lower-cased
	short []string            // bodies shorter than gramLen, lower-cased
}

// New returns a Masker for lines that may hold the known values.
func New(known ...rotation.Secret) *Masker {
	m := &Masker{grams: map[string]struct{}{}}
	for _, k := range known {
		body := asciiLower(strings.TrimPrefix(k.Reveal(), knownPrefix.FindString(k.Reveal())))
		switch {
		case body == "":
		case len(body) < gramLen:
			m.short = append(m.short, body)
		default:
			for i := 0; i+gramLen <= len(body); i++ {
				m.grams[body[i:i+gramLen]] = struct{}{}
			}
		}
	}
	return m
}

// Mask returns s with the known values and anything credential-shaped replaced
// by [masked]. ok is false when a known value could still be found in the result
// (it cannot, short of a value holding "[masked]" itself): the caller must then
// show none of the line.
func (m *Masker) Mask(s string) (out string, ok bool) {
	out = maskShapes(m.maskKnown(s))
	if m.holds(out) {
		return "", false
	}
	return out, true
}

// Tokens masks what is credential-shaped in s, knowing no value: for a line
// of a run whose values are not at hand, or any other text that may hold one.
func Tokens(s string) string {
	out, _ := New().Mask(s)
	return out
}

// Lines masks the log lines the engine shows: it is the engine's LineMasker.
type Lines struct{}

var _ rotation.LineMasker = Lines{}

// MaskLine masks line with the known values and the shapes of credentials; ok
// is false when a known value could still be in the result (see Mask).
func (Lines) MaskLine(line string, known ...rotation.Secret) (string, bool) {
	return New(known...).Mask(line)
}

// maskKnown replaces every stretch of s made of known values' grams.
func (m *Masker) maskKnown(s string) string {
	mark := m.marks(s)
	if mark == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !mark[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		for i < len(s) && mark[i] {
			i++
		}
		b.WriteString(masked)
	}
	return b.String()
}

// marks flags the bytes of s that belong to a known value (nil: none do).
func (m *Masker) marks(s string) []bool {
	if len(m.grams) == 0 && len(m.short) == 0 {
		return nil
	}
	low := asciiLower(s)
	var mark []bool
	set := func(from, n int) {
		if mark == nil {
			mark = make([]bool, len(s))
		}
		for j := from; j < from+n; j++ {
			mark[j] = true
		}
	}
	for i := 0; i+gramLen <= len(low); i++ {
		if _, hit := m.grams[low[i:i+gramLen]]; hit {
			set(i, gramLen)
		}
	}
	for _, v := range m.short {
		for off := 0; ; {
			k := strings.Index(low[off:], v)
			if k < 0 {
				break
			}
			set(off+k, len(v))
			off += k + 1
		}
	}
	return mark
}

// holds reports whether any part of a known value is in s.
func (m *Masker) holds(s string) bool { return m.marks(s) != nil }

// asciiLower lower-cases ASCII letters only, so offsets stay put.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// maskShapes masks what looks like a credential, pass by pass; each pass leaves
// [masked] where it took something out, which the later ones leave alone.
func maskShapes(s string) string {
	s = tokenPrefixed.ReplaceAllString(s, "${1}${2}"+masked)
	s = awsKey.ReplaceAllString(s, "${1}"+masked)
	s = maskURLUsers(s)
	s = maskAssignments(s)
	s = maskSchemes(s)
	return maskOpaque(s)
}

var (
	// knownPrefix is the public start of a token, kept when the rest is masked.
	knownPrefix = regexp.MustCompile(`^(github_pat_|gh[pousr]_|xox[abeprs]-|xapp-|HRKU-|glpat-|npm_|sk_live_|sk_test_|rk_live_)`)
	// tokenPrefixed is a token known by its prefix, not inside a longer word.
	tokenPrefixed = regexp.MustCompile(`(^|[^A-Za-z0-9])(github_pat_|gh[pousr]_|xox[abeprs]-|xapp-|HRKU-|glpat-|npm_|sk_live_|sk_test_|rk_live_)[A-Za-z0-9_\-]{4,}`)
	awsKey        = regexp.MustCompile(`(^|[^A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}\b`)
	// urlUser is scheme://user:password@ or scheme://user@.
	urlUser = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://)([^\s:/?#@"'<>\[\]]*)(:[^\s@"'<>]*)?@`)
)

// maskURLUsers masks the password of a URL's user part, and a user part that is
// not a plain name (a token standing in for one).
func maskURLUsers(s string) string {
	return urlUser.ReplaceAllStringFunc(s, func(m string) string {
		sub := urlUser.FindStringSubmatch(m)
		scheme, user, pass := sub[1], sub[2], sub[3]
		switch {
		case pass != "" && pass != ":"+masked:
			return scheme + user + ":" + masked + "@"
		case pass == "" && user != "" && (len(user) > 32 || !wordLike(user)):
			return scheme + masked + "@"
		}
		return m
	})
}

// assignKey is a name followed by what assigns it a value: NAME=, "name": ,
// 'name' => , name: (the value is read by valueEnd).
var assignKey = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.\-]*)(["']?)(\s*(?:=>|=|:)\s*)`)

// maskAssignments masks the value of every name that says it is secret, in the
// forms apps log: shell and logfmt (DB_PASSWORD=…), JSON and Python ("token":
// "…"), YAML (password: …), Ruby (:api_key=>"…"), Go's %+v (Password:…).
func maskAssignments(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range assignKey.FindAllStringSubmatchIndex(s, -1) {
		if m[0] < last || !secretName(s[m[2]:m[3]]) || strings.HasSuffix(s[:m[2]], "://") {
			continue // inside a value already masked, not a secret's name, or a URL's user (maskURLUsers)
		}
		vs := m[1]
		ve, quoted := valueEnd(s, vs)
		v := s[vs:ve]
		colon := !strings.Contains(s[m[6]:m[7]], "=")
		if keepValue(v, quoted, colon, s[ve:]) {
			continue
		}
		b.WriteString(s[last:vs])
		b.WriteString(maskValue(v, quoted))
		last = ve
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// secretWords make a name secret wherever they stand in it; secretEnds when
// they end it. notSecretEnds end names that are about a secret, not the secret
// (token_expires_at, password_error).
var (
	secretWords   = []string{"password", "passwd", "passphrase", "secret", "token", "credential", "apikey", "api_key", "api-key", "privatekey", "private_key", "cookie", "authorization", "signature", "sessionid", "session_id"}
	secretEnds    = []string{"key", "pwd", "pass", "auth", "session", "jwt", "dsn"}
	notSecretEnds = []string{"error", "errors", "status", "type", "count", "expired", "expires", "expiry", "at", "name", "names", "kind", "scope", "scopes", "length", "len", "size", "ttl", "version", "valid", "present", "required", "enabled", "source", "fingerprint"}
)

// secretName reports whether a name (an environment variable, a JSON key, a
// field) says its value is secret.
func secretName(name string) bool {
	l := strings.ToLower(name)
	parts := splitWords(name)
	if len(parts) > 1 && containsWord(notSecretEnds, strings.ToLower(parts[len(parts)-1])) {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	for _, w := range secretEnds {
		if strings.HasSuffix(l, w) {
			return true
		}
	}
	return false
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// valueEnd is where the value starting at s[i] ends: a quoted string with its
// quotes (backslash escapes honoured), else a run up to a space, a quote or a
// separator. A bracketed word ([masked], [FILTERED]) is read whole.
func valueEnd(s string, i int) (end int, quoted bool) {
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		q := s[i]
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case q:
				return j + 1, true
			}
		}
		return len(s), true // unterminated: the rest of the line
	}
	j := i
	for j < len(s) {
		c := s[j]
		if c == '[' {
			if k := bracketWord(s[j:]); k > 0 {
				j += k
				continue
			}
		}
		if c <= ' ' || strings.IndexByte(`"',;&)}]`, c) >= 0 {
			break
		}
		j++
	}
	return j, false
}

// bracketWord is the length of a [WORD] at the start of s, or 0.
func bracketWord(s string) int {
	for k := 1; k < len(s); k++ {
		c := s[k]
		switch {
		case c == ']' && k > 1:
			return k + 1
		case !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'):
			return 0
		}
	}
	return 0
}

// authSchemes are the words before an Authorization credential; scheme matches
// one at the start of a value, with the space after it.
var (
	authSchemes = `bearer|basic|token|digest|bot`
	scheme      = regexp.MustCompile(`(?i)^(` + authSchemes + `)\s+`)
	httpStatus  = regexp.MustCompile(`^[1-5][0-9][0-9]$`)
	redacted    = regexp.MustCompile(`(?i)^(\[[a-z]+\]|\*+|null|nil|none|true|false|)$`)
)

// keepValue reports whether a secret name's value is left as it is: already
// masked or redacted, empty or null, an Authorization scheme whose credential
// follows (maskSchemes takes it), or — after a bare colon, where prose writes
// "invalid token: Bad credentials" — an HTTP status or a plain word the sentence
// goes on after.
func keepValue(v string, quoted, colon bool, rest string) bool {
	inner := v
	if quoted {
		inner = strings.Trim(v, `"'`)
	}
	if redacted.MatchString(inner) || maskedAlready(inner) {
		return true
	}
	if quoted {
		return false
	}
	if scheme.MatchString(v+" ") && strings.HasPrefix(rest, " ") {
		return true
	}
	if !colon {
		return false
	}
	return httpStatus.MatchString(v) || plainWord(v) && len(rest) > 1 && rest[0] == ' ' && isLetter(rest[1])
}

// maskedAlready reports whether v is what an earlier pass left: [masked], after
// a token's prefix at most.
func maskedAlready(v string) bool { return knownPrefix.FindString(v)+masked == v }

// maskValue is a value masked, its quotes and Authorization scheme kept.
func maskValue(v string, quoted bool) string {
	if !quoted {
		return masked
	}
	q, inner := v[:1], strings.TrimSuffix(v[1:], v[:1])
	return q + scheme.FindString(inner) + masked + q
}

// schemeValue is a credential after the word that introduces it: Bearer …,
// Basic …, token …, password ….
var schemeValue = regexp.MustCompile(`(?i)\b(bearer|basic|token|password|passwd|secret)(\s+)([^\s"',;&()<>{}]+)`)

// maskSchemes masks the credential after Bearer or Basic, and after token,
// password or secret unless a plain word follows ("token expired").
func maskSchemes(s string) string {
	return schemeValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := schemeValue.FindStringSubmatch(m)
		word, v := strings.ToLower(sub[1]), sub[3]
		if maskedAlready(v) || redacted.MatchString(v) {
			return m
		}
		if word == "bearer" || word == "basic" {
			if len(v) < 6 {
				return m
			}
		} else if plainWord(v) {
			return m
		}
		return sub[1] + sub[2] + masked
	})
}

// opaque is a run long enough to be a key, in the alphabets keys are written in
// (base64, base64url, hex, and the separators of generated ids).
var opaque = regexp.MustCompile(`[A-Za-z0-9+/_\-]{20,}={0,2}`)

// maskOpaque masks long runs that are not made of words: keys, hashes, ids.
func maskOpaque(s string) string {
	return opaque.ReplaceAllStringFunc(s, func(m string) string {
		if wordLike(strings.TrimRight(m, "=")) {
			return m
		}
		return masked
	})
}

// wordLike reports whether s reads as words — a path, a class name, an
// environment variable's name — rather than as something generated: every part
// (split at separators, case changes and digits) is a plausible word or a short
// number, and parts of one or two characters, which random strings fall into,
// are few.
func wordLike(s string) bool {
	total, short := 0, 0
	for _, p := range splitWords(s) {
		n := len(p)
		total += n
		switch {
		case isDigit(p[0]):
			if n > 10 {
				return false
			}
		case n > 16, n >= 6 && !strings.ContainsAny(strings.ToLower(p), "aeiouy"):
			return false
		}
		if n <= 2 {
			short += n
		}
	}
	return short*10 <= total*3
}

// splitWords splits s into its words: at anything but a letter or digit, where
// a lower-case letter meets an upper-case one (gitHub), before the last capital
// of a run followed by lower case (APIKey: API, Key), and between letters and
// digits.
func splitWords(s string) []string {
	var parts []string
	start := -1
	for i := 0; i <= len(s); i++ {
		k := 0
		if i < len(s) {
			k = charKind(s[i])
		}
		if start >= 0 {
			pk := charKind(s[i-1])
			cut := k == 0 || (pk == kindDigit) != (k == kindDigit) || pk == kindLower && k == kindUpper
			if !cut && pk == kindUpper && k == kindLower && i-1 > start && charKind(s[i-2]) == kindUpper {
				parts = append(parts, s[start:i-1])
				start = i - 1
			}
			if cut {
				parts = append(parts, s[start:i])
				start = -1
			}
		}
		if start < 0 && k != 0 {
			start = i
		}
	}
	return parts
}

const (
	kindLower = 1 + iota
	kindUpper
	kindDigit
)

func charKind(c byte) int {
	switch {
	case 'a' <= c && c <= 'z':
		return kindLower
	case 'A' <= c && c <= 'Z':
		return kindUpper
	case isDigit(c):
		return kindDigit
	}
	return 0
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return charKind(c) == kindLower || charKind(c) == kindUpper }

// plainWord reports whether v is a word of prose: letters only, not too long to
// be one, a trailing colon or full stop allowed.
func plainWord(v string) bool {
	v = strings.TrimRight(v, ":.")
	if v == "" || len(v) > 15 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isLetter(v[i]) {
			return false
		}
	}
	return true
}
