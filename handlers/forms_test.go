package handlers

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
)

// beforeAck answers within the ack's budget when the work is done in time, and
// otherwise hands its outcome over later; a panic in the work is an internal
// error, logged without its value.
func TestBeforeAckAnswersInTimeOrLate(t *testing.T) {
	logs := &strings.Builder{}
	h := New(Config{Matrix: &rotation.Matrix{}, Log: slog.New(slog.NewTextHandler(logs, nil))})
	refused := errors.New("refused")

	// Done in time (the ack's budget is not spent): its error is the answer.
	late, err := h.beforeAck(context.Background(), "work", func() error { return refused })
	if late != nil || err != refused {
		t.Fatalf("in time: late %v, err %v; want the work's error now", late, err)
	}

	// The budget is spent while the work still runs: its outcome comes later.
	spent, cancel := context.WithCancel(context.Background())
	cancel()
	release := make(chan struct{})
	late, err = h.beforeAck(spent, "work", func() error { <-release; return refused })
	if late == nil || err != nil {
		t.Fatalf("late: late %v, err %v; want the outcome handed over", late, err)
	}
	close(release)
	if got := <-late; got != refused {
		t.Errorf("the late outcome is %v, want %v", got, refused)
	}

	// A panic is an internal error; the log names its type, never its value.
	late, err = h.beforeAck(context.Background(), "work", func() error { panic("ghp_the_value_in_hand") })
	if late != nil || rotation.ErrorCode(err) != rotation.EINTERNAL {
		t.Fatalf("panic: late %v, err %v; want an internal error now", late, err)
	}
	if !strings.Contains(logs.String(), "work panicked") || strings.Contains(logs.String(), "ghp_the_value_in_hand") {
		t.Errorf("the panic's log:\n%s", logs)
	}
}
