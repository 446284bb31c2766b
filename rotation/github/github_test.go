package github_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/github"
	"github.com/raxx-app/rotabot/sandbox"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// token makes a token-shaped value unique per seed.
func token(prefix, seed string, n int) string {
	a := sha256.Sum256([]byte(seed))
	b := sha256.Sum256(a[:])
	return prefix + (hex.EncodeToString(a[:]) + hex.EncodeToString(b[:]))[:n]
}

var (
	fineTok    = token("github_pat_", "adapter fine", 82)
	classicTok = token("ghp_", "adapter classic", 36)
	adminTok   = token("ghp_", "adapter admin", 36)
	otherTok   = token("github_pat_", "adapter other", 82)
	unknownTok = token("ghp_", "adapter unknown", 36)
	allTokens  = []string{fineTok, classicTok, adminTok, otherTok, unknownTok, appPAT}
)

const repo = "raxx-app/TradeMasterAPI"

// The tokens expire on a fixed date, so the stand-in's clock, which compares with
// it, is fixed too: three days before.
var (
	expires    = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	fixtureNow = expires.Add(-72 * time.Hour)
)

type fixture struct {
	gh     *sbgithub.GitHub
	client *github.Client
}

func setup(t *testing.T) fixture {
	t.Helper()
	g := sbgithub.New()
	t.Cleanup(g.Close)
	g.SetNow(func() time.Time { return fixtureNow })
	g.AddRepo(repo)
	g.AddRepo("raxx-app/Hidden")
	g.AddToken(sbgithub.TokenSpec{Value: fineTok, Login: "raxx-bot", Expires: expires, Repos: []string{repo}})
	g.AddToken(sbgithub.TokenSpec{Value: classicTok, Login: "raxx-bot", Scopes: []string{"repo", "read:org", "workflow"}})
	g.AddToken(sbgithub.TokenSpec{Value: otherTok, Login: "someone-else", Repos: []string{repo}})
	g.SetAdminToken(adminTok)
	return fixture{gh: g, client: newClient(t, g, github.Config{AdminToken: rotation.NewSecret(adminTok)})}
}

func newClient(t *testing.T, g *sbgithub.GitHub, cfg github.Config) *github.Client {
	t.Helper()
	cfg.BaseURL = g.URL // no trailing slash: New adds it
	c, err := github.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func secret(v string) rotation.Secret { return rotation.NewSecret(v) }

// wantErr checks the code and the exact message a person sees, and that no token,
// nor any 8 characters of one, is in the error's whole text.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", code, msg)
	}
	if got := rotation.ErrorCode(err); got != code {
		t.Errorf("code = %s, want %s (%v)", got, code, err)
	}
	if got := rotation.ErrorMessage(err); got != msg {
		t.Errorf("message =\n  %q\nwant\n  %q", got, msg)
	}
	noLeak(t, err.Error())
}

func noLeak(t *testing.T, text string) {
	t.Helper()
	for _, tok := range allTokens {
		rest := tok[strings.Index(tok, "_")+1:]
		if strings.HasPrefix(tok, "github_pat_") {
			rest = tok[len("github_pat_"):]
		}
		for i := 0; i+8 <= len(rest); i++ {
			if strings.Contains(text, rest[i:i+8]) {
				t.Fatalf("error text holds part of a token")
			}
		}
	}
}

// waitCount waits until route was logged want times: the stand-in logs a request as
// its handler returns, which can be a moment after the client has its answer.
func waitCount(t *testing.T, g *sbgithub.GitHub, route string, want int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); g.Count(route, false) < want && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.Count(route, false); n != want {
		t.Errorf("%s was called %d times, want %d", route, n, want)
	}
}

// concurrently runs n subtests at once. Most wait on a Retry-After or a deadline;
// t.Parallel would queue them behind -parallel (GOMAXPROCS), which can be 2.
func concurrently(t *testing.T, n int, name func(int) string, run func(t *testing.T, i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { t.Run(name(i), func(t *testing.T) { run(t, i) }) })
	}
	wg.Wait()
}

func TestNewBaseURL(t *testing.T) {
	for _, u := range []string{"", "https://api.github.com", "https://ghe.example.com/api/v3/"} {
		if _, err := github.New(github.Config{BaseURL: u}); err != nil {
			t.Errorf("New(%q): %v", u, err)
		}
	}
	_, err := github.New(github.Config{BaseURL: "api.github.com"})
	wantErr(t, err, rotation.EINVALID, `GITHUB_API_URL "api.github.com" is not a URL like https://api.github.com/`)
}

func TestCheckFineGrained(t *testing.T) {
	f := setup(t)
	var repos []string
	for i := range 104 {
		repos = append(repos, fmt.Sprintf("raxx-app/svc-%03d", i))
	}
	f.gh.AddToken(sbgithub.TokenSpec{Value: fineTok, Login: "raxx-bot", Expires: expires, Repos: append(repos, repo)})

	info, err := f.client.Check(context.Background(), secret(fineTok))
	if err != nil {
		t.Fatal(err)
	}
	if info.Login != "raxx-bot" || info.Kind != rotation.FineGrained || info.Scopes != nil {
		t.Errorf("info = %+v", info)
	}
	if !info.ExpiresAt.Equal(expires) || info.ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt = %v, want %v", info.ExpiresAt, expires)
	}
	if info.Repos != 105 {
		t.Errorf("Repos = %d, want 105", info.Repos)
	}
	waitCount(t, f.gh, "GET /user/repos", 2) // two pages of 100
}

func TestCheckClassic(t *testing.T) {
	f := setup(t)
	info, err := f.client.Check(context.Background(), secret(classicTok))
	if err != nil {
		t.Fatal(err)
	}
	if info.Login != "raxx-bot" || info.Kind != rotation.Classic || info.Repos != -1 {
		t.Errorf("info = %+v", info)
	}
	if got := strings.Join(info.Scopes, "|"); got != "repo|read:org|workflow" {
		t.Errorf("Scopes = %q", got)
	}
	if !info.ExpiresAt.IsZero() {
		t.Errorf("a token that never expires has ExpiresAt %v", info.ExpiresAt)
	}
	if n := f.gh.Count("GET /user/repos", false); n != 0 {
		t.Errorf("a classic token's repositories were counted (%d calls)", n)
	}
}

func TestCheckRefusesOtherTokens(t *testing.T) {
	f := setup(t)
	_, err := f.client.Check(context.Background(), secret("xoxb-"+strings.Repeat("1", 30)))
	wantErr(t, err, rotation.EINVALID, "That is a Slack bot token, not a GitHub personal access token (ghp_… or github_pat_…)")
	err = f.client.Probe(context.Background(), secret("not-a-token"), "/user")
	wantErr(t, err, rotation.EINVALID, "That is not a GitHub token (ghp_… or github_pat_…)")
	err = f.client.Revoke(context.Background(), secret(""))
	wantErr(t, err, rotation.EINVALID, "The token is empty: paste the new token GitHub showed you")
	if n := len(f.gh.Requests()); n != 0 {
		t.Errorf("%d requests were sent for tokens of the wrong shape", n)
	}
}

func TestCheckFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		token      string
		fault      *sandbox.Fault
		ctxTimeout time.Duration
		timeout    time.Duration // Config.Timeout
		code, msg  string
		retryAfter time.Duration
		calls      int // GET /user requests; 0: not checked
	}{
		{name: "unknown token", token: unknownTok,
			code: rotation.EUNAUTHORIZED, msg: "GitHub refused the token (401 Bad credentials)", calls: 1},
		{name: "forbidden", fault: &sandbox.Fault{Status: 403},
			code: rotation.EFORBIDDEN, msg: "GitHub refused the token on GET /user (403 Resource not accessible by personal access token)", calls: 1},
		{name: "wrong base URL", fault: &sandbox.Fault{Status: 404},
			code: rotation.ENOTFOUND, msg: "GitHub answered GET /user with 404: check GITHUB_API_URL", calls: 1},
		{name: "5xx persists", fault: &sandbox.Fault{Status: 502},
			code: rotation.EUNAVAILABLE, msg: "GitHub failed on GET /user (502 Server Error): try again later", calls: 3},
		{name: "429 persists", fault: &sandbox.Fault{Status: 429, RetryAfter: "1"},
			code: rotation.EUNAVAILABLE, msg: "GitHub is rate limiting GET /user (429): try again in 1s", retryAfter: time.Second, calls: 3},
		{name: "Retry-After beyond the deadline", fault: &sandbox.Fault{Status: 429, RetryAfter: "90"}, ctxTimeout: 5 * time.Second,
			code: rotation.EUNAVAILABLE, msg: "GitHub is rate limiting GET /user (429): try again in 2 min", retryAfter: 90 * time.Second, calls: 1},
		{name: "hang past the ctx deadline", fault: &sandbox.Fault{Hang: true}, ctxTimeout: 300 * time.Millisecond,
			code: rotation.EUNAVAILABLE, msg: "GitHub did not answer in time (GET /user): try again later"},
		{name: "hang past the request timeout", fault: &sandbox.Fault{Hang: true}, timeout: 300 * time.Millisecond,
			code: rotation.EUNAVAILABLE, msg: "GitHub did not answer in time (GET /user): try again later"},
	}
	concurrently(t, len(cases), func(i int) string { return cases[i].name }, func(t *testing.T, i int) {
		tc := cases[i]
		f := setup(t)
		c := newClient(t, f.gh, github.Config{Timeout: tc.timeout})
		if tc.fault != nil {
			f.gh.Fail("GET /user", tc.fault)
		}
		ctx := context.Background()
		if tc.ctxTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
			defer cancel()
		}
		tok := tc.token
		if tok == "" {
			tok = fineTok
		}
		_, err := c.Check(ctx, secret(tok))
		wantErr(t, err, tc.code, tc.msg)
		if got := rotation.RetryAfter(err); got != tc.retryAfter {
			t.Errorf("RetryAfter = %v, want %v", got, tc.retryAfter)
		}
		if tc.calls > 0 {
			waitCount(t, f.gh, "GET /user", tc.calls)
		}
	})
}

// TestRetriesThenSucceed: a 429 with Retry-After, 5xx without one and a 403
// secondary rate limit are retried, and the request then succeeds.
func TestRetriesThenSucceed(t *testing.T) {
	t.Parallel()
	const put = "PUT /repos/{owner}/{repo}/actions/secrets/{name}"
	cases := []struct {
		name  string
		route string
		limit func(*sbgithub.GitHub)
		calls int
	}{
		{"429 with Retry-After", "GET /user", func(g *sbgithub.GitHub) {
			g.Fail("GET /user", &sandbox.Fault{Status: 429, RetryAfter: "1", Times: 1})
		}, 2},
		{"503 twice", "GET /user", func(g *sbgithub.GitHub) {
			g.Fail("GET /user", &sandbox.Fault{Status: 503, Times: 2})
		}, 3},
		{"secondary rate limit", put, func(g *sbgithub.GitHub) {
			g.SecondaryRateLimit(put, 1, time.Second)
		}, 2},
	}
	concurrently(t, len(cases), func(i int) string { return cases[i].name }, func(t *testing.T, i int) {
		tc := cases[i]
		f := setup(t)
		tc.limit(f.gh)
		ctx := context.Background()
		if tc.route == put {
			if err := f.client.ActionsSecrets().Set(ctx, repo, "API_TOKEN", secret(fineTok)); err != nil {
				t.Fatalf("Set: %v", err)
			}
			if v, _, ok := f.gh.ActionsSecret(repo, "API_TOKEN"); !ok || v != fineTok {
				t.Error("the retried write did not land")
			}
		} else {
			info, err := f.client.Check(ctx, secret(classicTok))
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if info.Login != "raxx-bot" {
				t.Errorf("login = %q", info.Login)
			}
		}
		// The limited answers come first, then the success, and never more than
		// three tries in all.
		for deadline := time.Now().Add(2 * time.Second); f.gh.Count(tc.route, true) == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		var statuses []int
		for _, r := range f.gh.Requests() {
			if r.Route == tc.route {
				statuses = append(statuses, r.Status)
			}
		}
		n := len(statuses)
		if n < tc.calls || n > 3 || statuses[n-1]/100 != 2 || slices.IndexFunc(statuses[:tc.calls-1], func(st int) bool { return st/100 == 2 }) >= 0 {
			t.Errorf("%s answered %v: want %d refusals, then a success, in at most 3 tries", tc.route, statuses, tc.calls-1)
		}
		if t.Failed() {
			for _, r := range f.gh.Requests() {
				t.Logf("%s %s %d %s", r.Time.Format("15:04:05.000"), r.Route, r.Status, r.Method)
			}
		}
	})
}

func TestProbe(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if err := f.client.Probe(ctx, secret(fineTok), "/repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1"); err != nil {
		t.Fatalf("probe: %v", err)
	}
	reqs := f.gh.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/repos/raxx-app/TradeMasterAPI/actions/runs" || last.Query != "per_page=1" {
		t.Errorf("probe went to %s?%s", last.Path, last.Query)
	}

	err := f.client.Probe(ctx, secret(fineTok), "/repos/raxx-app/Hidden/actions/runs?per_page=1")
	wantErr(t, err, rotation.EINVALID,
		"The workload probe GET /repos/raxx-app/Hidden/actions/runs?per_page=1 answered 404: the token cannot see that repository")

	err = f.client.Probe(ctx, secret(unknownTok), "repos/raxx-app/TradeMasterAPI/actions/runs")
	wantErr(t, err, rotation.EUNAUTHORIZED,
		"The workload probe GET /repos/raxx-app/TradeMasterAPI/actions/runs answered 401: GitHub refused the token")

	before := len(f.gh.Requests())
	for p, why := range map[string]string{
		"https://evil.example/steal": "it starts like a URL (https:…), not a path",
		"//evil.example/x":           "it starts with //, which names another host",
		"/repos/../../x":             "it holds a . or .. segment, which climbs out of the API's path",
		"":                           "it names no path",
	} {
		err = f.client.Probe(ctx, secret(fineTok), p)
		wantErr(t, err, rotation.EINVALID, fmt.Sprintf(
			"The workload probe %q is not a path on the GitHub API, like /repos/OWNER/REPO/actions/runs?per_page=1: %s", p, why))
	}
	if n := len(f.gh.Requests()); n != before {
		t.Errorf("a refused probe path was requested")
	}
}

func TestActionsSecretSetAndVerify(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	secrets := f.client.ActionsSecrets()
	t1 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.gh.SetNow(func() time.Time { return t1 })

	if err := secrets.Set(ctx, repo, "API_TOKEN", secret(fineTok)); err != nil {
		t.Fatalf("Set: %v", err)
	}
	v, at, ok := f.gh.ActionsSecret(repo, "API_TOKEN")
	if !ok || v != fineTok || !at.Equal(t1) {
		t.Fatalf("stored: ok=%v decrypts-to-token=%v at=%v", ok, v == fineTok, at)
	}
	// since has sub-second precision; GitHub's updated_at has none.
	if err := secrets.Verify(ctx, repo, "API_TOKEN", secret(fineTok), t1.Add(400*time.Millisecond)); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	t2 := t1.Add(2 * time.Second)
	f.gh.SetNow(func() time.Time { return t2 })
	if err := secrets.Set(ctx, repo, "API_TOKEN", secret(classicTok)); err != nil {
		t.Fatalf("second Set: %v", err)
	}
	v, at, _ = f.gh.ActionsSecret(repo, "API_TOKEN")
	if v != classicTok || !at.Equal(t2) {
		t.Fatalf("after the second Set: decrypts-to-new-token=%v at=%v", v == classicTok, at)
	}
	var statuses []int
	for _, r := range f.gh.Requests() {
		if r.Route == "PUT /repos/{owner}/{repo}/actions/secrets/{name}" {
			statuses = append(statuses, r.Status)
		}
	}
	if fmt.Sprint(statuses) != "[201 204]" {
		t.Errorf("PUT statuses = %v, want created then updated", statuses)
	}
	if err := secrets.Verify(ctx, repo, "API_TOKEN", secret(classicTok), t2); err != nil {
		t.Fatalf("Verify after the second Set: %v", err)
	}

	err := secrets.Verify(ctx, repo, "API_TOKEN", secret(classicTok), t2.Add(3*time.Second))
	wantErr(t, err, rotation.EUNAVAILABLE,
		"GitHub shows the Actions secret API_TOKEN on raxx-app/TradeMasterAPI last updated at 2026-03-01 12:00:02 UTC, "+
			"before this rotation's write at 2026-03-01 12:00:05 UTC: retry the destination to write it again")
	for _, r := range f.gh.Requests() {
		noLeak(t, r.Path+"?"+r.Query)
	}
}

func TestActionsSecretFailures(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	secrets := f.client.ActionsSecrets()

	wrongAdmin := newClient(t, f.gh, github.Config{AdminToken: secret(unknownTok)}).ActionsSecrets()
	err := wrongAdmin.Set(ctx, repo, "API_TOKEN", secret(fineTok))
	wantErr(t, err, rotation.EUNAUTHORIZED, "GitHub refused GITHUB_TOKEN for raxx-app/TradeMasterAPI (401): check the token")

	weakAdmin := newClient(t, f.gh, github.Config{AdminToken: secret(otherTok)}).ActionsSecrets()
	err = weakAdmin.Set(ctx, repo, "API_TOKEN", secret(fineTok))
	wantErr(t, err, rotation.EFORBIDDEN, "GitHub refused GITHUB_TOKEN for raxx-app/TradeMasterAPI "+
		"(403 Resource not accessible by personal access token): it needs the Secrets read and write permission on that repository")

	err = secrets.Set(ctx, "raxx-app/Nowhere", "API_TOKEN", secret(fineTok))
	wantErr(t, err, rotation.ENOTFOUND,
		"GitHub cannot find raxx-app/Nowhere with GITHUB_TOKEN (404): check the repository name and that the token can see it")

	err = secrets.Verify(ctx, repo, "NEVER_SET", secret(fineTok), time.Now())
	wantErr(t, err, rotation.ENOTFOUND,
		"GitHub has no Actions secret NEVER_SET on raxx-app/TradeMasterAPI (404): it was not written, or GITHUB_TOKEN cannot see the repository")

	f.gh.Fail("PUT /repos/{owner}/{repo}/actions/secrets/{name}", &sandbox.Fault{Status: 500})
	err = secrets.Set(ctx, repo, "API_TOKEN", secret(fineTok))
	wantErr(t, err, rotation.EUNAVAILABLE,
		"GitHub failed on PUT /repos/raxx-app/TradeMasterAPI/actions/secrets/API_TOKEN (500 Server Error): try again later")
	f.gh.Fail("PUT /repos/{owner}/{repo}/actions/secrets/{name}", nil)

	before := len(f.gh.Requests())
	err = secrets.Set(ctx, "TradeMasterAPI", "API_TOKEN", secret(fineTok))
	wantErr(t, err, rotation.EINVALID, `"TradeMasterAPI" is not a GitHub repository: write it as owner/repo`)
	err = secrets.Set(ctx, repo, "GITHUB_TOKEN", secret(fineTok))
	wantErr(t, err, rotation.EINVALID,
		`"GITHUB_TOKEN" cannot be a GitHub Actions secret name: use letters, digits and _, not starting with a digit or GITHUB_`)
	noAdmin := newClient(t, f.gh, github.Config{}).ActionsSecrets()
	err = noAdmin.Set(ctx, repo, "API_TOKEN", secret(fineTok))
	wantErr(t, err, rotation.EINVALID,
		"GITHUB_TOKEN is not set: rotabot needs it to write the Actions secret API_TOKEN on raxx-app/TradeMasterAPI")
	if n := len(f.gh.Requests()); n != before {
		t.Errorf("%d requests were sent for refused input", n-before)
	}
	if _, _, ok := f.gh.ActionsSecret(repo, "API_TOKEN"); ok {
		t.Error("a failed Set left a secret")
	}

	// The primary rate limit: its reset is an hour away, far past any wait, so the
	// error carries it at once, and go-github refuses the next call itself.
	const keyRoute = "GET /repos/{owner}/{repo}/actions/secrets/public-key"
	f.gh.Fail(keyRoute, &sandbox.Fault{Status: 403, Times: 1, Header: http.Header{
		"X-RateLimit-Remaining": {"0"},
		"X-RateLimit-Reset":     {strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)},
	}})
	calls := f.gh.Count(keyRoute, false)
	for range 2 {
		err = secrets.Set(ctx, repo, "API_TOKEN", secret(fineTok))
		if rotation.ErrorCode(err) != rotation.EUNAVAILABLE || rotation.RetryAfter(err) < 50*time.Minute ||
			!strings.HasPrefix(rotation.ErrorMessage(err),
				"GitHub is rate limiting GET /repos/raxx-app/TradeMasterAPI/actions/secrets/public-key (403): try again in ") {
			t.Errorf("primary rate limit: %s %q, RetryAfter %v", rotation.ErrorCode(err), rotation.ErrorMessage(err), rotation.RetryAfter(err))
		}
		noLeak(t, err.Error())
	}
	waitCount(t, f.gh, keyRoute, calls+1)
}

func TestRevoke(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.client.Check(ctx, secret(fineTok)); err != nil {
		t.Fatalf("Check before revoke: %v", err)
	}
	if err := f.client.Revoke(ctx, secret(fineTok)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if !f.gh.Revoked(fineTok) {
		t.Fatal("the stand-in did not revoke the token")
	}
	for _, r := range f.gh.Requests() {
		if r.Route == "POST /credentials/revoke" {
			if _, ok := r.Header["Authorization"]; ok {
				t.Error("POST /credentials/revoke carried an Authorization header")
			}
			if r.Status != http.StatusAccepted {
				t.Errorf("revoke answered %d", r.Status)
			}
		}
	}
	_, err := f.client.Check(ctx, secret(fineTok))
	wantErr(t, err, rotation.EUNAUTHORIZED, "GitHub refused the token (401 Bad credentials)")

	// Secrets still work: revoking a token does not touch GITHUB_TOKEN.
	if err := f.client.ActionsSecrets().Set(ctx, repo, "API_TOKEN", secret(classicTok)); err != nil {
		t.Fatalf("Set after revoke: %v", err)
	}

	f.gh.Fail("POST /credentials/revoke", &sandbox.Fault{Status: 422})
	err = f.client.Revoke(ctx, secret(classicTok))
	wantErr(t, err, rotation.EINVALID, "GitHub refused to revoke the token (422 Validation Failed)")
}

// A run's calls to GitHub share one connection: each answer is read to its end,
// the workload probe's included (go-github leaves an answer it is not asked to
// decode unread, and net/http closes the connection of an answer closed
// unread: at GitHub, a new TLS handshake for the next call).
func TestARunsCallsShareAConnection(t *testing.T) {
	f := setup(t)
	var fresh []string
	var call string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) {
			if !i.Reused {
				fresh = append(fresh, call)
			}
		},
	})
	for i := range 3 {
		call = fmt.Sprintf("check %d", i+1)
		if _, err := f.client.Check(ctx, secret(fineTok)); err != nil {
			t.Fatal(err)
		}
		call = fmt.Sprintf("probe %d", i+1)
		if err := f.client.Probe(ctx, secret(fineTok), "/repos/"+repo+"/actions/runs?per_page=1"); err != nil {
			t.Fatal(err)
		}
	}
	if len(fresh) != 1 {
		t.Errorf("new connections for %v; want one, for the first call", fresh)
	}
}
