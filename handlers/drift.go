package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// repairDrift is Set it from Infisical, pressed by an ops member (the confirm
// dialog went before), the drift and the version the post showed. A repair of every
// destination is only asked for: the post shows Approve.
func (h *Handlers) repairDrift(ctx context.Context, c *click) {
	if h.Drift == nil {
		c.reply.say(ctx, "The drift check is not running in this bot. Nothing was changed.")
		return
	}
	key, stamp, version := card.ParseDriftButton(c.action.Value)
	d, err := h.Drift.Repair(ctx, key, stamp, version, c.user)
	if !h.driftAnswer(ctx, c, err) {
		return
	}
	if d.Open {
		c.reply.say(ctx, fmt.Sprintf("Asked: another ops member approves setting every destination of %s from Infisical's version %d (`%s`) on the post. Nothing is written before.",
			d.Secret, d.RequestedVersion, d.Fingerprint))
		return
	}
	h.driftDone(ctx, c, d)
}

// approveDrift is Approve on a drift post: another ops member than the one
// who asked, for the version the request named.
func (h *Handlers) approveDrift(ctx context.Context, c *click) {
	if h.Drift == nil {
		c.reply.say(ctx, "The drift check is not running in this bot. Nothing was changed.")
		return
	}
	key, stamp, version := card.ParseDriftButton(c.action.Value)
	d, err := h.Drift.ApproveRepair(ctx, key, stamp, version, c.user)
	if h.driftAnswer(ctx, c, err) {
		h.driftDone(ctx, c, d)
	}
}

// driftAnswer tells the person a refusal (ephemeral): false when there was one.
func (h *Handlers) driftAnswer(ctx context.Context, c *click, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, drift.ErrMovedOn) || rotation.ErrorCode(err) != rotation.EINTERNAL:
		c.reply.say(ctx, rotation.ErrorMessage(err))
	default:
		c.reply.fail(ctx, err)
	}
	return false
}

func (h *Handlers) driftDone(ctx context.Context, c *click, d drift.Record) {
	c.reply.say(ctx, fmt.Sprintf("Done: %s on %s now holds Infisical's version %d (`%s`), verified. The audit entry is %s.",
		d.Secret, card.DriftPlace(d), d.VaultVersion, d.Fingerprint, rotation.ActionDriftRepaired))
}

// drift is /rotate drift: a drift pass now, and what is open after it.
func (h *Handlers) drift(ctx context.Context, r replier) {
	if h.Drift == nil {
		r.say(ctx, "The drift check is not running in this bot.")
		return
	}
	r.say(ctx, "⏳ Comparing every destination with Infisical…")
	rep, err := h.Drift.Pass(ctx)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.say(ctx, card.DriftReportText(rep))
}

// openDrifts is the open drift as stored (none when the drift check is off,
// or cannot be read: App Home and /rotate expiring go on without it).
func (h *Handlers) openDrifts(ctx context.Context) []drift.Record {
	if h.Drift == nil {
		return nil
	}
	ds, err := h.Drift.OpenDrifts(ctx)
	if err != nil {
		h.Log.Warn("could not read the open drift", "err", err)
		return nil
	}
	return ds
}
