package rotation

import (
	"crypto/subtle"
	"encoding/hex"
	"maps"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
)

// StepName names a step of a run. The values are stored and logged: never
// rename one.
type StepName string

// Step names, in the SOP's order. Approval sits between validate and store.
const (
	StepPrecheck  StepName = "pre-check"
	StepGenerate  StepName = "generate"
	StepValidate  StepName = "validate"
	StepApproval  StepName = "approval"
	StepStore     StepName = "store"
	StepPropagate StepName = "propagate"
	StepVerify    StepName = "verify"
	StepRevoke    StepName = "revoke"
	StepAudit     StepName = "audit"
)

// What a run that leaves the SOP is doing (logs, failures); they are not in a
// run's Steps.
const (
	StepRollback StepName = "rollback"
	StepCancel   StepName = "cancel"
	StepAbandon  StepName = "abandon"
)

// StepNames lists the steps in order.
var StepNames = []StepName{StepPrecheck, StepGenerate, StepValidate, StepApproval,
	StepStore, StepPropagate, StepVerify, StepRevoke, StepAudit}

// RevokeMethod is how the old token was revoked. The values are stored and
// written in audit entries.
type RevokeMethod string

const (
	RevokeAPI    RevokeMethod = "api"    // the bot sent it to GitHub's revoke endpoint
	RevokeManual RevokeMethod = "manual" // an operator deleted it in GitHub's settings
)

// AuditAction is what an audit entry records.
type AuditAction string

// StepState is what people see for a step.
type StepState string

const (
	StepPending StepState = "pending"
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
	StepSkipped StepState = "skipped"
)

// Method says how a run was started.
type Method string

const (
	MethodSlack Method = "slack"
	MethodCLI   Method = "cli"
)

// DestKind is the kind of place a secret's value is set.
type DestKind string

const (
	DestHeroku       DestKind = "heroku"        // a Heroku app's config var
	DestGitHubSecret DestKind = "github_secret" // a GitHub Actions repository secret
	DestShellRC      DestKind = "shell_rc"      // an operator's shell rc, by DM
	// DestGitHubEnvSecret is a GitHub Actions environment secret: the target is
	// owner/repo/ENVIRONMENT (the environment's name may hold spaces and slashes).
	DestGitHubEnvSecret DestKind = "github_env_secret"
	// DestGitHubOrgSecret is a GitHub Actions organisation secret: the target is
	// the organisation. Its visibility and repositories are never changed.
	DestGitHubOrgSecret DestKind = "github_org_secret"
	// DestDependabotSecret is a Dependabot secret: the target is owner/repo (a
	// repository secret) or an organisation (an organisation secret).
	DestDependabotSecret DestKind = "dependabot_secret"
)

// GitHubKinds are the destination kinds GitHub keeps a sealed copy of, each
// readable only by name and date.
var GitHubKinds = []DestKind{DestGitHubSecret, DestGitHubEnvSecret, DestGitHubOrgSecret, DestDependabotSecret}

// IsGitHub reports whether k is one of GitHubKinds.
func (k DestKind) IsGitHub() bool {
	for _, g := range GitHubKinds {
		if k == g {
			return true
		}
	}
	return false
}

// MatrixKey is the consumers key of the routing matrix that names destinations
// of kind k ("github_environment_secrets").
func (k DestKind) MatrixKey() string {
	switch k {
	case DestHeroku:
		return "heroku_apps"
	case DestGitHubSecret:
		return "github_secrets"
	case DestGitHubEnvSecret:
		return "github_environment_secrets"
	case DestGitHubOrgSecret:
		return "github_org_secrets"
	case DestDependabotSecret:
		return "dependabot_secrets"
	case DestShellRC:
		return "shell_rc_operators"
	}
	return string(k)
}

// Word names the platform of a destination kind for people: "Heroku".
func (k DestKind) Word() string {
	switch k {
	case DestHeroku:
		return "Heroku"
	case DestGitHubSecret:
		return "GitHub Actions"
	case DestGitHubEnvSecret:
		return "GitHub environment"
	case DestGitHubOrgSecret:
		return "GitHub organisation"
	case DestDependabotSecret:
		return "Dependabot"
	}
	return string(k)
}

// Run is one rotation of one secret. It never holds a token value: only
// fingerprints, and vault versions to find values again.
type Run struct {
	ID        string    `json:"id"`
	Secret    string    `json:"secret"`
	Method    Method    `json:"method"`
	State     State     `json:"state"`
	Requester string    `json:"requester"`
	Submitter string    `json:"submitter,omitempty"`
	Approver  string    `json:"approver,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`

	Steps        []StepRecord  `json:"steps"`
	Destinations []Destination `json:"destinations"`

	TokenKind TokenKind `json:"token_kind,omitempty"`
	Login     string    `json:"login,omitempty"`
	OldExpiry time.Time `json:"old_expiry,omitzero"`
	NewExpiry time.Time `json:"new_expiry,omitzero"`
	// OldFingerprint and NewFingerprint are for people (8 hex of SHA-256): they
	// tell tokens apart on a card, never decide anything.
	OldFingerprint string `json:"old_fingerprint,omitempty"`
	NewFingerprint string `json:"new_fingerprint,omitempty"`
	// OldDigest and NewDigest are HMAC-SHA256 of the old and new value under the
	// run's DigestKey (hex): every comparison of a value the run reads back (the
	// pending value, the version to promote, rollback's old version, revoke's old
	// value, the read-backs) uses them. 32 bits of fingerprint can be collided by
	// anyone who may write the pending folder; 256 bits cannot.
	OldDigest string `json:"old_digest,omitempty"`
	NewDigest string `json:"new_digest,omitempty"`
	// DigestKey is the run's own random HMAC key (hex), made when the run starts.
	DigestKey string `json:"digest_key,omitempty"`
	// VaultVersionBefore is the vault version that was current before the run
	// (rollback reads the old value with it).
	VaultVersionBefore int `json:"vault_version_before,omitempty"`
	// NewVaultVersion is the version the store step wrote.
	NewVaultVersion int `json:"new_vault_version,omitempty"`
	// VaultPath overrides the matrix's vault path (CLI --vault-path).
	VaultPath string `json:"vault_path,omitempty"`
	// Warnings are shown to the approver (classic scopes broader than configured).
	Warnings []string `json:"warnings,omitempty"`
	// Notice is the latest line for people: why a step waits or failed.
	Notice string `json:"notice,omitempty"`
	// StartReason says why rotabot started the run by itself ("" for a person's).
	StartReason string `json:"start_reason,omitempty"`
	// RetryAt is when the bot retries a step that waits on an outside service.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// RevokeMethod is how the old token was revoked.
	RevokeMethod RevokeMethod `json:"revoke_method,omitempty"`
	// RevokeAttempted is set, in the transaction that starts step 7 (either
	// revoke button), before the old token goes to GitHub's revoke endpoint and
	// before the 401 check: from then on rollback is impossible, whatever GitHub
	// answers, since the old token may be dead.
	RevokeAttempted bool `json:"revoke_attempted,omitempty"`
	// RevokeSent is set with RevokeAttempted when the revoke goes through GitHub's
	// revoke endpoint (the request may go out from then on): the card no longer
	// offers it, and a later check sends it again.
	RevokeSent bool `json:"revoke_sent,omitempty"`
	// RolledBackBy is who pressed Rollback.
	RolledBackBy string `json:"rolled_back_by,omitempty"`
	// AbandonedBy, AbandonReason and AbandonedFrom are who gave the run up, why,
	// and the state it was in then.
	AbandonedBy   string `json:"abandoned_by,omitempty"`
	AbandonReason string `json:"abandon_reason,omitempty"`
	AbandonedFrom State  `json:"abandoned_from,omitempty"`
	// Dropped are destinations a CLI retry no longer named: left as they were.
	Dropped []Destination `json:"dropped,omitempty"`
	// Card is where the run's Slack card lives; the engine only carries it.
	Card CardRef `json:"card,omitzero"`
	// OldHolders is what the scan at the end of verify found: apps and
	// variables outside the run's destinations that hold the old token (names
	// only), nil when no scan was made.
	OldHolders *Discovery `json:"old_holders,omitempty"`
	// RestoredVaultVersion is the vault version a rollback left current (the
	// old value, written again or found there).
	RestoredVaultVersion int `json:"restored_vault_version,omitempty"`
	// MintedRef is the service's id of the value this run minted (Minter):
	// a cancel or a rollback deletes it.
	MintedRef string `json:"minted_ref,omitempty"`
}

// CardRef locates the run's card in the chat layer.
type CardRef struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
}

// StepRecord is one SOP step of a run.
type StepRecord struct {
	Name     StepName  `json:"name"`
	State    StepState `json:"state"`
	Actor    string    `json:"actor,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Message  string    `json:"message,omitempty"`
	// Until is the latest an automatic step may end, said when it starts, and
	// Budget how that is worked out (its rounds of calls, tries and timeouts).
	Until  time.Time `json:"until,omitzero"`
	Budget string    `json:"budget,omitempty"`
}

// Destination is one place the new value is set.
type Destination struct {
	Kind   DestKind `json:"kind"`
	Target string   `json:"target"` // app name, owner/repo, or Slack user id
	// Name is the variable at the destination (config var, Actions secret) when it
	// is not the secret's own name.
	Name      string    `json:"name,omitempty"`
	State     DestState `json:"state"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Written   time.Time `json:"written,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
	// MaybeWritten is set when a write failed in a way that may still have taken
	// effect (a timeout, a 5xx): rollback restores such a destination too.
	MaybeWritten bool `json:"maybe_written,omitempty"`
	// Actor is who confirmed a shell-rc destination.
	Actor string `json:"actor,omitempty"`
	// Restart is the release a write made on a target that restarts (a Heroku
	// app) and how far the restart onto it got; nil for other kinds.
	Restart *Restart `json:"restart,omitempty"`
	// Watch is the log watch of a target that restarted onto the new value.
	Watch *Watch `json:"watch,omitempty"`
	// From is the CLI flag that named it instead of the routing matrix
	// (FromAppsFlag, FromGHSecretFlag), "" for the matrix.
	From string `json:"from,omitempty"`
}

// Same reports whether d and o are the same place: kind, target and variable.
func (d Destination) Same(o Destination) bool {
	return d.Kind == o.Kind && d.Target == o.Target && d.Name == o.Name
}

// Origin says where the destination was named, for a message about it.
func (d Destination) Origin() string {
	switch {
	case d.From != "":
		return d.Target + " came from " + d.From + ", not the routing matrix"
	case d.Kind == DestHeroku:
		return d.Target + " is in heroku_apps of the routing matrix"
	case d.Kind != DestShellRC:
		return d.Target + " is in " + d.Kind.MatrixKey() + " of the routing matrix"
	}
	return d.Target + " is in the routing matrix"
}

// fromText says where the destination was named, in brackets after its label.
func (d Destination) fromText() string {
	if d.From != "" {
		return "from " + d.From
	}
	return "from the routing matrix"
}

// Holds says what the destination holds as last recorded, for a person.
func (d Destination) Holds() string {
	switch d.State {
	case DestPending:
		return "never written: it holds the old value"
	case DestWriting:
		return "a write was in flight: it may hold either value"
	case DestWritten, DestVerified, DestDone:
		return "written: it holds the new value"
	case DestReverted:
		return "set back to the old value"
	case DestFailed:
		if d.MaybeWritten || !d.Written.IsZero() {
			return "its write failed, but may have landed: it may hold the new value"
		}
		return "never written: it holds the old value"
	}
	return string(d.State)
}

// Restart phases: what a restarting target is doing now.
const (
	RestartReleasing  = "releasing"  // the release is pending (the release phase runs)
	RestartRestarting = "restarting" // the release succeeded; dynos are coming up on it
	RestartUp         = "up"         // every dyno runs the release and is up
	RestartNoDynos    = "no_dynos"   // scaled to zero: nothing to restart
	RestartFailed     = "failed"     // the release failed, or a wait ran out
)

// Restart is the release a write made and the restart onto it.
type Restart struct {
	// Before is the target's newest release before the write; the write's own
	// release is the newest one after it.
	Before int `json:"before"`
	// Release is the version the write made (0 until found), or the newest
	// one when the write made none (NoRelease: the app held the value already).
	Release int `json:"release,omitempty"`
	// Created is when the platform made the release (its clock): the log watch
	// reads lines from then on.
	Created   time.Time `json:"created,omitzero"`
	NoRelease bool      `json:"no_release,omitempty"`
	Phase     string    `json:"phase"`
	// Up and Dynos count the dynos up on the release and those that serve the
	// target, at the last look.
	Up    int `json:"up,omitempty"`
	Dynos int `json:"dynos,omitempty"`
	// Crashed names dynos that crashed on the release.
	Crashed []string `json:"crashed,omitempty"`
	// Since is when the wait for the release began, Released when it was seen
	// succeeded (the wait for the dynos is bounded from there), and Done when
	// the target was seen up.
	Since    time.Time `json:"since,omitzero"`
	Released time.Time `json:"released,omitzero"`
	Done     time.Time `json:"done,omitzero"`
}

// Watch states.
const (
	WatchWatching  = "watching"  // reading the log until Until
	WatchClean     = "clean"     // the window passed without a match
	WatchMatched   = "matched"   // a line matched: the destination failed
	WatchUnwatched = "unwatched" // the log could not be read: a warning, not a failure
	WatchStopped   = "stopped"   // the run moved on before the window passed
)

// Watch is the log watch of one restarted target (SOP step 6: tail the logs for
// GitHub authentication errors).
type Watch struct {
	State string `json:"state"`
	// From is the time of the first line that counts (the release's creation).
	From time.Time `json:"from,omitzero"`
	// Since is when the watch began: the target was up on the release.
	Since time.Time `json:"since,omitzero"`
	// Until is when the window ends; Checked when the watch last looked.
	Until   time.Time `json:"until,omitzero"`
	Checked time.Time `json:"checked,omitzero"`
	// Read is set once the log stream has been opened.
	Read bool `json:"read,omitempty"`
	// Match is the line that matched, with anything token-shaped masked.
	Match string `json:"match,omitempty"`
	// Warning says why the log could not be read (never the session's URL).
	Warning string `json:"warning,omitempty"`
}

// Watching lists the targets whose logs are still being watched.
func (r *Run) Watching() []string {
	var out []string
	for _, d := range r.Destinations {
		if d.Watch != nil && d.Watch.State == WatchWatching {
			out = append(out, d.Target)
		}
	}
	return out
}

// VarName is the name the value is set under at the destination.
func (d Destination) VarName(secret string) string {
	if d.Name != "" {
		return d.Name
	}
	return secret
}

// Label names a destination for people.
func (d Destination) Label() string {
	named := ""
	if d.Name != "" {
		named = " (" + d.Name + ")"
	}
	switch d.Kind {
	case DestHeroku:
		return "Heroku " + d.Target + named
	case DestGitHubSecret:
		return "GitHub Actions " + d.Target + named
	case DestGitHubEnvSecret:
		repo, env := SplitEnvTarget(d.Target)
		return "GitHub environment secret " + repo + " · " + env + " · " + d.Name
	case DestGitHubOrgSecret:
		return "GitHub organisation secret " + d.Target + " · " + d.Name
	case DestDependabotSecret:
		if strings.Contains(d.Target, "/") {
			return "Dependabot secret " + d.Target + " · " + d.Name
		}
		return "Dependabot organisation secret " + d.Target + " · " + d.Name
	case DestShellRC:
		return "shell rc of " + OperatorName(d.Target)
	}
	return string(d.Kind) + " " + d.Target
}

// SplitEnvTarget splits an environment secret's target, owner/repo/ENVIRONMENT,
// into the repository and the environment (everything after the second slash).
func SplitEnvTarget(target string) (repo, env string) {
	owner, rest, _ := strings.Cut(target, "/")
	name, env, _ := strings.Cut(rest, "/")
	return owner + "/" + name, env
}

// OperatorName names a shell-rc operator for people: a mention of a user id, or
// the DM channel the routing matrix gives instead.
func OperatorName(target string) string {
	if m := words.Mention(target); m != target {
		return m
	}
	return "the operator of DM " + target
}

// PlainLabel is Label without chat formatting, for a terminal or a code block.
func (d Destination) PlainLabel() string { return d.PlainLabelNamed(nil) }

// PlainLabelNamed is PlainLabel with people named by names (user id → "@olga"),
// where a mention cannot show a name.
func (d Destination) PlainLabelNamed(names map[string]string) string {
	if d.Kind == DestShellRC {
		return "shell rc of " + PlainOperatorName(d.Target, names)
	}
	return d.Label()
}

// PlainOperatorName names a shell-rc operator in plain text: by the name names
// gives (user id → "@olga"), else as "Slack user U…", or by the DM channel the
// routing matrix gives instead of a user.
func PlainOperatorName(target string, names map[string]string) string {
	if n := names[target]; n != "" {
		return n
	}
	if m := words.Mention(target); m != target {
		return "Slack user " + target
	}
	return "the operator of DM " + target
}

// What a failed step's message says to do while its run can still do it.
const (
	hintPropagate = "Retry sets only the failed ones"
	hintVerify    = "Retry verifies again; Rollback restores the old token"
)

// endStepsRolledBack ends the steps of a run that has been rolled back: a failed
// step stays failed, without the advice to Retry that its card no longer offers;
// the audit step is done (the rollback wrote its record); what never ran is
// skipped.
func (r *Run) endStepsRolledBack(now time.Time) {
	for i := range r.Steps {
		s := &r.Steps[i]
		switch {
		case s.Name == StepAudit:
			s.State, s.Message, s.Until, s.Budget = StepDone, string(ActionRolledBack), time.Time{}, ""
			if s.Started.IsZero() {
				s.Started = now
			}
			s.Finished = now
		case s.State == StepFailed:
			for _, h := range []string{hintPropagate, hintVerify} {
				s.Message = strings.TrimSuffix(s.Message, " "+h)
			}
			s.Message = strings.TrimSuffix(s.Message, ".") + ". Rolled back instead of retried."
		case s.State == StepPending || s.State == StepRunning:
			s.State, s.Finished = StepSkipped, now
		}
	}
}

// Step returns the record of the named step.
func (r *Run) Step(name StepName) *StepRecord {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// Can reports whether ev may happen to the run now: the transition table allows
// it from the run's state and, for a rollback, no revoke of the old token was
// attempted (there is no way back from that). The engine refuses what Can
// refuses, and the card draws a button only for what it allows.
func (r *Run) Can(ev Event) bool {
	if !r.State.Allowed(ev) {
		return false
	}
	return ev != EvRollback || !(r.RevokeAttempted || r.RevokeSent)
}

// DigestOf is v's digest as this run keeps it (HMAC-SHA256 under DigestKey, hex);
// "" when the run has no key (recorded by an older rotabot).
func (r *Run) DigestOf(v Secret) string {
	key, err := hex.DecodeString(r.DigestKey)
	if err != nil || len(key) == 0 {
		return ""
	}
	return v.keyedDigest(key)
}

// IsNew reports whether v is the value this run stored, by digest. A run recorded
// before digests were kept falls back to the fingerprint.
func (r *Run) IsNew(v Secret) bool { return r.matches(v, r.NewDigest, r.NewFingerprint) }

// IsOld reports whether v is the value this run replaced.
func (r *Run) IsOld(v Secret) bool { return r.matches(v, r.OldDigest, r.OldFingerprint) }

func (r *Run) matches(v Secret, digest, fingerprint string) bool {
	if digest != "" {
		got := r.DigestOf(v)
		return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(digest)) == 1
	}
	return fingerprint != "" && v.Fingerprint() == fingerprint
}

// Open reports whether the run is not finished.
func (r *Run) Open() bool { return !r.State.Final() }

// PendingOperators lists shell-rc operators who have not pressed Done.
func (r *Run) PendingOperators() []string {
	var out []string
	for _, d := range r.Destinations {
		if d.Kind == DestShellRC && d.State == DestWaiting {
			out = append(out, d.Target)
		}
	}
	return out
}

// AuditEntry is what step 8 (or a rollback) writes.
type AuditEntry struct {
	Seq            uint64       `json:"seq,omitempty"`
	Action         AuditAction  `json:"action"`
	At             time.Time    `json:"at"`
	RunID          string       `json:"run"`
	Secret         string       `json:"secret"`
	Actor          string       `json:"actor"`
	Approver       string       `json:"approver,omitempty"`
	TokenKind      TokenKind    `json:"token_kind,omitempty"`
	Method         Method       `json:"method"`
	RevokeMethod   RevokeMethod `json:"revoke_method,omitempty"`
	Destinations   []DestResult `json:"destinations"`
	OldExpiry      time.Time    `json:"old_expiry,omitzero"`
	NewExpiry      time.Time    `json:"new_expiry,omitzero"`
	OldFingerprint string       `json:"old_fingerprint,omitempty"`
	NewFingerprint string       `json:"new_fingerprint,omitempty"`
	// Reason, FromState and Leaves record an abandoned run: why, in which state
	// it was given up, and what it left where.
	Reason    string   `json:"reason,omitempty"`
	FromState State    `json:"from_state,omitempty"`
	Leaves    []string `json:"leaves,omitempty"`
}

// Audit actions.
const (
	ActionCompleted  AuditAction = "secret.rotate.completed"
	ActionRolledBack AuditAction = "secret.rotate.rolled_back"
	ActionAbandoned  AuditAction = "secret.rotate.abandoned"
	// ActionDriftRepaired is the audit action of a drift repair (rotation/drift).
	ActionDriftRepaired AuditAction = "secret.drift.repaired"
	// ActionAutoStarted: rotabot started the run by itself (auto_start_days).
	ActionAutoStarted AuditAction = "secret.rotate.auto_started"
)

// DestResult is one destination's outcome in an audit entry.
type DestResult struct {
	Destination string `json:"destination"`
	Result      string `json:"result"`
}

// ExpiryRecord is what is known of a secret's current token's expiry.
type ExpiryRecord struct {
	Secret      string    `json:"secret"`
	Fingerprint string    `json:"fingerprint"`
	Login       string    `json:"login,omitempty"`
	Kind        TokenKind `json:"kind,omitempty"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"` // zero: never expires
	CheckedAt   time.Time `json:"checked_at"`
	// Problem is set when the token could not be checked or was refused.
	Problem string `json:"problem,omitempty"`
	// Sent records reminders already sent: by threshold key ("14d", "expired",
	// "no-expiry", "broken"), and per place as KEY@OWNER or KEY@channel.
	Sent map[string]time.Time `json:"sent,omitempty"`
	// Created is when the token was made, for max_age: the service's word or
	// when a run of rotabot validated it. When neither is known it is when
	// rotabot first saw the token, and CreatedUnknown is set: it is at least that old.
	Created        time.Time `json:"created,omitzero"`
	CreatedUnknown bool      `json:"created_unknown,omitempty"`
}

// sameAs reports whether rec and b say the same of a token, when it was last
// checked aside.
func (rec ExpiryRecord) sameAs(b ExpiryRecord) bool {
	return rec.Secret == b.Secret && rec.Fingerprint == b.Fingerprint && rec.Login == b.Login && rec.Kind == b.Kind &&
		rec.ExpiresAt.Equal(b.ExpiresAt) && rec.Problem == b.Problem &&
		rec.Created.Equal(b.Created) && rec.CreatedUnknown == b.CreatedUnknown &&
		maps.EqualFunc(rec.Sent, b.Sent, time.Time.Equal)
}

// ExpiryRefresh is how old the stored CheckedAt of an expiry record that did
// not change may get before it is written again. The reminder loop keeps the
// exact time in memory; the stored one is what another process, or this one
// after a restart, says during an outage ("last checked …"): at most a day
// behind.
const ExpiryRefresh = 24 * time.Hour

// Stale reports whether rec, the record after a check, must be written over
// prev, the one stored: it says something prev does not, or prev's CheckedAt
// is ExpiryRefresh old. The reminder pass and a run's checks both keep to it.
func (rec ExpiryRecord) Stale(prev ExpiryRecord) bool {
	return !prev.sameAs(rec) || rec.CheckedAt.Sub(prev.CheckedAt) >= ExpiryRefresh
}

// Deadline is when the token is due: its expiry, or its creation plus maxAge
// when that is earlier or it never expires (byAge). Zero: neither is known.
func (rec ExpiryRecord) Deadline(maxAge time.Duration) (at time.Time, byAge bool) {
	if maxAge > 0 && !rec.Created.IsZero() {
		if aged := rec.Created.Add(maxAge); rec.ExpiresAt.IsZero() || aged.Before(rec.ExpiresAt) {
			return aged, true
		}
	}
	return rec.ExpiresAt, false
}

// Rotabot is the requester of a run rotabot started by itself (auto_start_days):
// no person, so any ops member but the token's submitter may approve it.
const Rotabot = "rotabot"
