package drift_test

import (
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// t0 is the drift tests' clock at the start: every time is on a clock the
// test sets.
var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// ok fails the test on an error and passes the run on.
func ok(t *testing.T) func(*rotation.Run, error) *rotation.Run {
	return func(r *rotation.Run, err error) *rotation.Run {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return r
	}
}

// wantState fails the test unless r is in state s.
func wantState(t *testing.T, r *rotation.Run, s rotation.State) {
	t.Helper()
	if r == nil || r.State != s {
		got := rotation.State("<nil>")
		notice := ""
		if r != nil {
			got, notice = r.State, r.Notice
		}
		t.Fatalf("state = %s (%s), want %s", got, notice, s)
	}
}
