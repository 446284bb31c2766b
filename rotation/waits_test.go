package rotation_test

import (
	"context"
	"encoding/json"
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

// deadlineWrites is a store that counts the writes of a run that change nothing
// but a step's deadline (Until, Budget) and the run's Updated time.
type deadlineWrites struct {
	rotation.Store
	mu sync.Mutex
	n  int
}

func (s *deadlineWrites) UpdateRun(ctx context.Context, id string, fn func(*rotation.Run) error) (*rotation.Run, error) {
	var before []byte
	r, err := s.Store.UpdateRun(ctx, id, func(r *rotation.Run) error {
		before = withoutDeadlines(r)
		return fn(r)
	})
	if err == nil && string(withoutDeadlines(r)) == string(before) {
		s.mu.Lock()
		s.n++
		s.mu.Unlock()
	}
	return r, err
}

func withoutDeadlines(r *rotation.Run) []byte {
	x := *r
	x.Updated = time.Time{}
	x.Steps = append([]rotation.StepRecord(nil), r.Steps...)
	for i := range x.Steps {
		x.Steps[i].Until, x.Steps[i].Budget = time.Time{}, ""
	}
	b, _ := json.Marshal(x)
	return b
}

// A step's deadline is written by the move that starts the step, in the same
// transaction: starting a step costs no write of its own. A process that
// carries the step on later (resuming it after a crash) writes a new one.
func TestAStepsDeadlineIsWrittenWithTheMoveThatStartsIt(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	counted := &deadlineWrites{}
	w.reopen(func(st rotation.Store) rotation.Store { counted.Store = st; return counted })
	started := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE", Channel: "C0OPS"}))
	if s := started.Step(rotation.StepPrecheck); s.Until.IsZero() || s.Budget == "" {
		t.Errorf("the pre-check's deadline is not in the run as created: %+v", s)
	}
	ok(t)(w.eng.Cancel(ctx, started.ID, "U0ALICE"))
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	w.eng.Wait()
	if counted.n != 0 {
		t.Errorf("%d writes only to say when a step ends: the moves into the steps did not", counted.n)
	}
	for _, step := range []rotation.StepName{rotation.StepStore, rotation.StepPropagate, rotation.StepVerify} {
		if s := r.Step(step); s.Until.IsZero() || s.Budget == "" {
			t.Errorf("%s has no deadline: %+v", step, s)
		}
	}

	// The run is carried on in Propagate by a process that finds a deadline an
	// hour old: it writes the step's deadline anew.
	stale := t0.Add(-time.Hour)
	ok(t)(w.st.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
		x.State = rotation.StatePropagating
		s := x.Step(rotation.StepPropagate)
		s.State, s.Started, s.Finished, s.Until = rotation.StepRunning, stale, time.Time{}, stale
		return nil
	}))
	var mu sync.Mutex
	var shown []time.Time
	cfg := w.eng.EngineConfig
	cfg.Notifier = recordRuns{w.notes, func(x *rotation.Run) {
		mu.Lock()
		shown = append(shown, x.Step(rotation.StepPropagate).Until)
		mu.Unlock()
	}}
	w.eng = rotation.NewEngine(cfg)
	wantState(t, ok(t)(w.eng.Advance(ctx, r.ID)), rotation.StateWaitingRevoke)
	w.eng.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(shown) == 0 || !shown[0].Equal(t0.Add(6*time.Minute+12*time.Second)) {
		t.Errorf("the resumed step's deadline shown first is %v, want %v", shown, t0.Add(6*time.Minute+12*time.Second))
	}
}
