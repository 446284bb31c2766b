package expiry

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// verdict is what one check learned of a secret's token.
type verdict int

const (
	verdictOK      verdict = iota // GitHub answered: its expiry is authoritative
	verdictExpired                // GitHub refuses a token known to have expired
	verdictBroken                 // refused, not a token, or missing: say so loudly
	verdictOutage                 // the vault or GitHub could not be asked: keep what was known
)

// check reads the secret's value and asks its service about it. fp is "" (and val
// the zero Secret) when the vault could not give a value; val goes no further
// than checkOne.
func (l *Loop) check(ctx context.Context, name string) (val rotation.Secret, fp string, info rotation.TokenInfo, v verdict, problem string, cause error) {
	cur, _ := l.Matrix.Refs(name)
	var kind rotation.TokenKind
	if sc, err := l.Matrix.Secret(name); err == nil {
		kind = sc.Kind
	}
	svc := kind.Service()
	cctx, cancel := l.callCtx(ctx)
	vv, err := l.Vault.Read(cctx, cur)
	cancel()
	if err != nil {
		if rotation.ErrorCode(err) == rotation.ENOTFOUND {
			return val, "", info, verdictBroken, fmt.Sprintf("it is not in Infisical (%s %s%s), so nothing can use it", cur.Environment, cur.Path, name), err
		}
		return val, "", info, verdictOutage, "not checked: could not read it from Infisical (" + rotation.ErrorMessage(err) + ")", err
	}
	val, fp = vv.Value, vv.Value.Fingerprint()
	cctx, cancel = l.callCtx(ctx)
	info, err = rotation.CheckAs(cctx, l.Checker, kind, vv.Value)
	cancel()
	switch code := rotation.ErrorCode(err); {
	case err == nil:
		return val, fp, info, verdictOK, "", nil
	case code == rotation.EUNAUTHORIZED:
		return val, fp, info, verdictBroken, svc + " refuses the current token `" + fp + "` (401): it was revoked, deleted or has expired", err
	case code == rotation.EINVALID:
		return val, fp, info, verdictBroken, "the value in Infisical is not a usable " + svc + " token: " + rotation.ErrorMessage(err), err
	}
	return val, fp, info, verdictOutage, "not checked: could not ask " + svc + " (" + rotation.ErrorMessage(err) + ")", err
}

// checked is what a pass learned of one secret, before it is recorded.
type checked struct {
	name string
	now  time.Time
	v    verdict
	// rec is the record after the check; basedOn the fingerprint of the record
	// the pass started from ("" for none).
	rec     rotation.ExpiryRecord
	basedOn string
	// changed: rec is stale over the stored record (rotation.ExpiryRecord.Stale).
	// Only changed records are written.
	changed bool
}

// checkedAt is when a token last got an answer from the vault and GitHub.
type checkedAt struct {
	fingerprint string
	at          time.Time
}

// checkOne checks one secret and works out its record; it writes nothing.
func (l *Loop) checkOne(ctx context.Context, name string, known map[string]rotation.ExpiryRecord, stats *passStats) *checked {
	val, fp, info, v, problem, cause := l.check(ctx, name)
	if ctx.Err() != nil {
		return nil
	}
	now := l.now()
	prev, had := known[name]
	l.checkedMu.Lock()
	last := l.lastChecked[name]
	l.checkedMu.Unlock()
	rec := nextRecord(name, prev, had, fp, info, v, problem, now, last)
	l.created(ctx, &rec, val, info, now)
	if v == verdictBroken && rec.Problem == "" {
		v = verdictExpired // GitHub refuses a token we know has expired: that is the expiry, not a break
	}
	if v != verdictOutage {
		l.checkedMu.Lock()
		if l.lastChecked == nil {
			l.lastChecked = map[string]checkedAt{}
		}
		l.lastChecked[name] = checkedAt{fingerprint: rec.Fingerprint, at: now}
		l.checkedMu.Unlock()
	}
	log := l.Log.With("secret", name, "fingerprint", rec.Fingerprint)
	switch {
	case v == verdictOutage:
		stats.add(&stats.unchecked, name)
		if prev.Problem != rec.Problem {
			log.Warn("could not check the token", "problem", rec.Problem, "cause", cause)
		}
	case v == verdictBroken && prev.Problem != rec.Problem:
		log.Error("the token is broken", "problem", rec.Problem, "cause", cause)
	case prev.Problem != "" && rec.Problem == "":
		log.Info("the token checks again")
	}
	c := &checked{name: name, now: now, v: v, rec: rec}
	if had {
		c.basedOn = prev.Fingerprint
	}
	c.changed = !had || rec.Stale(prev)
	return c
}

// nextRecord is the secret's expiry record after a check. A new token (another
// fingerprint) starts with nothing sent; the same token keeps what was sent, and
// keeps what was known of it when this check could not ask.
func nextRecord(name string, prev rotation.ExpiryRecord, had bool, fp string, info rotation.TokenInfo, v verdict, problem string, now time.Time, last checkedAt) rotation.ExpiryRecord {
	var rec rotation.ExpiryRecord
	switch {
	case fp == "" && had: // the vault could not be read: the token is the one we knew
		rec = prev
	case fp == "":
		rec = rotation.ExpiryRecord{Secret: name}
	case had && prev.Fingerprint == fp:
		rec = prev
	default:
		rec = rotation.ExpiryRecord{Secret: name, Fingerprint: fp}
	}
	rec.Sent = maps.Clone(rec.Sent)
	switch v {
	case verdictOK:
		rec.Login, rec.Kind, rec.ExpiresAt, rec.CheckedAt, rec.Problem = info.Login, info.Kind, info.ExpiresAt, now, ""
	case verdictBroken:
		rec.CheckedAt = now
		if fp != "" && known(rec) && !rec.ExpiresAt.IsZero() && !rec.ExpiresAt.After(now) {
			rec.Problem = "" // refused because it expired, as GitHub does
		} else {
			rec.Problem = problem
		}
	case verdictOutage:
		rec.Problem = problem
		if last.fingerprint == rec.Fingerprint && last.at.After(rec.CheckedAt) {
			rec.CheckedAt = last.at // checked since the record was last written
		}
		if !rec.CheckedAt.IsZero() {
			rec.Problem += "; last checked " + words.DateText(rec.CheckedAt)
		}
	}
	return rec
}

// known reports whether the record's expiry comes from GitHub: a successful
// check always records the token's login.
func known(rec rotation.ExpiryRecord) bool { return rec.Login != "" }

// created fills in when the record's token was made, for a secret with
// max_age (the others are not looked up). The service's own date
// (TokenInfo.CreatedAt) wins. Otherwise, once per token: when a run of rotabot
// validated it, found by the run's keyed digest of the value in hand (a person
// pastes a token minutes after making it; GitHub says nothing of a token's
// creation, and Infisical's SDK nothing of when a value was written); failing
// that, now, marked unknown — the token is at least as old as the first time
// rotabot saw it. When the runs cannot be read it stays unknown until a pass can.
func (l *Loop) created(ctx context.Context, rec *rotation.ExpiryRecord, val rotation.Secret, info rotation.TokenInfo, now time.Time) {
	sc := l.Matrix.Secrets[rec.Secret]
	if sc == nil || sc.MaxAge <= 0 || rec.Fingerprint == "" || val.Empty() || val.Fingerprint() != rec.Fingerprint {
		return
	}
	if !info.CreatedAt.IsZero() {
		rec.Created, rec.CreatedUnknown = info.CreatedAt.UTC(), false
		return
	}
	if !rec.Created.IsZero() {
		return
	}
	runs, err := l.Store.ListRuns(ctx, rotation.RunFilter{Secret: rec.Secret})
	if err != nil {
		l.Log.Warn("could not read the runs to learn when a token was made", "secret", rec.Secret, "err", err)
		return
	}
	for _, r := range runs {
		if (r.NewDigest != "" || r.NewFingerprint != "") && r.IsNew(val) {
			if st := r.Step(rotation.StepValidate); st != nil && !st.Finished.IsZero() {
				rec.Created, rec.CreatedUnknown = st.Finished.UTC(), false
				return
			}
		}
	}
	rec.Created, rec.CreatedUnknown = now, true
}
