package rotation

import (
	"context"
	"time"
)

// VaultRef names one secret in the vault.
type VaultRef struct {
	Environment string
	Path        string
	Key         string
}

// VaultValue is a secret's value and the version it was read at.
type VaultValue struct {
	Value   Secret
	Version int
}

// Vault is where secrets live (Infisical). A missing secret is ENOTFOUND.
type Vault interface {
	// Read returns the current value and its version.
	Read(ctx context.Context, ref VaultRef) (VaultValue, error)
	// ReadVersion returns the value as it was at version.
	ReadVersion(ctx context.Context, ref VaultRef, version int) (Secret, error)
	// Write sets the value, creating the secret if needed, and returns the new version.
	Write(ctx context.Context, ref VaultRef, value Secret) (int, error)
	// Delete removes the secret; a missing secret is not an error.
	Delete(ctx context.Context, ref VaultRef) error
}

// TokenChecker asks GitHub about a token.
type TokenChecker interface {
	// Check calls GET /user with the token. A refused token is EUNAUTHORIZED.
	Check(ctx context.Context, token Secret) (TokenInfo, error)
	// Probe calls the workload probe path with the token and wants a 2xx. When
	// the probe answers otherwise (or its path is not one), the error carries
	// ErrProbe and its message names the probe.
	Probe(ctx context.Context, token Secret, path string) error
}

// Consumer sets a secret's value on one kind of destination.
type Consumer interface {
	// Set writes value under name on target (an app, a repo).
	Set(ctx context.Context, target, name string, value Secret) error
	// Verify checks that target holds value under name, written at or after since,
	// as far as the API allows reading back.
	Verify(ctx context.Context, target, name string, value Secret, since time.Time) error
}

// Revoker revokes a GitHub token (POST /credentials/revoke).
type Revoker interface {
	Revoke(ctx context.Context, token Secret) error
}

// HTTPChecker performs one verify: entry of the routing matrix.
type HTTPChecker interface {
	CheckHTTP(ctx context.Context, check VerifyCheck) error
}

// OperatorAction is what a shell-rc operator is asked to do.
type OperatorAction string

const (
	OperatorUpdate OperatorAction = "update" // pull the new value from the vault
	OperatorRevert OperatorAction = "revert" // the run was rolled back: pull the old value
)

// Notifier tells people what happened. The engine calls it after each change; a
// failing notifier is logged and does not stop the run, except for operator DMs,
// which are destinations of their own.
type Notifier interface {
	// RunChanged is called after every persisted change of run; note is a line for
	// the card's thread ("" for none). It returns where the run's card is now —
	// the first call posts it, and the engine records the reference it returns —
	// or the zero CardRef when the run has no card (a CLI run). A reference is
	// returned with an error too when the card was posted but the rest failed.
	// It must not change run.
	RunChanged(ctx context.Context, run *Run, note string) (CardRef, error)
	// AskOperator sends a shell-rc operator a DM (never the token).
	AskOperator(ctx context.Context, run *Run, operator string, action OperatorAction) error
	// Audited publishes an audit entry (the audit channel).
	Audited(ctx context.Context, run *Run, entry AuditEntry) error
}

// RunFilter selects runs to list.
type RunFilter struct {
	Secret   string // "" for every secret
	OpenOnly bool
	Limit    int // 0: no limit
}

// Store keeps runs, audit entries, expiry records and processed envelope ids.
type Store interface {
	// CreateRun stores a new run and gives it an id. If the secret already has an
	// open run, it returns an ECONFLICT *Error and that run.
	CreateRun(ctx context.Context, run *Run) (*Run, error)
	GetRun(ctx context.Context, id string) (*Run, error)
	// UpdateRun loads the run, calls fn and saves the result in one transaction;
	// fn's error aborts the change and is returned.
	UpdateRun(ctx context.Context, id string, fn func(*Run) error) (*Run, error)
	// ListRuns returns runs newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)

	AppendAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, secret string, limit int) ([]AuditEntry, error)

	PutExpiry(ctx context.Context, rec ExpiryRecord) error
	GetExpiry(ctx context.Context, secret string) (ExpiryRecord, bool, error)
	ListExpiry(ctx context.Context) ([]ExpiryRecord, error)
	// UpdateExpiry loads the stored records of secrets (those with none are not in
	// the map), calls fn and stores the records fn returns, in one transaction that
	// no other write of expiry records interleaves with: fn decides on the records
	// as they are now. fn returns only records of secrets; when it returns none,
	// nothing is written (no disk sync). fn's error aborts and is returned.
	UpdateExpiry(ctx context.Context, secrets []string, fn func(stored map[string]ExpiryRecord) ([]ExpiryRecord, error)) error

	// ListDrift returns every drift record, by key.
	ListDrift(ctx context.Context) ([]DriftRecord, error)
	// UpdateDrift loads the stored drift records of keys (those with none are
	// not in the map), calls fn and stores the records fn returns, in one
	// transaction no other write of drift records interleaves with. fn returns
	// only records of keys; when it returns none, nothing is written. fn's error
	// aborts and is returned.
	UpdateDrift(ctx context.Context, keys []string, fn func(stored map[string]DriftRecord) ([]DriftRecord, error)) error

	// MarkEnvelope records a processed Slack envelope id and reports whether it
	// was already recorded.
	MarkEnvelope(ctx context.Context, id string, at time.Time) (seen bool, err error)

	// ClaimRun lets owner carry run id on until now+ttl. It reports false when
	// another owner holds a claim that has not expired; the same owner renews.
	// Two bot processes on one database use it so a run's step runs in one.
	ClaimRun(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseRun gives up owner's claim on run id.
	ReleaseRun(ctx context.Context, id, owner string) error
}
