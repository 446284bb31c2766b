package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// What every automatic step shares: calls to outside services retried while
// they are down (withUnavailable), a failure recorded for people (fail), the
// destinations of a run worked on in parallel with each outcome recorded as it
// is known (forEachDest), and the step records a run carries. Each step itself
// is in a file of its own (step_precheck.go … step_rollback.go), its waits
// beside it.

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

// recordExpiry keeps what is known of a secret's current token (for reminders).
// Reminders already sent for the same token, and when it was made, are kept. A
// record that says nothing new is not written again (ExpiryRecord.Stale), as
// the reminder pass does not.
func (e *Engine) recordExpiry(ctx context.Context, secret, fp string, info TokenInfo, problem string) {
	rec := ExpiryRecord{Secret: secret, Fingerprint: fp, Login: info.Login, Kind: info.Kind, ExpiresAt: info.ExpiresAt, CheckedAt: e.now(), Problem: problem}
	if old, ok, err := e.Store.GetExpiry(ctx, secret); err == nil && ok && old.Fingerprint == fp {
		rec.Sent, rec.Created, rec.CreatedUnknown = old.Sent, old.Created, old.CreatedUnknown
		if !rec.Stale(old) {
			return
		}
	}
	if err := e.Store.PutExpiry(ctx, rec); err != nil {
		e.Log.Warn("could not record expiry", "secret", secret, "err", err)
	}
}

// forEachDest runs fn for the destinations picked, in parallel, and records each
// outcome as soon as it is known, at most outcomeLinger later. Outcomes that
// become known within that, or while another is being recorded, are recorded
// together in one store transaction, so a hundred apps answering at once cost a
// few writes rather than a hundred in a row; every outcome is recorded before
// forEachDest returns.
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
			// Outcomes a few ms apart (apps answering together) go in one
			// write: wait outcomeLinger for the others, unless all are in.
			t := time.NewTimer(outcomeLinger)
			select {
			case <-done:
			case <-t.C:
			}
			t.Stop()
			record()
		case <-done:
			record()
			return errs
		}
	}
}

// outcomeLinger is how long forEachDest waits, once an outcome is known, for
// others to record with it.
const outcomeLinger = 5 * time.Millisecond

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

// withUnavailable calls fn and, while it fails because a service is down or rate
// limited, shows the wait on the run and tries again with a bounded backoff. The
// last error is returned for the step to fail with. A call that waits longer than
// SlowCall for its answer is shown too (watchCall).
func (e *Engine) withUnavailable(ctx context.Context, r *Run, what string, fn func(context.Context) error) error {
	tries, wait := e.UnavailableTries, e.RetryWait
	var err error
	for i := 1; ; i++ {
		cctx, cancel := e.callCtx(ctx)
		done := e.watchCall(ctx, r.ID, what, i, tries)
		err = fn(cctx)
		done()
		cancel()
		if err == nil || ErrorCode(err) != EUNAVAILABLE || i >= tries || ctx.Err() != nil {
			return err
		}
		d := RetryAfter(err)
		if d <= 0 {
			d = wait
			wait *= 2
		}
		if d > maxRetryAfter {
			d = maxRetryAfter
		}
		at := e.now().Add(d)
		notice := fmt.Sprintf("waiting: %s — %s; retrying at %s (try %d of %d)", what, ErrorMessage(err), at.Format("15:04:05 UTC"), i+1, tries)
		if nr, uerr := e.update(ctx, r.ID, func(x *Run) error { x.Notice, x.RetryAt = notice, at; return nil }); uerr == nil {
			e.notify(ctx, nr, notice)
		}
		if serr := e.Sleep(ctx, d); serr != nil {
			return serr
		}
	}
}

// crashed reports whether the process is stopping: then nothing more is recorded,
// and a resumed process redoes what was in flight.
func crashed(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ErrorCode(err) == EUNAVAILABLE)
}

func (r *Run) stepStart(name StepName, actor string, at time.Time) {
	if s := r.Step(name); s != nil {
		s.State, s.Started, s.Finished = StepRunning, at, time.Time{}
		if actor != "" {
			s.Actor = actor
		}
	}
}

func (r *Run) stepEnd(name StepName, st StepState, actor, msg string, at time.Time) {
	if s := r.Step(name); s != nil {
		s.State, s.Finished = st, at
		if s.Started.IsZero() {
			s.Started = at
		}
		if actor != "" {
			s.Actor = actor
		}
		if msg != "" {
			s.Message = msg
		}
	}
}

func newSteps() []StepRecord {
	steps := make([]StepRecord, len(StepNames))
	for i, n := range StepNames {
		steps[i] = StepRecord{Name: n, State: StepPending}
	}
	return steps
}
