//go:build clockshift

package wallclock

import (
	"fmt"
	"os"
	"time"
)

// shift moves Now ahead by ROTABOT_CLOCK_SHIFT in a clockshift build (the tests'
// second pass in CI, and the binary those tests build); it is read once, at
// start, and never changed.
var shift = readShift()

func readShift() time.Duration {
	v := os.Getenv("ROTABOT_CLOCK_SHIFT")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		panic(fmt.Sprintf("ROTABOT_CLOCK_SHIFT=%q is not a Go duration (e.g. 8784h): %v", v, err))
	}
	return d
}
