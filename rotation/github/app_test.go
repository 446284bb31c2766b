package github_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/github"
	"github.com/raxx-app/rotabot/sandbox"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// clock is a time a test moves, shared by the stand-in and the adapter: under a
// clockshift build, or on a machine, the two read one wall clock too.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Every permission the matrix's kinds of GitHub secret need.
var allAppPermissions = map[string]string{"secrets": "write", "environments": "write", "organization_secrets": "write",
	"dependabot_secrets": "write", "organization_dependabot_secrets": "write"}

// appPAT is a pasted token of the App tests, valid for a month on their clock.
var appPAT = token("github_pat_", "adapter app pasted", 82)

// appFixture is the stand-in with the App 42 installed on raxx-app, and a client
// that writes as it (its installation found by the organisation) on clk. The
// clock starts at the wall clock: ghinstallation also judges a token's age by
// the machine's (time.Now), and a clock set in the past would make it renew
// the token at every request.
func appFixture(t *testing.T, perms map[string]string) (fixture, string, *clock) {
	t.Helper()
	f := setup(t)
	clk := &clock{t: rotation.WallNow()}
	f.gh.SetNow(clk.Now)
	f.gh.AddToken(sbgithub.TokenSpec{Value: appPAT, Login: "raxx-bot", Expires: clk.t.Add(30 * 24 * time.Hour), Repos: []string{repo}})
	key := f.gh.RegisterApp(42, "rotabot-raxx")
	f.gh.Install(42, "raxx-app", perms)
	f.client = newClient(t, f.gh, github.Config{Now: clk.Now,
		App: &github.AppConfig{ID: 42, PrivateKey: secret(key), Account: "raxx-app"}})
	return f, key, clk
}

// noKeyLeak fails when text holds any line of the private key's body.
func noKeyLeak(t *testing.T, key, text string) {
	t.Helper()
	for _, line := range strings.Split(key, "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line[:16]) {
			t.Fatal("the text holds part of the App's private key")
		}
	}
}

// Written as the App, with GITHUB_TOKEN unset: every kind of secret is written
// with one installation token, made from a JWT; a pasted token is still checked
// with its own value, and revocation still goes out without credentials.
func TestAppWritesEveryKindWithItsInstallationToken(t *testing.T) {
	ctx := context.Background()
	f, key, clk := appFixture(t, allAppPermissions)
	start := clk.Now()
	f.gh.AddEnvironment(repo, "production")
	f.gh.SetGHSecret(sbgithub.GHOrg, "raxx-app", "GH_TOKEN", "old", "private")
	f.gh.SetGHSecret(sbgithub.GHDependabotOrg, "raxx-app", "GH_TOKEN", "old", "private")
	for _, c := range []struct {
		cons          rotation.Consumer
		scope         sbgithub.GHScope
		target, stand string
	}{
		{f.client.ActionsSecrets(), sbgithub.GHActions, repo, repo},
		{f.client.EnvSecrets(), sbgithub.GHEnvironment, repo + "/production", repo + "/production"},
		{f.client.OrgSecrets(), sbgithub.GHOrg, "raxx-app", "raxx-app"},
		{f.client.DependabotSecrets(), sbgithub.GHDependabot, repo, repo},
		{f.client.DependabotSecrets(), sbgithub.GHDependabotOrg, "raxx-app", "raxx-app"},
	} {
		if err := c.cons.Set(ctx, c.target, "GH_TOKEN", secret(fineTok)); err != nil {
			t.Fatalf("%s: %v", c.scope, err)
		}
		if err := c.cons.Verify(ctx, c.target, "GH_TOKEN", secret(fineTok), start); err != nil {
			t.Errorf("%s: Verify: %v", c.scope, err)
		}
		if v, _, _, _, _ := f.gh.GHSecret(c.scope, c.stand, "GH_TOKEN"); v != fineTok {
			t.Errorf("%s holds something else", c.scope)
		}
		if w := f.gh.WrittenWith(c.scope, c.stand, "GH_TOKEN"); w != "installation" {
			t.Errorf("%s was written with %q, want the App's installation token", c.scope, w)
		}
	}
	if n := len(f.gh.InstallationTokens()); n != 1 {
		t.Errorf("%d installation tokens made, want 1 for every write", n)
	}
	// The pasted token answers for itself.
	if info, err := f.client.Check(ctx, secret(appPAT)); err != nil || info.Login != "raxx-bot" {
		t.Errorf("Check of a pasted token: %+v %v", info, err)
	}
	if err := f.client.Revoke(ctx, secret(classicTok)); err != nil || !f.gh.Revoked(classicTok) {
		t.Fatalf("Revoke: %v", err)
	}
	for _, r := range f.gh.Requests() {
		auth := r.Header.Get("Authorization")
		switch {
		case r.Route == "POST /credentials/revoke" && auth != "":
			t.Error("the revocation carried a credential")
		case r.Route == "GET /user" && !strings.HasSuffix(auth, appPAT):
			t.Error("GET /user did not carry the pasted token")
		case strings.Contains(r.Route, "/secrets") && !strings.HasPrefix(auth, "token ghs_"):
			t.Errorf("%s %s did not carry the installation token", r.Method, r.Path)
		case strings.HasPrefix(r.Route, "POST /app/installations/") && !strings.HasPrefix(auth, "Bearer ey"):
			t.Errorf("%s did not carry a JWT", r.Route)
		}
		noKeyLeak(t, key, string(r.Body)+auth)
	}
	in, err := f.client.AppInstallation(ctx)
	if err != nil || in.Account != "raxx-app" || in.AppID != 42 || in.Permissions["organization_dependabot_secrets"] != "write" {
		t.Errorf("AppInstallation = %+v, %v", in, err)
	}
}

// The installation token is made again before it expires — by rotabot's clock,
// which a test (and a clockshift build) moves with the stand-in's — and the
// JWT that makes it is stamped by that clock too: GitHub would refuse one made
// by another.
func TestAppTokenMadeAgainBeforeItExpires(t *testing.T) {
	ctx := context.Background()
	f, _, clk := appFixture(t, allAppPermissions)
	write := func() {
		t.Helper()
		if err := f.client.ActionsSecrets().Set(ctx, repo, "GH_TOKEN", secret(fineTok)); err != nil {
			t.Fatal(err)
		}
	}
	write()
	first := f.gh.InstallationTokens()[0]
	clk.Add(58 * time.Minute)
	write()
	if n := len(f.gh.InstallationTokens()); n != 1 {
		t.Fatalf("%d tokens after 58 minutes, want the first still in use", n)
	}
	// A minute before it expires, as ghinstallation decides: a new one.
	clk.Add(time.Minute + time.Second)
	write()
	toks := f.gh.InstallationTokens()
	if len(toks) != 2 || toks[1].Value == first.Value || !toks[1].Issued.Equal(clk.Now().Truncate(time.Second)) {
		t.Fatalf("tokens after 59 minutes: %d", len(toks))
	}
	// Past the hour, GitHub refuses the first; rotabot never sends it again.
	clk.Add(2 * time.Hour)
	write()
	if n := len(f.gh.InstallationTokens()); n != 3 {
		t.Errorf("%d tokens three hours on, want 3", n)
	}
	for _, r := range f.gh.Requests() {
		if r.Status == http.StatusUnauthorized {
			t.Errorf("rotabot sent a refused credential: %s %s", r.Method, r.Path)
		}
	}
	if a := ghStatusOf(t, f.gh, first.Value); a != http.StatusUnauthorized {
		t.Errorf("the first token answered %d an hour after it was made, want 401", a)
	}
}

// ghStatusOf is the status GitHub answers a token with on a secrets route.
func ghStatusOf(t *testing.T, g *sbgithub.GitHub, tok string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", g.URL+"/repos/"+repo+"/actions/secrets/public-key", nil)
	req.Header.Set("Authorization", "token "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Each way the App can be set up wrong says which variable or setting to fix,
// never with any of the key.
func TestAppSetUpWrong(t *testing.T) {
	ctx := context.Background()
	f, key, clk := appFixture(t, map[string]string{"secrets": "write"})
	other := f.gh.RegisterApp(43, "someone-elses-app")
	mk := func(cfg github.AppConfig) *github.Client {
		if cfg.PrivateKey.Empty() {
			cfg.PrivateKey = secret(key)
		}
		return newClient(t, f.gh, github.Config{Now: clk.Now, App: &cfg})
	}
	set := func(c *github.Client) error { return c.ActionsSecrets().Set(ctx, repo, "GH_TOKEN", secret(fineTok)) }
	cases := []struct {
		name      string
		err       func() error
		code, msg string
	}{
		{"a key of another App", func() error {
			return set(mk(github.AppConfig{ID: 42, PrivateKey: secret(other), InstallationID: 4000007}))
		},
			rotation.EUNAUTHORIZED, "GitHub refused the GitHub App's JWT (POST /app/installations/4000007/access_tokens: 401 A JSON web token could not be decoded): check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (a key of that App: its settings → Private keys) and that this machine's clock is right"},
		{"an App id GitHub does not know", func() error { return set(mk(github.AppConfig{ID: 7, Account: "raxx-app"})) },
			rotation.EUNAUTHORIZED, "GitHub refused the GitHub App's JWT (GET /orgs/raxx-app/installation: 401 Integration not found): check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (a key of that App: its settings → Private keys) and that this machine's clock is right"},
		{"not installed on the account", func() error { return set(mk(github.AppConfig{ID: 42, Account: "elsewhere"})) },
			rotation.EINVALID, "The GitHub App is not installed where the routing matrix writes (GET /orgs/elsewhere/installation: 404): install it there (the App's settings → Install App), or set GITHUB_APP_INSTALLATION_ID"},
		{"an installation id that is not its", func() error {
			_, err := mk(github.AppConfig{ID: 42, InstallationID: 999}).AppInstallation(ctx)
			return err
		},
			rotation.EINVALID, "GitHub has no such installation of the GitHub App (GET /app/installations/999: 404): check GITHUB_APP_INSTALLATION_ID (the number at the end of the installation's settings page), or unset it to find the installation by the routing matrix's organisation"},
		{"no account to find the installation on", func() error { return set(mk(github.AppConfig{ID: 42})) },
			rotation.EINVALID, "GITHUB_APP_INSTALLATION_ID is not set, and the routing matrix's GitHub secrets are not all of one account to find the GitHub App's installation on: set it to the installation rotabot should use (the number ending its settings URL)"},
		{"a permission the installation lacks", func() error { return f.client.OrgSecrets().Set(ctx, "raxx-app", "GH_TOKEN", secret(fineTok)) },
			rotation.EFORBIDDEN, "GitHub refused the GitHub App for GitHub organisation secret raxx-app · GH_TOKEN (403 Resource not accessible by integration): give the GitHub App the permission Organization permissions → Secrets: Read and write (organization_secrets) on its installation"},
	}
	f.gh.SetGHSecret(sbgithub.GHOrg, "raxx-app", "GH_TOKEN", "old", "private")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err()
			wantErr(t, err, c.code, c.msg)
			noKeyLeak(t, key, err.Error())
			noKeyLeak(t, other, err.Error())
		})
	}
	for _, bad := range []string{"not a key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"} {
		_, err := github.New(github.Config{BaseURL: f.gh.URL, App: &github.AppConfig{ID: 42, PrivateKey: secret(bad)}})
		if rotation.ErrorCode(err) != rotation.EINVALID || !strings.Contains(rotation.ErrorMessage(err), "GITHUB_APP_PRIVATE_KEY cannot be used") ||
			strings.Contains(err.Error(), "AAAA") || strings.Contains(err.Error(), "not a key") {
			t.Errorf("a key that is no key: %v", err)
		}
	}
}

// Neither the JWT nor an installation token follows a redirect off
// GITHUB_API_URL's host.
func TestAppCredentialsStayOnTheAPIHost(t *testing.T) {
	ctx := context.Background()
	for _, route := range []string{"POST /app/installations/{id}/access_tokens", "GET /orgs/{org}/installation", "PUT /repos/{owner}/{repo}/actions/secrets/{name}"} {
		t.Run(route, func(t *testing.T) {
			f, _, _ := appFixture(t, allAppPermissions)
			sink := sandbox.NewSink()
			t.Cleanup(sink.Close)
			f.gh.Fail(route, &sandbox.Fault{Status: http.StatusTemporaryRedirect, Redirect: sink.URL + "/collect", Times: 1})
			err := f.client.ActionsSecrets().Set(ctx, repo, "GH_TOKEN", secret(fineTok))
			if n := len(sink.Requests()); n != 0 {
				t.Fatalf("the other host received %d requests", n)
			}
			if err == nil {
				t.Fatal("the write succeeded through a redirect")
			}
			noLeak(t, err.Error())
		})
	}
}

// Every permission a destination may need is one the start-up check reports.
func TestAppPermissionKeysListEveryPermission(t *testing.T) {
	for _, kind := range rotation.GitHubKinds {
		for _, target := range []string{"raxx-app/TradeMasterAPI", "raxx-app", "raxx-app/TradeMasterAPI/production"} {
			if key, _ := github.AppPermission(kind, target); !slices.Contains(github.AppPermissionKeys, key) {
				t.Errorf("%s on %s needs %q, which AppPermissionKeys lacks", kind, target, key)
			}
		}
	}
}
