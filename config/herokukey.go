package config

import (
	"slices"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// HerokuScopes are Heroku's OAuth scopes (Dev Center, "OAuth": Scopes): global
// is the whole account, as the account's API key; identity reads the account
// only; read and write reach apps and other resources but not config vars,
// which read-protected and write-protected add.
var HerokuScopes = []string{"global", "identity", "read", "write", "read-protected", "write-protected"}

// HerokuLogPatterns are what a refused Heroku key looks like in a consumer's log:
// the Platform API's 401 (`{"id":"unauthorized","message":"Invalid credentials
// provided."}`), the Heroku CLI's words for a bad HEROKU_API_KEY, and a 401 on
// a line that names Heroku.
var HerokuLogPatterns = []string{
	`Invalid credentials provided`,
	`The token provided to HEROKU_API_KEY is invalid`,
	`(?i)heroku.*\b401\b`,
	`(?i)\b401\b.*heroku`,
}

// logPatterns are a secret's default log-watch patterns, by its kind.
func logPatterns(k rotation.TokenKind) []string {
	if k == rotation.HerokuAPIKey {
		return HerokuLogPatterns
	}
	return rotation.DefaultLogPatterns
}

// herokuKey reads what a heroku-api-key secret may say beyond any secret's
// settings — scopes (Heroku's) and probe (a Platform API path) — and refuses the
// GitHub token settings, which mean nothing for a key rotabot mints. It takes
// each key it read out of f, so the GitHub checks that follow do not see them.
func (c *checker) herokuKey(f map[string]entry, p string, sc *rotation.SecretConfig) {
	sc.ExpiresInDays = 0
	for key, why := range map[string]string{
		"expires_in_days": "a Heroku key rotabot makes never expires: remove it",
		"resource_owner":  "it is a GitHub fine-grained token's setting: remove it",
		"repositories":    "it is a GitHub fine-grained token's setting: remove it",
		"permissions":     "it is a GitHub fine-grained token's setting: a Heroku key has scopes",
	} {
		if e, ok := f[key]; ok {
			c.addf(e.line, "%s%s is not for a heroku-api-key — %s", p, key, why)
			delete(f, key)
		}
	}
	if e, ok := f["scopes"]; ok {
		items := c.list(e, p+"scopes", "scopes: [global]")
		for _, it := range items {
			if !slices.Contains(HerokuScopes, it.val) {
				c.addf(it.line, "%sscope %s is not a Heroku OAuth scope%s", p, show(it.val),
					didYouMean(it.val, HerokuScopes, " — use global, identity, read, write, read-protected or write-protected"))
			}
		}
		sc.Scopes = vals(items)
		delete(f, "scopes")
	}
	if e, ok := f["probe"]; ok && !isNull(e.val) {
		if v, ok := c.scalar(e, p+"probe"); ok {
			sc.Probe = v
			if err := egress.CheckPath(v); err != nil || len(v) < 2 || v[0] != '/' {
				c.addf(e.line, "%sprobe %s is not a path on the Heroku Platform API — write the path that follows HEROKU_API_URL, e.g. probe: /apps/raxx-console-prod", p, show(v))
			}
		}
		delete(f, "probe")
	}
}
