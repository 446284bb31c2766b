package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
)

// What the sandbox page reads: each stand-in's state, as a person would see it
// in the service's own settings pages.
func TestStateSnapshots(t *testing.T) {
	g := newGitHubStandIn(t)
	g.Revoke(ghOther)
	tokens := g.Tokens()
	if len(tokens) != 4 || tokens[0].Value != ghFine || tokens[1].Value != ghClassic || tokens[2].Value != ghOther || tokens[3].Value != ghAdmin {
		t.Fatalf("tokens not in the order they were added: %+v", tokens)
	}
	if !tokens[2].Revoked || tokens[0].Revoked || !tokens[3].Admin || tokens[0].Admin || tokens[0].Kind != "fine-grained" || tokens[1].Kind != "classic" {
		t.Errorf("token states: %+v", tokens)
	}
	tokens[0].Repos[0] = "changed"
	if g.Tokens()[0].Repos[0] != "raxx-app/TradeMasterAPI" {
		t.Error("Tokens shares its slices with the stand-in")
	}
	if s := g.ActionsSecrets(); len(s) != 0 {
		t.Errorf("Actions secrets before any write: %+v", s)
	}

	i := sandbox.NewInfisical("id", "secret", "proj")
	t.Cleanup(i.Close)
	i.Set("prod", "/b/", "Y", "1")
	i.Set("prod", "/a/", "X", "1")
	i.Set("prod", "/a/", "X", "2")
	if got := i.Secrets(); len(got) != 2 || got[0] != (sandbox.SecretRef{Env: "prod", Path: "/a", Key: "X"}) || got[1].Path != "/b" {
		t.Errorf("Infisical secrets: %+v", got)
	}

	h := sandbox.NewHeroku("key")
	t.Cleanup(h.Close)
	h.AddApp("zeta", map[string]string{"A": "1"})
	h.AddApp("alpha", nil)
	if got := h.Apps(); len(got) != 2 || got[0] != "alpha" || got[1] != "zeta" {
		t.Errorf("apps: %v", got)
	}
	vars := h.ConfigVars("zeta")
	vars["A"] = "changed"
	if v, _ := h.ConfigVar("zeta", "A"); v != "1" {
		t.Error("ConfigVars shares its map with the stand-in")
	}
	if h.ConfigVars("nope") != nil {
		t.Error("an unknown app has config vars")
	}

	s := newSlackSandbox(t)
	if _, ok := s.DMOf("U1"); ok {
		t.Error("a DM is open before anyone opened it")
	}
	s.AddDM("D0AJ7K184TV", "U1")
	if id, ok := s.DMOf("U1"); !ok || id != "D0AJ7K184TV" {
		t.Errorf("DMOf after AddDM: %q %v", id, ok)
	}
	api := slackClient(s, slackTestBot, slackTestApp)
	ch, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
	slackMust(t, err)
	if ch.ID != "D0AJ7K184TV" {
		t.Errorf("conversations.open gave %s, not the DM the matrix names", ch.ID)
	}
	_, _, err = api.PostMessage("D0AJ7K184TV", slack.MsgOptionText("hi", false))
	slackMust(t, err)
	if dms := s.DMs("U1"); len(dms) != 1 {
		t.Errorf("%d messages in the DM", len(dms))
	}
}

// A person closing a modal closes its stack; Slack tells the app only when the
// view asked for notify_on_close.
func TestSlackCloseView(t *testing.T) {
	s := newSlackSandbox(t)
	b := runSlackBot(t, s)
	slackMust(t, s.WaitConnected(1, slackWait))
	api := slackClient(s, slackTestBot, slackTestApp)
	open := func(notify bool) string {
		env, err := s.SendSlashCommand(sandbox.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: "x"})
		slackMust(t, err)
		e := b.next(t)
		b.Ack(*e.Request)
		m := slackTokenModal()
		m.NotifyOnClose = notify
		v, err := api.OpenView(s.TriggerID(env), m)
		slackMust(t, err)
		return v.ID
	}
	quiet := open(false)
	if id, err := s.CloseView("U2", quiet); err == nil || id != "" {
		t.Error("someone else closed the modal")
	}
	id, err := s.CloseView("U1", quiet)
	slackMust(t, err)
	if v, _ := s.ViewByID(quiet); !v.Closed || id != "" {
		t.Errorf("closed=%v, envelope %q for a view without notify_on_close", v.Closed, id)
	}
	loud := open(true)
	id, err = s.CloseView("U1", loud)
	slackMust(t, err)
	if id == "" {
		t.Fatal("no view_closed envelope")
	}
	e := b.next(t)
	cb, ok := e.Data.(slack.InteractionCallback)
	if e.Type != socketmode.EventTypeInteractive || !ok || cb.Type != slack.InteractionTypeViewClosed || cb.View.ID != loud || cb.User.ID != "U1" {
		t.Errorf("got %s %+v", e.Type, e.Data)
	}
}

// The console stand-in answers each verify check as the matrix expects it.
func TestConsoleGuards(t *testing.T) {
	c := sandbox.NewConsole("session=abc")
	t.Cleanup(c.Close)
	c.Guard("/health", http.StatusNoContent)
	c.Guard("/api/deploys", http.StatusOK, "X-Ops-Token", "Cookie")
	get := func(path string, headers ...string) int {
		req, _ := http.NewRequest(http.MethodGet, c.URL+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path    string
		headers []string
		want    int
	}{
		{"/api/status/builds", nil, 401},
		{"/api/status/builds", []string{"Cookie", "session=abc"}, 200},
		{"/health", nil, 204},
		{"/api/deploys", []string{"Cookie", "session=abc"}, 401},
		{"/api/deploys", []string{"Cookie", "session=abc", "X-Ops-Token", "session=abc"}, 200},
		{"/elsewhere", []string{"Cookie", "session=abc"}, 404},
	} {
		if got := get(c.path, c.headers...); got != c.want {
			t.Errorf("GET %s %v: %d, want %d", c.path, c.headers, got, c.want)
		}
	}
}

// A workload probe the stand-in does not model answers as GitHub would: 200 to a
// token that sees the repository, 404 to one that does not.
func TestGitHubProbeUnderARepository(t *testing.T) {
	g := newGitHubStandIn(t)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/repos/raxx-app/TradeMasterAPI/contents/README.md", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		msg, _ := body["message"].(string)
		return resp.StatusCode, msg
	}
	if code, _ := get(ghFine); code != 200 {
		t.Errorf("a token that sees the repository: %d", code)
	}
	if code, msg := get(ghOther); code != 404 || msg != "Not Found" {
		t.Errorf("a token that does not: %d %q", code, msg)
	}
	if code, msg := get("ghp_unknown"); code != 401 || msg != "Bad credentials" {
		t.Errorf("an unknown token: %d %q", code, msg)
	}
}

// TestTheStandInsKeepTheBotsTime: the stand-ins' clock and the bot's move together
// (both by ROTABOT_CLOCK_SHIFT in a clockshift build), so a token the stand-ins
// date is judged on the same day by the bot.
func TestTheStandInsKeepTheBotsTime(t *testing.T) {
	before := rotation.WallNow()
	got := sandbox.WallNow()
	after := rotation.WallNow()
	if got.Before(before) || got.After(after) {
		t.Errorf("sandbox.WallNow() = %v, rotation.WallNow() read %v and %v around it", got, before, after)
	}
}
