package bbolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"maps"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	bolt "go.etcd.io/bbolt"
)

// MarkEnvelope records a handled Slack envelope id, and its content key when the
// id is new (rotation.EnvelopeStore). Ids older than rotation.EnvelopeTTL are
// forgotten when the marks are written.
//
// The file keeps the marks in time order (envelope_age) and the process looks
// them up in memory, read from the file at Open: the file is one process's, and
// an index by id in the file would rewrite a page at a random place in it for
// every mark and every mark forgotten. Whether a mark is new is decided under
// the process's lock, at once, so concurrent marks of one envelope have one
// winner.
//
// A mark goes to the file with the store's next write, in its transaction, or
// on its own at most MarkDelay later (flushMarks). A handled envelope nearly
// always changes something at once — a run started, approved, a token taken —
// so its mark costs no disk sync of its own, and whatever the handler changes
// commits with its mark or after it: a change is never in the file without the
// mark of the envelope that made it. A crash within MarkDelay of a mark that
// changed nothing loses only that mark; a redelivery of that envelope after the
// restart is handled then, as if for the first time.
func (s *Store) MarkEnvelope(_ context.Context, id, key string, at time.Time) (idSeen, keySeen bool, err error) {
	if id == "" {
		return false, false, fmt.Errorf("store: empty envelope id")
	}
	now, cutoff := at.UnixNano(), at.Add(-rotation.EnvelopeTTL).UnixNano()
	marks := []string{id}
	s.envMu.Lock()
	defer s.envMu.Unlock()
	if s.envClosed {
		return false, false, fmt.Errorf("store: %s is closed", s.path)
	}
	if s.markedLocked(id, cutoff) {
		return true, false, nil
	}
	if key != "" {
		if s.markedLocked(key, cutoff) {
			keySeen = true
		} else {
			marks = append(marks, key)
		}
	}
	for _, m := range marks {
		s.envelopes[maphash.String(s.envSeed, m)] = now
		s.envPending[m] = now
	}
	if s.envCutoff < cutoff {
		s.envCutoff = cutoff
	}
	if s.envFlush == nil {
		s.envFlush = time.AfterFunc(MarkDelay, s.flushMarks)
	}
	return false, keySeen, nil
}

// MarkDelay is the longest an envelope's mark waits for another write to go to
// the file with (MarkEnvelope).
const MarkDelay = 250 * time.Millisecond

// flushMarks writes the marks no write has taken along since MarkDelay.
func (s *Store) flushMarks() {
	if err := s.writeMarks(); err != nil {
		s.envMu.Lock() // try again later: the marks are kept until written
		if s.envFlush == nil && !s.envClosed {
			s.envFlush = time.AfterFunc(MarkDelay, s.flushMarks)
		}
		s.envMu.Unlock()
	}
}

// writeMarks writes the marks waiting for a write, on their own (flushMarks,
// Close), and stops the timer that would have.
func (s *Store) writeMarks() error {
	s.envMu.Lock()
	if s.envFlush != nil {
		s.envFlush.Stop() // when called before it fires
		s.envFlush = nil
	}
	n := len(s.envPending)
	s.envMu.Unlock()
	if n == 0 {
		return nil
	}
	return s.write(func(*bolt.Tx) error { return nil })
}

// pendingMarks are the marks not in the file yet and the time before which
// marks are forgotten, for a write to take along (write, put).
type pendingMarks struct {
	marks  map[string]int64
	cutoff int64
}

// takeMarks copies the marks not in the file yet; they stay pending until a
// write that holds them commits (marksWritten).
func (s *Store) takeMarks() pendingMarks {
	s.envMu.Lock()
	defer s.envMu.Unlock()
	if len(s.envPending) == 0 {
		return pendingMarks{}
	}
	return pendingMarks{marks: maps.Clone(s.envPending), cutoff: s.envCutoff}
}

// put writes the marks into tx and forgets the ones older than the cutoff; it
// returns the marks forgotten. Batch may run it again in a new transaction, so
// it decides nothing anew.
func (p pendingMarks) put(tx *bolt.Tx) ([]string, error) {
	if len(p.marks) == 0 {
		return nil, nil
	}
	var forgotten []string
	age := tx.Bucket(bucketEnvelopeAge)
	c := age.Cursor()
	for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k[:8])) < p.cutoff; k, _ = c.First() {
		forgotten = append(forgotten, string(k[9:]))
		if err := c.Delete(); err != nil {
			return nil, err
		}
	}
	for m, at := range p.marks {
		if at < p.cutoff { // it waited past the TTL: forgotten, not written
			forgotten = append(forgotten, m)
			continue
		}
		if err := age.Put(append(append(seqKey(uint64(at)), 0), m...), nil); err != nil {
			return nil, err
		}
	}
	return forgotten, nil
}

// marksWritten records that p's marks are in the file, and forgets in memory
// the marks the same write forgot in the file.
func (s *Store) marksWritten(p pendingMarks, forgotten []string) {
	if len(p.marks) == 0 {
		return
	}
	s.envMu.Lock()
	defer s.envMu.Unlock()
	for m, at := range p.marks {
		if s.envPending[m] == at { // not marked again since
			delete(s.envPending, m)
		}
	}
	if len(s.envPending) == 0 && s.envFlush != nil {
		s.envFlush.Stop()
		s.envFlush = nil
	}
	for _, m := range forgotten {
		h := maphash.String(s.envSeed, m)
		if t, ok := s.envelopes[h]; ok && t < p.cutoff { // not marked again since
			delete(s.envelopes, h)
		}
	}
}

// markedLocked reports whether m (an envelope id or content key) was marked at
// cutoff or since. The hash is only a lead: the file is asked for the mark it
// points to (or the marks being written, for one not in it yet), so two marks
// whose hashes meet are never taken for each other.
func (s *Store) markedLocked(m string, cutoff int64) bool {
	t, ok := s.envelopes[maphash.String(s.envSeed, m)]
	if !ok || t < cutoff {
		return false
	}
	if _, ok := s.envPending[m]; ok {
		return true
	}
	found := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketEnvelopeAge).Get(append(append(seqKey(uint64(t)), 0), m...)) != nil
		return nil
	})
	return found
}

// loadEnvelopes reads the marks the file holds (MarkEnvelope).
func (s *Store) loadEnvelopes() error {
	s.envSeed = maphash.MakeSeed()
	s.envelopes, s.envPending = map[uint64]int64{}, map[string]int64{}
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEnvelopeAge).ForEach(func(k, _ []byte) error {
			if len(k) < 9 {
				return nil
			}
			h := maphash.Bytes(s.envSeed, k[9:])
			if t := int64(binary.BigEndian.Uint64(k[:8])); t > s.envelopes[h] {
				s.envelopes[h] = t
			}
			return nil
		})
	})
}
