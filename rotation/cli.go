package rotation

import (
	"context"
	"fmt"
)

// CLIRequest starts a run of the bridge script's job (SOP step 5, option A): the
// new value is already in the vault; propagate it and verify.
type CLIRequest struct {
	Secret    string
	Actor     string
	Overrides Overrides
}

// StartCLI creates a CLI run in the propagate step, or, when the secret's open run
// is an earlier CLI run that failed, retries it. Shell-rc operators are not
// reached from the CLI (Slack may be down): the SUMMARY names them.
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
	cur, _ := e.refs(r)
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	vv, err := e.Vault.Read(cctx, cur)
	if err != nil {
		return nil, err
	}
	kind, err := TokenShape(vv.Value.Reveal())
	if err != nil {
		return nil, Errorf(EINVALID, "The value of %s in Infisical (%s%s) is not a GitHub token: %s", req.Secret, cur.Path, cur.Key, ErrorMessage(err))
	}
	info, err := e.Checker.Check(cctx, vv.Value)
	if err != nil {
		return nil, Wrap(ErrorCode(err), err, "The new value of %s in Infisical: %s", req.Secret, ErrorMessage(err))
	}
	r.TokenKind, r.Login, r.NewExpiry = kind, info.Login, info.ExpiresAt
	r.NewFingerprint, r.NewVaultVersion = vv.Value.Fingerprint(), vv.Version
	if vv.Version > 1 {
		r.VaultVersionBefore = vv.Version - 1
		if old, err := e.Vault.ReadVersion(cctx, cur, vv.Version-1); err == nil {
			r.OldFingerprint = old.Fingerprint()
			if oi, err := e.Checker.Check(cctx, old); err == nil {
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
	created, err := e.Store.CreateRun(ctx, r)
	if err != nil {
		if created != nil && created.Method == MethodCLI && created.State.Failed() {
			if created.NewFingerprint != r.NewFingerprint {
				return created, Errorf(ECONFLICT, "%s has a failed CLI run %s for another value: finish it with rotabot or roll it back first", req.Secret, created.ID)
			}
			return e.Retry(ctx, created.ID, req.Actor)
		}
		return created, err
	}
	e.notify(ctx, created, "")
	return created, nil
}
