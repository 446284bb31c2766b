package handlers

import "context"

// rollback is the Rollback button (behind a confirm dialog), possible from
// approval until a revoke is attempted. It acts on the run as it is now, from
// any card of the run (a back gesture): the person is told when their card was
// behind.
func (h *Handlers) rollback(ctx context.Context, c *click) {
	_, err := h.Engine.Rollback(ctx, c.run.ID, c.user)
	if h.answer(ctx, c, err) {
		c.behind(ctx)
		h.Engine.Go(h.Work, c.run.ID)
	}
}
