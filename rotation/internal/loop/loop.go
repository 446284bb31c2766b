// Package loop is the mechanics the background services (rotation/drift,
// rotation/expiry) share: the Start/Stop of a loop that runs in one goroutine,
// and a bounded fan-out. What a pass does, and the claim that makes two
// processes take turns (rotation.HoldClaim), are theirs and the engine's; this
// package knows nothing of runs, secrets or stores: standard library only.
package loop

import (
	"context"
	"sync"
)

// Background is the Start/Close mechanics of a loop that runs in one goroutine
// until it is closed (the reminder and drift loops): Start runs it once, however
// often it is called; Stop cancels it and waits for the pass in hand to end. The
// zero value is ready to use.
type Background struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start runs run(ctx) in a goroutine of its own, unless one was started already.
func (b *Background) Start(ctx context.Context, run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	b.mu.Lock()
	if b.cancel != nil {
		b.mu.Unlock()
		cancel()
		return // already running
	}
	b.cancel = cancel
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		run(ctx)
	}()
}

// Stop cancels the goroutine and waits for it to return.
func (b *Background) Stop() {
	b.mu.Lock()
	cancel := b.cancel
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	b.wg.Wait()
}

// Parallel calls fn(0) … fn(n-1), at most limit at a time, and returns when all
// are done (or, once ctx ends, those started are).
func Parallel(ctx context.Context, limit, n int, fn func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}
