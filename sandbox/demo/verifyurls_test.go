package demo

import (
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
)

// escapingMatrix is a routing matrix whose verify checks name real hosts in
// every spelling a text search misses: an upper-case scheme, a user part, an
// explicit port, a quoted or tagged scalar, an anchor used by another secret.
const escapingMatrix = `ops_usergroup: S0OPS
channel: C0OPS
vault: {environment: prod, path: /MooseQuest/github/}
secrets:
  GITHUB_API_READONLY_TOKEN:
    kind: fine-grained
    owners: [U0OWNER]
    resource_owner: raxx-app
    repositories: [raxx-app/TradeMasterAPI]
    permissions: {metadata: read}
    consumers:
      heroku_apps: [raxx-console-prod]
    verify:
      - name: console build status
        url: &console HTTPS://ops:S3cret@console.raxx.app:8443/api/status/builds
        headers_env: {Cookie: CONSOLE_OPS_COOKIE}
      - {name: console health, url: "https://deploy-bot@CONSOLE.RAXX.APP:443/api/health?deep=1", expect_status: 204}
      - name: status page
        url: 'Https://status.raxx.app/api/v2/status.json'
      - name: a local-looking name
        url: !!str http://console.localhost:8080/api/ping
  GITHUB_API_DISPATCH_TOKEN:
    kind: classic
    scopes: [workflow]
    consumers:
      github_secrets: [raxx-app/TradeMasterAPI:GH_DISPATCH_TOKEN]
    verify:
      - {name: the same console, url: *console}
`

// The sandbox reads each verify check's url as a URL and points it at its
// console stand-in, whatever its spelling; the routing matrix the bot is given
// names no other host, keeps its lines where they were, and repeats no user part.
func TestNewWorldForPointsEveryVerifyCheckAtTheConsole(t *testing.T) {
	h, err := NewWorldFor("escaping.yaml", []byte(escapingMatrix), rotation.WallNow())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	want := map[string]string{
		"console build status": h.Console.URL + "/api/status/builds",
		"console health":       h.Console.URL + "/api/health?deep=1",
		"status page":          h.Console.URL + "/api/v2/status.json",
		"a local-looking name": h.Console.URL + "/api/ping",
		"the same console":     h.Console.URL + "/api/status/builds",
	}
	n := 0
	for _, sc := range h.Matrix.Secrets {
		for _, v := range sc.Verify {
			n++
			if v.URL != want[v.Name] {
				t.Errorf("%s: verify %q GETs %s, want %s", sc.Name, v.Name, v.URL, want[v.Name])
			}
		}
	}
	if n != len(want) {
		t.Errorf("%d verify checks, want %d", n, len(want))
	}
	given := h.Env["ROTABOT_CONFIG"]
	for _, gone := range []string{"raxx.app", "RAXX.APP", "localhost", "S3cret", "ops:", "deploy-bot"} {
		if strings.Contains(given, gone) {
			t.Errorf("the matrix the bot is given still holds %q:\n%s", gone, given)
		}
	}
	if strings.Count(given, "\n") != strings.Count(escapingMatrix, "\n") {
		t.Errorf("the lines moved:\n%s", given)
	}
	if _, probs := config.Parse("given", []byte(given)); len(probs) > 0 {
		t.Errorf("the matrix the bot is given has problems: %v", probs)
	}
}

// A problem of the team's matrix is reported at the line they wrote, the urls
// pointed at the stand-in or not; a url the sandbox cannot rewrite in place
// stops it rather than leave it pointing out.
func TestNewWorldForReportsProblemsAtTheAuthorsLines(t *testing.T) {
	doc := strings.Replace(escapingMatrix, "        headers_env: {Cookie: CONSOLE_OPS_COOKIE}\n",
		"        headers_env: {Cookie: CONSOLE_OPS_COOKIE}\n        timeout: 5s\n", 1)
	_, err := NewWorldFor("escaping.yaml", []byte(doc), rotation.WallNow())
	if err == nil || !strings.Contains(err.Error(), "escaping.yaml:17: unknown key \"timeout\"") {
		t.Errorf("an unknown key: %v", err)
	}
	folded := strings.Replace(escapingMatrix, "        url: 'Https://status.raxx.app/api/v2/status.json'\n",
		"        url: >-\n          https://status.raxx.app/api/v2/status.json\n", 1)
	_, err = NewWorldFor("escaping.yaml", []byte(folded), rotation.WallNow())
	if err == nil || !strings.Contains(err.Error(), `the sandbox cannot point verify url "https://status.raxx.app/api/v2/status.json" at its stand-in: write the url on one line`) {
		t.Errorf("a folded url: %v", err)
	}
}
