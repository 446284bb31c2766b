package rotation

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// fail moves the run to a failed state with a reason for people, unless the
// process is stopping (then nothing is recorded and a resumed process redoes the step).
func (e *Engine) fail(ctx context.Context, r *Run, ev Event, step StepName, err error) (*Run, error) {
	if crashed(ctx, err) {
		return r, ctx.Err()
	}
	msg := ErrorMessage(err)
	e.runLog(r).Warn("step failed", "failed_step", step, "err", msg, "cause", err)
	nr, terr := e.transition(context.WithoutCancel(ctx), r.ID, ev, func(x *Run) error {
		x.stepEnd(step, StepFailed, "", msg, e.now())
		x.Notice = "Failed at " + string(step) + ": " + msg
		return nil
	})
	if terr != nil {
		return r, terr
	}
	e.notify(ctx, nr, nr.Notice)
	return nr, nil
}

// precheck is step 1: read the current value, ask GitHub who it is.
func (e *Engine) precheck(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepPrecheck)
	cur, _ := e.refs(r)
	var vv VaultValue
	var info TokenInfo
	dead := false
	err := e.withUnavailable(ctx, r, "Infisical or GitHub unavailable", func(cctx context.Context) error {
		var err error
		if vv, err = e.Vault.Read(cctx, cur); err != nil {
			return err
		}
		info, err = e.Checker.Check(cctx, vv.Value)
		if ErrorCode(err) == EUNAUTHORIZED {
			// The current token is dead: exactly when a rotation is most
			// urgent. Go on; the approver is told what could not be checked.
			dead, err = true, nil
		}
		return err
	})
	if err != nil {
		return e.fail(ctx, r, EvPrecheckFail, StepPrecheck, err)
	}
	var warnings []string
	msg := ""
	if dead {
		last, found, _ := e.Store.GetExpiry(ctx, r.Secret)
		info = TokenInfo{Login: last.Login, Kind: r.TokenKind}
		msg = "GitHub refuses the current token (401): it is expired or revoked, and production may already be failing — make the new token now"
		warnings = append(warnings, "The current token was already refused by GitHub (401) at pre-check")
		if !found || last.Login == "" {
			warnings = append(warnings, "The current token's login is unknown: check that the new token belongs to the right account")
		}
		e.recordExpiry(ctx, r.Secret, vv.Value.Fingerprint(), TokenInfo{Login: last.Login, Kind: r.TokenKind, ExpiresAt: last.ExpiresAt}, "GitHub refuses the current token (401)")
	} else {
		e.recordExpiry(ctx, r.Secret, vv.Value.Fingerprint(), info, "")
		msg = validatedMessage(info)
	}
	if !dead && info.Kind == FineGrained && info.Repos >= 0 {
		msg += ", sees " + Plural(info.Repos, "repository", "repositories")
	}
	if !dead && info.Kind == Classic && len(info.Scopes) > 0 {
		msg += ", scopes " + strings.Join(info.Scopes, ", ")
	}
	nr, err := e.transition(ctx, r.ID, EvPrecheckOK, func(x *Run) error {
		now := e.now()
		x.Login, x.OldExpiry, x.VaultVersionBefore = info.Login, info.ExpiresAt, vv.Version
		if err := e.ensureDigestKey(x); err != nil {
			return err
		}
		x.OldFingerprint, x.OldDigest = vv.Value.Fingerprint(), x.DigestOf(vv.Value)
		x.Warnings = warnings
		x.Notice, x.RetryAt = "", time.Time{}
		x.stepEnd(StepPrecheck, StepDone, "", msg, now)
		x.stepStart(StepGenerate, "", now)
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, "Pre-check: "+msg)
	return nr, nil
}

// recordExpiry keeps what is known of a secret's current token (for reminders).
// Reminders already sent for the same token are kept.
func (e *Engine) recordExpiry(ctx context.Context, secret, fp string, info TokenInfo, problem string) {
	rec := ExpiryRecord{Secret: secret, Fingerprint: fp, Login: info.Login, Kind: info.Kind, ExpiresAt: info.ExpiresAt, CheckedAt: e.now(), Problem: problem}
	if old, ok, err := e.Store.GetExpiry(ctx, secret); err == nil && ok && old.Fingerprint == fp {
		rec.Sent = old.Sent
	}
	if err := e.Store.PutExpiry(ctx, rec); err != nil {
		e.Log.Warn("could not record expiry", "secret", secret, "err", err)
	}
}

// store is step 4: promote the pending value to the current one. Values are
// compared by the run's digest (never the 8-hex fingerprint, which can be
// collided), and the pending value's shape is checked again before it is
// promoted. Re-run after a crash, it sees the promotion already done by the
// current value's digest.
func (e *Engine) store(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepStore)
	cur, pend := e.refs(r)
	version := 0
	// Meanwhile, each Heroku app's newest release: the one each write makes
	// will be newer, so verify can tell it (read here, off the writes' path).
	befores := e.releasesBefore(ctx, r)
	err := e.withUnavailable(ctx, r, "Infisical unavailable", func(cctx context.Context) error {
		now, err := e.Vault.Read(cctx, cur)
		if err != nil {
			return err
		}
		if r.IsNew(now.Value) {
			version = now.Version // promoted before a crash
		} else {
			p, err := e.Vault.Read(cctx, pend)
			if err != nil {
				if ErrorCode(err) == ENOTFOUND {
					return Errorf(EINVALID, "The pending value is gone from Infisical: press Rollback, and start a new run")
				}
				return err
			}
			if !r.IsNew(p.Value) {
				return Errorf(EINVALID, "The pending value in Infisical is not the token that was approved: Rollback and start a new run")
			}
			if _, err := TokenShape(p.Value.Reveal()); err != nil {
				return Errorf(EINVALID, "The pending value in Infisical is not a GitHub token (%s): Rollback and start a new run", ErrorMessage(err))
			}
			if version, err = e.Vault.Write(cctx, cur, p.Value); err != nil {
				return err
			}
		}
		return e.Vault.Delete(cctx, pend)
	})
	before := <-befores
	if err != nil {
		return e.fail(ctx, r, EvStoreFail, StepStore, err)
	}
	nr, err := e.transition(ctx, r.ID, EvStored, func(x *Run) error {
		now := e.now()
		for i, v := range before {
			x.Destinations[i].Restart = &Restart{Before: v, Phase: RestartReleasing}
		}
		x.NewVaultVersion = version
		x.Notice, x.RetryAt = "", time.Time{}
		x.stepEnd(StepStore, StepDone, "", fmt.Sprintf("Infisical %s%s is now version %d (was %d)", cur.Path, cur.Key, version, r.VaultVersionBefore), now)
		x.stepStart(StepPropagate, "", now)
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, fmt.Sprintf("Stored in Infisical as version %d", version))
	return nr, nil
}

// currentNew reads the new value from the vault and makes sure it is the one the
// run stored.
func (e *Engine) currentNew(ctx context.Context, r *Run) (Secret, error) {
	cur, _ := e.refs(r)
	var v VaultValue
	err := e.withUnavailable(ctx, r, "Infisical unavailable", func(cctx context.Context) error {
		var err error
		v, err = e.Vault.Read(cctx, cur)
		return err
	})
	if err != nil {
		return Secret{}, err
	}
	if !r.IsNew(v.Value) {
		return Secret{}, Errorf(EINVALID, "Infisical now holds a different value for %s than this run stored (%s, expected %s): someone changed it, or a late write landed; check its history in Infisical, then Rollback or start a new run", r.Secret, v.Value.Fingerprint(), r.NewFingerprint)
	}
	return v.Value, nil
}

// forEachDest runs fn for the destinations picked, in parallel, and records each
// outcome as soon as it is known. Outcomes that become known while another is
// being recorded are recorded together in the next store transaction, so a
// hundred apps answering at once cost a few writes rather than a hundred in a
// row; every outcome is recorded before forEachDest returns.
//
// fn may return the release its write made (a target that restarts): it is
// recorded with the outcome.
func (e *Engine) forEachDest(ctx context.Context, r *Run, pick func(Destination) bool, fn func(context.Context, Destination) (DestEvent, *Restart, error)) []error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var known []destOutcome // not recorded yet
	wake := make(chan struct{}, 1)
	for i, d := range r.Destinations {
		if !pick(d) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ev DestEvent
			var rs *Restart
			var started time.Time
			err := e.withUnavailable(ctx, r, d.Label()+" unavailable", func(cctx context.Context) (err error) {
				started = e.now()
				// A panic (a bug in an adapter) fails this destination alone,
				// like any error: logged without its value, retried by Retry.
				defer func() {
					if p := recover(); p != nil {
						e.logPanic(r, string(d.Label()), p)
						err = Errorf(EINTERNAL, "internal error, see the bot's logs")
					}
				}()
				ev, rs, err = fn(cctx, d)
				return err
			})
			if crashed(ctx, err) {
				return // not recorded: a resumed process redoes it
			}
			if err != nil {
				ev = DestEvFail
			}
			mu.Lock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.Label(), err))
			}
			known = append(known, destOutcome{i: i, d: d, ev: ev, err: err, restart: rs, started: started, finished: e.now()})
			mu.Unlock()
			select {
			case wake <- struct{}{}:
			default:
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	record := func() {
		mu.Lock()
		batch := known
		known = nil
		mu.Unlock()
		if len(batch) > 0 {
			e.recordDests(ctx, r, batch)
		}
	}
	for {
		select {
		case <-wake:
			record()
		case <-done:
			record()
			return errs
		}
	}
}

// destOutcome is what became of one destination in forEachDest.
type destOutcome struct {
	i                 int // in Run.Destinations
	d                 Destination
	ev                DestEvent
	err               error
	restart           *Restart // the release a write made
	started, finished time.Time
}

// recordDests records outcomes in one store transaction. One the state table
// refuses is logged and left out; the others are recorded.
func (e *Engine) recordDests(ctx context.Context, r *Run, batch []destOutcome) {
	var refused []error
	_, uerr := e.update(context.WithoutCancel(ctx), r.ID, func(x *Run) error {
		refused = refused[:0]
		for _, o := range batch {
			xd := &x.Destinations[o.i]
			to, terr := NextDest(xd.State, o.ev)
			if terr != nil {
				refused = append(refused, fmt.Errorf("%s: %w", o.d.Label(), terr))
				continue
			}
			xd.State = to
			if o.err != nil {
				xd.LastError = ErrorMessage(o.err)
				if ErrorCode(o.err) == ENOTFOUND {
					// The adapter cannot know who named the target: say it.
					xd.LastError += " — " + xd.Origin()
				}
				if c := ErrorCode(o.err); o.ev == DestEvFail && o.d.State == DestWriting && (c == EUNAVAILABLE || c == EINTERNAL) {
					xd.MaybeWritten = true
				}
			} else {
				xd.LastError = ""
				switch o.ev {
				case DestEvWritten:
					// When the write was sent: a read-back must find a change
					// at or after it (GitHub's updated_at has whole seconds).
					xd.Written = o.started
					// A new write makes a new release to wait for, and a
					// new log watch once the target is up on it.
					xd.Restart, xd.Watch = o.restart, nil
				}
				xd.Finished = o.finished
			}
		}
		if len(refused) == len(batch) {
			return refused[0] // nothing to record
		}
		return nil
	})
	for _, err := range refused {
		e.runLog(r).Error("could not record a destination", "err", err)
	}
	if uerr != nil && len(refused) < len(batch) {
		for _, o := range batch {
			e.runLog(r).Error("could not record a destination", "dest", o.d.Label(), "err", uerr)
		}
	}
}

// propagate is step 5: set the new value on every destination not yet written, in
// parallel, through the guarded write path. A failing one does not stop the others.
func (e *Engine) propagate(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepPropagate)
	todo := func(d Destination) bool {
		return d.State == DestPending || d.State == DestWriting || d.State == DestFailed
	}
	var errs []error
	var uerr error // the record could not be written: the step stops, not fails
	werr := e.WriteValue(ctx, e.runWrite(r, todo), func(ctx context.Context, _ Secret, set Setter) error {
		// Record the writes as in flight first: a crash now redoes exactly these.
		nr, err := e.update(ctx, r.ID, func(x *Run) error {
			for i := range x.Destinations {
				d := &x.Destinations[i]
				if !todo(*d) {
					continue
				}
				to, err := NextDest(d.State, DestEvWrite)
				if err != nil {
					return err
				}
				d.State = to
				d.Attempts++
			}
			return nil
		})
		if err != nil {
			uerr = err
			return err
		}
		r = nr
		e.notify(ctx, r, "")
		errs = e.forEachDest(ctx, r, func(d Destination) bool { return d.State == DestWriting },
			func(cctx context.Context, d Destination) (DestEvent, *Restart, error) {
				if d.Kind == DestShellRC {
					if e.Notifier == nil {
						return "", nil, Errorf(EINTERNAL, "no way to message %s", d.Target)
					}
					return DestEvAsked, nil, e.Notifier.AskOperator(cctx, r, d.Target, OperatorUpdate)
				}
				// A target that restarts: the release this write makes is newer
				// than the newest one before it (noted at the store step, or by
				// the write before this one; read now when neither is known).
				rs, err := e.releaseBefore(cctx, d)
				if err != nil {
					return "", nil, err
				}
				if err := set(cctx, d); err != nil {
					return "", nil, err
				}
				if rs != nil {
					rs.Since = e.now()
				}
				return DestEvWritten, rs, nil
			})
		return nil
	})
	switch {
	case uerr != nil:
		return r, uerr
	case werr != nil:
		return e.fail(ctx, r, EvPropagateFail, StepPropagate, werr)
	}
	r, stop, err := e.settle(ctx, r, errs, EvPropagateFail, StepPropagate, hintPropagate)
	if stop {
		return r, err
	}
	nr, err := e.transition(ctx, r.ID, EvPropagated, func(x *Run) error {
		now := e.now()
		x.Notice, x.RetryAt = "", time.Time{}
		x.stepEnd(StepPropagate, StepDone, "", fmt.Sprintf("%d destinations set", len(x.Destinations)), now)
		x.stepStart(StepVerify, "", now)
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, "Propagated to every destination")
	return nr, nil
}

// settle reloads the run once its destinations' outcomes are recorded. stop is
// true when the step ends here: the process is stopping, or a destination failed
// (then the run moved to the failed state, with every failure named).
func (e *Engine) settle(ctx context.Context, r *Run, errs []error, ev Event, step StepName, hint string) (*Run, bool, error) {
	if ctx.Err() != nil {
		return r, true, ctx.Err()
	}
	nr, err := e.Store.GetRun(ctx, r.ID)
	if err != nil {
		return nil, true, err
	}
	if len(errs) > 0 {
		nr, err = e.fail(ctx, nr, ev, step, destErrors(nr, errs, hint))
		return nr, true, err
	}
	return nr, false, nil
}

func destErrors(r *Run, errs []error, hint string) error {
	var parts []string
	for _, err := range errs {
		parts = append(parts, ErrorMessage(err))
	}
	code := EINVALID
	for _, err := range errs {
		if ErrorCode(err) == EUNAVAILABLE {
			code = EUNAVAILABLE
		}
	}
	return Errorf(code, "%d of %d destinations failed (%s). %s", len(errs), len(r.Destinations), strings.Join(parts, "; "), hint)
}

// verify is step 6: read every written destination back, run the routing matrix's
// HTTP checks, and try the workload probe with the new token.
func (e *Engine) verify(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepVerify)
	sc, err := e.Matrix.Secret(r.Secret)
	if err != nil {
		return e.fail(ctx, r, EvVerifyFail, StepVerify, err)
	}
	value, err := e.currentNew(ctx, r)
	if err != nil {
		return e.fail(ctx, r, EvVerifyFail, StepVerify, err)
	}
	// Until a restarted target runs its new release it still uses the old
	// value: nothing is checked before every one is up (or has failed).
	errs := e.awaitRestarts(ctx, r)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if e.draining.Load() {
		// Stopping while a restart is waited for: the step ends here, and
		// the next process waits on from the record.
		return e.Store.GetRun(ctx, r.ID)
	}
	if r, err = e.Store.GetRun(ctx, r.ID); err != nil {
		return nil, err
	}
	e.rewatch(ctx, r)
	errs = append(errs, e.forEachDest(ctx, r, func(d Destination) bool { return d.State == DestWritten || d.State == DestVerified },
		func(cctx context.Context, d Destination) (DestEvent, *Restart, error) {
			c, ok := e.Consumers[d.Kind]
			if !ok {
				return "", nil, Errorf(EINTERNAL, "no consumer for %s is configured", d.Kind)
			}
			return DestEvVerified, nil, c.Verify(cctx, d.Target, d.VarName(r.Secret), value, d.Written)
		})...)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	checkErrs, extra := e.verifyChecks(ctx, r, sc, value)
	errs = append(errs, checkErrs...)
	// A log watch that started during this step may have failed a destination.
	if cur, err := e.Store.GetRun(ctx, r.ID); err == nil {
		errs = append(errs, newErrors(errs, watchFailures(cur))...)
	}
	r, stop, err := e.settle(ctx, r, errs, EvVerifyFail, StepVerify, hintVerify)
	if stop {
		return r, err
	}
	// Last, the vault itself: a late write (a call given up earlier) or someone
	// else's would show here, and the run must not go on as if it had not.
	if _, err := e.currentNew(ctx, r); err != nil {
		return e.fail(ctx, r, EvVerifyFail, StepVerify, err)
	}
	return e.verified(ctx, r, extra)
}

// verified ends step 6 once every check passed (extra names the checks beyond
// the read-backs): it looks for other holders of the old token, then moves the
// run on to revoke — unless a log watch matched meanwhile.
func (e *Engine) verified(ctx context.Context, r *Run, extra []string) (*Run, error) {
	msg := "every destination holds the new value"
	if len(extra) > 0 {
		msg += "; " + strings.Join(extra, ", ")
	}
	// Before anyone may revoke: who else still holds the old token?
	found := e.discoverOld(ctx, r)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	e.pause(pauseVerified)
	// A log watch match recorded since verify's own look fails this transition
	// (matchWins, in its transaction): the run goes to verify failed instead.
	nr, err := e.transition(ctx, r.ID, EvVerified, func(x *Run) error {
		now := e.now()
		x.Notice, x.RetryAt = "", time.Time{}
		x.OldHolders = found
		x.stepEnd(StepVerify, StepDone, "", msg, now)
		if x.Method == MethodSlack {
			x.stepStart(StepRevoke, "", now)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if nr.State == StateVerifyFailed {
		e.notify(ctx, nr, "❌ "+nr.Notice)
		return nr, nil
	}
	e.notify(ctx, nr, "Verified: "+msg+found.VerifyText())
	if nr.Method == MethodCLI {
		// The bridge script leaves revoking to a person: its SUMMARY says how.
		return e.transition(ctx, nr.ID, EvSkipRevoke, func(x *Run) error {
			x.stepEnd(StepRevoke, StepSkipped, "", "revoke the old token by hand (see the SUMMARY)", e.now())
			x.stepStart(StepAudit, "", e.now())
			return nil
		})
	}
	return nr, nil
}

// verifyChecks runs the routing matrix's HTTP checks and the workload probe with
// the new token: what failed, and what passed (for the step's message).
func (e *Engine) verifyChecks(ctx context.Context, r *Run, sc *SecretConfig, value Secret) (errs []error, passed []string) {
	for _, check := range sc.Verify {
		if e.HTTP == nil {
			continue
		}
		err := e.withUnavailable(ctx, r, "verify "+check.Name, func(cctx context.Context) error { return e.HTTP.CheckHTTP(cctx, check) })
		if err != nil {
			errs = append(errs, err)
		} else {
			passed = append(passed, check.Name+" ok")
		}
	}
	if sc.Probe != "" {
		err := e.withUnavailable(ctx, r, "GitHub unavailable", func(cctx context.Context) error { return e.Checker.Probe(cctx, value, sc.Probe) })
		if err != nil {
			errs = append(errs, Wrap(ErrorCode(err), err, "workload probe with the new token: %s", ErrorMessage(err)))
		} else {
			passed = append(passed, "workload probe ok")
		}
	}
	return errs, passed
}

// Audit builds the run's audit entry for action.
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
		x.Notice, x.RetryAt = fmt.Sprintf("Rolled back by %s: the old token is current again everywhere", Mention(x.RolledBackBy)), time.Time{}
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, nr.Notice)
	return nr, nil
}
