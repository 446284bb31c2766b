package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// A run that starts itself, through the real bot on the stand-ins: the seeded
// world's first secret has a token that GitHub (the stand-in, on the world's
// clock) says expires in four and a half days; with auto_start_days: 7 the
// bot's first reminder pass starts its run in the ops channel, requested by
// rotabot, waiting at Generate with the owner named on the card and mentioned
// in its thread, and the audit channel gets secret.rotate.auto_started. The
// leak guard (startBot) greps Slack, the logs and the database for every token.
func TestAutoStartedRunWaitsAtGenerateWithTheOwnerNamed(t *testing.T) {
	h := startBot(t)
	h.StopBot()
	y := h.Env["ROTABOT_CONFIG"]
	auto := strings.Replace(y, "    expires_in_days: 90\n", "    expires_in_days: 90\n    auto_start_days: 7\n", 1)
	if auto == y {
		t.Fatal("the example matrix has no expires_in_days line to add auto_start_days after")
	}
	h.Env["ROTABOT_CONFIG"] = auto
	var srv *server
	must(t, h.StartBot(context.Background(), func(ctx context.Context, getenv func(string) string, log *slog.Logger) (demo.Bot, error) {
		b, err := demoBot(ctx, getenv, log)
		if err == nil {
			srv = b.(*server)
		}
		return b, err
	}))

	card := h.mustCard(t, "r1", "Waiting for token")
	if card.Channel != demo.OpsChannel {
		t.Errorf("the card is in %s, want the ops channel", card.Channel)
	}
	text := demo.CardText(card)
	for _, want := range []string{
		"Requested by rotabot",
		"🤖 rotabot started this run by itself: the token `" + rotation.Fingerprint(h.OldToken) + "` expires in 4 days",
		"(auto_start_days: 7). Owners: <@" + demo.Owner + ">",
		"🔵 *2. Generate* — waiting",
		"*Make the new token*",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the card does not show %q:\n%s", want, text)
		}
	}
	var note sbslack.Message
	must(t, demo.WaitFor("the thread note naming the owner", func() bool {
		for _, m := range h.World.Slack.Thread(card.Channel, card.TS) {
			if strings.HasPrefix(m.Text, "rotabot started a rotation of "+h.First) {
				note = m
				return true
			}
		}
		return false
	}))
	if !strings.Contains(note.Text, "<@"+demo.Owner+">") {
		t.Errorf("the thread note does not mention the owner: %q", note.Text)
	}
	var audit sbslack.Message
	must(t, demo.WaitFor("the auto_started audit post", func() bool {
		for _, m := range h.World.Slack.Messages(demo.AuditChannel) {
			if strings.HasPrefix(m.Text, string(rotation.ActionAutoStarted)) {
				audit = m
				return true
			}
		}
		return false
	}))
	if !strings.Contains(audit.Text, "run r1 · started by rotabot") {
		t.Errorf("the audit post: %q", audit.Text)
	}
	entries, err := srv.store.ListAudit(context.Background(), h.First, 0)
	must(t, err)
	if len(entries) != 1 || entries[0].Action != rotation.ActionAutoStarted || entries[0].Actor != rotation.Rotabot || entries[0].RunID != "r1" {
		t.Errorf("audit trail %+v: want the one auto_started entry of r1, by rotabot", entries)
	}
	if _, ok := h.Card("r2"); ok {
		t.Error("a second run started")
	}
}
