// Package inflight keeps the calls a run has in flight and says, in one line,
// which of them have waited longer than they should: a person watching a run is
// never left to guess what it waits on, and a hundred slow destinations make one
// line, not a hundred. It is the engine's (rotation) own mechanics, standard
// library only: it knows nothing of runs, stores or Slack — what it says goes
// out through the Say function the engine gives it.
package inflight

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Call is one call (or wait) in flight.
type Call struct {
	What       string    // e.g. "Heroku raxx-console-prod unavailable"
	Try, Tries int       // 0 Tries: a wait that is no call (a release to finish)
	Until      time.Time // by the engine's clock, for people
	started    time.Time // by the process's clock, to tell how long it waits
}

// Tracker keeps the calls in flight per key (a run id). Set Slow, Say and WG
// before the first Start.
type Tracker struct {
	// Slow is how long a call may go unanswered before it is said.
	Slow time.Duration
	// Say tells people text about key's calls. current reports, when Say asks
	// it, whether text is still true (the calls still wait): Say must not
	// show it otherwise.
	Say func(ctx context.Context, key, text string, current func() bool)
	// WG counts the goroutines that say: the engine waits for them to stop.
	WG *sync.WaitGroup

	keys sync.Map // key → *calls
}

// calls is one key's calls in flight, and what was last said about them.
type calls struct {
	mu     sync.Mutex
	calls  map[int]Call
	next   int
	said   string
	active bool          // a goroutine that says is running
	gone   bool          // left the tracker (no call in flight): a new call takes a new one
	idle   chan struct{} // told when the last call ends, so it stops at once
}

// Start records that c is in flight for key and returns what ends it. While
// any call of key waits longer than Slow, Say is told which.
func (t *Tracker) Start(ctx context.Context, key string, c Call) (done func()) {
	var w *calls
	for w == nil || w.gone {
		if w != nil {
			w.mu.Unlock()
		}
		v, _ := t.keys.LoadOrStore(key, &calls{calls: map[int]Call{}, idle: make(chan struct{}, 1)})
		w = v.(*calls)
		w.mu.Lock()
	}
	n := w.next
	w.next++
	c.started = time.Now()
	w.calls[n] = c
	start := !w.active
	w.active = true
	w.mu.Unlock()
	if start {
		t.WG.Add(1)
		go t.announce(context.WithoutCancel(ctx), key, w)
	}
	return func() {
		w.mu.Lock()
		delete(w.calls, n)
		last := len(w.calls) == 0
		w.mu.Unlock()
		if last {
			select {
			case w.idle <- struct{}{}:
			default:
			}
		}
	}
}

// announce says which calls of key wait longer than Slow, as soon as one does
// and whenever that changes. It ends when no call is in flight.
func (t *Tracker) announce(ctx context.Context, key string, w *calls) {
	defer t.WG.Done()
	tm := time.NewTimer(t.Slow)
	defer tm.Stop()
	for {
		select {
		case <-tm.C:
		case <-w.idle:
		}
		w.mu.Lock()
		if len(w.calls) == 0 {
			// Forgotten until the key's next call: a process carries on
			// thousands of runs.
			w.active, w.said, w.gone = false, "", true
			t.keys.CompareAndDelete(key, w)
			w.mu.Unlock()
			return
		}
		// Look again when the next call passes Slow, or in Slow.
		next := t.Slow
		var slow []Call
		for _, c := range w.calls {
			if age := time.Since(c.started); age >= t.Slow {
				slow = append(slow, c)
			} else if t.Slow-age < next {
				next = t.Slow - age
			}
		}
		text := Text(slow)
		changed := text != "" && text != w.said
		if changed {
			w.said = text
		}
		w.mu.Unlock()
		tm.Reset(next)
		if changed {
			// Said only while those calls still wait: not after the step
			// moved on.
			t.Say(ctx, key, text, func() bool {
				w.mu.Lock()
				defer w.mu.Unlock()
				return len(w.calls) > 0 && w.said == text
			})
		}
	}
}

// Text says which calls wait, one or many ("" for none).
func Text(calls []Call) string {
	if len(calls) == 0 {
		return ""
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].What < calls[j].What })
	one := func(c Call) string {
		if c.Tries == 0 {
			return fmt.Sprintf("%s (until %s)", c.What, c.Until.Format("15:04:05 UTC"))
		}
		return fmt.Sprintf("%s (try %d of %d, until %s)", subject(c.What), c.Try, c.Tries, c.Until.Format("15:04:05 UTC"))
	}
	if len(calls) == 1 {
		c := calls[0]
		if c.Tries == 0 {
			return fmt.Sprintf("waiting for %s — until %s", c.What, c.Until.Format("15:04:05 UTC"))
		}
		return fmt.Sprintf("waiting on %s: no answer yet — it gets until %s (try %d of %d)", subject(c.What), c.Until.Format("15:04:05 UTC"), c.Try, c.Tries)
	}
	const shown = 5
	var parts []string
	for i, c := range calls {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(calls)-shown))
			break
		}
		parts = append(parts, one(c))
	}
	return fmt.Sprintf("waiting on %d answers: %s", len(calls), strings.Join(parts, "; "))
}

// subject is what a call waits on, from the engine's "X unavailable".
func subject(what string) string { return strings.TrimSuffix(what, " unavailable") }
