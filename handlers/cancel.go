package handlers

import "context"

// cancel is the Cancel button, before approval: the pending value is deleted and
// nothing else changes. It acts on the run as it is now, from any card of the
// run (an out gesture): the person is told when their card was behind.
func (h *Handlers) cancel(ctx context.Context, c *click) {
	_, err := h.Engine.Cancel(ctx, c.run.ID, c.user)
	if h.answer(ctx, c, err) {
		c.behind(ctx)
	}
}
