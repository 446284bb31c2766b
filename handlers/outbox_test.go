package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/bot/slackq"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/slack-go/slack"
)

var outboxStates = []rotation.State{rotation.StatePrechecking, rotation.StateWaitingToken, rotation.StateWaitingApproval,
	rotation.StateStoring, rotation.StatePropagating, rotation.StateVerifying}

func threadText(s *sbslack.Slack, card rotation.CardRef) (string, int) {
	var notes []string
	for _, m := range s.Thread(card.Channel, card.TS) {
		notes = append(notes, m.Text)
	}
	return strings.Join(notes, "\n"), len(notes)
}

// While a card's update is at Slack, newer states wait and only the latest is
// sent next: one update in flight per card, the states in between never drawn,
// an older state never after a newer one. Notes that piled up meanwhile are
// joined into one reply, all of them, in order.
func TestCardUpdatesLatestWinsAndNotesJoin(t *testing.T) {
	s := sbslack.New("xoxb-test", "xapp-test")
	defer s.Close()
	s.AddChannel("C0OPS", "ops")
	runs := &storedRuns{}
	n := NewNotifier(NotifierConfig{Slack: slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL())), Matrix: &rotation.Matrix{}, Runs: runs})
	ctx := context.Background()
	r := &rotation.Run{ID: "r1", Secret: "GITHUB_API_READONLY_TOKEN", State: outboxStates[0], Requester: "U0ALICE",
		Created: time.Now(), Card: rotation.CardRef{Channel: "C0OPS"}}
	runs.put(r)
	card, err := n.RunChanged(ctx, r, "note 0")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	r.Card = card

	gate := make(chan struct{})
	s.Fail("POST /api/chat.update", &sandbox.Fault{Gate: gate, Times: 1})
	r.State = outboxStates[1]
	runs.put(r)
	if _, err := n.RunChanged(ctx, r, "note 1"); err != nil {
		t.Fatal(err)
	}
	for s.Inflight("POST /api/chat.update") == 0 {
		time.Sleep(time.Millisecond) // waiting for the first update to reach the gate
	}
	for i, st := range outboxStates[2:] {
		r.State = st
		runs.put(r)
		if _, err := n.RunChanged(ctx, r, fmt.Sprintf("note %d", i+2)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Inflight("POST /api/chat.update"); got != 1 {
		t.Errorf("%d updates of one card in flight, want 1", got)
	}
	close(gate)
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message("C0OPS", card.TS)
	var shown []string
	for _, h := range append(m.History, m) {
		shown = append(shown, strings.SplitN(h.Text, ": ", 2)[1])
	}
	want := []string{outboxStates[0].Word(), outboxStates[1].Word(), outboxStates[len(outboxStates)-1].Word()}
	if strings.Join(shown, " → ") != strings.Join(want, " → ") {
		t.Errorf("the card showed %v, want %v (the latest wins; nothing in between)", shown, want)
	}
	text, replies := threadText(s, card)
	var all []string
	for i := range outboxStates {
		all = append(all, fmt.Sprintf("note %d", i))
	}
	if text != strings.Join(all, "\n") {
		t.Errorf("thread notes = %q, want every note in order", text)
	}
	if replies >= len(outboxStates) {
		t.Errorf("%d replies for %d notes: the ones that piled up were not joined", replies, len(outboxStates))
	}
}

// sleep moves c by d: given to the Slack queue as its Sleep, with c as the
// stand-in limiter's clock too, a Retry-After passes exactly when it was waited out.
func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	c.add(d)
	return ctx.Err()
}

// Ten runs in one channel change at once, with Slack's limits on: every card ends
// on its run's last state, every note is in its thread in order, and no call was
// made before a Retry-After Slack gave.
func TestTenCardsAtOnceStayInsideSlacksLimits(t *testing.T) {
	s := sbslack.New("xoxb-test", "xapp-test")
	defer s.Close()
	s.AddChannel("C0OPS", "ops")
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.SetLimits(sbslack.Limits{On: true, Now: c.now})
	q := slackq.New(slackq.Config{API: slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL())), Now: c.now, Sleep: c.sleep})
	runs := &storedRuns{}
	n := NewNotifier(NotifierConfig{Slack: q, Matrix: &rotation.Matrix{}, Runs: runs})
	ctx := context.Background()
	cards := make([]rotation.CardRef, 10)
	var wg sync.WaitGroup
	for i := range cards {
		wg.Go(func() {
			r := &rotation.Run{ID: fmt.Sprintf("r%d", i+1), Secret: fmt.Sprintf("TOKEN_%d", i+1), Requester: "U0ALICE",
				Created: time.Now(), Card: rotation.CardRef{Channel: "C0OPS"}}
			for j, st := range outboxStates {
				r.State = st
				runs.put(r)
				card, err := n.RunChanged(ctx, r, fmt.Sprintf("%s note %d", r.ID, j))
				if err != nil {
					t.Errorf("%s: %v", r.ID, err)
					return
				}
				r.Card = card
			}
			cards[i] = r.Card
		})
	}
	wg.Wait()
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	last := outboxStates[len(outboxStates)-1].Word()
	for i, card := range cards {
		m, ok := s.Message("C0OPS", card.TS)
		if !ok || !strings.HasSuffix(m.Text, ": "+last) {
			t.Errorf("card %d shows %q, want %s", i+1, m.Text, last)
		}
		var want []string
		for j := range outboxStates {
			want = append(want, fmt.Sprintf("r%d note %d", i+1, j))
		}
		if text, _ := threadText(s, card); text != strings.Join(want, "\n") {
			t.Errorf("card %d's thread = %q", i+1, text)
		}
	}
	st := s.LimitStats()
	if st.Answered429() == 0 {
		t.Error("Slack never limited: the test shows nothing")
	}
	if st.Violations != 0 {
		t.Errorf("%d calls inside a Retry-After: %v", st.Violations, st.ViolationsBy)
	}
	t.Logf("chat.postMessage %d, chat.update %d, 429s %v", s.Count("POST /api/chat.postMessage", true), s.Count("POST /api/chat.update", true), st.Limited)
}
