package rotation_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/logwatch"
	"github.com/raxx-app/rotabot/rotation/mask"
	"github.com/raxx-app/rotabot/rotation/release"
)

// fakeApp is one app of fakeHeroku: its releases and dynos.
type fakeApp struct {
	releases []rotation.Release
	dynos    int // the formation's size
	running  int // the release the dynos run
	up       bool
	// pendingLooks is how many looks a new release stays pending; bootLooks how
	// many looks at the dynos they take to come up after it succeeds.
	pendingLooks, bootLooks int
	failNext, crash         bool
	noRelease               bool // a write makes no release (the value was there)
	looks, bootLeft         int
}

// fakeHeroku is a Releaser and LogTailer whose apps make a release on every
// write (it wraps the Heroku consumer's Set), as Heroku does.
type fakeHeroku struct {
	mu     sync.Mutex
	apps   map[string]*fakeApp
	events []string // what happened, in order: "release raxx-console-prod v2 pending", "probe"
	now    func() time.Time

	// logs
	lines    map[string][]rotation.LogLine
	openErr  map[string]error
	opens    map[string]int
	injected chan struct{}
}

func newFakeHeroku(now func() time.Time, apps ...string) *fakeHeroku {
	f := &fakeHeroku{apps: map[string]*fakeApp{}, now: now, lines: map[string][]rotation.LogLine{},
		openErr: map[string]error{}, opens: map[string]int{}, injected: make(chan struct{})}
	for _, a := range apps {
		f.apps[a] = &fakeApp{releases: []rotation.Release{{Version: 1, Status: rotation.ReleaseSucceeded, Created: now()}}, dynos: 1, running: 1, up: true}
	}
	return f
}

func (f *fakeHeroku) event(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, s)
}

func (f *fakeHeroku) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...)
}

// released is the Set hook: a config change makes a release.
func (f *fakeHeroku) released(app string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[app]
	if a == nil || a.noRelease {
		return
	}
	v := a.releases[len(a.releases)-1].Version + 1
	a.releases = append(a.releases, rotation.Release{Version: v, Status: rotation.ReleasePending, Created: f.now()})
	a.looks = 0
	a.up = false
	f.settle(app, a)
}

// settle moves the newest release and the dynos on by one look. f.mu is held.
func (f *fakeHeroku) settle(app string, a *fakeApp) {
	r := &a.releases[len(a.releases)-1]
	if r.Status == rotation.ReleasePending {
		if a.looks < a.pendingLooks {
			a.looks++
			return
		}
		if a.failNext {
			r.Status = rotation.ReleaseFailed
			return
		}
		r.Status = rotation.ReleaseSucceeded
		a.running, a.bootLeft = r.Version, a.bootLooks
	}
	if r.Status == rotation.ReleaseSucceeded && !a.up && !a.crash {
		if a.bootLeft > 0 {
			a.bootLeft--
			return
		}
		a.up = true
	}
}

func (f *fakeHeroku) LatestRelease(_ context.Context, app string) (rotation.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[app]
	return a.releases[len(a.releases)-1], nil
}

func (f *fakeHeroku) Release(_ context.Context, app string, v int) (rotation.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[app]
	f.settle(app, a)
	r := a.releases[v-1]
	f.events = append(f.events, fmt.Sprintf("release %s v%d %s", app, v, r.Status))
	return r, nil
}

func (f *fakeHeroku) Dynos(_ context.Context, app string) ([]rotation.Dyno, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[app]
	var out []rotation.Dyno
	for i := 1; i <= a.dynos; i++ {
		st := rotation.DynoStarting
		switch {
		case a.up:
			st = rotation.DynoUp
		case a.crash:
			st = rotation.DynoCrashed
		}
		out = append(out, rotation.Dyno{Name: fmt.Sprintf("web.%d", i), State: st, Release: a.running})
	}
	if a.up && a.dynos > 0 {
		f.events = append(f.events, fmt.Sprintf("up %s v%d", app, a.running))
	}
	return out, nil
}

func (f *fakeHeroku) ActivityURL(app string) string {
	return "https://dashboard.heroku.com/apps/" + app + "/activity"
}

func (f *fakeHeroku) inject(app string, l rotation.LogLine) {
	f.mu.Lock()
	f.lines[app] = append(f.lines[app], l)
	ch := f.injected
	f.injected = make(chan struct{})
	f.mu.Unlock()
	close(ch)
}

func (f *fakeHeroku) TailLogs(ctx context.Context, app string, history int, opened func(), each func(rotation.LogLine)) error {
	f.mu.Lock()
	f.opens[app]++
	err := f.openErr[app]
	f.mu.Unlock()
	if err != nil {
		return err
	}
	opened()
	sent := 0
	for {
		f.mu.Lock()
		lines := f.lines[app][sent:]
		ch := f.injected
		f.mu.Unlock()
		for _, l := range lines {
			each(l)
			sent++
			if ctx.Err() != nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
		}
	}
}

// probeRecorder notes when the workload probe runs, among the releases.
type probeRecorder struct {
	*fakeGitHub
	f *fakeHeroku
}

func (p probeRecorder) Probe(ctx context.Context, tok rotation.Secret, path string) error {
	p.f.event("probe")
	return p.fakeGitHub.Probe(ctx, tok, path)
}

// clock is a test clock that moves on when the engine sleeps.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// realNow is the real clock's passing counted from the fixtures' date t0: the
// tests whose watches need real time see the dates their fixtures carry (a token
// that expires 90 days after t0 is good), on any day they run.
var realNow = func() func() time.Time {
	start := time.Now()
	return func() time.Time { return t0.Add(time.Since(start)) }
}()

// restarting rebuilds w's engine with f as its Heroku releaser and log reader,
// on the clock c (nil: realNow, and real sleeps).
func (w *world) restarting(f *fakeHeroku, c *clock) {
	cfg := rotation.EngineConfig{
		Matrix: w.matrix, Vault: w.vault, Checker: probeRecorder{w.gh, f}, Revoker: w.gh, Notifier: w.notes, Store: w.st,
		Consumers: map[rotation.DestKind]rotation.Consumer{rotation.DestHeroku: w.heroku, rotation.DestGitHubSecret: w.ghsec},
		Releasers: map[rotation.DestKind]rotation.Releaser{rotation.DestHeroku: f},
		Masker:    mask.Lines{},
	}
	cfg.Now = realNow
	if c != nil {
		cfg.Now, cfg.Sleep = c.Now, c.Sleep
	}
	w.heroku.onSet = f.released
	w.tailers = map[rotation.DestKind]rotation.LogTailer{rotation.DestHeroku: f}
	w.build(cfg)
}

// build makes w's engine on cfg, then attaches its log watch, reading the logs
// of w.tailers (none: nothing is watched), as the command wires them.
func (w *world) build(cfg rotation.EngineConfig) {
	w.eng = rotation.NewEngine(cfg)
	w.eng.Restarts = release.New(w.eng)
	if w.tailers != nil {
		w.eng.Watcher = logwatch.New(w.eng, w.tailers)
	}
}

func dest(t *testing.T, r *rotation.Run, target string) rotation.Destination {
	t.Helper()
	for _, d := range r.Destinations {
		if d.Target == target {
			return d
		}
	}
	t.Fatalf("no destination %s", target)
	return rotation.Destination{}
}

func TestVerifyWaitsForTheReleaseAndTheDynos(t *testing.T) {
	w := newWorld(t)
	c := &clock{now: t0}
	f := newFakeHeroku(c.Now, "raxx-console-prod", "raxx-console-staging")
	f.apps["raxx-console-prod"].pendingLooks = 3
	f.apps["raxx-console-prod"].bootLooks = 2
	f.apps["raxx-console-prod"].dynos = 2
	w.restarting(f, c)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)

	// The probe ran once, after both apps were up on their new release.
	ev := strings.Join(f.seen(), "\n")
	probe := strings.LastIndex(ev, "probe") // the first was the submitted token's check
	if probe < 0 || strings.LastIndex(ev, "pending") > probe || !strings.Contains(ev[:probe], "up raxx-console-prod v2") || !strings.Contains(ev[:probe], "up raxx-console-staging v2") {
		t.Fatalf("the probe did not wait for the restarts:\n%s", ev)
	}
	for _, app := range []string{"raxx-console-prod", "raxx-console-staging"} {
		d := dest(t, r, app)
		if d.Restart == nil || d.Restart.Before != 1 || d.Restart.Release != 2 || d.Restart.Phase != rotation.RestartUp || d.State != rotation.DestVerified {
			t.Errorf("%s: %s, restart %+v", app, d.State, d.Restart)
		}
	}
	if d := dest(t, r, "raxx-console-prod"); d.Restart.Up != 2 || d.Restart.Dynos != 2 || d.Restart.Done.IsZero() {
		t.Errorf("prod's dynos: %+v", d.Restart)
	}
	// Other kinds do not restart.
	if d := dest(t, r, "raxx-app/TradeMasterAPI"); d.Restart != nil {
		t.Errorf("a GitHub secret has a restart: %+v", d.Restart)
	}
	// The card was told each phase of prod's restart as it came.
	var phases []string
	w.notes.mu.Lock()
	notes := strings.Join(w.notes.notes, "\n")
	w.notes.mu.Unlock()
	for _, want := range []string{"Heroku raxx-console-prod runs release v2", "Heroku raxx-console-staging runs release v2"} {
		if !strings.Contains(notes, want) {
			phases = append(phases, want)
		}
	}
	if len(phases) > 0 {
		t.Errorf("notes lack %q:\n%s", phases, notes)
	}
	if n := w.heroku.count("raxx-console-prod"); n != 1 {
		t.Errorf("prod written %d times", n)
	}
}

func TestFailedReleaseFailsItsDestination(t *testing.T) {
	w := newWorld(t)
	c := &clock{now: t0}
	f := newFakeHeroku(c.Now, "raxx-console-prod", "raxx-console-staging")
	f.apps["raxx-console-staging"].pendingLooks = 1
	f.apps["raxx-console-staging"].failNext = true
	w.restarting(f, c)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateVerifyFailed)
	d := dest(t, r, "raxx-console-staging")
	want := "Heroku release v2 of raxx-console-staging failed: see https://dashboard.heroku.com/apps/raxx-console-staging/activity"
	if d.State != rotation.DestFailed || d.LastError != want {
		t.Fatalf("staging: %s %q", d.State, d.LastError)
	}
	if !strings.Contains(r.Notice, want) || !r.Can(rotation.EvRollback) || !r.Can(rotation.EvRetry) {
		t.Fatalf("notice %q", r.Notice)
	}
	if d := dest(t, r, "raxx-console-prod"); d.State != rotation.DestVerified {
		t.Errorf("prod: %s", d.State)
	}

	// Retry writes staging again: a new release, which succeeds this time.
	f.apps["raxx-console-staging"].failNext = false
	ok(t)(w.eng.Retry(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	if d := dest(t, r, "raxx-console-staging"); d.Restart.Release != 3 || d.Restart.Phase != rotation.RestartUp {
		t.Errorf("staging after the retry: %+v", d.Restart)
	}
	if n := w.heroku.count("raxx-console-prod"); n != 1 {
		t.Errorf("prod rewritten by the retry (%d writes)", n)
	}
}

func TestRestartWaitsAreBounded(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(a *fakeApp)
		want  string
	}{
		{"a release that stays pending", func(a *fakeApp) { a.pendingLooks = 1 << 20 },
			"Heroku release v2 of raxx-console-prod was still pending after 2m: see https://dashboard.heroku.com/apps/raxx-console-prod/activity"},
		{"dynos that crash", func(a *fakeApp) { a.crash = true },
			"The dynos of raxx-console-prod did not come up on release v2 within 3m (0 of 1 up; crashed: web.1): see https://dashboard.heroku.com/apps/raxx-console-prod/activity"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.matrix.Heroku = rotation.HerokuSettings{ReleaseTimeout: 2 * time.Minute, RestartTimeout: 3 * time.Minute}
			clk := &clock{now: t0}
			f := newFakeHeroku(clk.Now, "raxx-console-prod", "raxx-console-staging")
			c.setup(f.apps["raxx-console-prod"])
			w.restarting(f, clk)
			ctx := context.Background()
			r := w.toApproval(ctx)
			ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
			r = ok(t)(w.eng.Advance(ctx, r.ID))
			wantState(t, r, rotation.StateVerifyFailed)
			if d := dest(t, r, "raxx-console-prod"); d.LastError != c.want {
				t.Errorf("error %q\n     want %q", d.LastError, c.want)
			}
			// It looked about every 2 s (a sixtieth of the bound), not more.
			if n := len(f.seen()); n > 200 {
				t.Errorf("%d looks", n)
			}
		})
	}
}

func TestScaledToZeroHasNothingToRestart(t *testing.T) {
	w := newWorld(t)
	c := &clock{now: t0}
	f := newFakeHeroku(c.Now, "raxx-console-prod", "raxx-console-staging")
	f.apps["raxx-console-staging"].dynos = 0
	w.restarting(f, c)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	d := dest(t, r, "raxx-console-staging")
	if d.Restart.Phase != rotation.RestartNoDynos || d.Watch != nil {
		t.Errorf("staging: restart %+v watch %+v", d.Restart, d.Watch)
	}
	w.notes.mu.Lock()
	defer w.notes.mu.Unlock()
	if !strings.Contains(strings.Join(w.notes.notes, "\n"), "Heroku raxx-console-staging is scaled to zero: release v2 has nothing to restart") {
		t.Errorf("nobody was told staging has no dynos:\n%s", strings.Join(w.notes.notes, "\n"))
	}
}

func TestWriteThatMakesNoRelease(t *testing.T) {
	w := newWorld(t)
	c := &clock{now: t0}
	f := newFakeHeroku(c.Now, "raxx-console-prod", "raxx-console-staging")
	f.apps["raxx-console-staging"].noRelease = true
	w.restarting(f, c)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	d := dest(t, r, "raxx-console-staging")
	if d.Restart.Release != 1 || !d.Restart.NoRelease || d.Restart.Phase != rotation.RestartUp {
		t.Fatalf("staging: %+v", d.Restart)
	}
	// It looked for about noReleaseGrace, not the whole bound.
	if waited := c.Now().Sub(t0); waited < 10*time.Second || waited > time.Minute {
		t.Errorf("waited %s for a release that never came", waited)
	}
	w.notes.mu.Lock()
	defer w.notes.mu.Unlock()
	if !strings.Contains(strings.Join(w.notes.notes, "\n"), "Heroku raxx-console-staging held the value already: the write made no new release, and release v1 runs it") {
		t.Errorf("notes:\n%s", strings.Join(w.notes.notes, "\n"))
	}
}

func TestRestartWaitResumesAfterACrash(t *testing.T) {
	w := newWorld(t)
	c := &clock{now: t0}
	f := newFakeHeroku(c.Now, "raxx-console-prod", "raxx-console-staging")
	f.apps["raxx-console-prod"].pendingLooks = 1 << 20
	w.restarting(f, c)
	ctx, crash := context.WithCancel(context.Background())
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	// The process dies while prod's release is pending.
	go func() {
		for !strings.Contains(strings.Join(f.seen(), "\n"), "release raxx-console-prod v2 pending") {
			time.Sleep(time.Millisecond)
		}
		crash()
	}()
	if _, err := w.eng.Advance(ctx, r.ID); err == nil {
		t.Fatal("Advance survived the crash")
	}
	r = ok(t)(w.eng.Get(context.Background(), r.ID))
	wantState(t, r, rotation.StateVerifying)
	if d := dest(t, r, "raxx-console-prod"); d.Restart == nil || d.Restart.Release != 2 || d.Restart.Phase != rotation.RestartReleasing {
		t.Fatalf("prod's restart as recorded: %+v", d.Restart)
	}

	// A new process: the release finishes meanwhile; the wait resumes, nothing
	// is written again.
	w.reopen(nil)
	w.restarting(f, c)
	f.mu.Lock()
	f.apps["raxx-console-prod"].pendingLooks = 0
	f.mu.Unlock()
	ctx = context.Background()
	if _, err := w.eng.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	w.eng.Wait()
	r = ok(t)(w.eng.Get(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	if n := w.heroku.count("raxx-console-prod"); n != 1 {
		t.Errorf("prod written %d times", n)
	}
}

// watchWorld is a run waiting for revoke whose apps' logs are watched for window,
// on the real clock.
func watchWorld(t *testing.T, window time.Duration, setup func(f *fakeHeroku)) (*world, *fakeHeroku, *rotation.Run) {
	t.Helper()
	w := newWorld(t)
	w.matrix.Secrets[secretName].LogWatch = rotation.LogWatch{Window: window}
	f := newFakeHeroku(realNow, "raxx-console-prod", "raxx-console-staging")
	if setup != nil {
		setup(f)
	}
	w.restarting(f, nil)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	return w, f, r
}

func waitRun(t *testing.T, w *world, id, what string, cond func(*rotation.Run) bool) *rotation.Run {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := ok(t)(w.eng.Get(context.Background(), id))
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; run %s: %+v", what, r.State, r.Destinations)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLogWatchMatchFailsTheRunAndOffersRollback(t *testing.T) {
	w, f, r := watchWorld(t, time.Minute, nil)
	if got := r.Watching(); len(got) != 2 {
		t.Fatalf("watching %v, want both apps", got)
	}
	d := dest(t, r, "raxx-console-prod")
	if d.Watch == nil || d.Watch.State != rotation.WatchWatching || d.Watch.Until.Sub(d.Watch.Since) != time.Minute {
		t.Fatalf("prod's watch: %+v", d.Watch)
	}
	waitRun(t, w, r.ID, "both logs open", func(r *rotation.Run) bool {
		return dest(t, r, "raxx-console-prod").Watch.Read && dest(t, r, "raxx-console-staging").Watch.Read
	})
	now := realNow()
	// Neither a line from before the release, nor the platform's own lines count.
	f.inject("raxx-console-prod", rotation.LogLine{Time: now.Add(-time.Hour), Source: "app[web.1]", Text: "GitHub said 401 Bad credentials"})
	f.inject("raxx-console-prod", rotation.LogLine{Time: now, Source: "heroku[router]", Text: `at=info path="/github/hook" status=401`})
	f.inject("raxx-console-prod", rotation.LogLine{Time: now, Source: "app[web.1]", Text: "fetched 3 builds"})
	time.Sleep(50 * time.Millisecond)
	if r := ok(t)(w.eng.Get(context.Background(), r.ID)); r.State != rotation.StateWaitingRevoke {
		t.Fatalf("a line that does not count failed the run: %s", r.Notice)
	}
	f.inject("raxx-console-prod", rotation.LogLine{Time: now, Source: "app[web.1]", Text: "GitHub API error: 401 Bad credentials for token " + newToken})
	r = waitRun(t, w, r.ID, "the match", func(r *rotation.Run) bool { return r.State == rotation.StateVerifyFailed })
	d = dest(t, r, "raxx-console-prod")
	if d.State != rotation.DestFailed || d.Watch.State != rotation.WatchMatched {
		t.Fatalf("prod: %s, watch %+v", d.State, d.Watch)
	}
	if !strings.Contains(d.LastError, "raxx-console-prod logged a GitHub authentication failure after the restart: `") ||
		!strings.Contains(d.LastError, "app[web.1]: GitHub API error: 401 Bad credentials for token github_pat_[masked]") ||
		strings.Contains(d.LastError, newToken[11:19]) {
		t.Fatalf("prod's error: %q", d.LastError)
	}
	if r.Can(rotation.EvRevoke) || !r.Can(rotation.EvRollback) || !strings.Contains(r.Notice, "Rollback restores the old token") {
		t.Fatalf("after a match: revoke %v rollback %v, notice %q", r.Can(rotation.EvRevoke), r.Can(rotation.EvRollback), r.Notice)
	}
	if s := r.Step(rotation.StepVerify); s.State != rotation.StepFailed {
		t.Errorf("verify step %s", s.State)
	}
	// Staging's watch goes on.
	if got := r.Watching(); len(got) != 1 || got[0] != "raxx-console-staging" {
		t.Errorf("watching %v", got)
	}
	// Rollback ends the watches.
	ok(t)(w.eng.Rollback(context.Background(), r.ID, "U0BOB"))
	ok(t)(w.eng.Advance(context.Background(), r.ID))
	r = waitRun(t, w, r.ID, "the watches to stop", func(r *rotation.Run) bool { return len(r.Watching()) == 0 })
	if d := dest(t, r, "raxx-console-staging"); d.Watch.State != rotation.WatchStopped {
		t.Errorf("staging's watch after the rollback: %+v", d.Watch)
	}
	w.eng.Drain()
	w.eng.Wait()
	w.assertNoTokenInFile()
}

func TestLogWatchCleanAndUnwatched(t *testing.T) {
	w, f, r := watchWorld(t, 1500*time.Millisecond, func(f *fakeHeroku) {
		f.openErr["raxx-console-staging"] = rotation.Errorf(rotation.EUNAVAILABLE, "Heroku is unavailable for app raxx-console-staging (503): retry later")
	})
	r = waitRun(t, w, r.ID, "the watches to end", func(r *rotation.Run) bool { return len(r.Watching()) == 0 })
	wantState(t, r, rotation.StateWaitingRevoke)
	if d := dest(t, r, "raxx-console-prod"); d.State != rotation.DestVerified || d.Watch.State != rotation.WatchClean || !d.Watch.Read {
		t.Errorf("prod: %s %+v", d.State, d.Watch)
	}
	// A log that cannot be read is a warning, not a failure.
	d := dest(t, r, "raxx-console-staging")
	if d.State != rotation.DestVerified || d.Watch.State != rotation.WatchUnwatched || d.Watch.Warning != "Heroku is unavailable for app raxx-console-staging (503): retry later" {
		t.Errorf("staging: %s %+v", d.State, d.Watch)
	}
	f.mu.Lock()
	opens := f.opens["raxx-console-staging"]
	f.mu.Unlock()
	if opens < 2 {
		t.Errorf("staging's log was tried %d times, want retries", opens)
	}
	// The notes follow the record.
	for _, want := range []string{"Log watch of Heroku raxx-console-prod: no GitHub authentication failure in 2s after the restart",
		"⚠️ Could not watch the log of Heroku raxx-console-staging: Heroku is unavailable", "⚠️ The log of Heroku raxx-console-staging could not be watched"} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			w.notes.mu.Lock()
			notes := strings.Join(w.notes.notes, "\n")
			w.notes.mu.Unlock()
			if strings.Contains(notes, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("notes lack %q:\n%s", want, notes)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The run goes on to revoke as usual.
	ok(t)(w.eng.Revoke(context.Background(), r.ID, "U0BOB", false))
}

func TestLogWatchResumesAfterARestart(t *testing.T) {
	w, f, r := watchWorld(t, time.Minute, nil)
	waitRun(t, w, r.ID, "prod's log open", func(r *rotation.Run) bool { return dest(t, r, "raxx-console-prod").Watch.Read })
	// The process stops; a line is written while it is down.
	w.eng.Drain()
	w.eng.Wait()
	f.inject("raxx-console-prod", rotation.LogLine{Time: realNow(), Source: "app[web.1]", Text: "octokit: HttpError: Bad credentials"})
	w.reopen(nil)
	w.restarting(f, nil)
	if _, err := w.eng.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = waitRun(t, w, r.ID, "the match after the restart", func(r *rotation.Run) bool { return r.State == rotation.StateVerifyFailed })
	if d := dest(t, r, "raxx-console-prod"); d.Watch.State != rotation.WatchMatched || !strings.Contains(d.Watch.Match, "octokit: HttpError: Bad credentials") {
		t.Errorf("prod's watch: %+v", d.Watch)
	}
	w.eng.Drain()
	w.eng.Wait()
}
