package handlers

import "context"

// retry is the Retry button of a failed step: only what failed is redone.
func (h *Handlers) retry(ctx context.Context, c *click) {
	_, err := h.Engine.Retry(ctx, c.run.ID, c.user)
	if h.answer(ctx, c, err) {
		h.Engine.Go(h.Work, c.run.ID)
	}
}
