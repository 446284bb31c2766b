package handlers

import "context"

// approve is the Approve button: a second ops member, neither the requester nor
// the submitter. Then the bot stores, propagates and verifies.
func (h *Handlers) approve(ctx context.Context, c *click) {
	switch c.user {
	case c.run.Requester:
		c.reply.say(ctx, "You started this run, so you may not approve it: another ops member must.")
		return
	case c.run.Submitter:
		c.reply.say(ctx, "You submitted the new token, so you may not approve it: another ops member must.")
		return
	}
	_, err := h.Engine.Approve(ctx, c.run.ID, c.user)
	if h.answer(ctx, c, err) {
		h.Engine.Go(h.work(), c.run.ID)
	}
}
