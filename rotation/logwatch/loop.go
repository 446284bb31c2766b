package logwatch

import (
	"context"
	"regexp"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// event is what a tail tells its watch.
type event struct {
	i      int // destination
	opened bool
	match  *rotation.LogLine
	// pattern is the log_watch pattern the line matched.
	pattern string
	err     error
}

// tailing is one destination's tail in progress.
type tailing struct {
	cancel context.CancelFunc
	end    time.Time
}

// run watches the logs of run id's destinations until every window has passed,
// the run moves on, or the process stops. It reports false when another process
// holds the watch.
func (w *Watcher) run(parent context.Context, id string) bool {
	ctx, release, ok, err := w.eng.ClaimWatch(parent, id)
	if err != nil || !ok {
		return false
	}
	defer release()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	// A change of the run (a rollback, a retry) wakes the watch at once.
	wake := make(chan struct{}, 1)
	w.wakes.Store(id, wake)
	defer w.wakes.Delete(id)
	events := make(chan event)
	tails := map[int]*tailing{}
	caughtUp := map[int]time.Time{} // a watch found past its window: its catch-up's end
	first := true
	var ticked time.Time
	for {
		r, err := w.eng.Get(ctx, id)
		if err != nil {
			w.eng.Log.Warn("log watch: could not read the run", "run", id, "err", err)
			return true
		}
		if !r.State.Watchable() {
			stopAll(tails)
			w.eng.WatchStopped(ctx, r)
			return true
		}
		lw := w.eng.LogWatch(r.Secret)
		now := w.now()
		var done []int
		for i, d := range r.Destinations {
			dw := d.Watch
			if dw == nil || dw.State != rotation.WatchWatching {
				stopTail(tails, i)
				continue
			}
			end := dw.Until
			if first && !now.Before(dw.Until) {
				caughtUp[i] = now.Add(catchUp)
			}
			if c, ok := caughtUp[i]; ok {
				end = c
			}
			if !now.Before(end) {
				done = append(done, i)
				stopTail(tails, i)
				continue
			}
			if tails[i] == nil {
				// A timeout, not a deadline: end is on the engine's clock,
				// which need not be the machine's.
				tctx, cancel := context.WithTimeout(wctx, end.Sub(now))
				tails[i] = &tailing{cancel: cancel, end: end}
				go w.tail(tctx, w.tailers[d.Kind], d.Target, i, dw.From, lw.Patterns, events)
			}
		}
		first = false
		if len(done) > 0 {
			r = w.eng.WatchEnded(ctx, r, done)
		}
		if len(r.Watching()) == 0 {
			return true
		}
		every := refreshEvery(lw.Window)
		if now.Sub(ticked) >= every {
			w.eng.WatchTick(ctx, r.ID)
			ticked = now
		}
		refresh := time.NewTimer(every - now.Sub(ticked))
		select {
		case <-ctx.Done():
		case <-w.eng.Drained():
		case ev := <-events:
			w.report(ctx, r.ID, ev, tails)
		case <-wake:
		case <-refresh.C:
		}
		refresh.Stop()
		if ctx.Err() != nil || w.draining() {
			return true // the watch resumes at the next start
		}
	}
}

// stopTail stops destination i's tail, if one runs.
func stopTail(tails map[int]*tailing, i int) {
	if t := tails[i]; t != nil {
		t.cancel()
		delete(tails, i)
	}
}

// stopAll stops every tail.
func stopAll(tails map[int]*tailing) {
	for i := range tails {
		stopTail(tails, i)
	}
}

// report tells the engine what a tail said.
func (w *Watcher) report(ctx context.Context, id string, ev event, tails map[int]*tailing) {
	switch {
	case ev.match != nil:
		stopTail(tails, ev.i)
		w.eng.WatchMatched(ctx, id, ev.i, *ev.match, ev.pattern)
	case ev.opened:
		w.eng.WatchOpened(ctx, id, ev.i)
	default:
		w.eng.WatchFailedToOpen(ctx, id, ev.i, ev.err)
	}
}

// tail reads one target's log until ctx ends or a line matches, reopening the
// stream when it drops (backing off while it is refused); it tells the watch
// what happens.
func (w *Watcher) tail(ctx context.Context, lt rotation.LogTailer, target string, i int, from time.Time, pats []*regexp.Regexp, events chan<- event) {
	send := func(ev event) bool {
		select {
		case events <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	wait := time.Second
	for ctx.Err() == nil {
		tctx, cancel := context.WithCancel(ctx)
		var matched *rotation.LogLine
		var pattern string
		err := lt.TailLogs(tctx, target, logHistory, func() {
			wait = time.Second
			send(event{i: i, opened: true})
		}, func(l rotation.LogLine) {
			if matched != nil || !l.AppOutput() || l.Time.Before(from) {
				return
			}
			for _, p := range pats {
				if p.MatchString(l.Text) {
					matched, pattern = &l, p.String()
					cancel()
					return
				}
			}
		})
		cancel()
		if matched != nil {
			send(event{i: i, match: matched, pattern: pattern})
			return
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = rotation.Errorf(rotation.EUNAVAILABLE, "the log stream of %s ended", target)
		}
		if !send(event{i: i, err: err}) {
			return
		}
		if w.eng.Sleep(ctx, wait) != nil {
			return
		}
		wait = min(wait*2, 30*time.Second)
	}
}
