package handlers

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/slack-go/slack"
)

const groupRoute = "POST /api/usergroups.users.list"

// clock is a settable time for the cache's freshness.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func opsWorld(t *testing.T) (*sbslack.Slack, *Handlers, *clock) {
	t.Helper()
	s := sbslack.New("xoxb-test", "xapp-test")
	t.Cleanup(s.Close)
	s.AddUsergroup("S0OPS", "U0ALICE", "U0BOB")
	c := &clock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
	h := New(Config{Slack: slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL())), Matrix: &rotation.Matrix{OpsUsergroup: "S0OPS"}, Now: c.now})
	return s, h, c
}

// A Slack error streak does not keep a removed member's rights: the last list is
// used for a few minutes past its refresh, then actions are refused.
func TestOpsMembershipFailsClosed(t *testing.T) {
	s, h, c := opsWorld(t)
	ctx := context.Background()
	if ok, err := h.isOps(ctx, "U0ALICE"); !ok || err != nil {
		t.Fatalf("a member: %v, %v", ok, err)
	}
	// Alice leaves the group, and Slack starts failing.
	s.AddUsergroup("S0OPS", "U0BOB")
	s.FailWith(groupRoute, "fatal_error", 0)
	c.add(h.GroupTTL + time.Second)
	if ok, err := h.isOps(ctx, "U0ALICE"); !ok || err != nil {
		t.Fatalf("just past the refresh, on a Slack error: %v, %v (the last list is still used)", ok, err)
	}
	c.add(h.GroupStale)
	ok, err := h.isOps(ctx, "U0ALICE")
	if ok || err == nil {
		t.Fatalf("%s past the refresh, Slack still failing: %v, %v — want a refusal", h.GroupTTL+h.GroupStale, ok, err)
	}
	if got := rotation.ErrorMessage(err); got != "I cannot read the ops user group right now (Slack answered usergroups.users.list with fatal_error), so I cannot tell whether you may do this. Try again in a minute." {
		t.Errorf("message = %q", got)
	}
	// Slack comes back: the fresh list decides.
	s.FailWith(groupRoute, "", 0)
	if ok, err := h.isOps(ctx, "U0ALICE"); ok || err != nil {
		t.Errorf("after Slack recovered: %v, %v, want Alice refused", ok, err)
	}
	if ok, _ := h.isOps(ctx, "U0BOB"); !ok {
		t.Error("Bob was refused")
	}
}

// One lookup at a time, no lock held across it: concurrent callers share its
// answer, and a caller whose own deadline ends is not held up by it.
func TestOpsMembershipOneLookupAtATime(t *testing.T) {
	s, h, _ := opsWorld(t)
	s.Fail(groupRoute, &sandbox.Fault{Latency: 2 * time.Second, Times: 1})
	var wg sync.WaitGroup
	results := make([]bool, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = h.isOps(context.Background(), "U0BOB")
		}()
	}
	for s.Inflight(groupRoute) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := h.isOps(ctx, "U0BOB")
	if err == nil {
		t.Error("a caller out of time got an answer before Slack gave one")
	}
	if s.Inflight(groupRoute) != 1 {
		t.Error("the caller out of time waited for the slow lookup: a lock is held across the Slack call")
	}
	wg.Wait()
	for i, ok := range results {
		if !ok {
			t.Errorf("caller %d did not get the shared answer", i)
		}
	}
	if n := s.Count(groupRoute, false); n != 1 {
		t.Errorf("%d lookups, want 1 shared by every caller", n)
	}
}
