package rotation

import (
	"context"
	"fmt"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
)

// Rollback: the old value back in the vault and on every destination the run
// may have reached, through the guarded write path.

// rollback restores the old value in the vault, sets it back on every destination
// already written and asks shell-rc operators to revert — after the guarded write
// path cleared the old token (it must still answer GitHub).
func (e *Engine) rollback(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepRollback)
	cur, pend := e.refs(r)
	restored := 0
	var errs []error
	err := e.WriteValue(ctx, e.rollbackWrite(r), func(ctx context.Context, old Secret, set Setter) error {
		err := e.withUnavailable(ctx, r, "Infisical unavailable", func(cctx context.Context) error {
			now, err := e.Vault.Read(cctx, cur)
			if err != nil {
				return err
			}
			restored = now.Version
			if !r.IsOld(now.Value) {
				if restored, err = e.Vault.Write(cctx, cur, old); err != nil {
					return err
				}
			}
			return e.Vault.Delete(cctx, pend)
		})
		if err != nil {
			return err
		}
		errs = e.forEachDest(ctx, r, restores,
			func(cctx context.Context, d Destination) (DestEvent, *Restart, error) {
				if d.Kind == DestShellRC {
					return DestEvRevert, nil, e.Notifier.AskOperator(cctx, r, d.Target, OperatorRevert)
				}
				return DestEvRevert, nil, set(cctx, d)
			})
		return nil
	})
	if err != nil {
		return e.fail(ctx, r, EvRollbackFail, StepRollback, err)
	}
	r, stop, err := e.settle(ctx, r, errs, EvRollbackFail, StepRollback, "Retry restores only those")
	if stop {
		return r, err
	}
	// Last, read the vault back: a late write of the new value (a call given up
	// earlier) must not leave Infisical and the consumers apart unseen.
	err = e.withUnavailable(ctx, r, "Infisical unavailable", func(cctx context.Context) error {
		now, err := e.Vault.Read(cctx, cur)
		if err != nil {
			return err
		}
		if !r.IsOld(now.Value) {
			return Errorf(EINVALID, "Infisical holds %s for %s at the end of the rollback, not the old token (%s): a late write landed, or someone changed it. Retry writes the old token back and checks again", now.Value.Fingerprint(), r.Secret, r.OldFingerprint)
		}
		return nil
	})
	if err == nil { // the new value is used nowhere now
		err = e.withUnavailable(ctx, r, r.TokenKind.Service()+" unavailable", func(cctx context.Context) error { return e.discardMinted(cctx, r) })
	}
	if err != nil {
		return e.fail(ctx, r, EvRollbackFail, StepRollback, err)
	}
	err = e.withUnavailable(ctx, r, "Slack unavailable", func(cctx context.Context) error {
		return e.publishAudit(cctx, r, ActionRolledBack)
	})
	if err != nil {
		return e.fail(ctx, r, EvRollbackFail, StepRollback, err)
	}
	nr, err := e.transition(ctx, r.ID, EvRolledBack, func(x *Run) error {
		now := e.now()
		if restored > 0 {
			x.RestoredVaultVersion = restored
		}
		x.endStepsRolledBack(now)
		x.Notice, x.RetryAt = fmt.Sprintf("Rolled back by %s: the old token is current again everywhere", words.Mention(x.RolledBackBy)), time.Time{}
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, nr.Notice)
	return nr, nil
}

// rollbackWrite is the write of the token a run replaced back to every
// destination it may have reached (restores).
func (e *Engine) rollbackWrite(r *Run) WriteRequest {
	w := e.runWrite(r, restores)
	w.Version, w.Restore, w.By, w.ApprovedBy = r.VaultVersionBefore, true, r.RolledBackBy, ""
	return w
}

// restores picks the destinations a rollback sets back: every one written, or
// whose failed write may have landed.
func restores(d Destination) bool {
	switch d.State {
	case DestPending, DestReverted:
		return false
	case DestFailed:
		return d.MaybeWritten || !d.Written.IsZero()
	}
	return true
}
