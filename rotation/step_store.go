package rotation

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Step 4, store: the approved value, pending in the vault, becomes the
// current one.

// store is step 4: promote the pending value to the current one. Values are
// compared by the run's digest (never the 8-hex fingerprint, which can be
// collided), and the pending value's shape is checked again before it is
// promoted. Re-run after a crash, it sees the promotion already done by the
// current value's digest.
func (e *Engine) store(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepStore)
	cur, pend := e.refs(r)
	version := 0
	// Meanwhile, each Heroku app's newest release: the one each write makes
	// will be newer, so verify can tell it (read here, off the writes' path).
	befores := e.releasesBefore(ctx, r)
	err := e.withUnavailable(ctx, r, "Infisical unavailable", func(cctx context.Context) error {
		now, err := e.Vault.Read(cctx, cur)
		if err != nil {
			return err
		}
		if r.IsNew(now.Value) {
			version = now.Version // promoted before a crash
		} else {
			p, err := e.Vault.Read(cctx, pend)
			if err != nil {
				if ErrorCode(err) == ENOTFOUND {
					return Errorf(EINVALID, "The pending value is gone from Infisical: press Rollback, and start a new run")
				}
				return err
			}
			if !r.IsNew(p.Value) {
				return Errorf(EINVALID, "The pending value in Infisical is not the token that was approved: Rollback and start a new run")
			}
			if _, err := ShapeOf(p.Value.Reveal()); err != nil {
				return Errorf(EINVALID, "The pending value in Infisical is not a %s token (%s): Rollback and start a new run", r.TokenKind.Service(), ErrorMessage(err))
			}
			if version, err = e.Vault.Write(cctx, cur, p.Value); err != nil {
				return err
			}
		}
		return e.Vault.Delete(cctx, pend)
	})
	before := <-befores
	if err != nil {
		return e.fail(ctx, r, EvStoreFail, StepStore, err)
	}
	nr, err := e.transition(ctx, r.ID, EvStored, func(x *Run) error {
		now := e.now()
		for i, v := range before {
			x.Destinations[i].Restart = &Restart{Before: v, Phase: RestartReleasing}
		}
		x.NewVaultVersion = version
		x.Notice, x.RetryAt = "", time.Time{}
		x.stepEnd(StepStore, StepDone, "", fmt.Sprintf("Infisical %s%s is now version %d (was %d)", cur.Path, cur.Key, version, r.VaultVersionBefore), now)
		x.stepStart(StepPropagate, "", now)
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, fmt.Sprintf("Stored in Infisical as version %d", version))
	return nr, nil
}

// releasesBefore reads, in parallel, the newest release of every destination
// that restarts and has none noted yet; the channel gets them by destination
// once all have answered. One that cannot be read is left out (propagate reads
// it before its write).
func (e *Engine) releasesBefore(ctx context.Context, r *Run) <-chan map[int]int {
	out := make(chan map[int]int, 1)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		vs = map[int]int{}
	)
	for i, d := range r.Destinations {
		rel, ok := e.Releasers[d.Kind]
		if !ok || d.Restart != nil || d.State != DestPending {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := e.callCtx(ctx)
			defer cancel()
			if latest, err := rel.LatestRelease(cctx, d.Target); err == nil {
				mu.Lock()
				vs[i] = latest.Version
				mu.Unlock()
			}
		}()
	}
	go func() {
		wg.Wait()
		out <- vs
	}()
	return out
}
