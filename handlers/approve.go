package handlers

import "context"

// approve is the Approve button. Who may approve (a second ops member, neither
// the requester nor the submitter) is the engine's rule: its refusal is the
// answer. Then the bot stores, propagates and verifies.
func (h *Handlers) approve(ctx context.Context, c *click) {
	_, err := h.Engine.Approve(ctx, c.run.ID, c.user)
	if h.answer(ctx, c, err) {
		h.Engine.Go(h.Work, c.run.ID)
	}
}
