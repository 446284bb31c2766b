// Package release follows what a config write does to a platform that restarts
// on it (a Heroku app): the release the write made, then the dynos coming up on
// it, until the target runs the new value, the release fails or the wait's bound
// runs out. Verify (in the engine) waits for that before it checks anything,
// through the rotation.RestartWaiter port; every change this package sees goes
// back through the engine's RestartSeen, which records it and starts the log
// watch. It knows the rotation domain and the Releaser port, never an SDK, Slack
// or the store: what it learns is recorded by the engine alone.
package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// NoReleaseGrace is how long after a write the wait looks for the release it
// made before it takes the write to have made none (a value the app already
// held): Heroku makes the release before it answers the write.
const NoReleaseGrace = 10 * time.Second

// Waiter is the rotation.RestartWaiter of an engine.
type Waiter struct {
	eng *rotation.Engine
}

var _ rotation.RestartWaiter = (*Waiter)(nil)

// New returns the waiter for eng; set it as eng.Restarts.
func New(eng *rotation.Engine) *Waiter { return &Waiter{eng: eng} }

func (w *Waiter) now() time.Time { return w.eng.Now().UTC() }

// AwaitRestart follows destination i of run r's release and restart until it is
// up (nil), fails, or its wait runs out (the error for the step). It returns nil
// without recording anything when the process stops: the next one waits on.
func (w *Waiter) AwaitRestart(ctx context.Context, r *rotation.Run, i int) error {
	d := r.Destinations[i]
	rel := w.eng.Releasers[d.Kind]
	if rel == nil {
		return rotation.Errorf(rotation.EINTERNAL, "no release reader for %s is configured", d.Kind)
	}
	rs := *d.Restart
	if rs.Since.IsZero() {
		rs.Since = w.now()
	}
	releaseBound, restartBound := w.eng.RestartBounds()
	// The wait is said if it lasts (WatchWait), with what it waits for and
	// until when.
	shown, doneWait := "", func() {}
	defer func() { doneWait() }()
	// Look soon, then less and less often: most releases are done in seconds.
	wait := 250 * time.Millisecond
	for {
		next := rs
		err := w.eng.WithUnavailable(ctx, r, d.Label()+" unavailable", func(cctx context.Context) error {
			return w.look(cctx, rel, d.Target, &next)
		})
		if err != nil {
			return err
		}
		if !same(next, rs) {
			rs = next
			w.eng.RestartSeen(ctx, r, i, rs)
		}
		switch rs.Phase {
		case rotation.RestartUp, rotation.RestartNoDynos:
			return nil
		case rotation.RestartFailed:
			return failure(rel, d.Target, rs)
		}
		bound, since := releaseBound, rs.Since
		if rs.Phase == rotation.RestartRestarting {
			bound, since = restartBound, rs.Released
		}
		if w.now().Sub(since) >= bound {
			return timeout(rel, d.Target, rs, bound)
		}
		if rs.Phase != shown {
			doneWait()
			doneWait, shown = w.eng.WatchWait(ctx, r.ID, waitText(d, rs), since.Add(bound)), rs.Phase
		}
		if w.eng.Draining() {
			return nil // the next process waits on
		}
		if err := w.eng.Sleep(ctx, min(wait, PollEvery(bound))); err != nil {
			return err
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// PollEvery is how often a wait bounded by bound looks at most: about sixty
// times within it, at most every 5 s (Heroku refills its rate limit by 75
// requests a minute) and at least every 100 ms.
func PollEvery(bound time.Duration) time.Duration {
	return min(max(bound/60, 100*time.Millisecond), 5*time.Second)
}

// look reads where rs's release and restart stand now.
func (w *Waiter) look(ctx context.Context, rel rotation.Releaser, target string, rs *rotation.Restart) error {
	if rs.Release == 0 {
		// The release the write made: the newest one, newer than the one
		// before the write (Range: version ..; max=1, order=desc).
		latest, err := rel.LatestRelease(ctx, target)
		if err != nil {
			return err
		}
		if latest.Version <= rs.Before {
			if w.now().Sub(rs.Since) < NoReleaseGrace {
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
	case rotation.ReleasePending:
		rs.Phase = rotation.RestartReleasing
		return nil
	case rotation.ReleaseFailed:
		rs.Phase = rotation.RestartFailed
		return nil
	}
	if rs.Released.IsZero() {
		rs.Released = w.now()
	}
	dynos, err := rel.Dynos(ctx, target)
	if err != nil {
		return err
	}
	countDynos(rs, dynos)
	switch {
	case len(dynos) == 0:
		rs.Phase, rs.Done = rotation.RestartNoDynos, w.now()
	case rs.Up == len(dynos):
		rs.Phase, rs.Done = rotation.RestartUp, w.now()
	default:
		rs.Phase = rotation.RestartRestarting
	}
	return nil
}

// countDynos counts, as the Heroku CLI's ps:wait does, a dyno up when it is up
// on rs's release or a newer one, and names those that crashed on it.
func countDynos(rs *rotation.Restart, dynos []rotation.Dyno) {
	rs.Dynos, rs.Up, rs.Crashed = len(dynos), 0, nil
	for _, dy := range dynos {
		switch {
		case dy.Release >= rs.Release && dy.State == rotation.DynoUp:
			rs.Up++
		case dy.Release >= rs.Release && dy.State == rotation.DynoCrashed:
			rs.Crashed = append(rs.Crashed, dy.Name)
		}
	}
}

func same(a, b rotation.Restart) bool {
	return a.Release == b.Release && a.Phase == b.Phase && a.Up == b.Up && a.Dynos == b.Dynos &&
		strings.Join(a.Crashed, ",") == strings.Join(b.Crashed, ",")
}

// failure is the error of a failed release.
func failure(rel rotation.Releaser, target string, rs rotation.Restart) error {
	return rotation.Errorf(rotation.EINVALID, "Heroku release v%d of %s failed: see %s", rs.Release, target, rel.ActivityURL(target))
}

// timeout is the error of a wait that ran out.
func timeout(rel rotation.Releaser, target string, rs rotation.Restart, bound time.Duration) error {
	if rs.Phase == rotation.RestartRestarting {
		why := fmt.Sprintf("%d of %d up", rs.Up, rs.Dynos)
		if len(rs.Crashed) > 0 {
			why += "; crashed: " + strings.Join(rs.Crashed, ", ")
		}
		return rotation.Errorf(rotation.EINVALID, "The dynos of %s did not come up on release v%d within %s (%s): see %s", target, rs.Release, words.HumanDuration(bound), why, rel.ActivityURL(target))
	}
	if rs.Release == 0 {
		return rotation.Errorf(rotation.EINVALID, "Heroku made no release of %s within %s of the write: see %s", target, words.HumanDuration(bound), rel.ActivityURL(target))
	}
	return rotation.Errorf(rotation.EINVALID, "Heroku release v%d of %s was still pending after %s: see %s", rs.Release, target, words.HumanDuration(bound), rel.ActivityURL(target))
}

// waitText says what a restart wait waits for.
func waitText(d rotation.Destination, rs rotation.Restart) string {
	release := "its new release"
	if rs.Release != 0 {
		release = fmt.Sprintf("release v%d", rs.Release)
	}
	if rs.Phase == rotation.RestartRestarting {
		return fmt.Sprintf("%s's dynos to run %s", d.Label(), release)
	}
	return fmt.Sprintf("%s's %s to finish", d.Label(), release)
}
