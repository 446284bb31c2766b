package rotation

import (
	"context"
	"fmt"
)

// Mint is step 2 for a kind rotabot mints (a Heroku key), on Generate when the
// run's own try right after pre-check failed: its Minter makes the new value where
// a person would paste one, and accept validates it and holds it pending.
func (e *Engine) Mint(ctx context.Context, id, user string) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.Store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	return e.mint(ctx, r, user)
}

// mint records the minted value's id on the run before anything else, and
// deletes a value accept refuses. A failure leaves the run at generate, saying why.
func (e *Engine) mint(ctx context.Context, r *Run, user string) (*Run, error) {
	m := e.Minters[r.TokenKind]
	sc, err := e.Matrix.Secret(r.Secret)
	if _, nerr := Next(r.State, EvSubmit); nerr != nil {
		return r, nerr
	} else if m == nil {
		err = Errorf(EINTERNAL, "no minter for %s is configured", r.TokenKind)
	}
	cur, _ := e.refs(r)
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	var vv VaultValue
	if err == nil {
		vv, err = e.Vault.Read(cctx, cur)
	}
	if err == nil && !r.IsOld(vv.Value) {
		err = Errorf(EINVALID, "Infisical's %s changed since pre-check: Cancel, and start a new run", r.Secret)
	}
	var made Minted
	if err == nil {
		desc := fmt.Sprintf("rotabot: %s, %s (run %s)", r.Secret, e.now().Format("2006-01-02"), r.ID)
		made, err = m.Mint(cctx, MintRequest{Current: vv.Value, Scopes: sc.Scopes, Description: desc})
	}
	if err == nil {
		var nr *Run
		if nr, err = e.update(ctx, r.ID, func(x *Run) error { x.MintedRef = made.Ref; return nil }); err == nil {
			if nr, err = e.accept(ctx, nr, sc, user, made.Value, made.Text+", `"+made.Value.Fingerprint()+"`"); err == nil {
				return nr, nil
			}
		}
		if derr := e.discardMinted(context.WithoutCancel(ctx), &Run{Secret: r.Secret, TokenKind: r.TokenKind, MintedRef: made.Ref}); derr != nil {
			err = Errorf(ErrorCode(err), "%s; %s", ErrorMessage(err), ErrorMessage(derr))
		}
	}
	notice := fmt.Sprintf("Could not make the new %s: %s — press Generate new key to try again, or Cancel", r.Secret, ErrorMessage(err))
	if crashed(ctx, err) {
		return r, err
	}
	if xr, uerr := e.update(context.WithoutCancel(ctx), r.ID, func(x *Run) error { x.Notice = notice; return nil }); uerr == nil {
		r = xr
		e.notify(ctx, r, notice)
	}
	return r, err
}

// discardMinted deletes the value the run minted once nothing is to use it (a
// refusal, a cancel, a rollback).
func (e *Engine) discardMinted(ctx context.Context, r *Run) error {
	if m := e.Minters[r.TokenKind]; m != nil && r.MintedRef != "" {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		if err := m.Discard(cctx, r.MintedRef); err != nil {
			return Wrap(ErrorCode(err), err, "Could not delete the new %s at %s: %s", r.Secret, r.TokenKind.Service(), ErrorMessage(err))
		}
	}
	return nil
}
