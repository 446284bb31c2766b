package handlers

import "context"

// rollback is the Rollback button (behind a confirm dialog), possible from
// approval until the revoke is confirmed.
func (h *Handlers) rollback(ctx context.Context, c *click) {
	_, err := h.Engine.Rollback(ctx, c.run.ID, c.user)
	if h.answer(ctx, c, err) {
		h.Engine.Go(h.Work, c.run.ID)
	}
}
