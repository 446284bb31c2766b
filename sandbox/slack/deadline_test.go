package slack_test

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"

	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// Slack waits 3 seconds (here shortened) for the ack of a slash command or a view
// submission, from when it delivered the envelope: a later ack is discarded and
// recorded, and what it asked for is not done. A trigger_id lives as long.
func TestSlackEnforcesTheAckDeadline(t *testing.T) {
	s := newSlackSandbox(t)
	s.SetAckDeadline(300 * time.Millisecond)
	b := runSlackBot(t, s)
	slackMust(t, s.WaitConnected(1, slackWait))

	// A command acked in time, then one acked late.
	id, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: "in time"})
	slackMust(t, err)
	e := <-b.events
	slackMust(t, b.Ack(*e.Request))
	if _, err := s.WaitAck(id, slackWait); err != nil {
		t.Fatalf("an ack in time was not taken: %v", err)
	}
	late, err := s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: "late"})
	slackMust(t, err)
	e = <-b.events
	time.Sleep(400 * time.Millisecond) // the bot is slow: this is the case under test
	slackMust(t, b.Ack(*e.Request))
	slackMust(t, waitLate(s, 1))
	if got := s.LateAcks()[0]; got.EnvelopeID != late || got.Type != "slash_commands" || got.After <= 300*time.Millisecond {
		t.Errorf("late ack recorded as %+v", got)
	}
	if n := s.Acks(late); n != 0 {
		t.Errorf("the late ack was taken (%d)", n)
	}

	// views.open with the trigger_id of an interaction older than its life.
	_, err = s.SendSlashCommand(sbslack.SlashCommand{User: "U1", Channel: "C0OPS", Command: "/rotate", Text: "open a form", TriggerID: "T-OLD"})
	slackMust(t, err)
	<-b.events
	time.Sleep(400 * time.Millisecond)
	api := slackClient(s, slackTestBot, slackTestApp)
	modal := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject(slack.PlainTextType, "x", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "x", false, false), nil, nil)}}}
	_, err = api.OpenViewContext(context.Background(), "T-OLD", modal)
	if code := slackErrCode(err); code != "expired_trigger_id" {
		t.Errorf("views.open with an expired trigger_id: %s", code)
	}
}

func waitLate(s *sbslack.Slack, n int) error {
	deadline := time.Now().Add(slackWait)
	for len(s.LateAcks()) < n {
		if time.Now().After(deadline) {
			return context.DeadlineExceeded
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
