// Package logwatch is rotabot's log watch driver: for the window after each
// restarted app's restart onto the new value, it reads the app's log (the
// rotation.LogTailer of its destination kind), matches each line of the app's own
// output against the patterns of a GitHub authentication failure, and reports what
// it sees to the engine — a log opened, a log it cannot read, a tick of the
// countdown, a window that passed, a matching line — through the engine's exported
// Watch… methods, which decide and record what that means for the run. It keeps a
// tail per watched destination, backs off a refused log session, catches up on a
// window that passed while the process was down, and takes a watch up again when
// the engine asks (a restart, a retry, Resume). It must not know Slack, any SDK,
// the store, or how a run's state moves: it only reads runs and reports.
package logwatch

import (
	"context"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// logHistory is how many lines from before a log session are asked for: logplex
// sends at most 1500. Lines older than the release are skipped.
const logHistory = 1500

// catchUp is how long a watch found past its window (the process was down) reads
// the log's history before it ends, so lines written meanwhile are not missed.
const catchUp = 3 * time.Second

// Watcher watches the logs of the runs the engine hands it. Build it with New
// and attach it to the engine (Engine.Watcher).
type Watcher struct {
	eng     *rotation.Engine
	tailers map[rotation.DestKind]rotation.LogTailer
	watches sync.Map // run id → struct{}: its log watch runs in this process
	wakes   sync.Map // run id → chan struct{}: wakes its log watch
}

var _ rotation.LogWatcher = (*Watcher)(nil)

// New returns a watcher that reports to eng and reads the logs of each
// destination kind in tailers (Heroku). It uses eng's clock, sleep and log.
func New(eng *rotation.Engine, tailers map[rotation.DestKind]rotation.LogTailer) *Watcher {
	return &Watcher{eng: eng, tailers: tailers}
}

// Reads reports whether the watcher can read the log of a destination of kind k.
func (w *Watcher) Reads(k rotation.DestKind) bool {
	_, ok := w.tailers[k]
	return ok
}

// Wake tells run id's watch, if this process runs one, that the run changed.
func (w *Watcher) Wake(id string) {
	if c, ok := w.wakes.Load(id); ok {
		select {
		case c.(chan struct{}) <- struct{}{}:
		default:
		}
	}
}

// Watch watches run id's logs until every window has passed, the run moves on,
// the engine drains or ctx ends; it returns at once when this process already
// watches the run, or another process does.
func (w *Watcher) Watch(ctx context.Context, id string) {
	if _, busy := w.watches.LoadOrStore(id, struct{}{}); busy {
		return
	}
	for {
		claimed := w.run(ctx, id)
		w.watches.Delete(id)
		if !claimed || ctx.Err() != nil || w.draining() {
			return
		}
		// A watch added while this one was ending is picked up here.
		r, err := w.eng.Get(ctx, id)
		if err != nil || !r.State.Watchable() || len(r.Watching()) == 0 {
			return
		}
		if _, busy := w.watches.LoadOrStore(id, struct{}{}); busy {
			return
		}
	}
}

// draining reports whether the engine was drained (shutdown).
func (w *Watcher) draining() bool {
	select {
	case <-w.eng.Drained():
		return true
	default:
		return false
	}
}

// now is the engine's clock in UTC, as the run's times are.
func (w *Watcher) now() time.Time { return w.eng.Now().UTC() }

// refreshEvery is how often a watch updates the card's countdown.
func refreshEvery(window time.Duration) time.Duration {
	return min(max(window/6, time.Second), 10*time.Second)
}
