// Package rotation is rotabot's domain: a rotation Run, its steps and destinations,
// the one table of allowed state transitions, the Plan of what a run would touch, and
// the Engine that walks the team's SOP step by step — each step's code in a file of
// its own (step_precheck.go … step_rollback.go), its waits beside it; the one guarded
// write path every value takes to a consumer (Engine.WriteValue, guard.go); what a
// log watch's findings mean for a run (logwatch.go); and the records every store
// keeps (runs, audit entries, expiry records; drift records are rotation/drift's).
//
// It declares the small interfaces it needs from the outside world (Vault,
// TokenChecker, Consumer, Revoker, Minter, HTTPChecker, Notifier in ports.go; Releaser,
// LogTailer, LogWatcher, LineMasker in restart.go; HolderFinder and ConfigScanner in
// holders.go; the Store, split by what each part keeps, in store.go) and is given
// implementations by the command (cmd/rotabot): the adapters (rotation/github,
// rotation/infisical, rotation/heroku, rotation/httpcheck), the scan for where a
// value is held (rotation/discover), the log watch's driver (rotation/logwatch) and
// the log-line masking (rotation/mask). The background services — the drift check and
// its repair (rotation/drift), the expiry reminders (rotation/expiry) — are packages
// of their own, built on the engine's exported functions (WriteValue, HoldClaim)
// and on rotation/internal/loop's Background and Parallel. Calls go one way, from the engine out: a notifier returns where it
// posted a run's card and the engine records it.
//
// It must not know about Slack, GitHub, Infisical, Heroku or bbolt: it imports no SDK
// and no other package of this module but the standard-library-only helpers under
// internal/ and rotation/internal/ (deps_test.go holds it to that). A token value only ever passes through it
// inside a Secret, which refuses to print itself, and it is never stored on a Run.
package rotation
