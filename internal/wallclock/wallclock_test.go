package wallclock

import (
	"os"
	"testing"
	"time"
)

// TestNowFollowsTheShift: in an ordinary build Now is the machine's clock; in a
// clockshift build (CI's second pass) it runs ROTABOT_CLOCK_SHIFT ahead.
func TestNowFollowsTheShift(t *testing.T) {
	var want time.Duration
	if v := os.Getenv("ROTABOT_CLOCK_SHIFT"); v != "" && shift != 0 {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		want = d
	}
	if Shift() != want {
		t.Errorf("Shift() = %v, want %v", Shift(), want)
	}
	before := time.Now()
	got := Now()
	after := time.Now()
	if got.Before(before.Add(want)) || got.After(after.Add(want)) {
		t.Errorf("Now() = %v, want between %v and %v (shift %v)", got, before.Add(want), after.Add(want), want)
	}
}
