// Package bbolt keeps rotabot's state in one bbolt file: runs, audit entries,
// expiry records, the Slack envelope ids already handled and the claims on runs.
// It implements rotation.Store (and passes store/storetest). Every change is one
// bbolt transaction, and a run's state change re-checks the state it reads inside
// that transaction, so two clicks at once cannot both win. The file is locked by
// the process that opens it: it is the store of one bot process.
//
// It must not know about Slack, the SDKs or how a run proceeds: it stores what the
// engine hands it, and never sees a token value (a Run has none).
package bbolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	bolt "go.etcd.io/bbolt"
)

// Bucket names. They are created at Open.
var (
	bucketRuns         = []byte("runs")           // seq (big-endian) → Run JSON
	bucketRunsBySecret = []byte("runs_by_secret") // secret \x00 seq → nil
	bucketOpenRuns     = []byte("open_runs")      // secret → run id
	bucketAudit        = []byte("audit")          // seq → AuditEntry JSON
	bucketAuditByRun   = []byte("audit_by_run")   // run id \x00 action → seq
	bucketExpiry       = []byte("expiry")         // secret → ExpiryRecord JSON
	bucketEnvelopes    = []byte("envelopes")      // none now: an older rotabot's index of envelope_age, dropped at Open
	bucketEnvelopeAge  = []byte("envelope_age")   // unix nanos \x00 envelope id or content key → nil
	bucketClaims       = []byte("claims")         // none now: an older rotabot's claims, dropped at Open
	bucketDrift        = []byte("drift")          // drift key → drift.Record JSON
	// secret \x00 seq → what RetiredBy reads of a run that retired its old
	// token (retiredPart): the check for a retired token reads these, not
	// every past run of the secret whole.
	bucketRetired = []byte("retired")
)

// BatchDelay is how long a write made while another is in flight waits for more
// to commit with it (bbolt's Batch, write).
const BatchDelay = 2 * time.Millisecond

// Store is a bbolt-backed rotation.Store.
type Store struct {
	db   *bolt.DB
	path string
	// memo keeps the runs last read or written, decoded, and retired the
	// retired index's entries last read or written (memo.go).
	memo    *runMemo
	retired *retiredMemo
	// claims are the claims on runs (ClaimRun), by run id.
	claimMu sync.Mutex
	claims  map[string]claim
	// envelopes are the envelope ids and content keys marked (MarkEnvelope),
	// with when, as the file's envelope_age holds them, by a hash of each
	// (envSeed): a map of numbers the garbage collector need not look into.
	envMu     sync.Mutex
	envelopes map[uint64]int64
	envSeed   maphash.Seed
	// envPending are the marks not in the file yet, with when (MarkEnvelope):
	// the next write takes them along, or flushMarks once envFlush fires.
	envPending map[string]int64
	envCutoff  int64       // marks before it are forgotten at the next write
	envFlush   *time.Timer // set while marks wait for a write
	envClosed  bool
	// writing counts the writes in flight (write).
	writing atomic.Int32
	// dropped is when the file's pages were last dropped from resident memory
	// (unix nanoseconds).
	dropped atomic.Int64
}

var (
	_ rotation.Store    = (*Store)(nil)
	_ drift.RecordStore = (*Store)(nil)
)

// Open opens (or creates) the bbolt file at path. A second process holding the
// file makes Open fail after timeout with a message that says what to do.
func Open(path string, timeout time.Duration) (*Store, error) {
	if timeout <= 0 {
		timeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, rotation.Wrap(rotation.EUNAVAILABLE, err,
				"%s is in use by another rotabot process (no lock within %s): stop that process, or set ROTABOT_DB to another file", path, timeout)
		}
		return nil, rotation.Wrap(rotation.EINTERNAL, err, "cannot open the database %s", path)
	}
	s := &Store{db: db, path: path, memo: &runMemo{}, retired: &retiredMemo{}}
	err = db.Update(func(tx *bolt.Tx) error {
		// Claims are kept in memory (ClaimRun); the ones an older rotabot kept
		// in the file were a dead process's (the file lock means no other
		// process uses this file): this one may carry those runs on at once.
		for _, gone := range [][]byte{bucketClaims, bucketEnvelopes} {
			if tx.Bucket(gone) != nil {
				if err := tx.DeleteBucket(gone); err != nil {
					return err
				}
			}
		}
		indexed := tx.Bucket(bucketRetired) != nil
		for _, b := range [][]byte{bucketRuns, bucketRunsBySecret, bucketOpenRuns, bucketAudit,
			bucketAuditByRun, bucketExpiry, bucketEnvelopeAge, bucketDrift, bucketRetired} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if indexed {
			return nil
		}
		// A file from before the index: index its runs once.
		return tx.Bucket(bucketRuns).ForEach(func(k, v []byte) error {
			var r rotation.Run
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			return s.indexRetired(tx, k, &r)
		})
	})
	if err != nil {
		db.Close()
		return nil, rotation.Wrap(rotation.EINTERNAL, err, "cannot prepare the database %s", path)
	}
	if err := s.loadEnvelopes(); err != nil {
		db.Close()
		return nil, rotation.Wrap(rotation.EINTERNAL, err, "cannot read the database %s", path)
	}
	db.MaxBatchDelay = BatchDelay
	return s, nil
}

// write makes fn's changes in one write transaction, with the envelope marks
// not in the file yet (MarkEnvelope). A write made alone commits at once. One
// made while another is in flight — several runs' steps, a run's destinations
// answering together, a burst of envelopes — goes through bbolt's Batch, which
// commits the writes that come within BatchDelay in one transaction: one disk
// sync for them all, not one each. Batch may call fn again (alone, when another
// in its batch failed), so every fn here sets what it reports afresh each time
// it runs, as rotation.Store asks of UpdateRun's. A refusal fn returns having
// written nothing is its caller's answer, not a failure of the batch: the
// batch's other writes commit, not made again.
func (s *Store) write(fn func(*bolt.Tx) error) error {
	marks := s.takeMarks()
	var forgotten []string
	committed, err := s.commit(func(tx *bolt.Tx) error {
		var err error
		if forgotten, err = marks.put(tx); err != nil {
			return err
		}
		return fn(tx)
	})
	if committed {
		s.marksWritten(marks, forgotten)
	}
	return err
}

// commit runs fn in one write transaction, alone or in bbolt's Batch (write),
// and reports whether the transaction committed: a refusal fn returns rolls
// back a write made alone, not a batch.
func (s *Store) commit(fn func(*bolt.Tx) error) (bool, error) {
	defer s.writing.Add(-1)
	if s.writing.Add(1) == 1 {
		err := s.db.Update(fn)
		return err == nil, unrefused(err)
	}
	var refused error
	err := s.db.Batch(func(tx *bolt.Tx) error {
		refused = nil
		err := fn(tx)
		if r, ok := errors.AsType[refusal](err); ok {
			refused = r.error
			return nil
		}
		return err
	})
	if err != nil {
		return false, unrefused(err)
	}
	return true, refused
}

// refusal is an error a write's fn returns having written nothing: the stored
// state refuses the change, or what it changes is not there.
type refusal struct{ error }

func unrefused(err error) error {
	if r, ok := errors.AsType[refusal](err); ok {
		return r.error
	}
	return err
}

// Close writes the envelope marks still waiting for a write (MarkEnvelope) and
// closes the file.
func (s *Store) Close() error {
	s.envMu.Lock()
	s.envClosed = true
	s.envMu.Unlock()
	return errors.Join(s.writeMarks(), s.db.Close())
}

// Describe names the store for a person: "bbolt file PATH".
func (s *Store) Describe() string { return "bbolt file " + s.path }

func seqKey(n uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, n)
	return k
}

// runKey turns "r42" into its bucket key.
func runKey(id string) ([]byte, error) {
	n, err := rotation.ParseRunID(id)
	if err != nil {
		return nil, err
	}
	return seqKey(n), nil
}

func secretKey(secret string, seq []byte) []byte {
	return append(append([]byte(secret), 0), seq...)
}

// getRun reads run id in tx, from the memo when it holds the bytes stored.
func (s *Store) getRun(tx *bolt.Tx, id string) (*rotation.Run, []byte, error) {
	k, err := runKey(id)
	if err != nil {
		return nil, nil, err
	}
	v := tx.Bucket(bucketRuns).Get(k)
	if v == nil {
		return nil, nil, rotation.Errorf(rotation.ENOTFOUND, "There is no run %s", id)
	}
	if r, ok := s.memo.get(k, v); ok {
		return r, k, nil
	}
	var r rotation.Run
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, nil, rotation.Wrap(rotation.EINTERNAL, err, "run %s is unreadable", id)
	}
	s.memo.put(k, bytes.Clone(v), &r) // v is the file's, valid only in tx
	return &r, k, nil
}

// putRun writes r under k in tx (and keeps it in the memo: were tx not to
// commit, its bytes would not be the file's, and the memo would not be used).
func (s *Store) putRun(tx *bolt.Tx, k []byte, r *rotation.Run) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketRuns).Put(k, v); err != nil {
		return err
	}
	s.memo.put(k, v, r)
	if err := s.indexRetired(tx, k, r); err != nil {
		return err
	}
	open := tx.Bucket(bucketOpenRuns)
	if r.State.Final() {
		if string(open.Get([]byte(r.Secret))) == r.ID {
			return open.Delete([]byte(r.Secret))
		}
		return nil
	}
	if string(open.Get([]byte(r.Secret))) == r.ID {
		return nil // a Put of the same would rewrite the index's page all the same
	}
	return open.Put([]byte(r.Secret), []byte(r.ID))
}

// indexRetired keeps r (stored under k) in the retired index while it retires
// its old token, with what RetiredBy reads of it.
func (s *Store) indexRetired(tx *bolt.Tx, k []byte, r *rotation.Run) error {
	ik := append(append([]byte(r.Secret), 0), k...)
	b := tx.Bucket(bucketRetired)
	if !r.Retires() {
		return b.Delete(ik)
	}
	part := retiredPart(r)
	v, err := json.Marshal(part)
	if err != nil {
		return err
	}
	if !bytes.Equal(b.Get(ik), v) { // a Put of the same would rewrite its page all the same
		if err := b.Put(ik, v); err != nil {
			return err
		}
	}
	s.retired.put(ik, v, part)
	return nil
}

// retiredPart is what RetiredBy reads of a run, and all the retired index keeps
// of it: its id and secret, state and time, whether it revoked, the keyed digest
// and fingerprint of its old token, and its revoke step's state and end.
func retiredPart(r *rotation.Run) *rotation.Run {
	out := &rotation.Run{ID: r.ID, Secret: r.Secret, State: r.State, Updated: r.Updated, RevokeAttempted: r.RevokeAttempted,
		RevokeSent: r.RevokeSent, OldDigest: r.OldDigest, OldFingerprint: r.OldFingerprint, DigestKey: r.DigestKey}
	if st := r.Step(rotation.StepRevoke); st != nil {
		out.Steps = []rotation.StepRecord{{Name: st.Name, State: st.State, Finished: st.Finished}}
	}
	return out
}

// ListRetired returns the runs of secret that retired their old token, newest
// first, as much of each as RetiredBy reads.
func (s *Store) ListRetired(_ context.Context, secret string) ([]*rotation.Run, error) {
	var out []*rotation.Run
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(secret), 0)
		c := tx.Bucket(bucketRetired).Cursor()
		k, v := c.Seek(append(append([]byte(secret), 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = c.Prev() {
			if r, ok := s.retired.get(k, v); ok {
				out = append(out, r)
				continue
			}
			var r rotation.Run
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			part := retiredPart(&r)                // an entry an older rotabot wrote kept more
			s.retired.put(k, bytes.Clone(v), part) // v is the file's, valid only in tx
			out = append(out, part)
		}
		return nil
	})
	return out, err
}

// CreateRun gives run an id and stores it. A secret with an open run gets an
// ECONFLICT error together with that open run.
func (s *Store) CreateRun(_ context.Context, run *rotation.Run) (*rotation.Run, error) {
	var out *rotation.Run
	err := s.write(func(tx *bolt.Tx) error {
		if id := tx.Bucket(bucketOpenRuns).Get([]byte(run.Secret)); id != nil {
			open, _, err := s.getRun(tx, string(id))
			if err != nil {
				return refusal{err}
			}
			out = open
			return refusal{rotation.Errorf(rotation.ECONFLICT, "%s already has an open run, %s (%s)", run.Secret, open.ID, open.State.Word())}
		}
		runs := tx.Bucket(bucketRuns)
		n, err := runs.NextSequence()
		if err != nil {
			return err
		}
		r := *run
		r.ID = rotation.RunID(n)
		k := seqKey(n)
		if err := s.putRun(tx, k, &r); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRunsBySecret).Put(secretKey(r.Secret, k), nil); err != nil {
			return err
		}
		out = &r
		return nil
	})
	return out, err
}

// GetRun returns the run with id.
func (s *Store) GetRun(_ context.Context, id string) (*rotation.Run, error) {
	var out *rotation.Run
	err := s.db.View(func(tx *bolt.Tx) error {
		r, _, err := s.getRun(tx, id)
		out = r
		return err
	})
	return out, err
}

// UpdateRun loads the run, lets fn change it and saves it, in one transaction.
// fn sees the state as stored now, so a check it makes cannot be raced.
func (s *Store) UpdateRun(_ context.Context, id string, fn func(*rotation.Run) error) (*rotation.Run, error) {
	defer s.tidy()
	var out *rotation.Run
	err := s.write(func(tx *bolt.Tx) error {
		r, k, err := s.getRun(tx, id)
		if err != nil {
			return refusal{err}
		}
		if err := fn(r); err != nil {
			return refusal{err}
		}
		if err := s.putRun(tx, k, r); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanned is how many runs a listing reads before the pages it read are
// dropped from the process's resident memory at once (dropMapped); dropEvery is
// how often they are dropped anyway once runs are written. bbolt writes a
// changed run to new pages, anywhere in the file, and reads the old ones to
// free them: eight runs at once touch some 6 MB of the file a second, so a
// process busy with runs would otherwise keep the whole file resident. A page
// read again after a drop comes back from the page cache (a minor fault); the
// drop itself is one system call.
const (
	scanned   = 32
	dropEvery = 100 * time.Millisecond
)

// tidy drops the file's pages from resident memory when dropEvery has passed
// since they last were.
func (s *Store) tidy() {
	now := time.Now().UnixNano()
	last := s.dropped.Load()
	if now-last < int64(dropEvery) || !s.dropped.CompareAndSwap(last, now) {
		return
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		dropMapped(s.db, tx)
		return nil
	})
}

// ListRuns returns runs newest first.
func (s *Store) ListRuns(_ context.Context, f rotation.RunFilter) ([]*rotation.Run, error) {
	var out []*rotation.Run
	err := s.db.View(func(tx *bolt.Tx) error {
		read := 0
		defer func() {
			if read >= scanned {
				dropMapped(s.db, tx)
			}
		}()
		add := func(v []byte) (bool, error) {
			read++
			var r rotation.Run
			if err := json.Unmarshal(v, &r); err != nil {
				return false, err
			}
			if f.OpenOnly && r.State.Final() {
				return true, nil
			}
			out = append(out, &r)
			return f.Limit == 0 || len(out) < f.Limit, nil
		}
		runs := tx.Bucket(bucketRuns)
		switch {
		case f.OpenOnly && f.Secret != "":
			// A secret has one open run at most, in the index.
			if id := tx.Bucket(bucketOpenRuns).Get([]byte(f.Secret)); id != nil {
				k, err := runKey(string(id))
				if err != nil {
					return err
				}
				if v := runs.Get(k); v != nil {
					_, err = add(v)
				}
				return err
			}
		case f.OpenOnly:
			// Few runs are open: read them through the index, then sort.
			var keys [][]byte
			err := tx.Bucket(bucketOpenRuns).ForEach(func(_, id []byte) error {
				k, err := runKey(string(id))
				keys = append(keys, k)
				return err
			})
			if err != nil {
				return err
			}
			sortDesc(keys)
			for _, k := range keys {
				if more, err := add(runs.Get(k)); err != nil || !more {
					return err
				}
			}
		case f.Secret != "":
			prefix := append([]byte(f.Secret), 0)
			c := tx.Bucket(bucketRunsBySecret).Cursor()
			// Seek past the last key of this secret, then walk back.
			k, _ := c.Seek(append(append([]byte(f.Secret), 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
			if k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
			for ; k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, _ = c.Prev() {
				if more, err := add(runs.Get(k[len(prefix):])); err != nil || !more {
					return err
				}
			}
		default:
			c := runs.Cursor()
			for k, v := c.Last(); k != nil; k, v = c.Prev() {
				if more, err := add(v); err != nil || !more {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

func sortDesc(keys [][]byte) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && string(keys[j]) > string(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// AppendAudit stores an audit entry once per run and action: appending the same
// run's entry again (a resumed run) changes nothing.
func (s *Store) AppendAudit(_ context.Context, e rotation.AuditEntry) error {
	return s.write(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketAuditByRun)
		ik := []byte(e.RunID + "\x00" + string(e.Action))
		if idx.Get(ik) != nil {
			return nil
		}
		b := tx.Bucket(bucketAudit)
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = n
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(n), v); err != nil {
			return err
		}
		return idx.Put(ik, seqKey(n))
	})
}

// ListAudit returns audit entries newest first, for one secret or all ("").
func (s *Store) ListAudit(_ context.Context, secret string, limit int) ([]rotation.AuditEntry, error) {
	var out []rotation.AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var e rotation.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if secret != "" && e.Secret != secret {
				continue
			}
			out = append(out, e)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// PutExpiry stores what is known of a secret's current token.
func (s *Store) PutExpiry(_ context.Context, rec rotation.ExpiryRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.write(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketExpiry).Put([]byte(rec.Secret), v)
	})
}

// UpdateExpiry loads the records of secrets, lets fn decide and stores what it
// returns, in one transaction: bbolt has one writer at a time, so nothing else
// writes in between. When fn returns nothing the transaction is rolled back,
// which writes nothing to the file.
func (s *Store) UpdateExpiry(_ context.Context, secrets []string, fn func(map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error)) error {
	return updateRecords(s.db, recordBucket{name: bucketExpiry, what: "the expiry record of", whole: "the expiry records"}, secrets,
		func(r rotation.ExpiryRecord) string { return r.Secret }, fn)
}

// GetExpiry returns the expiry record of a secret.
func (s *Store) GetExpiry(_ context.Context, secret string) (rotation.ExpiryRecord, bool, error) {
	var rec rotation.ExpiryRecord
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketExpiry).Get([]byte(secret))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &rec)
	})
	return rec, found, err
}

// ListExpiry returns every expiry record, by secret name.
func (s *Store) ListExpiry(_ context.Context) ([]rotation.ExpiryRecord, error) {
	var out []rotation.ExpiryRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketExpiry).ForEach(func(_, v []byte) error {
			var rec rotation.ExpiryRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

type claim struct {
	owner string
	until time.Time
}

// ClaimRun gives owner the run until now+ttl, unless another owner's claim holds.
// Claims are kept in memory, not in the file: the file is locked by the one
// process that opened it, so no other process can hold or read a claim here
// (claims an older rotabot left in the file are dropped at Open), and a run
// takes and gives back its claim at every stretch of steps — a disk write each,
// for nothing.
func (s *Store) ClaimRun(_ context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	if c, held := s.claims[id]; held && c.owner != owner && now.Before(c.until) {
		return false, nil
	}
	if s.claims == nil {
		s.claims = map[string]claim{}
	}
	s.claims[id] = claim{owner: owner, until: now.Add(ttl)}
	return true, nil
}

// ReleaseRun drops owner's claim on the run.
func (s *Store) ReleaseRun(_ context.Context, id, owner string) error {
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	if c, held := s.claims[id]; held && c.owner == owner {
		delete(s.claims, id)
	}
	return nil
}

// ListDrift returns every drift record, by key.
func (s *Store) ListDrift(_ context.Context) ([]drift.Record, error) {
	var out []drift.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDrift).ForEach(func(k, v []byte) error {
			var rec drift.Record
			if err := json.Unmarshal(v, &rec); err != nil {
				return rotation.Wrap(rotation.EINTERNAL, err, "the drift record %s is unreadable", k)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

// UpdateDrift loads the drift records of keys, lets fn decide and stores what it
// returns, in one transaction (bbolt has one writer at a time). When fn returns
// nothing the transaction is rolled back, which writes nothing to the file.
func (s *Store) UpdateDrift(_ context.Context, keys []string, fn func(map[string]drift.Record) ([]drift.Record, error)) error {
	return updateRecords(s.db, recordBucket{name: bucketDrift, what: "the drift record", whole: "the drift records"}, keys,
		func(r drift.Record) string { return r.Key }, fn)
}

// recordBucket is a bucket of JSON records by key (expiry, drift): its name, how
// one record is named in errors, and how they all are.
type recordBucket struct {
	name        []byte
	what, whole string
}

// updateRecords is UpdateExpiry's and UpdateDrift's one transaction body: it
// reads the records of keys, lets fn decide, and stores what fn returns (only
// records of keys). bbolt has one writer at a time, so nothing else writes in
// between; when fn returns nothing the transaction is rolled back, which writes
// nothing to the file.
func updateRecords[T any](db *bolt.DB, b recordBucket, keys []string, keyOf func(T) string, fn func(map[string]T) ([]T, error)) error {
	tx, err := db.Begin(true)
	if err != nil {
		return rotation.Wrap(rotation.EINTERNAL, err, "cannot change %s", b.whole)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	bucket := tx.Bucket(b.name)
	stored := make(map[string]T, len(keys))
	for _, key := range keys {
		v := bucket.Get([]byte(key))
		if v == nil {
			continue
		}
		var rec T
		if err := json.Unmarshal(v, &rec); err != nil {
			return rotation.Wrap(rotation.EINTERNAL, err, "%s %s is unreadable", b.what, key)
		}
		stored[key] = rec
	}
	recs, err := fn(stored)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	asked := make(map[string]bool, len(keys))
	for _, key := range keys {
		asked[key] = true
	}
	for _, rec := range recs {
		key := keyOf(rec)
		if !asked[key] {
			return rotation.Errorf(rotation.EINTERNAL, "%s %s was not asked for: it is not written", b.what, key)
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := bucket.Put([]byte(key), v); err != nil {
			return err
		}
	}
	return tx.Commit()
}
