package handlers

import (
	"context"
	"fmt"

	"github.com/raxx-app/rotabot/rotation"
)

// startFromReminder is a reminder's Start rotation button (in an owner's DM or
// the ops channel): the same as typing /rotate SECRET in the ops channel, with
// the same checks. The run's card always goes to the ops channel; a press from
// elsewhere is told where it is.
func (h *Handlers) startFromReminder(ctx context.Context, c *click) {
	if !h.requireOps(ctx, c.reply, c.user) {
		return
	}
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
