// Package storetest is the one contract suite of rotation.Store: every store
// (store/bbolt, store/postgres) runs Run against itself, so what the engine relies
// on — one open run per secret, transitions that cannot both win, audit once per
// run and action, envelope dedupe within rotation.EnvelopeTTL, run claims, drift
// records changed in one transaction — is
// proved the same way for each (litestream's replica_client_test.go).
//
// It must not know how a store keeps its data: it speaks rotation.Store and
// drift.RecordStore only (Store).
package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// Store is what every store implements: rotation.Store, and the drift check's
// records (drift.RecordStore).
type Store interface {
	rotation.Store
	drift.RecordStore
}

// Run runs the contract suite. open returns a new, empty store for one test; it
// registers the store's closing (and any clean-up) with t. The tests run in
// parallel, so open must give each its own store.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"RunsAndOpenIndex", testRunsAndOpenIndex},
		{"RunRoundTrip", testRunRoundTrip},
		{"UpdateRunAbortsOnError", testUpdateRunAbortsOnError},
		{"ConcurrentTransitionOneWins", testConcurrentTransitionOneWins},
		{"UpdateRunDecidesOnTheStateItWrites", testUpdateRunDecidesOnTheStateItWrites},
		{"ConcurrentCreateOneRun", testConcurrentCreateOneRun},
		{"AuditOncePerRunAndAction", testAuditOncePerRunAndAction},
		{"Expiry", testExpiry},
		{"UpdateExpiry", testUpdateExpiry},
		{"ConcurrentUpdateExpiryLosesNothing", testConcurrentUpdateExpiry},
		{"EnvelopesSeenOnceAndForgotten", testEnvelopesSeenOnceAndForgotten},
		{"ConcurrentEnvelopeOnce", testConcurrentEnvelopeOnce},
		{"EnvelopeKeys", testEnvelopeKeys},
		{"Drift", testDrift},
		{"ConcurrentUpdateDriftLosesNothing", testConcurrentUpdateDrift},
		{"Claims", testClaims},
		{"ConcurrentClaimOneOwner", testConcurrentClaimOneOwner},
		{"Retired", testRetired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// NewRun is a run of secret in state, as the engine would create it.
func NewRun(secret string, state rotation.State) *rotation.Run {
	return &rotation.Run{Secret: secret, State: state, Method: rotation.MethodSlack, Requester: "U0ALICE"}
}

func ids(rs []*rotation.Run) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testRunsAndOpenIndex(t *testing.T, s Store) {
	ctx := context.Background()
	a, err := s.CreateRun(ctx, NewRun("A_TOKEN", rotation.StateWaitingToken))
	if err != nil || a.ID != "r1" {
		t.Fatalf("first run: %v %v", a, err)
	}
	open, err := s.CreateRun(ctx, NewRun("A_TOKEN", rotation.StatePrechecking))
	if rotation.ErrorCode(err) != rotation.ECONFLICT || open == nil || open.ID != "r1" {
		t.Fatalf("second open run of a secret: %v %v", open, err)
	}
	if !strings.Contains(rotation.ErrorMessage(err), "A_TOKEN already has an open run, r1 (Waiting for token)") {
		t.Fatalf("message: %s", rotation.ErrorMessage(err))
	}
	b, err := s.CreateRun(ctx, NewRun("B_TOKEN", rotation.StatePrechecking))
	if err != nil || b.ID != "r2" {
		t.Fatalf("run of another secret: %v %v", b, err)
	}
	// Finish a; a new run of A may start.
	if _, err := s.UpdateRun(ctx, a.ID, func(r *rotation.Run) error { r.State = rotation.StateCancelled; return nil }); err != nil {
		t.Fatal(err)
	}
	a2, err := s.CreateRun(ctx, NewRun("A_TOKEN", rotation.StatePrechecking))
	if err != nil || a2.ID != "r3" {
		t.Fatalf("run after finish: %v %v", a2, err)
	}
	list, err := s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN"})
	if err != nil || len(list) != 2 || list[0].ID != "r3" || list[1].ID != "r1" {
		t.Fatalf("by secret newest first: %v %v", ids(list), err)
	}
	list, _ = s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN", OpenOnly: true})
	if len(list) != 1 || list[0].ID != "r3" {
		t.Fatalf("open runs of A: %v", ids(list))
	}
	list, _ = s.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if len(list) != 2 || list[0].ID != a2.ID || list[1].ID != b.ID {
		t.Fatalf("open runs: %v", ids(list))
	}
	list, _ = s.ListRuns(ctx, rotation.RunFilter{Limit: 2})
	if len(list) != 2 || list[0].ID != "r3" || list[1].ID != "r2" {
		t.Fatalf("all, limit 2: %v", ids(list))
	}
	list, _ = s.ListRuns(ctx, rotation.RunFilter{})
	if len(list) != 3 || list[2].ID != "r1" {
		t.Fatalf("all: %v", ids(list))
	}
	// A secret whose name is a prefix of another's is not mixed in.
	if _, err := s.CreateRun(ctx, NewRun("A_TOKEN_2", rotation.StatePrechecking)); err != nil {
		t.Fatal(err)
	}
	list, _ = s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN"})
	if len(list) != 2 {
		t.Fatalf("prefix secret mixed in: %v", ids(list))
	}
	list, _ = s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN", Limit: 1})
	if len(list) != 1 || list[0].ID != "r3" {
		t.Fatalf("by secret, limit 1: %v", ids(list))
	}
	if list, _ := s.ListRuns(ctx, rotation.RunFilter{Secret: "NO_SUCH"}); len(list) != 0 {
		t.Fatalf("runs of a secret never run: %v", ids(list))
	}
	if _, err := s.GetRun(ctx, "r99"); rotation.ErrorCode(err) != rotation.ENOTFOUND || rotation.ErrorMessage(err) != "There is no run r99" {
		t.Fatalf("missing run: %v", err)
	}
	for _, bad := range []string{"banana", "r0", "r-1", "42", ""} {
		want := fmt.Sprintf("%q is not a run id: run ids look like r42", bad)
		if _, err := s.GetRun(ctx, bad); rotation.ErrorCode(err) != rotation.ENOTFOUND || rotation.ErrorMessage(err) != want {
			t.Errorf("bad id %q: %v", bad, err)
		}
	}
	if _, err := s.UpdateRun(ctx, "r99", func(*rotation.Run) error { return nil }); rotation.ErrorCode(err) != rotation.ENOTFOUND {
		t.Fatalf("update of a missing run: %v", err)
	}
}

// Everything the engine puts in a run comes back as it was.
func testRunRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.UTC)
	in := NewRun("A_TOKEN", rotation.StatePropagating)
	in.Created, in.Updated = at, at.Add(time.Minute)
	in.Approver, in.Submitter = "U0BOB", "U0ALICE"
	in.Steps = []rotation.StepRecord{{Name: rotation.StepPrecheck, State: rotation.StepDone, Actor: "bot", Started: at, Finished: at.Add(time.Second)}}
	in.Destinations = []rotation.Destination{{Kind: rotation.DestHeroku, Target: "raxx-console-prod", State: rotation.DestWritten, Attempts: 2, Written: at}}
	in.NewFingerprint, in.VaultVersionBefore = "abcd1234", 7
	in.Warnings = []string{"extra scope: admin:org"}
	in.Card = rotation.CardRef{Channel: "C0OPS", TS: "1700000000.000100"}
	r, err := s.CreateRun(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || got.Secret != "A_TOKEN" || got.State != rotation.StatePropagating || !got.Created.Equal(at) ||
		!got.Updated.Equal(at.Add(time.Minute)) || got.Approver != "U0BOB" || len(got.Steps) != 1 || !got.Steps[0].Finished.Equal(at.Add(time.Second)) ||
		len(got.Destinations) != 1 || got.Destinations[0].Attempts != 2 || got.Destinations[0].Target != "raxx-console-prod" ||
		got.NewFingerprint != "abcd1234" || got.VaultVersionBefore != 7 || len(got.Warnings) != 1 || got.Card != in.Card {
		t.Fatalf("stored %+v\ngot    %+v", in, got)
	}
	// The store hands out copies: changing one changes nothing stored.
	got.State = rotation.StateCancelled
	if again, _ := s.GetRun(ctx, r.ID); again.State != rotation.StatePropagating {
		t.Fatal("a returned run is shared with the store")
	}
	up, err := s.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
		x.Destinations[0].Attempts++
		x.Notice = "waiting: Heroku is down"
		return nil
	})
	if err != nil || up.Destinations[0].Attempts != 3 || up.Notice == "" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if got, _ := s.GetRun(ctx, r.ID); got.Destinations[0].Attempts != 3 || got.Notice != "waiting: Heroku is down" {
		t.Fatalf("update not stored: %+v", got)
	}
}

func testUpdateRunAbortsOnError(t *testing.T, s Store) {
	ctx := context.Background()
	r, err := s.CreateRun(ctx, NewRun("A_TOKEN", rotation.StateWaitingApproval))
	if err != nil {
		t.Fatal(err)
	}
	refusal := rotation.Errorf(rotation.EFORBIDDEN, "You started this run, so you may not approve it")
	out, err := s.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
		x.State = rotation.StateStoring
		return refusal
	})
	if err != refusal || out != nil {
		t.Fatalf("fn's error: got %v %v, want it returned as is", out, err)
	}
	if got, _ := s.GetRun(ctx, r.ID); got.State != rotation.StateWaitingApproval {
		t.Fatalf("a refused change was stored: %s", got.State)
	}
}

// Two state changes from the same state at once: the store runs them one after
// the other, so the second sees the first's result and its check refuses.
func testConcurrentTransitionOneWins(t *testing.T, s Store) {
	ctx := context.Background()
	r, err := s.CreateRun(ctx, NewRun("A_TOKEN", rotation.StateWaitingApproval))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateRun(ctx, r.ID, func(r *rotation.Run) error {
				to, err := rotation.Next(r.State, rotation.EvApprove)
				if err != nil {
					return err
				}
				r.State = to
				r.Approver = fmt.Sprintf("U0APPROVER%d", i)
				return nil
			})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if rotation.ErrorCode(err) != rotation.ECONFLICT {
				t.Errorf("loser got %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d approvals won", wins)
	}
	if got, _ := s.GetRun(ctx, r.ID); got.State != rotation.StateStoring || got.Approver == "" {
		t.Fatalf("after the race: %s by %q", got.State, got.Approver)
	}
}

// An update that decides from the run's state decides on the state it writes
// over: a log watch match that lands while the verified transition is being
// written sees Waiting for revoke, and fails the run from there — never the
// Verifying it would have read before. The store runs one update of a run at a
// time, each reading the run inside its own transaction.
func testUpdateRunDecidesOnTheStateItWrites(t *testing.T, s Store) {
	ctx := context.Background()
	r, err := s.CreateRun(ctx, NewRun("A_TOKEN", rotation.StateVerifying))
	if err != nil {
		t.Fatal(err)
	}
	var writing atomic.Bool // the verified transition's fn is running
	var once sync.Once
	entered, release := make(chan struct{}), make(chan struct{})
	verified := make(chan error, 1)
	go func() {
		_, err := s.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
			writing.Store(true)
			defer writing.Store(false)
			to, err := rotation.Next(x.State, rotation.EvVerified)
			if err != nil {
				return err
			}
			x.State = to
			once.Do(func() { close(entered) })
			<-release
			return nil
		})
		verified <- err
	}()
	<-entered
	var seen rotation.State
	var overlapped bool
	starting, matched := make(chan struct{}), make(chan error, 1)
	go func() {
		close(starting)
		_, err := s.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
			overlapped = overlapped || writing.Load()
			seen = x.State
			x.Notice = "a log watch matched"
			if to, err := rotation.Next(x.State, rotation.EvWatchFail); err == nil {
				x.State = to
			}
			return nil
		})
		matched <- err
	}()
	<-starting
	close(release)
	if err := <-verified; err != nil {
		t.Fatalf("the verified transition: %v", err)
	}
	if err := <-matched; err != nil {
		t.Fatalf("the match: %v", err)
	}
	if overlapped {
		t.Fatal("two updates of one run ran at once")
	}
	if seen != rotation.StateWaitingRevoke {
		t.Fatalf("the match's update saw %s, not the verified transition's result", seen)
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != rotation.StateVerifyFailed || got.Notice != "a log watch matched" {
		t.Fatalf("after both: %s, notice %q", got.State, got.Notice)
	}
}

// Two /rotate of one secret at once (two processes): one run, and the other
// caller gets ECONFLICT with that run.
func testConcurrentCreateOneRun(t *testing.T, s Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created []string
	var told []string
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.CreateRun(ctx, NewRun("A_TOKEN", rotation.StateWaitingToken))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created = append(created, r.ID)
			case rotation.ErrorCode(err) == rotation.ECONFLICT && r != nil:
				told = append(told, r.ID)
			default:
				t.Errorf("CreateRun: %v %v", r, err)
			}
		}()
	}
	wg.Wait()
	if len(created) != 1 || len(told) != 7 {
		t.Fatalf("created %v, told of an open run %v", created, told)
	}
	for _, id := range told {
		if id != created[0] {
			t.Fatalf("told of %s, but the open run is %s", id, created[0])
		}
	}
	if list, _ := s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN"}); len(list) != 1 {
		t.Fatalf("runs: %v", ids(list))
	}
	// The ones that lost used up no run number: people see r1, r2, r3 …
	next, err := s.CreateRun(ctx, NewRun("B_TOKEN", rotation.StateWaitingToken))
	if err != nil {
		t.Fatal(err)
	}
	n1, _ := rotation.ParseRunID(created[0])
	n2, _ := rotation.ParseRunID(next.ID)
	if n2 != n1+1 {
		t.Fatalf("after %s the next run is %s: the runs refused as busy used up numbers", created[0], next.ID)
	}
}

func testAuditOncePerRunAndAction(t *testing.T, s Store) {
	ctx := context.Background()
	e := rotation.AuditEntry{Action: rotation.ActionCompleted, RunID: "r1", Secret: "A_TOKEN", At: time.Now().UTC(), Actor: "U0ALICE",
		Destinations: []rotation.DestResult{{Destination: "Heroku raxx-console-prod", Result: "ok"}}}
	for i := 0; i < 3; i++ {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	e2 := e
	e2.RunID, e2.Secret = "r2", "B_TOKEN"
	if err := s.AppendAudit(ctx, e2); err != nil {
		t.Fatal(err)
	}
	// The same run may be audited for another action.
	e3 := e
	e3.Action = rotation.ActionRolledBack
	if err := s.AppendAudit(ctx, e3); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListAudit(ctx, "", 0)
	if err != nil || len(all) != 3 || all[0].Action != rotation.ActionRolledBack || all[1].RunID != "r2" || all[2].RunID != "r1" {
		t.Fatalf("audit: %+v %v", all, err)
	}
	if !(all[0].Seq > all[1].Seq && all[1].Seq > all[2].Seq && all[2].Seq >= 1) {
		t.Fatalf("sequence numbers: %d %d %d", all[0].Seq, all[1].Seq, all[2].Seq)
	}
	a, _ := s.ListAudit(ctx, "A_TOKEN", 0)
	if len(a) != 2 || a[1].Seq != 1 || a[1].Actor != "U0ALICE" || len(a[1].Destinations) != 1 || !a[1].At.Equal(e.At) {
		t.Fatalf("audit of A: %+v", a)
	}
	if one, _ := s.ListAudit(ctx, "", 1); len(one) != 1 || one[0].Seq != all[0].Seq {
		t.Fatalf("limit 1: %+v", one)
	}
	if none, _ := s.ListAudit(ctx, "NO_SUCH", 0); len(none) != 0 {
		t.Fatalf("audit of a secret never run: %+v", none)
	}
}

func testExpiry(t *testing.T, s Store) {
	ctx := context.Background()
	rec := rotation.ExpiryRecord{Secret: "A_TOKEN", Fingerprint: "abcd1234", ExpiresAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Sent: map[string]time.Time{"7d": time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}}
	if err := s.PutExpiry(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetExpiry(ctx, "A_TOKEN")
	if err != nil || !ok || !got.ExpiresAt.Equal(rec.ExpiresAt) || len(got.Sent) != 1 || got.Fingerprint != "abcd1234" {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	if _, ok, err := s.GetExpiry(ctx, "NOPE"); ok || err != nil {
		t.Fatalf("found a record that was never put: %v", err)
	}
	// Put replaces.
	rec.Fingerprint, rec.Sent = "ffff0000", nil
	if err := s.PutExpiry(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GetExpiry(ctx, "A_TOKEN"); got.Fingerprint != "ffff0000" || len(got.Sent) != 0 {
		t.Fatalf("after a second put: %+v", got)
	}
	if err := s.PutExpiry(ctx, rotation.ExpiryRecord{Secret: "B_TOKEN", Fingerprint: "12345678"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListExpiry(ctx)
	if err != nil || len(all) != 2 || all[0].Secret != "A_TOKEN" || all[1].Secret != "B_TOKEN" {
		t.Fatalf("list: %+v %v", all, err)
	}
}

// UpdateExpiry shows fn the stored records of the secrets asked for, writes what
// fn returns together, and writes nothing when fn returns nothing or fails.
func testUpdateExpiry(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	a := rotation.ExpiryRecord{Secret: "A_TOKEN", Fingerprint: "aaaa0000", ExpiresAt: at.Add(48 * time.Hour), CheckedAt: at}
	c := rotation.ExpiryRecord{Secret: "C_TOKEN", Fingerprint: "cccc0000", CheckedAt: at}
	for _, rec := range []rotation.ExpiryRecord{a, c} {
		if err := s.PutExpiry(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	update := func(secrets []string, fn func(map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error)) error {
		t.Helper()
		return s.UpdateExpiry(ctx, secrets, fn)
	}
	err := update([]string{"A_TOKEN", "B_TOKEN"}, func(stored map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error) {
		if len(stored) != 1 || stored["A_TOKEN"].Fingerprint != "aaaa0000" || !stored["A_TOKEN"].ExpiresAt.Equal(a.ExpiresAt) {
			t.Errorf("fn sees %+v, want A_TOKEN's record only (B_TOKEN has none, C_TOKEN was not asked for)", stored)
		}
		a2 := stored["A_TOKEN"]
		a2.Sent = map[string]time.Time{"3d": at}
		return []rotation.ExpiryRecord{a2, {Secret: "B_TOKEN", Fingerprint: "bbbb0000"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ListExpiry(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("after the update: %+v %v", all, err)
	}
	if !all[0].Sent["3d"].Equal(at) || all[1].Fingerprint != "bbbb0000" || all[2].Fingerprint != "cccc0000" {
		t.Fatalf("after the update: %+v", all)
	}
	// fn's error aborts the whole change and comes back as it was.
	refused := rotation.Errorf(rotation.ECONFLICT, "changed my mind")
	err = update([]string{"A_TOKEN"}, func(stored map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error) {
		return []rotation.ExpiryRecord{{Secret: "A_TOKEN", Fingerprint: "dddd0000"}}, refused
	})
	if err != refused {
		t.Fatalf("fn's error came back as %v", err)
	}
	// A record of a secret not asked for is refused, and nothing of that change is written.
	err = update([]string{"A_TOKEN"}, func(map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error) {
		return []rotation.ExpiryRecord{{Secret: "A_TOKEN", Fingerprint: "dddd0000"}, {Secret: "C_TOKEN", Fingerprint: "dddd0000"}}, nil
	})
	if rotation.ErrorCode(err) != rotation.EINTERNAL {
		t.Fatalf("a record not asked for: %v", err)
	}
	// Returning nothing writes nothing.
	if err := update([]string{"A_TOKEN"}, func(map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GetExpiry(ctx, "A_TOKEN"); got.Fingerprint != "aaaa0000" || !got.Sent["3d"].Equal(at) {
		t.Fatalf("A_TOKEN after the aborted changes: %+v", got)
	}
	if got, _, _ := s.GetExpiry(ctx, "C_TOKEN"); got.Fingerprint != "cccc0000" {
		t.Fatalf("C_TOKEN after the refused change: %+v", got)
	}
}

// Changes of one record made at once (two processes' reminder passes, a
// rotation recording its new token) are taken one after the other: each sees
// the one before, so none is lost.
func testConcurrentUpdateExpiry(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The first of them finds no record and makes it.
			err := s.UpdateExpiry(ctx, []string{"A_TOKEN"}, func(stored map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error) {
				rec, ok := stored["A_TOKEN"]
				if !ok {
					rec = rotation.ExpiryRecord{Secret: "A_TOKEN", Fingerprint: "aaaa0000"}
				}
				if rec.Sent == nil {
					rec.Sent = map[string]time.Time{}
				}
				rec.Sent[fmt.Sprintf("%dd@U%d", i, i)] = at
				return []rotation.ExpiryRecord{rec}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, ok, err := s.GetExpiry(ctx, "A_TOKEN")
	if err != nil || !ok || len(got.Sent) != n {
		t.Fatalf("after %d changes at once the record holds %d of them: %+v %v", n, len(got.Sent), got, err)
	}
}

func testClaims(t *testing.T, s Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	ttl := 30 * time.Second
	claim := func(owner string, at time.Time) bool {
		t.Helper()
		ok, err := s.ClaimRun(ctx, "r1", owner, at, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("a", t0) {
		t.Fatal("a could not claim a free run")
	}
	if claim("b", t0.Add(10*time.Second)) {
		t.Fatal("b took a's claim while it held")
	}
	// a renews at +20 s: the claim now holds until +50 s.
	if !claim("a", t0.Add(20*time.Second)) {
		t.Fatal("a could not renew its own claim")
	}
	if claim("b", t0.Add(40*time.Second)) {
		t.Fatal("b took a's renewed claim")
	}
	// Claims are per run.
	if ok, err := s.ClaimRun(ctx, "r2", "b", t0.Add(40*time.Second), ttl); err != nil || !ok {
		t.Fatalf("b could not claim another run: %v %v", ok, err)
	}
	// a stops renewing (its process died): at +50 s the claim has expired.
	if !claim("b", t0.Add(50*time.Second)) {
		t.Fatal("b could not take over an expired claim")
	}
	if claim("a", t0.Add(55*time.Second)) {
		t.Fatal("a took its run back from b's live claim")
	}
	// Releasing someone else's claim changes nothing.
	if err := s.ReleaseRun(ctx, "r1", "a"); err != nil {
		t.Fatal(err)
	}
	if claim("a", t0.Add(56*time.Second)) {
		t.Fatal("a's release dropped b's claim")
	}
	// b releases: a may claim at once.
	if err := s.ReleaseRun(ctx, "r1", "b"); err != nil {
		t.Fatal(err)
	}
	if !claim("a", t0.Add(57*time.Second)) {
		t.Fatal("a could not claim a released run")
	}
	// Releasing a run nobody claimed is no error.
	if err := s.ReleaseRun(ctx, "r9", "a"); err != nil {
		t.Fatal(err)
	}
}

// Eight processes try to carry one run on at once: one may.
func testConcurrentClaimOneOwner(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("host:%d", i)
			ok, err := s.ClaimRun(ctx, "r1", owner, at, 30*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				winners = append(winners, owner)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("claimed by %v", winners)
	}
}

// Drift records round-trip whole; UpdateDrift shows fn the records of the keys
// asked for, writes what fn returns together, and nothing when fn returns nothing
// or fails.
func testDrift(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 19, 5, 17, 0, time.UTC)
	heroku := drift.Record{Key: drift.Key("A_TOKEN", rotation.DestHeroku, "raxx-console-prod", "A_TOKEN"),
		Secret: "A_TOKEN", Kind: drift.KindValue, Dest: rotation.DestHeroku, Target: "raxx-console-prod", Name: "A_TOKEN",
		Open: true, Problem: "the config var holds a value other than Infisical's current one", Since: at, VaultVersion: 4,
		Fingerprint: "abcd1234", Post: rotation.CardRef{Channel: "C0OPS", TS: "1700000000.000100"}, Shown: "open:x", Wrote: at.Add(-time.Hour)}
	vault := drift.Record{Key: drift.Key("A_TOKEN", "", "", ""), Secret: "A_TOKEN", Kind: drift.KindVersion, Adopted: 3}
	if recs, err := s.ListDrift(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("a new store lists %v %v", recs, err)
	}
	err := s.UpdateDrift(ctx, []string{heroku.Key, vault.Key}, func(stored map[string]drift.Record) ([]drift.Record, error) {
		if len(stored) != 0 {
			t.Errorf("fn sees %v in a new store", stored)
		}
		return []drift.Record{heroku, vault}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.ListDrift(ctx)
	if err != nil || len(recs) != 2 {
		t.Fatalf("list: %+v %v", recs, err)
	}
	got := recs[0]
	if got.Key != heroku.Key {
		got = recs[1]
	}
	if got.Key != heroku.Key || !got.Since.Equal(at) || !got.Wrote.Equal(heroku.Wrote) || got.Post != heroku.Post || !got.Open ||
		got.Problem != heroku.Problem || got.VaultVersion != 4 || got.Fingerprint != "abcd1234" || got.Shown != "open:x" || got.Dest != rotation.DestHeroku {
		t.Fatalf("round trip: %+v", got)
	}
	// Only the keys asked for are shown, and only they may be written.
	err = s.UpdateDrift(ctx, []string{vault.Key, "NOPE:vault"}, func(stored map[string]drift.Record) ([]drift.Record, error) {
		if len(stored) != 1 || stored[vault.Key].Adopted != 3 {
			t.Errorf("fn sees %+v, want the vault record only", stored)
		}
		v := stored[vault.Key]
		v.Open, v.Problem = true, "a newer version"
		return []drift.Record{v, {Key: heroku.Key, Secret: "A_TOKEN"}}, nil
	})
	if rotation.ErrorCode(err) != rotation.EINTERNAL {
		t.Fatalf("a record not asked for: %v", err)
	}
	refused := rotation.Errorf(rotation.ECONFLICT, "changed my mind")
	if err := s.UpdateDrift(ctx, []string{vault.Key}, func(map[string]drift.Record) ([]drift.Record, error) {
		return []drift.Record{{Key: vault.Key, Open: true}}, refused
	}); err != refused {
		t.Fatalf("fn's error came back as %v", err)
	}
	if err := s.UpdateDrift(ctx, []string{vault.Key}, func(map[string]drift.Record) ([]drift.Record, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	recs, _ = s.ListDrift(ctx)
	for _, r := range recs {
		if r.Key == vault.Key && (r.Open || r.Adopted != 3) {
			t.Fatalf("the vault record after aborted changes: %+v", r)
		}
		if r.Key == heroku.Key && r.Problem != heroku.Problem {
			t.Fatalf("the heroku record after a refused change: %+v", r)
		}
	}
}

// Two drift passes (or a pass and a repair) changing one record at once are
// taken one after the other: each sees the one before.
func testConcurrentUpdateDrift(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 8
	key := drift.Key("A_TOKEN", "", "", "")
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.UpdateDrift(ctx, []string{key}, func(stored map[string]drift.Record) ([]drift.Record, error) {
				rec, ok := stored[key]
				if !ok {
					rec = drift.Record{Key: key, Secret: "A_TOKEN", Kind: drift.KindVersion}
				}
				rec.Adopted++
				return []drift.Record{rec}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	recs, err := s.ListDrift(ctx)
	if err != nil || len(recs) != 1 || recs[0].Adopted != n {
		t.Fatalf("after %d changes at once: %+v %v", n, recs, err)
	}
}
