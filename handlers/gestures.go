package handlers

import (
	"context"
	"fmt"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// gesture is one button of the run card: one row of the one table that says what
// it is (action id, label), the event of the transition table it asks for (so the
// states that allow it), whether it goes back/out or forward, how it is drawn, and
// the one case that calls the engine. Who may press it: an ops member, for every
// card button (Handlers.action); what the person may not do besides (approve their
// own run) is the engine's to refuse.
type gesture struct {
	action, label string
	event         rotation.Event
	// back marks a gesture back or out of the run (Rollback, Cancel, Abandon): it
	// acts on the run as it is now, pressed on any card of the run, whenever the
	// run's state allows it — a card one update behind must not hold up the way
	// out. A forward gesture needs the state the person saw.
	back bool
	// did says what a back gesture did, for the answer to a press on a card that
	// showed the run as it was before.
	did string
	// draw makes the button for the run; nil leaves it out (a detail the table
	// does not hold).
	draw func(g gesture, r *rotation.Run) *slack.ButtonBlockElement
	// do is the press, the run found as the card's button names it.
	do func(h *Handlers, ctx context.Context, c *click)
}

// gestures are the card's buttons in the order they are drawn. Which ones a
// card shows is the transition table's answer (rotation.Run.Can), not restated
// here state by state.
var gestures = []gesture{
	{action: ActRetry, label: LabelRetry, event: rotation.EvRetry, do: (*Handlers).retry,
		draw: func(g gesture, r *rotation.Run) *slack.ButtonBlockElement {
			return button(g.action, g.label, r, slack.StylePrimary, nil)
		}},
	{action: ActSubmit, label: LabelSubmit, event: rotation.EvSubmit, do: (*Handlers).openTokenModal,
		draw: func(g gesture, r *rotation.Run) *slack.ButtonBlockElement {
			return button(g.action, g.label, r, slack.StylePrimary, nil)
		}},
	{action: ActApprove, label: LabelApprove, event: rotation.EvApprove, do: (*Handlers).approve,
		draw: func(g gesture, r *rotation.Run) *slack.ButtonBlockElement {
			return button(g.action, g.label, r, slack.StylePrimary, confirmDialog("Approve this rotation?",
				fmt.Sprintf("The new token (%s, login %s, %s) becomes %s in Infisical and is set on %d destinations.",
					r.NewFingerprint, r.Login, rotation.ExpiryText(r.NewExpiry), r.Secret, len(r.Destinations)), "Approve"))
		}},
	{action: ActRevokeAPI, label: LabelRevokeAPI, event: rotation.EvRevoke, do: (*Handlers).revokeAPI,
		draw: func(g gesture, r *rotation.Run) *slack.ButtonBlockElement {
			if r.RevokeSent {
				return nil // the old token already went to GitHub's revoke endpoint
			}
			return button(g.action, g.label, r, slack.StyleDanger, confirmDialog("Revoke the old token?",
				"The bot sends the old token ("+r.OldFingerprint+") to GitHub's revoke endpoint. "+revokeWarning(r), "Revoke"))
		}},
	{action: ActRevokeManual, label: LabelRevokeManual, event: rotation.EvRevoke, do: (*Handlers).revokeManual,
		draw: func(g gesture, r *rotation.Run) *slack.ButtonBlockElement {
			if r.RevokeSent {
				// No way back: this only checks the old token again.
				return button(g.action, g.label, r, "", confirmDialog("Check the old token again?",
					"The bot checks that the old token ("+r.OldFingerprint+") answers 401.", "Check it"))
			}
			return button(g.action, g.label, r, "", confirmDialog("Did you revoke the old token?",
				"The bot checks that the old token ("+r.OldFingerprint+") answers 401. "+revokeWarning(r), "Yes, check it"))
		}},
	{action: ActRollback, label: LabelRollback, event: rotation.EvRollback, back: true, do: (*Handlers).rollback,
		did: "the rollback has started; the card follows it",
		draw: func(g gesture, r *rotation.Run) *slack.ButtonBlockElement {
			return button(g.action, g.label, r, slack.StyleDanger, confirmDialog("Roll back?",
				fmt.Sprintf("Infisical and every destination already written get the old %s back; shell-rc operators are told to revert.", r.Secret), "Roll back"))
		}},
	{action: ActCancel, label: LabelCancel, event: rotation.EvCancel, back: true, do: (*Handlers).cancel,
		did: "the run is cancelled; the pending value was deleted and nothing else changed",
		draw: func(g gesture, r *rotation.Run) *slack.ButtonBlockElement {
			return button(g.action, g.label, r, "", nil)
		}},
	// Abandon opens a form that is its confirm dialog: what the run leaves
	// where, and the reason it asks for.
	{action: ActAbandon, label: LabelAbandon, event: rotation.EvAbandon, back: true, do: (*Handlers).openAbandonModal,
		did: "the run is abandoned",
		draw: func(g gesture, r *rotation.Run) *slack.ButtonBlockElement {
			return button(g.action, g.label, r, "", nil)
		}},
}

// gestureOf is the row of a card button's action id.
func gestureOf(action string) (gesture, bool) {
	for _, g := range gestures {
		if g.action == action {
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
	return g.back && run.Can(g.event)
}

// behind tells the person who pressed a back or out gesture on a card that
// showed the run as it was before what their card showed and what was done —
// unless the card showed the word the run has now.
func (c *click) behind(ctx context.Context) {
	if c.shown == c.run.State || c.shown.Word() == c.run.State.Word() {
		return
	}
	c.reply.say(ctx, fmt.Sprintf("Your card showed %s as %s; it was %s when your %s arrived, and %s acts on the run as it is now: %s.",
		c.run.ID, c.shown.Word(), stateText(c.run), c.g.label, c.g.label, c.g.did))
}

// Buttons returns the buttons that make sense for the run now: those whose
// event the run can take (rotation.Run.Can).
func Buttons(r *rotation.Run) []*slack.ButtonBlockElement {
	var out []*slack.ButtonBlockElement
	for _, g := range gestures {
		if !r.Can(g.event) {
			continue
		}
		if b := g.draw(g, r); b != nil {
			out = append(out, b)
		}
	}
	return out
}
