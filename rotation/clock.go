package rotation

import (
	"time"

	"github.com/raxx-app/rotabot/internal/wallclock"
)

// WallNow is the process's wall clock (internal/wallclock): the default Now of
// every part of rotabot that reads the date (the engine, the drift and reminder
// loops, the handlers, the bot). A clockshift build moves it, and the stand-ins'
// with it, ROTABOT_CLOCK_SHIFT ahead.
func WallNow() time.Time { return wallclock.Now() }
