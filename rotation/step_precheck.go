package rotation

import (
	"context"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
)

// Step 1, pre-check: what the current token is, before anything changes.

// precheck is step 1: read the current value, ask GitHub who it is.
func (e *Engine) precheck(ctx context.Context, r *Run) (*Run, error) {
	r = e.announceStep(ctx, r, StepPrecheck)
	cur, _ := e.refs(r)
	var vv VaultValue
	var info TokenInfo
	dead := false
	err := e.withUnavailable(ctx, r, "Infisical or GitHub unavailable", func(cctx context.Context) error {
		var err error
		if vv, err = e.Vault.Read(cctx, cur); err != nil {
			return err
		}
		info, err = CheckAs(cctx, e.Checker, r.TokenKind, vv.Value)
		if ErrorCode(err) == EUNAUTHORIZED {
			// The current token is dead: exactly when a rotation is most
			// urgent. Go on; the approver is told what could not be checked.
			dead, err = true, nil
		}
		return err
	})
	if err != nil {
		return e.fail(ctx, r, EvPrecheckFail, StepPrecheck, err)
	}
	var warnings []string
	msg := ""
	if dead {
		last, found, _ := e.Store.GetExpiry(ctx, r.Secret)
		info = TokenInfo{Login: last.Login, Kind: r.TokenKind}
		msg = r.TokenKind.Service() + " refuses the current token (401): it is expired or revoked, and production may already be failing — make the new token now"
		warnings = append(warnings, "The current token was already refused by "+r.TokenKind.Service()+" (401) at pre-check")
		if !found || last.Login == "" {
			warnings = append(warnings, "The current token's login is unknown: check that the new token belongs to the right account")
		}
		e.recordExpiry(ctx, r.Secret, vv.Value.Fingerprint(), TokenInfo{Login: last.Login, Kind: r.TokenKind, ExpiresAt: last.ExpiresAt}, r.TokenKind.Service()+" refuses the current token (401)")
	} else {
		e.recordExpiry(ctx, r.Secret, vv.Value.Fingerprint(), info, "")
		msg = validatedMessage(info)
	}
	if !dead && info.Kind == FineGrained && info.Repos >= 0 {
		msg += ", sees " + words.Plural(info.Repos, "repository", "repositories")
	}
	if !dead && info.Kind == Classic && len(info.Scopes) > 0 {
		msg += ", scopes " + strings.Join(info.Scopes, ", ")
	}
	nr, err := e.transition(ctx, r.ID, EvPrecheckOK, func(x *Run) error {
		now := e.now()
		x.Login, x.OldExpiry, x.VaultVersionBefore = info.Login, info.ExpiresAt, vv.Version
		if err := e.ensureDigestKey(x); err != nil {
			return err
		}
		x.OldFingerprint, x.OldDigest = vv.Value.Fingerprint(), x.DigestOf(vv.Value)
		x.Warnings = warnings
		x.Notice, x.RetryAt = "", time.Time{}
		x.stepEnd(StepPrecheck, StepDone, "", msg, now)
		x.stepStart(StepGenerate, "", now)
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, nr, "Pre-check: "+msg)
	if nr.TokenKind.Minted() { // no paste: the run makes and checks the new value now
		nr, _ = e.mint(ctx, nr, "")
	}
	return nr, nil
}
