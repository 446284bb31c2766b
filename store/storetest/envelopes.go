package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

func testEnvelopesSeenOnceAndForgotten(t *testing.T, s Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	mark := func(id string, at time.Time) bool {
		t.Helper()
		seen, keySeen, err := s.MarkEnvelope(ctx, id, "", at)
		if err != nil || keySeen {
			t.Fatal(keySeen, err)
		}
		return seen
	}
	if mark("env-1", t0) {
		t.Fatal("new envelope seen")
	}
	if !mark("env-1", t0.Add(time.Minute)) {
		t.Fatal("redelivered envelope not seen")
	}
	if !mark("env-1", t0.Add(rotation.EnvelopeTTL/2)) {
		t.Fatal("redelivered envelope forgotten within its TTL")
	}
	// Two TTLs later the old id has been pruned.
	if mark("env-2", t0.Add(2*rotation.EnvelopeTTL)) {
		t.Fatal("env-2 seen")
	}
	if mark("env-1", t0.Add(2*rotation.EnvelopeTTL)) {
		t.Fatal("env-1 was not forgotten after its TTL")
	}
	if _, _, err := s.MarkEnvelope(ctx, "", "action:T1", t0); err == nil {
		t.Fatal("an empty envelope id was accepted")
	}
}

// An envelope's content key (the trigger or event id a redelivery keeps) is
// marked with its id, only when the id is new: a redelivery under another id
// finds the key, and a key is forgotten with its id.
func testEnvelopeKeys(t *testing.T, s Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		id, key         string
		at              time.Duration
		idSeen, keySeen bool
	}{
		{"env:A", "action:T1", 0, false, false},
		{"env:B", "action:T1", time.Minute, false, true},      // redelivered under a new envelope id
		{"env:A", "action:T2", time.Minute, true, false},      // the id was seen: the key is not looked at
		{"env:C", "action:T2", 2 * time.Minute, false, false}, // ... nor marked
		{"env:D", "", 2 * time.Minute, false, false},
		{"env:E", "action:T1", 2 * rotation.EnvelopeTTL, false, false}, // forgotten with its id
	} {
		idSeen, keySeen, err := s.MarkEnvelope(ctx, c.id, c.key, t0.Add(c.at))
		if err != nil || idSeen != c.idSeen || keySeen != c.keySeen {
			t.Errorf("mark %d (%s, %q): id seen %v, key seen %v, %v; want %v, %v", i+1, c.id, c.key, idSeen, keySeen, err, c.idSeen, c.keySeen)
		}
	}
}

// The same envelope reaching two processes at once is handled by one.
func testConcurrentEnvelopeOnce(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen, _, err := s.MarkEnvelope(ctx, "env:E0123", "action:T0123", at)
			if err != nil {
				t.Error(err)
				return
			}
			if !seen {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("the envelope was new to %d callers", fresh)
	}
}
