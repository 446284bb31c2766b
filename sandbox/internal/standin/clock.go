package standin

import "time"

// WallNow is the stand-ins' wall clock, the default of every stand-in's SetNow:
// time.Now, or in a build with the clockshift tag ROTABOT_CLOCK_SHIFT ahead of it,
// exactly as WallNow moves the bot's (the stand-ins may not import the
// bot's packages, so each side reads the variable; a test checks they agree). CI
// runs the suite a second time that way, a year ahead, so that no fixture depends
// on the date it runs.
func WallNow() time.Time {
	if clockShift == 0 {
		return time.Now()
	}
	return time.Now().Add(clockShift)
}
