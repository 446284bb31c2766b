package github_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
	"golang.org/x/crypto/nacl/box"

	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// ghTestToken makes a token-shaped value that is unique per seed.
func ghTestToken(prefix, seed string, n int) string {
	a := sha256.Sum256([]byte(seed))
	b := sha256.Sum256(a[:])
	return prefix + (hex.EncodeToString(a[:]) + hex.EncodeToString(b[:]))[:n]
}

var (
	ghFine    = ghTestToken("github_pat_", "sandbox fine", 82)
	ghClassic = ghTestToken("ghp_", "sandbox classic", 36)
	ghAdmin   = ghTestToken("ghp_", "sandbox admin", 36)
	ghOther   = ghTestToken("github_pat_", "sandbox other", 82)
)

func ghClient(t *testing.T, g *sbgithub.GitHub, token string) *gh.Client {
	t.Helper()
	c := gh.NewClient(nil)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	u, err := url.Parse(g.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// ghNow is the stand-in's time in these tests, three days before ghExpires: the
// tokens' expiry is a fixed date, so the clock that compares with it is too.
var (
	ghExpires = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ghNow     = ghExpires.Add(-72 * time.Hour)
)

func newGitHubStandIn(t *testing.T) *sbgithub.GitHub {
	t.Helper()
	g := sbgithub.New()
	t.Cleanup(g.Close)
	g.SetNow(ghClock(ghNow))
	g.AddRepo("raxx-app/TradeMasterAPI")
	g.AddRepo("raxx-app/Hidden")
	g.AddToken(sbgithub.TokenSpec{Value: ghFine, Login: "raxx-bot",
		Expires: ghExpires, Repos: []string{"raxx-app/TradeMasterAPI", "raxx-app/Console"}})
	g.AddToken(sbgithub.TokenSpec{Value: ghClassic, Login: "raxx-bot", Scopes: []string{"repo", "read:org"}})
	g.AddToken(sbgithub.TokenSpec{Value: ghOther, Login: "someone-else", Repos: []string{"raxx-app/Console"}})
	g.SetAdminToken(ghAdmin)
	return g
}

// ghClock is a stopped clock.
func ghClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// ghWaitCount waits until route was logged want times: the log entry is written as
// the handler returns, which can be a moment after the client has its answer.
func ghWaitCount(t *testing.T, g *sbgithub.GitHub, route string, okOnly bool, want int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); g.Count(route, okOnly) < want && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.Count(route, okOnly); n != want {
		t.Errorf("%s logged %d times, want %d", route, n, want)
	}
}

func ghStatus(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

func TestGitHubUser(t *testing.T) {
	g := newGitHubStandIn(t)
	ctx := context.Background()

	u, resp, err := ghClient(t, g, ghFine).Users.Get(ctx, "")
	if err != nil {
		t.Fatalf("GET /user: %v", err)
	}
	if u.GetLogin() != "raxx-bot" {
		t.Errorf("login = %q", u.GetLogin())
	}
	if want := ghExpires; !resp.TokenExpiration.Time.Equal(want) {
		t.Errorf("TokenExpiration = %v, want %v", resp.TokenExpiration, want)
	}
	if got := resp.Header.Get("GitHub-Authentication-Token-Expiration"); got != "2026-12-01 10:00:00 UTC" {
		t.Errorf("expiration header = %q", got)
	}
	if resp.Header.Values("X-OAuth-Scopes") != nil {
		t.Errorf("a fine-grained token got X-OAuth-Scopes")
	}
	if resp.Rate.Limit != 5000 || resp.Rate.Remaining <= 0 || resp.Rate.Reset.IsZero() {
		t.Errorf("rate = %+v", resp.Rate)
	}

	_, resp, err = ghClient(t, g, ghClassic).Users.Get(ctx, "")
	if err != nil {
		t.Fatalf("GET /user classic: %v", err)
	}
	if got := resp.Header.Get("X-OAuth-Scopes"); got != "repo, read:org" {
		t.Errorf("X-OAuth-Scopes = %q", got)
	}
	if !resp.TokenExpiration.IsZero() {
		t.Errorf("a token without expiry has TokenExpiration %v", resp.TokenExpiration)
	}

	// The older "token X" scheme works too.
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/user", nil)
	req.Header.Set("Authorization", "token "+ghClassic)
	raw, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	if raw.StatusCode != http.StatusOK {
		t.Errorf(`"token" scheme: status %d`, raw.StatusCode)
	}

	for name, token := range map[string]string{"unknown": ghTestToken("ghp_", "nobody", 36), "none": ""} {
		_, _, err := ghClient(t, g, token).Users.Get(ctx, "")
		var er *gh.ErrorResponse
		if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s token: err = %v, want 401", name, err)
		}
		want := map[string]string{"unknown": "Bad credentials", "none": "Requires authentication"}[name]
		if er.Message != want || er.DocumentationURL != "https://docs.github.com/rest" {
			t.Errorf("%s token: body = %q %q", name, er.Message, er.DocumentationURL)
		}
	}
}

func TestGitHubUserReposPages(t *testing.T) {
	g := newGitHubStandIn(t)
	g.AddToken(sbgithub.TokenSpec{Value: ghFine, Login: "raxx-bot",
		Repos: []string{"raxx-app/a", "raxx-app/b", "raxx-app/c"}})
	c := ghClient(t, g, ghFine)
	opts := &gh.RepositoryListByAuthenticatedUserOptions{ListOptions: gh.ListOptions{PerPage: 2}}
	var names []string
	for pages := 0; ; pages++ {
		repos, resp, err := c.Repositories.ListByAuthenticatedUser(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range repos {
			names = append(names, r.GetFullName())
		}
		if resp.NextPage == 0 {
			break
		}
		if pages > 3 {
			t.Fatal("pagination does not end")
		}
		opts.Page = resp.NextPage
	}
	if got := strings.Join(names, ","); got != "raxx-app/a,raxx-app/b,raxx-app/c" {
		t.Errorf("repos = %s", got)
	}
	ghWaitCount(t, g, "GET /user/repos", true, 2)
}

func TestGitHubWorkflowRuns(t *testing.T) {
	g := newGitHubStandIn(t)
	c := ghClient(t, g, ghFine)
	ctx := context.Background()
	runs, _, err := c.Actions.ListRepositoryWorkflowRuns(ctx, "raxx-app", "TradeMasterAPI",
		&gh.ListWorkflowRunsOptions{ListOptions: gh.ListOptions{PerPage: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if runs.GetTotalCount() != 2 || len(runs.WorkflowRuns) != 1 || runs.WorkflowRuns[0].GetStatus() != "completed" {
		t.Errorf("runs = %d, %d listed", runs.GetTotalCount(), len(runs.WorkflowRuns))
	}
	_, _, err = c.Actions.ListRepositoryWorkflowRuns(ctx, "raxx-app", "Hidden", nil)
	if ghStatus(err) != http.StatusNotFound {
		t.Errorf("a repo the token cannot see: err = %v, want 404", err)
	}
}

func TestGitHubActionsSecret(t *testing.T) {
	g := newGitHubStandIn(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	g.SetNow(ghClock(now))
	ctx := context.Background()
	admin := ghClient(t, g, ghAdmin)

	seal := func(value string) *gh.EncryptedSecret {
		pk, _, err := admin.Actions.GetRepoPublicKey(ctx, "raxx-app", "TradeMasterAPI")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(pk.GetKey())
		if err != nil || len(raw) != 32 {
			t.Fatalf("public key: %d bytes, %v", len(raw), err)
		}
		var key [32]byte
		copy(key[:], raw)
		sealed, err := box.SealAnonymous(nil, []byte(value), &key, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &gh.EncryptedSecret{Name: "API_TOKEN", KeyID: pk.GetKeyID(), EncryptedValue: base64.StdEncoding.EncodeToString(sealed)}
	}

	resp, err := admin.Actions.CreateOrUpdateRepoSecret(ctx, "raxx-app", "TradeMasterAPI", seal(ghFine))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("first PUT: %v (%v)", err, resp)
	}
	if v, at, ok := g.ActionsSecret("raxx-app/TradeMasterAPI", "API_TOKEN"); !ok || v != ghFine || !at.Equal(now) {
		t.Errorf("stored secret: ok=%v matches=%v at=%v", ok, v == ghFine, at)
	}

	first := now
	now = now.Add(90 * time.Second)
	g.SetNow(ghClock(now))
	resp, err = admin.Actions.CreateOrUpdateRepoSecret(ctx, "raxx-app", "TradeMasterAPI", seal(ghClassic))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second PUT: %v (%v)", err, resp)
	}
	if v, _, _ := g.ActionsSecret("raxx-app/TradeMasterAPI", "API_TOKEN"); v != ghClassic {
		t.Error("second PUT did not replace the value")
	}
	s, _, err := admin.Actions.GetRepoSecret(ctx, "raxx-app", "TradeMasterAPI", "API_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "API_TOKEN" || !s.CreatedAt.Time.Equal(first) || !s.UpdatedAt.Time.Equal(now) {
		t.Errorf("secret = %s created %v updated %v", s.Name, s.CreatedAt, s.UpdatedAt)
	}

	// What GitHub refuses.
	bad := seal(ghFine)
	bad.EncryptedValue = base64.StdEncoding.EncodeToString([]byte("not a sealed box, long enough to look like one......"))
	if _, err := admin.Actions.CreateOrUpdateRepoSecret(ctx, "raxx-app", "TradeMasterAPI", bad); ghStatus(err) != http.StatusUnprocessableEntity {
		t.Errorf("undecryptable value: err = %v, want 422", err)
	}
	if _, _, err := admin.Actions.GetRepoSecret(ctx, "raxx-app", "TradeMasterAPI", "NOPE"); ghStatus(err) != http.StatusNotFound {
		t.Errorf("missing secret: err = %v, want 404", err)
	}
	if _, _, err := admin.Actions.GetRepoPublicKey(ctx, "raxx-app", "Nowhere"); ghStatus(err) != http.StatusNotFound {
		t.Errorf("unknown repo: err = %v, want 404", err)
	}
	cases := []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", ghTestToken("ghp_", "nobody", 36), http.StatusUnauthorized},
		{"token that sees the repo", ghFine, http.StatusForbidden},
		{"token that cannot see the repo", ghOther, http.StatusNotFound},
	}
	for _, tc := range cases {
		_, err := ghClient(t, g, tc.token).Actions.CreateOrUpdateRepoSecret(ctx, "raxx-app", "TradeMasterAPI", seal(ghFine))
		if ghStatus(err) != tc.want {
			t.Errorf("%s: err = %v, want %d", tc.name, err, tc.want)
		}
	}
	if v, _, _ := g.ActionsSecret("raxx-app/TradeMasterAPI", "API_TOKEN"); v != ghClassic {
		t.Error("a refused PUT changed the secret")
	}
}

func TestGitHubRevoke(t *testing.T) {
	g := newGitHubStandIn(t)
	ctx := context.Background()
	revoke := func(c *gh.Client) error {
		req, err := c.NewRequest(http.MethodPost, "credentials/revoke", map[string][]string{"credentials": {ghFine}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Do(ctx, req, nil)
		return err
	}

	if err := revoke(ghClient(t, g, ghAdmin)); ghStatus(err) != http.StatusForbidden {
		t.Fatalf("authenticated revoke: err = %v, want 403", err)
	}
	if g.Revoked(ghFine) {
		t.Fatal("an authenticated revoke revoked the token")
	}
	var accepted *gh.AcceptedError
	if err := revoke(ghClient(t, g, "")); !errors.As(err, &accepted) {
		t.Fatalf("revoke: err = %v, want 202 (AcceptedError)", err)
	}
	if !g.Revoked(ghFine) || g.Revoked(ghClassic) {
		t.Errorf("revoked: fine %v classic %v", g.Revoked(ghFine), g.Revoked(ghClassic))
	}
	if _, _, err := ghClient(t, g, ghFine).Users.Get(ctx, ""); ghStatus(err) != http.StatusUnauthorized {
		t.Errorf("GET /user with a revoked token: err = %v, want 401", err)
	}
}

func TestGitHubRateLimits(t *testing.T) {
	g := newGitHubStandIn(t)
	ctx := context.Background()

	g.SecondaryRateLimit("GET /user", 1, time.Second)
	_, _, err := ghClient(t, g, ghFine).Users.Get(ctx, "")
	var abuse *gh.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.RetryAfter == nil || *abuse.RetryAfter != time.Second ||
		!strings.Contains(abuse.Message, "secondary rate limit") {
		t.Fatalf("secondary limit: err = %v", err)
	}
	// The limit was for one request; a new client (go-github remembers the wait
	// per client) gets through.
	if _, _, err := ghClient(t, g, ghFine).Users.Get(ctx, ""); err != nil {
		t.Fatalf("after the secondary limit: %v", err)
	}

	g.Fail("GET /user", &standin.Fault{Status: http.StatusTooManyRequests, RetryAfter: "7", Times: 1})
	_, _, err = ghClient(t, g, ghFine).Users.Get(ctx, "")
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusTooManyRequests ||
		er.Response.Header.Get("Retry-After") != "7" || !strings.Contains(er.Message, "secondary rate limit") {
		t.Fatalf("429: err = %v", err)
	}
	ghWaitCount(t, g, "GET /user", false, 3)
}
