package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
)

// A heroku-api-key secret: Heroku's scopes and a Platform API probe; a GitHub
// token's settings, a scope Heroku has not and a probe that is no path are each
// refused at their line; a key pasted in the file is never repeated.
func TestHerokuKeyKind(t *testing.T) {
	m, probs := Parse("t.yaml", []byte(secretDocNamed("HEROKU_DEPLOY_KEY",
		"    kind: heroku-api-key\n    scopes: [write-protected]\n    probe: /apps/raxx-console-prod\n    consumers: {github_secrets: [raxx-app/x:HEROKU_API_KEY]}\n")))
	if len(probs) != 0 {
		t.Fatalf("a clean heroku-api-key: %v", probs)
	}
	sc := m.Secrets["HEROKU_DEPLOY_KEY"]
	if sc.Kind != rotation.HerokuAPIKey || !slices.Equal(sc.Scopes, []string{"write-protected"}) || sc.ExpiresInDays != 0 || sc.Probe != "/apps/raxx-console-prod" {
		t.Errorf("parsed %+v", sc)
	}
	if len(sc.LogWatch.Patterns) != len(HerokuLogPatterns) || !sc.LogWatch.Patterns[0].MatchString(`heroku: {"id":"unauthorized","message":"Invalid credentials provided."}`) ||
		!sc.LogWatch.Patterns[1].MatchString("Error: The token provided to HEROKU_API_KEY is invalid. Please double-check that you have the correct token") {
		t.Errorf("log watch patterns %v: not Heroku's words for a refused key", sc.LogWatch.Patterns)
	}

	_, probs = Parse("t.yaml", []byte(secretDocNamed("HEROKU_DEPLOY_KEY", strings.Join([]string{
		"    kind: heroku-api-key",
		"    expires_in_days: 90",
		"    repositories: [raxx-app/x]",
		"    scopes: [global, admin, writeprotected]",
		"    probe: https://api.heroku.com/account",
		"    owners: [HRKU-57dce771-afad-4c41-a8a5-d10b7fbc743c]",
		"    consumers: {github_secrets: [raxx-app/x:HEROKU_API_KEY]}", ""}, "\n"))))
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	want := []string{
		`t.yaml:9: HEROKU_DEPLOY_KEY: expires_in_days is not for a heroku-api-key — a Heroku key rotabot makes never expires: remove it`,
		`t.yaml:10: HEROKU_DEPLOY_KEY: repositories is not for a heroku-api-key — it is a GitHub fine-grained token's setting: remove it`,
		`t.yaml:11: HEROKU_DEPLOY_KEY: scope "admin" is not a Heroku OAuth scope — use global, identity, read, write, read-protected or write-protected`,
		`t.yaml:11: HEROKU_DEPLOY_KEY: scope "writeprotected" is not a Heroku OAuth scope — did you mean write-protected?`,
		`t.yaml:12: HEROKU_DEPLOY_KEY: probe "https://api.heroku.com/account" is not a path on the Heroku Platform API — write the path that follows HEROKU_API_URL, e.g. probe: /apps/raxx-console-prod`,
		`t.yaml:13: this looks like a token value — rotabot.yaml must never hold a secret: remove it, and revoke that token if the file was ever shared or committed`,
		`t.yaml:13: HEROKU_DEPLOY_KEY: owner (a value that looks like a token) is not a Slack user id — use their member id (U… or W…), from their Slack profile → Copy member ID`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
