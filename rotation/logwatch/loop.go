package logwatch

import (
	"context"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// loop carries every watch of the process until none is left, ctx ends or the
// engine drains: it reports what the sessions saw, takes each watch's claim,
// and looks at each run when it is due — the end of a window, a claim to
// renew, a change of the run, a match. Between those it does nothing: the card
// shows when each watch ends, so there is no countdown to keep up.
func (w *Watcher) loop(ctx context.Context) {
	var wg sync.WaitGroup // the sessions this loop started
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if len(w.watches) == 0 {
			w.looping = false
			w.mu.Unlock()
			wg.Wait()
			return
		}
		evs := w.events
		w.events = nil
		w.mu.Unlock()
		for _, ev := range evs {
			w.report(ev)
		}
		next, any := w.look(ctx, &wg)
		if !any {
			continue
		}
		timer.Reset(max(time.Until(next), 0))
		select {
		case <-ctx.Done():
			w.stop(&wg, false) // the watches resume at the next start
			return
		case <-w.eng.Drained():
			w.stop(&wg, true)
			return
		case <-w.kick:
		case <-timer.C:
		}
	}
}

// look visits every watch that is due and returns when the next one is, or
// false when none is left.
func (w *Watcher) look(ctx context.Context, wg *sync.WaitGroup) (time.Time, bool) {
	now := time.Now()
	next := now.Add(time.Hour)
	var due []*watch
	w.mu.Lock()
	for _, wt := range w.watches {
		if wt.due.After(now) {
			next = minTime(next, wt.due)
		} else {
			due = append(due, wt)
		}
	}
	left := len(due) < len(w.watches)
	w.mu.Unlock()
	for _, wt := range due {
		if at, ok := w.visit(ctx, wg, wt); ok {
			next, left = minTime(next, at), true
		}
	}
	return next, left
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// visit reads wt's run, takes or renews its claim and looks at it; it returns
// when wt is due next, or false once the watch is over here.
func (w *Watcher) visit(ctx context.Context, wg *sync.WaitGroup, wt *watch) (time.Time, bool) {
	w.mu.Lock()
	wt.again = false
	w.mu.Unlock()
	if wt.ctx.Err() != nil {
		w.drop(wt, false)
		return time.Time{}, false
	}
	r, err := w.eng.Get(wt.ctx, wt.id)
	if err != nil {
		w.eng.Log.Warn("log watch: could not read the run", "run", wt.id, "err", err)
		w.drop(wt, !wt.claimed.IsZero())
		return time.Time{}, false
	}
	if !w.claim(wt, r) {
		return time.Time{}, false
	}
	in, watching := w.evaluate(ctx, wg, wt, r)
	w.mu.Lock()
	switch {
	case wt.again: // the run changed meanwhile: look again at once
		wt.due, watching = time.Time{}, true
	case watching:
		wt.due = time.Now().Add(min(in, time.Until(wt.claimed)-w.eng.ClaimTTL))
	default:
		w.dropLocked(wt)
	}
	due := wt.due
	w.mu.Unlock()
	if !watching {
		w.release(wt)
	}
	return due, watching
}

// maxClaim bounds a watch's claim, in claim lifetimes (ClaimTTL): a process
// that dies while watching leaves its watches to the next one at most this
// long after it last claimed them.
const maxClaim = 4

// claim takes wt's claim for as long as its windows last, plus the catch-up
// and one claim lifetime (at most maxClaim lifetimes), so a watch of the
// default window is claimed once and never renewed; a longer one is renewed
// when less than a lifetime is left. It reports false, the watch dropped, when
// another process holds the claim or it could not be taken.
func (w *Watcher) claim(wt *watch, r *rotation.Run) bool {
	ttl := w.eng.ClaimTTL
	if !wt.claimed.IsZero() && time.Until(wt.claimed) >= ttl {
		return true
	}
	need, now := ttl+catchUp, w.now()
	for _, d := range r.Destinations {
		if dw := d.Watch; dw != nil && dw.State == rotation.WatchWatching && dw.Until.After(now) {
			need = max(need, dw.Until.Sub(now)+catchUp+ttl)
		}
	}
	need = min(need, maxClaim*ttl)
	cctx, cancel := context.WithTimeout(wt.ctx, ttl/3)
	ok, err := w.eng.ClaimWatch(cctx, wt.id, need)
	cancel()
	if err != nil || !ok {
		// Another process watches the run, or the claim could not be
		// renewed: the run is left to whoever claims it next.
		if !wt.claimed.IsZero() {
			w.eng.Log.Warn("log watch: could not renew the watch's claim: stopping it here", "run", wt.id, "err", err)
		}
		w.drop(wt, false)
		return false
	}
	wt.claimed = time.Now().Add(need)
	return true
}

// release gives wt's claim up.
func (w *Watcher) release(wt *watch) {
	if err := w.eng.ReleaseWatch(context.WithoutCancel(wt.ctx), wt.id); err != nil {
		w.eng.Log.Warn("log watch: could not release the watch's claim", "run", wt.id, "err", err)
	}
}

// evaluate looks at wt's run r: it starts reading the log of each destination
// that is to be watched, stops reading those that are not, and records the
// windows that passed. It returns how long until the next window ends (on the
// engine's clock), and whether any destination is still watched.
func (w *Watcher) evaluate(ctx context.Context, wg *sync.WaitGroup, wt *watch, r *rotation.Run) (time.Duration, bool) {
	if !r.State.Watchable() {
		w.stopSubs(wt)
		w.eng.WatchStopped(wt.ctx, r)
		return 0, false
	}
	lw := w.eng.LogWatch(r.Secret)
	now := w.now()
	in := time.Hour
	var done []int
	for i, d := range r.Destinations {
		dw, sb := d.Watch, wt.sub(i)
		if dw == nil || dw.State != rotation.WatchWatching || (sb != nil && !sb.from.Equal(dw.From)) {
			w.stopSub(sb)
			if dw == nil || dw.State != rotation.WatchWatching {
				continue
			}
			sb = nil
		}
		end := dw.Until
		if wt.first && !now.Before(dw.Until) {
			if wt.caught == nil {
				wt.caught = map[int]time.Time{}
			}
			wt.caught[i] = now.Add(catchUp)
		}
		if c, ok := wt.caught[i]; ok {
			end = c
		}
		if !now.Before(end) {
			done = append(done, i)
			w.stopSub(sb)
			continue
		}
		if sb == nil {
			w.mu.Lock()
			w.subscribeLocked(ctx, wg, wt, i, d, lw.Patterns)
			w.mu.Unlock()
		}
		in = min(in, end.Sub(now))
	}
	wt.first = false
	if len(done) > 0 {
		r = w.eng.WatchEnded(wt.ctx, r, done)
	}
	if len(r.Watching()) == 0 {
		w.stopSubs(wt)
		return 0, false
	}
	return in, true
}

// sub is destination i's reading, or nil.
func (wt *watch) sub(i int) *sub {
	for _, sb := range wt.subs {
		if sb.i == i {
			return sb
		}
	}
	return nil
}

// stopSub stops one reading (nil: none).
func (w *Watcher) stopSub(sb *sub) {
	if sb == nil {
		return
	}
	w.mu.Lock()
	w.unsubscribeLocked(sb)
	w.mu.Unlock()
}

// stopSubs stops every reading of wt.
func (w *Watcher) stopSubs(wt *watch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(wt.subs) > 0 {
		w.unsubscribeLocked(wt.subs[0])
	}
}

// report tells the engine what a session said; after a match, the watch is
// looked at again.
func (w *Watcher) report(ev event) {
	wt := ev.w
	w.mu.Lock()
	live := w.watches[wt.id] == wt
	w.mu.Unlock()
	if !live || wt.claimed.IsZero() {
		if ev.told != nil {
			select {
			case ev.told <- struct{}{}:
			default:
			}
		}
		return
	}
	switch {
	case ev.match != nil:
		w.eng.WatchMatched(wt.ctx, wt.id, ev.i, *ev.match, ev.pattern)
		// The destination is no longer watched: the watch may be over.
		w.mu.Lock()
		wt.due = time.Time{}
		w.mu.Unlock()
	case ev.opened:
		w.eng.WatchOpened(wt.ctx, wt.id, ev.i)
	default:
		w.eng.WatchFailedToOpen(wt.ctx, wt.id, ev.i, ev.err)
		select {
		case ev.told <- struct{}{}:
		default:
		}
	}
}

// drop ends wt here, its claim given up when release says so.
func (w *Watcher) drop(wt *watch, release bool) {
	w.mu.Lock()
	w.dropLocked(wt)
	w.mu.Unlock()
	if release {
		w.release(wt)
	}
}

// dropLocked ends wt's readings and forgets it. w.mu is held.
func (w *Watcher) dropLocked(wt *watch) {
	for len(wt.subs) > 0 {
		w.unsubscribeLocked(wt.subs[0])
	}
	if w.watches[wt.id] == wt {
		delete(w.watches, wt.id)
	}
}

// stop ends every watch (ctx ended, or the engine drained: then their claims
// are given up, so the next process takes them at once) and waits for the
// sessions.
func (w *Watcher) stop(wg *sync.WaitGroup, release bool) {
	w.mu.Lock()
	var held []*watch
	for _, wt := range w.watches {
		if !wt.claimed.IsZero() {
			held = append(held, wt)
		}
		w.dropLocked(wt)
	}
	w.events = nil
	w.looping = false
	w.mu.Unlock()
	wg.Wait()
	if release {
		for _, wt := range held {
			if wt.ctx.Err() == nil {
				w.release(wt)
			}
		}
	}
}
