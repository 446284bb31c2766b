package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
)

// MaxReasonLen bounds an abandon reason: a sentence or two for the audit trail.
const MaxReasonLen = 500

// ErrNoReason: a run is abandoned only with a reason for the audit trail.
var ErrNoReason = errors.New("no reason given")

// CheckReason checks an abandon reason: said in words, short, and never a token
// pasted in the wrong place. The error's message says what to do.
func CheckReason(reason string) error {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return &Error{Code: EINVALID, Err: ErrNoReason, Message: "Say why the run is abandoned: the reason goes in the audit trail (e.g. “old version gone from Infisical; restored by hand”)"}
	case len(reason) > MaxReasonLen:
		return Errorf(EINVALID, "The reason is %d characters long: keep it under %d — a sentence or two for the audit trail", len(reason), MaxReasonLen)
	}
	lower := strings.ToLower(reason)
	for _, p := range append([]string{PrefixFineGrained, PrefixClassic}, prefixes()...) {
		if strings.Contains(lower, p) {
			return Errorf(EINVALID, "That reason holds something that looks like a token: never paste a token — say why in words (and if it was a live token, rotate it)")
		}
	}
	return nil
}

func prefixes() []string {
	out := make([]string, len(otherPrefixes))
	for i, p := range otherPrefixes {
		out[i] = p.prefix
	}
	return out
}

// Abandon gives a run up where it stands: from a failed step or a wait for a
// person, when neither Retry nor Rollback can finish it (an old version gone from
// Infisical, an archived audit channel) — also in an incident, to free the
// secret for a new run. It writes nothing anywhere but rotabot's own record: the
// run ends Abandoned, and secret.rotate.abandoned goes to the audit trail with who,
// why, the state it was in and what it leaves where (Leaves), which people then
// put right by hand.
func (e *Engine) Abandon(ctx context.Context, id, user, reason string) (*Run, error) {
	reason = strings.TrimSpace(reason)
	if err := CheckReason(reason); err != nil {
		return nil, err
	}
	unlock := e.lock(id)
	defer unlock()
	r, err := e.Store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if !r.Can(EvAbandon) {
		return r, abandonRefused(r)
	}
	leaves := e.Leaves(r)
	from := r.State
	nr, err := e.transition(ctx, id, EvAbandon, func(x *Run) error {
		now := e.now()
		for i := range x.Steps {
			if x.Steps[i].State == StepPending || x.Steps[i].State == StepRunning {
				x.Steps[i].State, x.Steps[i].Finished = StepSkipped, now
			}
		}
		x.AbandonedBy, x.AbandonReason, x.AbandonedFrom = user, reason, x.State
		x.Notice, x.RetryAt = fmt.Sprintf("Abandoned by %s (it was %s): %s", words.Mention(user), from.Word(), reason), time.Time{}
		return nil
	})
	if err != nil {
		if cur, gerr := e.Store.GetRun(ctx, id); gerr == nil && !cur.Can(EvAbandon) {
			return cur, abandonRefused(cur)
		}
		return r, err
	}
	e.runLog(nr).Info("run abandoned", "by", user, "from", string(from))
	e.notify(ctx, nr, fmt.Sprintf("%s abandoned the run (it was %s): %s\nIt leaves:\n• %s", words.Mention(user), from.Word(), reason, strings.Join(leaves, "\n• ")))

	ent := e.auditEntry(nr, ActionAbandoned)
	ent.Actor, ent.Reason, ent.FromState, ent.Leaves = user, reason, from, leaves
	if err := e.Store.AppendAudit(context.WithoutCancel(ctx), ent); err != nil {
		e.runLog(nr).Error("could not store the audit entry of an abandoned run", "err", err)
		e.notify(ctx, nr, "The audit entry could not be stored ("+ErrorMessage(err)+"): record the abandon by hand")
		return nr, nil
	}
	if e.Notifier != nil {
		// An archived audit channel is one reason to abandon: the entry is in
		// the store whatever Slack says.
		if err := e.Notifier.Audited(ctx, nr, ent); err != nil {
			e.runLog(nr).Warn("could not post the audit entry", "err", ErrorMessage(err), "cause", err)
			e.notify(ctx, nr, "The audit post failed ("+ErrorMessage(err)+"): the entry "+string(ActionAbandoned)+" is in rotabot's own audit trail (/rotate history "+nr.Secret+")")
		}
	}
	return nr, nil
}

// abandonRefused says why a run cannot be abandoned now.
func abandonRefused(r *Run) error {
	switch {
	case r.State.Final():
		return Errorf(ECONFLICT, "%s is already %s: there is nothing to abandon", r.ID, r.State.Word())
	case r.State.Automatic():
		return Errorf(ECONFLICT, "%s is %s: rotabot is working on it. Abandon it once it fails or waits for a person (its card, or /rotate status %s, says when)", r.ID, r.State.Word(), r.ID)
	}
	_, err := Next(r.State, EvAbandon)
	return err
}

// Leaves says, a line each, what the run leaves where as it stands: the value in
// Infisical (and the pending one), each destination's last known state, and
// whether the old token may still be alive — what a person puts right by hand
// after abandoning it. Lines name fingerprints and versions, never a value.
func (e *Engine) Leaves(r *Run) []string {
	cur, pend := e.refs(r)
	at := func(ref VaultRef) string { return ref.Path + ref.Key + " in " + ref.Environment }
	stepDone := func(n StepName) bool { s := r.Step(n); return s != nil && s.State == StepDone }
	var out []string

	// Infisical.
	switch {
	case r.Method == MethodCLI:
		out = append(out, fmt.Sprintf("Infisical: %s holds the value this run propagated (version %d, %s); the CLI never changes Infisical", at(cur), r.NewVaultVersion, r.NewFingerprint))
	case r.State == StateRollbackFailed:
		out = append(out, fmt.Sprintf("Infisical: the rollback did not finish — %s may hold the new value (%s) or the old one again (%s, version %d): look at its newest version", at(cur), r.NewFingerprint, r.OldFingerprint, r.VaultVersionBefore))
	case stepDone(StepStore):
		out = append(out, fmt.Sprintf("Infisical: %s holds the new value (version %d, %s); the old one is version %d (%s)", at(cur), r.NewVaultVersion, r.NewFingerprint, r.VaultVersionBefore, r.OldFingerprint))
	case r.State == StateStoreFailed:
		out = append(out, fmt.Sprintf("Infisical: the store step failed — %s may still hold the old value (version %d, %s) or already the new one (%s), which may also still wait in %s", at(cur), r.VaultVersionBefore, r.OldFingerprint, r.NewFingerprint, pend.Path+pend.Key))
	case r.NewFingerprint != "":
		out = append(out, fmt.Sprintf("Infisical: %s still holds the old value (version %d, %s); the new token (%s) waits in %s — delete it there", at(cur), r.VaultVersionBefore, r.OldFingerprint, r.NewFingerprint, at(pend)))
	default:
		out = append(out, fmt.Sprintf("Infisical: %s still holds the old value; nothing was written", at(cur)))
	}

	// Each destination, as last recorded.
	for _, d := range r.Destinations {
		what := ""
		switch d.State {
		case DestPending:
			what = "not written: it holds the old value"
		case DestWriting:
			what = "a write was in flight: it may hold either value"
		case DestWritten:
			what = "holds the new value (not verified)"
		case DestVerified:
			what = "holds the new value (verified)"
		case DestWaiting:
			what = "told by DM to pull the new value; not confirmed (Done)"
		case DestDone:
			what = "the operator confirmed pulling the new value"
		case DestReverted:
			what = "set back to the old value"
		case DestFailed:
			what = "failed (" + d.LastError + "): it holds the old value"
			if d.MaybeWritten || !d.Written.IsZero() {
				what = "failed (" + d.LastError + "): it may hold the new value"
			}
		default:
			what = string(d.State)
		}
		out = append(out, d.PlainLabel()+": "+what)
	}

	// The tokens.
	settings := r.TokenKind.SettingsURL(e.Matrix.GitHubWeb)
	switch {
	case r.RevokeSent:
		out = append(out, fmt.Sprintf("The old token (%s) was sent to GitHub's revoke endpoint: it is dead or dying", orUnknownFP(r.OldFingerprint)))
	case stepDone(StepRevoke):
		out = append(out, fmt.Sprintf("The old token (%s) answers 401: it is revoked", orUnknownFP(r.OldFingerprint)))
	case stepDone(StepStore) || r.Method == MethodCLI || r.State == StateStoreFailed || r.State == StateRollbackFailed:
		out = append(out, fmt.Sprintf("The old token (%s) may still be alive: once every consumer uses the new one, revoke it at %s — or keep it, if you put it back everywhere", orUnknownFP(r.OldFingerprint), settings))
	default:
		out = append(out, fmt.Sprintf("The old token (%s) is still the live one: nothing that uses it was changed", orUnknownFP(r.OldFingerprint)))
		if r.NewFingerprint != "" {
			out = append(out, fmt.Sprintf("The new token (%s) was validated but is used nowhere: delete it at %s", r.NewFingerprint, settings))
		}
	}
	return out
}

func orUnknownFP(fp string) string {
	if fp == "" {
		return "fingerprint unknown"
	}
	return fp
}
