package infisical

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbinfisical "github.com/raxx-app/rotabot/sandbox/infisical"
)

const (
	testID      = "ua-client-id"
	testSecret  = "ua-client-secret-0123456789abcdef"
	testProject = "proj-rotabot"
	oldToken    = "ghp_OldTokenAbCdEfGhIjKlMnOpQrStUvWxYz0123"
	newToken    = "github_pat_NewTokenAbCdEfGhIjKlMnOpQrStUvWxYz0123"
)

var (
	cur  = rotation.VaultRef{Environment: "prod", Path: "/MooseQuest/github/", Key: "GH_TOKEN"}
	pend = rotation.VaultRef{Environment: "prod", Path: "/rotabot/pending/", Key: "GH_TOKEN"}
)

// setup starts the stand-in with the current token at version 1 and the pending
// folder, and a Vault logged in to it whose 5xx retries do not wait.
func setup(t *testing.T) (*sbinfisical.Infisical, *Vault) {
	t.Helper()
	inf := sbinfisical.New(testID, testSecret, testProject)
	t.Cleanup(inf.Close)
	inf.Set("prod", cur.Path, cur.Key, oldToken)
	inf.Mkdir("prod", pend.Path)
	return inf, open(t, inf, testProject)
}

func open(t *testing.T, inf *sbinfisical.Infisical, project string) *Vault {
	t.Helper()
	v, err := New(context.Background(), Config{SiteURL: inf.URL + "/", ClientID: testID, ClientSecret: testSecret, ProjectID: project})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	v.newBackOff = func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) }
	return v
}

// wantErr checks err's code, person-facing message and wait, and that no secret
// value used in these tests, whole or in part, appears in its text.
func wantErr(t *testing.T, err error, code, msg string, retryAfter time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", code, msg)
	}
	if got := rotation.ErrorCode(err); got != code {
		t.Errorf("code = %s, want %s (%v)", got, code, err)
	}
	if got := rotation.ErrorMessage(err); got != msg {
		t.Errorf("message = %q\n                want %q", got, msg)
	}
	if got := rotation.RetryAfter(err); got != retryAfter {
		t.Errorf("RetryAfter = %s, want %s", got, retryAfter)
	}
	noSecrets(t, err.Error())
}

func noSecrets(t *testing.T, s string) {
	t.Helper()
	for _, v := range []string{oldToken, newToken, testSecret} {
		for i := 0; i+8 <= len(v); i += 4 {
			if strings.Contains(s, v[i:i+8]) && !strings.HasPrefix(v[i:], "github_p") && !strings.HasPrefix(v[i:], "ua-clien") {
				t.Errorf("%q holds part of a secret value", s)
				return
			}
		}
	}
}

func TestNewLogsIn(t *testing.T) {
	inf := sbinfisical.New(testID, testSecret, testProject)
	defer inf.Close()
	inf.Set("prod", cur.Path, cur.Key, oldToken)
	for _, site := range []string{inf.URL, inf.URL + "/", inf.URL + "/api", inf.URL + "/api/"} {
		v, err := New(context.Background(), Config{SiteURL: site, ClientID: testID, ClientSecret: testSecret, ProjectID: testProject})
		if err != nil {
			t.Fatalf("New(%q): %v", site, err)
		}
		if _, err := v.Read(context.Background(), cur); err != nil {
			t.Errorf("Read via %q: %v", site, err)
		}
		_ = v.Close()
	}
	if n := inf.Count(sbinfisical.InfisicalLogin, true); n != 4 {
		t.Errorf("%d logins, want 4", n)
	}
}

func TestNewRefused(t *testing.T) {
	inf := sbinfisical.New(testID, testSecret, testProject)
	defer inf.Close()
	_, err := New(context.Background(), Config{SiteURL: inf.URL, ClientID: testID, ClientSecret: "wrong-" + testSecret, ProjectID: testProject})
	wantErr(t, err, rotation.EUNAUTHORIZED, "Infisical refused INFISICAL_CLIENT_ID/INFISICAL_CLIENT_SECRET (401): check the machine identity", 0)
	if strings.Contains(err.Error(), "wrong-") {
		t.Errorf("error %q holds the client secret", err)
	}

	_, err = New(context.Background(), Config{SiteURL: inf.URL, ClientID: testID, ProjectID: testProject})
	wantErr(t, err, rotation.EINVALID, "INFISICAL_CLIENT_SECRET is not set: the bot needs it to reach Infisical", 0)
	_, err = New(context.Background(), Config{SiteURL: "app.infisical.com", ClientID: testID, ClientSecret: testSecret, ProjectID: testProject})
	wantErr(t, err, rotation.EINVALID, "INFISICAL_SITE_URL is not an http(s) URL: set it to your Infisical address, e.g. https://app.infisical.com", 0)
}

func TestConfigHidesClientSecret(t *testing.T) {
	cfg := Config{SiteURL: "https://app.infisical.com", ClientID: testID, ClientSecret: testSecret, ProjectID: testProject}
	out := fmt.Sprintf("%v %+v %#v %s %q", cfg, cfg, cfg, cfg, cfg) + fmt.Sprintf("%+v", struct{ C Config }{cfg})
	if strings.Contains(out, testSecret) || !strings.Contains(out, testProject) {
		t.Errorf("printed config: %s", out)
	}
}

func TestReadWriteVersions(t *testing.T) {
	inf, v := setup(t)
	ctx := context.Background()

	got, err := v.Read(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value.Reveal() != oldToken || got.Version != 1 {
		t.Errorf("Read: version %d, value is the old token: %v", got.Version, got.Value.Reveal() == oldToken)
	}

	n, err := v.Write(ctx, cur, rotation.NewSecret(newToken))
	if err != nil || n != 2 {
		t.Fatalf("Write = %d, %v; want version 2", n, err)
	}
	if got, _ := v.Read(ctx, cur); got.Value.Reveal() != newToken || got.Version != 2 {
		t.Errorf("after Write: version %d, value is the new token: %v", got.Version, got.Value.Reveal() == newToken)
	}
	old, err := v.ReadVersion(ctx, cur, 1)
	if err != nil || old.Reveal() != oldToken {
		t.Errorf("ReadVersion(1): %v, value is the old token: %v", err, old.Reveal() == oldToken)
	}
	_, err = v.ReadVersion(ctx, cur, 9)
	wantErr(t, err, rotation.ENOTFOUND, "Infisical has no version 9 of GH_TOKEN at /MooseQuest/github/ in prod", 0)

	// Write creates a missing secret.
	other := rotation.VaultRef{Environment: "prod", Path: "MooseQuest/github", Key: "OTHER_TOKEN"}
	if n, err := v.Write(ctx, other, rotation.NewSecret(newToken)); err != nil || n != 1 {
		t.Errorf("Write of a new secret = %d, %v; want version 1", n, err)
	}
	_, err = v.Write(ctx, cur, rotation.Secret{})
	wantErr(t, err, rotation.EINVALID, "The bot will not write an empty value to GH_TOKEN at /MooseQuest/github/ in prod", 0)

	// Delete, and delete again.
	if err := v.Delete(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := inf.Value("prod", other.Path, other.Key); ok {
		t.Error("the deleted secret is still there")
	}
	if err := v.Delete(ctx, other); err != nil {
		t.Errorf("Delete of a missing secret: %v", err)
	}
	_, err = v.Read(ctx, other)
	wantErr(t, err, rotation.ENOTFOUND, "Infisical has no secret OTHER_TOKEN at /MooseQuest/github/ in prod", 0)

	if vs := inf.Versions("prod", cur.Path, cur.Key); len(vs) != 2 || vs[0] != oldToken || vs[1] != newToken {
		t.Errorf("the stand-in holds %d versions of GH_TOKEN, or not in order", len(vs))
	}
}

func TestStageAndPromote(t *testing.T) {
	inf, v := setup(t)
	ctx := context.Background()

	if err := v.Stage(ctx, pend, rotation.NewSecret(newToken)); err != nil {
		t.Fatal(err)
	}
	if val, n, ok := inf.Value("prod", pend.Path, pend.Key); !ok || n != 1 || val != newToken {
		t.Errorf("staged: version %d ok %v, value is the new token: %v", n, ok, val == newToken)
	}
	n, err := v.Promote(ctx, pend, cur)
	if err != nil || n != 2 {
		t.Fatalf("Promote = %d, %v; want version 2", n, err)
	}
	if val, n, _ := inf.Value("prod", cur.Path, cur.Key); n != 2 || val != newToken {
		t.Errorf("promoted: current is version %d, value is the new token: %v", n, val == newToken)
	}
	if _, _, ok := inf.Value("prod", pend.Path, pend.Key); ok {
		t.Error("the pending value is still there after Promote")
	}

	// Re-run after the delete: nothing to promote, nothing changes.
	_, err = v.Promote(ctx, pend, cur)
	wantErr(t, err, rotation.ENOTFOUND, "There is no pending value for GH_TOKEN at /rotabot/pending/ in prod: it was promoted or cancelled already", 0)

	// Re-run after a crash between the write and the delete: no second version.
	if err := v.Stage(ctx, pend, rotation.NewSecret(oldToken)); err != nil {
		t.Fatal(err)
	}
	inf.Set("prod", cur.Path, cur.Key, oldToken) // version 3, as the crashed Promote wrote it
	if n, err := v.Promote(ctx, pend, cur); err != nil || n != 3 {
		t.Errorf("Promote after a crash = %d, %v; want version 3", n, err)
	}
	if vs := inf.Versions("prod", cur.Path, cur.Key); len(vs) != 3 {
		t.Errorf("current has %d versions, want 3", len(vs))
	}
	if _, _, ok := inf.Value("prod", pend.Path, pend.Key); ok {
		t.Error("the pending value is still there after the re-run")
	}

	// Cancel: the engine deletes the pending value.
	if err := v.Stage(ctx, pend, rotation.NewSecret(newToken)); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete(ctx, pend); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := inf.Value("prod", pend.Path, pend.Key); ok {
		t.Error("the pending value is still there after Delete")
	}

	// Staging where no folder exists.
	_, err = v.Write(ctx, rotation.VaultRef{Environment: "prod", Path: "/nowhere", Key: "GH_TOKEN"}, rotation.NewSecret(newToken))
	wantErr(t, err, rotation.ENOTFOUND, "Infisical has no folder /nowhere/ in environment prod: check vault.environment (the environment's slug, e.g. prod) and that the folder exists there", 0)
}

func TestErrors(t *testing.T) {
	const where = "GH_TOKEN at /MooseQuest/github/ in prod"
	cases := []struct {
		name       string
		prepare    func(inf *sbinfisical.Infisical)
		timeout    time.Duration
		call       func(ctx context.Context, v *Vault) error
		code, msg  string
		retryAfter time.Duration
		gets       int // GET requests the call made (0: not checked)
	}{
		{
			name: "401 after a second login",
			prepare: func(inf *sbinfisical.Infisical) {
				inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 401})
			},
			code: rotation.EUNAUTHORIZED, gets: 2,
			msg: "Infisical refused the machine identity's access token (401) while reading " + where + ": check INFISICAL_CLIENT_ID/INFISICAL_CLIENT_SECRET",
		},
		{
			name:    "403 on read",
			prepare: func(inf *sbinfisical.Infisical) { inf.Deny("prod", "/MooseQuest") },
			code:    rotation.EFORBIDDEN, gets: 1,
			msg: "The machine identity may not read /MooseQuest/github/ in prod (Infisical answered 403 for GH_TOKEN): grant it access there in Infisical",
		},
		{
			name:    "403 on write",
			prepare: func(inf *sbinfisical.Infisical) { inf.Deny("prod", "/MooseQuest") },
			call: func(ctx context.Context, v *Vault) error {
				_, err := v.Write(ctx, cur, rotation.NewSecret(newToken))
				return err
			},
			code: rotation.EFORBIDDEN,
			msg:  "The machine identity may not write to /MooseQuest/github/ in prod (Infisical answered 403 for GH_TOKEN): grant it access there in Infisical",
		},
		{
			name: "404",
			call: func(ctx context.Context, v *Vault) error {
				_, err := v.Read(ctx, rotation.VaultRef{Environment: "prod", Path: "/MooseQuest/github", Key: "NOPE"})
				return err
			},
			code: rotation.ENOTFOUND, gets: 1,
			msg: "Infisical has no secret NOPE at /MooseQuest/github/ in prod",
		},
		{
			name: "404 for an unknown environment",
			call: func(ctx context.Context, v *Vault) error {
				_, err := v.Read(ctx, rotation.VaultRef{Environment: "qa", Path: "/", Key: "GH_TOKEN"})
				return err
			},
			code: rotation.ENOTFOUND,
			msg:  "Infisical has no folder / in environment qa: check vault.environment (the environment's slug, e.g. prod) and that the folder exists there",
		},
		{
			name: "429 once",
			prepare: func(inf *sbinfisical.Infisical) {
				inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 429, RetryAfter: "0.02", Times: 1})
			},
			gets: 2,
		},
		{
			name: "429 persistent",
			prepare: func(inf *sbinfisical.Infisical) {
				inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 429, RetryAfter: "0.02"})
			},
			code: rotation.EUNAVAILABLE, retryAfter: 20 * time.Millisecond, gets: 3,
			msg: "Infisical is rate limiting the bot (429) while reading " + where + ": try again in 20ms",
		},
		{
			name: "429 asking for longer than the deadline",
			prepare: func(inf *sbinfisical.Infisical) {
				inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 429, RetryAfter: "30"})
			},
			timeout: 300 * time.Millisecond,
			code:    rotation.EUNAVAILABLE, retryAfter: 30 * time.Second, gets: 1,
			msg: "Infisical is rate limiting the bot (429) while reading " + where + ": try again in 30s",
		},
		{
			name: "503 once",
			prepare: func(inf *sbinfisical.Infisical) {
				inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 503, Times: 1})
			},
			gets: 2,
		},
		{
			name: "503 persistent",
			prepare: func(inf *sbinfisical.Infisical) {
				inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 503})
			},
			code: rotation.EUNAVAILABLE, gets: 3,
			msg: "Infisical failed (503) while reading " + where + ": try again later",
		},
		{
			name: "500 on the version read",
			prepare: func(inf *sbinfisical.Infisical) {
				inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 500})
			},
			call: func(ctx context.Context, v *Vault) error {
				_, err := v.ReadVersion(ctx, cur, 1)
				return err
			},
			code: rotation.EUNAVAILABLE, gets: 3,
			msg: "Infisical failed (500) while reading version 1 of " + where + ": try again later",
		},
		{
			name:    "a hang past the deadline",
			prepare: func(inf *sbinfisical.Infisical) { inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Hang: true}) },
			timeout: 300 * time.Millisecond,
			code:    rotation.EUNAVAILABLE,
			msg:     "Infisical did not answer in time while reading " + where + ": try again later",
		},
		{
			name: "a hanging write",
			prepare: func(inf *sbinfisical.Infisical) {
				inf.Fail(sbinfisical.InfisicalUpdateSecret, &sandbox.Fault{Hang: true})
			},
			timeout: 300 * time.Millisecond,
			call: func(ctx context.Context, v *Vault) error {
				_, err := v.Write(ctx, cur, rotation.NewSecret(newToken))
				return err
			},
			code: rotation.EUNAVAILABLE,
			msg:  "Infisical did not answer in time while writing " + where + ": try again later",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inf, v := setup(t)
			if c.prepare != nil {
				c.prepare(inf)
			}
			ctx := context.Background()
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.timeout)
				defer cancel()
			}
			call := c.call
			if call == nil {
				call = func(ctx context.Context, v *Vault) error {
					got, err := v.Read(ctx, cur)
					if err == nil && got.Value.Reveal() != oldToken {
						t.Error("Read returned another value")
					}
					return err
				}
			}
			err := call(ctx, v)
			if c.code == "" {
				if err != nil {
					t.Errorf("want success after a retry, got %v", err)
				}
			} else {
				wantErr(t, err, c.code, c.msg, c.retryAfter)
			}
			if c.gets > 0 {
				if n := inf.Count(sbinfisical.InfisicalGetSecret, false); n != c.gets {
					t.Errorf("%d GET requests, want %d", n, c.gets)
				}
			}
		})
	}
}

func TestRevokedTokenLogsInAgain(t *testing.T) {
	inf, v := setup(t)
	inf.RevokeTokens()
	if _, err := v.Read(context.Background(), cur); err != nil {
		t.Fatalf("Read after the tokens were revoked: %v", err)
	}
	if n := inf.Count(sbinfisical.InfisicalLogin, true); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
}

func TestWrongProject(t *testing.T) {
	inf, _ := setup(t)
	v := open(t, inf, "proj-other")
	_, err := v.Read(context.Background(), cur)
	wantErr(t, err, rotation.ENOTFOUND, "Infisical has no project proj-other: check INFISICAL_PROJECT_ID", 0)
	_, err = v.Write(context.Background(), cur, rotation.NewSecret(newToken)) // update, then create: both 404
	wantErr(t, err, rotation.ENOTFOUND, "Infisical has no project proj-other: check INFISICAL_PROJECT_ID", 0)
	if n := inf.Count(sbinfisical.InfisicalCreateSecret, false); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
}

// TestNotJSON: a server that answers 200 with something other than JSON makes the
// SDK return an empty secret and no error; the Vault must not take that for a value.
func TestNotJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/auth/universal-auth/login" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"accessToken":"at","expiresIn":7200,"accessTokenMaxTTL":2592000,"tokenType":"Bearer"}`)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>Sign in to the corporate proxy</html>")
	}))
	defer srv.Close()
	v, err := New(context.Background(), Config{SiteURL: srv.URL, ClientID: testID, ClientSecret: testSecret, ProjectID: testProject})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.Read(context.Background(), cur)
	wantErr(t, err, rotation.EUNAVAILABLE, "Infisical returned an empty value for "+
		"GH_TOKEN at /MooseQuest/github/ in prod (its reply was not JSON): check INFISICAL_SITE_URL ("+srv.URL+")", 0)
}

// TestWriteReadsBackTheVersion: when the update's reply does not say which version
// it made, Write reads it back.
func TestWriteReadsBackTheVersion(t *testing.T) {
	inf, _ := setup(t)
	target, _ := url.Parse(inf.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodPatch && resp.StatusCode == 200 {
			body := []byte(`{"secret":{"secretKey":"GH_TOKEN"}}`)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	v, err := New(context.Background(), Config{SiteURL: srv.URL, ClientID: testID, ClientSecret: testSecret, ProjectID: testProject})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if n, err := v.Write(context.Background(), cur, rotation.NewSecret(newToken)); err != nil || n != 2 {
		t.Errorf("Write = %d, %v; want version 2 read back", n, err)
	}
	if n := inf.Count(sbinfisical.InfisicalGetSecret, true); n != 1 {
		t.Errorf("%d reads, want 1 read-back", n)
	}
}

// The Vault starts no goroutine (the SDK's own client would start a token-refresh
// goroutine that outlives the bot), and after Close it answers no call.
func TestCloseRefusesLaterCalls(t *testing.T) {
	inf := sbinfisical.New(testID, testSecret, testProject)
	defer inf.Close()
	inf.Set("prod", cur.Path, cur.Key, oldToken)
	v, err := New(context.Background(), Config{SiteURL: inf.URL, ClientID: testID, ClientSecret: testSecret, ProjectID: testProject})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Read(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	if n := refreshers(); n != 0 {
		t.Errorf("%d SDK token-refresh goroutines, want none", n)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = v.Read(context.Background(), cur)
	wantErr(t, err, rotation.EINTERNAL, "The Infisical client was closed before reading GH_TOKEN at /MooseQuest/github/ in prod", 0)
	if n := inf.Count(sbinfisical.InfisicalGetSecret, false); n != 1 {
		t.Errorf("%d reads, want 1 (none after Close)", n)
	}
}

// refreshers counts the go-sdk's token-refresh goroutines alive in this process.
func refreshers() int {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), ").handleTokenLifeCycle(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// A write given up at the deadline is not sent again later by the SDK's own
// retries: a late write could overwrite a newer value (a rollback's).
func TestAbandonedWriteIsNotRetriedBehindOurBack(t *testing.T) {
	inf, v := setup(t)
	inf.Fail(sbinfisical.InfisicalUpdateSecret, &sandbox.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := v.Write(ctx, cur, rotation.NewSecret(newToken)); rotation.ErrorCode(err) != rotation.EUNAVAILABLE {
		t.Fatalf("hung write: %v", err)
	}
	inf.Fail(sbinfisical.InfisicalUpdateSecret, nil)
	// Break the hung connections: the SDK's HTTP client would retry now, after
	// about a second. (The hung requests are logged as they end.)
	inf.CloseClientConnections()
	time.Sleep(200 * time.Millisecond)
	sent := inf.Count(sbinfisical.InfisicalUpdateSecret, false)
	time.Sleep(2500 * time.Millisecond)
	if n := inf.Count(sbinfisical.InfisicalUpdateSecret, false); n != sent {
		t.Fatalf("%d more writes arrived after the call was given up", n-sent)
	}
	if val, _, _ := inf.Value("prod", cur.Path, cur.Key); val != oldToken {
		t.Fatal("the abandoned write landed later")
	}
}
