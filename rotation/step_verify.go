package rotation

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Step 6, verify: every written destination read back, the routing matrix's
// HTTP checks, the workload probe with the new token, and a last look for other
// holders of the old token before anyone may revoke it. Its waits are below: a
// destination that restarts is verified only once it runs the new value.

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
	said := ""
	if e.Holders != nil && found != nil {
		said = e.Holders.VerifyText(found)
	}
	e.notify(ctx, nr, "Verified: "+msg+said)
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

// discoverOld ends verify: it scans for the old token, which is about to be
// revoked, and returns the places outside the run's destinations that still hold
// it. nil when nothing can be scanned or the old token is not known.
func (e *Engine) discoverOld(ctx context.Context, r *Run) *Discovery {
	if e.Holders == nil || r.VaultVersionBefore == 0 || r.OldFingerprint == "" {
		return nil
	}
	cur, _ := e.refs(r)
	cctx, cancel := e.callCtx(ctx)
	old, err := e.Vault.ReadVersion(cctx, cur, r.VaultVersionBefore)
	cancel()
	switch {
	case err != nil:
		return &Discovery{At: e.now(), Problem: "could not read the old token from Infisical to look for it: " + ErrorMessage(err)}
	case !r.IsOld(old): // the run's one rule: its keyed digest, else the fingerprint
		return &Discovery{At: e.now(), Problem: fmt.Sprintf("Infisical version %d of %s is not the old token, so rotabot could not look for it", r.VaultVersionBefore, r.Secret)}
	}
	sctx, stop := context.WithTimeout(ctx, verifyScanLimit)
	defer stop()
	d := e.Holders.FindHolders(sctx, old.Digest(), HeldBy(r.Secret, r.Destinations))
	if ctx.Err() != nil {
		return nil // stopping: the resumed verify scans again
	}
	return d
}

// Verify's waits. A Heroku config change makes a release and restarts the app
// onto it; until the dynos run that release, the app still uses the old value.
// Propagate notes the release each write made; verify waits, through the
// Restarts port (rotation/release), for it to succeed and for the dynos to be up
// on it before any check, each wait bounded by the routing matrix, and then
// starts the app's log watch (RestartSeen).

// restartPending reports whether verify still waits for d's restart.
func restartPending(d Destination) bool {
	if d.Restart == nil || d.State != DestWritten && d.State != DestVerified {
		return false
	}
	switch d.Restart.Phase {
	case RestartReleasing, RestartRestarting:
		return true
	}
	return false
}

// awaitRestarts waits, in parallel, for every destination that restarts to run
// its new release. A release that fails, or a wait that runs out, fails that
// destination; the errors are returned for the step.
func (e *Engine) awaitRestarts(ctx context.Context, r *Run) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i, d := range r.Destinations {
		if !restartPending(d) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error = Errorf(EINTERNAL, "no restart waiter is configured")
			if e.Restarts != nil {
				err = e.Restarts.AwaitRestart(ctx, r, i)
			}
			if err == nil || crashed(ctx, err) || e.draining.Load() {
				return // a stopping process records nothing: the next one waits on
			}
			mu.Lock()
			errs = append(errs, fmt.Errorf("%s: %w", d.Label(), err))
			mu.Unlock()
			e.recordDests(ctx, r, []destOutcome{{i: i, d: d, ev: DestEvFail, err: err, finished: e.now()}})
		}()
	}
	wg.Wait()
	return errs
}

// RestartWaiter's calls into the engine: the bounds of its waits, whether the
// process is stopping, and what it saw.

// RestartBounds are the routing matrix's bounds of a restart's two waits: for
// the release to finish, then for the dynos to be up on it.
func (e *Engine) RestartBounds() (release, restart time.Duration) {
	return e.heroku.ReleaseTimeout, e.heroku.RestartTimeout
}

// WithUnavailable is withUnavailable for a wait outside the engine: fn is
// called again, the wait shown on the run, while its service is unavailable.
func (e *Engine) WithUnavailable(ctx context.Context, r *Run, what string, fn func(context.Context) error) error {
	return e.withUnavailable(ctx, r, what, fn)
}

// Draining reports whether the process is stopping: a wait ends, recording
// nothing, and the next process waits on from the record.
func (e *Engine) Draining() bool { return e.draining.Load() }

// RestartSeen stores destination i's restart as it now stands and shows it;
// once the target runs the new value, its log watch starts.
func (e *Engine) RestartSeen(ctx context.Context, r *Run, i int, rs Restart) {
	watch := e.watchFor(r, r.Destinations[i], rs)
	nr, err := e.update(context.WithoutCancel(ctx), r.ID, func(x *Run) error {
		d := &x.Destinations[i]
		cp := rs
		d.Restart = &cp
		if watch != nil {
			w := *watch
			d.Watch = &w
		}
		return nil
	})
	if err != nil {
		e.runLog(r).Error("could not record a restart", "dest", r.Destinations[i].Label(), "err", err)
		return
	}
	note := ""
	switch rs.Phase {
	case RestartUp:
		note = fmt.Sprintf("%s runs release v%d", r.Destinations[i].Label(), rs.Release)
		if rs.NoRelease {
			note = fmt.Sprintf("%s held the value already: the write made no new release, and release v%d runs it", r.Destinations[i].Label(), rs.Release)
		}
	case RestartNoDynos:
		note = fmt.Sprintf("%s is scaled to zero: release v%d has nothing to restart", r.Destinations[i].Label(), rs.Release)
	}
	e.notify(ctx, nr, note)
	if watch != nil {
		e.watchRun(ctx, r.ID)
	}
}

// rewatch starts a new log watch on targets that are up on their release but
// whose watch a retry stopped.
func (e *Engine) rewatch(ctx context.Context, r *Run) {
	for i, d := range r.Destinations {
		if d.Restart == nil || d.Restart.Phase != RestartUp || d.State != DestWritten && d.State != DestVerified {
			continue
		}
		if d.Watch != nil && d.Watch.State != WatchStopped {
			continue
		}
		if e.watchFor(r, d, *d.Restart) != nil {
			e.RestartSeen(ctx, r, i, *d.Restart)
		}
	}
}

// newErrors are the errors of more whose destination errs does not name yet.
func newErrors(errs, more []error) []error {
	var out []error
	for _, m := range more {
		label, _, _ := strings.Cut(m.Error(), ": ")
		dup := false
		for _, e := range errs {
			if strings.HasPrefix(e.Error(), label+": ") {
				dup = true
			}
		}
		if !dup {
			out = append(out, m)
		}
	}
	return out
}
