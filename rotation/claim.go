package rotation

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ProcessOwner names this process in claims: host, pid and start time, then
// suffix (":drift", ":reminders"), so each loop of a process holds claims of
// its own.
func ProcessOwner(suffix string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%d%s", host, os.Getpid(), time.Now().UnixNano(), suffix)
}

// claimHold is a claim this process holds on a run while it carries the run on.
// It travels in the step's context, so every write the step makes can ask
// whether the claim still holds (through context.WithoutCancel too).
type claimHold struct {
	lost atomic.Bool
}

type claimKey struct{}

// errClaimLost is what a write answers once the claim is gone.
var errClaimLost = &Error{Code: ECONFLICT, Err: ErrClaimLost,
	Message: "Another process carries this run on now: this one stopped before writing anything more"}

// claimLost returns errClaimLost when ctx belongs to a step whose claim was lost.
func claimLost(ctx context.Context) error {
	if h, ok := ctx.Value(claimKey{}).(*claimHold); ok && h.lost.Load() {
		return errClaimLost
	}
	return nil
}

// HoldClaim takes the claim id for owner and renews it every third of ttl until
// release is called. It returns the context the step runs under: when a renewal
// says another owner holds the claim now, or fails (the store cannot be asked, or
// does not answer within a third of ttl), the claim is marked lost and that
// context is cancelled (its cause is ErrClaimLost) before anything more is
// written — every write checks the claim first — so a process that lost its claim
// never writes over its new holder. release gives the claim up unless ctx ended
// or the claim was lost (a stopping process leaves its claims to expire, so nobody
// takes over a step it may still finish). ok is false when another owner holds
// the claim.
func HoldClaim(ctx context.Context, st ClaimStore, id, owner string, ttl time.Duration, now func() time.Time, log *slog.Logger) (hctx context.Context, release func(), ok bool, err error) {
	if ok, err := st.ClaimRun(ctx, id, owner, now(), ttl); err != nil || !ok {
		return nil, nil, false, err
	}
	h := &claimHold{}
	sctx, cancel := context.WithCancelCause(context.WithValue(ctx, claimKey{}, h))
	stop := make(chan struct{})
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-sctx.Done():
				return
			case <-t.C:
				rctx, rcancel := context.WithTimeout(sctx, ttl/3)
				ok, err := st.ClaimRun(rctx, id, owner, now(), ttl)
				rcancel()
				if sctx.Err() != nil {
					return
				}
				if err != nil || !ok {
					h.lost.Store(true)
					cancel(ErrClaimLost)
					if err != nil {
						log.Warn("could not renew a claim: stopping the step, the run is left to whoever claims it next", "claim", id, "err", err)
					} else {
						log.Warn("another process holds the run's claim now: stopping the step", "claim", id)
					}
					return
				}
			}
		}
	}()
	return sctx, func() {
		close(stop)
		hb.Wait()
		lost := h.lost.Load()
		cancel(nil)
		if ctx.Err() != nil || lost {
			return
		}
		if err := st.ReleaseRun(context.WithoutCancel(ctx), id, owner); err != nil {
			log.Warn("could not release a claim", "claim", id, "err", err)
		}
	}, true, nil
}
