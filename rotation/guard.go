package rotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
)

// One guarded write path. Every write of a value to a consumer — a run's
// propagate and its retries, a rollback, a drift repair, the CLI's run — goes
// through Engine.WriteValue, and Consumer.Set is called nowhere else. Before
// anything is written it refuses:
//
//   - a value that is not the one the person was shown: inside a run, the
//     value the run recorded (its digest); outside one, the exact vault
//     version the post and its confirm dialog named;
//   - a value that is not a GitHub token of the secret's kind, or that GitHub
//     refuses (401, expired, another login than the secret's) — a rollback
//     keeps its own rule: the old token must still answer;
//   - a token a finished run retired (its old token: runs keep its digest);
//   - a destination no longer in the routing matrix;
//   - outside a run: a write while the secret has an open run (or another
//     write outside a run is under way), and a write to more than one
//     destination that a second ops member did not approve.
//
// A write outside a run holds the secret's write claim (WriteClaim) from its
// first check to its last write; a run is created only under the same claim, so
// a run never starts while a repair writes, and a repair never writes while a
// run is open.

// WriteRequest is one write of a vault value to destinations.
type WriteRequest struct {
	// Secret is the secret's name in the routing matrix.
	Secret string
	// Run is the run that writes; nil for a write outside a run (a drift repair).
	Run *Run
	// Ref is where the value lives in the vault. Version is the version the
	// person was shown: outside a run the current version must be exactly it.
	Ref     VaultRef
	Version int
	// Restore: the value is the one Run replaced, read at Version and written
	// back (a rollback).
	Restore bool
	// Login is the GitHub account the secret's tokens belong to ("": the one
	// rotabot last saw, from the secret's runs or its expiry record).
	Login string
	// Dests are every destination the write may set.
	Dests []Destination
	// By asked for the write; ApprovedBy is the second ops member who approved
	// it (a write outside a run to more than one destination needs one).
	By, ApprovedBy string
	// Hint says what to do when the value is refused ("": what fits a run, a
	// rollback or a write outside a run).
	Hint string
}

// Setter sets the value a WriteValue cleared on one of its destinations.
type Setter func(ctx context.Context, d Destination) error

// WriteClaim is the claim (Store.ClaimRun) on writing secret outside a run: a
// write outside a run holds it throughout, and a run is created under it.
func WriteClaim(secret string) string { return "write:" + secret }

// Refusals of the guarded write path, read with errors.Is.
var (
	// ErrVaultMoved: the vault does not hold the version the person was shown.
	ErrVaultMoved = errors.New("the vault moved on")
	// ErrRetiredToken: the value is a token a finished run retired.
	ErrRetiredToken = errors.New("a retired token")
	// ErrTokenRefused: the value is not a GitHub token of the secret, or GitHub
	// refuses it.
	ErrTokenRefused = errors.New("the token is refused")
	// ErrNotInMatrix: a destination is no longer in the routing matrix.
	ErrNotInMatrix = errors.New("a destination is not in the routing matrix")
	// ErrNeedsApproval: a write outside a run to more than one destination was
	// not approved by a second ops member.
	ErrNeedsApproval = errors.New("a second ops member must approve")
	// ErrWriteBusy: another write outside a run, or a run being created, holds
	// the secret's write claim.
	ErrWriteBusy = errors.New("the secret is being written")
	// ErrRunOpen: the secret has an open run, which sets every destination.
	ErrRunOpen = errors.New("the secret has an open run")
)

// WriteValue checks w and, when every rule passes, calls write with the value
// and the Setter that sets it on w's destinations — the only way a value
// reaches a consumer. With write nil it only checks (nothing is written: a
// repair that waits for approval). A refusal is an *Error that says what was
// wrong and what to do, and nothing was written.
func (e *Engine) WriteValue(ctx context.Context, w WriteRequest, write func(ctx context.Context, value Secret, set Setter) error) error {
	if write != nil && w.Run == nil && len(valueDests(w.Dests)) > 1 && (w.ApprovedBy == "" || w.ApprovedBy == w.By) {
		return &Error{Code: EFORBIDDEN, Err: ErrNeedsApproval, Message: fmt.Sprintf(
			"Writing %s to %d destinations outside a run needs a second ops member's approval: nothing was written", w.Secret, len(valueDests(w.Dests)))}
	}
	if w.Run == nil {
		hctx, release, err := e.holdWrite(ctx, w.Secret)
		if err != nil {
			return err
		}
		defer release()
		ctx = hctx
	}
	value, err := e.clearValue(ctx, w)
	if err != nil || write == nil {
		return err
	}
	hold := ctx
	set := func(sctx context.Context, d Destination) error {
		if claimLost(sctx) != nil || claimLost(hold) != nil {
			return errClaimLost
		}
		if !slices.ContainsFunc(w.Dests, d.Same) {
			return Errorf(EINTERNAL, "%s was not cleared for this write", d.Label())
		}
		c, ok := e.Consumers[d.Kind]
		if !ok {
			return Errorf(EINTERNAL, "no consumer for %s is configured", d.Kind)
		}
		return c.Set(sctx, d.Target, d.VarName(w.Secret), value)
	}
	return write(ctx, value, set)
}

// valueDests are the destinations a value is set on (shell-rc operators are
// told, never sent a value).
func valueDests(ds []Destination) []Destination {
	var out []Destination
	for _, d := range ds {
		if d.Kind != DestShellRC {
			out = append(out, d)
		}
	}
	return out
}

// holdWrite takes the secret's write claim for a write outside a run, and
// refuses while the secret has an open run.
func (e *Engine) holdWrite(ctx context.Context, secret string) (context.Context, func(), error) {
	hctx, release, err := e.claimWrite(ctx, secret)
	if err != nil {
		return nil, nil, err
	}
	open, err := e.Store.ListRuns(hctx, RunFilter{Secret: secret, OpenOnly: true})
	if err == nil && len(open) > 0 {
		err = &Error{Code: ECONFLICT, Err: ErrRunOpen, Message: fmt.Sprintf(
			"%s has an open run, %s (%s): it sets every destination. Finish it first; nothing was changed.", secret, open[0].ID, open[0].State.Word())}
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	return hctx, release, nil
}

// claimStart takes the secret's write claim while a run is created, so no run
// starts while a write outside a run holds it; release it once the run is
// stored. Another process creating a run of the same secret holds the claim for
// a moment only: a busy claim is tried again for up to startClaimWait, and
// whenever the secret has an open run meanwhile (the other start won), the
// refusal comes with that run, as CreateRun's would. A claim still held after
// that is a repair's, which holds it for its whole write.
func (e *Engine) claimStart(ctx context.Context, secret string) (release func(), open *Run, err error) {
	for try := 0; ; try++ {
		_, release, err = e.claimWrite(ctx, secret)
		if err == nil {
			return release, nil, nil
		}
		if !errors.Is(err, ErrWriteBusy) {
			return nil, nil, err
		}
		if runs, lerr := e.Store.ListRuns(ctx, RunFilter{Secret: secret, OpenOnly: true}); lerr == nil && len(runs) > 0 {
			return nil, runs[0], Errorf(ECONFLICT, "%s already has an open run, %s (%s)", secret, runs[0].ID, runs[0].State.Word())
		}
		if time.Duration(try)*startClaimPoll >= startClaimWait {
			break
		}
		if serr := e.Sleep(ctx, startClaimPoll); serr != nil {
			return nil, nil, serr
		}
	}
	return nil, nil, &Error{Code: ECONFLICT, Err: ErrWriteBusy, Message: fmt.Sprintf(
		"%s is being set from Infisical right now (Set it from Infisical on a drift post): nothing was started. Start the run once that is done; its post says when.", secret)}
}

// How long a start waits for a busy write claim that may be another start's.
const (
	startClaimWait = 2 * time.Second
	startClaimPoll = 100 * time.Millisecond
)

// claimWrite takes the secret's write claim, renewed until release. Each hold
// has an owner of its own, so two holds in one process exclude each other too.
func (e *Engine) claimWrite(ctx context.Context, secret string) (context.Context, func(), error) {
	owner := fmt.Sprintf("%s:write:%d", e.Owner, e.holds.Add(1))
	hctx, release, ok, err := HoldClaim(ctx, e.Store, WriteClaim(secret), owner, e.ClaimTTL, e.now, e.Log)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, &Error{Code: ECONFLICT, Err: ErrWriteBusy, Message: fmt.Sprintf(
			"%s is being written right now (Set it from Infisical, or a run starting): nothing was changed. Look again in a moment.", secret)}
	}
	return hctx, release, nil
}

// clearValue reads the value w names and checks it and w's destinations: the
// value, or the refusal. Inside a run, an outside service that is down is
// waited for and shown on the run, as every step does.
func (e *Engine) clearValue(ctx context.Context, w WriteRequest) (Secret, error) {
	sc, err := e.Matrix.Secret(w.Secret)
	if err != nil {
		return Secret{}, err
	}
	if err := checkDests(sc, w); err != nil {
		return Secret{}, err
	}
	var value Secret
	clear := func(cctx context.Context) error {
		v, err := e.readShown(cctx, w)
		if err != nil {
			return err
		}
		if _, err := e.checkToken(cctx, sc, w, v); err != nil {
			return err
		}
		value = v
		return nil
	}
	if w.Run != nil {
		err = e.withUnavailable(ctx, w.Run, "Infisical or GitHub unavailable", clear)
	} else {
		cctx, cancel := e.callCtx(ctx)
		err = clear(cctx)
		cancel()
	}
	return value, err
}

// checkDests refuses destinations no longer in the routing matrix. One a CLI
// flag named for this run (From) is the person's choice, not the matrix's.
func checkDests(sc *SecretConfig, w WriteRequest) error {
	in := destinations(sc, Overrides{})
	var gone []string
	for _, d := range w.Dests {
		if d.From != FromMatrix {
			continue
		}
		if !slices.ContainsFunc(in, func(m Destination) bool {
			return m.Kind == d.Kind && m.Target == d.Target && m.VarName(w.Secret) == d.VarName(w.Secret)
		}) {
			gone = append(gone, d.Label())
		}
	}
	if len(gone) == 0 {
		return nil
	}
	hint := "Put it back in the routing matrix and Retry, or Abandon the run"
	if w.Run == nil {
		hint = "The drift check forgets it at its next pass"
	}
	return &Error{Code: EINVALID, Err: ErrNotInMatrix, Message: fmt.Sprintf("%s %s no longer in the routing matrix of %s: nothing was written. %s.",
		strings.Join(gone, ", "), isAre(len(gone)), w.Secret, hint)}
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// readShown reads the value w names: the run's value (by its digest), the
// version a rollback restores, or, outside a run, exactly the version shown.
func (e *Engine) readShown(ctx context.Context, w WriteRequest) (Secret, error) {
	if w.Restore {
		old, err := e.Vault.ReadVersion(ctx, w.Ref, w.Version)
		if err != nil {
			return Secret{}, Wrap(ErrorCode(err), err, "Could not read the old token from Infisical (%s): nothing was written", ErrorMessage(err))
		}
		if w.Run != nil && !w.Run.IsOld(old) {
			return Secret{}, Errorf(EINVALID, "Infisical version %d of %s is not the old token (%s): restore it by hand", w.Version, w.Secret, w.Run.OldFingerprint)
		}
		return old, nil
	}
	vv, err := e.Vault.Read(ctx, w.Ref)
	if err != nil {
		return Secret{}, Wrap(ErrorCode(err), err, "Could not read %s from Infisical: %s. Nothing was written.", w.Secret, ErrorMessage(err))
	}
	if r := w.Run; r != nil && !r.IsNew(vv.Value) {
		return Secret{}, &Error{Code: EINVALID, Err: ErrVaultMoved, Message: fmt.Sprintf(
			"Infisical now holds a different value for %s than this run stored (%s, expected %s): someone changed it, or a late write landed; check its history in Infisical, then Rollback or start a new run",
			w.Secret, vv.Value.Fingerprint(), r.NewFingerprint)}
	}
	if w.Run == nil && vv.Version != w.Version {
		return Secret{}, &Error{Code: ECONFLICT, Err: ErrVaultMoved, Message: fmt.Sprintf(
			"Infisical's %s changed since it was shown: it holds version %d (`%s`) now, not version %d. Nothing was written.",
			w.Secret, vv.Version, vv.Value.Fingerprint(), w.Version)}
	}
	return vv.Value, nil
}

// checkToken checks the value's shape, that no finished run retired it, and
// GitHub's answer for it, which it returns (the CLI records it on its run).
func (e *Engine) checkToken(ctx context.Context, sc *SecretConfig, w WriteRequest, v Secret) (TokenInfo, error) {
	what := fmt.Sprintf("The value of %s in Infisical (`%s`)", w.Secret, v.Fingerprint())
	if w.Restore {
		what = fmt.Sprintf("The old token of %s (Infisical version %d, `%s`)", w.Secret, w.Version, v.Fingerprint())
	}
	kind, err := ShapeOf(v.Reveal())
	if err != nil {
		return TokenInfo{}, &Error{Code: EINVALID, Err: ErrTokenRefused, Message: fmt.Sprintf("%s is not a %s token (%s). Nothing was written: %s",
			what, sc.Kind.Service(), ErrorMessage(err), w.hint())}
	}
	if !w.Restore && kind != sc.Kind {
		return TokenInfo{}, &Error{Code: EINVALID, Err: ErrTokenRefused, Message: fmt.Sprintf("%s is a %s token, but %s is configured as %s. Nothing was written: %s",
			what, kind, w.Secret, sc.Kind, w.hint())}
	}
	except := ""
	if w.Run != nil {
		except = w.Run.ID
	}
	runs, err := e.Store.ListRetired(ctx, w.Secret)
	if err != nil {
		return TokenInfo{}, err
	}
	if t := RetiredBy(runs, v, except); t != nil {
		return TokenInfo{}, &Error{Code: EINVALID, Err: ErrRetiredToken, Message: fmt.Sprintf("Infisical holds %s: %s. Nothing was written.", t.Text(), w.hint())}
	}
	info, err := CheckAs(ctx, e.Checker, sc.Kind, v)
	switch {
	case ErrorCode(err) == EUNAUTHORIZED && w.Restore:
		return TokenInfo{}, &Error{Code: ECONFLICT, Err: ErrOldTokenDead, Message: fmt.Sprintf(
			"Rollback refused: %s answers 401 for the old token (%s) — it is dead (revoked, deleted or expired), and putting it back would break every consumer. Nothing was written. Keep the new token: Retry or revoke carries the run on; if the new token misbehaves, start a new run with /rotate %s and a brand-new token",
			sc.Kind.Service(), v.Fingerprint(), w.Secret)}
	case ErrorCode(err) == EUNAUTHORIZED:
		return TokenInfo{}, &Error{Code: EINVALID, Err: ErrTokenRefused, Message: fmt.Sprintf("%s refuses %s (401): it is expired, revoked or mistyped. Nothing was written: %s",
			sc.Kind.Service(), lowerFirst(what), w.hint())}
	case err != nil:
		return TokenInfo{}, Wrap(ErrorCode(err), err, "Could not ask %s about %s (%s): nothing was written", sc.Kind.Service(), lowerFirst(what), ErrorMessage(err))
	case !info.ExpiresAt.IsZero() && !info.ExpiresAt.After(e.now()):
		return TokenInfo{}, &Error{Code: EINVALID, Err: ErrTokenRefused, Message: fmt.Sprintf("%s expired on %s. Nothing was written: %s", what, words.DateText(info.ExpiresAt), w.hint())}
	}
	login := w.Login
	if login == "" {
		login = e.secretLogin(ctx, w.Secret)
	}
	if login != "" && info.Login != login {
		return TokenInfo{}, &Error{Code: EINVALID, Err: ErrTokenRefused, Message: fmt.Sprintf("%s belongs to %s, not %s. Nothing was written: %s", what, info.Login, login, w.hint())}
	}
	return info, nil
}

// hint says what to do when the value is refused.
func (w WriteRequest) hint() string {
	switch {
	case w.Hint != "":
		return w.Hint
	case w.Run == nil:
		return fmt.Sprintf("rotate instead (/rotate %s makes a brand-new token)", w.Secret)
	case w.Restore:
		return "keep the new token; if it misbehaves, start a new run with a brand-new token"
	}
	return "Rollback, or Abandon the run and start a new one with a brand-new token"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// Retirement is how a token left service: the finished run that replaced it.
type Retirement struct {
	Run string    `json:"run"`
	At  time.Time `json:"at"`
	// Revoked: the run revoked it (either revoke button); otherwise its
	// SUMMARY told a person to (the CLI).
	Revoked bool `json:"revoked,omitempty"`
}

// Text names the retirement for people.
func (t Retirement) Text() string {
	if t.Revoked {
		return fmt.Sprintf("a token rotabot revoked on %s in run %s", words.DateText(t.At), t.Run)
	}
	return fmt.Sprintf("a token rotabot retired on %s in run %s (its SUMMARY said to revoke it)", words.DateText(t.At), t.Run)
}

// RetiredBy returns how v was retired when it is the old token of a finished
// run of runs (except the run named except): a completed run, or one whose
// revoke was attempted. Runs keep digests under keys of their own, so v is
// compared with each in turn; nil when none retired it.
func RetiredBy(runs []*Run, v Secret, except string) *Retirement {
	for _, r := range runs {
		if r.ID == except || !r.Retires() {
			continue
		}
		if !r.IsOld(v) {
			continue
		}
		t := &Retirement{Run: r.ID, At: r.Updated, Revoked: r.RevokeAttempted || r.RevokeSent}
		if s := r.Step(StepRevoke); s != nil && s.State == StepDone && !s.Finished.IsZero() {
			t.At = s.Finished
		}
		return t
	}
	return nil
}

// Retires reports whether r retired its old token: it finished, completed or
// with a revoke attempted.
func (r *Run) Retires() bool {
	return r.State.Final() && (r.State == StateCompleted || r.RevokeAttempted || r.RevokeSent)
}

// secretLogin is the GitHub account the secret's tokens belong to, as rotabot
// last saw it: its newest run's, else its expiry record's ("" when unknown).
func (e *Engine) secretLogin(ctx context.Context, secret string) string {
	if runs, err := e.Store.ListRuns(ctx, RunFilter{Secret: secret}); err == nil {
		for _, r := range runs {
			if r.Login != "" {
				return r.Login
			}
		}
	}
	if rec, found, err := e.Store.GetExpiry(ctx, secret); err == nil && found {
		return rec.Login
	}
	return ""
}
