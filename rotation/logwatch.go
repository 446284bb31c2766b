package rotation

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
)

// The log watch is the SOP's step 6, "tail the Heroku logs for GitHub auth
// errors": once an app runs the new value, its log is read for a window (the
// routing matrix's log_watch) and each line of the app's own output is matched
// against the patterns of a GitHub authentication failure. It runs beside the
// run, not inside a step: the revoke buttons do not wait for it, and the card
// shows it per app. A match fails that destination and, on a run that has not
// revoked, the run — whether it lands while verify still runs or once the run
// waits for revoke: the revoke buttons give way to Rollback (matchWins, decided in
// the store transaction). A log that cannot be read is a warning, not a failure.
// The watch's state is recorded on the run, so a restarted process carries it
// on; one process watches a run at a time (a claim of its own, so a watch never
// blocks a person's gesture).
//
// The reading is the LogWatcher's (rotation/logwatch): it tells the engine what
// it sees through the Watch… methods below, and what that means for the run is
// decided here, each in one store transaction.

// Watchable reports whether a run in state s keeps its log watches going. A
// retry (propagating again) or a rollback ends them.
func (s State) Watchable() bool {
	switch s {
	case StateVerifying, StateVerifyFailed, StateWaitingRevoke, StateRevoking,
		StateAuditing, StateAuditFailed, StateCompleted:
		return true
	}
	return false
}

// LogWatch is the secret's log watch, with the default patterns when the matrix
// names none.
func (e *Engine) LogWatch(secret string) LogWatch {
	lw := LogWatch{}
	if sc, err := e.Matrix.Secret(secret); err == nil {
		lw = sc.LogWatch
	}
	if len(lw.Patterns) == 0 {
		lw.Patterns = defaultLogPatterns
	}
	return lw
}

var defaultLogPatterns = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(DefaultLogPatterns))
	for i, p := range DefaultLogPatterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}()

// watchFor is the watch to start once d's target is up on its release, or nil.
func (e *Engine) watchFor(r *Run, d Destination, rs Restart) *Watch {
	if rs.Phase != RestartUp || r.Method == MethodCLI {
		return nil
	}
	if e.Watcher == nil || !e.Watcher.Reads(d.Kind) {
		return nil
	}
	lw := e.LogWatch(r.Secret)
	if lw.Window <= 0 {
		return nil
	}
	now := e.now()
	return &Watch{State: WatchWatching, From: rs.Created, Since: now, Until: now.Add(lw.Window), Checked: now}
}

// workKey carries, in a step's context, the context the step was started
// under: a watch started by the step outlives the step's claim.
type workKey struct{}

// watchRun has the Watcher watch run id's logs, on a goroutine Wait waits for;
// the Watcher returns at once when it watches the run already.
func (e *Engine) watchRun(ctx context.Context, id string) {
	if e.Watcher == nil || e.draining.Load() {
		return
	}
	if work, ok := ctx.Value(workKey{}).(context.Context); ok {
		ctx = work
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.Watcher.Watch(ctx, id)
	}()
}

// resumeWatches carries on the log watches of recent runs (a restarted process,
// or one taking over from a process that died).
func (e *Engine) resumeWatches(ctx context.Context) error {
	runs, err := e.Store.ListRuns(ctx, RunFilter{Limit: 100})
	if err != nil {
		return err
	}
	for _, r := range runs {
		if len(r.Watching()) > 0 {
			e.watchRun(ctx, r.ID)
		}
	}
	return nil
}

// wakeWatch tells run id's watch, if this process runs one, that the run changed.
func (e *Engine) wakeWatch(id string) {
	if e.Watcher != nil {
		e.Watcher.Wake(id)
	}
}

// ClaimWatch takes or renews run id's watch claim for ttl, so one process
// watches a run at a time (a claim of its own: a watch never blocks a person's
// gesture); ok is false when another process holds it. The watcher stops
// watching before it writes again once it could not; ReleaseWatch gives it up.
func (e *Engine) ClaimWatch(ctx context.Context, id string, ttl time.Duration) (ok bool, _ error) {
	return e.Store.ClaimRun(ctx, "watch:"+id, e.Owner, e.now(), ttl)
}

// ReleaseWatch gives run id's watch claim up.
func (e *Engine) ReleaseWatch(ctx context.Context, id string) error {
	return e.Store.ReleaseRun(ctx, "watch:"+id, e.Owner)
}

// Drained is closed once Drain is called: background work stops at the next
// point where it can resume from the record.
func (e *Engine) Drained() <-chan struct{} { return e.drained }

// WatchEnded records that the windows of r's watches of destinations done have
// passed: clean when the log was read, unwatched (a warning) when it never could
// be. It returns the run as it now stands (r when it could not be recorded).
func (e *Engine) WatchEnded(ctx context.Context, r *Run, done []int) *Run {
	var notes []string
	nr, err := e.update(ctx, r.ID, func(x *Run) error {
		notes = notes[:0]
		for _, i := range done {
			d := &x.Destinations[i]
			w := d.Watch
			if w == nil || w.State != WatchWatching {
				continue
			}
			w.Checked = e.now()
			if w.Read {
				w.State = WatchClean
				notes = append(notes, fmt.Sprintf("Log watch of %s: no %s authentication failure in %s after the restart", d.Label(), x.TokenKind.Service(), words.HumanDuration(w.Until.Sub(w.Since))))
			} else {
				w.State = WatchUnwatched
				notes = append(notes, fmt.Sprintf("⚠️ The log of %s could not be watched: %s", d.Label(), w.Warning))
			}
		}
		return nil
	})
	if err != nil {
		e.runLog(r).Error("could not record the end of a log watch", "err", err)
		return r
	}
	for _, n := range notes {
		e.notify(ctx, nr, n)
	}
	return nr
}

// WatchStopped records that every watch of r still watching stopped: the run
// moved on (it is no longer Watchable).
func (e *Engine) WatchStopped(ctx context.Context, r *Run) {
	if len(r.Watching()) == 0 {
		return
	}
	nr, err := e.update(ctx, r.ID, func(x *Run) error {
		for i := range x.Destinations {
			if w := x.Destinations[i].Watch; w != nil && w.State == WatchWatching {
				w.State, w.Checked = WatchStopped, e.now()
			}
		}
		return nil
	})
	if err == nil {
		e.notify(ctx, nr, "")
	}
}

// WatchOpened records that the log of run id's destination i is open: the watch
// reads it (a warning it had is cleared).
func (e *Engine) WatchOpened(ctx context.Context, id string, i int) {
	e.recordWatch(ctx, id, i, func(w *Watch, _ Destination) (string, bool) {
		if w.Read && w.Warning == "" {
			return "", false
		}
		w.Read, w.Warning = true, ""
		return "", true
	})
}

// WatchFailedToOpen records that the log of run id's destination i could not be
// read (err): a warning on the card, not a failure; the watch tries again.
func (e *Engine) WatchFailedToOpen(ctx context.Context, id string, i int, err error) {
	msg := ErrorMessage(err)
	e.recordWatch(ctx, id, i, func(w *Watch, d Destination) (string, bool) {
		if w.Warning == msg {
			return "", false
		}
		w.Warning = msg
		return "⚠️ Could not watch the log of " + d.Label() + ": " + msg + " (retrying; this does not fail the run)", true
	})
}

// recordWatch changes the watch of run id's destination i, while it watches,
// in one store transaction: change says the card's note and whether it changed
// anything.
func (e *Engine) recordWatch(ctx context.Context, id string, i int, change func(*Watch, Destination) (string, bool)) {
	note := ""
	nr, err := e.update(ctx, id, func(x *Run) error {
		w := x.Destinations[i].Watch
		if w == nil || w.State != WatchWatching {
			return errNoChange
		}
		n, changed := change(w, x.Destinations[i])
		if !changed {
			return errNoChange
		}
		note = n
		return nil
	})
	if err == nil {
		e.notify(ctx, nr, note)
	} else if !errors.Is(err, errNoChange) {
		e.Log.Warn("could not record a log watch", "run", id, "err", err)
	}
}

// errNoChange aborts an update that would change nothing.
var errNoChange = errors.New("no change")

// WatchMatched records that line l of run id's destination i matched pattern:
// it fails the destination whose log showed a GitHub authentication
// failure, its line masked with the run's own tokens (or withheld). Whether the
// run fails too is decided in the same store transaction, on the run as it is
// then (matchWins), whatever the run was doing when the line was read: verify
// still running, its verified transition landing in the same instant, waiting for
// revoke, or a person's Revoke in flight.
func (e *Engine) WatchMatched(ctx context.Context, id string, i int, l LogLine, pattern string) {
	defer e.pause(pauseMatchDone)
	r, err := e.Store.GetRun(ctx, id)
	if err != nil {
		e.Log.Error("could not record a log watch match", "run", id, "err", err)
		return
	}
	// The versions masking reads the tokens by are fixed once the run stores
	// its value: a read before the transaction is enough for them.
	line := clipLine(e.maskLine(ctx, r, l, pattern), 300)
	e.pause(pauseMatch)
	var msg string
	nr, err := e.move(ctx, id, func(x *Run) (Event, error) {
		xd := &x.Destinations[i]
		if xd.Watch == nil || xd.Watch.State != WatchWatching {
			return "", errNoChange
		}
		msg = fmt.Sprintf("%s logged a %s authentication failure after the restart: `%s`", xd.Target, x.TokenKind.Service(), line)
		xd.Watch.State, xd.Watch.Match, xd.Watch.Checked = WatchMatched, line, e.now()
		if !x.State.Final() {
			if to, err := NextDest(xd.State, DestEvFail); err == nil {
				xd.State, xd.LastError = to, msg
			}
		}
		return "", nil
	})
	if err != nil {
		if !errors.Is(err, errNoChange) {
			e.Log.Error("could not record a log watch match", "run", id, "dest", i, "err", err)
		}
		return
	}
	e.runLog(nr).Warn("log watch matched: "+nr.TokenKind.Service()+" authentication failure", "dest", nr.Destinations[i].Label())
	e.notify(ctx, nr, "❌ "+msg+matchOutcome(nr))
}

// matchOutcome says, after a match's note, what it means for the run as it now
// stands.
func matchOutcome(r *Run) string {
	switch {
	case r.State == StateVerifyFailed && r.Can(EvRollback):
		return " — the revoke buttons are withdrawn: Rollback restores the old token; Retry sets the value again"
	case r.State == StateRevoking:
		return " — a revoke of the old token is under way: its result follows"
	case r.RevokeAttempted || r.RevokeSent:
		return " — a revoke of the old token was started, so rollback is no longer possible: set the value there again, or start a new run with /rotate " + r.Secret
	}
	return ""
}

// matchWins is the one rule of a log watch match, applied inside every store
// transaction that moves a run (Engine.move): a run where a match fails it
// (waiting for revoke: EvWatchFail) with a destination a match failed, goes to
// verify failed there and then. So a match recorded while verify still ran fails
// the verified transition that follows it, and one recorded while a revoke was
// under way fails the run as soon as the revoke's result leaves it waiting again.
// It reports whether it moved the run.
func (e *Engine) matchWins(x *Run) bool {
	if !x.State.Allowed(EvWatchFail) {
		return false
	}
	msgs := watchMatches(x)
	if len(msgs) == 0 {
		return false
	}
	to, err := Next(x.State, EvWatchFail)
	if err != nil {
		return false
	}
	msg, now := strings.Join(msgs, "; "), e.now()
	x.State = to
	x.stepEnd(StepVerify, StepFailed, "", msg, now)
	if s := x.Step(StepRevoke); s != nil {
		s.State, s.Started, s.Finished, s.Message = StepPending, time.Time{}, time.Time{}, ""
	}
	hint := "Rollback restores the old token; Retry sets the value again"
	if !x.Can(EvRollback) {
		hint = "a revoke of the old token was started, so rollback is no longer possible: Retry sets the value again, or start a new run with /rotate " + x.Secret
	}
	x.Notice, x.RetryAt = "Failed at "+string(StepVerify)+": "+msg+" — "+hint, time.Time{}
	return true
}

// watchMatched reports whether a log watch match failed d (and nothing wrote
// it again since).
func watchMatched(d Destination) bool {
	return d.State == DestFailed && d.Watch != nil && d.Watch.State == WatchMatched
}

// watchMatches are what the log watches said of the destinations they failed.
func watchMatches(r *Run) []string {
	var out []string
	for _, d := range r.Destinations {
		if watchMatched(d) {
			out = append(out, d.LastError)
		}
	}
	return out
}

// maskLine is l as it may be shown: its text masked (the engine's Masker) with
// the run's own old and new value — read from the vault for this, and dropped
// when it returns — and the shapes other credentials take. When there is no
// Masker, those values cannot be read, or the masked text could still hold one,
// the text is withheld: the line is told by its time, its source and the
// pattern it matched, to be read in the app's log.
func (e *Engine) maskLine(ctx context.Context, r *Run, l LogLine, pattern string) string {
	if e.Masker == nil {
		return withheld(l, pattern, "rotabot has no masker for log lines")
	}
	values, err := e.runValues(ctx, r)
	if err == nil {
		if text, ok := e.Masker.MaskLine(l.Text, values...); ok {
			l.Text = text
			return l.String()
		}
		err = Errorf(EINTERNAL, "the masked line could still hold part of a token")
	}
	e.runLog(r).Warn("log watch: the matched line is withheld", "err", err)
	return withheld(l, pattern, ErrorMessage(err))
}

// withheld is l told without its text: when, where, why, and the pattern it
// matched.
func withheld(l LogLine, pattern, why string) string {
	l.Text = fmt.Sprintf("(the line is withheld — %s; it matched %q: read it in the app's log)", why, pattern)
	return l.String()
}

// runValues reads the run's old and new value from the vault by version, each
// checked against the run's digests: what a line of the run's logs is masked
// with. The caller drops them once the line is masked.
func (e *Engine) runValues(ctx context.Context, r *Run) ([]Secret, error) {
	cur, _ := e.refs(r)
	var out []Secret
	for _, v := range []struct {
		version int
		is      func(Secret) bool
		what    string
	}{{r.VaultVersionBefore, r.IsOld, "old"}, {r.NewVaultVersion, r.IsNew, "new"}} {
		if v.version <= 0 {
			return nil, Errorf(EINTERNAL, "the run knows no Infisical version of its %s token", v.what)
		}
		cctx, cancel := e.callCtx(ctx)
		s, err := e.Vault.ReadVersion(cctx, cur, v.version)
		cancel()
		if err != nil {
			return nil, Wrap(ErrorCode(err), err, "rotabot could not read the run's %s token from Infisical to mask it (%s)", v.what, ErrorMessage(err))
		}
		if !v.is(s) {
			return nil, Errorf(EINVALID, "Infisical version %d of %s is not the run's %s token, so it cannot be masked", v.version, r.Secret, v.what)
		}
		out = append(out, s)
	}
	return out, nil
}

// watchFailures are the destinations a log watch failed, as errors for a step.
func watchFailures(r *Run) []error {
	var errs []error
	for _, d := range r.Destinations {
		if watchMatched(d) {
			errs = append(errs, fmt.Errorf("%s: %w", d.Label(), Errorf(EINVALID, "%s", d.LastError)))
		}
	}
	return errs
}

// clipLine shortens a line for the card.
func clipLine(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
