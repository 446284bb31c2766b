package drift

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// Set it from Infisical: the repair of a drift. It writes through the engine's
// guarded write path (rotation.Engine.WriteValue), so it refuses what a run refuses —
// another version than the post named, a token GitHub refuses or a finished
// run retired, a destination gone from the routing matrix — and it writes
// nothing while the secret has an open run; no run starts while it writes. A
// repair that writes every destination (a version drift) is asked for by one
// ops member and approved by another before anything is written.

// Drift errors people see.
var (
	// ErrMovedOn: the drift a button was pressed for was resolved, or is
	// not the one the post showed.
	ErrMovedOn = errors.New("drift moved on")
)

// Repair is Set it from Infisical pressed by user on the post of drift key,
// which showed stamp (Record.Stamp) and Infisical's version (0: the
// record's). A drift of one destination is written at once: Infisical's value
// at exactly that version, verified, the drift marked repaired, the audit
// entry secret.drift.repaired recorded and shown. A version drift, whose repair
// writes every Heroku and GitHub destination, is only asked for: the record
// keeps the request (RequestedBy) and its post asks another ops member to
// approve (ApproveRepair). Nothing is written when it refuses.
func (l *Loop) Repair(ctx context.Context, key, stamp string, version int, user string) (Record, error) {
	rec, version, err := l.pressed(ctx, key, stamp, version)
	if err != nil {
		return rec, err
	}
	if rec.RequestedBy != "" {
		return rec, &rotation.Error{Code: rotation.ECONFLICT, Err: ErrMovedOn, Message: fmt.Sprintf(
			"%s already asked for this at %s: another ops member approves it on the post. Nothing was changed.", words.Mention(rec.RequestedBy), words.DateText(rec.RequestedAt))}
	}
	if rec.Dest == "" {
		return l.request(ctx, rec, version, user)
	}
	return l.write(ctx, rec, version, user, "")
}

// ApproveRepair is a second ops member's approval of the repair user did not
// ask for: it writes the version the request named, as Repair does.
func (l *Loop) ApproveRepair(ctx context.Context, key, stamp string, version int, user string) (Record, error) {
	rec, version, err := l.pressed(ctx, key, stamp, version)
	if err != nil {
		return rec, err
	}
	switch {
	case rec.RequestedBy == "" || rec.RequestedVersion != version:
		return rec, &rotation.Error{Code: rotation.ECONFLICT, Err: ErrMovedOn, Message: "This approval has moved on: nobody asks for it now (look at the post). Nothing was changed."}
	case user == rec.RequestedBy:
		return rec, &rotation.Error{Code: rotation.EFORBIDDEN, Err: rotation.ErrSelfApproval,
			Message: "You asked for this repair, so you may not approve it: another ops member must. Nothing was changed."}
	}
	return l.write(ctx, rec, version, rec.RequestedBy, user)
}

// pressed finds the drift a button was pressed for: open, the one the post
// showed (stamp), of the version it named (0: the record's).
func (l *Loop) pressed(ctx context.Context, key, stamp string, version int) (Record, int, error) {
	if l.Engine == nil {
		return Record{}, 0, rotation.Errorf(rotation.EINTERNAL, "this drift check has no engine to write a repair with")
	}
	recs, err := l.Store.ListDrift(ctx)
	if err != nil {
		return Record{}, 0, err
	}
	var rec Record
	for _, r := range recs {
		if r.Key == key {
			rec = r
		}
	}
	if version == 0 {
		version = rec.VaultVersion
	}
	switch {
	case rec.Key == "":
		return rec, 0, &rotation.Error{Code: rotation.ENOTFOUND, Err: ErrMovedOn, Message: "This drift is no longer known (was the bot's database reset?). Nothing was changed; /rotate drift checks again."}
	case !rec.Open || rec.Stamp() != stamp:
		return rec, 0, &rotation.Error{Code: rotation.ECONFLICT, Err: ErrMovedOn, Message: "This drift has moved on: " + driftStateText(rec) + ". Nothing was changed."}
	case version != rec.VaultVersion:
		return rec, 0, &rotation.Error{Code: rotation.ECONFLICT, Err: ErrMovedOn, Message: fmt.Sprintf(
			"This post named Infisical's version %d; the drift is about version %d (`%s`) now: look at the post. Nothing was changed.", version, rec.VaultVersion, rec.Fingerprint)}
	}
	return rec, version, nil
}

// targets are the destinations a repair of rec writes: the drifted one, or
// for a version drift every destination of the secret rotabot writes a value to.
func (l *Loop) targets(rec Record) []rotation.Destination {
	if rec.Dest != "" {
		d := rotation.Destination{Kind: rec.Dest, Target: rec.Target, Name: rec.Name}
		if d.Name == rec.Secret {
			d.Name = "" // the matrix's default, not named in labels
		}
		return []rotation.Destination{d}
	}
	var out []rotation.Destination
	if sc, ok := l.Matrix.Secrets[rec.Secret]; ok {
		for _, d := range sc.Destinations() {
			if _, ok := l.Engine.Consumers[d.Kind]; ok {
				out = append(out, d)
			}
		}
	}
	return out
}

// writeRequest is the guarded write of a repair of rec (the secret's login is
// the one rotabot last saw).
func (l *Loop) writeRequest(rec Record, version int, by, approver string) rotation.WriteRequest {
	cur, _ := l.Matrix.Refs(rec.Secret)
	return rotation.WriteRequest{Secret: rec.Secret, Ref: cur, Version: version, Dests: l.targets(rec), By: by, ApprovedBy: approver}
}

// request records user's request for a repair that writes every destination,
// once the guarded write path found nothing to refuse, and shows it.
func (l *Loop) request(ctx context.Context, rec Record, version int, user string) (Record, error) {
	if err := l.Engine.WriteValue(ctx, l.writeRequest(rec, version, user, ""), nil); err != nil {
		return rec, l.refused(ctx, rec, err)
	}
	now := l.now()
	var asked Record
	err := l.Store.UpdateDrift(ctx, []string{rec.Key}, func(stored map[string]Record) ([]Record, error) {
		r, ok := stored[rec.Key]
		if !ok || !r.Open || r.Stamp() != rec.Stamp() || r.RequestedBy != "" {
			return nil, &rotation.Error{Code: rotation.ECONFLICT, Err: ErrMovedOn, Message: "This drift changed meanwhile: look at the post. Nothing was changed."}
		}
		r.RequestedBy, r.RequestedAt, r.RequestedVersion = user, now, version
		asked = r
		return []Record{r}, nil
	})
	if err != nil {
		return rec, err
	}
	l.Log.Info("drift repair asked for", "secret", rec.Secret, "where", asked.Label(), "by", user, "version", version)
	l.show(ctx, []Record{asked})
	return asked, nil
}

// write is the repair itself, under the secret's write claim: set and verify
// each target, mark the drift repaired, record and show the audit entry.
func (l *Loop) write(ctx context.Context, rec Record, version int, by, approver string) (Record, error) {
	var done Record
	err := l.Engine.WriteValue(ctx, l.writeRequest(rec, version, by, approver), func(ctx context.Context, value rotation.Secret, set rotation.Setter) error {
		wrote, results, err := l.setEach(ctx, rec, l.targets(rec), value, version, set)
		if err != nil {
			return err
		}
		if done, err = l.markRepaired(ctx, rec, wrote, value, version, by, approver); err != nil {
			return err
		}
		l.audited(ctx, done, results, value, by, approver)
		return nil
	})
	if err != nil {
		return rec, l.refused(ctx, rec, err)
	}
	return done, nil
}

// refused passes a refusal on. When Infisical holds another version now, or a
// token rotabot retired, the secret is checked again first, so its posts show
// the drift as it is.
func (l *Loop) refused(ctx context.Context, rec Record, err error) error {
	if !errors.Is(err, rotation.ErrVaultMoved) && !errors.Is(err, rotation.ErrRetiredToken) {
		return err
	}
	l.recheck(context.WithoutCancel(ctx), rec.Secret)
	return rotation.Wrap(rotation.ErrorCode(err), err, "%s The post shows the drift as it is now.", rotation.ErrorMessage(err))
}

// setEach sets value on each target and verifies it; every target is tried.
func (l *Loop) setEach(ctx context.Context, rec Record, targets []rotation.Destination, value rotation.Secret, version int, set rotation.Setter) (map[string]time.Time, []rotation.DestResult, error) {
	wrote := map[string]time.Time{}
	var results []rotation.DestResult
	var failed []string
	for _, d := range targets {
		name := d.VarName(rec.Secret)
		since := l.now()
		cctx, cancel := l.callCtx(ctx)
		err := set(cctx, d)
		if err == nil {
			err = l.Engine.Consumers[d.Kind].Verify(cctx, d.Target, name, value, since)
		}
		cancel()
		if err != nil {
			failed = append(failed, d.Label()+": "+rotation.ErrorMessage(err))
			results = append(results, rotation.DestResult{Destination: d.Label(), Result: "failed: " + rotation.ErrorMessage(err)})
			continue
		}
		wrote[Key(rec.Secret, d.Kind, d.Target, name)] = since
		results = append(results, rotation.DestResult{Destination: d.Label(), Result: fmt.Sprintf("set from Infisical version %d and verified", version)})
	}
	if len(failed) > 0 {
		return nil, nil, rotation.Errorf(rotation.EUNAVAILABLE, "Could not set it from Infisical: %s. The drift stays open; try again.", strings.Join(failed, "; "))
	}
	return wrote, results, nil
}

// markRepaired closes the drift as repaired by by (approved by approver), and
// notes when each destination written was written (and, for a version drift,
// the version adopted), in one transaction.
func (l *Loop) markRepaired(ctx context.Context, rec Record, wrote map[string]time.Time, value rotation.Secret, version int, by, approver string) (Record, error) {
	now := l.now()
	keys := []string{rec.Key}
	for k := range wrote {
		if k != rec.Key {
			keys = append(keys, k)
		}
	}
	targets := l.targets(rec)
	var done Record
	err := l.Store.UpdateDrift(context.WithoutCancel(ctx), keys, func(stored map[string]Record) ([]Record, error) {
		r, ok := stored[rec.Key]
		if !ok || r.Stamp() != rec.Stamp() {
			return nil, &rotation.Error{Code: rotation.ECONFLICT, Err: ErrMovedOn, Message: "This drift changed while it was being set: look at the post"}
		}
		r.Open, r.Resolved, r.RepairedBy, r.ApprovedBy = false, now, by, approver
		r.VaultVersion, r.Fingerprint = version, value.Fingerprint()
		if w, ok := wrote[rec.Key]; ok {
			r.Wrote = w
		}
		if r.Dest == "" {
			r.Adopted = version
		}
		done = r
		out := []Record{r}
		for k, w := range wrote {
			if k == rec.Key {
				continue
			}
			other, ok := stored[k]
			if !ok {
				d := targets[slices.IndexFunc(targets, func(d rotation.Destination) bool {
					return Key(rec.Secret, d.Kind, d.Target, d.VarName(rec.Secret)) == k
				})]
				kind := KindValue
				if d.Kind != rotation.DestHeroku {
					kind = KindWritten
				}
				other = Record{Key: k, Secret: rec.Secret, Kind: kind, Dest: d.Kind, Target: d.Target, Name: d.VarName(rec.Secret)}
			}
			other.Wrote = w
			out = append(out, other)
		}
		return out, nil
	})
	return done, err
}

// audited records the repair's audit entry, logs it, and shows it: the post
// marked repaired, the entry in the audit channel.
func (l *Loop) audited(ctx context.Context, done Record, results []rotation.DestResult, value rotation.Secret, by, approver string) {
	ctx = context.WithoutCancel(ctx)
	entry := rotation.AuditEntry{Action: rotation.ActionDriftRepaired, At: done.Resolved, RunID: "drift:" + done.Key + "@" + done.Stamp(), Secret: done.Secret,
		Actor: by, Approver: approver, Method: rotation.MethodSlack, Destinations: results, NewFingerprint: value.Fingerprint()}
	if err := l.Store.AppendAudit(ctx, entry); err != nil {
		l.Log.Error("could not store the audit entry of a drift repair", "secret", done.Secret, "err", err)
	}
	l.Log.Info("drift repaired", "secret", done.Secret, "where", done.Label(), "by", by, "approver", approver, "version", done.VaultVersion, "fingerprint", done.Fingerprint)
	if l.Notifier == nil {
		return
	}
	l.show(ctx, []Record{done})
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	if err := l.Notifier.DriftAudited(cctx, done, entry); err != nil {
		l.Log.Warn("could not post the audit entry of a drift repair", "secret", done.Secret, "err", rotation.ErrorMessage(err), "cause", err)
	}
}

// driftStateText says where a drift stands, for people.
func driftStateText(d Record) string {
	switch {
	case d.Open:
		return "a newer drift of the same place is open"
	case d.RepairedBy != "":
		return fmt.Sprintf("%s set it from Infisical at %s", words.Mention(d.RepairedBy), words.DateText(d.Resolved))
	}
	return "it was resolved at " + words.DateText(d.Resolved)
}
