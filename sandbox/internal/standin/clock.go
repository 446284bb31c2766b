package standin

import (
	"time"

	"github.com/raxx-app/rotabot/internal/wallclock"
)

// WallNow is the stand-ins' wall clock, the default of every stand-in's SetNow:
// the same clock as the bot's (internal/wallclock), moved with it by a
// clockshift build, so that no fixture depends on the date it runs.
func WallNow() time.Time { return wallclock.Now() }
