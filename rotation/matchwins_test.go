package rotation_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
	"github.com/raxx-app/rotabot/sandbox"
)

// A log watch match wins, whatever the run is doing. These tests hold the engine
// at its pause points and land the match in each moment: no sleep decides the
// order of events.

// gate is one pause point a test holds: the first arrival blocks until the test
// opens it.
type gate struct {
	point            rotation.PausePoint
	arrived, release chan struct{}
	once             sync.Once
}

// gates holds the engine at the pause points a test asks for; the others let it
// through.
type gates struct {
	mu sync.Mutex
	at map[rotation.PausePoint]*gate
}

// hold makes the engine stop at p the first time it gets there.
func (g *gates) hold(p rotation.PausePoint) *gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	gt := &gate{point: p, arrived: make(chan struct{}), release: make(chan struct{})}
	g.at[p] = gt
	return gt
}

// watch notes the engine's first arrival at p without stopping it there.
func (g *gates) watch(p rotation.PausePoint) *gate {
	gt := g.hold(p)
	close(gt.release)
	return gt
}

// pause is the engine's pause function.
func (g *gates) pause(p rotation.PausePoint) {
	g.mu.Lock()
	gt := g.at[p]
	g.mu.Unlock()
	if gt != nil {
		gt.once.Do(func() {
			close(gt.arrived)
			<-gt.release
		})
	}
}

// reached waits until the engine is at the gate. The bound only keeps a broken
// engine from hanging the test; it decides nothing.
func (gt *gate) reached(t *testing.T) {
	t.Helper()
	select {
	case <-gt.arrived:
	case <-time.After(20 * time.Second):
		t.Fatalf("the engine never got to %q", gt.point)
	}
}

func (gt *gate) open() { close(gt.release) }

// matchWorld is an approved run whose Heroku apps restart onto the new value and
// whose logs are then watched for a minute; its engine stops where gates says.
type matchWorld struct {
	*world
	f    *fakeHeroku
	g    *gates
	logs *sandbox.SyncBuffer
	id   string
}

func newMatchWorld(t *testing.T) *matchWorld {
	t.Helper()
	w := newWorld(t)
	w.matrix.Secrets[secretName].LogWatch = rotation.LogWatch{Window: time.Minute}
	f := newFakeHeroku(realNow, "raxx-console-prod", "raxx-console-staging")
	w.restarting(f, nil)
	m := &matchWorld{world: w, f: f, g: &gates{at: map[rotation.PausePoint]*gate{}}, logs: &sandbox.SyncBuffer{}}
	w.withEngine(func(c *rotation.EngineConfig) {
		c.Log = slog.New(slog.NewTextHandler(m.logs, nil))
		// The revoke's re-checks of the old token do not wait.
		c.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	})
	rotation.SetPause(w.eng, m.g.pause)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	m.id = r.ID
	t.Cleanup(func() {
		w.eng.Drain()
		w.eng.Wait()
	})
	return m
}

type advanced struct {
	r   *rotation.Run
	err error
}

// advance carries the run on in the background, as the bot does after a gesture.
func (m *matchWorld) advance() <-chan advanced {
	out := make(chan advanced, 1)
	go func() {
		r, err := m.eng.Advance(context.Background(), m.id)
		out <- advanced{r, err}
	}()
	return out
}

func (m *matchWorld) done(ch <-chan advanced) *rotation.Run {
	m.t.Helper()
	select {
	case a := <-ch:
		return ok(m.t)(a.r, a.err)
	case <-time.After(20 * time.Second):
		m.t.Fatal("Advance never returned")
	}
	return nil
}

// badCredentials is prod's app logging a GitHub 401 with the token it sent.
func (m *matchWorld) badCredentials() {
	m.f.inject("raxx-console-prod", rotation.LogLine{Time: realNow(), Source: "app[web.1]",
		Text: "GitHub API error: 401 Bad credentials for token " + newToken})
}

func (m *matchWorld) run() *rotation.Run {
	return ok(m.t)(m.eng.Get(context.Background(), m.id))
}

// thread is every note the engine posted, one a line.
func (m *matchWorld) thread() string {
	m.notes.mu.Lock()
	defer m.notes.mu.Unlock()
	return strings.Join(m.notes.notes, "\n")
}

// wantMatchRecorded: prod failed with the masked line.
func (m *matchWorld) wantMatchRecorded(r *rotation.Run) {
	t := m.t
	t.Helper()
	d := dest(t, r, "raxx-console-prod")
	if d.State != rotation.DestFailed || d.Watch == nil || d.Watch.State != rotation.WatchMatched {
		t.Fatalf("prod: %s, watch %+v", d.State, d.Watch)
	}
	if !strings.Contains(d.LastError, "raxx-console-prod logged a GitHub authentication failure after the restart: `") ||
		!strings.Contains(d.LastError, "401 Bad credentials for token github_pat_[masked]") {
		t.Fatalf("prod's error: %q", d.LastError)
	}
}

// wantMatchWon: the run failed verify; the revoke buttons are gone, Rollback is
// offered, and the thread was told.
func (m *matchWorld) wantMatchWon(r *rotation.Run) {
	t := m.t
	t.Helper()
	wantState(t, r, rotation.StateVerifyFailed)
	m.wantMatchRecorded(r)
	if r.Can(rotation.EvRevoke) || !r.Can(rotation.EvRollback) {
		t.Fatalf("after the match: revoke %v, rollback %v", r.Can(rotation.EvRevoke), r.Can(rotation.EvRollback))
	}
	if s := r.Step(rotation.StepVerify); s.State != rotation.StepFailed || !strings.Contains(s.Message, "raxx-console-prod logged a GitHub authentication failure") {
		t.Errorf("verify step: %s %q", s.State, s.Message)
	}
	if s := r.Step(rotation.StepRevoke); s.State != rotation.StepPending {
		t.Errorf("revoke step: %s", s.State)
	}
	if !strings.Contains(r.Notice, "Failed at verify: raxx-console-prod logged a GitHub authentication failure") ||
		!strings.Contains(r.Notice, "Rollback restores the old token") {
		t.Errorf("notice: %q", r.Notice)
	}
	if notes := m.thread(); !strings.Contains(notes, "❌ raxx-console-prod logged a GitHub authentication failure after the restart") {
		t.Errorf("the thread was not told of the match:\n%s", notes)
	}
}

// noLeak: no part of a token in the notes, the log or the bbolt file.
func (m *matchWorld) noLeak() {
	m.t.Helper()
	m.eng.Drain()
	m.eng.Wait()
	rotationtest.NoLeak(m.t, m.thread(), oldToken, newToken)
	rotationtest.NoLeak(m.t, m.logs.String(), oldToken, newToken)
	m.assertNoTokenInFile()
}

// The match lands while verify still runs, after verify's own look at the
// watches and before its verified transition: the transition must not carry
// the run to Waiting for revoke.
func TestLogWatchMatchWhileVerifyRuns(t *testing.T) {
	m := newMatchWorld(t)
	verified := m.g.hold(rotation.PauseVerified)
	matched := m.g.watch(rotation.PauseMatchDone)
	run := m.advance()
	verified.reached(t)
	m.badCredentials()
	matched.reached(t)
	m.wantMatchRecorded(m.run()) // recorded while the run still verifies
	verified.open()
	m.wantMatchWon(m.done(run))
	m.noLeak()
}

// The match's handler starts while the run is still Verifying, and its write
// lands right after the verified transition: it must fail the run it finds,
// not the one it would have read before.
func TestLogWatchMatchInTheInstantOfVerified(t *testing.T) {
	m := newMatchWorld(t)
	verified := m.g.hold(rotation.PauseVerified)
	matching := m.g.hold(rotation.PauseMatch)
	matched := m.g.watch(rotation.PauseMatchDone)
	run := m.advance()
	verified.reached(t)
	m.badCredentials()
	matching.reached(t) // the match is in hand while the run is Verifying
	wantState(t, m.run(), rotation.StateVerifying)
	verified.open()
	wantState(t, m.done(run), rotation.StateWaitingRevoke)
	matching.open()
	matched.reached(t)
	m.wantMatchWon(m.run())
	m.noLeak()
}

// The match lands while the run waits for a person to revoke.
func TestLogWatchMatchWhileWaitingForRevoke(t *testing.T) {
	m := newMatchWorld(t)
	matched := m.g.watch(rotation.PauseMatchDone)
	wantState(t, m.done(m.advance()), rotation.StateWaitingRevoke)
	m.badCredentials()
	matched.reached(t)
	m.wantMatchWon(m.run())
	m.noLeak()
}

// A person presses Revoke old token now; the match lands before the press's
// transaction. The revoke is refused and says why; nothing goes to GitHub.
func TestLogWatchMatchBeforeARevokePressLands(t *testing.T) {
	m := newMatchWorld(t)
	wantState(t, m.done(m.advance()), rotation.StateWaitingRevoke)
	pressing := m.g.hold(rotation.PauseRevoke)
	matched := m.g.watch(rotation.PauseMatchDone)
	pressed := make(chan error, 1)
	go func() {
		_, err := m.eng.Revoke(context.Background(), m.id, "U0BOB", true)
		pressed <- err
	}()
	pressing.reached(t)
	m.badCredentials()
	matched.reached(t)
	pressing.open()
	err := <-pressed
	if rotation.ErrorCode(err) != rotation.ECONFLICT {
		t.Fatalf("the revoke press: %v, want a refusal", err)
	}
	msg := rotation.ErrorMessage(err)
	for _, want := range []string{"Not revoked: raxx-console-prod logged a GitHub authentication failure after the restart",
		"the old token was left alone", "Rollback restores it"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal %q does not say %q", msg, want)
		}
	}
	r := m.run()
	m.wantMatchWon(r)
	revokes := m.gh.Revokes()
	if r.RevokeAttempted || r.RevokeSent || revokes != 0 {
		t.Errorf("a revoke went ahead: attempted %v, sent %v, %d requests to GitHub", r.RevokeAttempted, r.RevokeSent, revokes)
	}
	m.noLeak()
}

// The revoke press went through (the old token was sent to GitHub's revoke
// endpoint) and the match lands while the bot checks that the old token answers
// 401: rollback is over, and the confirmation says what the match means.
func TestLogWatchMatchWhileARevokeIsConfirmed(t *testing.T) {
	m := newMatchWorld(t)
	wantState(t, m.done(m.advance()), rotation.StateWaitingRevoke)
	ok(t)(m.eng.Revoke(context.Background(), m.id, "U0BOB", true))
	checking := m.g.hold(rotation.PauseRevokeCheck)
	matched := m.g.watch(rotation.PauseMatchDone)
	run := m.advance()
	checking.reached(t)
	m.badCredentials()
	matched.reached(t)
	r := m.run()
	wantState(t, r, rotation.StateRevoking)
	m.wantMatchRecorded(r)
	checking.open()
	r = m.done(run)
	wantState(t, r, rotation.StateCompleted)
	notes := m.thread()
	for _, want := range []string{
		"❌ raxx-console-prod logged a GitHub authentication failure after the restart: `",
		" app[web.1]: GitHub API error: 401 Bad credentials for token github_pat_[masked]` — a revoke of the old token is under way: its result follows",
		"❌ Revoke confirmed: the old token answers 401 — but while the revoke was under way raxx-console-prod logged a GitHub authentication failure after the restart",
		"Rollback is no longer possible: set the value there again, or start a new run with /rotate " + secretName,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("the thread lacks %q:\n%s", want, notes)
		}
	}
	m.notes.mu.Lock()
	audits := append([]rotation.AuditEntry(nil), m.notes.audits...)
	m.notes.mu.Unlock()
	if len(audits) != 1 || !strings.Contains(auditResult(audits[0], "Heroku raxx-console-prod"), "failed: raxx-console-prod logged a GitHub authentication failure") {
		t.Errorf("the audit entry does not record prod's failure: %+v", audits)
	}
	m.noLeak()
}

// "I revoked the old token" went through, but the old token still works, and
// the match lands while the bot checks it: the run does not go back to waiting
// for revoke with prod failing — it fails verify, and says rollback is over.
func TestLogWatchMatchWhileARevokeIsPending(t *testing.T) {
	m := newMatchWorld(t)
	wantState(t, m.done(m.advance()), rotation.StateWaitingRevoke)
	ok(t)(m.eng.Revoke(context.Background(), m.id, "U0BOB", false))
	checking := m.g.hold(rotation.PauseRevokeCheck)
	matched := m.g.watch(rotation.PauseMatchDone)
	run := m.advance()
	checking.reached(t)
	m.badCredentials()
	matched.reached(t)
	checking.open()
	r := m.done(run)
	wantState(t, r, rotation.StateVerifyFailed)
	m.wantMatchRecorded(r)
	if r.Can(rotation.EvRevoke) || r.Can(rotation.EvRollback) || !r.Can(rotation.EvRetry) {
		t.Errorf("after the match: revoke %v, rollback %v, retry %v", r.Can(rotation.EvRevoke), r.Can(rotation.EvRollback), r.Can(rotation.EvRetry))
	}
	if !strings.Contains(r.Notice, "Failed at verify: raxx-console-prod logged a GitHub authentication failure") ||
		!strings.Contains(r.Notice, "rollback is no longer possible: Retry sets the value again") {
		t.Errorf("notice: %q", r.Notice)
	}
	if notes := m.thread(); !strings.Contains(notes, "The old token still works") || !strings.Contains(notes, "❌ Failed at verify: raxx-console-prod") {
		t.Errorf("the revoke's result does not say so:\n%s", notes)
	}
	m.noLeak()
}

func auditResult(e rotation.AuditEntry, dest string) string {
	for _, d := range e.Destinations {
		if d.Destination == dest {
			return d.Result
		}
	}
	return ""
}

// A match an older rotabot recorded alone left the run waiting for revoke with
// prod failed. The rule holds for it too: a Revoke press is refused and says
// why, nothing goes to GitHub, and Rollback goes ahead from verify failed.
func TestLogWatchMatchRecordedAloneByAnOlderRotabotStillWins(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toRevoke(ctx)
	ok(t)(w.st.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
		for i := range x.Destinations {
			if d := &x.Destinations[i]; d.Target == "raxx-console-prod" {
				d.State = rotation.DestFailed
				d.LastError = "raxx-console-prod logged a GitHub authentication failure after the restart: `app[web.1]: Bad credentials`"
				d.Watch = &rotation.Watch{State: rotation.WatchMatched, Match: "app[web.1]: Bad credentials"}
			}
		}
		return nil
	}))
	_, err := w.eng.Revoke(ctx, r.ID, "U0BOB", true)
	if rotation.ErrorCode(err) != rotation.ECONFLICT || !strings.Contains(rotation.ErrorMessage(err), "Not revoked: raxx-console-prod logged a GitHub authentication failure") {
		t.Fatalf("Revoke on the run as the older rotabot left it: %v", err)
	}
	revokes := w.gh.Revokes()
	if revokes != 0 {
		t.Fatalf("%d revoke requests went to GitHub", revokes)
	}
	r = ok(t)(w.eng.Rollback(ctx, r.ID, "U0BOB"))
	wantState(t, r, rotation.StateRollingBack)
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateRolledBack)
	w.assertEverywhere(oldToken)
	w.assertNoTokenInFile()
}
