package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// presser is who may press a button.
type presser int

const (
	// opsMember: a member of the ops user group, checked before the case runs.
	opsMember presser = iota
	// dmOperator: the shell-rc operator the DM went to — the engine decides,
	// from the user and the DM the click came from.
	dmOperator
)

// gesture is one button: one row of the one table that says what it is (action
// id and label), who may press it, the event of the transition table it asks
// for — so the states that allow it, and whether the run card draws it — and
// whether it goes back/out or forward; what it does is its one case in press.
// How it looks is package card's; what the person may not do besides (approve
// their own run) is the engine's to refuse.
type gesture struct {
	// Button is the action id, the label and, for a run card button, the event
	// (a button drawn elsewhere — a DM, a reminder, a drift post — has none).
	card.Button
	who presser
	// back marks a gesture back or out of the run (Rollback, Cancel, Abandon): it
	// acts on the run as it is now, pressed on any card of the run, whenever the
	// run's state allows it — a card one update behind must not hold up the way
	// out. A forward gesture needs the state the person saw.
	back bool
	// did says what a back gesture did, for the answer to a press on a card that
	// showed the run as it was before.
	did string
}

// gestures are every button, the run card's first in the order they are drawn.
// Which ones a card shows is the transition table's answer (rotation.Run.Can),
// not restated here state by state.
var gestures = []gesture{
	{Button: card.Button{Action: ActRetry, Label: LabelRetry, Event: rotation.EvRetry}},
	{Button: card.Button{Action: ActSubmit, Label: LabelSubmit, Event: rotation.EvSubmit}},
	{Button: card.Button{Action: ActMint, Label: LabelMint, Event: rotation.EvSubmit}},
	{Button: card.Button{Action: ActApprove, Label: LabelApprove, Event: rotation.EvApprove}},
	{Button: card.Button{Action: ActRevokeAPI, Label: LabelRevokeAPI, Event: rotation.EvRevoke}},
	{Button: card.Button{Action: ActRevokeManual, Label: LabelRevokeManual, Event: rotation.EvRevoke}},
	{Button: card.Button{Action: ActRollback, Label: LabelRollback, Event: rotation.EvRollback}, back: true,
		did: "the rollback has started; the card follows it"},
	{Button: card.Button{Action: ActCancel, Label: LabelCancel, Event: rotation.EvCancel}, back: true,
		did: "the run is cancelled; the pending value was deleted and nothing else changed"},
	{Button: card.Button{Action: ActAbandon, Label: LabelAbandon, Event: rotation.EvAbandon}, back: true,
		did: "the run is abandoned"},
	// A shell-rc operator's DM, a reminder, a drift post.
	{Button: card.Button{Action: ActDone, Label: LabelDone}, who: dmOperator},
	{Button: card.Button{Action: ActStart, Label: LabelStart}},
	{Button: card.Button{Action: ActDriftRepair, Label: LabelDriftRepair}},
	{Button: card.Button{Action: ActDriftApprove, Label: LabelApprove}},
}

// press is each button's one case: what it asks of the engine.
func (h *Handlers) press(ctx context.Context, c *click) {
	switch c.g.Action {
	case ActRetry: // only what failed is redone
		_, err := h.Engine.Retry(ctx, c.run.ID, c.user)
		h.carryOn(ctx, c, err)
	case ActSubmit: // a form with one input: the token never travels in a message
		h.openForm(ctx, c, card.TokenModal(c.run, c.cb.Channel.ID, ""))
	case ActMint: // a kind rotabot mints: made and checked again, nothing to paste
		_, err := h.Engine.Mint(ctx, c.run.ID, c.user)
		h.answer(ctx, c, err)
	case ActApprove: // who may approve (neither the requester nor the submitter) is the engine's rule
		_, err := h.Engine.Approve(ctx, c.run.ID, c.user)
		h.carryOn(ctx, c, err)
	case ActRevokeAPI, ActRevokeManual: // via GitHub's revoke endpoint or by hand; either way the old token must answer 401
		_, err := h.Engine.Revoke(ctx, c.run.ID, c.user, c.g.Action == ActRevokeAPI)
		h.carryOn(ctx, c, err)
	case ActRollback: // behind its confirm dialog; possible from approval until a revoke is attempted
		_, err := h.Engine.Rollback(ctx, c.run.ID, c.user)
		if h.answer(ctx, c, err) {
			c.behind(ctx)
			h.Engine.Go(h.Work, c.run.ID)
		}
	case ActCancel: // before approval: the pending value is deleted and nothing else changes
		_, err := h.Engine.Cancel(ctx, c.run.ID, c.user)
		if h.answer(ctx, c, err) {
			c.behind(ctx)
		}
	case ActAbandon: // a form that is its confirm dialog: what the run leaves where, and why (required)
		h.openForm(ctx, c, card.AbandonModal(c.run, c.shown, h.Engine.Leaves(c.run), c.cb.Channel.ID))
	case ActDone:
		h.done(ctx, c)
	case ActStart:
		h.startFromReminder(ctx, c)
	case ActDriftRepair:
		h.repairDrift(ctx, c)
	case ActDriftApprove:
		h.approveDrift(ctx, c)
	default:
		c.reply.fail(ctx, rotation.Errorf(rotation.EINTERNAL, "the button %s has a row in the gesture table but no case", c.g.Action))
	}
}

// click is one button press, resolved to its run.
type click struct {
	cb     slack.InteractionCallback
	action *slack.BlockAction
	user   string
	reply  replier
	// g is the button's row of the gesture table.
	g gesture
	// run is the run a run card button names, as it is now; shown is the run's
	// state on the card pressed (run.State but for a back or out gesture pressed
	// on a card one update behind).
	run   *rotation.Run
	shown rotation.State
}

// Action handles a block_actions payload (after the ack).
func (h *Handlers) Action(ctx context.Context, cb slack.InteractionCallback) {
	for _, a := range cb.ActionCallback.BlockActions {
		h.action(ctx, cb, a)
	}
}

// action finds the button's row, checks who pressed it and, for a run card
// button, that the run is still one the card may act on; then its case runs.
func (h *Handlers) action(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	c := &click{cb: cb, action: a, user: cb.User.ID, reply: h.replier(cb.ResponseURL, cb.Channel.ID, cb.User.ID)}
	defer h.recoverAnswer(ctx, c.reply)
	g, ok := gestureOf(a.ActionID)
	if !ok {
		h.Log.Warn("unknown action", "action", a.ActionID)
		return
	}
	c.g = g
	if g.who == opsMember && !h.requireOps(ctx, c.reply, c.user) {
		return
	}
	if g.Event != "" && !h.resolve(ctx, c) {
		return
	}
	h.press(ctx, c)
}

// resolve finds the run a run card button names, made when the card was drawn,
// and checks the press may go to the engine; otherwise it answers why not.
func (h *Handlers) resolve(ctx context.Context, c *click) bool {
	id, shown, stamp := card.ParseButtonValue(c.action.Value)
	run, err := h.Store.GetRun(ctx, id)
	if err != nil || stamp != card.RunStamp(run) {
		c.reply.say(ctx, "This button belongs to a run that is no longer here (was the bot's database reset?). Nothing was changed. `/rotate list` shows the open runs.")
		return false
	}
	if !c.g.accepts(run, shown) {
		c.reply.say(ctx, movedOn(run))
		return false
	}
	c.run, c.shown = run, shown
	return true
}

// gestureOf is the row of a button's action id.
func gestureOf(action string) (gesture, bool) {
	for _, g := range gestures {
		if g.Action == action {
			return g, true
		}
	}
	return gesture{}, false
}

// CardButtons are the run card's buttons as the gesture table names them, in
// the order they are drawn (what card.Run draws from).
func CardButtons() []card.Button {
	var out []card.Button
	for _, g := range gestures {
		if g.Event != "" {
			out = append(out, g.Button)
		}
	}
	return out
}

// Buttons returns the run card's buttons that make sense for the run now: those
// whose event the run can take (rotation.Run.Can).
func Buttons(r *rotation.Run) []*slack.ButtonBlockElement {
	return card.RunButtons(r, CardButtons())
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

// carryOn answers the engine's verdict on a forward gesture and, when it moved
// the run, carries the run on in the background.
func (h *Handlers) carryOn(ctx context.Context, c *click, err error) {
	if h.answer(ctx, c, err) {
		h.Engine.Go(h.Work, c.run.ID)
	}
}

// answer reports the engine's verdict on a gesture: a refusal to the person alone.
// A move the run's state no longer allows is told as the run's state now; any
// other refusal in the engine's words.
func (h *Handlers) answer(ctx context.Context, c *click, err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, rotation.ErrMovedOn) {
		if run, gerr := h.Store.GetRun(ctx, c.run.ID); gerr == nil {
			c.reply.say(ctx, movedOn(run))
			return false
		}
	}
	c.reply.fail(ctx, err)
	return false
}

// movedOn is the answer to a click whose moment has passed: the run's state
// now, in one line.
func movedOn(run *rotation.Run) string {
	return "This run has moved on: " + run.ID + " is now " + card.StateText(run) + ". Nothing was changed."
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

// openForm opens a button's form; Slack allows 3 seconds after the click.
func (h *Handlers) openForm(ctx context.Context, c *click, v slack.ModalViewRequest) {
	if _, err := h.Slack.OpenViewContext(ctx, c.cb.TriggerID, v); err != nil {
		h.Log.Warn("could not open the form", "form", v.CallbackID, "run", c.run.ID, "err", err)
		c.reply.say(ctx, "Slack did not open the form (it allows 3 seconds after a click). Press "+c.g.Label+" again.")
	}
}

// done is a shell-rc operator's Done in their DM. Only that operator may press it
// (the engine decides, from the user and the DM the click came from).
func (h *Handlers) done(ctx context.Context, c *click) {
	id, _, stamp := card.ParseButtonValue(c.action.Value)
	if run, err := h.Store.GetRun(ctx, id); err != nil || stamp != card.RunStamp(run) {
		c.reply.say(ctx, "This message belongs to a run that is no longer here (was the bot's database reset?). Nothing was changed.")
		return
	}
	_, err := h.Engine.ConfirmOperator(ctx, id, c.user, c.cb.Channel.ID)
	if err != nil {
		var e *rotation.Error
		if errors.As(err, &e) && e.Code == rotation.ECONFLICT {
			c.reply.say(ctx, e.Message+". Nothing was changed.")
			return
		}
		c.reply.fail(ctx, err)
		return
	}
	c.reply.say(ctx, "Thanks — recorded that your shell rc has the new value.")
}

// startFromReminder is a reminder's Start rotation button (in an owner's DM or
// the ops channel): the same as typing /rotate SECRET in the ops channel, with
// the same checks. The run's card always goes to the ops channel; a press from
// elsewhere is told where it is.
func (h *Handlers) startFromReminder(ctx context.Context, c *click) {
	secret := c.action.Value
	if _, err := h.Matrix.Secret(secret); err != nil {
		c.reply.fail(ctx, err)
		return
	}
	run, err := h.Engine.Start(ctx, rotation.StartRequest{Secret: secret, Requester: c.user, Channel: h.Matrix.Channel})
	if err != nil {
		if rotation.ErrorCode(err) == rotation.ECONFLICT && run != nil {
			c.reply.say(ctx, fmt.Sprintf("%s already has an open run, *%s* (%s): %s", secret, run.ID, run.State.Word(), h.permalink(ctx, run)))
			return
		}
		c.reply.fail(ctx, err)
		return
	}
	h.Engine.Go(h.Work, run.ID)
	if c.reply.channel != h.Matrix.Channel {
		c.reply.say(ctx, fmt.Sprintf("Started *%s*, a rotation of %s: its card is in <#%s>, where the team follows it.", run.ID, secret, h.Matrix.Channel))
	}
}
