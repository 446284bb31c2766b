package slack_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

const (
	slackTestBot = "xoxb-sandbox-bot-token-0123456789"
	slackTestApp = "xapp-sandbox-app-token-0123456789"
	slackWait    = 5 * time.Second // an upper bound for things that happen at once
)

func newSlackSandbox(t *testing.T) *sbslack.Slack {
	t.Helper()
	s := sbslack.New(slackTestBot, slackTestApp)
	t.Cleanup(s.Close)
	s.AddUser("U1", "alice")
	s.AddUser("U2", "bob")
	s.AddUsergroup("S0OPS", "U1", "U2")
	s.AddChannel("C0OPS", "ops")
	return s
}

func slackClient(s *sbslack.Slack, bot, app string) *slack.Client {
	return slack.New(bot, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(app))
}

// slackBot runs a socketmode client against s and hands the test every envelope-carrying
// event; it stops (and waits for RunContext to return) when the test ends.
type slackBot struct {
	*socketmode.Client
	events chan socketmode.Event
}

func runSlackBot(t *testing.T, s *sbslack.Slack) *slackBot {
	t.Helper()
	b := &slackBot{Client: socketmode.New(slackClient(s, slackTestBot, slackTestApp)), events: make(chan socketmode.Event, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.RunContext(ctx) }()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-b.Client.Events:
				switch e.Type {
				case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
					b.events <- e
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(slackWait):
			t.Error("socketmode client did not stop")
		}
	})
	return b
}

func (b *slackBot) next(t *testing.T) socketmode.Event {
	t.Helper()
	select {
	case e := <-b.events:
		return e
	case <-time.After(slackWait):
		t.Fatal("no Socket Mode event arrived")
		return socketmode.Event{}
	}
}

func slackMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func slackErrCode(err error) string {
	var e slack.SlackErrorResponse
	if errors.As(err, &e) {
		return e.Err
	}
	if err == nil {
		return ""
	}
	return "not a Slack error: " + err.Error()
}

func slackCardBlocks() []slack.Block {
	return []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "Rotation r1", false, false)),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*GH_TOKEN* Waiting for approval", false, false), nil, nil),
		slack.NewActionBlock("",
			slack.NewButtonBlockElement("approve", "r1", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)),
			slack.NewButtonBlockElement("cancel", "r1", slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))),
	}
}

func slackTokenModal() slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(nil, "value")
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Submit new token", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Submit", false, false),
		CallbackID:      "submit_token",
		PrivateMetadata: "r1",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("token", slack.NewTextBlockObject(slack.PlainTextType, "New token", false, false), nil, input),
		}},
	}
}

func TestSlackWebAPI(t *testing.T) {
	s := newSlackSandbox(t)
	api := slackClient(s, slackTestBot, slackTestApp)

	auth, err := api.AuthTest()
	slackMust(t, err)
	if auth.UserID != s.BotUserID || auth.TeamID != s.TeamID || auth.BotID != s.BotID {
		t.Errorf("auth.test = %+v", auth)
	}

	ch, ts, err := api.PostMessage("C0OPS", slack.MsgOptionText("Rotation r1", false), slack.MsgOptionBlocks(slackCardBlocks()...))
	slackMust(t, err)
	if ch != "C0OPS" || ts == "" {
		t.Fatalf("postMessage = %q %q", ch, ts)
	}
	card, ok := s.Message("C0OPS", ts)
	if !ok || card.Text != "Rotation r1" || len(card.Blocks) != 3 {
		t.Fatalf("recorded card = %+v", card)
	}
	approve, ok := card.Button("Approve")
	if !ok || approve.ActionID != "approve" || approve.Value != "r1" || approve.BlockID == "" {
		t.Errorf("Approve button = %+v (Slack fills in a missing block_id)", approve)
	}
	if !strings.Contains(card.Content(), "Waiting for approval") {
		t.Errorf("content %q", card.Content())
	}

	_, rts, err := api.PostMessage("C0OPS", slack.MsgOptionText("step 1 done", false), slack.MsgOptionTS(ts))
	slackMust(t, err)
	if th := s.Thread("C0OPS", ts); len(th) != 1 || th[0].TS != rts || th[0].Text != "step 1 done" {
		t.Errorf("thread = %+v", th)
	}

	_, _, _, err = api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("Rotation r1 (v2)", false))
	slackMust(t, err)
	card, _ = s.Message("C0OPS", ts)
	if card.Text != "Rotation r1 (v2)" || len(card.Blocks) != 3 || len(card.History) != 1 || card.History[0].Text != "Rotation r1" {
		t.Errorf("after a text-only update: text %q, %d blocks (kept), history %d", card.Text, len(card.Blocks), len(card.History))
	}
	_, _, _, err = api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("Completed", false), slack.MsgOptionBlocks(slackCardBlocks()[:2]...))
	slackMust(t, err)
	if card, _ = s.Message("C0OPS", ts); len(card.Buttons()) != 0 || len(card.History) != 2 {
		t.Errorf("after a blocks update: %d buttons, history %d", len(card.Buttons()), len(card.History))
	}

	ets, err := api.PostEphemeral("C0OPS", "U1", slack.MsgOptionText("this run has moved on", false))
	slackMust(t, err)
	if e := s.Ephemerals("U1"); ets == "" || len(e) != 1 || e[0].Channel != "C0OPS" || e[0].Text != "this run has moved on" {
		t.Errorf("ephemerals = %+v (ts %q)", e, ets)
	}

	link, err := api.GetPermalink(&slack.PermalinkParameters{Channel: "C0OPS", Ts: ts})
	slackMust(t, err)
	if !strings.HasPrefix(link, "https://") || !strings.Contains(link, "/archives/C0OPS/p"+strings.ReplaceAll(ts, ".", "")) {
		t.Errorf("permalink %q", link)
	}

	dm, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
	slackMust(t, err)
	if !strings.HasPrefix(dm.ID, "D") {
		t.Fatalf("DM id %q", dm.ID)
	}
	_, _, err = api.PostMessage(dm.ID, slack.MsgOptionText("press Done", false))
	slackMust(t, err)
	dch, _, err := api.PostMessage("U2", slack.MsgOptionText("hello bob", false)) // a user id posts to the DM
	slackMust(t, err)
	if d := s.DMs("U1"); len(d) != 1 || d[0].Text != "press Done" || d[0].Channel != dm.ID {
		t.Errorf("DMs(U1) = %+v", d)
	}
	if d := s.DMs("U2"); len(d) != 1 || d[0].Channel != dch {
		t.Errorf("DMs(U2) = %+v, channel %q", d, dch)
	}

	members, err := api.GetUserGroupMembers("S0OPS")
	slackMust(t, err)
	if strings.Join(members, ",") != "U1,U2" {
		t.Errorf("members %v", members)
	}
	u, err := api.GetUserInfo("U2")
	slackMust(t, err)
	if u.ID != "U2" || u.Name != "bob" {
		t.Errorf("users.info = %+v", u)
	}

	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: slackCardBlocks()[:2]}}
	resp, err := api.PublishView("U1", home, "")
	slackMust(t, err)
	hv, ok := s.HomeView("U1")
	if !ok || hv.ID != resp.ID || !strings.Contains(hv.Content(), "GH_TOKEN") {
		t.Errorf("home view = %+v, reply id %q", hv, resp.ID)
	}
	if _, err := api.PublishView("U1", home, "stale-hash"); slackErrCode(err) != "hash_conflict" {
		t.Errorf("publish with a stale hash: %v", err)
	}

	slackCheckWire(t, s)
}

// slackCheckWire checks what slack-go put on the wire, per method, and what AllText
// and Payloads make of it.
func slackCheckWire(t *testing.T, s *sbslack.Slack) {
	t.Helper()
	// What slack-go puts on the wire, per method.
	for _, r := range s.Requests() {
		ct := r.Header.Get("Content-Type")
		switch r.Route {
		case "POST /api/chat.postMessage", "POST /api/chat.update", "POST /api/chat.postEphemeral",
			"POST /api/conversations.open", "POST /api/usergroups.users.list", "POST /api/users.info", "POST /api/auth.test":
			if ct != "application/x-www-form-urlencoded" || !strings.Contains(string(r.Body), "token="+slackTestBot) || r.Header.Get("Authorization") != "" {
				t.Errorf("%s: content-type %q, token form field %v", r.Route, ct, strings.Contains(string(r.Body), "token="))
			}
		case "POST /api/views.publish":
			if ct != "application/json" || r.Header.Get("Authorization") != "Bearer "+slackTestBot {
				t.Errorf("%s: content-type %q, no bearer token", r.Route, ct)
			}
		case "GET /api/chat.getPermalink":
			if r.Header.Get("Authorization") != "Bearer "+slackTestBot || !strings.Contains(r.Query, "message_ts=") {
				t.Errorf("%s: no bearer token or query", r.Route)
			}
		default:
			t.Errorf("unexpected route %s", r.Route)
		}
	}

	all := s.AllText()
	if !strings.Contains(all, "this run has moved on") || !strings.Contains(all, "Waiting for approval") {
		t.Error("AllText misses what the bot sent")
	}
	if strings.Contains(all, slackTestBot) {
		t.Error("AllText holds the bot's own token (the token field must be left out)")
	}
	withBody := 0
	for _, r := range s.Requests() {
		if len(r.Body) > 0 {
			withBody++
		}
	}
	if len(s.Payloads()) != withBody {
		t.Errorf("%d payloads for %d request bodies", len(s.Payloads()), withBody)
	}
}

func TestSlackErrors(t *testing.T) {
	s := newSlackSandbox(t)
	api := slackClient(s, slackTestBot, slackTestApp)

	bad := slackClient(s, "xoxb-wrong", slackTestApp)
	if _, err := bad.AuthTest(); slackErrCode(err) != "invalid_auth" {
		t.Errorf("auth.test with a wrong token: %v", err)
	}
	if _, _, err := bad.PostMessage("C0OPS", slack.MsgOptionText("x", false)); slackErrCode(err) != "invalid_auth" {
		t.Errorf("postMessage with a wrong token: %v", err)
	}
	if _, err := bad.OpenView("trigger", slackTokenModal()); slackErrCode(err) != "invalid_auth" {
		t.Errorf("views.open with a wrong token: %v", err)
	}
	appAsBot := slackClient(s, slackTestApp, slackTestApp)
	if _, err := appAsBot.AuthTest(); slackErrCode(err) != "not_allowed_token_type" {
		t.Errorf("auth.test with the app token: %v", err)
	}

	_, ts, err := api.PostMessage("C0OPS", slack.MsgOptionText("card", false))
	slackMust(t, err)
	s.Fail("POST /api/chat.update", &standin.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 1})
	_, _, _, err = api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("v2", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("429 gave %v, want *slack.RateLimitedError of 1s", err)
	}
	_, _, _, err = api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("v2", false))
	slackMust(t, err)
	if s.Count("POST /api/chat.update", true) != 1 || s.Count("POST /api/chat.update", false) != 2 {
		t.Error("chat.update requests not logged")
	}

	s.FailWith("POST /api/chat.postMessage", "channel_not_found", 1)
	if _, _, err := api.PostMessage("C0OPS", slack.MsgOptionText("x", false)); slackErrCode(err) != "channel_not_found" {
		t.Errorf("FailWith: %v", err)
	}
	if _, _, err := api.PostMessage("C0NOPE", slack.MsgOptionText("x", false)); slackErrCode(err) != "channel_not_found" {
		t.Errorf("unknown channel: %v", err)
	}
	if _, _, _, err := api.UpdateMessage("C0OPS", "1.000000", slack.MsgOptionText("x", false)); slackErrCode(err) != "message_not_found" {
		t.Errorf("update of a missing message: %v", err)
	}
	if _, err := api.PostEphemeral("C0OPS", "U404", slack.MsgOptionText("x", false)); slackErrCode(err) != "user_not_found" {
		t.Errorf("ephemeral to an unknown user: %v", err)
	}
	if _, err := api.GetUserGroupMembers("S404"); slackErrCode(err) != "no_such_subteam" {
		t.Errorf("unknown user group: %v", err)
	}

	long := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("x", 151), false, false))
	if _, _, err := api.PostMessage("C0OPS", slack.MsgOptionBlocks(long)); slackErrCode(err) != "invalid_blocks" {
		t.Errorf("151-character header: %v", err)
	}
	empty := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "", false, false), nil, nil)
	if _, _, err := api.PostMessage("C0OPS", slack.MsgOptionBlocks(empty)); slackErrCode(err) != "invalid_blocks" {
		t.Errorf("empty section text: %v", err)
	}

	if _, err := api.OpenView("made-up-trigger", slackTokenModal()); slackErrCode(err) != "invalid_trigger_id" {
		t.Errorf("views.open with an unknown trigger: %v", err)
	}
}

func TestSlackSocketMode(t *testing.T) {
	s := newSlackSandbox(t)

	// Sent before any client connects: queued until one does.
	env, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: "GH_TOKEN"})
	slackMust(t, err)
	if s.Pending() != 1 {
		t.Fatalf("pending = %d", s.Pending())
	}
	bot := runSlackBot(t, s)
	slackMust(t, s.WaitConnected(1, slackWait))

	e := bot.next(t)
	cmd, ok := e.Data.(slack.SlashCommand)
	if e.Type != socketmode.EventTypeSlashCommand || !ok || e.Request.EnvelopeID != env {
		t.Fatalf("got %s %T envelope %q", e.Type, e.Data, e.Request.EnvelopeID)
	}
	if cmd.Command != "/rotate" || cmd.Text != "GH_TOKEN" || cmd.UserID != "U1" || cmd.UserName != "alice" ||
		cmd.ChannelID != "C0OPS" || cmd.ChannelName != "ops" || cmd.TeamID != s.TeamID || cmd.TriggerID == "" ||
		!strings.HasPrefix(cmd.ResponseURL, s.URL+"/response/") || cmd.TriggerID != s.TriggerID(env) {
		t.Errorf("slash command = %+v", cmd)
	}
	slackMust(t, bot.Ack(*e.Request))
	p, err := s.WaitAck(env, slackWait)
	slackMust(t, err)
	if p != nil {
		t.Errorf("ack payload = %s, want none", p)
	}

	// The command's trigger opens one modal; its response_url answers ephemerally.
	view, err := bot.OpenView(cmd.TriggerID, slackTokenModal())
	slackMust(t, err)
	if _, err := bot.OpenView(cmd.TriggerID, slackTokenModal()); slackErrCode(err) != "exchanged_trigger_id" {
		t.Errorf("second views.open with one trigger: %v", err)
	}
	if vs := s.Views(); len(vs) != 1 || vs[0].ID != view.ID || vs[0].User != "U1" || vs[0].CallbackID != "submit_token" || vs[0].Title != "Submit new token" {
		t.Errorf("views = %+v", vs)
	}
	_, _, err = bot.PostMessage("", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("usage: /rotate SECRET", false))
	slackMust(t, err)
	if e := s.Ephemerals("U1"); len(e) != 1 || e[0].Text != "usage: /rotate SECRET" || e[0].Method != "response_url" {
		t.Errorf("response_url ephemeral = %+v", e)
	}

	// A click on the card's button.
	_, ts, err := bot.PostMessage("C0OPS", slack.MsgOptionText("card", false), slack.MsgOptionBlocks(slackCardBlocks()...))
	slackMust(t, err)
	card, _ := s.Message("C0OPS", ts)
	env, err = s.Click("U2", card, "Approve")
	slackMust(t, err)
	e = bot.next(t)
	cb, _ := e.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("click = %s %+v", e.Type, cb)
	}
	act := cb.ActionCallback.BlockActions[0]
	if act.ActionID != "approve" || act.Value != "r1" || act.BlockID == "" || cb.User.ID != "U2" || cb.User.Name != "bob" ||
		cb.Container.MessageTs != ts || cb.Container.ChannelID != "C0OPS" || cb.Channel.ID != "C0OPS" ||
		cb.Message.Timestamp != ts || cb.TriggerID == "" || cb.ResponseURL == "" {
		t.Errorf("block action = %+v / %+v", cb, act)
	}
	slackMust(t, bot.Ack(*e.Request))
	_, err = s.WaitAck(env, slackWait)
	slackMust(t, err)
	_, _, err = bot.PostMessage("", slack.MsgOptionReplaceOriginal(cb.ResponseURL), slack.MsgOptionText("approved", false))
	slackMust(t, err)
	if card, _ = s.Message("C0OPS", ts); card.Text != "approved" || len(card.History) != 1 {
		t.Errorf("replace_original: %q, history %d", card.Text, len(card.History))
	}

	slackSubmitTheModal(t, s, bot, view.ID)

	// An Events API event.
	env, err = s.SendAppHomeOpened("U2")
	slackMust(t, err)
	e = bot.next(t)
	ev, _ := e.Data.(slackevents.EventsAPIEvent)
	home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if e.Type != socketmode.EventTypeEventsAPI || !ok || home.User != "U2" || home.Tab != "home" {
		t.Fatalf("event = %s %+v", e.Type, ev)
	}
	slackMust(t, bot.Ack(*e.Request))
	_, err = s.WaitAck(env, slackWait)
	slackMust(t, err)

	slackAnswerInTheAck(t, s, bot)

	// The acks the bot wrote count as what it sent.
	if !strings.Contains(s.AllText(), "That is the current token") {
		t.Error("AllText misses the acks")
	}
}

// slackSubmitTheModal submits the token modal twice: refused with field errors,
// then accepted, which closes it.
func slackSubmitTheModal(t *testing.T, s *sbslack.Slack, bot *slackBot, viewID string) {
	t.Helper()
	env, err := s.SendViewSubmission(sbslack.ViewSubmission{User: "U1", ViewID: viewID, Values: map[string]map[string]string{"token": {"value": "ghp_not-really"}}})
	slackMust(t, err)
	e := bot.next(t)
	cb, _ := e.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeViewSubmission || cb.View.CallbackID != "submit_token" || cb.View.PrivateMetadata != "r1" ||
		cb.View.ID != viewID || cb.View.State.Values["token"]["value"].Value != "ghp_not-really" || cb.User.ID != "U1" {
		t.Errorf("view submission = %+v", cb)
	}
	slackMust(t, bot.Ack(*e.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{"token": "That is the current token"})))
	p, err := s.WaitAck(env, slackWait)
	slackMust(t, err)
	if !strings.Contains(string(p), `"response_action":"errors"`) {
		t.Errorf("ack payload %s", p)
	}
	if v, _ := s.ViewByID(viewID); v.Closed || v.Errors["token"] != "That is the current token" {
		t.Errorf("after errors: closed %v, errors %v", v.Closed, v.Errors)
	}
	env, err = s.SendViewSubmission(sbslack.ViewSubmission{User: "U1", ViewID: viewID, Values: map[string]map[string]string{"token": {"value": "ghp_second"}}})
	slackMust(t, err)
	e = bot.next(t)
	slackMust(t, bot.Ack(*e.Request))
	_, err = s.WaitAck(env, slackWait)
	slackMust(t, err)
	if v, _ := s.ViewByID(viewID); !v.Closed {
		t.Error("modal still open after a plain ack")
	}
	if _, err := s.SendViewSubmission(sbslack.ViewSubmission{User: "U1", ViewID: viewID}); err == nil {
		t.Error("submitted a closed modal")
	}
}

// slackAnswerInTheAck sends a slash command the bot answers in its ack, then clicks
// the button of the ephemeral message that answer made.
func slackAnswerInTheAck(t *testing.T, s *sbslack.Slack, bot *slackBot) {
	t.Helper()
	env, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U2", Channel: "C0OPS", Command: "/rotate", Text: "nope"})
	slackMust(t, err)
	e := bot.next(t)
	slackMust(t, bot.Ack(*e.Request, map[string]any{"text": "Unknown input", "blocks": slackCardBlocks()}))
	_, err = s.WaitAck(env, slackWait)
	slackMust(t, err)
	eph := s.Ephemerals("U2")
	if len(eph) != 1 || eph[0].Text != "Unknown input" || eph[0].Method != "ack" || eph[0].Channel != "C0OPS" {
		t.Fatalf("ack-payload answer = %+v", eph)
	}
	_, err = s.Click("U2", eph[0], "Cancel")
	slackMust(t, err)
	e = bot.next(t)
	cb, _ := e.Data.(slack.InteractionCallback)
	if !cb.Container.IsEphemeral || cb.Container.MessageTs != eph[0].TS || cb.ActionCallback.BlockActions[0].ActionID != "cancel" {
		t.Errorf("click on an ephemeral = %+v", cb.Container)
	}
	_, _, err = bot.PostMessage("", slack.MsgOptionReplaceOriginal(cb.ResponseURL), slack.MsgOptionText("cancelled", false))
	slackMust(t, err)
	if eph = s.Ephemerals("U2"); eph[0].Text != "cancelled" {
		t.Errorf("replace_original on an ephemeral: %q", eph[0].Text)
	}
}

func TestSlackSocketModeReconnects(t *testing.T) {
	s := newSlackSandbox(t)
	s.SetPingInterval(20 * time.Millisecond)
	s.Fail("GET /link/", &standin.Fault{Status: http.StatusServiceUnavailable, Times: 1}) // the first dial fails
	bot := runSlackBot(t, s)
	slackMust(t, s.WaitConnects(1, slackWait))
	if n := s.Count("POST /api/apps.connections.open", true); n != 2 {
		t.Errorf("apps.connections.open called %d times, want 2 (one per dial)", n)
	}
	slackMust(t, s.WaitPongs(2, slackWait)) // the client answers PINGs

	roundTrip := func(text string) {
		t.Helper()
		env, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: text})
		slackMust(t, err)
		e := bot.next(t)
		if cmd, _ := e.Data.(slack.SlashCommand); cmd.Text != text {
			t.Fatalf("got %q, want %q", cmd.Text, text)
		}
		slackMust(t, bot.Ack(*e.Request))
		_, err = s.WaitAck(env, slackWait)
		slackMust(t, err)
	}
	roundTrip("first")

	slackMust(t, s.Disconnect("refresh_requested"))
	slackMust(t, s.WaitConnects(2, slackWait))
	if n := s.Count("POST /api/apps.connections.open", true); n != 3 {
		t.Errorf("apps.connections.open called %d times after a disconnect, want 3", n)
	}
	slackMust(t, s.WaitConnected(1, slackWait))
	roundTrip("after disconnect")
	// The old link closes a moment after the client reconnects.
	deadline := time.Now().Add(slackWait)
	for s.Connections() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}

	if n := s.DropLink(); n != 1 {
		t.Errorf("dropped %d links", n)
	}
	slackMust(t, s.WaitConnects(3, slackWait))
	if n := s.Count("POST /api/apps.connections.open", true); n != 4 {
		t.Errorf("apps.connections.open called %d times after a dropped link, want 4", n)
	}
	roundTrip("after drop")
}

func TestSlackRedelivery(t *testing.T) {
	s := newSlackSandbox(t)
	bot := runSlackBot(t, s)
	slackMust(t, s.WaitConnected(1, slackWait))

	env, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: "GH_TOKEN"})
	slackMust(t, err)
	first := bot.next(t)
	slackMust(t, bot.Ack(*first.Request))
	_, err = s.WaitAck(env, slackWait)
	slackMust(t, err)

	slackMust(t, s.Redeliver(env, "timeout"))
	again := bot.next(t)
	if again.Request.EnvelopeID != env || again.Request.RetryAttempt != 1 || again.Request.RetryReason != "timeout" {
		t.Errorf("redelivery = %+v", again.Request)
	}
	if a, b := first.Data.(slack.SlashCommand), again.Data.(slack.SlashCommand); a.TriggerID != b.TriggerID || a.Text != b.Text {
		t.Error("a redelivered envelope must carry the same payload")
	}
	slackMust(t, bot.Ack(*again.Request))
	_, err = s.WaitAck(env, slackWait)
	slackMust(t, err)
	if s.Acks(env) != 2 {
		t.Errorf("acks = %d", s.Acks(env))
	}

	// The low-level form, as a test of de-duplication would write it.
	orig, _ := s.Envelope(env)
	orig.RetryAttempt, orig.RetryReason = 2, "timeout"
	_, err = s.SendEnvelope(orig)
	slackMust(t, err)
	if e := bot.next(t); e.Request.EnvelopeID != env || e.Request.RetryAttempt != 2 {
		t.Errorf("SendEnvelope redelivery = %+v", e.Request)
	}
}

func TestSlackRoundRobin(t *testing.T) {
	s := newSlackSandbox(t)
	a := runSlackBot(t, s)
	slackMust(t, s.WaitConnected(1, slackWait))
	b := runSlackBot(t, s)
	slackMust(t, s.WaitConnected(2, slackWait))
	for i := 0; i < 4; i++ {
		_, err := s.SendEvent(map[string]any{"type": "app_home_opened", "user": "U1", "tab": "home"})
		slackMust(t, err)
	}
	for i := 0; i < 2; i++ {
		a.next(t)
		b.next(t)
	}
	select {
	case e := <-a.events:
		t.Errorf("client a got a third envelope %+v", e.Request)
	case e := <-b.events:
		t.Errorf("client b got a third envelope %+v", e.Request)
	default:
	}
}

func TestSlackSocketModeInvalidAppToken(t *testing.T) {
	s := newSlackSandbox(t)
	client := socketmode.New(slackClient(s, slackTestBot, "xapp-wrong"))
	ctx, cancel := context.WithTimeout(context.Background(), slackWait)
	defer cancel()
	err := client.RunContext(ctx)
	if slackErrCode(err) != "invalid_auth" {
		t.Errorf("RunContext with a wrong app token: %v", err)
	}
}

func TestSlackCloseLeavesNoGoroutine(t *testing.T) {
	s := newSlackSandbox(t)
	s.SetPingInterval(10 * time.Millisecond)
	runSlackBot(t, s)
	runSlackBot(t, s)
	slackMust(t, s.WaitConnected(2, slackWait))
	_, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: "x"})
	slackMust(t, err)
	standIn := func() []string {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var out []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "sandbox/slack.(*Slack)") {
				out = append(out, g)
			}
		}
		return out
	}
	if len(standIn()) < 4 { // a reader and a pinger per link
		t.Fatalf("the stack check does not see the link goroutines: %d", len(standIn()))
	}
	s.Close() // under the clients' feet, as when a test ends
	for _, g := range standIn() {
		t.Errorf("goroutine left after Close:\n%s", g)
	}
	if _, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate"}); err == nil {
		t.Error("sent an envelope after Close")
	}
}
