package loop

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestBackgroundStartsOnceAndStopWaits(t *testing.T) {
	var b Background
	var runs atomic.Int32
	started := make(chan struct{})
	run := func(ctx context.Context) {
		runs.Add(1)
		close(started)
		<-ctx.Done()
	}
	b.Start(context.Background(), run)
	<-started
	b.Start(context.Background(), run) // already running: nothing more
	b.Stop()
	if n := runs.Load(); n != 1 {
		t.Errorf("run ran %d times, want once", n)
	}
}

func TestParallelCallsEachOnceAtMostLimitAtATime(t *testing.T) {
	var now, most, calls atomic.Int32
	seen := make([]atomic.Int32, 20)
	Parallel(context.Background(), 3, len(seen), func(i int) {
		n := now.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		seen[i].Add(1)
		calls.Add(1)
		now.Add(-1)
	})
	if calls.Load() != 20 {
		t.Errorf("%d calls, want 20", calls.Load())
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Errorf("fn(%d) called %d times", i, seen[i].Load())
		}
	}
	if most.Load() > 3 {
		t.Errorf("%d at once, limit 3", most.Load())
	}
}
