package rotation

import "time"

// WallNow is the process's wall clock: the default Now of every part of rotabot
// that reads the date (the engine, the drift and reminder loops, the handlers, the
// bot) and of the stand-ins. It is time.Now, except in a build with the clockshift
// tag, where it runs ROTABOT_CLOCK_SHIFT (a Go duration) ahead of it: CI runs the
// suite a second time that way, a year ahead, so a test whose fixture carries a
// fixed date that the wall clock will pass fails today rather than on that date.
// Durations measured on one clock (deadlines, elapsed time) keep using time.Now
// and time.Since; only the date moves.
func WallNow() time.Time {
	if clockShift == 0 {
		return time.Now()
	}
	return time.Now().Add(clockShift)
}
