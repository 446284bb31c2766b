package bbolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	bolt "go.etcd.io/bbolt"
)

// MarkEnvelope records a handled Slack envelope id, and its content key when the
// id is new (rotation.EnvelopeStore), in one transaction. Ids older than
// rotation.EnvelopeTTL are forgotten in the same transaction.
//
// The file keeps the marks in time order (envelope_age) and the process looks
// them up in memory, read from the file at Open: the file is one process's, and
// an index by id in the file would rewrite a page at a random place in it for
// every mark and every mark forgotten. Whether a mark is new is decided under
// the process's lock, before the write, so concurrent marks of one envelope have
// one winner, and a write that bbolt's Batch makes again decides nothing anew.
func (s *Store) MarkEnvelope(_ context.Context, id, key string, at time.Time) (idSeen, keySeen bool, err error) {
	if id == "" {
		return false, false, fmt.Errorf("store: empty envelope id")
	}
	now, cutoff := at.UnixNano(), at.Add(-rotation.EnvelopeTTL).UnixNano()
	marks := []string{id}
	s.envMu.Lock()
	if s.markedLocked(id, cutoff) {
		s.envMu.Unlock()
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
		s.envPending[m] = true
	}
	s.envMu.Unlock()
	var forgotten []string
	err = s.write(func(tx *bolt.Tx) error {
		forgotten = forgotten[:0] // Batch may call it again
		age := tx.Bucket(bucketEnvelopeAge)
		c := age.Cursor()
		for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k[:8])) < cutoff; k, _ = c.First() {
			forgotten = append(forgotten, string(k[9:]))
			if err := c.Delete(); err != nil {
				return err
			}
		}
		ts := seqKey(uint64(now))
		for _, m := range marks {
			if err := age.Put(append(append(bytes.Clone(ts), 0), m...), nil); err != nil {
				return err
			}
		}
		return nil
	})
	s.envMu.Lock()
	defer s.envMu.Unlock()
	for _, m := range marks {
		delete(s.envPending, m)
	}
	if err == nil {
		for _, m := range forgotten {
			h := maphash.String(s.envSeed, m)
			if t, ok := s.envelopes[h]; ok && t < cutoff { // not marked again since
				delete(s.envelopes, h)
			}
		}
	}
	return false, keySeen, err
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
	if s.envPending[m] {
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
	s.envelopes, s.envPending = map[uint64]int64{}, map[string]bool{}
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
