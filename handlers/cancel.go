package handlers

import "context"

// cancel is the Cancel button, before approval: the pending value is deleted and
// nothing else changes.
func (h *Handlers) cancel(ctx context.Context, c *click) {
	_, err := h.Engine.Cancel(ctx, c.run.ID, c.user)
	h.answer(ctx, c, err)
}
