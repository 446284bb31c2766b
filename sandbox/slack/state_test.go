package slack_test

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// What the sandbox page reads of Slack: the bot's DMs, as a person would see
// them in the workspace.
func TestSlackStateSnapshot(t *testing.T) {
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
		env, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: "x"})
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
