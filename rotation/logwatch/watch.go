// Package logwatch is rotabot's log watch driver: for the window after each
// restarted app's restart onto the new value, it reads the app's log (the
// rotation.LogTailer of its destination kind), matches each line of the app's own
// output against the patterns of a GitHub authentication failure, and reports what
// it sees to the engine — a log opened, a log it cannot read, a window that
// passed, a matching line — through the engine's exported Watch… methods, which
// decide and record what that means for the run.
//
// A watch costs little: one log session per app serves every run that watches
// that app at that moment (a run that joins an open session is handed the
// recent lines it missed, or the session is opened again with the app's
// history), and one loop carries every watch of the process — its claim, taken
// once for the whole window, and its end — so a watch holds a few hundred bytes
// of state, no goroutine, no connection and no buffer of its own, and costs no
// work between its start and its end. The loop backs off a refused log session,
// catches up on a window that passed while the process was down, and takes a
// watch up again when the engine asks (a restart, a retry, Resume). It must not
// know Slack, any SDK, the store, or how a run's state moves: it only reads runs
// and reports.
package logwatch

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// logHistory is how many lines from before a log session are asked for: logplex
// sends at most 1500. Lines older than a watch's release are skipped.
const logHistory = 1500

// catchUp is how long a watch found past its window (the process was down) reads
// the log's history before it ends, so lines written meanwhile are not missed.
const catchUp = 3 * time.Second

// Watcher watches the logs of the runs the engine hands it. Build it with New
// and attach it to the engine (Engine.Watcher).
type Watcher struct {
	eng     *rotation.Engine
	tailers map[rotation.DestKind]rotation.LogTailer

	mu       sync.Mutex
	watches  map[string]*watch       // run id → its watch, while this process holds it
	sessions map[sessionKey]*session // one per log read now
	events   []event                 // what the sessions saw, for the loop
	looping  bool                    // a call of Watch carries the loop
	kick     chan struct{}           // wakes the loop (capacity 1)
}

var _ rotation.LogWatcher = (*Watcher)(nil)

// watch is one run's log watch: its state between two looks, kept small (a
// watch costs a few hundred bytes, whatever the number of runs watched).
type watch struct {
	id  string
	ctx context.Context
	// claimed is until when the claim is held (the machine's clock); zero
	// until the loop takes it.
	claimed time.Time
	// due is when the loop looks at the run next (the machine's clock; zero: now).
	due time.Time
	// again is set when the run changed while the loop looked at it.
	again bool
	first bool
	subs  []*sub
	// caught is, for a destination found past its window, when its catch-up
	// ends (nil for a watch that was never behind).
	caught map[int]time.Time
}

// sub is one destination of a watch reading a session.
type sub struct {
	w    *watch
	i    int
	s    *session
	from time.Time
	pats []*regexp.Regexp
}

// New returns a watcher that reports to eng and reads the logs of each
// destination kind in tailers (Heroku). It uses eng's clock, sleep, log and
// claim time-to-live.
func New(eng *rotation.Engine, tailers map[rotation.DestKind]rotation.LogTailer) *Watcher {
	return &Watcher{eng: eng, tailers: tailers, watches: map[string]*watch{}, sessions: map[sessionKey]*session{},
		kick: make(chan struct{}, 1)}
}

// Reads reports whether the watcher can read the log of a destination of kind k.
func (w *Watcher) Reads(k rotation.DestKind) bool {
	_, ok := w.tailers[k]
	return ok
}

// Wake tells run id's watch, if this process runs one, that the run changed.
func (w *Watcher) Wake(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if wt := w.watches[id]; wt != nil {
		wt.again, wt.due = true, time.Time{}
		w.kickLocked()
	}
}

// Watch watches run id's logs until every window has passed, the run moves on,
// the engine drains or ctx ends. One call at a time carries the loop that
// watches every run of the process: the others hand their run to it and return
// at once, as does a call for a run this process watches already; a run another
// process watches is dropped when the loop finds its claim taken.
func (w *Watcher) Watch(ctx context.Context, id string) {
	w.mu.Lock()
	if wt := w.watches[id]; wt != nil {
		// Watched already: the run may have a destination more to watch.
		wt.again, wt.due = true, time.Time{}
		w.kickLocked()
		w.mu.Unlock()
		return
	}
	w.watches[id] = &watch{id: id, ctx: ctx, first: true}
	if w.looping {
		w.kickLocked()
		w.mu.Unlock()
		return
	}
	w.looping = true
	w.mu.Unlock()
	w.loop(ctx)
}

func (w *Watcher) kickLocked() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// now is the engine's clock in UTC, as the run's times are.
func (w *Watcher) now() time.Time { return w.eng.Now().UTC() }
