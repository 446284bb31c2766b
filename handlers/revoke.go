package handlers

import "context"

// revokeAPI is "Revoke old token now": the bot sends the old token to GitHub's
// revoke endpoint, then checks it answers 401.
func (h *Handlers) revokeAPI(ctx context.Context, c *click) { h.revoke(ctx, c, true) }

// revokeManual is "I revoked the old token": the bot checks it answers 401.
func (h *Handlers) revokeManual(ctx context.Context, c *click) { h.revoke(ctx, c, false) }

func (h *Handlers) revoke(ctx context.Context, c *click, viaAPI bool) {
	_, err := h.Engine.Revoke(ctx, c.run.ID, c.user, viaAPI)
	if h.answer(ctx, c, err) {
		h.Engine.Go(h.Work, c.run.ID)
	}
}
