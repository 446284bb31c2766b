package handlers

import (
	"context"
	"fmt"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// gesture is one button of the run card: one row of the one table that says what
// it is (action id, label), the event of the transition table it asks for (so the
// states that allow it), whether it goes back/out or forward, and the one case
// that calls the engine; how it is drawn is package card's. Who may press it: an
// ops member, for every card button (Handlers.action); what the person may not
// do besides (approve their own run) is the engine's to refuse.
type gesture struct {
	card.Button
	// back marks a gesture back or out of the run (Rollback, Cancel, Abandon): it
	// acts on the run as it is now, pressed on any card of the run, whenever the
	// run's state allows it — a card one update behind must not hold up the way
	// out. A forward gesture needs the state the person saw.
	back bool
	// did says what a back gesture did, for the answer to a press on a card that
	// showed the run as it was before.
	did string
	// do is the press, the run found as the card's button names it.
	do func(h *Handlers, ctx context.Context, c *click)
}

// gestures are the card's buttons in the order they are drawn. Which ones a
// card shows is the transition table's answer (rotation.Run.Can), not restated
// here state by state.
var gestures = []gesture{
	{Button: card.Button{Action: ActRetry, Label: LabelRetry, Event: rotation.EvRetry}, do: (*Handlers).retry},
	{Button: card.Button{Action: ActSubmit, Label: LabelSubmit, Event: rotation.EvSubmit}, do: (*Handlers).openTokenModal},
	{Button: card.Button{Action: ActApprove, Label: LabelApprove, Event: rotation.EvApprove}, do: (*Handlers).approve},
	{Button: card.Button{Action: ActRevokeAPI, Label: LabelRevokeAPI, Event: rotation.EvRevoke}, do: (*Handlers).revokeAPI},
	{Button: card.Button{Action: ActRevokeManual, Label: LabelRevokeManual, Event: rotation.EvRevoke}, do: (*Handlers).revokeManual},
	{Button: card.Button{Action: ActRollback, Label: LabelRollback, Event: rotation.EvRollback}, back: true, do: (*Handlers).rollback,
		did: "the rollback has started; the card follows it"},
	{Button: card.Button{Action: ActCancel, Label: LabelCancel, Event: rotation.EvCancel}, back: true, do: (*Handlers).cancel,
		did: "the run is cancelled; the pending value was deleted and nothing else changed"},
	// Abandon opens a form that is its confirm dialog: what the run leaves
	// where, and the reason it asks for.
	{Button: card.Button{Action: ActAbandon, Label: LabelAbandon, Event: rotation.EvAbandon}, back: true, do: (*Handlers).openAbandonModal,
		did: "the run is abandoned"},
}

// CardButtons are the run card's buttons as the gesture table names them, in
// the order they are drawn (what card.Run draws from).
func CardButtons() []card.Button {
	out := make([]card.Button, len(gestures))
	for i, g := range gestures {
		out[i] = g.Button
	}
	return out
}

// gestureOf is the row of a card button's action id.
func gestureOf(action string) (gesture, bool) {
	for _, g := range gestures {
		if g.Action == action {
			return g, true
		}
	}
	return gesture{}, false
}

// accepts reports whether a press of g on a card that showed the run in state
// shown may go to the engine, the run being as it is now: a forward gesture
// needs the state the card showed; a back or out gesture needs only a state
// that allows it. The engine checks the move again, in its own transaction.
func (g gesture) accepts(run *rotation.Run, shown rotation.State) bool {
	if run.State == shown {
		return true
	}
	return g.back && run.Can(g.Event)
}

// behind tells the person who pressed a back or out gesture on a card that
// showed the run as it was before what their card showed and what was done —
// unless the card showed the word the run has now.
func (c *click) behind(ctx context.Context) {
	if c.shown == c.run.State || c.shown.Word() == c.run.State.Word() {
		return
	}
	c.reply.say(ctx, fmt.Sprintf("Your card showed %s as %s; it was %s when your %s arrived, and %s acts on the run as it is now: %s.",
		c.run.ID, c.shown.Word(), card.StateText(c.run), c.g.Label, c.g.Label, c.g.did))
}

// Buttons returns the buttons that make sense for the run now: those whose
// event the run can take (rotation.Run.Can).
func Buttons(r *rotation.Run) []*slack.ButtonBlockElement {
	return card.RunButtons(r, CardButtons())
}
