package heroku

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	heroku "github.com/heroku/heroku-go/v5"
)

// newest asks for an app's newest release as the Heroku CLI does (ps:wait,
// releases): Range: version ..; max=1, order=desc.
func newest(t *testing.T, s *heroku.Service, app string) heroku.Release {
	t.Helper()
	rs, err := s.ReleaseList(context.Background(), app, &heroku.ListRange{Field: "version", Max: 1, Descending: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d releases, want the newest one", len(rs))
	}
	return rs[0]
}

func dynos(t *testing.T, s *heroku.Service, app string) heroku.DynoListResult {
	t.Helper()
	ds, err := s.DynoList(context.Background(), app, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHerokuConfigChangeReleasesAndRestarts(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", map[string]string{"A": "1"})
	s, _ := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()

	first := newest(t, s, "app")
	if first.Version != 1 || first.Status != "succeeded" || !first.Current || first.Description != "Initial release" {
		t.Fatalf("first release = v%d %s current=%v %q", first.Version, first.Status, first.Current, first.Description)
	}
	ds := dynos(t, s, "app")
	if len(ds) != 1 || ds[0].Name != "web.1" || ds[0].Type != "web" || ds[0].State != "up" || ds[0].Release.Version != 1 || ds[0].App.Name != "app" {
		t.Fatalf("dynos = %+v", ds)
	}

	// Without a release phase a config change's release succeeds at once and
	// the dynos restart onto it.
	if _, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("2")}); err != nil {
		t.Fatal(err)
	}
	r := newest(t, s, "app")
	if r.Version != 2 || r.Status != "succeeded" || !r.Current || r.Description != "Set A config vars" || r.User.Email != "ops@raxx.example" {
		t.Fatalf("release = v%d %s current=%v %q by %s", r.Version, r.Status, r.Current, r.Description, r.User.Email)
	}
	if byVersion, err := s.ReleaseInfo(ctx, "app", "2"); err != nil || byVersion.ID != r.ID {
		t.Errorf("ReleaseInfo(2) = %v, %v", byVersion, err)
	}
	if ds := dynos(t, s, "app"); ds[0].Release.Version != 2 || ds[0].State != "up" {
		t.Errorf("dyno after the change: %+v", ds[0])
	}

	// A change made by hand is a release like any other, by its user.
	if v := h.SetConfigByHand("app", map[string]*string{"A": herokuPtr("3"), "B": herokuPtr("x")}, "someone@raxx.example"); v != 3 {
		t.Errorf("SetConfigByHand made v%d, want v3", v)
	}
	r = newest(t, s, "app")
	if r.Version != 3 || r.User.Email != "someone@raxx.example" || r.Description != "Set A, B config vars" {
		t.Errorf("release by hand = v%d by %s %q", r.Version, r.User.Email, r.Description)
	}
	if v, _ := h.ConfigVar("app", "A"); v != "3" {
		t.Error("the change by hand did not set A")
	}
}

func TestHerokuReleasePhase(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", nil)
	s, _ := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()

	// Held: pending, run by a release dyno, while the web dyno stays on v1.
	h.SetReleasePhase("app", ReleasePhase{Hold: true})
	if _, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("1")}); err != nil {
		t.Fatal(err)
	}
	r := newest(t, s, "app")
	if r.Version != 2 || r.Status != "pending" || r.Current {
		t.Fatalf("held release = v%d %s current=%v", r.Version, r.Status, r.Current)
	}
	var web, rel int
	for _, d := range dynos(t, s, "app") {
		switch d.Type {
		case "web":
			web++
			if d.Release.Version != 1 || d.State != "up" {
				t.Errorf("web dyno during the release phase: %+v", d)
			}
		case "release":
			rel++
			if d.Release.Version != 2 {
				t.Errorf("release dyno runs v%d", d.Release.Version)
			}
		}
	}
	if web != 1 || rel != 1 {
		t.Errorf("%d web and %d release dynos, want 1 and 1", web, rel)
	}
	h.FinishRelease("app", true)
	if r := newest(t, s, "app"); r.Status != "succeeded" || !r.Current {
		t.Errorf("finished release: %s current=%v", r.Status, r.Current)
	}
	if ds := dynos(t, s, "app"); len(ds) != 1 || ds[0].Release.Version != 2 || ds[0].State != "up" {
		t.Errorf("dynos after the release: %+v", ds)
	}

	// Failed: the release ends failed and the app keeps running the one before.
	h.SetReleasePhase("app", ReleasePhase{Delay: 20 * time.Millisecond, Fail: true})
	if _, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("2")}); err != nil {
		t.Fatal(err)
	}
	if r := newest(t, s, "app"); r.Version != 3 || r.Status != "pending" {
		t.Fatalf("v%d %s, want v3 pending", r.Version, r.Status)
	}
	waitUntil(t, "the release to fail", func() bool { return newest(t, s, "app").Status == "failed" })
	if r := newest(t, s, "app"); r.Current {
		t.Error("a failed release is current")
	}
	if ds := dynos(t, s, "app"); len(ds) != 1 || ds[0].Release.Version != 2 {
		t.Errorf("dynos after a failed release: %+v", ds)
	}
	// Descending range over the whole history, as the CLI's `heroku releases`.
	rs, err := s.ReleaseList(ctx, "app", &heroku.ListRange{Field: "version", Max: 15, Descending: true})
	if err != nil || len(rs) != 3 || rs[0].Version != 3 || rs[2].Version != 1 || !rs[1].Current {
		t.Errorf("releases desc = %+v, %v", rs, err)
	}
}

func TestHerokuBootAndScale(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", nil)
	h.Scale("app", "worker", 2)
	s, _ := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()
	if n := len(dynos(t, s, "app")); n != 3 {
		t.Fatalf("%d dynos, want web.1, worker.1, worker.2", n)
	}

	h.SetBoot("app", Boot{Delay: 30 * time.Millisecond})
	if _, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("1")}); err != nil {
		t.Fatal(err)
	}
	for _, d := range dynos(t, s, "app") {
		if d.State != "starting" || d.Release.Version != 2 {
			t.Errorf("right after the release %s is %s on v%d, want starting on v2", d.Name, d.State, d.Release.Version)
		}
	}
	waitUntil(t, "the dynos to come up", func() bool {
		for _, d := range dynos(t, s, "app") {
			if d.State != "up" {
				return false
			}
		}
		return true
	})

	h.SetBoot("app", Boot{Crash: true})
	if _, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("2")}); err != nil {
		t.Fatal(err)
	}
	for _, d := range dynos(t, s, "app") {
		if d.State != "crashed" {
			t.Errorf("%s is %s, want crashed", d.Name, d.State)
		}
	}

	// Scaled to zero, an app has no dynos, and a release restarts nothing.
	h.SetBoot("app", Boot{})
	h.Scale("app", "web", 0)
	h.Scale("app", "worker", 0)
	if _, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("3")}); err != nil {
		t.Fatal(err)
	}
	if ds := dynos(t, s, "app"); len(ds) != 0 {
		t.Errorf("scaled to zero, dynos = %+v", ds)
	}
}

// rangeGet sends a GET with a Range header and returns the status, Next-Range and
// the names or versions listed.
func rangeGet(t *testing.T, base, key, path, rng string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Authorization", "Bearer "+key)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
	}
	return resp.StatusCode, resp.Header, b.String()
}

func TestHerokuAppListPaging(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	for i := range 250 {
		h.AddApp(fmt.Sprintf("app-%03d", i), nil)
	}
	s, _ := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()

	// The default page is 200: 206 Partial Content and a Next-Range to send back.
	status, hdr, _ := rangeGet(t, h.URL, herokuTestKey, "/apps", "")
	if status != http.StatusPartialContent || hdr.Get("Next-Range") == "" || hdr.Get("Accept-Ranges") != "id, name, updated_at" {
		t.Fatalf("first page: %d Next-Range %q Accept-Ranges %q", status, hdr.Get("Next-Range"), hdr.Get("Accept-Ranges"))
	}
	seen := map[string]bool{}
	rng := "name ..; max=100"
	pages := 0
	for rng != "" {
		pages++
		lr := parseRangeForTest(t, rng)
		apps, err := s.AppList(ctx, lr)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			if seen[a.Name] {
				t.Fatalf("%s listed twice", a.Name)
			}
			seen[a.Name] = true
		}
		_, hdr, _ := rangeGet(t, h.URL, herokuTestKey, "/apps", rng)
		rng = hdr.Get("Next-Range")
	}
	if len(seen) != 250 || pages != 3 {
		t.Errorf("%d apps in %d pages, want 250 in 3", len(seen), pages)
	}

	// The Heroku CLI's form with a space after the comma, and heroku-go's without.
	for _, r := range []string{"name ..; max=5, order=desc", "name ..; max=5,order=desc", "name ..; max=5,order=desc;"} {
		status, hdr, body := rangeGet(t, h.URL, herokuTestKey, "/apps", r)
		if status != http.StatusPartialContent || !strings.HasPrefix(hdr.Get("Next-Range"), "name ]app-245..; max=5, order=desc") ||
			!strings.Contains(body, `"name":"app-249"`) || strings.Contains(body, `"name":"app-244"`) {
			t.Errorf("Range %q: %d Next-Range %q", r, status, hdr.Get("Next-Range"))
		}
	}
	// A second semicolon between parameters is refused, as on Heroku; so is a
	// field the list cannot be ordered by.
	if status, _, body := rangeGet(t, h.URL, herokuTestKey, "/apps", "name ..; max=10; order=desc"); status != 400 || !strings.Contains(body, "Invalid `Range` header") {
		t.Errorf("bad Range: %d %s", status, body)
	}
	if status, _, body := rangeGet(t, h.URL, herokuTestKey, "/apps", "version ..; max=10"); status != 416 || !strings.Contains(body, "requested_range_not_satisfiable") {
		t.Errorf("unknown field: %d %s", status, body)
	}
}

// parseRangeForTest turns a Next-Range into heroku-go's ListRange.
func parseRangeForTest(t *testing.T, s string) *heroku.ListRange {
	t.Helper()
	lr, rerr := parseRange(s, []string{"id", "name", "updated_at"})
	if rerr != nil {
		t.Fatalf("Next-Range %q does not parse: %s", s, rerr.msg)
	}
	first := lr.start
	if lr.exclusive {
		first = "]" + first
	}
	return &heroku.ListRange{Field: lr.field, FirstID: first, LastID: lr.end, Max: lr.max, Descending: lr.desc}
}

// readLines reads n lines of a log stream, or fails after a while.
func readLines(t *testing.T, sc *bufio.Scanner, n int) []string {
	t.Helper()
	got := make(chan string, n)
	go func() {
		defer close(got)
		for i := 0; i < n && sc.Scan(); i++ {
			got <- sc.Text()
		}
	}()
	var out []string
	timeout := time.After(5 * time.Second)
	for len(out) < n {
		select {
		case l, ok := <-got:
			if !ok {
				t.Fatalf("the stream ended after %d of %d lines: %q", len(out), n, out)
			}
			out = append(out, l)
		case <-timeout:
			t.Fatalf("read %d of %d lines: %q", len(out), n, out)
		}
	}
	return out
}

func TestHerokuLogSessions(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", nil)
	h.InjectLog("app", "app[web.1]", "hello from before")
	s, _ := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()

	ls, err := s.LogSessionCreate(ctx, "app", heroku.LogSessionCreateOpts{Tail: heroku.Bool(true), Lines: heroku.Int(1)})
	if err != nil {
		t.Fatal(err)
	}
	if n := h.Count("POST /apps/{app}/log-sessions", true); n != 1 {
		t.Errorf("%d sessions created", n)
	}
	lu, err := url.Parse(ls.LogplexURL)
	if err != nil || lu.Query().Get("srv") == "" || ls.ID == "" {
		t.Fatalf("logplex_url %q, id %q", ls.LogplexURL, ls.ID)
	}
	api, _ := url.Parse(h.URL)
	if lu.Host == api.Host {
		t.Errorf("logplex_url is on the API's host %s: logplex is another host", lu.Host)
	}

	// The URL is the capability: a plain GET, no credential.
	resp, err := http.Get(ls.LogplexURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	first := readLines(t, sc, 1)[0]
	if !strings.HasSuffix(first, " app[web.1]: hello from before") {
		t.Errorf("history line %q", first)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000-07:00", strings.Fields(first)[0]); err != nil || !strings.Contains(first, "+00:00 ") {
		t.Errorf("line %q does not start with Heroku's time: %v", first, err)
	}
	waitUntil(t, "the stream to open", func() bool { return h.OpenLogStreams("app") == 1 })

	// A config change logs the release and the restart; the app's boot lines follow.
	h.SetBoot("app", Boot{Lines: []string{"GitHub API answered 401: Bad credentials"}})
	if _, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("1")}); err != nil {
		t.Fatal(err)
	}
	h.InjectLog("app", "app[web.1]", "injected")
	lines := strings.Join(readLines(t, sc, 7), "\n")
	for _, want := range []string{"app[api]: Set A config vars by user ops@raxx.example", "app[api]: Release v2 created",
		"heroku[web.1]: State changed from starting to up", "app[web.1]: GitHub API answered 401: Bad credentials", "app[web.1]: injected"} {
		if !strings.Contains(lines, want) {
			t.Errorf("stream lacks %q:\n%s", want, lines)
		}
	}
	for _, r := range h.Logplex().Requests() {
		if r.Header.Get("Authorization") != "" {
			t.Error("the log stream was asked with an Authorization header")
		}
	}
	h.DropLogStreams("app")
	waitUntil(t, "the stream to end", func() bool { return h.OpenLogStreams("app") == 0 })

	// A session nobody connected to for five minutes is gone.
	now := time.Now()
	h.SetClock(func() time.Time { return now })
	old, err := s.LogSessionCreate(ctx, "app", heroku.LogSessionCreateOpts{Tail: heroku.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	h.SetClock(func() time.Time { return now.Add(6 * time.Minute) })
	if resp, err := http.Get(old.LogplexURL); err != nil || resp.StatusCode != 404 {
		t.Errorf("stale session: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if _, err := s.LogSessionCreate(ctx, "nope", heroku.LogSessionCreateOpts{}); herokuErr(t, err).StatusCode != 404 {
		t.Errorf("log session of a missing app: %v", err)
	}
}

func TestHerokuLogSessionEventStream(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", nil)
	h.SetLogStreamSSE(true)
	h.InjectLog("app", "app[web.1]", "one")
	s, _ := herokuClient(t, h.URL, herokuTestKey)
	ls, err := s.LogSessionCreate(context.Background(), "app", heroku.LogSessionCreateOpts{Tail: heroku.Bool(false), Lines: heroku.Int(10)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ls.LogplexURL, "srv=") {
		t.Errorf("the newer session URL %q has srv", ls.LogplexURL)
	}
	resp, err := http.Get(ls.LogplexURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	// Without tail the stream ends after the history.
	got := readLines(t, bufio.NewScanner(resp.Body), 3)
	if got[0] != "id: 1" || !strings.HasPrefix(got[1], "data: ") || !strings.HasSuffix(got[1], "app[web.1]: one") || got[2] != "" {
		t.Errorf("event stream = %q", got)
	}
}
