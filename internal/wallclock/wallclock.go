// Package wallclock is the one source of the date for the whole module: the
// bot's (rotation.WallNow) and the stand-ins' (sandbox.WallNow). It is
// time.Now, except in a build with the clockshift tag, where it runs
// ROTABOT_CLOCK_SHIFT (a Go duration) ahead of it: CI runs the suite a second
// time that way, a year ahead, so a test whose fixture carries a fixed date that
// the wall clock will pass fails today rather than on that date. It uses the
// standard library only and knows nothing of rotabot: the domain and the
// stand-ins, which may not import each other, both read it.
package wallclock

import "time"

// Now is the wall clock. Durations measured on one clock (deadlines, elapsed
// time) keep using time.Now and time.Since; only the date moves.
func Now() time.Time {
	if shift == 0 {
		return time.Now()
	}
	return time.Now().Add(shift)
}

// Shift is how far Now runs ahead of time.Now: zero except in a clockshift build.
func Shift() time.Duration { return shift }
