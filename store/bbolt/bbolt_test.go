package bbolt

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/store/storetest"
	bolt "go.etcd.io/bbolt"
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

// TestContract runs the store contract suite that every rotation.Store passes.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t) })
}

// The start-up log line names the store by its file.
func TestDescribe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotabot.db")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.Describe(), "bbolt file "+path; got != want {
		t.Fatalf("Describe() = %q, want %q", got, want)
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

// The file lock means only one process uses the file, so a claim found at Open is
// a dead process's: the new process may carry the run on at once.
func TestClaimsClearedAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotabot.db")
	ctx := context.Background()
	now := time.Now()
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ClaimRun(ctx, "r1", "dead-process", now, time.Hour); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	s.Close()
	s, err = Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.ClaimRun(ctx, "r1", "new-process", now, time.Hour); !ok || err != nil {
		t.Fatalf("the dead process's claim survived Open: %v %v", ok, err)
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
		r, _ := s.CreateRun(ctx, storetest.NewRun([]string{"A_TOKEN", "B_TOKEN"}[i%2], rotation.StatePrechecking))
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

// A file written before the retired index gets it at the next Open: a token an
// old run retired is still refused.
func TestAFileFromBeforeTheRetiredIndexIsIndexedAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotabot.db")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := s.CreateRun(ctx, &rotation.Run{Secret: "A_TOKEN", State: rotation.StateCompleted})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketRetired) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(path, time.Second); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if list, err := s.ListRetired(ctx, "A_TOKEN"); err != nil || len(list) != 1 || list[0].ID != r.ID {
		t.Fatalf("retired runs after reopening: %v %v", list, err)
	}
}

// txID is the id of the file's last committed write transaction.
func txID(t *testing.T, s *Store) uint64 {
	t.Helper()
	var id int
	if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return uint64(id)
}

// Writes that come while another is in flight commit together (one disk sync for
// several), and none is lost: forty runs' destinations answering at once, each
// a read-change-write of the same run, all land, in fewer transactions than writes.
func TestWritesInFlightTogetherCommitTogetherAndLoseNothing(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	r, err := s.CreateRun(ctx, &rotation.Run{Secret: "A_TOKEN", State: rotation.StatePropagating})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	before := txID(t, s)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			calls := 0
			_, err := s.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
				calls++ // Batch may run it again: what it reports is set afresh
				x.Warnings = append(x.Warnings, fmt.Sprintf("w%02d", i))
				// The first write to get here stays in flight until every
				// other has come (with one core, they would otherwise
				// come one after another, each alone).
				for calls == 1 && len(x.Warnings) == 1 && s.writing.Load() < n {
					time.Sleep(time.Millisecond)
				}
				return nil
			})
			if err != nil || calls == 0 {
				t.Errorf("write %d: %v (called %d times)", i, err, calls)
			}
		})
	}
	wg.Wait()
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings) != n {
		t.Errorf("%d of %d changes kept: %v", len(got.Warnings), n, got.Warnings)
	}
	txns := txID(t, s) - before
	if txns >= n {
		t.Errorf("%d writes at once took %d transactions: none committed together", n, txns)
	}
	t.Logf("%d writes at once: %d transactions", n, txns)
}

// A write refused in a batch (its fn's error, nothing written) is its caller's
// answer alone: the batch's other writes commit once, not made again.
func TestARefusedWriteInABatchDoesNotRedoTheOthers(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	r, err := s.CreateRun(ctx, &rotation.Run{Secret: "A_TOKEN", State: rotation.StatePropagating})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	refused := errors.New("refused")
	var calls [n]atomic.Int32
	var done atomic.Int32 // writes over before write 0 began
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
				calls[i].Add(1)
				for i == 0 && calls[0].Load() == 1 && s.writing.Load()+done.Load() < n { // the others come while it is in flight
					time.Sleep(time.Millisecond)
				}
				if i%2 == 1 {
					return refused
				}
				x.Warnings = append(x.Warnings, fmt.Sprintf("w%02d", i))
				return nil
			})
			done.Add(1)
			var want error
			if i%2 == 1 {
				want = refused
			}
			if !errors.Is(err, want) {
				t.Errorf("write %d: %v, want %v", i, err, want)
			}
		})
	}
	wg.Wait()
	for i := range n {
		if c := calls[i].Load(); c != 1 {
			t.Errorf("write %d was made %d times", i, c)
		}
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil || len(got.Warnings) != n/2 {
		t.Errorf("%d changes kept, want %d (%v)", len(got.Warnings), n/2, err)
	}
}

// Envelope marks are in the file: a restarted process still knows an envelope
// handled before it stopped (a redelivery is dropped), a file an older rotabot
// wrote (its marks with an index by id beside them) reads the same, and a mark
// past rotation.EnvelopeTTL leaves both the file and the process's memory.
func TestEnvelopeMarksOutliveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotabot.db")
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if seen, _, err := s.MarkEnvelope(ctx, "env:A", "action:T1", t0); seen || err != nil {
		t.Fatal(seen, err)
	}
	// As an older rotabot left it: an index by id beside the marks.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketEnvelopes)
		if err != nil {
			return err
		}
		return b.Put([]byte("env:A"), seqKey(uint64(t0.UnixNano())))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(path, time.Second); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEnvelopes) != nil {
			return errors.New("the old index is still in the file")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if seen, _, err := s.MarkEnvelope(ctx, "env:A", "", t0.Add(time.Minute)); !seen || err != nil {
		t.Errorf("an envelope handled before the restart is new after it: %v %v", seen, err)
	}
	if seen, keySeen, err := s.MarkEnvelope(ctx, "env:B", "action:T1", t0.Add(time.Minute)); seen || !keySeen || err != nil {
		t.Errorf("a redelivery under a new id: seen %v, key seen %v, %v", seen, keySeen, err)
	}
	// A hash met by chance (another mark's) is not taken for a mark: the file says.
	s.envelopes[maphash.String(s.envSeed, "env:Z")] = t0.Add(time.Minute).UnixNano()
	if seen, _, err := s.MarkEnvelope(ctx, "env:Z", "", t0.Add(2*time.Minute)); seen || err != nil {
		t.Errorf("an envelope never marked, whose hash another mark has, was taken as seen: %v %v", seen, err)
	}
	later := t0.Add(2 * rotation.EnvelopeTTL)
	if seen, _, err := s.MarkEnvelope(ctx, "env:C", "action:T9", later); seen || err != nil {
		t.Fatal(seen, err)
	}
	s.flushMarks() // as MarkDelay later, no other write having come
	var left []string
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEnvelopeAge).ForEach(func(k, _ []byte) error { left = append(left, string(k[9:])); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(left) != "[action:T9 env:C]" || len(s.envelopes) != 2 {
		t.Errorf("after a TTL the file holds %v and memory %d marks; want only env:C's two", left, len(s.envelopes))
	}
}

// An envelope's mark goes to the file with the next write, in its transaction:
// the change the envelope made is never in the file without its mark. A write
// refused alone takes no mark with it; a mark no write takes along is written on
// its own within MarkDelay, and Close writes the ones still waiting.
func TestAMarkGoesToTheFileWithTheNextWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotabot.db")
	ctx := context.Background()
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	txid := func() (id int) {
		_ = s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
		return id
	}
	inFile := func(m string) (found bool) {
		_ = s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketEnvelopeAge).ForEach(func(k, _ []byte) error {
				found = found || string(k[9:]) == m
				return nil
			})
		})
		return found
	}
	now := time.Now()
	before := txid()
	if seen, _, err := s.MarkEnvelope(ctx, "env:A", "slash:T1", now); seen || err != nil {
		t.Fatal(seen, err)
	}
	if seen, _, err := s.MarkEnvelope(ctx, "env:A", "", now); !seen || err != nil {
		t.Fatalf("a mark waiting for a write is not seen: %v %v", seen, err)
	}
	if _, err := s.CreateRun(ctx, &rotation.Run{Secret: "A_TOKEN", State: rotation.StatePropagating}); err != nil {
		t.Fatal(err)
	}
	if got := txid() - before; got != 1 || !inFile("env:A") || !inFile("slash:T1") {
		t.Fatalf("after a mark and a run created: %d transactions, env:A in the file %v, its key %v; want 1, both", got, inFile("env:A"), inFile("slash:T1"))
	}
	// A second run of the same secret is refused: that write rolls back, and
	// the mark made before it waits for the next.
	if _, _, err := s.MarkEnvelope(ctx, "env:B", "", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRun(ctx, &rotation.Run{Secret: "A_TOKEN", State: rotation.StatePropagating}); err == nil {
		t.Fatal("a second open run of a secret was created")
	}
	if inFile("env:B") {
		t.Fatal("a refused write committed a mark")
	}
	deadline := time.Now().Add(10 * MarkDelay)
	for !inFile("env:B") {
		if time.Now().After(deadline) {
			t.Fatalf("a mark no write took along is not in the file %s later", 10*MarkDelay)
		}
		time.Sleep(MarkDelay / 10)
	}
	if _, _, err := s.MarkEnvelope(ctx, "env:C", "", now); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MarkEnvelope(ctx, "env:D", "", now); err == nil {
		t.Error("a closed store took a mark")
	}
	if s, err = Open(path, time.Second); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if seen, _, err := s.MarkEnvelope(ctx, "env:C", "", now); !seen || err != nil {
		t.Errorf("a mark waiting at Close is new after a restart: %v %v", seen, err)
	}
}

// BenchmarkMarkEnvelope is one gesture's envelope marked, with its content key,
// and written on its own, synced to disk (as MarkDelay later, for a gesture that
// changes nothing: most marks go with the write their gesture makes, at no sync
// of their own), in a file holding an hour of a busy morning's marks (twelve
// thousand: a thousand runs of six gestures each), the oldest forgotten as new
// ones come: the process's machine time a mark (user+sys, the syncs included).
func BenchmarkMarkEnvelope(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const held = 6000 // marks of an id and a key each
	step := rotation.EnvelopeTTL / held
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	mark := func(i int) {
		if _, _, err := s.MarkEnvelope(ctx, fmt.Sprintf("env:%016x%016x", i*7919, i), fmt.Sprintf("action:%016x", i*104729), at); err != nil {
			b.Fatal(err)
		}
		s.flushMarks()
		at = at.Add(step)
	}
	for i := range held {
		mark(i)
	}
	i := held
	cpu0 := processCPU()
	b.ReportAllocs()
	for b.Loop() {
		mark(i)
		i++
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}
