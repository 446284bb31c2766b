package bbolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	bolt "go.etcd.io/bbolt"
)

// filler sets every field reachable from a value, each to a different value, so a
// test sees every field a run has, today's and tomorrow's.
type filler struct {
	n     int
	times []time.Time
}

func (f *filler) fill(v reflect.Value) {
	f.n++
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(f.times[f.n%len(f.times)].Add(time.Duration(f.n) * time.Second)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d <&>", f.n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.n) + 0.25)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			f.fill(v.Index(i))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			f.fill(k)
			f.fill(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	}
}

// fullRun is a run with every field set; its times are in UTC, the local zone and
// a zone of their own, some with a monotonic reading.
func fullRun(seed int) *rotation.Run {
	f := &filler{n: seed, times: []time.Time{
		time.Now(), time.Now().UTC(), time.Date(2026, 12, 7, 8, 0, 0, 123, time.UTC),
		time.Date(2026, 12, 7, 8, 0, 0, 0, time.FixedZone("CET", 3600)), time.Now().In(time.FixedZone("", -5*3600)),
	}}
	r := new(rotation.Run)
	f.fill(reflect.ValueOf(r).Elem())
	return r
}

func roundTrip(t *testing.T, r *rotation.Run) ([]byte, *rotation.Run) {
	t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out rotation.Run
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return raw, &out
}

func TestARunIsPlainDataTheMemoCanCopy(t *testing.T) {
	if !runsMemoable {
		t.Fatal("rotation.Run gained a field the memo cannot copy as decoding would (an interface, a method of its own for JSON, an unexported field): every read decodes again")
	}
}

// The memo's copy of a run is exactly what decoding the run's JSON gives — every
// field, times' locations and monotonic readings, nil for an empty slice JSON
// leaves out — and shares nothing with the run it was made from.
func TestTheMemosCopyIsWhatDecodingGives(t *testing.T) {
	empty := fullRun(1)
	empty.Warnings, empty.Dropped = []string{}, []rotation.Destination{}
	for name, r := range map[string]*rotation.Run{"every field": fullRun(1), "another": fullRun(50), "empty lists": empty, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			before, decoded := roundTrip(t, r)
			c, ok := decodedCopy(r)
			if !ok {
				t.Fatal("no copy")
			}
			if !reflect.DeepEqual(c, decoded) {
				got, _ := json.Marshal(c)
				t.Fatalf("the copy differs from the decoded run:\n%s\n%s", got, before)
			}
			// Change everything in the copy: the run it came from is unchanged.
			(&filler{n: 1000, times: []time.Time{time.Unix(0, 0)}}).fill(reflect.ValueOf(c).Elem())
			if after, _ := roundTrip(t, r); string(after) != string(before) {
				t.Fatal("changing the copy changed the run it was made from")
			}
		})
	}
}

func TestTheMemoGivesARunOnlyForItsExactBytes(t *testing.T) {
	m := &runMemo{}
	r := fullRun(7)
	raw, decoded := roundTrip(t, r)
	k := seqKey(7)
	m.put(k, raw, r)
	got, ok := m.get(k, append([]byte(nil), raw...))
	if !ok || !reflect.DeepEqual(got, decoded) {
		t.Fatal("the memo did not give the run for its bytes")
	}
	got.Secret = "CHANGED"
	if again, _ := m.get(k, raw); again.Secret == "CHANGED" {
		t.Fatal("a copy handed out shares memory with the memo")
	}
	other, _ := roundTrip(t, fullRun(8))
	if _, ok := m.get(k, other); ok {
		t.Fatal("the memo gave a run for other bytes (a write it saw that was never committed, or one it did not see)")
	}
	// A run JSON would change (a string that is not UTF-8) is not kept.
	bad := fullRun(9)
	bad.Notice = "\xff"
	m.put(k, raw, bad)
	if _, ok := m.get(k, raw); ok {
		t.Fatal("the memo kept a run it cannot copy as decoding gives it")
	}
	for i := range memoRuns + 5 {
		m.put(seqKey(uint64(100+i)), raw, r)
	}
	if m.runs.len() != memoRuns || len(m.runs.order) != memoRuns {
		t.Fatalf("the memo holds %d runs (%d keys), want %d", m.runs.len(), len(m.runs.order), memoRuns)
	}
}

// BenchmarkRunRead is a run read back as a store transaction reads it: decoded
// from its JSON, or copied from the memo.
func BenchmarkRunRead(b *testing.B) {
	r := fullRun(3)
	raw, _ := json.Marshal(r)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var x rotation.Run
			if err := json.Unmarshal(raw, &x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memo", func(b *testing.B) {
		m := &runMemo{}
		m.put(seqKey(1), raw, r)
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := m.get(seqKey(1), raw); !ok {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkUpdateRun is one change of a run as the engine makes it (read it,
// change a field, write it back), synced to disk: wall time a change, and the
// process's machine time (user+sys: the disk syncs' system time included).
func BenchmarkUpdateRun(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	r := fullRun(3)
	r.State = rotation.StatePropagating
	r, err = s.CreateRun(ctx, r)
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := processCPU()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.UpdateRun(ctx, r.ID, func(x *rotation.Run) error { x.Notice = time.Now().String(); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// retiredHistory is a store with n completed runs of one secret, each retiring
// its old token.
func retiredHistory(tb testing.TB, n int) (*Store, []*rotation.Run) {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	ctx := context.Background()
	var runs []*rotation.Run
	for i := range n {
		r := &rotation.Run{Secret: "A_TOKEN", State: rotation.StateCompleted, Updated: time.Now().Add(time.Duration(i) * time.Second), // local, with a monotonic reading: as the engine gives it
			OldDigest: fmt.Sprintf("%064x", i), OldFingerprint: fmt.Sprintf("ghp_…%04d", i), DigestKey: fmt.Sprintf("%043d", i),
			Steps: []rotation.StepRecord{{Name: rotation.StepRevoke, State: rotation.StepDone, Finished: time.Now().Add(time.Duration(i) * time.Minute), Message: "Revoked the old token on GitHub"}}}
		r, err := s.CreateRun(ctx, r)
		if err != nil {
			tb.Fatal(err)
		}
		runs = append(runs, r)
	}
	return s, runs
}

// The retired index's entries come from the memo only while the file holds the
// bytes they were read from, and as copies: a run changed since is read anew,
// a run that no longer retires is gone, and changing what a listing gave changes
// nothing of the next.
func TestRetiredEntriesComeFromTheMemoOnlyForTheirBytes(t *testing.T) {
	s, runs := retiredHistory(t, 5)
	ctx := context.Background()
	first, err := s.ListRetired(ctx, "A_TOKEN")
	if err != nil || len(first) != 5 || first[0].ID != runs[4].ID {
		t.Fatalf("retired runs: %v %v", first, err)
	}
	if s.retired.entries.len() != 5 {
		t.Fatalf("the memo holds %d retired entries, want 5", s.retired.entries.len())
	}
	first[0].OldDigest, first[1].Steps[0].Finished = "changed", time.Time{}
	if _, err := s.UpdateRun(ctx, runs[2].ID, func(x *rotation.Run) error { x.OldFingerprint = "ghp_…new"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRun(ctx, runs[0].ID, func(x *rotation.Run) error { x.State = rotation.StateRolledBack; return nil }); err != nil {
		t.Fatal(err)
	}
	// A write made behind the memo's back (one it never saw) is read as stored.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRetired).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var r rotation.Run
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if r.ID == runs[3].ID {
				r.OldDigest = "written-elsewhere"
				nv, _ := json.Marshal(&r)
				return tx.Bucket(bucketRetired).Put(bytes.Clone(k), nv)
			}
		}
		return errors.New("no entry for run 3")
	}); err != nil {
		t.Fatal(err)
	}
	again, err := s.ListRetired(ctx, "A_TOKEN")
	if err != nil || len(again) != 4 {
		t.Fatalf("retired runs after the changes: %d %v", len(again), err)
	}
	byID := map[string]*rotation.Run{}
	for _, r := range again {
		byID[r.ID] = r
	}
	if byID[runs[0].ID] != nil {
		t.Error("a run that no longer retires is still listed")
	}
	if byID[runs[4].ID].OldDigest != runs[4].OldDigest || !byID[runs[3].ID].Steps[0].Finished.Equal(runs[3].Steps[0].Finished) {
		t.Error("changing a listing's run changed the memo's")
	}
	if got := byID[runs[2].ID].OldFingerprint; got != "ghp_…new" {
		t.Errorf("a changed run is listed as it was: %q", got)
	}
	if got := byID[runs[3].ID].OldDigest; got != "written-elsewhere" {
		t.Errorf("an entry written behind the memo's back is listed as the memo had it: %q", got)
	}
	// What the memo gives is what decoding the file gives.
	s.retired = &retiredMemo{}
	cold, err := s.ListRetired(ctx, "A_TOKEN")
	if err != nil || !reflect.DeepEqual(cold, again) {
		t.Errorf("from the memo:\n%+v\ndecoded:\n%+v (%v)", again, cold, err)
	}
}

// BenchmarkListRetired lists the retired runs of a secret with a long history,
// as every token pasted and every value written is checked against them: the
// first listing decodes them, the next ones come from the memo.
func BenchmarkListRetired(b *testing.B) {
	for _, n := range []int{125, 1000} {
		s, _ := retiredHistory(b, n)
		ctx := context.Background()
		b.Run(fmt.Sprintf("%d-cold", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.retired = &retiredMemo{}
				if list, err := s.ListRetired(ctx, "A_TOKEN"); err != nil || len(list) != n {
					b.Fatal(len(list), err)
				}
			}
		})
		b.Run(fmt.Sprintf("%d-memo", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if list, err := s.ListRetired(ctx, "A_TOKEN"); err != nil || len(list) != n {
					b.Fatal(len(list), err)
				}
			}
		})
	}
}
