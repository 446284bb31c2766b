package handlers

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/store/bbolt"
	"github.com/slack-go/slack"
)

// The gesture table says which of the run card's gestures go back or out of a
// run (and what each did, for the answer to a press on an older card); the
// others go forward.
func TestGestureTableSaysBackOrForward(t *testing.T) {
	var back, forward []string
	for _, g := range gestures {
		if g.Event == "" {
			continue // not a run card button (TestEveryButtonIsOneRowOfTheTable)
		}
		if g.back {
			back = append(back, g.Label)
			if g.did == "" {
				t.Errorf("%s goes back or out but does not say what it did", g.Label)
			}
		} else {
			forward = append(forward, g.Label)
		}
		if got, ok := gestureOf(g.Action); !ok || got.Label != g.Label {
			t.Errorf("gestureOf(%s) = %q, %v", g.Action, got.Label, ok)
		}
	}
	slices.Sort(back)
	slices.Sort(forward)
	if want := []string{LabelAbandon, LabelCancel, LabelRollback}; !slices.Equal(back, want) {
		t.Errorf("back or out: %q, want %q", back, want)
	}
	if want := []string{LabelRevokeManual, LabelApprove, LabelRetry, LabelRevokeAPI, LabelSubmit, LabelMint}; !slices.Equal(forward, sorted(want)) {
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
			if !(&rotation.Run{State: shown}).Can(g.Event) {
				continue // no card in that state shows the button
			}
			for _, now := range rotation.States {
				run := &rotation.Run{ID: "r7", State: now}
				want := now == shown || g.back && run.Can(g.Event)
				if got := g.accepts(run, shown); got != want {
					t.Errorf("%s drawn in %s, pressed in %s: accepted %v, want %v", g.Label, shown, now, got, want)
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

func labels(r *rotation.Run) []string {
	var out []string
	for _, b := range Buttons(r) {
		out = append(out, b.Text.Text)
	}
	return out
}

// Only the buttons that make sense now, with their exact labels: Abandon on
// every failed state and every wait for a person.
func TestButtonsFitTheState(t *testing.T) {
	want := map[rotation.State][]string{
		rotation.StatePrechecking:     {LabelCancel},
		rotation.StatePrecheckFailed:  {LabelRetry, LabelCancel, LabelAbandon},
		rotation.StateWaitingToken:    {LabelSubmit, LabelCancel, LabelAbandon},
		rotation.StateWaitingApproval: {LabelApprove, LabelCancel, LabelAbandon},
		rotation.StateStoring:         {LabelRollback},
		rotation.StateStoreFailed:     {LabelRetry, LabelRollback, LabelAbandon},
		rotation.StatePropagating:     {LabelRollback},
		rotation.StatePropagateFailed: {LabelRetry, LabelRollback, LabelAbandon},
		rotation.StateVerifying:       {LabelRollback},
		rotation.StateVerifyFailed:    {LabelRetry, LabelRollback, LabelAbandon},
		rotation.StateWaitingRevoke:   {LabelRevokeAPI, LabelRevokeManual, LabelRollback, LabelAbandon},
		rotation.StateRevoking:        nil,
		rotation.StateAuditing:        nil,
		rotation.StateAuditFailed:     {LabelRetry, LabelAbandon},
		rotation.StateRollingBack:     nil,
		rotation.StateRollbackFailed:  {LabelRetry, LabelAbandon},
		rotation.StateCompleted:       nil,
		rotation.StateRolledBack:      nil,
		rotation.StateCancelled:       nil,
		rotation.StateAbandoned:       nil,
	}
	for _, s := range rotation.States {
		r := &rotation.Run{ID: "r7", Secret: "X", State: s}
		if got := labels(r); !slices.Equal(got, want[s]) {
			t.Errorf("%s: buttons %q, want %q", s, got, want[s])
		}
		for _, b := range Buttons(r) {
			// Each button is allowed by the transition table, and carries the state it was drawn in.
			if id, st, stamp := card.ParseButtonValue(b.Value); id != "r7" || st != s || stamp != card.RunStamp(r) {
				t.Errorf("%s: button %q carries %q", s, b.Text.Text, b.Value)
			}
			needsConfirm := b.Text.Text == LabelApprove || b.Text.Text == LabelRollback || b.Text.Text == LabelRevokeAPI || b.Text.Text == LabelRevokeManual
			if needsConfirm != (b.Confirm != nil) {
				t.Errorf("%s: %q confirm dialog = %v", s, b.Text.Text, b.Confirm != nil)
			}
		}
	}
}

// Once the old token went to GitHub's revoke endpoint, the card offers only to
// check it again (or to abandon the run): no Revoke old token now, no Rollback.
func TestButtonsAfterTheRevokeWasSent(t *testing.T) {
	r := &rotation.Run{ID: "r7", Secret: "X", State: rotation.StateWaitingRevoke, RevokeSent: true, OldFingerprint: "0ld0ld00"}
	if got, want := labels(r), []string{LabelRevokeManual, LabelAbandon}; !slices.Equal(got, want) {
		t.Fatalf("buttons %q, want %q", got, want)
	}
	if b := Buttons(r)[0]; b.Confirm == nil || b.Confirm.Title.Text != "Check the old token again?" {
		t.Errorf("confirm dialog %+v", b.Confirm)
	}
}

// The transition table is the only source of the buttons: a button is drawn
// exactly when the run can take its gesture's event (rotation.Run.Can), save
// Revoke old token now once the token was sent, and what a kind rotabot mints
// does without: Submit new token (Generate new key instead) and I revoked the
// old token (the bot deletes the old key itself).
func TestButtonsAreDrawnFromTheTransitionTable(t *testing.T) {
	for _, s := range rotation.States {
		for _, c := range []struct {
			sent bool
			kind rotation.TokenKind
		}{{false, rotation.FineGrained}, {true, rotation.FineGrained}, {false, rotation.HerokuAPIKey}, {true, rotation.HerokuAPIKey}} {
			sent, minted := c.sent, c.kind.Minted()
			r := &rotation.Run{ID: "r7", Secret: "X", State: s, RevokeSent: sent, TokenKind: c.kind}
			drawn := map[string]bool{}
			for _, b := range Buttons(r) {
				drawn[b.ActionID] = true
			}
			for _, g := range gestures {
				want := r.Can(g.Event) && !(g.Action == ActRevokeAPI && sent) && !(g.Action == ActSubmit && minted) &&
					!(g.Action == ActMint && !minted) && !(g.Action == ActRevokeManual && minted && !sent)
				if drawn[g.Action] != want {
					t.Errorf("%s (revoke sent %v): %s drawn = %v, but Can(%s) = %v", s, sent, g.Label, drawn[g.Action], g.Event, r.Can(g.Event))
				}
				delete(drawn, g.Action)
			}
			for a := range drawn {
				t.Errorf("%s: button %s is not a gesture of the table", s, a)
			}
		}
	}
}
