package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/sandbox/demo"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// bot starts the stand-ins and the real bot (over Socket Mode) for one test. At
// the end it checks that no token reached a Slack payload, a log line or the
// bbolt file.
func startBot(t *testing.T) *harness {
	t.Helper()
	h, err := startHarness(context.Background(), t.TempDir(), rotation.WallNow())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.StopBot()
		if !t.Failed() {
			h.assertLeakFree(t, h.World.Slack.AllText(), h.Logs.String(), h.dbBytes(t))
		}
		h.Close()
	})
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) mustCard(t *testing.T, id, word string) sbslack.Message {
	t.Helper()
	m, err := h.WaitCard(id, word)
	if err != nil {
		got, _ := h.Card(id)
		t.Fatalf("%v; the card shows:\n%s\nlogs:\n%s", err, demo.CardText(got), h.Logs.String())
	}
	return m
}

func (h *harness) mustEphemeral(t *testing.T, user string, n int, want string) {
	t.Helper()
	text, err := h.WaitEphemeral(user, n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, want) {
		t.Fatalf("%s was told %q, want %q", demo.Names[user], text, want)
	}
}

// toApproval starts a run as alice and submits the first fresh token.
func (h *harness) toApproval(t *testing.T, id string) sbslack.Message {
	t.Helper()
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	card := h.mustCard(t, id, "Waiting for token")
	ack, err := h.SubmitToken(demo.Alice, card, h.Fresh[0])
	must(t, err)
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("token refused: %s", ack)
	}
	return h.mustCard(t, id, "Waiting for approval")
}

func TestSlackHappyPathToAudit(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	text := demo.CardText(card)
	for _, want := range []string{"fine-grained", "login *raxx-bot*", "new `" + rotation.Fingerprint(h.Fresh[0]) + "`", "expires 20"} {
		if !strings.Contains(text, want) {
			t.Errorf("the approver cannot see %q:\n%s", want, text)
		}
	}
	if b, ok := card.Button(handlers.LabelApprove); !ok || !strings.Contains(string(mustJSON(card.Blocks)), `"confirm"`) {
		t.Fatalf("Approve button %v without a confirm dialog", b)
	}
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != h.Fresh[0] {
			t.Errorf("%s does not hold the new token", dest)
		}
	}
	// The shell-rc operator's DM: the command to pull, never the token, and a Done button.
	var dm sbslack.Message
	must(t, demo.WaitFor("the operator's DM", func() bool {
		dms := h.World.Slack.DMs(demo.Operator)
		if len(dms) > 0 {
			dm = dms[0]
		}
		return len(dms) > 0
	}))
	if !strings.Contains(dm.Text, "infisical secrets get GITHUB_API_READONLY_TOKEN") {
		t.Errorf("DM lacks the pull command: %s", dm.Text)
	}
	// The revoke confirm dialog names the operator who has not pressed Done.
	if !strings.Contains(string(mustJSON(card.Blocks)), "<@"+demo.Operator+"> has not confirmed") {
		t.Error("the revoke dialog does not name the pending operator")
	}
	// Only the operator may press Done.
	must(t, h.Click(demo.Bob, dm, handlers.LabelDone))
	h.mustEphemeral(t, demo.Bob, 1, "Only the operator this message was sent to can press Done")
	must(t, h.Click(demo.Operator, dm, handlers.LabelDone))
	must(t, demo.WaitFor("Done on the card", func() bool {
		m, _ := h.Card("r1")
		return strings.Contains(demo.CardText(m), "confirmed by <@"+demo.Operator+">")
	}))
	card, _ = h.Card("r1")
	must(t, h.Click(demo.Alice, card, handlers.LabelRevokeAPI))
	card = h.mustCard(t, "r1", "Completed")
	if len(card.Buttons()) != 0 {
		t.Errorf("a finished card has buttons: %v", card.Buttons())
	}
	if !h.World.GitHub.Revoked(h.OldToken) {
		t.Error("the old token was not revoked")
	}
	must(t, demo.WaitFor("the audit post", func() bool { return len(h.World.Slack.Messages(demo.AuditChannel)) == 1 }))
	audit := h.World.Slack.Messages(demo.AuditChannel)[0].Text
	for _, want := range []string{"secret.rotate.completed\n", "GITHUB_API_READONLY_TOKEN", "<@U0ALICE>", "approver: <@U0BOB>", "fine-grained", "method: slack",
		"Heroku raxx-console-prod", "old " + rotation.Fingerprint(h.OldToken) + " → new " + rotation.Fingerprint(h.Fresh[0])} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit post lacks %q:\n%s", want, audit)
		}
	}
	if !strings.HasPrefix(audit, "secret.rotate.completed") {
		t.Error("the audit post's first line is not the action")
	}
	// Each step's detail went to the card's thread.
	// (Notes that piled up are joined into one reply: count lines.)
	var notes int
	for _, m := range h.World.Slack.Thread(demo.OpsChannel, card.TS) {
		notes += strings.Count(m.Text, "\n") + 1
	}
	if notes < 6 {
		t.Errorf("only %d thread notes", notes)
	}
	// /rotate status answers with the same word.
	must(t, h.Slash(demo.Bob, "C0ELSEWHERE", "status r1"))
}

func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.Bytes()
}

func TestSlackRollbackAfterPropagation(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	must(t, h.Click(demo.Bob, card, handlers.LabelRollback))
	card = h.mustCard(t, "r1", "Rolled back")
	if len(card.Buttons()) != 0 {
		t.Errorf("a rolled-back card has buttons")
	}
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != h.OldToken {
			t.Errorf("%s does not hold the old token again", dest)
		}
	}
	if _, _, pending := h.World.Infisical.Value("prod", "/rotabot/pending/", "GITHUB_API_READONLY_TOKEN"); pending {
		t.Error("pending value left")
	}
	must(t, demo.WaitFor("the revert DM and the audit post", func() bool {
		dms := h.World.Slack.DMs(demo.Operator)
		return len(dms) == 2 && strings.Contains(dms[1].Text, "rolled back") && len(h.World.Slack.Messages(demo.AuditChannel)) == 1
	}))
	if a := h.World.Slack.Messages(demo.AuditChannel)[0].Text; !strings.HasPrefix(a, "secret.rotate.rolled_back\n") {
		t.Errorf("audit: %s", a)
	}
}

func TestSlackApprovalRefusals(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Alice, card, handlers.LabelApprove))
	h.mustEphemeral(t, demo.Alice, 1, "You started this run, so you may not approve it")
	must(t, h.Click(demo.Mallory, card, handlers.LabelApprove))
	h.mustEphemeral(t, demo.Mallory, 1, "Only members of the ops user group")
	time.Sleep(50 * time.Millisecond)
	if m, _ := h.Card("r1"); !strings.Contains(m.Text, "Waiting for approval") {
		t.Fatal("a refused approval changed the run")
	}
	// Bob submits the token in another run: he may not approve that one either.
	must(t, h.Click(demo.Alice, card, handlers.LabelCancel))
	h.mustCard(t, "r1", "Cancelled")
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	card = h.mustCard(t, "r2", "Waiting for token")
	_, err := h.SubmitToken(demo.Bob, card, h.Fresh[1])
	must(t, err)
	card = h.mustCard(t, "r2", "Waiting for approval")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	h.mustEphemeral(t, demo.Bob, 1, "You submitted the new token, so you may not approve it")
	must(t, h.Click(demo.Operator, card, handlers.LabelApprove))
	h.mustCard(t, "r2", "Waiting for revoke")
}

func TestSlackTokenRefusedInTheModal(t *testing.T) {
	h := startBot(t)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	card := h.mustCard(t, "r1", "Waiting for token")
	cases := []struct{ value, want string }{
		{h.OtherLogin, "This token belongs to someone-else, not raxx-bot"},
		{h.OldToken, "That is the current token: generate a new one on GitHub"},
		{"hello there", "The token contains spaces or line breaks: paste it as one word"},
		{"xoxb-12345-67890-abcdefghijklmnop", "That is a Slack bot token, not a GitHub personal access token"},
		{h.DispatchToken, "This is a classic token but GITHUB_API_READONLY_TOKEN is configured as fine-grained"},
	}
	for _, c := range cases {
		ack, err := h.SubmitToken(demo.Alice, card, c.value)
		must(t, err)
		var a struct {
			ResponseAction string            `json:"response_action"`
			Errors         map[string]string `json:"errors"`
		}
		must(t, json.Unmarshal(ack, &a))
		if a.ResponseAction != "errors" || !strings.Contains(a.Errors[handlers.BlockToken], c.want) {
			t.Errorf("submitting %s…: ack %s, want %q", rotation.Fingerprint(c.value), ack, c.want)
		}
	}
	if m, _ := h.Card("r1"); !strings.Contains(m.Text, "Waiting for token") {
		t.Fatal("a refused token moved the run")
	}
	if _, _, pending := h.World.Infisical.Value("prod", "/rotabot/pending/", "GITHUB_API_READONLY_TOKEN"); pending {
		t.Fatal("a refused token was staged")
	}
}

func TestSlackDryRunWritesNothing(t *testing.T) {
	h := startBot(t)
	before := writes(h)
	must(t, h.Slash(demo.Alice, "C0ELSEWHERE", "GITHUB_API_READONLY_TOKEN --dry-run"))
	h.mustEphemeral(t, demo.Alice, 1, "Dry run — nothing was changed.")
	text := h.World.Slack.Ephemerals(demo.Alice)[0].Text
	for _, want := range []string{"Heroku raxx-console-prod", "GitHub Actions raxx-app/TradeMasterAPI", "shell rc of @olga",
		"expires in 90 days", "resource owner: raxx-app", "Current token: login *raxx-bot*"} {
		if !strings.Contains(text, want) {
			t.Errorf("dry run lacks %q:\n%s", want, text)
		}
	}
	if after := writes(h); after != before {
		t.Fatalf("dry run wrote %d times", after-before)
	}
	if _, ok := h.Card(""); ok {
		t.Fatal("dry run posted a card")
	}
}

// writes counts requests that change something at GitHub, Infisical or Heroku.
func writes(h *harness) int {
	n := 0
	for _, r := range append(append(h.World.Heroku.Requests(), h.World.GitHub.Requests()...), h.World.Infisical.Requests()...) {
		if r.Method != "GET" && !strings.Contains(r.Path, "/auth/") {
			n++
		}
	}
	return n
}

func TestSlackBadCommands(t *testing.T) {
	h := startBot(t)
	cases := []struct {
		user, channel, text, want string
	}{
		{demo.Alice, demo.OpsChannel, "NOPE_TOKEN", "“NOPE_TOKEN” is not a secret in the routing matrix."},
		{demo.Alice, demo.OpsChannel, "", "Which secret? Type /rotate SECRET_NAME."},
		{demo.Alice, demo.OpsChannel, "github_api_readonly_token", "did you mean GITHUB_API_READONLY_TOKEN?"},
		{demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN --force", "the only flag is --dry-run"},
		{demo.Alice, demo.OpsChannel, "<@U0BOB>", "Slack formatting"},
		{demo.Alice, "C0ELSEWHERE", "GITHUB_API_READONLY_TOKEN", "Rotations start in <#C0OPS> only"},
		{demo.Mallory, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN", "Only members of the ops user group"},
	}
	for i, c := range cases {
		n := h.EphemeralCount(c.user)
		must(t, h.Slash(c.user, c.channel, c.text))
		h.mustEphemeral(t, c.user, n+1, c.want)
		if i < 4 && !strings.Contains(h.World.Slack.Ephemerals(c.user)[n].Text, "GITHUB_API_DISPATCH_TOKEN, GITHUB_API_READONLY_TOKEN") {
			t.Errorf("%q: the answer does not list the known secrets", c.text)
		}
	}
	if _, ok := h.Card(""); ok {
		t.Fatal("a bad command started a run")
	}
}

func TestSlackStaleClick(t *testing.T) {
	h := startBot(t)
	old := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, old, handlers.LabelApprove))
	h.mustCard(t, "r1", "Waiting for revoke")
	// Carol's Slack still shows the card as it was: she presses Cancel on it.
	must(t, h.Click(demo.Operator, old, handlers.LabelCancel))
	h.mustEphemeral(t, demo.Operator, 1, "This run has moved on: r1 is now Waiting for revoke. Nothing was changed.")
	if m, _ := h.Card("r1"); !strings.Contains(m.Text, "Waiting for revoke") {
		t.Fatal("a stale click changed the run")
	}
}

func TestSlackRedeliveredEnvelopeHandledOnce(t *testing.T) {
	h := startBot(t)
	id, err := h.World.Slack.SendSlashCommand(sbslack.SlashCommand{User: demo.Alice, Channel: demo.OpsChannel, Command: "/rotate", Text: "GITHUB_API_READONLY_TOKEN"})
	must(t, err)
	_, err = h.World.Slack.WaitAck(id, 5*time.Second)
	must(t, err)
	must(t, h.World.Slack.Redeliver(id, "timeout"))
	_, err = h.World.Slack.WaitAck(id, 5*time.Second)
	must(t, err)
	h.mustCard(t, "r1", "Waiting for token")
	time.Sleep(100 * time.Millisecond)
	if _, ok := h.Card("r2"); ok || h.EphemeralCount(demo.Alice) != 0 {
		t.Fatal("the redelivered command was handled twice")
	}
}

func TestSlackSecondRotateLinksToTheOpenRun(t *testing.T) {
	h := startBot(t)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	h.mustCard(t, "r1", "Waiting for token")
	must(t, h.Slash(demo.Bob, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	h.mustEphemeral(t, demo.Bob, 1, "GITHUB_API_READONLY_TOKEN already has an open run, *r1* (Waiting for token): <https://")
	if _, ok := h.Card("r2"); ok {
		t.Fatal("a second run started")
	}
}

func TestSlackDisconnectMidRun(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	must(t, h.World.Slack.Disconnect("refresh_requested"))
	must(t, h.World.Slack.WaitConnects(2, 10*time.Second))
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	h.World.Slack.DropLink()
	must(t, h.World.Slack.WaitConnects(3, 10*time.Second))
	must(t, h.Click(demo.Bob, card, handlers.LabelRevokeAPI))
	h.mustCard(t, "r1", "Completed")
}

func TestSlackAppHome(t *testing.T) {
	h := startBot(t)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	h.mustCard(t, "r1", "Waiting for token")
	_, err := h.World.Slack.SendAppHomeOpened(demo.Bob)
	must(t, err)
	var home sbslack.View
	must(t, demo.WaitFor("App Home", func() bool {
		var ok bool
		home, ok = h.World.Slack.HomeView(demo.Bob)
		return ok
	}))
	text := home.Content()
	for _, want := range []string{"r1", "GITHUB_API_READONLY_TOKEN", "Waiting for token", "GITHUB_API_DISPATCH_TOKEN"} {
		if !strings.Contains(text, want) {
			t.Errorf("App Home lacks %q:\n%s", want, text)
		}
	}
}

func TestSlackStatusListHistory(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Alice, card, handlers.LabelCancel))
	h.mustCard(t, "r1", "Cancelled")
	for i, c := range []struct{ text, want string }{
		{"status r1", "r1: Cancelled"},
		{"list", "No open runs."},
		{"history GITHUB_API_READONLY_TOKEN", "*r1* GITHUB_API_READONLY_TOKEN — Cancelled"},
		{"help", "*Usage*"},
	} {
		must(t, h.Slash(demo.Bob, "C0ELSEWHERE", c.text))
		h.mustEphemeral(t, demo.Bob, i+1, c.want)
	}
}

// A shell-rc operator may be named by the DM channel the bot writes to (the SOP's
// D0AJ7K184TV): the person in that DM presses Done there, and it counts.
func TestSlackOperatorNamedByDMChannelPressesDone(t *testing.T) {
	h := startBot(t)
	const secret, dmChannel = "GITHUB_API_DISPATCH_TOKEN", "D0AJ7K184TV"
	operator := "U" + dmChannel[1:] // the sandbox's person at the other end of that DM
	fresh := "ghp_" + sandbox.RandomHex(18)
	h.Track(fresh)
	h.World.GitHub.AddToken(sbgithub.TokenSpec{Value: fresh, Login: "raxx-bot", Expires: rotation.WallNow().Add(90 * 24 * time.Hour),
		Scopes: []string{"read:org", "repo:status", "workflow"}, Repos: []string{"raxx-app/TradeMasterAPI"}})
	must(t, h.Slash(demo.Alice, demo.OpsChannel, secret))
	card := h.mustCard(t, "r1", "Waiting for token")
	ack, err := h.SubmitToken(demo.Alice, card, fresh)
	must(t, err)
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("token refused: %s", ack)
	}
	card = h.mustCard(t, "r1", "Waiting for approval")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	if text := demo.CardText(card); !strings.Contains(text, "shell rc of the operator of DM "+dmChannel) || strings.Contains(text, "<@"+dmChannel+">") {
		t.Errorf("the card does not name the DM operator readably:\n%s", text)
	}
	var dm sbslack.Message
	must(t, demo.WaitFor("the DM in "+dmChannel, func() bool {
		msgs := h.World.Slack.Messages(dmChannel)
		if len(msgs) > 0 {
			dm = msgs[0]
		}
		return len(msgs) > 0
	}))
	must(t, h.Click(operator, dm, handlers.LabelDone))
	must(t, demo.WaitFor("Done on the card", func() bool {
		m, _ := h.Card("r1")
		return strings.Contains(demo.CardText(m), "confirmed by <@"+operator+">")
	}))
	h.mustEphemeral(t, operator, 1, "Thanks — recorded that your shell rc has the new value.")
	h.assertLeakFree(t, h.World.Slack.AllText(), h.Logs.String(), h.dbBytes(t))
}
