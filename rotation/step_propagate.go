package rotation

import (
	"context"
	"fmt"
	"time"
)

// Step 5, propagate: the new value set on every destination of the run,
// through the guarded write path.

// propagate is step 5: set the new value on every destination not yet written, in
// parallel, through the guarded write path. A failing one does not stop the others.
func (e *Engine) propagate(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepPropagate)
	todo := func(d Destination) bool {
		return d.State == DestPending || d.State == DestWriting || d.State == DestFailed
	}
	var errs []error
	var uerr error // the record could not be written: the step stops, not fails
	werr := e.WriteValue(ctx, e.runWrite(r, todo), func(ctx context.Context, _ Secret, set Setter) error {
		// Record the writes as in flight first: a crash now redoes exactly these.
		nr, err := e.update(ctx, r.ID, func(x *Run) error {
			for i := range x.Destinations {
				d := &x.Destinations[i]
				if !todo(*d) {
					continue
				}
				to, err := NextDest(d.State, DestEvWrite)
				if err != nil {
					return err
				}
				d.State = to
				d.Attempts++
			}
			return nil
		})
		if err != nil {
			uerr = err
			return err
		}
		r = nr
		e.notify(ctx, r, "")
		errs = e.forEachDest(ctx, r, func(d Destination) bool { return d.State == DestWriting },
			func(cctx context.Context, d Destination) (DestEvent, *Restart, error) {
				if d.Kind == DestShellRC {
					if e.Notifier == nil {
						return "", nil, Errorf(EINTERNAL, "no way to message %s", d.Target)
					}
					return DestEvAsked, nil, e.Notifier.AskOperator(cctx, r, d.Target, OperatorUpdate)
				}
				// A target that restarts: the release this write makes is newer
				// than the newest one before it (noted at the store step, or by
				// the write before this one; read now when neither is known).
				rs, err := e.releaseBefore(cctx, d)
				if err != nil {
					return "", nil, err
				}
				if err := set(cctx, d); err != nil {
					return "", nil, err
				}
				if rs != nil {
					rs.Since = e.now()
				}
				return DestEvWritten, rs, nil
			})
		return nil
	})
	switch {
	case uerr != nil:
		return r, uerr
	case werr != nil:
		return e.fail(ctx, r, EvPropagateFail, StepPropagate, werr)
	}
	r, stop, err := e.settle(ctx, r, errs, EvPropagateFail, StepPropagate, hintPropagate)
	if stop {
		return r, err
	}
	nr, err := e.transition(ctx, r.ID, EvPropagated, func(x *Run) error {
		now := e.now()
		x.Notice, x.RetryAt = "", time.Time{}
		x.stepEnd(StepPropagate, StepDone, "", fmt.Sprintf("%d destinations set", len(x.Destinations)), now)
		x.stepStart(StepVerify, "", now)
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, "Propagated to every destination")
	return nr, nil
}

// releaseBefore is the Restart a write on d starts from: the newest release
// known before it — noted at the store step, or the release of the write before
// (a retry) — or read now when neither is known. nil when d's kind does not
// restart.
func (e *Engine) releaseBefore(ctx context.Context, d Destination) (*Restart, error) {
	rel, ok := e.Releasers[d.Kind]
	if !ok {
		return nil, nil
	}
	if d.Restart != nil {
		return &Restart{Before: max(d.Restart.Before, d.Restart.Release), Phase: RestartReleasing}, nil
	}
	latest, err := rel.LatestRelease(ctx, d.Target)
	if err != nil {
		return nil, err
	}
	return &Restart{Before: latest.Version, Phase: RestartReleasing}, nil
}

// runWrite is the write of a run's new value to the destinations todo picks.
func (e *Engine) runWrite(r *Run, todo func(Destination) bool) WriteRequest {
	cur, _ := e.refs(r)
	w := WriteRequest{Secret: r.Secret, Run: r, Ref: cur, Version: r.NewVaultVersion, Login: r.Login, By: r.Requester, ApprovedBy: r.Approver}
	for _, d := range r.Destinations {
		if todo(d) {
			w.Dests = append(w.Dests, d)
		}
	}
	return w
}
