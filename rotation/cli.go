package rotation

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
)

// CLIRequest starts a run of the bridge script's job (SOP step 5, option A): the
// new value is already in the vault; propagate it and verify.
type CLIRequest struct {
	Secret    string
	Actor     string
	Overrides Overrides
}

// StartCLI creates a CLI run in the propagate step, or carries on the secret's
// open CLI run (carryOnCLI). Shell-rc operators are not reached from the CLI
// (Slack may be down): the SUMMARY names them.
func (e *Engine) StartCLI(ctx context.Context, req CLIRequest) (*Run, error) {
	sc, err := e.Matrix.Secret(req.Secret)
	if err != nil {
		return nil, err
	}
	now := e.now()
	r := &Run{Secret: req.Secret, Method: MethodCLI, State: StatePropagating, Requester: req.Actor,
		Created: now, Updated: now, Steps: newSteps(), TokenKind: sc.Kind, VaultPath: req.Overrides.VaultPath}
	for _, d := range destinations(sc, req.Overrides) {
		if d.Kind != DestShellRC {
			r.Destinations = append(r.Destinations, d)
		}
	}
	if r.DigestKey, err = e.newDigestKey(); err != nil {
		return nil, err
	}
	cur, _ := e.refs(r)
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	vv, err := e.Vault.Read(cctx, cur)
	if err != nil {
		return nil, err
	}
	// The value is checked with the guarded write path's rules before the run
	// is made: the run's propagate checks it again before writing.
	w := WriteRequest{Secret: req.Secret, Ref: cur, Version: vv.Version, Dests: r.Destinations, By: req.Actor,
		Hint: "put a brand-new token in Infisical first (the SOP's generate step), then run rotabot rotate again"}
	if err := checkDests(sc, w); err != nil {
		return nil, err
	}
	info, err := e.checkToken(cctx, sc, w, vv.Value)
	if err != nil {
		return nil, err
	}
	kind, _ := ShapeOf(vv.Value.Reveal())
	r.TokenKind, r.Login, r.NewExpiry = kind, info.Login, info.ExpiresAt
	r.NewFingerprint, r.NewDigest, r.NewVaultVersion = vv.Value.Fingerprint(), r.DigestOf(vv.Value), vv.Version
	if vv.Version > 1 {
		r.VaultVersionBefore = vv.Version - 1
		if old, err := e.Vault.ReadVersion(cctx, cur, vv.Version-1); err == nil {
			r.OldFingerprint, r.OldDigest = old.Fingerprint(), r.DigestOf(old)
			if oi, err := CheckAs(cctx, e.Checker, kind, old); err == nil {
				r.OldExpiry = oi.ExpiresAt
			}
		}
	}
	r.stepEnd(StepPrecheck, StepDone, req.Actor, validatedMessage(info), now)
	for _, s := range []StepName{StepGenerate, StepValidate, StepApproval} {
		r.stepEnd(s, StepSkipped, "", "done by hand before the CLI ran", now)
	}
	r.stepEnd(StepStore, StepSkipped, "", fmt.Sprintf("already in Infisical as version %d", vv.Version), now)
	r.stepStart(StepPropagate, "", now)
	_, release, err := e.claimWrite(ctx, req.Secret)
	if err != nil {
		return nil, err
	}
	created, err := e.Store.CreateRun(ctx, r)
	release()
	if err != nil {
		if created == nil || ErrorCode(err) != ECONFLICT {
			return created, err
		}
		return e.carryOnCLI(ctx, created, r, vv.Value, req.Actor)
	}
	e.notify(ctx, created, "")
	return created, nil
}

// carryOnCLI carries on the secret's open run when it is a CLI run of the same
// value from the same vault folder: as it stands when it was interrupted (a crash,
// Ctrl-C), or, when it failed, retried with the destinations named now — by the
// routing matrix and the flags typed this time, not those of the first try. A run
// that means something else is refused with ErrOpenRunDiffers, naming the way out
// (rotabot abandon).
func (e *Engine) carryOnCLI(ctx context.Context, open, want *Run, value Secret, actor string) (*Run, error) {
	differs := func(format string, args ...any) (*Run, error) {
		return open, &Error{Code: ECONFLICT, Err: ErrOpenRunDiffers, Message: fmt.Sprintf("%s already has an open run, %s (%s), %s: finish it, or give it up with rotabot abandon %s --reason \"…\" and run this again",
			open.Secret, open.ID, open.State.Word(), fmt.Sprintf(format, args...), open.ID)}
	}
	switch {
	case open.Method != MethodCLI:
		return differs("started in Slack by %s", words.Mention(open.Requester))
	case !open.IsNew(value): // by the open run's digest, not the 8-hex fingerprint
		return differs("for another value (%s; Infisical now holds %s)", open.NewFingerprint, want.NewFingerprint)
	case open.VaultPath != want.VaultPath:
		return differs("reading the value from %s, not %s", orMatrixPath(open.VaultPath), orMatrixPath(want.VaultPath))
	case open.State.Automatic():
		return open, nil
	case open.State == StatePropagateFailed || open.State == StateVerifyFailed:
		return e.retryCLI(ctx, open.ID, actor, want.Destinations)
	case open.State.Failed():
		if !sameDestinations(open.Destinations, want.Destinations) {
			return differs("past propagation, where its destinations can no longer change")
		}
		return e.Retry(ctx, open.ID, actor)
	}
	return differs("which waits for a person")
}

func orMatrixPath(p string) string {
	if p == "" {
		return "vault.path of the routing matrix"
	}
	return p
}

func sameDestinations(a, b []Destination) bool {
	if len(a) != len(b) {
		return false
	}
	for _, d := range a {
		if !slices.ContainsFunc(b, d.Same) {
			return false
		}
	}
	return true
}

// retryCLI retries a CLI run whose propagation or verification failed, with the
// destinations named now: one no longer named is dropped from the run (left as
// it is, and said so), one newly named is added, those named again keep their
// record — a write recorded as done is not redone.
func (e *Engine) retryCLI(ctx context.Context, id, actor string, want []Destination) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	var notes []string
	r, err := e.transition(ctx, id, EvRetry, func(r *Run) error {
		notes = notes[:0]
		var keep []Destination
		for _, d := range r.Destinations {
			i := slices.IndexFunc(want, d.Same)
			if i < 0 {
				r.Dropped = append(r.Dropped, d)
				notes = append(notes, fmt.Sprintf("Dropped from the run, no longer named: %s (%s) — %s", d.PlainLabel(), d.fromText(), d.Holds()))
				continue
			}
			d.From = want[i].From
			keep = append(keep, d)
		}
		for _, d := range want {
			if !slices.ContainsFunc(keep, d.Same) {
				keep = append(keep, d)
				notes = append(notes, fmt.Sprintf("Added to the run: %s (%s)", d.PlainLabel(), d.fromText()))
			}
		}
		r.Destinations = keep
		r.Notice = fmt.Sprintf("%s retried with the destinations named now", words.Mention(actor))
		if len(notes) == 0 {
			r.Notice = fmt.Sprintf("%s retried; the same destinations", words.Mention(actor))
		}
		r.RetryAt = time.Time{}
		return nil
	})
	if err != nil {
		return r, err
	}
	for _, n := range notes {
		e.notify(ctx, r, n)
	}
	e.notify(ctx, r, r.Notice)
	return r, nil
}
