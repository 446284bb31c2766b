package handlers

import "context"

// startFromReminder is a reminder's Start rotation button: the same as typing
// /rotate SECRET in the ops channel, with the same checks.
func (h *Handlers) startFromReminder(ctx context.Context, c *click) {
	if !h.requireOps(ctx, c.reply, c.user) {
		return
	}
	secret := c.action.Value
	if _, err := h.Matrix.Secret(secret); err != nil {
		c.reply.fail(ctx, err)
		return
	}
	h.start(ctx, c.reply, h.Matrix.Channel, c.user, secret)
}
