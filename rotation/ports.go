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

// Minter makes the new value of a kind rotabot mints (TokenKind.Minted: a Heroku
// key) where a person pastes a PAT's (Submit): the one port for making the new
// value. The value goes to the vault's pending folder only. Discard deletes a
// credential it made that nothing is to use (a cancel, a rollback, a refusal);
// one already gone is no error.
type Minter interface {
	Mint(ctx context.Context, req MintRequest) (Minted, error)
	Discard(ctx context.Context, ref string) error
}

// MintRequest asks for a credential of Current's account with Scopes (none: Current's).
type MintRequest struct {
	Current     Secret
	Scopes      []string
	Description string
}

// Minted is a value made, the service's id of it (Ref: what Discard takes), and Text for people.
type Minted struct {
	Value     Secret
	Ref, Text string
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
