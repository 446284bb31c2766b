package rotation

import (
	"context"
	"sync"
)

// background is the Start/Close mechanics of a loop that runs in one goroutine
// until it is closed (the reminder and drift loops): start runs it once, however
// often it is called; stop cancels it and waits for the pass in hand to end.
type background struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start runs run(ctx) in a goroutine of its own, unless one was started already.
func (b *background) start(ctx context.Context, run func(ctx context.Context)) {
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

// stop cancels the goroutine and waits for it to return.
func (b *background) stop() {
	b.mu.Lock()
	cancel := b.cancel
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	b.wg.Wait()
}
