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

// StartRequest starts a run from Slack.
type StartRequest struct {
	Secret    string
	Requester string
	// Channel is where the run's card is posted.
	Channel string
	// Reason says why rotabot starts the run by itself (Requester Rotabot).
	Reason string
}

// Start creates a run in pre-check. A secret with an open run gets an ECONFLICT
// error and that run. Call Advance (or Go) to perform the pre-check.
func (e *Engine) Start(ctx context.Context, req StartRequest) (*Run, error) {
	sc, err := e.Matrix.Secret(req.Secret)
	if err != nil {
		return nil, err
	}
	now := e.now()
	r := &Run{
		Secret: req.Secret, Method: MethodSlack, State: StatePrechecking, Requester: req.Requester,
		Created: now, Updated: now, Steps: newSteps(), TokenKind: sc.Kind,
		Destinations: destinations(sc, Overrides{}), Card: CardRef{Channel: req.Channel}, StartReason: req.Reason,
	}
	if r.DigestKey, err = e.newDigestKey(); err != nil {
		return nil, err
	}
	r.stepStart(StepPrecheck, "", now)
	if s := r.Step(StepPrecheck); s != nil {
		// What announceStep shows, written with the run: the pre-check starts
		// at once.
		s.Until, s.Budget = e.stepDeadline(r, StepPrecheck)
	}
	release, open, err := e.claimStart(ctx, req.Secret)
	if err != nil {
		return open, err
	}
	created, err := e.Store.CreateRun(ctx, r)
	release()
	if err != nil {
		return created, err
	}
	e.runLog(created).Info("run started", "requester", req.Requester)
	note := fmt.Sprintf("%s started a rotation of %s", words.Mention(req.Requester), req.Secret)
	if req.Reason != "" {
		note += ": " + req.Reason
	}
	e.notify(ctx, created, note)
	return created, nil
}

// Submit validates a new token (step 3) and holds it as the pending value in the
// vault. A refused token leaves the run as it was; the error's message says why in
// a person's words and never repeats the token.
func (e *Engine) Submit(ctx context.Context, id, user string, token Secret) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.Store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if !r.State.Allowed(EvSubmit) {
		_, err := Next(r.State, EvSubmit)
		return r, err
	}
	sc, err := e.Matrix.Secret(r.Secret)
	if err != nil {
		return r, err
	}
	if sc.Kind.Minted() {
		return r, Errorf(EINVALID, "rotabot makes the new %s itself at %s: there is nothing to paste", r.Secret, sc.Kind.Service())
	}
	kind, err := TokenShape(token.Reveal())
	if err != nil {
		return r, err
	}
	if kind != sc.Kind {
		return r, Errorf(EINVALID, "This is a %s token but %s is configured as %s: make a %s token", kind, r.Secret, sc.Kind, sc.Kind)
	}
	return e.accept(ctx, r, sc, user, token, "")
}

// accept is step 3 for a new value, pasted by user or minted (user "", minted
// saying what was made): it is checked with its service and held as the pending
// value; the run then waits for approval.
func (e *Engine) accept(ctx context.Context, r *Run, sc *SecretConfig, user string, token Secret, minted string) (*Run, error) {
	_, pend := e.refs(r)
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	if err := e.refuseKnown(cctx, r, token); err != nil {
		return r, err
	}
	info, err := CheckAs(cctx, e.Checker, sc.Kind, token)
	if err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return r, Errorf(EINVALID, "%s refused this token (401): it is expired, revoked or mistyped", sc.Kind.Service())
		}
		return r, err
	}
	if r.Login != "" && info.Login != r.Login {
		return r, Errorf(EINVALID, "This token belongs to %s, not %s", info.Login, r.Login)
	}
	now := e.now()
	if !info.ExpiresAt.IsZero() && !info.ExpiresAt.After(now) {
		return r, Errorf(EINVALID, "This token expired on %s: generate a new one", info.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if sc.Probe != "" {
		if err := e.Checker.Probe(cctx, token, sc.Probe); err != nil {
			if ErrorCode(err) == EUNAVAILABLE {
				return r, err
			}
			msg := ErrorMessage(err)
			if !errors.Is(err, ErrProbe) { // the message does not name the probe
				msg = "The workload probe refused this token: " + msg
			}
			return r, Errorf(EINVALID, "%s", msg)
		}
	}
	warnings := submitWarnings(r, sc, info.Kind, info)
	if _, err := e.Vault.Write(cctx, pend, token); err != nil {
		return r, err
	}
	r, err = e.transition(ctx, r.ID, EvSubmit, func(r *Run) error {
		r.Submitter = user
		if r.Login == "" {
			r.Login = info.Login
		}
		if err := e.ensureDigestKey(r); err != nil {
			return err
		}
		r.NewFingerprint, r.NewDigest = token.Fingerprint(), r.DigestOf(token)
		r.NewExpiry = info.ExpiresAt
		r.Warnings = warnings
		r.Notice = ""
		r.stepEnd(StepGenerate, StepDone, user, minted, now)
		r.stepEnd(StepValidate, StepDone, user, validatedMessage(info), now)
		r.stepStart(StepApproval, "", now)
		return nil
	})
	if err != nil {
		// The run moved on meanwhile (another process); the staged value stays
		// pending and is replaced or deleted by whatever comes next.
		return r, err
	}
	who := map[bool]string{true: "rotabot made and checked", false: words.Mention(user) + " submitted"}[minted != ""]
	e.notify(ctx, r, fmt.Sprintf("%s a new token (%s); waiting for a second ops member to approve", who, r.NewFingerprint))
	return r, nil
}

// submitWarnings are the run's warnings with what the approver should know of a
// submitted token added.
func submitWarnings(r *Run, sc *SecretConfig, kind TokenKind, info TokenInfo) []string {
	warnings := append([]string(nil), r.Warnings...)
	if r.Login == "" {
		warnings = append(warnings, fmt.Sprintf("The new token belongs to %s: the current token's login could not be read to compare", info.Login))
	}
	if kind == Classic {
		if extra := missingFrom(info.Scopes, sc.Scopes); len(extra) > 0 {
			warnings = append(warnings, "The token has scopes beyond the routing matrix: "+strings.Join(extra, ", "))
		}
		if lacking := missingFrom(sc.Scopes, info.Scopes); len(lacking) > 0 {
			warnings = append(warnings, "The token lacks configured scopes: "+strings.Join(lacking, ", "))
		}
		warnings = append(warnings, MigrateWarning)
	}
	if info.ExpiresAt.IsZero() && !kind.Minted() {
		warnings = append(warnings, "The token never expires: GitHub recommends an expiry")
	}
	return warnings
}

// refuseKnown refuses a submitted token rotabot knows already: the current one,
// or one a finished run retired.
func (e *Engine) refuseKnown(ctx context.Context, r *Run, token Secret) error {
	cur, _ := e.refs(r)
	current, err := e.Vault.Read(ctx, cur)
	if err != nil {
		return err
	}
	if current.Value.Equal(token) {
		return Errorf(EINVALID, "That is the current token: generate a new one on GitHub")
	}
	runs, err := e.Store.ListRetired(ctx, r.Secret)
	if err != nil {
		return err
	}
	if t := RetiredBy(runs, token, r.ID); t != nil {
		return &Error{Code: EINVALID, Err: ErrRetiredToken, Message: "That is " + t.Text() + ": generate a new one on GitHub"}
	}
	return nil
}

func validatedMessage(info TokenInfo) string {
	return strings.TrimSuffix(fmt.Sprintf("login %s, %s, %s, %s", info.Login, info.Kind, words.ExpiryText(info.ExpiresAt), info.Detail), ", ")
}

// missingFrom returns the items of a not in b.
func missingFrom(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Approve records a second ops member's approval and moves the run to the store
// step. The requester and the submitter may not approve. Call Advance (or Go) to
// carry the run on.
func (e *Engine) Approve(ctx context.Context, id, user string) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.transition(ctx, id, EvApprove, func(r *Run) error {
		switch user {
		case r.Requester:
			return &Error{Code: EFORBIDDEN, Err: ErrSelfApproval,
				Message: "You started this run, so you may not approve it: another ops member must."}
		case r.Submitter:
			return &Error{Code: EFORBIDDEN, Err: ErrSelfApproval,
				Message: "You submitted the new token, so you may not approve it: another ops member must."}
		}
		now := e.now()
		r.Approver = user
		r.stepEnd(StepApproval, StepDone, user, "", now)
		r.stepStart(StepStore, "", now)
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, r, fmt.Sprintf("%s approved", words.Mention(user)))
	return r, nil
}

// Cancel ends a run before approval, deleting the pending value. Nothing else changes.
func (e *Engine) Cancel(ctx context.Context, id, user string) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.Store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if !r.State.Allowed(EvCancel) {
		_, err := Next(r.State, EvCancel)
		return r, err
	}
	_, pend := e.refs(r)
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	if err := e.Vault.Delete(cctx, pend); err != nil {
		return r, Wrap(ErrorCode(err), err, "Could not delete the pending value: %s — press Cancel again", ErrorMessage(err))
	}
	if err := e.discardMinted(ctx, r); err != nil {
		return r, Wrap(ErrorCode(err), err, "%s — press Cancel again", ErrorMessage(err))
	}
	r, err = e.transition(ctx, id, EvCancel, func(r *Run) error {
		now := e.now()
		for i := range r.Steps {
			if r.Steps[i].State == StepPending || r.Steps[i].State == StepRunning || r.Steps[i].State == StepFailed {
				r.Steps[i].State, r.Steps[i].Finished = StepSkipped, now
			}
		}
		r.Notice = fmt.Sprintf("Cancelled by %s", words.Mention(user))
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, r, fmt.Sprintf("%s cancelled the run; nothing was changed", words.Mention(user)))
	return r, nil
}

// Retry runs a failed step again. Only what failed is redone.
func (e *Engine) Retry(ctx context.Context, id, user string) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.transition(ctx, id, EvRetry, func(r *Run) error {
		r.Notice = fmt.Sprintf("%s pressed Retry", words.Mention(user))
		r.RetryAt = time.Time{}
		return nil
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, r, r.Notice)
	return r, nil
}

// Rollback starts undoing the run: the vault gets the old value back, every
// consumer already written is set back, shell-rc operators are told to revert.
// It is possible from approval until a revoke is attempted, and only while GitHub
// still accepts the old token: it is asked first, and a 401 refuses the rollback
// with nothing written.
func (e *Engine) Rollback(ctx context.Context, id, user string) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	if cur, err := e.Store.GetRun(ctx, id); err == nil && cur.Can(EvRollback) {
		// A dead old token refuses the rollback here, with nothing changed. Any
		// other trouble (Infisical or GitHub not answering, the old version gone)
		// is the rollback step's to report: its first action is the same check.
		cctx, cancel := e.callCtx(ctx)
		_, err := e.oldToken(cctx, cur)
		cancel()
		if errors.Is(err, ErrOldTokenDead) || errors.Is(err, ErrRetiredToken) {
			return cur, err
		}
	}
	r, err := e.transition(ctx, id, EvRollback, func(r *Run) error {
		if !r.Can(EvRollback) {
			return &Error{Code: ECONFLICT, Err: ErrRevokeSent, Message: fmt.Sprintf(
				"Rollback is no longer possible: a revoke of the old token was started (it may be dead already). If the new token misbehaves, start a new run with /rotate %s and a brand-new token", r.Secret)}
		}
		r.Notice = fmt.Sprintf("%s started a rollback", words.Mention(user))
		r.RetryAt = time.Time{}
		r.RolledBackBy = user
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrRevokeSent) {
			return r, err
		}
		if cur, gerr := e.Store.GetRun(ctx, id); gerr == nil && (cur.State == StateRevoking || cur.State == StateAuditing || cur.State == StateCompleted || cur.State == StateAuditFailed) {
			return cur, Errorf(ECONFLICT, "Rollback is no longer possible: the old token is being or has been revoked. Start a new run with /rotate %s and a brand-new token", cur.Secret)
		}
		return r, err
	}
	e.notify(ctx, r, r.Notice)
	return r, nil
}

// Revoke starts step 7. viaAPI sends the old token to GitHub's revoke endpoint;
// otherwise the operator says they deleted it in GitHub's settings. Either way the
// bot then checks that the old token answers 401.
func (e *Engine) Revoke(ctx context.Context, id, user string, viaAPI bool) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	e.pause(pauseRevoke)
	r, err := e.move(ctx, id, func(r *Run) (Event, error) {
		if !r.Can(EvRevoke) {
			if m := watchMatches(r); len(m) > 0 && r.State == StateVerifyFailed {
				// A log watch match won the race with this press.
				return "", &Error{Code: ECONFLICT, Err: ErrWatchMatched, Message: "Not revoked: " + strings.Join(m, "; ") +
					". The run failed verify and the old token was left alone" + rollbackHint(r)}
			}
			_, err := Next(r.State, EvRevoke)
			return "", err
		}
		switch {
		case viaAPI:
			r.RevokeMethod = RevokeAPI
		case !r.RevokeSent:
			r.RevokeMethod = RevokeManual
		}
		// Recorded in this transaction, before the old token goes to GitHub's
		// revoke endpoint or is checked for 401: whatever GitHub answers (or if
		// the answer is lost), the old token may be dead, and rollback is over.
		r.RevokeAttempted = true
		if r.RevokeMethod == RevokeAPI {
			r.RevokeSent = true
		}
		r.stepStart(StepRevoke, user, e.now())
		r.Notice = ""
		return EvRevoke, nil
	})
	if err != nil {
		return r, err
	}
	how := "says they revoked the old token in GitHub's settings"
	if viaAPI {
		how = "asked the bot to revoke the old token"
	}
	e.notify(ctx, r, fmt.Sprintf("%s %s; checking that it answers 401", words.Mention(user), how))
	return r, nil
}

// rollbackHint ends a refusal on a failed run with the ways on from it.
func rollbackHint(r *Run) string {
	if r.Can(EvRollback) {
		return ": Rollback restores it; Retry sets the value again"
	}
	return ": Retry sets the value again"
}

// ConfirmOperator records a shell-rc operator's Done. Only that operator may:
// user pressed it in the conversation dm, and the destination names the operator
// either by their user id or by that very conversation (the routing matrix may
// give an operator as the DM channel the bot writes to, which only they share
// with the bot).
func (e *Engine) ConfirmOperator(ctx context.Context, id, user, dm string) (*Run, error) {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.update(ctx, id, func(r *Run) error {
		for i := range r.Destinations {
			d := &r.Destinations[i]
			if d.Kind != DestShellRC || (d.Target != user && (dm == "" || d.Target != dm)) {
				continue
			}
			if d.State != DestWaiting {
				return Errorf(ECONFLICT, "This run has moved on: your shell rc is %s", d.State)
			}
			d.State, d.Actor, d.Finished = DestDone, user, e.now()
			return nil
		}
		return Errorf(EFORBIDDEN, "Only the operator this message was sent to can press Done")
	})
	if err != nil {
		return r, err
	}
	e.notify(ctx, r, fmt.Sprintf("%s updated their shell rc", words.Mention(user)))
	return r, nil
}

// DryRun is the plan and what the current token is, read without writing.
type DryRun struct {
	Plan    Plan
	Current TokenInfo
	// Problem says why the current token could not be read or checked.
	Problem string
	// Unknown is what a scan found of the current value outside the plan's
	// destinations: consumers a rotation would not update (nil: no scan).
	Unknown *Discovery
}

// DryRun reads the vault and GitHub and writes nothing.
func (e *Engine) DryRun(ctx context.Context, secret string, o Overrides) (DryRun, error) {
	p, err := e.Matrix.Plan(secret, o, e.now())
	if err != nil {
		return DryRun{}, err
	}
	out := DryRun{Plan: p}
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	cur, err := e.Vault.Read(cctx, p.Vault)
	if err != nil {
		out.Problem = "current value: " + ErrorMessage(err)
		return out, nil
	}
	if e.Holders != nil {
		sctx, stop := context.WithTimeout(ctx, verifyScanLimit) // a dry run says what it covered rather than wait on a slowed scan
		out.Unknown = e.Holders.FindHolders(sctx, cur.Value.Digest(), HeldBy(secret, p.Destinations))
		stop()
	}
	info, err := CheckAs(cctx, e.Checker, p.Kind, cur.Value)
	if err != nil {
		out.Problem = "current token: " + ErrorMessage(err)
		return out, nil
	}
	out.Current = info
	return out, nil
}

func (e *Engine) refs(r *Run) (cur, pend VaultRef) {
	cur, pend = e.Matrix.Refs(r.Secret)
	if r.VaultPath != "" {
		cur.Path = r.VaultPath
	}
	return cur, pend
}

// oldToken reads the value the run replaced from the vault (its version before
// the run) and checks it with the guarded write path's rules for a rollback: it
// is that value (by digest), no finished run retired it, and GitHub still
// accepts it — a 401 is ErrOldTokenDead: rolling back to it would break every
// consumer.
func (e *Engine) oldToken(ctx context.Context, r *Run) (Secret, error) {
	w := e.rollbackWrite(r)
	sc, err := e.Matrix.Secret(r.Secret)
	if err != nil {
		return Secret{}, err
	}
	old, err := e.readShown(ctx, w)
	if err != nil {
		return Secret{}, err
	}
	if _, err := e.checkToken(ctx, sc, w, old); err != nil {
		return Secret{}, err
	}
	return old, nil
}
