package rotation

import (
	"context"
	"time"
)

// Step 8, audit: the run's audit entry, stored once and posted.

// auditEntry builds the run's audit entry for action.
func (e *Engine) auditEntry(r *Run, action AuditAction) AuditEntry {
	ent := AuditEntry{
		Action: action, At: e.now(), RunID: r.ID, Secret: r.Secret, Actor: r.Requester,
		Approver: r.Approver, TokenKind: r.TokenKind, Method: r.Method, RevokeMethod: r.RevokeMethod,
		OldExpiry: r.OldExpiry, NewExpiry: r.NewExpiry, OldFingerprint: r.OldFingerprint, NewFingerprint: r.NewFingerprint,
	}
	if action == ActionRolledBack && r.RolledBackBy != "" {
		ent.Actor = r.RolledBackBy
	}
	for _, d := range r.Destinations {
		res := string(d.State)
		if d.LastError != "" {
			res += ": " + d.LastError
		}
		ent.Destinations = append(ent.Destinations, DestResult{Destination: d.Label(), Result: res})
	}
	for _, d := range r.Dropped {
		ent.Destinations = append(ent.Destinations, DestResult{Destination: d.Label(), Result: "dropped from the run (" + d.fromText() + "): " + d.Holds()})
	}
	return ent
}

// publishAudit stores the entry (once per run and action) and posts it.
func (e *Engine) publishAudit(ctx context.Context, r *Run, action AuditAction) error {
	ent := e.auditEntry(r, action)
	if err := e.Store.AppendAudit(ctx, ent); err != nil {
		return Wrap(EINTERNAL, err, "could not store the audit entry")
	}
	if e.Notifier != nil {
		if err := e.Notifier.Audited(ctx, r, ent); err != nil {
			return Wrap(ErrorCode(err), err, "could not post the audit entry: %s", ErrorMessage(err))
		}
	}
	return nil
}

// audit is step 8.
func (e *Engine) audit(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepAudit)
	err := e.withUnavailable(ctx, r, "Slack unavailable", func(cctx context.Context) error {
		return e.publishAudit(cctx, r, ActionCompleted)
	})
	if err != nil {
		return e.fail(ctx, r, EvAuditFail, StepAudit, err)
	}
	e.recordExpiry(ctx, r.Secret, r.NewFingerprint, TokenInfo{Login: r.Login, Kind: r.TokenKind, ExpiresAt: r.NewExpiry}, "")
	nr, err := e.transition(ctx, r.ID, EvAudited, func(x *Run) error {
		x.Notice, x.RetryAt = "", time.Time{}
		x.stepEnd(StepAudit, StepDone, "", string(ActionCompleted), e.now())
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, "Completed: "+string(ActionCompleted)+" written")
	return nr, nil
}
