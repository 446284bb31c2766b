package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// A Heroku config change makes a release and restarts the app onto it; until the
// dynos run that release, the app still uses the old value. Propagate notes the
// release each write made (the app's newest release, newer than the one before
// the write); verify waits for it to succeed and for the dynos to be up on it
// before any check, each wait bounded by the routing matrix, and then starts the
// app's log watch.

// releaseBefore is the Restart a write on d starts from: the newest release
// known before it — noted at the store step, or the release of the write before
// (a retry) — or read now when neither is known. nil when d's kind does not
// restart.
func (e *Engine) releaseBefore(ctx context.Context, d Destination) (*Restart, error) {
	rel, ok := e.Releasers[d.Kind]
	if !ok {
		return nil, nil
	}
	if d.Restart != nil {
		return &Restart{Before: max(d.Restart.Before, d.Restart.Release), Phase: RestartReleasing}, nil
	}
	latest, err := rel.LatestRelease(ctx, d.Target)
	if err != nil {
		return nil, err
	}
	return &Restart{Before: latest.Version, Phase: RestartReleasing}, nil
}

// releasesBefore reads, in parallel, the newest release of every destination
// that restarts and has none noted yet; the channel gets them by destination
// once all have answered. One that cannot be read is left out (propagate reads
// it before its write).
func (e *Engine) releasesBefore(ctx context.Context, r *Run) <-chan map[int]int {
	out := make(chan map[int]int, 1)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		vs = map[int]int{}
	)
	for i, d := range r.Destinations {
		rel, ok := e.Releasers[d.Kind]
		if !ok || d.Restart != nil || d.State != DestPending {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := e.callCtx(ctx)
			defer cancel()
			if latest, err := rel.LatestRelease(cctx, d.Target); err == nil {
				mu.Lock()
				vs[i] = latest.Version
				mu.Unlock()
			}
		}()
	}
	go func() {
		wg.Wait()
		out <- vs
	}()
	return out
}

// noReleaseGrace is how long after a write verify looks for the release it made
// before it takes the write to have made none (a value the app already held):
// Heroku makes the release before it answers the write.
const noReleaseGrace = 10 * time.Second

// errDrained ends a wait when the process stops: nothing is recorded, and the
// wait resumes at the next start.
var errDrained = errors.New("the process is stopping")

// pollEvery is how often a wait bounded by bound looks at most: about sixty
// times within it, at most every 5 s (Heroku refills its rate limit by 75
// requests a minute) and at least every 100 ms.
func pollEvery(bound time.Duration) time.Duration {
	return min(max(bound/60, 100*time.Millisecond), 5*time.Second)
}

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

// awaitRestarts waits, in parallel, for the release of every destination that
// restarts and for its dynos to be up on it, recording each change for the card.
// A release that fails, or a wait that runs out, fails that destination; the
// errors are returned for the step. Once a target is up, its log watch starts.
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
			err := e.awaitRestart(ctx, r, i, d)
			if err == nil || crashed(ctx, err) || errors.Is(err, errDrained) {
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

// awaitRestart follows one destination's release and restart until it is up,
// fails, or its wait runs out.
func (e *Engine) awaitRestart(ctx context.Context, r *Run, i int, d Destination) error {
	rel := e.Releasers[d.Kind]
	rs := *d.Restart
	if rs.Since.IsZero() {
		rs.Since = e.now()
	}
	// The wait is said if it lasts (watchWait), with what it waits for and
	// until when.
	shown, doneWait := "", func() {}
	defer func() { doneWait() }()
	// Look soon, then less and less often: most releases are done in seconds.
	wait := 250 * time.Millisecond
	for {
		next := rs
		err := e.withUnavailable(ctx, r, d.Label()+" unavailable", func(cctx context.Context) error {
			return e.lookRestart(cctx, rel, d.Target, &next)
		})
		if err != nil {
			return err
		}
		if !sameRestart(next, rs) {
			rs = next
			e.recordRestart(ctx, r, i, rs)
		}
		switch rs.Phase {
		case RestartUp, RestartNoDynos:
			return nil
		case RestartFailed:
			return e.restartFailure(rel, d.Target, rs)
		}
		now := e.now()
		bound, since := e.heroku.ReleaseTimeout, rs.Since
		if rs.Phase == RestartRestarting {
			bound, since = e.heroku.RestartTimeout, rs.Released
		}
		if now.Sub(since) >= bound {
			return e.restartTimeout(rel, d.Target, rs, bound)
		}
		if rs.Phase != shown {
			doneWait()
			doneWait, shown = e.watchWait(ctx, r.ID, restartWaitText(d, rs), since.Add(bound)), rs.Phase
		}
		if e.draining.Load() {
			return errDrained // the next process waits on
		}
		if err := e.Sleep(ctx, min(wait, pollEvery(bound))); err != nil {
			return err
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// lookRestart reads where rs's release and restart stand now.
func (e *Engine) lookRestart(ctx context.Context, rel Releaser, target string, rs *Restart) error {
	if rs.Release == 0 {
		// The release the write made: the newest one, newer than the one
		// before the write (Range: version ..; max=1, order=desc).
		latest, err := rel.LatestRelease(ctx, target)
		if err != nil {
			return err
		}
		if latest.Version <= rs.Before {
			if e.now().Sub(rs.Since) < noReleaseGrace {
				return nil // not there yet
			}
			// None: the app held the value already, and its newest
			// release runs it.
			rs.NoRelease = true
		}
		rs.Release, rs.Created = latest.Version, latest.Created
	}
	got, err := rel.Release(ctx, target, rs.Release)
	if err != nil {
		return err
	}
	if rs.Created.IsZero() {
		rs.Created = got.Created
	}
	switch got.Status {
	case ReleasePending:
		rs.Phase = RestartReleasing
		return nil
	case ReleaseFailed:
		rs.Phase = RestartFailed
		return nil
	}
	if rs.Released.IsZero() {
		rs.Released = e.now()
	}
	dynos, err := rel.Dynos(ctx, target)
	if err != nil {
		return err
	}
	// As the Heroku CLI's ps:wait: a dyno counts when it is up on this release
	// or a newer one.
	rs.Dynos, rs.Up, rs.Crashed = len(dynos), 0, nil
	for _, dy := range dynos {
		switch {
		case dy.Release >= rs.Release && dy.State == DynoUp:
			rs.Up++
		case dy.Release >= rs.Release && dy.State == DynoCrashed:
			rs.Crashed = append(rs.Crashed, dy.Name)
		}
	}
	switch {
	case len(dynos) == 0:
		rs.Phase, rs.Done = RestartNoDynos, e.now()
	case rs.Up == len(dynos):
		rs.Phase, rs.Done = RestartUp, e.now()
	default:
		rs.Phase = RestartRestarting
	}
	return nil
}

func sameRestart(a, b Restart) bool {
	return a.Release == b.Release && a.Phase == b.Phase && a.Up == b.Up && a.Dynos == b.Dynos &&
		strings.Join(a.Crashed, ",") == strings.Join(b.Crashed, ",")
}

// recordRestart stores a destination's restart as it now stands and shows it;
// once the target runs the new value, its log watch starts.
func (e *Engine) recordRestart(ctx context.Context, r *Run, i int, rs Restart) {
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

// restartFailure is the error of a failed release.
func (e *Engine) restartFailure(rel Releaser, target string, rs Restart) error {
	return Errorf(EINVALID, "Heroku release v%d of %s failed: see %s", rs.Release, target, rel.ActivityURL(target))
}

// restartTimeout is the error of a wait that ran out.
func (e *Engine) restartTimeout(rel Releaser, target string, rs Restart, bound time.Duration) error {
	if rs.Phase == RestartRestarting {
		why := fmt.Sprintf("%d of %d up", rs.Up, rs.Dynos)
		if len(rs.Crashed) > 0 {
			why += "; crashed: " + strings.Join(rs.Crashed, ", ")
		}
		return Errorf(EINVALID, "The dynos of %s did not come up on release v%d within %s (%s): see %s", target, rs.Release, HumanDuration(bound), why, rel.ActivityURL(target))
	}
	if rs.Release == 0 {
		return Errorf(EINVALID, "Heroku made no release of %s within %s of the write: see %s", target, HumanDuration(bound), rel.ActivityURL(target))
	}
	return Errorf(EINVALID, "Heroku release v%d of %s was still pending after %s: see %s", rs.Release, target, HumanDuration(bound), rel.ActivityURL(target))
}

// HumanDuration writes a duration the way people do: 5m, 90s, 1h30m (never
// less than 1s). The adapters' messages use it too.
func HumanDuration(d time.Duration) string {
	d = max(d.Round(time.Second), time.Second)
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
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
			e.recordRestart(ctx, r, i, *d.Restart)
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

// restartWaitText says what a restart wait waits for.
func restartWaitText(d Destination, rs Restart) string {
	release := "its new release"
	if rs.Release != 0 {
		release = fmt.Sprintf("release v%d", rs.Release)
	}
	if rs.Phase == RestartRestarting {
		return fmt.Sprintf("%s's dynos to run %s", d.Label(), release)
	}
	return fmt.Sprintf("%s's %s to finish", d.Label(), release)
}
