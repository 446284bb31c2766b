package rotation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// writeCounter counts what the engine writes: changes of runs, expiry records.
type writeCounter struct {
	rotation.Store
	mu              sync.Mutex
	updates, expiry int
}

func (c *writeCounter) UpdateRun(ctx context.Context, id string, fn func(*rotation.Run) error) (*rotation.Run, error) {
	c.mu.Lock()
	c.updates++
	c.mu.Unlock()
	return c.Store.UpdateRun(ctx, id, fn)
}

func (c *writeCounter) PutExpiry(ctx context.Context, rec rotation.ExpiryRecord) error {
	c.mu.Lock()
	c.expiry++
	c.mu.Unlock()
	return c.Store.PutExpiry(ctx, rec)
}

// count is the changes of runs written so far; expiries the expiry records.
func (c *writeCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.updates
}

func (c *writeCounter) expiries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expiry
}

// Apps answering a millisecond apart have their outcomes written together: a
// few writes for twelve apps, not one each (each a disk sync), and every
// outcome recorded before the step moves on.
func TestOutcomesAFewMillisecondsApartAreWrittenTogether(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const apps = 12
	var names []string
	for i := range apps {
		name := fmt.Sprintf("raxx-app-%02d", i)
		names = append(names, name)
		w.heroku.values[name] = oldToken
	}
	w.matrix.Secrets[secretName].Consumers.HerokuApps = names
	w.matrix.Secrets[secretName].Consumers.GitHubSecrets = nil
	w.matrix.Secrets[secretName].Consumers.ShellRCOperators = nil
	counter := &writeCounter{}
	w.reopen(func(s rotation.Store) rotation.Store { counter.Store = s; return counter })
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	before := counter.count()
	w.heroku.onSet = func(target string) { // app i answers i ms after the writes began
		var i int
		if _, err := fmt.Sscanf(target, "raxx-app-%d", &i); err != nil {
			t.Error(err)
		}
		time.Sleep(time.Duration(i) * time.Millisecond)
	}
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	during := counter.count() - before
	wantState(t, r, rotation.StateWaitingRevoke)
	for _, d := range r.Destinations {
		if d.State != rotation.DestVerified {
			t.Errorf("%s is %s, want verified", d.Label(), d.State)
		}
	}
	// Store, propagate (the value written, the outcomes, the move on) and
	// verify: 7–8 changes, a step's outcomes in one or two writes. Written as
	// each came, they were 18.
	if during > 10 {
		t.Errorf("%d changes of the run from approval to waiting for revoke with %d apps answering 1 ms apart; want at most 10", during, apps)
	}
	t.Logf("%d changes of the run from approval to waiting for revoke", during)
}

// A pre-check that learns nothing new of the current token does not write its
// expiry record again, as the reminder pass does not: only once the record's
// CheckedAt is a day old, or when it says something else.
func TestAPrecheckWritesTheExpiryRecordOnlyWhenItSaysSomethingNew(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	counter := &writeCounter{}
	w.reopen(func(s rotation.Store) rotation.Store { counter.Store = s; return counter })
	precheck := func() {
		t.Helper()
		r := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE", Channel: "C0OPS"}))
		wantState(t, ok(t)(w.eng.Advance(ctx, r.ID)), rotation.StateWaitingToken)
		ok(t)(w.eng.Cancel(ctx, r.ID, "U0ALICE"))
	}
	precheck()
	if n := counter.expiries(); n != 1 {
		t.Fatalf("the first pre-check wrote %d expiry records, want 1", n)
	}
	precheck()
	if n := counter.expiries(); n != 1 {
		t.Errorf("a pre-check that learned nothing new wrote the expiry record again (%d writes)", n)
	}
	for _, c := range []struct {
		what   string
		change func(*rotation.ExpiryRecord)
	}{
		{"its CheckedAt a day old", func(rec *rotation.ExpiryRecord) { rec.CheckedAt = rec.CheckedAt.Add(-rotation.ExpiryRefresh) }},
		{"another expiry stored", func(rec *rotation.ExpiryRecord) { rec.ExpiresAt = rec.ExpiresAt.Add(time.Hour) }},
		{"another login stored", func(rec *rotation.ExpiryRecord) { rec.Login = "someone-else" }},
	} {
		rec, found, err := w.st.GetExpiry(ctx, secretName)
		if err != nil || !found {
			t.Fatal(found, err)
		}
		c.change(&rec)
		if err := w.st.PutExpiry(ctx, rec); err != nil {
			t.Fatal(err)
		}
		before := counter.expiries()
		precheck()
		if counter.expiries() != before+1 {
			t.Errorf("%s: the pre-check did not write the record", c.what)
		}
		if got, _, _ := w.st.GetExpiry(ctx, secretName); !got.CheckedAt.Equal(t0) || got.Login != "raxx-bot" {
			t.Errorf("%s: the record holds %s, checked %s", c.what, got.Login, got.CheckedAt)
		}
	}
}
