package github_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// ghAnswer is what a raw request to the stand-in got back.
type ghAnswer struct {
	status  int
	message string
	header  http.Header
}

func ghDo(t *testing.T, g *sbgithub.GitHub, method, path, authorization, body string) ghAnswer {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&b)
	return ghAnswer{status: resp.StatusCode, message: b.Message, header: resp.Header}
}

// Every route that needs a token authenticates it the same way, once per request:
// no token, another scheme, an unknown, expired or revoked token get GitHub's 401
// and no rate-limit headers; a good token gets its headers, its use counted once.
// POST /credentials/revoke is the one route that refuses a token.
func TestGitHubEveryRouteAuthenticatesItsToken(t *testing.T) {
	g := newGitHubStandIn(t)
	expired := ghTestToken("ghp_", "sandbox expired", 36)
	g.AddToken(sbgithub.TokenSpec{Value: expired, Login: "raxx-bot", Expires: ghNow.Add(-time.Minute)})
	revoked := ghTestToken("ghp_", "sandbox revoked", 36)
	g.AddToken(sbgithub.TokenSpec{Value: revoked, Login: "raxx-bot"})
	g.Revoke(revoked)

	routes := []struct{ method, path, body string }{
		{"GET", "/user", ""},
		{"GET", "/user/repos", ""},
		{"GET", "/repos/raxx-app/TradeMasterAPI/actions/runs", ""},
		{"GET", "/repos/raxx-app/TradeMasterAPI/contents/README.md", ""},
		{"GET", "/repos/raxx-app/TradeMasterAPI/actions/secrets/public-key", ""},
		{"GET", "/repos/raxx-app/TradeMasterAPI/actions/secrets/GH_TOKEN", ""},
		{"PUT", "/repos/raxx-app/TradeMasterAPI/actions/secrets/GH_TOKEN", "{}"},
		{"GET", "/repos/raxx-app/TradeMasterAPI/actions/secrets", ""},
		{"GET", "/repos/raxx-app/TradeMasterAPI/environments", ""},
		{"GET", "/orgs/raxx-app/repos", ""},
	}
	refused := []struct{ name, authorization, message string }{
		{"no token", "", "Requires authentication"},
		{"basic scheme", "Basic " + ghAdmin, "Bad credentials"},
		{"unknown token", "Bearer " + ghTestToken("ghp_", "nobody", 36), "Bad credentials"},
		{"expired token", "Bearer " + expired, "Bad credentials"},
		{"revoked token", "Bearer " + revoked, "Bad credentials"},
	}
	used := 0
	for _, rt := range routes {
		for _, c := range refused {
			a := ghDo(t, g, rt.method, rt.path, c.authorization, rt.body)
			if a.status != http.StatusUnauthorized || a.message != c.message {
				t.Errorf("%s %s, %s: %d %q, want 401 %q", rt.method, rt.path, c.name, a.status, a.message, c.message)
			}
			if h := a.header.Get("X-RateLimit-Used"); h != "" {
				t.Errorf("%s %s, %s: X-RateLimit-Used %q on a refused token", rt.method, rt.path, c.name, h)
			}
		}
		a := ghDo(t, g, rt.method, rt.path, "Bearer "+ghAdmin, rt.body)
		used++
		if a.status == http.StatusUnauthorized {
			t.Errorf("%s %s with the admin token: 401 %q", rt.method, rt.path, a.message)
		}
		if got := a.header.Get("X-RateLimit-Used"); got != strconv.Itoa(used) {
			t.Errorf("%s %s: X-RateLimit-Used %q, want %d (one use per request)", rt.method, rt.path, got, used)
		}
		if a.header.Get("X-RateLimit-Limit") != "5000" || a.header.Get("X-RateLimit-Resource") != "core" {
			t.Errorf("%s %s: rate-limit headers %v", rt.method, rt.path, a.header)
		}
	}

	if a := ghDo(t, g, "POST", "/credentials/revoke", "Bearer "+ghAdmin, `{"credentials":["x"]}`); a.status != http.StatusForbidden {
		t.Errorf("an authenticated revoke: %d %q, want 403", a.status, a.message)
	}
	if g.Revoked(ghAdmin) {
		t.Error("the refused revoke revoked the token it was sent with")
	}
}
