package rotation

// PausePoint and its values name the engine's pause points for the tests of
// package rotation_test.
type PausePoint = pausePoint

const (
	PauseVerified    = pauseVerified
	PauseMatch       = pauseMatch
	PauseMatchDone   = pauseMatchDone
	PauseRevoke      = pauseRevoke
	PauseRevokeCheck = pauseRevokeCheck
)

// SetPause makes e call fn at each of its pause points. Call it before e runs
// anything.
func SetPause(e *Engine, fn func(PausePoint)) { e.pauseAt = fn }
