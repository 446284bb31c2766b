package rotation

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// defaultOwner names this process in claims: host, pid and start time.
func defaultOwner(suffix string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%d%s", host, os.Getpid(), time.Now().UnixNano(), suffix)
}

// holdClaim takes the claim id for owner and renews it every third of ttl until
// release is called; release gives it up unless ctx ended (a stopping process
// leaves its claims to expire, so nobody takes over a step it may still finish).
// ok is false when another owner holds the claim.
func holdClaim(ctx context.Context, st Store, id, owner string, ttl time.Duration, now func() time.Time, log *slog.Logger) (release func(), ok bool, err error) {
	if ok, err := st.ClaimRun(ctx, id, owner, now(), ttl); err != nil || !ok {
		return nil, false, err
	}
	hctx, stop := context.WithCancel(ctx)
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				if _, err := st.ClaimRun(hctx, id, owner, now(), ttl); err != nil && hctx.Err() == nil {
					log.Warn("could not renew a claim", "claim", id, "err", err)
				}
			}
		}
	}()
	return func() {
		stop()
		hb.Wait()
		if ctx.Err() != nil {
			return
		}
		if err := st.ReleaseRun(context.WithoutCancel(ctx), id, owner); err != nil {
			log.Warn("could not release a claim", "claim", id, "err", err)
		}
	}, true, nil
}
