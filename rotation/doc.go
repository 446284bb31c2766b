// Package rotation is rotabot's domain: a rotation Run, its steps and destinations,
// the one table of allowed state transitions, the Plan of what a run would touch,
// and the Engine that walks the team's SOP step by step; the one guarded write
// path every value takes to a consumer (Engine.WriteValue, guard.go); the scan
// that finds where a value is held (discover.go); and the drift record
// (driftrecord.go). The background services — the drift check and its repair
// (rotation/drift), the expiry reminders (rotation/expiry) — are packages of
// their own, built on the engine's exported functions.
//
// It declares the small interfaces it needs from the outside world (Vault,
// TokenChecker, Consumer, Revoker, HTTPChecker, Notifier, Store, in
// ports.go; ConfigScanner beside what uses it) and is given implementations by the command (cmd/rotabot); calls go
// one way, from the engine out: a notifier returns where it posted a run's card
// and the engine records it. It must not know about Slack, GitHub, Infisical, Heroku or bbolt: it
// imports no SDK and no other package of this module. A token value only ever
// passes through it inside a Secret, which refuses to print itself, and it is never
// stored on a Run.
package rotation
