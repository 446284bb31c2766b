package rotation

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// The store, split by what each part keeps, so each consumer takes only what it
// uses: the engine runs, audit entries, expiry records and claims
// (EngineStore); the drift check drift records (rotation/drift); the reminder
// loop expiry records (rotation/expiry); the bot handled envelopes. A store
// (store/bbolt, store/postgres) implements them all (Store), and one contract
// suite (store/storetest) holds each to it.

// RunStore keeps runs.
type RunStore interface {
	// CreateRun stores a new run and gives it an id. If the secret already has an
	// open run, it returns an ECONFLICT *Error and that run.
	CreateRun(ctx context.Context, run *Run) (*Run, error)
	GetRun(ctx context.Context, id string) (*Run, error)
	// UpdateRun loads the run, calls fn and saves the result in one transaction;
	// fn's error aborts the change and is returned. A store may call fn more
	// than once (its transaction run again): fn changes only the run it is
	// given and sets anything else it reports afresh each time.
	UpdateRun(ctx context.Context, id string, fn func(*Run) error) (*Run, error)
	// ListRuns returns runs newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)
	// ListRetired returns the runs of secret that retired their old token
	// (Run.Retires), newest first, each with at least what RetiredBy reads.
	ListRetired(ctx context.Context, secret string) ([]*Run, error)
}

// AuditStore keeps audit entries, once per run and action.
type AuditStore interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, secret string, limit int) ([]AuditEntry, error)
}

// ExpiryStore keeps what is known of each secret's current token's expiry.
type ExpiryStore interface {
	PutExpiry(ctx context.Context, rec ExpiryRecord) error
	GetExpiry(ctx context.Context, secret string) (ExpiryRecord, bool, error)
	ListExpiry(ctx context.Context) ([]ExpiryRecord, error)
	// UpdateExpiry loads the stored records of secrets (those with none are not in
	// the map), calls fn and stores the records fn returns, in one transaction that
	// no other write of expiry records interleaves with: fn decides on the records
	// as they are now. fn returns only records of secrets; when it returns none,
	// nothing is written (no disk sync). fn's error aborts and is returned.
	UpdateExpiry(ctx context.Context, secrets []string, fn func(stored map[string]ExpiryRecord) ([]ExpiryRecord, error)) error
}

// ClaimStore keeps claims: two bot processes on one database use them so a
// run's step, a log watch, a write outside a run or a background pass runs in
// one of them (HoldClaim).
type ClaimStore interface {
	// ClaimRun lets owner carry run id on until now+ttl. It reports false when
	// another owner holds a claim that has not expired; the same owner renews.
	ClaimRun(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseRun gives up owner's claim on run id.
	ReleaseRun(ctx context.Context, id, owner string) error
}

// EnvelopeStore remembers handled Slack envelopes.
type EnvelopeStore interface {
	// MarkEnvelope records a handled Slack envelope: its id, and, when the id is
	// new and key is not "", its content key (the trigger or event id a
	// redelivery keeps), in one transaction. It reports whether the id was
	// recorded already, and whether key was (false when the id was). A store
	// one process owns may keep the marks in memory until its next write, or a
	// moment later, and write them in that write's transaction: no change made
	// after a mark is stored without it.
	MarkEnvelope(ctx context.Context, id, key string, at time.Time) (idSeen, keySeen bool, err error)
}

// Store is every part: what a store implements.
type Store interface {
	RunStore
	AuditStore
	ExpiryStore
	ClaimStore
	EnvelopeStore
}

// EngineStore is what the engine keeps: runs, their audit entries, what a run
// learns of its token's expiry, and its claims.
type EngineStore interface {
	RunStore
	AuditStore
	ExpiryStore
	ClaimStore
}

// What every Store shares, whatever keeps its data: how runs are numbered and how
// long a handled envelope id is remembered. The stores and their contract suite
// read these, so a second store cannot drift from the first.

// EnvelopeTTL is how long a Store remembers a handled Slack envelope id
// (MarkEnvelope). Slack redelivers within minutes; an hour is ample.
const EnvelopeTTL = time.Hour

// RunID is the id of run number n: 42 is "r42". Stores number runs from 1.
func RunID(n uint64) string { return "r" + strconv.FormatUint(n, 10) }

// ParseRunID turns "r42" into 42. Anything else is ENOTFOUND with a message that
// shows what a run id looks like.
func ParseRunID(id string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(id, "r"), 10, 64)
	if err != nil || !strings.HasPrefix(id, "r") || n == 0 {
		return 0, Errorf(ENOTFOUND, "%q is not a run id: run ids look like r42", id)
	}
	return n, nil
}
