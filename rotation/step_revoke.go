package rotation

import (
	"context"
	"strings"
	"time"
)

// Step 7 after a revoke button: what the bot does once a person chose to revoke
// the old token (the gesture, Engine.Revoke, recorded the attempt first).

// revoke is step 7 after a button: send the old token to GitHub's revoke endpoint
// (when asked to), then check that the old token answers 401.
func (e *Engine) revoke(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepRevoke)
	cur, _ := e.refs(r)
	var old Secret
	err := e.withUnavailable(ctx, r, "Infisical unavailable", func(cctx context.Context) error {
		var err error
		old, err = e.Vault.ReadVersion(cctx, cur, r.VaultVersionBefore)
		return err
	})
	if err == nil && !r.IsOld(old) {
		err = Errorf(EINVALID, "Infisical version %d of %s is not the old token this run replaced: revoke it by hand in GitHub's settings", r.VaultVersionBefore, r.Secret)
	}
	if err == nil && (!r.RevokeAttempted || r.RevokeMethod == RevokeAPI && !r.RevokeSent) {
		// A run that reached this step before the gesture recorded the attempt
		// (an older rotabot): record it now, before anything goes out.
		nr, uerr := e.update(ctx, r.ID, func(x *Run) error {
			x.RevokeAttempted = true
			x.RevokeSent = x.RevokeSent || x.RevokeMethod == RevokeAPI
			return nil
		})
		if uerr != nil {
			return r, uerr
		}
		r = nr
	}
	if err == nil && r.RevokeMethod == RevokeAPI {
		err = e.withUnavailable(ctx, r, "GitHub unavailable", func(cctx context.Context) error { return e.Revoker.Revoke(cctx, old) })
	}
	if err != nil {
		return e.revokePending(ctx, r, "Could not revoke: "+ErrorMessage(err))
	}
	e.pause(pauseRevokeCheck)
	for i := 0; i < e.RevokeChecks; i++ {
		if i > 0 {
			if err := e.Sleep(ctx, 2*time.Second); err != nil {
				return r, err
			}
		}
		cctx, cancel := e.callCtx(ctx)
		_, cerr := CheckAs(cctx, e.Checker, r.TokenKind, old)
		cancel()
		if crashed(ctx, cerr) {
			return r, ctx.Err()
		}
		if ErrorCode(cerr) == EUNAUTHORIZED {
			nr, err := e.transition(ctx, r.ID, EvRevokeConfirm, func(x *Run) error {
				now := e.now()
				x.Notice, x.RetryAt = "", time.Time{}
				// A log watch match recorded while the revoke was under
				// way: the confirmation says so, decided on the run as
				// this transaction finds it.
				if m := watchMatches(x); len(m) > 0 {
					x.Notice = "Revoke confirmed: the old token answers 401 — but while the revoke was under way " + strings.Join(m, "; ") +
						". Rollback is no longer possible: set the value there again, or start a new run with /rotate " + x.Secret
				}
				x.stepEnd(StepRevoke, StepDone, "", "the old token answers 401", now)
				x.stepStart(StepAudit, "", now)
				return nil
			})
			if err != nil {
				return r, err
			}
			note := "Revoke confirmed: the old token answers 401"
			if nr.Notice != "" {
				note = "❌ " + nr.Notice
			}
			e.notify(ctx, nr, note)
			return nr, nil
		}
		if cerr != nil && ErrorCode(cerr) != EUNAVAILABLE {
			return e.revokePending(ctx, r, "Could not check the old token: "+ErrorMessage(cerr))
		}
	}
	return e.revokePending(ctx, r, "The old token still works: "+r.TokenKind.Service()+" has not revoked it yet. Delete it at "+r.TokenKind.SettingsURL(e.Matrix.GitHubWeb)+" and press I revoked the old token again")
}

func (e *Engine) revokePending(ctx context.Context, r *Run, notice string) (*Run, error) {
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	// Back to waiting, unless a log watch matched while the revoke was under
	// way: then the run fails verify in the same transaction (matchWins).
	nr, err := e.transition(ctx, r.ID, EvRevokePending, func(x *Run) error {
		x.Notice = notice
		x.stepEnd(StepRevoke, StepRunning, "", notice, e.now())
		x.Step(StepRevoke).Finished = time.Time{}
		return nil
	})
	if err != nil {
		return r, err
	}
	if nr.State == StateVerifyFailed {
		notice += "\n❌ " + nr.Notice
	}
	e.notify(ctx, nr, notice)
	return nr, nil
}
