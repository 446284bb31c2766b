package logwatch_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/heroku"
	"github.com/raxx-app/rotabot/rotation/logwatch"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// These tests read logs through the Heroku adapter from the Heroku stand-in's
// log sessions (POST /apps/{app}/log-sessions, then the stream at its
// logplex_url), as the bot does.

const (
	sharedApp  = "raxx-console-prod"
	sessions   = "POST /apps/{app}/log-sessions"
	appSource  = "app[web.1]"
	waitLonger = 10 * time.Second
)

// shared is a Heroku stand-in, the adapter on it, and an engine on a bbolt
// store whose matrix has two secrets on one app: WEB_TOKEN with the default
// patterns and DEPLOY_TOKEN with a pattern of its own. The stand-in and the
// engine share the test's clock, which stays still: no window ends.
type shared struct {
	h   *sbheroku.Heroku
	st  *bbolt.Store
	eng *rotation.Engine
	w   *logwatch.Watcher
	c   *clock
	// read counts the lines the watcher's sessions have read.
	read *atomic.Int64
}

// countingTailer is the Heroku adapter, counting the lines it hands on.
type countingTailer struct {
	rotation.LogTailer
	n *atomic.Int64
}

func (c countingTailer) TailLogs(ctx context.Context, target string, history int, opened func(), each func(rotation.LogLine)) error {
	return c.LogTailer.TailLogs(ctx, target, history, opened, func(l rotation.LogLine) { each(l); c.n.Add(1) })
}

func newShared(t *testing.T) *shared {
	t.Helper()
	c := &clock{now: rotation.WallNow().UTC().Truncate(time.Second)}
	h := sbheroku.New("hrku-logwatch-test-key")
	t.Cleanup(h.Close)
	h.SetClock(c.Now)
	h.AddApp(sharedApp, map[string]string{})
	st, err := bbolt.Open(filepath.Join(t.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{
		"WEB_TOKEN":    {Name: "WEB_TOKEN", LogWatch: rotation.LogWatch{Window: time.Hour}},
		"DEPLOY_TOKEN": {Name: "DEPLOY_TOKEN", LogWatch: rotation.LogWatch{Window: time.Hour, Patterns: []*regexp.Regexp{regexp.MustCompile(`deploy key rejected`)}}},
	}}
	eng := rotation.NewEngine(rotation.EngineConfig{Matrix: m, Store: st, Now: c.Now})
	a := heroku.New(heroku.Config{BaseURL: h.URL, APIKey: "hrku-logwatch-test-key"})
	read := &atomic.Int64{}
	w := logwatch.New(eng, map[rotation.DestKind]rotation.LogTailer{rotation.DestHeroku: countingTailer{a, read}})
	eng.Watcher = w
	return &shared{h: h, st: st, eng: eng, w: w, c: c, read: read}
}

// watchRun stores a run of secret waiting for revoke whose one destination, the
// shared app, is watched from from, and has the watcher watch it (the first
// call carries the loop until ctx ends).
func (s *shared) watchRun(t *testing.T, ctx context.Context, secret string, from time.Time) string {
	t.Helper()
	now := s.c.Now()
	r, err := s.st.CreateRun(context.Background(), &rotation.Run{
		Secret: secret, State: rotation.StateWaitingRevoke, Created: now, Updated: now,
		Destinations: []rotation.Destination{{Kind: rotation.DestHeroku, Target: sharedApp, State: rotation.DestVerified,
			Watch: &rotation.Watch{State: rotation.WatchWatching, From: from, Since: now, Until: now.Add(time.Hour), Checked: now}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.w.Watch(ctx, r.ID)
	}()
	t.Cleanup(func() { <-done })
	return r.ID
}

// watchOf is run id's watch as stored.
func (s *shared) watchOf(t *testing.T, id string) (rotation.Watch, rotation.DestState) {
	t.Helper()
	r, err := s.eng.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return *r.Destinations[0].Watch, r.Destinations[0].State
}

// waitWatch waits until cond holds of run id's watch.
func (s *shared) waitWatch(t *testing.T, id, what string, cond func(rotation.Watch, rotation.DestState) bool) {
	t.Helper()
	deadline := time.Now().Add(waitLonger)
	for {
		w, st := s.watchOf(t, id)
		if cond(w, st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: %s did not happen; its watch: %+v (destination %s)", id, what, w, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func reading(w rotation.Watch, _ rotation.DestState) bool {
	return w.State == rotation.WatchWatching && w.Read
}

func matched(w rotation.Watch, st rotation.DestState) bool {
	return w.State == rotation.WatchMatched && st == rotation.DestFailed
}

// waitStreams waits until the stand-in has n streams of the app open.
func (s *shared) waitStreams(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLonger)
	for s.h.OpenLogStreams(sharedApp) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d log streams of %s open, want %d", s.h.OpenLogStreams(sharedApp), sharedApp, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two runs watching one app read one log session; a line that matches one
// run's patterns fails that run's destination only; that run's watch ending
// leaves the other's going on the same session, which still reaches it.
func TestTwoRunsOnOneAppShareOneLogSession(t *testing.T) {
	s := newShared(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	from := s.c.Now()
	web := s.watchRun(t, ctx, "WEB_TOKEN", from)
	s.waitWatch(t, web, "the first run's log opened", reading)
	deploy := s.watchRun(t, ctx, "DEPLOY_TOKEN", from)
	s.waitWatch(t, deploy, "the second run's log opened", reading)
	s.waitStreams(t, 1)
	if n := s.h.Count(sessions, true); n != 1 {
		t.Fatalf("%d log sessions opened for two runs on one app, want 1", n)
	}

	// A line only DEPLOY_TOKEN's pattern knows.
	s.h.InjectLog(sharedApp, appSource, "deploy key rejected by GitHub")
	s.waitWatch(t, deploy, "the second run's match", matched)
	if w, st := s.watchOf(t, web); w.State != rotation.WatchWatching || st != rotation.DestVerified {
		t.Fatalf("a line of the other run's patterns reached WEB_TOKEN's run: %+v (%s)", w, st)
	}

	// The second run's watch is over (its claim given back); the first one's
	// goes on, on the same stream.
	waitFor(t, "DEPLOY_TOKEN's watch to end", func() bool {
		ok, _ := s.st.ClaimRun(ctx, "watch:"+deploy, "probe", s.c.Now(), time.Minute)
		if ok {
			_ = s.st.ReleaseRun(ctx, "watch:"+deploy, "probe")
		}
		return ok
	})
	s.waitStreams(t, 1)
	s.h.InjectLog(sharedApp, appSource, "GitHub API error: 401 Bad credentials")
	s.waitWatch(t, web, "the first run's match", matched)
	if n := s.h.Count(sessions, true); n != 1 {
		t.Errorf("%d log sessions opened, want 1", n)
	}
	// Nobody watches the app now: its session ends.
	s.waitStreams(t, 0)
	if m := s.matchOf(t, deploy); m == "" || !regexp.MustCompile(`deploy key rejected`).MatchString(m) {
		t.Errorf("DEPLOY_TOKEN's match names %q", m)
	}
}

// matchOf is the line run id's watch matched, as recorded.
func (s *shared) matchOf(t *testing.T, id string) string {
	t.Helper()
	w, _ := s.watchOf(t, id)
	return w.Match
}

// A run that starts watching an app whose session is open already is handed
// the app's lines it missed since its release (from the session's recent
// lines, without a new session), and only those from its release on.
func TestALateRunGetsTheLinesItMissed(t *testing.T) {
	s := newShared(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	web := s.watchRun(t, ctx, "WEB_TOKEN", s.c.Now())
	s.waitWatch(t, web, "the first run's log opened", reading)
	s.waitStreams(t, 1)
	// A deploy-key failure before the second run's release, and one after it;
	// only WEB_TOKEN's run reads the stream while they are written.
	s.h.InjectLog(sharedApp, appSource, "deploy key rejected (before the release)")
	s.c.add(time.Second)
	release := s.c.Now()
	s.c.add(time.Second)
	s.h.InjectLog(sharedApp, appSource, "deploy key rejected (after the release)")
	waitFor(t, "the lines to reach the session", func() bool { return len(s.h.LogLines(sharedApp)) == 2 })
	waitFor(t, "the session to read them", func() bool { return s.read.Load() >= 2 })

	deploy := s.watchRun(t, ctx, "DEPLOY_TOKEN", release)
	s.waitWatch(t, deploy, "the late run's match", matched)
	// The engine has no masker here: the line is named by its time.
	if m, at := s.matchOf(t, deploy), release.Add(time.Second).Format("2006-01-02T15:04:05.000000-07:00"); !strings.HasPrefix(m, at) {
		t.Errorf("the late run matched %q, want the line after its release (%s)", m, at)
	}
	if n := s.h.Count(sessions, true); n != 1 {
		t.Errorf("%d log sessions opened, want 1 (the late run served from the open one)", n)
	}
	if w, st := s.watchOf(t, web); w.State != rotation.WatchWatching || st != rotation.DestVerified {
		t.Errorf("WEB_TOKEN's run: %+v (%s)", w, st)
	}
}

// A run whose release is older than anything the open session has read gets
// the session opened again with the app's history: it sees the lines from its
// release on, and the other run reads on without a gap or a second stream.
func TestARunOlderThanTheSessionReopensIt(t *testing.T) {
	s := newShared(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	early := s.c.Now()
	s.c.add(time.Second)
	s.h.InjectLog(sharedApp, appSource, "deploy key rejected (written before either watch)")
	s.c.add(time.Second)
	web := s.watchRun(t, ctx, "WEB_TOKEN", s.c.Now())
	s.waitWatch(t, web, "the first run's log opened", reading)

	deploy := s.watchRun(t, ctx, "DEPLOY_TOKEN", early)
	s.waitWatch(t, deploy, "the older run's match", matched)
	if n := s.h.Count(sessions, true); n != 2 {
		t.Errorf("%d log sessions opened, want 2 (the session opened again with its history)", n)
	}
	s.waitStreams(t, 1)
	s.h.InjectLog(sharedApp, appSource, "Octokit::Unauthorized: 401 - Bad credentials")
	s.waitWatch(t, web, "the first run's match after the reopening", matched)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLonger)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
