package rotation

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// A person watching a run — on its card, or at the terminal running rotabot
// rotate — is never left to guess: each automatic step says when it starts how
// long it may take at most, and every wait on an outside service longer than
// SlowCall says what it waits for, until when, and which try of how many.

// DefaultSlowCall is how long a call to an outside service may go unanswered
// before the run says it is waiting on it.
const DefaultSlowCall = 2 * time.Second

// errNothingToSay leaves a run as it is: the wait it would have shown is over.
var errNothingToSay = errors.New("the wait is over")

// maxRetryAfter bounds a wait a service asks for (Retry-After).
const maxRetryAfter = 5 * time.Minute

// callWatch is the calls of one run that are waiting for an answer, and what
// was last said about them.
type callWatch struct {
	mu     sync.Mutex
	calls  map[int]watchedCall
	next   int
	said   string
	active bool          // an announcer goroutine is running
	gone   bool          // left e.calls (no call in flight): a new call takes a new one
	idle   chan struct{} // told when the last call ends, so the announcer stops at once
}

type watchedCall struct {
	what       string    // e.g. "Heroku raxx-console-prod unavailable"
	try, tries int       // 0 tries: a wait that is no call (a release to finish)
	started    time.Time // by the process's clock, to tell how long it waits
	until      time.Time // by the engine's clock, for people
}

// watchCall records that a call for run id is in flight and returns what ends it.
// While any call of the run waits longer than SlowCall, the run's notice says
// which — a hundred slow destinations make one line, not a hundred.
func (e *Engine) watchCall(ctx context.Context, id, what string, try, tries int) (done func()) {
	return e.watch(ctx, id, watchedCall{what: what, try: try, tries: tries, until: e.now().Add(e.CallTimeout)})
}

// watchWait is watchCall for a wait that is not a call: what is waited for
// (e.g. "Heroku raxx-console-prod's release v12 to finish"), until when.
func (e *Engine) watchWait(ctx context.Context, id, what string, until time.Time) (done func()) {
	return e.watch(ctx, id, watchedCall{what: what, until: until})
}

func (e *Engine) watch(ctx context.Context, id string, c watchedCall) (done func()) {
	var w *callWatch
	for w == nil || w.gone {
		if w != nil {
			w.mu.Unlock()
		}
		v, _ := e.calls.LoadOrStore(id, &callWatch{calls: map[int]watchedCall{}, idle: make(chan struct{}, 1)})
		w = v.(*callWatch)
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
		e.wg.Add(1)
		go e.announce(context.WithoutCancel(ctx), id, w)
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

// announce says which calls of the run wait longer than SlowCall, as soon as one
// does and whenever that changes. It ends when no call is in flight.
func (e *Engine) announce(ctx context.Context, id string, w *callWatch) {
	defer e.wg.Done()
	t := time.NewTimer(e.SlowCall)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.idle:
		}
		w.mu.Lock()
		if len(w.calls) == 0 {
			// Forgotten until the run's next call: a process carries on
			// thousands of runs.
			w.active, w.said, w.gone = false, "", true
			e.calls.CompareAndDelete(id, w)
			w.mu.Unlock()
			return
		}
		// Look again when the next call passes SlowCall, or in SlowCall.
		next := e.SlowCall
		var slow []watchedCall
		for _, c := range w.calls {
			if age := time.Since(c.started); age >= e.SlowCall {
				slow = append(slow, c)
			} else if e.SlowCall-age < next {
				next = e.SlowCall - age
			}
		}
		text := slowText(slow)
		changed := text != "" && text != w.said
		if changed {
			w.said = text
		}
		w.mu.Unlock()
		t.Reset(next)
		if changed {
			nr, err := e.update(ctx, id, func(x *Run) error {
				// Said only while those calls still wait: not after the
				// step moved on.
				w.mu.Lock()
				defer w.mu.Unlock()
				if len(w.calls) == 0 || w.said != text {
					return errNothingToSay
				}
				x.Notice = text
				return nil
			})
			if err == nil {
				e.notify(ctx, nr, text)
			}
		}
	}
}

// slowText says which calls wait, one or many.
func slowText(calls []watchedCall) string {
	if len(calls) == 0 {
		return ""
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].what < calls[j].what })
	one := func(c watchedCall) string {
		if c.tries == 0 {
			return fmt.Sprintf("%s (until %s)", c.what, c.until.Format("15:04:05 UTC"))
		}
		return fmt.Sprintf("%s (try %d of %d, until %s)", subject(c.what), c.try, c.tries, c.until.Format("15:04:05 UTC"))
	}
	if len(calls) == 1 {
		c := calls[0]
		if c.tries == 0 {
			return fmt.Sprintf("waiting for %s — until %s", c.what, c.until.Format("15:04:05 UTC"))
		}
		return fmt.Sprintf("waiting on %s: no answer yet — it gets until %s (try %d of %d)", subject(c.what), c.until.Format("15:04:05 UTC"), c.try, c.tries)
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

// subject is what a call waits on, from withUnavailable's what.
func subject(what string) string { return strings.TrimSuffix(what, " unavailable") }

// callBudget is the longest one call to a service may take with its retries:
// every try's timeout and the waits between them (a service that names its own
// wait, Retry-After, may make it longer, up to maxRetryAfter a wait).
func (e *Engine) callBudget() time.Duration {
	total, wait := time.Duration(0), e.RetryWait
	for i := 1; i <= e.UnavailableTries; i++ {
		total += e.CallTimeout
		if i < e.UnavailableTries {
			total += wait
			wait *= 2
		}
	}
	return total
}

// stepBudget is the longest step may take for run r: the calls it makes one
// after another (those made at once count once), each with callBudget.
func (e *Engine) stepBudget(r *Run, step StepName) (time.Duration, int) {
	rounds := 1
	var extra time.Duration
	switch step {
	case StepPropagate:
		rounds = 2 // read the new value, then every destination at once
	case StepVerify:
		rounds = 2 // read the new value, then every destination at once
		if sc, err := e.Matrix.Secret(r.Secret); err == nil {
			rounds += len(sc.Verify)
			if sc.Probe != "" {
				rounds++
			}
		}
		if e.Holders != nil {
			extra += verifyScanLimit
		}
		for _, d := range r.Destinations {
			if _, ok := e.Releasers[d.Kind]; ok {
				// Restarts are waited for at once: one release, one restart.
				extra += e.heroku.ReleaseTimeout + e.heroku.RestartTimeout
				break
			}
		}
	case StepRevoke:
		if r.RevokeMethod == RevokeAPI {
			rounds++
		}
		extra += time.Duration(e.RevokeChecks)*e.CallTimeout + time.Duration(e.RevokeChecks-1)*2*time.Second
	case StepRollback:
		rounds = 3 // the vault, every destination at once, the audit post
	}
	return time.Duration(rounds)*e.callBudget() + extra, rounds
}

// stepTitle names a step for the line that starts it.
var stepTitle = map[StepName]string{
	StepPrecheck: "Pre-check", StepStore: "Store", StepPropagate: "Propagate", StepVerify: "Verify",
	StepRevoke: "Revoke check", StepAudit: "Audit", StepRollback: "Rollback",
}

// announceStep records, as step starts, the most it may take: the step's Until
// and Budget, which the card and the terminal show. Rollback has no step record:
// it is said in a note. It returns the run as recorded.
func (e *Engine) announceStep(ctx context.Context, r *Run, step StepName) *Run {
	total, rounds := e.stepBudget(r, step)
	until := e.now().Add(total)
	budget := fmt.Sprintf("at most %s: %s of calls, each up to %s of %s", roundDuration(total), Plural(rounds, "round", "rounds"), Plural(e.UnavailableTries, "try", "tries"), e.CallTimeout)
	if e.UnavailableTries > 1 {
		budget += fmt.Sprintf(", %s apart at first", e.RetryWait)
	}
	budget += "; longer only if a service asks to wait"
	if r.Step(step) == nil {
		e.notify(ctx, r, stepStartedText(stepTitle[step], until, budget))
		return r
	}
	nr, err := e.update(ctx, r.ID, func(x *Run) error {
		if s := x.Step(step); s != nil {
			s.Until, s.Budget = until, budget
		}
		return nil
	})
	if err != nil {
		return r
	}
	e.notify(ctx, nr, "")
	return nr
}

// StepStarted is the line that says a step started and the most it may take,
// for a terminal; "" when s says nothing of it.
func StepStarted(s StepRecord) string {
	if s.State != StepRunning || s.Until.IsZero() {
		return ""
	}
	return stepStartedText(StepTitle(s.Name), s.Until, s.Budget)
}

// StepTitle names a step at the start of a line for a terminal: "Propagate".
func StepTitle(name StepName) string {
	if t := stepTitle[name]; t != "" {
		return t
	}
	return string(name)
}

func stepStartedText(title string, until time.Time, budget string) string {
	return fmt.Sprintf("%s started: it ends by %s — %s", title, until.UTC().Format("15:04:05 UTC"), budget)
}

// roundDuration shows a duration to the second: 6m14s.
func roundDuration(d time.Duration) string { return d.Round(time.Second).String() }
