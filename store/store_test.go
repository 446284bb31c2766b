package store

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newRun(secret string, state rotation.State) *rotation.Run {
	return &rotation.Run{Secret: secret, State: state, Method: rotation.MethodSlack, Requester: "U0ALICE"}
}

func TestRunsAndOpenIndex(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	a, err := s.CreateRun(ctx, newRun("A_TOKEN", rotation.StateWaitingToken))
	if err != nil || a.ID != "r1" {
		t.Fatalf("first run: %v %v", a, err)
	}
	open, err := s.CreateRun(ctx, newRun("A_TOKEN", rotation.StatePrechecking))
	if rotation.ErrorCode(err) != rotation.ECONFLICT || open.ID != "r1" {
		t.Fatalf("second open run of a secret: %v %v", open, err)
	}
	if !strings.Contains(rotation.ErrorMessage(err), "A_TOKEN already has an open run, r1 (Waiting for token)") {
		t.Fatalf("message: %s", rotation.ErrorMessage(err))
	}
	b, _ := s.CreateRun(ctx, newRun("B_TOKEN", rotation.StatePrechecking))
	// Finish a; a new run of A may start.
	if _, err := s.UpdateRun(ctx, a.ID, func(r *rotation.Run) error { r.State = rotation.StateCancelled; return nil }); err != nil {
		t.Fatal(err)
	}
	a2, err := s.CreateRun(ctx, newRun("A_TOKEN", rotation.StatePrechecking))
	if err != nil || a2.ID != "r3" {
		t.Fatalf("run after finish: %v %v", a2, err)
	}
	list, _ := s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN"})
	if len(list) != 2 || list[0].ID != "r3" || list[1].ID != "r1" {
		t.Fatalf("by secret newest first: %v", ids(list))
	}
	list, _ = s.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if len(list) != 2 || list[0].ID != a2.ID || list[1].ID != b.ID {
		t.Fatalf("open runs: %v", ids(list))
	}
	list, _ = s.ListRuns(ctx, rotation.RunFilter{Limit: 2})
	if len(list) != 2 || list[0].ID != "r3" {
		t.Fatalf("all, limit 2: %v", ids(list))
	}
	// A secret whose name is a prefix of another's is not mixed in.
	s.CreateRun(ctx, newRun("A_TOKEN_2", rotation.StatePrechecking))
	list, _ = s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN"})
	if len(list) != 2 {
		t.Fatalf("prefix secret mixed in: %v", ids(list))
	}
	if _, err := s.GetRun(ctx, "r99"); rotation.ErrorCode(err) != rotation.ENOTFOUND {
		t.Fatalf("missing run: %v", err)
	}
	if _, err := s.GetRun(ctx, "banana"); rotation.ErrorMessage(err) != `"banana" is not a run id: run ids look like r42` {
		t.Fatalf("bad id: %v", err)
	}
}

func ids(rs []*rotation.Run) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// Two state changes from the same state at once: the store runs them one after
// the other, so the second sees the first's result and its check refuses.
func TestConcurrentTransitionOneWins(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	r, _ := s.CreateRun(ctx, newRun("A_TOKEN", rotation.StateWaitingApproval))
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
}

func TestSecondProcessFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotabot.db")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Open(path, 50*time.Millisecond)
	want := path + " is in use by another rotabot process (no lock within 50ms): stop that process, or set ROTABOT_DB to another file"
	if rotation.ErrorMessage(err) != want {
		t.Fatalf("got %q", rotation.ErrorMessage(err))
	}
}

func TestAuditOncePerRunAndAction(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	e := rotation.AuditEntry{Action: rotation.ActionCompleted, RunID: "r1", Secret: "A_TOKEN", At: time.Now()}
	for i := 0; i < 3; i++ {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	e2 := e
	e2.RunID, e2.Secret = "r2", "B_TOKEN"
	s.AppendAudit(ctx, e2)
	all, _ := s.ListAudit(ctx, "", 0)
	if len(all) != 2 || all[0].RunID != "r2" {
		t.Fatalf("audit: %+v", all)
	}
	a, _ := s.ListAudit(ctx, "A_TOKEN", 0)
	if len(a) != 1 || a[0].Seq != 1 {
		t.Fatalf("audit of A: %+v", a)
	}
}

func TestExpiry(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	rec := rotation.ExpiryRecord{Secret: "A_TOKEN", Fingerprint: "abcd1234", ExpiresAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Sent: map[string]time.Time{"7d": time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}}
	if err := s.PutExpiry(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetExpiry(ctx, "A_TOKEN")
	if err != nil || !ok || !got.ExpiresAt.Equal(rec.ExpiresAt) || len(got.Sent) != 1 {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	if _, ok, _ := s.GetExpiry(ctx, "NOPE"); ok {
		t.Fatal("found a record that was never put")
	}
	all, _ := s.ListExpiry(ctx)
	if len(all) != 1 {
		t.Fatalf("list: %+v", all)
	}
}

func TestEnvelopesSeenOnceAndForgotten(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	if seen, _ := s.MarkEnvelope(ctx, "env-1", t0); seen {
		t.Fatal("new envelope seen")
	}
	if seen, _ := s.MarkEnvelope(ctx, "env-1", t0.Add(time.Minute)); !seen {
		t.Fatal("redelivered envelope not seen")
	}
	// Two hours later the old id has been pruned.
	if seen, _ := s.MarkEnvelope(ctx, "env-2", t0.Add(2*time.Hour)); seen {
		t.Fatal("env-2 seen")
	}
	if seen, _ := s.MarkEnvelope(ctx, "env-1", t0.Add(2*time.Hour)); seen {
		t.Fatal("env-1 was not forgotten after its TTL")
	}
}

func BenchmarkHistory10k(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := 0; i < 10000; i++ {
		r, _ := s.CreateRun(ctx, newRun([]string{"A_TOKEN", "B_TOKEN"}[i%2], rotation.StatePrechecking))
		s.UpdateRun(ctx, r.ID, func(r *rotation.Run) error { r.State = rotation.StateCompleted; return nil })
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list, err := s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN", Limit: 20})
		if err != nil || len(list) != 20 {
			b.Fatal(err)
		}
	}
}
