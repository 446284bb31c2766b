package handlers

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/expiry"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/slack-go/slack"
)

// storedRuns is what a Notifier reads runs from to draw their cards: each run as
// the test last stored it (what the engine does before it tells the Notifier).
type storedRuns struct {
	mu   sync.Mutex
	runs map[string]rotation.Run
}

func (s *storedRuns) put(r *rotation.Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runs == nil {
		s.runs = map[string]rotation.Run{}
	}
	s.runs[r.ID] = *r
}

func (s *storedRuns) GetRun(_ context.Context, id string) (*rotation.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, rotation.Errorf(rotation.ENOTFOUND, "There is no run %s", id)
	}
	return &r, nil
}

// The notifier posts a run's card once and returns where it is; it does not
// write that onto the run (the engine records it). Given the card, it updates it
// in place and puts the note in its thread (through the card's outbox).
func TestNotifierReturnsTheCardItPosted(t *testing.T) {
	s := sbslack.New("xoxb-test", "xapp-test")
	defer s.Close()
	s.AddChannel("C0OPS", "ops")
	runs := &storedRuns{}
	n := NewNotifier(NotifierConfig{Slack: slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL())), Matrix: &rotation.Matrix{}, Runs: runs})
	ctx := context.Background()
	r := &rotation.Run{ID: "r1", Secret: "GITHUB_API_READONLY_TOKEN", State: rotation.StatePrechecking, Requester: "U0ALICE",
		Created: time.Now(), Card: rotation.CardRef{Channel: "C0OPS"}}

	runs.put(r)
	card, err := n.RunChanged(ctx, r, "started")
	if err != nil {
		t.Fatal(err)
	}
	if card.Channel != "C0OPS" || card.TS == "" {
		t.Fatalf("RunChanged returned %+v, want the posted card", card)
	}
	if r.Card.TS != "" {
		t.Errorf("the notifier wrote the card's ts onto the run: %+v", r.Card)
	}
	if _, ok := s.Message("C0OPS", card.TS); !ok {
		t.Fatalf("no card at %s", card.TS)
	}

	r.Card, r.State = card, rotation.StateWaitingToken
	runs.put(r)
	again, err := n.RunChanged(ctx, r, "pre-check done")
	if err != nil || again != card {
		t.Fatalf("second RunChanged = %+v, %v; want %+v", again, err, card)
	}
	// The update and the note leave through the card's outbox.
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var cards int
	for _, m := range s.Messages("C0OPS") {
		if m.ThreadTS == "" {
			cards++
		}
	}
	if cards != 1 {
		t.Errorf("%d cards in the channel, want 1", cards)
	}
	if m, _ := s.Message("C0OPS", card.TS); !strings.Contains(m.Content(), rotation.StateWaitingToken.Word()) {
		t.Errorf("the card was not updated in place:\n%s", m.Content())
	}
	// Both notes are in the thread, in order (joined into one reply when the
	// second came while the first was on its way).
	var notes []string
	for _, m := range s.Thread("C0OPS", card.TS) {
		notes = append(notes, m.Text)
	}
	if got := strings.Join(notes, "\n"); got != "started\npre-check done" {
		t.Errorf("thread notes = %q", got)
	}

	// A CLI run has no card: nothing is posted and no reference returned.
	cli := &rotation.Run{ID: "r2", Secret: "X", State: rotation.StatePropagating, Method: rotation.MethodCLI}
	if ref, err := n.RunChanged(ctx, cli, "note"); err != nil || ref != (rotation.CardRef{}) {
		t.Errorf("CLI run: %+v, %v", ref, err)
	}
}

// Defaults are filled in once, by the constructors.
func TestHandlerConstructorsFillDefaultsOnce(t *testing.T) {
	h := New(Config{Matrix: &rotation.Matrix{}})
	if h.HTTP == nil || h.Log == nil || h.Now == nil || h.Work == nil || h.GroupTTL != time.Minute {
		t.Errorf("New left a default out: %+v", h.Config)
	}
	n := NewNotifier(NotifierConfig{Matrix: &rotation.Matrix{}})
	if n.log == nil || n.work == nil {
		t.Errorf("NewNotifier left a default out")
	}
}

// A person's DM channel is opened once and remembered: a run's DMs, and a
// morning's reminders, make one conversations.open a person. A post that fails
// forgets it, and the next DM opens it again.
func TestADMChannelIsOpenedOnceAPerson(t *testing.T) {
	s := sbslack.New("xoxb-test", "xapp-test")
	defer s.Close()
	s.AddChannel("C0OPS", "ops")
	s.AddUser("U0OPERATOR", "olga")
	s.SetLimits(sbslack.Limits{}) // six DMs in a row: the per-channel pace is not what this is about
	api := slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL()))
	n := NewNotifier(NotifierConfig{Slack: api, Matrix: &rotation.Matrix{
		Vault: rotation.VaultSettings{Environment: "prod", Path: "/MooseQuest/github/", PendingPath: "/rotabot/pending/"},
	}, Runs: &storedRuns{}})
	ctx := context.Background()
	r := &rotation.Run{ID: "r1", Secret: "GITHUB_API_READONLY_TOKEN", State: rotation.StateWaitingRevoke, Card: rotation.CardRef{Channel: "C0OPS", TS: "1.000001"}}
	const open = "POST /api/conversations.open"
	for i := range 3 {
		if err := n.AskOperator(ctx, r, "U0OPERATOR", rotation.OperatorUpdate); err != nil {
			t.Fatal(err)
		}
		if got := s.Count(open, true); got != 1 {
			t.Fatalf("after %d DMs, %d conversations.open; want 1", i+1, got)
		}
	}
	if got := len(s.DMs("U0OPERATOR")); got != 3 {
		t.Fatalf("%d DMs reached the operator, want 3", got)
	}
	s.FailWith("POST /api/chat.postMessage", "channel_not_found", 1)
	if err := n.AskOperator(ctx, r, "U0OPERATOR", rotation.OperatorUpdate); err == nil {
		t.Fatal("a DM Slack refused was taken as sent")
	}
	if err := n.AskOperator(ctx, r, "U0OPERATOR", rotation.OperatorUpdate); err != nil {
		t.Fatal(err)
	}
	if got := s.Count(open, true); got != 2 {
		t.Errorf("after a refused DM, %d conversations.open in all; want 2 (opened again)", got)
	}
	// The reminders remember theirs the same way.
	rn := &ReminderNotifier{Slack: api, Channel: "C0OPS"}
	for range 2 {
		if err := rn.RemindOwner(ctx, "U0OPERATOR", expiry.Reminder{Secret: "GITHUB_API_READONLY_TOKEN", Fingerprint: "0123abcd"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Count(open, true); got != 3 {
		t.Errorf("two reminders to one owner: %d conversations.open in all; want 3", got)
	}
}
