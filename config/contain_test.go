package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The routing matrix may not point a credential anywhere it does not belong: a
// probe is a plain path under GITHUB_API_URL, a verify check speaks https (loopback
// excepted) and cannot borrow one of rotabot's own credentials. Each refusal names
// the file and line.
func TestMatrixKeepsCredentialsHome(t *testing.T) {
	probe := func(p string) string {
		return secretDoc("    kind: classic\n    scopes: [repo]\n    probe: " + p + "\n    consumers: {heroku_apps: [raxx-console-prod]}\n")
	}
	const fix = " — write the path that follows GITHUB_API_URL, e.g. probe: /repos/OWNER/REPO/actions/runs?per_page=1"
	verify := func(lines string) string {
		return secretDoc("    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n    verify:\n" + lines)
	}
	for _, c := range []struct {
		name, doc string
		want      []string
	}{
		{"probe /https://", probe(`"/https://evil.example/x"`), []string{
			`t.yaml:10: TOKEN: probe "/https://evil.example/x" is not a plain path on the GitHub API: it starts like a URL (https:…), not a path` + fix}},
		{"probe //host", probe(`//evil.example/x`), []string{
			`t.yaml:10: TOKEN: probe "//evil.example/x" is not a plain path on the GitHub API: it starts with //, which names another host` + fix}},
		{"probe %2F%2F", probe(`/%2F%2Fevil.example/x`), []string{
			`t.yaml:10: TOKEN: probe "/%2F%2Fevil.example/x" is not a plain path on the GitHub API: it holds an encoded / or \ (%2F, %5C)` + fix}},
		{"probe backslash", probe(`'/\evil.example/x'`), []string{
			`t.yaml:10: TOKEN: probe "/\\evil.example/x" is not a plain path on the GitHub API: it holds a backslash (\), which some clients read as /` + fix}},
		{"probe ..", probe(`/repos/../../user`), []string{
			`t.yaml:10: TOKEN: probe "/repos/../../user" is not a plain path on the GitHub API: it holds a . or .. segment, which climbs out of the API's path` + fix}},
		{"probe %2e%2e", probe(`/repos/%2e%2e/user`), []string{
			`t.yaml:10: TOKEN: probe "/repos/%2e%2e/user" is not a plain path on the GitHub API: it holds a . or .. segment, which climbs out of the API's path` + fix}},
		{"probe that is fine", probe(`/repos/raxx-app/x/actions/runs?per_page=1`), nil},
		{"verify over plain http", verify("      - {name: console, url: http://console.raxx.app/api/status/builds}\n"), []string{
			`t.yaml:12: TOKEN: verify check "console": url "http://console.raxx.app/api/status/builds" uses plain http to console.raxx.app — use https: what the check sends (a session cookie) would cross the network in clear text (plain http is only for a loopback host such as 127.0.0.1)`}},
		{"verify over plain http to loopback", verify("      - {name: console, url: http://127.0.0.1:8080/status}\n"), nil},
		{"verify borrowing GITHUB_TOKEN", verify("      - name: console\n        url: https://console.raxx.app/x\n        headers_env: {Authorization: GITHUB_TOKEN, Cookie: CONSOLE_OPS_COOKIE}\n"), []string{
			`t.yaml:14: TOKEN: verify check "console": header Authorization names GITHUB_TOKEN, one of rotabot's own variables — a verify check may not send rotabot's credentials anywhere: give the check its own variable, e.g. CONSOLE_OPS_COOKIE`}},
		{"verify borrowing DATABASE_URL", verify("      - name: console\n        url: https://console.raxx.app/x\n        headers_env:\n          X-Db: DATABASE_URL\n"), []string{
			`t.yaml:15: TOKEN: verify check "console": header X-Db names DATABASE_URL, one of rotabot's own variables — a verify check may not send rotabot's credentials anywhere: give the check its own variable, e.g. CONSOLE_OPS_COOKIE`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, probs := Parse("t.yaml", []byte(c.doc))
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
	for _, name := range Vars() {
		doc := verify("      - {name: c, url: https://c.example/x, headers_env: {X-H: " + name + "}}\n")
		if _, probs := Parse("t.yaml", []byte(doc)); len(probs) != 1 {
			t.Errorf("headers_env naming %s: %d problems, want it refused", name, len(probs))
		}
	}
}

// rotabot check exits non-zero on each, with FILE:LINE.
func TestCheckRefusesCredentialsLeavingHome(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "rotabot.yaml")
	doc := secretDoc("    kind: classic\n    scopes: [repo]\n    probe: /https://evil.example/x\n    consumers: {heroku_apps: [raxx-console-prod]}\n" +
		"    verify:\n      - name: console\n        url: http://console.raxx.app/x\n        headers_env: {Cookie: SLACK_BOT_TOKEN}\n")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_, probs, err := Source{From: FromFlag, Value: f}.Load() // what rotabot check --config f prints
	if err != nil || len(probs) == 0 {
		t.Errorf("no problems (%v): rotabot check would exit 0", err)
	}
	for _, p := range probs {
		out.WriteString(p.String() + "\n")
	}
	for _, want := range []string{f + ":10: TOKEN: probe ", f + ":14: TOKEN: verify check \"console\": url ", f + ":15: TOKEN: verify check \"console\": header Cookie names SLACK_BOT_TOKEN"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
