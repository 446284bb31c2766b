package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/web"
)

const (
	alice, bob = "U0ALICE", "U0BOB"
	ops        = "C0OPS"
	secretName = "GH_TOKEN"
)

type fixture struct {
	w    *sandbox.World
	page *httptest.Server
	api  *slack.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := sandbox.NewWorld()
	t.Cleanup(w.Close)
	w.Slack.AddUser(alice, "alice")
	w.Slack.AddUser(bob, "bob")
	w.Slack.AddChannel(ops, "ops")
	w.Heroku.AddApp("raxx-console-prod", map[string]string{secretName: "ghp_currentvalue0000000000000000000000"})
	w.Heroku.AddApp("raxx-console-staging", map[string]string{secretName: "ghp_currentvalue0000000000000000000000"})
	w.Infisical.Set("prod", "/github/", secretName, "ghp_currentvalue0000000000000000000000")
	s := web.New(web.Config{World: w,
		People:   []web.Person{{ID: alice, Name: "alice", Role: "ops"}, {ID: bob, Name: "bob", Role: "ops"}},
		Channels: []web.Channel{{ID: ops, Name: "ops"}},
		Secrets:  []web.Secret{{Name: secretName, Kind: "fine-grained", Login: "raxx-bot", Repos: []string{"raxx-app/api"}, ExpiresInDays: 30}},
	})
	page := httptest.NewServer(s)
	t.Cleanup(page.Close)
	return &fixture{w: w, page: page, api: slack.New(w.BotToken, slack.OptionAPIURL(w.Slack.APIURL()), slack.OptionAppLevelToken(w.AppToken))}
}

func (f *fixture) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(f.page.URL+path, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (f *fixture) state(t *testing.T, user string) (web.State, string) {
	t.Helper()
	resp, err := http.Get(f.page.URL + "/api/state?user=" + user)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var st web.State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("state of %s: %v: %s", user, err, raw)
	}
	return st, string(raw)
}

// ackAll runs a Socket Mode client that acks every envelope, as an app would.
func (f *fixture) ackAll(t *testing.T) {
	t.Helper()
	c := socketmode.New(f.api)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.RunContext(ctx)
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-c.Events:
				if e.Request != nil {
					c.Ack(*e.Request)
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if err := f.w.Slack.WaitConnected(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Each person sees the channel's messages and only their own ephemeral ones;
// replies hang under their parent; values show only as fingerprints.
func TestStateShowsEachPersonWhatSlackShowsThem(t *testing.T) {
	f := newFixture(t)
	_, ts, err := f.api.PostMessage(ops, slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.api.PostMessage(ops, slack.MsgOptionText("step detail", false), slack.MsgOptionTS(ts)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.api.PostEphemeral(ops, alice, slack.MsgOptionText("only for alice", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.api.UpdateMessage(ops, ts, slack.MsgOptionText("card, updated", false)); err != nil {
		t.Fatal(err)
	}
	a, rawA := f.state(t, alice)
	b, rawB := f.state(t, bob)
	msgs := a.Channels[0].Messages
	if len(msgs) != 2 || msgs[0].Text != "card, updated" || len(msgs[0].Replies) != 1 || msgs[0].Replies[0].Text != "step detail" ||
		!msgs[1].Ephemeral || msgs[1].Text != "only for alice" {
		t.Errorf("alice sees %+v", msgs)
	}
	if strings.Contains(rawB, "only for alice") || len(b.Channels[0].Messages) != 1 {
		t.Errorf("bob sees alice's ephemeral message: %+v", b.Channels[0].Messages)
	}
	for _, raw := range []string{rawA, rawB} {
		if strings.Contains(raw, "currentvalue") {
			t.Error("a value is in the page's state")
		}
	}
	fp := web.Fingerprint("ghp_currentvalue0000000000000000000000")
	if a.Heroku[0].Vars[0].Fingerprint != fp || a.Vault[0].Versions[0] != fp {
		t.Errorf("fingerprints: %+v %+v", a.Heroku, a.Vault)
	}
	if st, _ := f.post(t, "/api/home", map[string]string{"user": "U0NOBODY"}); st != http.StatusBadRequest {
		t.Errorf("someone outside the workspace: %d", st)
	}
}

// The page answers this machine's browser only, and only to its own page.
func TestRefusesRequestsFromElsewhere(t *testing.T) {
	f := newFixture(t)
	do := func(method, host, origin, ctype string) int {
		req, _ := http.NewRequest(method, f.page.URL+"/api/fault", strings.NewReader(`{"target":"github","kind":"down"}`))
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name                 string
		method, host, origin string
		ctype                string
		want                 int
	}{
		{"a name that resolves here (DNS rebinding)", "GET", "sandbox.example.com", "", "", 403},
		{"another site's form", "POST", "", "https://example.com", "application/json", 403},
		{"a simple request without JSON", "POST", "", "", "text/plain", 415},
		{"the page itself", "POST", "", f.page.URL, "application/json", 200},
	} {
		if got := do(c.method, c.host, c.origin, c.ctype); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// Tokens made in the GitHub panel are what GitHub would make: the right login,
// another login, expired, or blind to the repositories.
func TestMintedTokens(t *testing.T) {
	f := newFixture(t)
	user := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, f.w.GitHub.URL+"/user", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var u struct{ Login string }
		_ = json.NewDecoder(resp.Body).Decode(&u)
		return resp.StatusCode, u.Login
	}
	repo := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, f.w.GitHub.URL+"/repos/raxx-app/api/actions/runs", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		kind, variant, prefix string
		status                int
		login                 string
		repo                  int
	}{
		{"fine-grained", web.VariantRight, "github_pat_", 200, "raxx-bot", 200},
		{"classic", web.VariantRight, "ghp_", 200, "raxx-bot", 200},
		{"fine-grained", web.VariantWrongUser, "github_pat_", 200, "someone-else", 200},
		{"fine-grained", web.VariantExpired, "github_pat_", 401, "", 401},
		{"fine-grained", web.VariantNoAccess, "github_pat_", 200, "raxx-bot", 404},
	} {
		st, out := f.post(t, "/api/mint", map[string]string{"secret": secretName, "kind": c.kind, "variant": c.variant})
		token, _ := out["token"].(string)
		if st != 200 || !strings.HasPrefix(token, c.prefix) || out["fingerprint"] != web.Fingerprint(token) {
			t.Fatalf("%s %s: %d %v", c.kind, c.variant, st, out)
		}
		if code, login := user(token); code != c.status || login != c.login {
			t.Errorf("%s %s: GET /user %d %q", c.kind, c.variant, code, login)
		}
		if code := repo(token); code != c.repo {
			t.Errorf("%s %s: the repository answers %d, want %d", c.kind, c.variant, code, c.repo)
		}
		// The page's state never carries it: only its fingerprint.
		if _, raw := f.state(t, alice); strings.Contains(raw, token) || !strings.Contains(raw, web.Fingerprint(token)) {
			t.Errorf("%s %s: the state shows the token, or not its fingerprint", c.kind, c.variant)
		}
	}
	if st, _ := f.post(t, "/api/mint", map[string]string{"secret": "NOPE"}); st != http.StatusBadRequest {
		t.Errorf("a secret not in the matrix: %d", st)
	}
}

// A change by hand is a person's release on one app, as heroku config:set makes.
func TestDriftIsAChangeByHand(t *testing.T) {
	f := newFixture(t)
	before := len(f.w.Heroku.Releases("raxx-console-prod"))
	st, out := f.post(t, "/api/drift", map[string]string{"user": alice, "app": "raxx-console-prod", "key": secretName})
	if st != 200 {
		t.Fatalf("drift: %d %v", st, out)
	}
	v, _ := f.w.Heroku.ConfigVar("raxx-console-prod", secretName)
	if web.Fingerprint(v) != out["fingerprint"] || v == "ghp_currentvalue0000000000000000000000" {
		t.Errorf("prod holds %s, the page said %v", web.Fingerprint(v), out["fingerprint"])
	}
	if other, _ := f.w.Heroku.ConfigVar("raxx-console-staging", secretName); other != "ghp_currentvalue0000000000000000000000" {
		t.Error("staging drifted too")
	}
	rs := f.w.Heroku.Releases("raxx-console-prod")
	if len(rs) != before+1 || rs[len(rs)-1].User != "alice@sandbox.example" {
		t.Errorf("releases: %+v", rs)
	}
	st2, _ := f.state(t, alice)
	if r := st2.Heroku[0].Releases[0]; r.User != "alice@sandbox.example" || !strings.Contains(r.Description, secretName) {
		t.Errorf("the page shows the newest release as %+v", r)
	}
	if st, _ := f.post(t, "/api/drift", map[string]string{"user": alice, "app": "raxx-console-prod", "key": "NOPE"}); st != http.StatusBadRequest {
		t.Errorf("an unknown var: %d", st)
	}
}

// Fault switches make a service or one app misbehave, and show on the page.
func TestFaultSwitches(t *testing.T) {
	f := newFixture(t)
	get := func(app string) int {
		req, _ := http.NewRequest(http.MethodGet, f.w.Heroku.URL+"/apps/"+app+"/config-vars", nil)
		req.Header.Set("Authorization", "Bearer "+f.w.HerokuAPIKey)
		req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st, _ := f.post(t, "/api/fault", map[string]string{"target": "heroku/raxx-console-staging", "kind": web.FaultDown}); st != 200 {
		t.Fatalf("fault: %d", st)
	}
	if get("raxx-console-staging") != 503 || get("raxx-console-prod") != 200 {
		t.Error("the fault did not hit exactly one app")
	}
	st, _ := f.state(t, alice)
	on := map[string]string{}
	for _, x := range st.Faults {
		on[x.Target] = x.Kind
	}
	if on["heroku/raxx-console-staging"] != web.FaultDown || on["heroku"] != "" {
		t.Errorf("faults shown: %v", on)
	}
	f.post(t, "/api/fault", map[string]string{"target": "heroku", "kind": web.FaultRateLimited})
	f.post(t, "/api/fault", map[string]string{"target": "heroku/raxx-console-staging", "kind": ""})
	if get("raxx-console-staging") != 429 || get("raxx-console-prod") != 429 {
		t.Error("a rate limit on Heroku does not reach every app")
	}
	if code, _ := f.post(t, "/api/fault", map[string]string{"target": "heroku/raxx-console-staging", "kind": web.FaultRateLimited}); code != http.StatusBadRequest {
		t.Errorf("a rate limit on one app (Heroku's is per account): %d", code)
	}
}

// Gestures reach the app over Socket Mode; without a link Slack says so.
func TestGesturesNeedTheApp(t *testing.T) {
	f := newFixture(t)
	st, out := f.post(t, "/api/command", map[string]string{"user": alice, "channel": ops, "text": "/rotate list"})
	if st != http.StatusServiceUnavailable || !strings.Contains(out["error"].(string), "dispatch_failed") {
		t.Errorf("no app connected: %d %v", st, out)
	}
	if f.w.Slack.Pending() != 0 {
		t.Error("the command was queued for later: Slack drops it")
	}
	f.ackAll(t)
	if st, out := f.post(t, "/api/command", map[string]string{"user": alice, "channel": ops, "text": "/rotate list"}); st != 200 {
		t.Errorf("with the app: %d %v", st, out)
	}
	if st, out := f.post(t, "/api/command", map[string]string{"user": alice, "channel": "dm", "text": "/rotate help"}); st != 200 {
		t.Errorf("in the DM: %d %v", st, out)
	}
	for text, want := range map[string]string{"hello": "Only slash commands", "/deploy now": "/deploy is not a valid command"} {
		if st, out := f.post(t, "/api/command", map[string]string{"user": alice, "channel": ops, "text": text}); st != 400 || !strings.Contains(out["error"].(string), want) {
			t.Errorf("%q: %d %v", text, st, out)
		}
	}
}

// The Heroku tab lists the account's API keys by fingerprint, old and new: a
// secret's key with where it is current, rotabot's own, and a deleted one marked
// so — never a key.
func TestHerokuKeysByFingerprint(t *testing.T) {
	f := newFixture(t)
	old := f.w.Heroku.AddKey(f.w.Heroku.Email(), []string{"global"}, "deploys")
	made := f.w.Heroku.AddKey(f.w.Heroku.Email(), []string{"global"}, "rotabot: HEROKU_DEPLOY_KEY, 2026-11-29 (run r3)")
	f.w.Infisical.Set("prod", "/github/", "HEROKU_DEPLOY_KEY", old)
	f.w.Infisical.Set("prod", "/github/", "HEROKU_DEPLOY_KEY", made)
	for _, a := range f.w.Heroku.Authorizations() {
		if a.Fingerprint == web.Fingerprint(old) {
			req, _ := http.NewRequest(http.MethodDelete, f.w.Heroku.URL+"/oauth/authorizations/"+a.ID, nil)
			req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
			req.Header.Set("Authorization", "Bearer "+f.w.HerokuAPIKey)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("delete: %v %v", resp, err)
			}
		}
	}
	st, raw := f.state(t, alice)
	got := map[string]web.HerokuKeyState{}
	for _, k := range st.HerokuKeys {
		got[k.Fingerprint] = k
	}
	if k := got[web.Fingerprint(made)]; k.Status != "live" || k.Use != "Infisical /github/HEROKU_DEPLOY_KEY" || k.Description == "" || len(k.ID) != 8 {
		t.Errorf("the new key: %+v", k)
	}
	if k := got[web.Fingerprint(old)]; k.Status != "deleted" {
		t.Errorf("the old key: %+v", k)
	}
	if k := got[web.Fingerprint(f.w.HerokuAPIKey)]; k.Use != "rotabot's HEROKU_API_KEY" {
		t.Errorf("rotabot's key: %+v", k)
	}
	for _, key := range []string{old, made, f.w.HerokuAPIKey} {
		if strings.Contains(raw, key[5:13]) || strings.Contains(raw, key) {
			t.Errorf("the page's state holds a key (%s)", web.Fingerprint(key))
		}
	}
}
