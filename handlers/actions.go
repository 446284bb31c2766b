package handlers

import (
	"context"

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
	handler, ok := map[string]func(context.Context, *click){
		ActSubmit: h.openTokenModal, ActApprove: h.approve, ActCancel: h.cancel, ActRollback: h.rollback,
		ActRetry: h.retry, ActRevokeAPI: h.revokeAPI, ActRevokeManual: h.revokeManual, ActAbandon: h.openAbandonModal,
	}[a.ActionID]
	if !ok {
		h.Log.Warn("unknown action", "action", a.ActionID)
		return
	}
	if !h.requireOps(ctx, c.reply, c.user) {
		return
	}
	id, shown, stamp := parseButtonValue(a.Value)
	run, err := h.Store.GetRun(ctx, id)
	if err != nil || stamp != runStamp(run) {
		c.reply.say(ctx, "This button belongs to a run that is no longer here (was the bot's database reset?). Nothing was changed. `/rotate list` shows the open runs.")
		return
	}
	if run.State != shown {
		c.reply.say(ctx, movedOn(run))
		return
	}
	c.run = run
	handler(ctx, c)
}

// movedOn is the answer to a click whose moment has passed.
func movedOn(run *rotation.Run) string {
	return "This run has moved on: " + run.ID + " is now " + run.State.Word() + ". Nothing was changed."
}

// answer reports the engine's verdict on a gesture: a refusal to the person alone.
func (h *Handlers) answer(ctx context.Context, c *click, err error) bool {
	if err == nil {
		return true
	}
	if rotation.ErrorCode(err) == rotation.ECONFLICT {
		if run, gerr := h.Store.GetRun(ctx, c.run.ID); gerr == nil && run.State != c.run.State {
			c.reply.say(ctx, movedOn(run))
			return false
		}
	}
	c.reply.fail(ctx, err)
	return false
}
