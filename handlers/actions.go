package handlers

import (
	"context"
	"errors"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// click is one button press, resolved to its run.
type click struct {
	cb     slack.InteractionCallback
	action *slack.BlockAction
	user   string
	reply  replier
	run    *rotation.Run
	// shown is the run's state on the card pressed (run.State but for a back or
	// out gesture pressed on a card one update behind).
	shown rotation.State
	// g is the card button's row of the gesture table.
	g gesture
}

// Action handles a block_actions payload (after the ack).
func (h *Handlers) Action(ctx context.Context, cb slack.InteractionCallback) {
	for _, a := range cb.ActionCallback.BlockActions {
		h.action(ctx, cb, a)
	}
}

func (h *Handlers) action(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	c := &click{cb: cb, action: a, user: cb.User.ID, reply: h.replier(cb.ResponseURL, cb.Channel.ID, cb.User.ID)}
	defer h.recoverAnswer(ctx, c.reply)
	if a.ActionID == ActStart {
		h.startFromReminder(ctx, c)
		return
	}
	if a.ActionID == ActDone {
		h.done(ctx, c)
		return
	}
	if a.ActionID == ActDriftRepair {
		h.repairDrift(ctx, c)
		return
	}
	if a.ActionID == ActDriftApprove {
		h.approveDrift(ctx, c)
		return
	}
	g, ok := gestureOf(a.ActionID)
	if !ok {
		h.Log.Warn("unknown action", "action", a.ActionID)
		return
	}
	if !h.requireOps(ctx, c.reply, c.user) {
		return
	}
	id, shown, stamp := card.ParseButtonValue(a.Value)
	run, err := h.Store.GetRun(ctx, id)
	if err != nil || stamp != card.RunStamp(run) {
		c.reply.say(ctx, "This button belongs to a run that is no longer here (was the bot's database reset?). Nothing was changed. `/rotate list` shows the open runs.")
		return
	}
	if !g.accepts(run, shown) {
		c.reply.say(ctx, movedOn(run))
		return
	}
	c.run, c.shown, c.g = run, shown, g
	g.do(h, ctx, c)
}

// movedOn is the answer to a click whose moment has passed: the run's state
// now, in one line.
func movedOn(run *rotation.Run) string {
	return "This run has moved on: " + run.ID + " is now " + card.StateText(run) + ". Nothing was changed."
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
