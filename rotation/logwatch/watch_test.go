package logwatch_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/logwatch"
	"github.com/raxx-app/rotabot/store/bbolt"
)

var t0 = time.Date(2026, 11, 29, 19, 0, 0, 0, time.UTC)

// clock is the engine's clock, moved only by the test's tailers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// watched builds an engine on a bbolt store whose one run waits for revoke
// with a log watch on one Heroku app, from t0 until until; sleep is the
// engine's (the tail's backoff).
func watched(t *testing.T, c *clock, until time.Time, sleep func(context.Context, time.Duration) error) (*rotation.Engine, string) {
	t.Helper()
	st, err := bbolt.Open(filepath.Join(t.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{
		"GH_TOKEN": {Name: "GH_TOKEN", LogWatch: rotation.LogWatch{Window: time.Minute}},
	}}
	eng := rotation.NewEngine(rotation.EngineConfig{Matrix: m, Store: st, Now: c.Now, Sleep: sleep})
	r, err := st.CreateRun(context.Background(), &rotation.Run{
		Secret: "GH_TOKEN", State: rotation.StateWaitingRevoke, Created: t0, Updated: t0,
		Destinations: []rotation.Destination{{Kind: rotation.DestHeroku, Target: "raxx-console-prod", State: rotation.DestVerified,
			Watch: &rotation.Watch{State: rotation.WatchWatching, From: t0, Since: t0, Until: until, Checked: t0}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return eng, r.ID
}

// refusing refuses every log session.
type refusing struct{}

func (refusing) TailLogs(ctx context.Context, target string, _ int, _ func(), _ func(rotation.LogLine)) error {
	return rotation.Errorf(rotation.EUNAVAILABLE, "Heroku refused a log session for %s (503)", target)
}

// A refused log session is retried after 1 s, then twice as long each time, and
// the run carries one warning (not a failure) while it lasts.
func TestLogWatchBacksOffARefusedSession(t *testing.T) {
	c := &clock{now: t0}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d) // only the one tail sleeps
		if len(waits) == 6 {
			cancel()
		}
		return ctx.Err()
	}
	eng, id := watched(t, c, t0.Add(time.Minute), sleep)
	w := logwatch.New(eng, map[rotation.DestKind]rotation.LogTailer{rotation.DestHeroku: refusing{}})
	eng.Watcher = w
	w.Watch(ctx, id)

	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	r, err := eng.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	lw := r.Destinations[0].Watch
	if r.State != rotation.StateWaitingRevoke || r.Destinations[0].State != rotation.DestVerified {
		t.Errorf("a refused log failed the run: %s, %s", r.State, r.Destinations[0].State)
	}
	if lw.State != rotation.WatchWatching || lw.Read || !strings.Contains(lw.Warning, "refused a log session for raxx-console-prod") {
		t.Errorf("watch: %+v", lw)
	}
}

// opening opens the log, moves the clock by step first, and reads nothing
// until it is stopped.
type opening struct {
	c      *clock
	step   time.Duration
	opened chan struct{}
}

func (o opening) TailLogs(ctx context.Context, _ string, _ int, opened func(), _ func(rotation.LogLine)) error {
	o.c.add(o.step)
	opened()
	close(o.opened)
	<-ctx.Done()
	return nil
}

// A watch found past its window (the process was down) still reads the log for
// a moment before it ends: clean, since the log was read.
func TestLogWatchCatchesUpOnAWindowThatPassed(t *testing.T) {
	c := &clock{now: t0.Add(2 * time.Minute)}
	eng, id := watched(t, c, t0.Add(time.Minute), func(ctx context.Context, _ time.Duration) error {
		return errors.New("the tail does not wait in this test")
	})
	tl := opening{c: c, step: 4 * time.Second, opened: make(chan struct{})}
	w := logwatch.New(eng, map[rotation.DestKind]rotation.LogTailer{rotation.DestHeroku: tl})
	eng.Watcher = w
	w.Watch(context.Background(), id)

	select {
	case <-tl.opened:
	default:
		t.Fatal("the watch ended without reading the log")
	}
	r, err := eng.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if lw := r.Destinations[0].Watch; lw.State != rotation.WatchClean || !lw.Read {
		t.Errorf("watch: %+v", lw)
	}
}
