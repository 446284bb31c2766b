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

// StepStarted is the line that says a step started and the most it may take,
// for a test to read what a step recorded; "" when s says nothing of it.
func StepStarted(s StepRecord) string {
	if s.State != StepRunning || s.Until.IsZero() {
		return ""
	}
	return stepStartedText(StepTitle(s.Name), s.Until, s.Budget)
}
