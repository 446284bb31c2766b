// Package postgres keeps rotabot's state in PostgreSQL: runs, audit entries,
// expiry records, the Slack envelope ids already handled and the claims on runs.
// It implements rotation.Store with the same contract as store/bbolt (both pass
// store/storetest), and it is the store for more than one bot process: on Heroku,
// where a dyno's disk is wiped at every restart and deploy, and where two worker
// dynos share one database. It links no bbolt: what the stores share is in
// rotation.
//
// What makes two processes safe is in the database, not in either process: one
// open run per secret is a partial unique index; a state change is one transaction
// that reads the run with SELECT … FOR UPDATE; an envelope id is an INSERT … ON
// CONFLICT DO NOTHING, so exactly one process sees it new; a claim on a run is a
// row lease with an expiry, taken or renewed in one statement.
//
// Like the bbolt store it must not know about Slack, the SDKs or how a run
// proceeds, and it never sees a token value (a Run has none). DATABASE_URL holds
// a password: no message of this package repeats the URL.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// migrations are the schema's versions, in order: migrations[i] takes the schema
// from version i to i+1. Append; never edit one that has shipped.
var migrations = []string{
	// 1: runs, audit entries, expiry records, envelope ids, run claims.
	`
CREATE SEQUENCE run_numbers;

-- A run is kept whole as JSON; the columns beside it are what the queries select
-- and order by. is_open is false once the run is Completed, Rolled back or
-- Cancelled; the partial unique index lets a secret have one open run at a time.
CREATE TABLE runs (
	id      bigint      PRIMARY KEY,
	secret  text        NOT NULL,
	state   text        NOT NULL,
	is_open boolean     NOT NULL,
	created timestamptz NOT NULL,
	run     jsonb       NOT NULL
);
CREATE UNIQUE INDEX runs_one_open_per_secret ON runs (secret) WHERE is_open;
CREATE INDEX runs_by_secret ON runs (secret, id DESC);

CREATE TABLE audit (
	seq    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	run_id text        NOT NULL,
	action text        NOT NULL,
	secret text        NOT NULL,
	at     timestamptz NOT NULL,
	entry  jsonb       NOT NULL,
	UNIQUE (run_id, action)
);
CREATE INDEX audit_by_secret ON audit (secret, seq DESC);

CREATE TABLE expiry (
	secret text  PRIMARY KEY,
	record jsonb NOT NULL
);

CREATE TABLE envelopes (
	id      text        PRIMARY KEY,
	seen_at timestamptz NOT NULL
);
CREATE INDEX envelopes_by_age ON envelopes (seen_at);

-- A claim lets one process carry a run on until "until"; it renews it while it
-- works, and another process may take the run over once it has expired.
CREATE TABLE run_claims (
	run_id text        PRIMARY KEY,
	owner  text        NOT NULL,
	until  timestamptz NOT NULL
);
`,
	// 2: drift records (one per drifted place, kept after it resolves).
	`
CREATE TABLE drift (
	key    text  PRIMARY KEY,
	record jsonb NOT NULL
);
`,
}

// defaultMaxConns is how many connections a process opens at most, unless the
// URL says otherwise (pool_max_conns).
const defaultMaxConns = 4

// SchemaVersion is the version Open migrates a database to.
func SchemaVersion() int { return len(migrations) }

// Store is a PostgreSQL-backed rotation.Store.
type Store struct {
	pool *pgxpool.Pool
	// addr is host:port, the one part of DATABASE_URL messages may show.
	addr string
}

var (
	_ rotation.Store    = (*Store)(nil)
	_ drift.RecordStore = (*Store)(nil)
)

// Open connects to the database at url (DATABASE_URL) and creates or migrates the
// schema, under an advisory lock so two processes starting at once migrate it
// once. Errors are *rotation.Error with a message fit for the person deploying;
// none holds the URL or its password.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parser's own error repeats the URL, and may not manage to hide
		// the password in a malformed one: keep none of it.
		return nil, rotation.Errorf(rotation.EINVALID,
			"DATABASE_URL is not a PostgreSQL URL: it looks like postgres://USER:PASSWORD@HOST:5432/DATABASE")
	}
	// A small plan (Heroku's essential-0) allows 20 connections for every
	// process together: a bot needs few, whatever the machine's core count.
	if cfg.MaxConns > defaultMaxConns && !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	s := &Store{addr: net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.fail(err, "connecting")
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Describe names the store for a person: "PostgreSQL at HOST:PORT", never the
// rest of DATABASE_URL (it holds the password).
func (s *Store) Describe() string { return "PostgreSQL at " + s.addr }

// migrate brings the schema to SchemaVersion in one transaction. The advisory
// lock is per schema (search_path), so stores in different schemas of one
// database do not wait for each other.
func (s *Store) migrate(ctx context.Context) error {
	return s.tx(ctx, "preparing the schema", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('rotabot schema ' || coalesce(current_schema(), ''), 0))`); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE TABLE schema_version (version int PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
				return err
			}
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
			return err
		}
		if v > len(migrations) {
			return rotation.Errorf(rotation.EINVALID,
				"the database at %s has rotabot's schema version %d, newer than this rotabot's %d: deploy the newer rotabot", s.addr, v, len(migrations))
		}
		for ; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, v+1); err != nil {
				return err
			}
		}
		return nil
	})
}

// passed carries an error of UpdateRun's fn through tx untouched.
type passed struct{ err error }

func (p passed) Error() string { return p.err.Error() }

// tx runs fn in a transaction and commits it; an error rolls it back.
func (s *Store) tx(ctx context.Context, doing string, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.fail(err, doing)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	if err := fn(tx); err != nil {
		var p passed
		if errors.As(err, &p) {
			return p.err
		}
		return s.fail(err, doing)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.fail(err, doing)
	}
	return nil
}

// fail turns a database error into a *rotation.Error whose message says what to
// do; the cause is kept for logs (pgx's errors name host, user and database,
// never the password).
func (s *Store) fail(err error, doing string) error {
	var re *rotation.Error
	if errors.As(err, &re) {
		return err
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "28P01" || pg.Code == "28000":
			return rotation.Wrap(rotation.EUNAUTHORIZED, err,
				"PostgreSQL at %s refused the user name or password of DATABASE_URL: check DATABASE_URL", s.addr)
		case pg.Code == "3D000":
			return rotation.Wrap(rotation.EINVALID, err,
				"PostgreSQL at %s has no such database: create it, or check the database name in DATABASE_URL", s.addr)
		case pg.Code == "3F000":
			return rotation.Wrap(rotation.EINVALID, err,
				"PostgreSQL at %s has no schema to keep rotabot's tables in: check search_path in DATABASE_URL", s.addr)
		case pg.Code == "42501":
			return rotation.Wrap(rotation.EFORBIDDEN, err,
				"the DATABASE_URL user may not do that on PostgreSQL at %s (%s): it needs to own rotabot's tables", s.addr, doing)
		case pg.Code == "53300" || pg.Code == "57P03":
			return rotation.Wrap(rotation.EUNAVAILABLE, err,
				"PostgreSQL at %s takes no more connections right now: try again, or raise its connection limit", s.addr)
		case strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P"):
			return rotation.Wrap(rotation.EUNAVAILABLE, err, "PostgreSQL at %s dropped the connection while %s: try again", s.addr, doing)
		}
		return rotation.Wrap(rotation.EINTERNAL, err, "the database failed while %s", doing)
	}
	if errors.Is(err, context.Canceled) {
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "stopped while %s", doing)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "PostgreSQL at %s is not reachable: check DATABASE_URL", s.addr)
	}
	return rotation.Wrap(rotation.EINTERNAL, err, "the database failed while %s", doing)
}

func runID(n int64) string { return rotation.RunID(uint64(n)) }

func parseID(id string) (int64, error) {
	n, err := rotation.ParseRunID(id)
	if err != nil {
		return 0, err
	}
	if n > 1<<62 {
		return 0, rotation.Errorf(rotation.ENOTFOUND, "There is no run %s", id)
	}
	return int64(n), nil
}

func decodeRun(raw []byte, id string) (*rotation.Run, error) {
	var r rotation.Run
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, rotation.Wrap(rotation.EINTERNAL, err, "run %s is unreadable", id)
	}
	return &r, nil
}

// openRun returns the secret's open run, or nil.
func (s *Store) openRun(ctx context.Context, q pgx.Tx, secret string) (*rotation.Run, error) {
	var raw []byte
	err := q.QueryRow(ctx, `SELECT run FROM runs WHERE secret = $1 AND is_open`, secret).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(err, "looking for the open run of "+secret)
	}
	return decodeRun(raw, secret)
}

func busy(secret string, open *rotation.Run) error {
	return rotation.Errorf(rotation.ECONFLICT, "%s already has an open run, %s (%s)", secret, open.ID, open.State.Word())
}

// CreateRun gives run an id and stores it. A secret with an open run gets an
// ECONFLICT error together with that open run. Two processes creating a run of
// one secret at once take turns on a transaction lock of the secret's own: the
// second finds the first's run, and no run number is used up by the one that
// loses (ids stay r1, r2, r3 … as people see them). The unique index on open runs
// stays the guarantee.
func (s *Store) CreateRun(ctx context.Context, run *rotation.Run) (*rotation.Run, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, s.fail(err, "starting to store a run of "+run.Secret)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('rotabot.create_run:' || $1, 0))`, run.Secret); err != nil {
		return nil, s.fail(err, "locking the secret "+run.Secret)
	}
	open, err := s.openRun(ctx, tx, run.Secret)
	if err != nil {
		return nil, err
	}
	if open != nil {
		return open, busy(run.Secret, open)
	}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT nextval('run_numbers')`).Scan(&n); err != nil {
		return nil, s.fail(err, "numbering a run")
	}
	r := *run
	r.ID = runID(n)
	body, err := json.Marshal(&r)
	if err != nil {
		return nil, rotation.Wrap(rotation.EINTERNAL, err, "run of %s cannot be stored", run.Secret)
	}
	tag, err := tx.Exec(ctx, `
INSERT INTO runs (id, secret, state, is_open, created, run) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (secret) WHERE is_open DO NOTHING`,
		n, r.Secret, string(r.State), !r.State.Final(), r.Created, body)
	if err != nil {
		return nil, s.fail(err, "storing run "+r.ID)
	}
	if tag.RowsAffected() != 1 {
		// Only a writer that skipped the lock could be here (an older rotabot).
		return nil, rotation.Errorf(rotation.ECONFLICT, "%s already has an open run: try again", run.Secret)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, s.fail(err, "storing run "+r.ID)
	}
	return &r, nil
}

// GetRun returns the run with id.
func (s *Store) GetRun(ctx context.Context, id string) (*rotation.Run, error) {
	n, err := parseID(id)
	if err != nil {
		return nil, err
	}
	var raw []byte
	err = s.pool.QueryRow(ctx, `SELECT run FROM runs WHERE id = $1`, n).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, rotation.Errorf(rotation.ENOTFOUND, "There is no run %s", id)
	}
	if err != nil {
		return nil, s.fail(err, "reading run "+id)
	}
	return decodeRun(raw, id)
}

// UpdateRun loads the run, lets fn change it and saves it, in one transaction
// that holds the run's row lock: fn sees the run as stored now, and a second
// change of the same run, from this process or another, waits until this one
// has committed and then sees its result.
func (s *Store) UpdateRun(ctx context.Context, id string, fn func(*rotation.Run) error) (*rotation.Run, error) {
	n, err := parseID(id)
	if err != nil {
		return nil, err
	}
	var out *rotation.Run
	err = s.tx(ctx, "changing run "+id, func(tx pgx.Tx) error {
		var raw []byte
		err := tx.QueryRow(ctx, `SELECT run FROM runs WHERE id = $1 FOR UPDATE`, n).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return rotation.Errorf(rotation.ENOTFOUND, "There is no run %s", id)
		}
		if err != nil {
			return err
		}
		r, err := decodeRun(raw, id)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return passed{err}
		}
		body, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE runs SET state = $2, is_open = $3, run = $4 WHERE id = $1`,
			n, string(r.State), !r.State.Final(), body)
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "23505" {
			return rotation.Errorf(rotation.ECONFLICT, "%s has another open run: %s cannot be reopened", r.Secret, id)
		}
		if err != nil {
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

// ListRetired returns the runs of secret that retired their old token, newest
// first (read whole: PostgreSQL serves a team of a few workers, whose history a
// scan reads quickly).
func (s *Store) ListRetired(ctx context.Context, secret string) ([]*rotation.Run, error) {
	runs, err := s.ListRuns(ctx, rotation.RunFilter{Secret: secret})
	if err != nil {
		return nil, err
	}
	out := runs[:0]
	for _, r := range runs {
		if r.Retires() {
			out = append(out, r)
		}
	}
	return out, nil
}

// ListRuns returns runs newest first.
func (s *Store) ListRuns(ctx context.Context, f rotation.RunFilter) ([]*rotation.Run, error) {
	// The query is built per filter, not one query with "$1 = '' OR …", so each
	// shape gets a plan that uses its index.
	q := `SELECT id, run FROM runs`
	var where []string
	var args []any
	if f.Secret != "" {
		args = append(args, f.Secret)
		where = append(where, "secret = $"+strconv.Itoa(len(args)))
	}
	if f.OpenOnly {
		where = append(where, "is_open")
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += " LIMIT $" + strconv.Itoa(len(args))
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "listing runs")
	}
	defer rows.Close()
	var out []*rotation.Run
	for rows.Next() {
		var n int64
		var raw []byte
		if err := rows.Scan(&n, &raw); err != nil {
			return nil, s.fail(err, "listing runs")
		}
		r, err := decodeRun(raw, runID(n))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "listing runs")
	}
	return out, nil
}

// AppendAudit stores an audit entry once per run and action: appending the same
// run's entry again (a resumed run, or a second process) changes nothing.
func (s *Store) AppendAudit(ctx context.Context, e rotation.AuditEntry) error {
	e.Seq = 0
	body, err := json.Marshal(e)
	if err != nil {
		return rotation.Wrap(rotation.EINTERNAL, err, "the audit entry of %s cannot be stored", e.RunID)
	}
	// NOT EXISTS spares an identity number when the entry is there already; ON
	// CONFLICT settles two processes appending at the same moment.
	_, err = s.pool.Exec(ctx, `
INSERT INTO audit (run_id, action, secret, at, entry)
SELECT $1::text, $2::text, $3::text, $4::timestamptz, $5::jsonb
WHERE NOT EXISTS (SELECT 1 FROM audit WHERE run_id = $1::text AND action = $2::text)
ON CONFLICT (run_id, action) DO NOTHING`, e.RunID, string(e.Action), e.Secret, e.At, body)
	if err != nil {
		return s.fail(err, "writing the audit entry of "+e.RunID)
	}
	return nil
}

// ListAudit returns audit entries newest first, for one secret or all ("").
func (s *Store) ListAudit(ctx context.Context, secret string, limit int) ([]rotation.AuditEntry, error) {
	q := `SELECT seq, entry FROM audit`
	var args []any
	if secret != "" {
		args = append(args, secret)
		q += " WHERE secret = $1"
	}
	q += " ORDER BY seq DESC"
	if limit > 0 {
		args = append(args, limit)
		q += " LIMIT $" + strconv.Itoa(len(args))
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "reading the audit trail")
	}
	defer rows.Close()
	var out []rotation.AuditEntry
	for rows.Next() {
		var seq int64
		var raw []byte
		if err := rows.Scan(&seq, &raw); err != nil {
			return nil, s.fail(err, "reading the audit trail")
		}
		var e rotation.AuditEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, rotation.Wrap(rotation.EINTERNAL, err, "audit entry %d is unreadable", seq)
		}
		e.Seq = uint64(seq)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "reading the audit trail")
	}
	return out, nil
}

// PutExpiry stores what is known of a secret's current token.
func (s *Store) PutExpiry(ctx context.Context, rec rotation.ExpiryRecord) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return rotation.Wrap(rotation.EINTERNAL, err, "the expiry record of %s cannot be stored", rec.Secret)
	}
	_, err = s.pool.Exec(ctx, `
INSERT INTO expiry (secret, record) VALUES ($1, $2)
ON CONFLICT (secret) DO UPDATE SET record = EXCLUDED.record`, rec.Secret, body)
	if err != nil {
		return s.fail(err, "storing the expiry of "+rec.Secret)
	}
	return nil
}

// UpdateExpiry loads the records of secrets, lets fn decide and stores what it
// returns, in one transaction. The transaction first locks the expiry table
// against writes (SHARE ROW EXCLUSIVE: readers go on, PutExpiry and another
// UpdateExpiry wait), so no record fn decided on, nor one it saw missing, is
// written by another process before this one commits. When fn returns nothing,
// the transaction writes nothing.
func (s *Store) UpdateExpiry(ctx context.Context, secrets []string, fn func(map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error)) error {
	return s.tx(ctx, "changing the expiry records", func(tx pgx.Tx) error {
		return updateRecords(ctx, tx, recordTable{name: "expiry", key: "secret", what: "the expiry record of"}, secrets,
			func(r rotation.ExpiryRecord) string { return r.Secret }, fn)
	})
}

// GetExpiry returns the expiry record of a secret.
func (s *Store) GetExpiry(ctx context.Context, secret string) (rotation.ExpiryRecord, bool, error) {
	var rec rotation.ExpiryRecord
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT record FROM expiry WHERE secret = $1`, secret).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, s.fail(err, "reading the expiry of "+secret)
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, false, rotation.Wrap(rotation.EINTERNAL, err, "the expiry record of %s is unreadable", secret)
	}
	return rec, true, nil
}

// ListExpiry returns every expiry record, by secret name (byte order, as bbolt).
func (s *Store) ListExpiry(ctx context.Context) ([]rotation.ExpiryRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT record FROM expiry ORDER BY secret COLLATE "C"`)
	if err != nil {
		return nil, s.fail(err, "listing expiry records")
	}
	defer rows.Close()
	var out []rotation.ExpiryRecord
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, s.fail(err, "listing expiry records")
		}
		var rec rotation.ExpiryRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, rotation.Wrap(rotation.EINTERNAL, err, "an expiry record is unreadable")
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "listing expiry records")
	}
	return out, nil
}

// MarkEnvelope records a handled Slack envelope id, and its content key when the
// id is new (rotation.EnvelopeStore). Slack may hand one envelope to either of
// two processes (or both, redelivered): the primary key lets exactly one of them
// insert the id, and only that one marks the key, in the same transaction. Ids
// older than rotation.EnvelopeTTL are forgotten first.
func (s *Store) MarkEnvelope(ctx context.Context, id, key string, at time.Time) (idSeen, keySeen bool, err error) {
	if id == "" {
		return false, false, fmt.Errorf("store: empty envelope id")
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM envelopes WHERE seen_at < $1`, at.Add(-rotation.EnvelopeTTL)); err != nil {
		return false, false, s.fail(err, "forgetting old envelopes")
	}
	insert := `INSERT INTO envelopes (id, seen_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`
	if key == "" {
		tag, err := s.pool.Exec(ctx, insert, id, at)
		if err != nil {
			return false, false, s.fail(err, "recording an envelope")
		}
		return tag.RowsAffected() == 0, false, nil
	}
	err = s.tx(ctx, "recording an envelope", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insert, id, at)
		if err != nil {
			return err
		}
		if idSeen = tag.RowsAffected() == 0; idSeen {
			return nil
		}
		tag, err = tx.Exec(ctx, insert, key, at)
		keySeen = err == nil && tag.RowsAffected() == 0
		return err
	})
	if err != nil {
		return false, false, err
	}
	return idSeen, keySeen, nil
}

// ClaimRun gives owner the run until now+ttl, unless another owner's claim holds:
// one statement takes a free run, renews owner's own claim, or takes over an
// expired one. A concurrent claim of the same run waits on the row and then
// sees the winner's claim. Times are the callers' clocks: processes sharing a
// database need clocks in step to well within the ttl (NTP does that).
func (s *Store) ClaimRun(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
INSERT INTO run_claims (run_id, owner, until) VALUES ($1, $2, $3)
ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
WHERE run_claims.owner = EXCLUDED.owner OR run_claims.until <= $4`, id, owner, now.Add(ttl), now)
	if err != nil {
		return false, s.fail(err, "claiming run "+id)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseRun drops owner's claim on the run.
func (s *Store) ReleaseRun(ctx context.Context, id, owner string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM run_claims WHERE run_id = $1 AND owner = $2`, id, owner); err != nil {
		return s.fail(err, "releasing run "+id)
	}
	return nil
}

// ListDrift returns every drift record, by key (byte order, as bbolt).
func (s *Store) ListDrift(ctx context.Context) ([]drift.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, record FROM drift ORDER BY key COLLATE "C"`)
	if err != nil {
		return nil, s.fail(err, "listing drift records")
	}
	defer rows.Close()
	var out []drift.Record
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return nil, s.fail(err, "listing drift records")
		}
		var rec drift.Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, rotation.Wrap(rotation.EINTERNAL, err, "the drift record %s is unreadable", key)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "listing drift records")
	}
	return out, nil
}

// UpdateDrift loads the drift records of keys, lets fn decide and stores what it
// returns, in one transaction that first locks the drift table against writes
// (SHARE ROW EXCLUSIVE: readers go on, another UpdateDrift waits), so no record
// fn decided on, nor one it saw missing, is written by another process before
// this one commits. When fn returns nothing, the transaction writes nothing.
func (s *Store) UpdateDrift(ctx context.Context, keys []string, fn func(map[string]drift.Record) ([]drift.Record, error)) error {
	return s.tx(ctx, "changing the drift records", func(tx pgx.Tx) error {
		return updateRecords(ctx, tx, recordTable{name: "drift", key: "key", what: "the drift record"}, keys,
			func(r drift.Record) string { return r.Key }, fn)
	})
}

// recordTable is a table of JSON records by key (expiry, drift): its name, its
// key column, and how its records are named in errors. The names are this
// package's constants, never input.
type recordTable struct{ name, key, what string }

// updateRecords is UpdateExpiry's and UpdateDrift's one transaction body: it
// locks table against writes (SHARE ROW EXCLUSIVE: readers go on, another
// writer waits), reads the records of keys, lets fn decide, and upserts what fn
// returns (only records of keys; nothing when fn returns nothing).
func updateRecords[T any](ctx context.Context, tx pgx.Tx, t recordTable, keys []string, keyOf func(T) string, fn func(map[string]T) ([]T, error)) error {
	if _, err := tx.Exec(ctx, `LOCK TABLE `+t.name+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT `+t.key+`, record FROM `+t.name+` WHERE `+t.key+` = ANY($1)`, keys)
	if err != nil {
		return err
	}
	stored := make(map[string]T, len(keys))
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			rows.Close()
			return err
		}
		var rec T
		if err := json.Unmarshal(raw, &rec); err != nil {
			rows.Close()
			return rotation.Wrap(rotation.EINTERNAL, err, "%s %s is unreadable", t.what, key)
		}
		stored[key] = rec
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	recs, err := fn(stored)
	if err != nil {
		return passed{err}
	}
	asked := make(map[string]bool, len(keys))
	for _, key := range keys {
		asked[key] = true
	}
	var batch pgx.Batch
	for _, rec := range recs {
		key := keyOf(rec)
		if !asked[key] {
			return rotation.Errorf(rotation.EINTERNAL, "%s %s was not asked for: it is not written", t.what, key)
		}
		body, err := json.Marshal(rec)
		if err != nil {
			return rotation.Wrap(rotation.EINTERNAL, err, "%s %s cannot be stored", t.what, key)
		}
		batch.Queue(`
INSERT INTO `+t.name+` (`+t.key+`, record) VALUES ($1, $2)
ON CONFLICT (`+t.key+`) DO UPDATE SET record = EXCLUDED.record`, key, body)
	}
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &batch).Close()
}
