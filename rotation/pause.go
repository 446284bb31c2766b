package rotation

// Pause points are moments where a test holds the engine, to drive another event
// into exactly that moment — a log watch match while verify finishes, or while a
// person's Revoke is in flight — instead of hoping a sleep lands it there. The
// engine calls its pause function at each; production sets none (export_test.go
// gives tests the setter).
type pausePoint string

const (
	// pauseVerified: verify passed every check; its verified transition is next.
	pauseVerified pausePoint = "verify: the verified transition is next"
	// pauseMatch: a log watch has a matching line in hand; its store
	// transaction is next.
	pauseMatch pausePoint = "log watch: the match's transaction is next"
	// pauseMatchDone: a log watch match was handled (recorded, or found
	// nothing left to change).
	pauseMatchDone pausePoint = "log watch: the match was handled"
	// pauseRevoke: the Revoke gesture's transaction is next.
	pauseRevoke pausePoint = "revoke: the gesture's transaction is next"
	// pauseRevokeCheck: the revoke step is about to check that the old token
	// answers 401 (after any request to GitHub's revoke endpoint).
	pauseRevokeCheck pausePoint = "revoke step: the 401 check is next"
)

// pause calls the engine's pause function at p, if one is set.
func (e *Engine) pause(p pausePoint) {
	if e.pauseAt != nil {
		e.pauseAt(p)
	}
}
