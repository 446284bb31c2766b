package rotation

import (
	"os"
	"testing"
	"time"
)

// TestWallNowFollowsTheShift: in an ordinary build WallNow is the machine's clock;
// in a clockshift build (CI's second pass) it runs ROTABOT_CLOCK_SHIFT ahead.
func TestWallNowFollowsTheShift(t *testing.T) {
	var want time.Duration
	if v := os.Getenv("ROTABOT_CLOCK_SHIFT"); v != "" && clockShift != 0 {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		want = d
	}
	before := time.Now()
	got := WallNow()
	after := time.Now()
	if got.Before(before.Add(want)) || got.After(after.Add(want)) {
		t.Errorf("WallNow() = %v, want between %v and %v (shift %v)", got, before.Add(want), after.Add(want), want)
	}
}
