package rotation

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Overrides narrow or redirect a run's destinations (the CLI's flags).
type Overrides struct {
	VaultPath    string   // --vault-path
	HerokuApps   []string // --apps (app or app:CONFIG_VAR)
	GitHubSecret string   // --gh-secret-repo (owner/repo or owner/repo:SECRET_NAME)
}

// Plan is everything a run of a secret would touch and the token settings to use:
// what --dry-run shows.
type Plan struct {
	Secret        string
	Kind          TokenKind
	ExpiresInDays int
	ResourceOwner string
	Repositories  []string
	Permissions   map[string]string
	Scopes        []string
	Probe         string
	Vault         VaultRef
	Pending       VaultRef
	Destinations  []Destination
	Verify        []VerifyCheck
	// TokenName is the name to give the new token (<secret>-<date>).
	TokenName string
	// NewTokenURL is GitHub's page to create the token, prefilled where GitHub allows.
	NewTokenURL string
	// SettingsURL is GitHub's page listing tokens of the plan's kind, where the
	// old one is deleted or revoked.
	SettingsURL string
	// Warnings for people (classic tokens: migrate to fine-grained).
	Warnings []string
}

// MigrateWarning is shown for classic tokens (SOP: migrate on the next rotation).
const MigrateWarning = "Classic PAT: GitHub recommends fine-grained tokens — migrate this secret on this rotation if no classic-only feature is needed"

// Plan returns what a run of secret would touch, at time now.
func (m *Matrix) Plan(secret string, o Overrides, now time.Time) (Plan, error) {
	sc, err := m.Secret(secret)
	if err != nil {
		return Plan{}, err
	}
	cur, pend := m.Refs(secret)
	if o.VaultPath != "" {
		cur.Path = o.VaultPath
	}
	p := Plan{
		Secret: secret, Kind: sc.Kind, ExpiresInDays: sc.ExpiresInDays, ResourceOwner: sc.ResourceOwner,
		Repositories: sc.Repositories, Permissions: sc.Permissions, Scopes: sc.Scopes, Probe: sc.Probe,
		Vault: cur, Pending: pend, Verify: sc.Verify,
		TokenName: strings.ToLower(strings.ReplaceAll(secret, "_", "-")) + "-" + now.UTC().Format("2006-01-02"),
	}
	if p.ExpiresInDays == 0 && !p.Kind.Minted() {
		p.ExpiresInDays = DefaultExpiresInDays
	}
	p.Destinations = destinations(sc, o)
	p.SettingsURL = p.Kind.SettingsURL(m.GitHubWeb)
	if !p.Kind.Minted() {
		p.NewTokenURL = newTokenURL(p)
	}
	if sc.Kind == Classic {
		p.Warnings = append(p.Warnings, MigrateWarning)
	}
	return p, nil
}

// Where a destination was named: the routing matrix, or a CLI flag instead of it.
const (
	FromMatrix       = ""
	FromAppsFlag     = "--apps"
	FromGHSecretFlag = "--gh-secret-repo"
)

// Destinations are every place the routing matrix sets the secret's value, each
// pending: what a run writes, and what the drift check compares.
func (sc *SecretConfig) Destinations() []Destination { return destinations(sc, Overrides{}) }

// destinations are the secret's destinations, with o's CLI flags in place of
// the matrix's where they name any.
func destinations(sc *SecretConfig, o Overrides) []Destination {
	apps, appsFrom := sc.Consumers.HerokuApps, FromMatrix
	if len(o.HerokuApps) > 0 {
		apps, appsFrom = o.HerokuApps, FromAppsFlag
	}
	repos, reposFrom := sc.Consumers.GitHubSecrets, FromMatrix
	if o.GitHubSecret != "" {
		repos, reposFrom = []string{o.GitHubSecret}, FromGHSecretFlag
	}
	var ds []Destination
	for _, a := range apps {
		target, name, _ := strings.Cut(a, ":")
		ds = append(ds, Destination{Kind: DestHeroku, Target: target, Name: name, State: DestPending, From: appsFrom})
	}
	for _, r := range repos {
		target, name, _ := strings.Cut(r, ":")
		ds = append(ds, Destination{Kind: DestGitHubSecret, Target: target, Name: name, State: DestPending, From: reposFrom})
	}
	// The newer GitHub kinds always carry the name they store the value under,
	// so their labels can say it.
	for _, k := range []struct {
		kind    DestKind
		entries []string
	}{
		{DestGitHubEnvSecret, sc.Consumers.GitHubEnvSecrets},
		{DestGitHubOrgSecret, sc.Consumers.GitHubOrgSecrets},
		{DestDependabotSecret, sc.Consumers.DependabotSecrets},
	} {
		for _, e := range k.entries {
			target, name, _ := cutLast(e)
			if name == "" {
				name = sc.Name
			}
			ds = append(ds, Destination{Kind: k.kind, Target: target, Name: name, State: DestPending})
		}
	}
	for _, u := range sc.Consumers.ShellRCOperators {
		ds = append(ds, Destination{Kind: DestShellRC, Target: u, State: DestPending})
	}
	return ds
}

// cutLast splits a consumer entry at its last colon: an environment's name may
// not hold one, a secret name never does.
func cutLast(entry string) (target, name string, named bool) {
	i := strings.LastIndex(entry, ":")
	if i < 0 {
		return entry, "", false
	}
	return entry[:i], entry[i+1:], true
}

func newTokenURL(p Plan) string {
	q := url.Values{}
	if p.Kind == Classic {
		q.Set("description", p.TokenName)
		if len(p.Scopes) > 0 {
			q.Set("scopes", strings.Join(p.Scopes, ","))
		}
		return p.SettingsURL + "/new?" + q.Encode()
	}
	q.Set("name", p.TokenName)
	q.Set("description", "rotabot: "+p.Secret)
	if p.ResourceOwner != "" {
		q.Set("target_name", p.ResourceOwner)
	}
	q.Set("expires_in", fmt.Sprint(p.ExpiresInDays))
	for k, v := range p.Permissions {
		q.Set(k, v)
	}
	return p.SettingsURL + "/new?" + q.Encode()
}

// PermissionList is the fine-grained token's permissions as people read them,
// sorted: "actions: write, contents: read" ("" for none).
func (p Plan) PermissionList() string {
	keys := make([]string, 0, len(p.Permissions))
	for k := range p.Permissions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ps := make([]string, len(keys))
	for i, k := range keys {
		ps[i] = k + ": " + p.Permissions[k]
	}
	return strings.Join(ps, ", ")
}

// userPart is a URL's scheme and user part (scheme://user:password@), found
// also in a URL that does not parse.
var userPart = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@`)

// URLWithoutUser is a verify URL as it may be shown: without its user part, name
// and password both (rotabot check refuses one; a matrix that did not pass
// through it still never shows it).
func URLWithoutUser(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.User = nil
		return u.String()
	}
	return userPart.ReplaceAllString(raw, "${1}")
}
