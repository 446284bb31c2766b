package heroku_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/heroku"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
)

func newScanner(t *testing.T, h *sbheroku.Heroku) *heroku.Scanner {
	t.Helper()
	return heroku.New(heroku.Config{BaseURL: h.URL, APIKey: apiKey}).Scanner()
}

func TestScannerListsEveryAppAcrossPages(t *testing.T) {
	h := sbheroku.New(apiKey)
	t.Cleanup(h.Close)
	var want []string
	for i := range 1203 {
		name := fmt.Sprintf("raxx-app-%04d", i)
		want = append(want, name)
		h.AddApp(name, nil)
	}
	got, err := newScanner(t, h).Apps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %d apps, want %d", len(got), len(want))
	}
	if n := h.Count("GET /apps", true); n != 2 {
		t.Errorf("%d list requests, want 2 (pages of 1,000 followed by Next-Range)", n)
	}
	for _, r := range h.Requests() {
		if r.Route == "GET /apps" && !strings.HasPrefix(r.Header.Get("Range"), "name ") {
			t.Errorf("the list was asked with Range %q", r.Header.Get("Range"))
		}
	}
}

func TestScanConfigHandsOverDigestsOnly(t *testing.T) {
	h := sbheroku.New(apiKey)
	t.Cleanup(h.Close)
	h.AddApp(app, map[string]string{"OTHER_SECRET": other, varName: oldToken, "EMPTY": ""})
	s := newScanner(t, h)
	got := map[string]rotation.Digest{}
	if err := s.ScanConfig(context.Background(), app, func(name string, sum rotation.Digest) { got[name] = sum }); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"OTHER_SECRET": other, varName: oldToken, "EMPTY": ""} {
		if got[name] != rotation.Digest(sha256.Sum256([]byte(v))) {
			t.Errorf("%s: wrong digest", name)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d vars, want 3", len(got))
	}
	if n := h.Count("GET /apps/{app}/config-vars", true); n != 1 {
		t.Errorf("%d config reads, want 1", n)
	}
	// A digest never prints itself.
	if s := fmt.Sprintf("%v %+v %#v %s", got[varName], got[varName], got[varName], got[varName]); strings.Contains(s, fmt.Sprintf("%x", sha256.Sum256([]byte(oldToken)))[:8]) {
		t.Errorf("a digest printed itself: %s", s)
	}
	// A missing app is named.
	err := s.ScanConfig(context.Background(), "raxx-gone", func(string, rotation.Digest) { t.Error("called for a missing app") })
	if rotation.ErrorCode(err) != rotation.ENOTFOUND || !strings.Contains(rotation.ErrorMessage(err), "raxx-gone") {
		t.Errorf("missing app: %v", err)
	}
}

// sleeps records the scanner's waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func TestScannerSlowsDownThenStopsBeforeTheRateLimit(t *testing.T) {
	h := sbheroku.New(apiKey)
	t.Cleanup(h.Close)
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	h.SetClock(func() time.Time { return now }) // no refill while the test runs
	h.AddApp(app, map[string]string{varName: oldToken})
	s := newScanner(t, h)
	s.Now = func() time.Time { return now }
	sl := &sleeps{}
	s.Sleep = sl.sleep
	ctx := context.Background()
	noop := func(string, rotation.Digest) {}

	// Plenty left: no wait.
	if err := s.ScanConfig(ctx, app, noop); err != nil {
		t.Fatal(err)
	}
	if len(sl.d) != 0 || s.Remaining() != 4499 {
		t.Fatalf("waits %v, remaining %d", sl.d, s.Remaining())
	}
	// Below SlowBelow: one request per SlowEvery.
	h.SetRateLimitRemaining(1200)
	for range 4 {
		if err := s.ScanConfig(ctx, app, noop); err != nil {
			t.Fatal(err)
		}
	}
	// The first learns 1,199 left; the second goes at once, each later one
	// 800 ms after the one before (the clock stands still here).
	if want := []time.Duration{800 * time.Millisecond, 1600 * time.Millisecond}; !slices.Equal(sl.d, want) {
		t.Errorf("waits in slow mode: %v, want %v", sl.d, want)
	}
	// Below the reserve: no request at all, an error that says why.
	h.SetRateLimitRemaining(450)
	if err := s.ScanConfig(ctx, app, noop); err != nil { // learns 449
		t.Fatal(err)
	}
	before := len(h.Requests())
	err := s.ScanConfig(ctx, app, noop)
	if !errors.Is(err, rotation.ErrRateBudget) || rotation.ErrorCode(err) != rotation.EUNAVAILABLE {
		t.Fatalf("below the reserve: %v", err)
	}
	if msg := rotation.ErrorMessage(err); !strings.Contains(msg, "449 requests left") || !strings.Contains(msg, "to leave them for rotations") {
		t.Errorf("message: %s", msg)
	}
	if len(h.Requests()) != before {
		t.Error("a request was sent below the reserve")
	}
	if _, err := s.Apps(ctx); !errors.Is(err, rotation.ErrRateBudget) {
		t.Errorf("the app list below the reserve: %v", err)
	}
	// The bucket refills (75 a minute): half an hour later the scan goes on.
	now = now.Add(30 * time.Minute)
	h.SetRateLimitRemaining(2700)
	if err := s.ScanConfig(ctx, app, noop); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
}
