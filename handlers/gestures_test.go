package handlers

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/store/bbolt"
	"github.com/slack-go/slack"
)

// The gesture table says which gestures go back or out of a run (and what each
// did, for the answer to a press on an older card); the others go forward.
func TestGestureTableSaysBackOrForward(t *testing.T) {
	var back, forward []string
	for _, g := range gestures {
		if g.back {
			back = append(back, g.label)
			if g.did == "" {
				t.Errorf("%s goes back or out but does not say what it did", g.label)
			}
		} else {
			forward = append(forward, g.label)
		}
		if got, ok := gestureOf(g.action); !ok || got.label != g.label {
			t.Errorf("gestureOf(%s) = %q, %v", g.action, got.label, ok)
		}
	}
	slices.Sort(back)
	slices.Sort(forward)
	if want := []string{LabelAbandon, LabelCancel, LabelRollback}; !slices.Equal(back, want) {
		t.Errorf("back or out: %q, want %q", back, want)
	}
	if want := []string{LabelRevokeManual, LabelApprove, LabelRetry, LabelRevokeAPI, LabelSubmit}; !slices.Equal(forward, sorted(want)) {
		t.Errorf("forward: %q, want %q", forward, sorted(want))
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// A button drawn on a card in one state, pressed when the run is in another: a
// back or out gesture goes to the engine whenever the run's state now allows
// it; a forward gesture only when the run is still as the card showed it.
func TestOlderCardsBackGesturesActOnTheRunAsItIsNow(t *testing.T) {
	for _, g := range gestures {
		for _, shown := range rotation.States {
			if !(&rotation.Run{State: shown}).Can(g.event) {
				continue // no card in that state shows the button
			}
			for _, now := range rotation.States {
				run := &rotation.Run{ID: "r7", State: now}
				want := now == shown || g.back && run.Can(g.event)
				if got := g.accepts(run, shown); got != want {
					t.Errorf("%s drawn in %s, pressed in %s: accepted %v, want %v", g.label, shown, now, got, want)
				}
			}
		}
	}
	// Once a revoke was attempted, Rollback is refused from every card, the
	// newest included.
	run := &rotation.Run{ID: "r7", State: rotation.StateWaitingRevoke, RevokeAttempted: true}
	if g, _ := gestureOf(ActRollback); g.accepts(run, rotation.StateVerifying) {
		t.Error("Rollback from an older card accepted after a revoke was attempted")
	}
}

// gestureWorld is the handlers on a bbolt store and the Slack stand-in, with
// one run in it; clicks are delivered as Slack sends them.
func gestureWorld(t *testing.T, state rotation.State) (*Handlers, func() []string, *rotation.Run) {
	t.Helper()
	s, h, _ := opsWorld(t)
	s.AddUser("U0ALICE", "alice")
	s.AddChannel("C0OPS", "ops")
	st, err := bbolt.Open(filepath.Join(t.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.Store = st
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	r, err := st.CreateRun(context.Background(), &rotation.Run{Secret: "GITHUB_API_READONLY_TOKEN", State: state, Method: rotation.MethodSlack,
		Requester: "U0BOB", Created: now, Updated: now, Steps: []rotation.StepRecord{{Name: rotation.StepVerify, State: rotation.StepFailed,
			Message: "raxx-console-prod logged a GitHub authentication failure after the restart:\n`app[web.1]: 401 Bad credentials`"}}})
	if err != nil {
		t.Fatal(err)
	}
	said := func() []string {
		var out []string
		for _, e := range s.Ephemerals("U0ALICE") {
			out = append(out, e.Text)
		}
		return out
	}
	return h, said, r
}

// press is alice pressing label on the card of run as it was in state shown.
func press(t *testing.T, h *Handlers, run *rotation.Run, shown rotation.State, label string) {
	t.Helper()
	card := *run
	card.State = shown
	for _, b := range Buttons(&card) {
		if b.Text.Text == label {
			h.Action(context.Background(), slack.InteractionCallback{Type: slack.InteractionTypeBlockActions,
				User: slack.User{ID: "U0ALICE"}, Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "C0OPS"}}},
				ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: b.ActionID, Value: b.Value}}}})
			return
		}
	}
	t.Fatalf("a card in %s has no %s", shown, label)
}

// A forward gesture pressed on a card the run has moved past is refused, and the
// answer is the run's state now, in one line: for a failed step, which and why.
func TestForwardGestureFromAnOlderCardRefusedInOneLine(t *testing.T) {
	h, said, run := gestureWorld(t, rotation.StateVerifyFailed)
	for _, label := range []string{LabelRevokeAPI, LabelRevokeManual} {
		press(t, h, run, rotation.StateWaitingRevoke, label)
	}
	want := "This run has moved on: r1 is now Failed at verify (raxx-console-prod logged a GitHub authentication failure after the restart: `app[web.1]: 401 Bad credentials`). Nothing was changed."
	if got := said(); len(got) != 2 || got[0] != want || got[1] != want {
		t.Fatalf("alice was told %q, want twice %q", got, want)
	}
	if r, _ := h.Store.GetRun(context.Background(), run.ID); r.State != rotation.StateVerifyFailed || !r.Updated.Equal(run.Updated) {
		t.Errorf("a refused press changed the run: %s, updated %s", r.State, r.Updated)
	}
}

// A back gesture pressed on an older card when the run's state no longer allows
// it is refused as a forward one is.
func TestBackGestureRefusedWhenTheRunNoLongerAllowsIt(t *testing.T) {
	h, said, run := gestureWorld(t, rotation.StateCompleted)
	press(t, h, run, rotation.StateVerifying, LabelRollback)
	press(t, h, run, rotation.StateWaitingApproval, LabelCancel)
	want := "This run has moved on: r1 is now Completed. Nothing was changed."
	if got := said(); len(got) != 2 || got[0] != want || got[1] != want {
		t.Fatalf("alice was told %q, want twice %q", got, want)
	}
	if strings.Contains(strings.Join(said(), ""), "\n") {
		t.Error("an answer spans more than one line")
	}
}
