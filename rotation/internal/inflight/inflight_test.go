package inflight

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTextOneCallOneWaitAndMany(t *testing.T) {
	until := time.Date(2030, 1, 2, 10, 4, 5, 0, time.UTC)
	call := Call{What: "Heroku raxx-console-prod unavailable", Try: 2, Tries: 3, Until: until}
	if got, want := Text([]Call{call}), "waiting on Heroku raxx-console-prod: no answer yet — it gets until 10:04:05 UTC (try 2 of 3)"; got != want {
		t.Errorf("one call:\n got %q\nwant %q", got, want)
	}
	wait := Call{What: "Heroku raxx-console-prod's release v12 to finish", Until: until}
	if got, want := Text([]Call{wait}), "waiting for Heroku raxx-console-prod's release v12 to finish — until 10:04:05 UTC"; got != want {
		t.Errorf("one wait:\n got %q\nwant %q", got, want)
	}
	var many []Call
	for _, app := range []string{"g", "f", "e", "d", "c", "b", "a"} {
		many = append(many, Call{What: "Heroku " + app + " unavailable", Try: 1, Tries: 3, Until: until})
	}
	got := Text(many)
	if !strings.HasPrefix(got, "waiting on 7 answers: Heroku a (try 1 of 3, until 10:04:05 UTC); Heroku b") || !strings.HasSuffix(got, "; and 2 more") {
		t.Errorf("seven calls, sorted, five shown: %q", got)
	}
	if Text(nil) != "" {
		t.Error("no call says nothing")
	}
}

// TestTrackerSaysOnlyWhileTheCallsWait: a call past Slow is said once, with
// current true while it waits; a call that ends before Slow is never said.
func TestTrackerSaysOnlyWhileTheCallsWait(t *testing.T) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		said []string
	)
	saidc := make(chan func() bool, 4)
	tr := &Tracker{Slow: 20 * time.Millisecond, WG: &wg, Say: func(_ context.Context, key, text string, current func() bool) {
		mu.Lock()
		said = append(said, key+": "+text)
		mu.Unlock()
		saidc <- current
	}}
	ctx := context.Background()
	quick := tr.Start(ctx, "r1", Call{What: "Infisical unavailable", Try: 1, Tries: 3})
	quick()
	slow := tr.Start(ctx, "r2", Call{What: "GitHub unavailable", Try: 1, Tries: 3})
	current := <-saidc
	if !current() {
		t.Error("current() is false while the call still waits")
	}
	slow()
	if current() {
		t.Error("current() is true after the call ended")
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(said) != 1 || !strings.HasPrefix(said[0], "r2: waiting on GitHub: no answer yet") {
		t.Errorf("said %q, want one line about r2's GitHub call", said)
	}
}

// TestTrackerForgetsAKeyWithNoCallInFlight: once a key's last call ended and
// its sayer stopped, the tracker keeps nothing of it (a process carries on
// thousands of runs), and a later call of the key is tracked afresh.
func TestTrackerForgetsAKeyWithNoCallInFlight(t *testing.T) {
	var wg sync.WaitGroup
	tr := &Tracker{Slow: time.Hour, WG: &wg, Say: func(context.Context, string, string, func() bool) {}}
	for i := range 3 {
		done := tr.Start(context.Background(), "r1", Call{What: "GitHub unavailable", Try: i + 1, Tries: 3})
		done()
		wg.Wait()
		n := 0
		tr.keys.Range(func(any, any) bool { n++; return true })
		if n != 0 {
			t.Fatalf("after call %d the tracker keeps %d keys, want none", i+1, n)
		}
	}
}
