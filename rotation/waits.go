package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation/internal/inflight"
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

// watchCall records that a call for run id is in flight and returns what ends it.
// While any call of the run waits longer than SlowCall, the run's notice says
// which (rotation/internal/inflight).
func (e *Engine) watchCall(ctx context.Context, id, what string, try, tries int) (done func()) {
	return e.calls.Start(ctx, id, inflight.Call{What: what, Try: try, Tries: tries, Until: e.now().Add(e.CallTimeout)})
}

// WatchWait is watchCall for a wait that is not a call: what is waited for
// (e.g. "Heroku raxx-console-prod's release v12 to finish"), until when.
func (e *Engine) WatchWait(ctx context.Context, id, what string, until time.Time) (done func()) {
	return e.calls.Start(ctx, id, inflight.Call{What: what, Until: until})
}

// sayWaiting is what the engine's in-flight calls say: the run's notice and a
// note, while the calls it names still wait.
func (e *Engine) sayWaiting(ctx context.Context, id, text string, current func() bool) {
	nr, err := e.update(ctx, id, func(x *Run) error {
		if !current() {
			return errNothingToSay
		}
		x.Notice = text
		return nil
	})
	if err == nil {
		e.notify(ctx, nr, text)
	}
}

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

// stepDeadline is when step, starting now, ends at the latest, and why: the
// step's Until and Budget, which the card and the terminal show.
func (e *Engine) stepDeadline(r *Run, step StepName) (time.Time, string) {
	total, rounds := e.stepBudget(r, step)
	budget := fmt.Sprintf("at most %s: %s of calls, each up to %s of %s", roundDuration(total), words.Plural(rounds, "round", "rounds"), words.Plural(e.UnavailableTries, "try", "tries"), e.CallTimeout)
	if e.UnavailableTries > 1 {
		budget += fmt.Sprintf(", %s apart at first", e.RetryWait)
	}
	return e.now().Add(total), budget + "; longer only if a service asks to wait"
}

// announceStep records, as step starts, the most it may take (stepDeadline).
// The move into the step's state recorded it a moment ago (move), so it is
// written here only for a step started again later (a process resuming the
// run). Rollback has no step record: it is said in a note. It returns the run
// as recorded.
func (e *Engine) announceStep(ctx context.Context, r *Run, step StepName) *Run {
	until, budget := e.stepDeadline(r, step)
	if s := r.Step(step); s == nil {
		e.notify(ctx, r, stepStartedText(stepTitle[step], until, budget))
		return r
	} else if s.Budget == budget && until.Sub(s.Until) < time.Second {
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
