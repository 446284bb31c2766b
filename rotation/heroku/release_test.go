package heroku_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/heroku"
	"github.com/raxx-app/rotabot/sandbox"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
)

func TestLatestReleaseAndDynos(t *testing.T) {
	f := setup(t, apiKey)
	ctx := context.Background()

	r, err := f.c.LatestRelease(ctx, app)
	if err != nil || r.Version != 1 || r.Status != rotation.ReleaseSucceeded || r.Created.IsZero() {
		t.Fatalf("LatestRelease = %+v, %v", r, err)
	}
	// The CLI's way of asking for the newest release.
	reqs := f.h.Requests()
	if got := reqs[len(reqs)-1].Header.Get("Range"); got != "version ..; max=1,order=desc" {
		t.Errorf("Range = %q", got)
	}

	f.h.SetReleasePhase(app, sbheroku.ReleasePhase{Hold: true})
	if err := f.c.Set(ctx, app, varName, rotation.NewSecret(newToken)); err != nil {
		t.Fatal(err)
	}
	if r, err = f.c.LatestRelease(ctx, app); err != nil || r.Version != 2 || r.Status != rotation.ReleasePending {
		t.Fatalf("after the write: %+v, %v", r, err)
	}
	// The release phase's dyno is not one of the app's.
	ds, err := f.c.Dynos(ctx, app)
	if err != nil || len(ds) != 1 || ds[0] != (rotation.Dyno{Name: "web.1", State: rotation.DynoUp, Release: 1}) {
		t.Fatalf("Dynos = %+v, %v", ds, err)
	}
	f.h.FinishRelease(app, false)
	if r, err = f.c.Release(ctx, app, 2); err != nil || r.Status != rotation.ReleaseFailed {
		t.Fatalf("Release(2) = %+v, %v", r, err)
	}
	if got := f.c.ActivityURL(app); got != "https://dashboard.heroku.com/apps/raxx-console-prod/activity" {
		t.Errorf("ActivityURL = %q", got)
	}

	// Scaled to zero: no dynos.
	f.h.Scale(app, "web", 0)
	if ds, err = f.c.Dynos(ctx, app); err != nil || len(ds) != 0 {
		t.Errorf("scaled to zero: %+v, %v", ds, err)
	}
	_, err = f.c.LatestRelease(ctx, "no-such-app")
	wantErr(t, err, rotation.ENOTFOUND, "Heroku has no app no-such-app (404): check the app's name, and that HEROKU_API_KEY's account can see it")
}

func TestDynosFollowsNextRange(t *testing.T) {
	f := setup(t, apiKey)
	f.h.Scale(app, "worker", 1500)
	ds, err := f.c.Dynos(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1501 {
		t.Errorf("%d dynos, want 1501", len(ds))
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.Name] {
			t.Fatalf("%s listed twice", d.Name)
		}
		seen[d.Name] = true
	}
	if n := f.h.Count("GET /apps/{app}/dynos", true); n != 2 {
		t.Errorf("%d pages asked, want 2", n)
	}
}

// collector gathers log lines from TailLogs's callback.
type collector struct {
	mu    sync.Mutex
	lines []rotation.LogLine
}

func (c *collector) add(l rotation.LogLine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
}

func (c *collector) has(text string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		if strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTailLogs(t *testing.T) {
	for _, sse := range []bool{false, true} {
		name := "text/plain"
		if sse {
			name = "text/event-stream"
		}
		t.Run(name, func(t *testing.T) {
			f := setup(t, apiKey)
			f.h.SetLogStreamSSE(sse)
			f.h.InjectLog(app, "app[web.1]", "before the session")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var got collector
			done := make(chan error, 1)
			go func() { done <- f.c.TailLogs(ctx, app, 10, nil, got.add) }()
			waitFor(t, "the history", func() bool { return got.has("before the session") })
			f.h.InjectLog(app, "app[web.1]", "GitHub API error: 401 Bad credentials")
			waitFor(t, "the new line", func() bool { return got.has("401 Bad credentials") })
			got.mu.Lock()
			last := got.lines[len(got.lines)-1]
			got.mu.Unlock()
			if last.Source != "app[web.1]" || last.Time.IsZero() || !last.AppOutput() {
				t.Errorf("line = %+v", last)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("TailLogs after its context ended: %v", err)
			}

			// The logplex URL went to logplex alone, without the key; it is in no
			// log line.
			logplex := f.h.Logplex().Requests()
			if len(logplex) != 1 {
				t.Fatalf("%d requests to logplex, want 1", len(logplex))
			}
			if logplex[0].Header.Get("Authorization") != "" {
				t.Error("the log stream request carried an Authorization header")
			}
			for _, r := range f.h.Requests() {
				if r.Route == "POST /apps/{app}/log-sessions" && (string(r.Body) != `{"lines":10,"tail":true}` || r.Header.Get("Authorization") != "Bearer "+apiKey) {
					t.Errorf("log session request body %s", r.Body)
				}
			}
			if strings.Contains(f.logs.String(), logplex[0].Path) {
				t.Error("the log holds the logplex URL")
			}
		})
	}
}

func TestTailLogsFailures(t *testing.T) {
	f := setup(t, apiKey)
	ctx := context.Background()

	// The stream ends (logplex drops it): an error that does not name the URL.
	var got collector
	done := make(chan error, 1)
	go func() {
		done <- f.c.TailLogs(ctx, app, 0, func() { got.add(rotation.LogLine{Text: "(opened)"}) }, got.add)
	}()
	waitFor(t, "the stream", func() bool { return f.h.OpenLogStreams(app) == 1 })
	waitFor(t, "opened to be called", func() bool { return got.has("(opened)") })
	f.h.DropLogStreams(app)
	err := <-done
	wantErr(t, err, rotation.EUNAVAILABLE, "The log stream of app raxx-console-prod ended")
	session := f.h.Logplex().Requests()[0].Path
	if strings.Contains(err.Error(), session) {
		t.Errorf("the error %q names the session", err)
	}

	// A session Heroku will not open: Heroku's error, retried a bounded number of times.
	got = collector{}
	f.h.Fail("POST /apps/{app}/log-sessions", &sandbox.Fault{Status: 503})
	err = f.c.TailLogs(ctx, app, 0, func() { got.add(rotation.LogLine{Text: "(opened)"}) }, got.add)
	wantErr(t, err, rotation.EUNAVAILABLE, "Heroku is unavailable for app raxx-console-prod (503): retry later")
	f.h.Fail("POST /apps/{app}/log-sessions", nil)

	// logplex refuses the session (it expired): said so, without the URL.
	f.h.Logplex().Fail("GET /sessions/{id}", &sandbox.Fault{Status: 404})
	err = f.c.TailLogs(ctx, app, 0, func() { got.add(rotation.LogLine{Text: "(opened)"}) }, got.add)
	wantErr(t, err, rotation.EUNAVAILABLE, "The log stream of app raxx-console-prod answered 404: the log session expired")
	if got.has("(opened)") {
		t.Error("opened was called for a stream that never opened")
	}

	// logplex is unreachable.
	f.h.Logplex().Close()
	err = f.c.TailLogs(ctx, app, 0, func() { got.add(rotation.LogLine{Text: "(opened)"}) }, got.add)
	if rotation.ErrorCode(err) != rotation.EUNAVAILABLE || !strings.HasPrefix(rotation.ErrorMessage(err), "Could not open the log stream of app raxx-console-prod") {
		t.Errorf("logplex down: %v", err)
	}
	var re *rotation.Error
	if !errors.As(err, &re) || strings.Contains(err.Error(), "/sessions/") {
		t.Errorf("the error %q names the session", err)
	}
}

func TestParseLogLine(t *testing.T) {
	for _, c := range []struct {
		in           string
		source, text string
		timed        bool
	}{
		{"2026-11-29T19:05:17.123456+00:00 app[web.1]: GitHub said: 401", "app[web.1]", "GitHub said: 401", true},
		{"2026-11-29T19:05:17+00:00 heroku[router]: at=info status=200", "heroku[router]", "at=info status=200", true},
		{"not a heroku line", "", "not a heroku line", false},
		{"2026-11-29T19:05:17.123456+00:00 no source here", "", "no source here", true},
	} {
		l := heroku.ParseLogLine(c.in)
		if l.Source != c.source || l.Text != c.text || l.Time.IsZero() == c.timed {
			t.Errorf("ParseLogLine(%q) = %+v", c.in, l)
		}
	}
}
