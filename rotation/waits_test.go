package rotation_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// slowConsumer answers after delay.
type slowConsumer struct {
	*fakeConsumer
	delay time.Duration
}

func (c slowConsumer) Set(ctx context.Context, target, name string, v rotation.Secret) error {
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.fakeConsumer.Set(ctx, target, name, v)
}

// Every automatic step says when it starts the most it may take, and a call
// that waits longer than SlowCall says what it waits on, until when, and which
// try of how many; waits between tries too.
func TestWaitsAreSaid(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	cfg := w.eng.EngineConfig
	cfg.SlowCall = 20 * time.Millisecond
	cfg.Consumers = map[rotation.DestKind]rotation.Consumer{
		rotation.DestHeroku: slowConsumer{w.heroku, 150 * time.Millisecond}, rotation.DestGitHubSecret: w.ghsec,
	}
	var mu sync.Mutex
	var runs []*rotation.Run
	cfg.Notifier = recordRuns{w.notes, func(r *rotation.Run) { mu.Lock(); runs = append(runs, r); mu.Unlock() }}
	w.eng = rotation.NewEngine(cfg)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	w.eng.Wait()

	notes := strings.Join(w.notes.notes, "\n")
	if !strings.Contains(notes, "waiting on 2 answers: Heroku raxx-console-prod (try 1 of 3, until 10:01:00 UTC); Heroku raxx-console-staging (try 1 of 3, until 10:01:00 UTC)") {
		t.Errorf("the slow calls were not said:\n%s", notes)
	}
	// Each automatic step recorded the most it may take when it started.
	budget := map[rotation.StepName]string{}
	mu.Lock()
	for _, x := range runs {
		for _, s := range x.Steps {
			if line := rotation.StepStarted(s); line != "" {
				budget[s.Name] = line
			}
		}
	}
	mu.Unlock()
	for step, want := range map[rotation.StepName]string{
		// 3 tries of 60 s, 2 s then 4 s apart: 186 s a call.
		rotation.StepStore:     "Store started: it ends by 10:03:06 UTC — at most 3m6s: 1 round of calls, each up to 3 tries of 1m0s, 2s apart at first; longer only if a service asks to wait",
		rotation.StepPropagate: "Propagate started: it ends by 10:06:12 UTC — at most 6m12s: 2 rounds of calls",
		rotation.StepVerify:    "Verify started: it ends by 10:09:18 UTC — at most 9m18s: 3 rounds of calls",
	} {
		if !strings.HasPrefix(budget[step], want) {
			t.Errorf("%s: %q, want %q…", step, budget[step], want)
		}
	}
	if !r.Step(rotation.StepPropagate).Until.IsZero() && r.Step(rotation.StepPropagate).State == rotation.StepRunning {
		t.Error("a finished step still says it runs")
	}
}

// recordRuns is a notifier that also keeps every run it is shown.
type recordRuns struct {
	*fakeNotifier
	seen func(*rotation.Run)
}

func (n recordRuns) RunChanged(ctx context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	n.seen(r)
	return n.fakeNotifier.RunChanged(ctx, r, note)
}

func TestRetryWaitSaysWhichTry(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	w.heroku.fail["raxx-console-staging"] = rotation.Errorf(rotation.EUNAVAILABLE, "Heroku is unavailable for app raxx-console-staging (503): retry later")
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StatePropagateFailed)
	notes := strings.Join(w.notes.notes, "\n")
	for _, want := range []string{
		"waiting: Heroku raxx-console-staging unavailable — Heroku is unavailable for app raxx-console-staging (503): retry later; retrying at 10:00:02 UTC (try 2 of 3)",
		"retrying at 10:00:04 UTC (try 3 of 3)",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}
