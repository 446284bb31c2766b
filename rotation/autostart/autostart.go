// Package autostart starts the rotations that are due by themselves
// (auto_start_days): for every secret that has it, once its current token is
// within that many days of being due — its expiry, or its max_age counted from
// when it was made, whichever is earlier, as the reminder loop (rotation/expiry)
// records them — and no run of it is open, it starts the run as /rotate does,
// through the engine's Start, in the ops channel, requested by rotabot, the
// owners named on the card and in its thread; it audits that rotabot started it
// (secret.rotate.auto_started), and it does so at most once a day per secret —
// that entry, kept in the store, says when it last did, across restarts — and
// in one of the processes sharing a database (a claim in the store). Its pass runs after each pass of the reminder
// loop, which keeps reminding the owners and the ops channel of a run nobody
// finishes. It must not know about Slack, GitHub, Infisical or the store's
// technology, and it never holds a token: it reads expiry records and runs.
package autostart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/expiry"
)

// Store is what a pass reads and keeps: the expiry records, the open runs,
// the audit entries, and the daily claim per secret.
type Store interface {
	rotation.RunStore
	rotation.ExpiryStore
	rotation.ClaimStore
	rotation.AuditStore
}

// Engine starts a run and carries it on in the background: rotation.Engine,
// the same Start a /rotate command calls.
type Engine interface {
	Start(ctx context.Context, req rotation.StartRequest) (*rotation.Run, error)
	Go(ctx context.Context, id string)
}

// Notifier publishes an audit entry (the audit channel, or the run's thread):
// the engine's notifier.
type Notifier interface {
	Audited(ctx context.Context, run *rotation.Run, entry rotation.AuditEntry) error
}

// Config is what a Starter needs, set by the command (or a test). New fills in
// the defaults; the config is not changed after.
type Config struct {
	Matrix *rotation.Matrix
	Engine Engine
	Store  Store
	// Notifier posts the audit entry; nil: it is only stored.
	Notifier Notifier
	// Work is the context the runs it starts are carried on under: they outlive
	// the pass (default context.Background()).
	Work context.Context
	Now  func() time.Time // default rotation.WallNow
	Log  *slog.Logger     // default: discard
	// Owner names this process in the daily claims (default: host, pid and
	// start time).
	Owner string
	// CallTimeout bounds a start (its card's post) and the audit post (default 30 s).
	CallTimeout time.Duration
}

// Starter starts the runs that are due. Build it with New; call Pass after each
// reminder pass (expiry.Config.AfterPass).
type Starter struct {
	Config
	// tries numbers this process's claims, so each claim has an owner of its
	// own: a claim renewed by its owner would let a second run start the same day.
	tries atomic.Uint64
}

// New returns a Starter on c, with c's defaults filled in once.
func New(c Config) *Starter {
	if c.Work == nil {
		c.Work = context.Background()
	}
	if c.Now == nil {
		c.Now = rotation.WallNow
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Owner == "" {
		c.Owner = rotation.ProcessOwner(":autostart")
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	return &Starter{Config: c}
}

// ClaimPrefix names the claim (rotation.ClaimStore) "autostart:SECRET" that a
// process is starting, or started less than Daily ago, a run of SECRET.
const ClaimPrefix = "autostart:"

// Daily is how long after rotabot started a run of a secret it starts no other:
// a run cancelled or abandoned is started again the next day at the soonest.
const Daily = 24 * time.Hour

// Pass starts the run of every secret that is due and has no open run. It
// returns an error when a secret could not be looked at or its run could not be
// started (the reminder loop then tries again sooner); the others are done
// regardless.
func (s *Starter) Pass(ctx context.Context) error {
	now := s.Now().UTC()
	recs, err := s.Store.ListExpiry(ctx)
	if err != nil {
		return fmt.Errorf("auto-start: reading the expiry records: %w", err)
	}
	byName := make(map[string]rotation.ExpiryRecord, len(recs))
	for _, rec := range recs {
		byName[rec.Secret] = rec
	}
	open, err := s.Store.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if err != nil {
		return fmt.Errorf("auto-start: reading the open runs: %w", err)
	}
	busy := make(map[string]bool, len(open))
	for _, r := range open {
		busy[r.Secret] = true
	}
	var errs []error
	for _, name := range s.Matrix.Names() {
		sc := s.Matrix.Secrets[name]
		rec, ok := byName[name]
		if sc.AutoStartDays <= 0 || busy[name] || !ok || rec.Fingerprint == "" {
			continue
		}
		at, byAge := expiry.DueAt(rec, sc.MaxAge, now)
		if at.IsZero() || now.Before(at.Add(-time.Duration(sc.AutoStartDays)*24*time.Hour)) {
			continue
		}
		if err := s.start(ctx, sc, rec, at, byAge, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// start starts the secret's run unless rotabot started one less than Daily
// ago: its audit entry says so (it outlives a restart, and the bbolt store drops
// its claims when it opens); the day's claim, taken next, keeps two processes
// sharing a database from both starting one. When no run could be started the
// claim is given back, so the next pass tries again (and finds the open run, if
// a person started one meanwhile).
func (s *Starter) start(ctx context.Context, sc *rotation.SecretConfig, rec rotation.ExpiryRecord, at time.Time, byAge bool, now time.Time) error {
	if last, err := s.lastStart(ctx, sc.Name); err != nil {
		return fmt.Errorf("auto-start of %s: reading its audit entries: %w", sc.Name, err)
	} else if !last.IsZero() && now.Sub(last) < Daily {
		s.Log.Debug("rotabot started a run of this secret less than a day ago; not again yet", "secret", sc.Name, "last", words.DateText(last))
		return nil
	}
	claim := ClaimPrefix + sc.Name
	owner := s.Owner + "#" + strconv.FormatUint(s.tries.Add(1), 10)
	ok, err := s.Store.ClaimRun(ctx, claim, owner, now, Daily)
	if err != nil {
		return fmt.Errorf("auto-start of %s: %w", sc.Name, err)
	}
	if !ok {
		s.Log.Debug("rotabot started a run of this secret less than a day ago; not again yet", "secret", sc.Name)
		return nil
	}
	reason := Reason(sc, rec, at, byAge, now)
	// The start is the day's claim's, not the reminder pass's: it runs under
	// Work, as a person's /rotate runs under the bot's.
	sctx, cancel := context.WithTimeout(s.Work, s.CallTimeout)
	run, err := s.Engine.Start(sctx, rotation.StartRequest{Secret: sc.Name, Requester: rotation.Rotabot, Channel: s.Matrix.Channel, Reason: reason})
	cancel()
	if err != nil {
		if rerr := s.Store.ReleaseRun(context.WithoutCancel(ctx), claim, owner); rerr != nil {
			s.Log.Warn("could not give back the day's auto-start claim", "secret", sc.Name, "err", rerr)
		}
		if rotation.ErrorCode(err) == rotation.ECONFLICT {
			return nil // a run was opened meanwhile: nothing to start
		}
		return fmt.Errorf("auto-start of %s: %w", sc.Name, err)
	}
	s.Log.Info("run started by rotabot", "run", run.ID, "secret", sc.Name, "fingerprint", rec.Fingerprint,
		"due", words.DateText(at), "by_age", byAge, "auto_start_days", sc.AutoStartDays)
	s.Engine.Go(s.Work, run.ID)
	return s.audit(ctx, run, rec, reason, now)
}

// lastStart is when rotabot last started a run of secret by itself (zero: never).
func (s *Starter) lastStart(ctx context.Context, secret string) (time.Time, error) {
	entries, err := s.Store.ListAudit(ctx, secret, 0)
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, e := range entries {
		if e.Action == rotation.ActionAutoStarted && e.At.After(last) {
			last = e.At
		}
	}
	return last, nil
}

// audit stores the entry that rotabot started the run, and posts it. The
// entry is the record: a post that fails is logged (the entry shows in
// /rotate history).
func (s *Starter) audit(ctx context.Context, run *rotation.Run, rec rotation.ExpiryRecord, reason string, now time.Time) error {
	ctx = context.WithoutCancel(ctx)
	entry := rotation.AuditEntry{Action: rotation.ActionAutoStarted, At: now, RunID: run.ID, Secret: run.Secret,
		Actor: rotation.Rotabot, TokenKind: run.TokenKind, Method: run.Method, OldExpiry: rec.ExpiresAt,
		OldFingerprint: rec.Fingerprint, Reason: reason}
	if err := s.Store.AppendAudit(ctx, entry); err != nil {
		s.Log.Error("could not store the audit entry of a run rotabot started", "run", run.ID, "secret", run.Secret, "err", err)
		return fmt.Errorf("auto-start of %s: storing its audit entry: %w", run.Secret, err)
	}
	if s.Notifier == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.CallTimeout)
	defer cancel()
	if err := s.Notifier.Audited(cctx, run, entry); err != nil {
		s.Log.Warn("could not post the audit entry of a run rotabot started; it is in rotabot's audit trail (/rotate history)",
			"run", run.ID, "secret", run.Secret, "err", rotation.ErrorMessage(err), "cause", err)
	}
	return nil
}

// Reason says why rotabot started a run, for its card, its thread and its audit
// entry: "the token `1a2b3c4d` expires in 4 days, on 2026-12-01 10:00 UTC
// (auto_start_days: 7). Owners: <@U0OWNER>".
func Reason(sc *rotation.SecretConfig, rec rotation.ExpiryRecord, at time.Time, byAge bool, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the token `%s` %s (auto_start_days: %d)", rec.Fingerprint, expiry.DueText(at, byAge, sc.MaxAge, now), sc.AutoStartDays)
	if byAge && rec.CreatedUnknown {
		fmt.Fprintf(&b, "; when it was made is unknown, so its age counts from %s, when rotabot first saw it", words.DateText(rec.Created))
	}
	if len(sc.Owners) == 0 {
		b.WriteString(". The routing matrix names no owner")
		return b.String()
	}
	owners := make([]string, len(sc.Owners))
	for i, o := range sc.Owners {
		owners[i] = words.Mention(o)
	}
	b.WriteString(". Owners: " + strings.Join(owners, ", "))
	return b.String()
}
