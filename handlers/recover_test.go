package handlers

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// A gesture that panics does not stop the bot: the panic is logged without its
// value and the person is told.
func TestGesturePanicAnswersThePerson(t *testing.T) {
	s, h, _ := opsWorld(t)
	s.AddUser("U0ALICE", "alice")
	s.AddChannel("C0OPS", "ops")
	logs := &strings.Builder{}
	h.Log = slog.New(slog.NewTextHandler(logs, nil))
	h.Store = nil // every read of a run panics: the stand-in for a bug
	h.Matrix = &rotation.Matrix{OpsUsergroup: "S0OPS", Channel: "C0OPS"}
	h.Command(context.Background(), slack.SlashCommand{UserID: "U0ALICE", ChannelID: "C0OPS", Command: "/rotate", Text: "list"})
	es := s.Ephemerals("U0ALICE")
	if len(es) != 1 || !strings.Contains(es[0].Text, "Something went wrong on rotabot's side") {
		t.Fatalf("the person was told %+v", es)
	}
	if !strings.Contains(logs.String(), "gesture panicked") || !strings.Contains(logs.String(), "panic_type") {
		t.Errorf("the panic was not logged:\n%s", logs)
	}
}
