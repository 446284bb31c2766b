package rotation

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
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

// logHistory is how many lines from before a log session are asked for: logplex
// sends at most 1500. Lines older than the release are skipped.
const logHistory = 1500

// catchUp is how long a watch found past its window (the process was down) reads
// the log's history before it ends, so lines written meanwhile are not missed.
const catchUp = 3 * time.Second

// watchable reports whether a run in state s keeps its log watches going. A
// retry (propagating again) or a rollback ends them.
func watchable(s State) bool {
	switch s {
	case StateVerifying, StateVerifyFailed, StateWaitingRevoke, StateRevoking,
		StateAuditing, StateAuditFailed, StateCompleted:
		return true
	}
	return false
}

// logWatch is the secret's log watch, with the default patterns when the matrix
// names none.
func (e *Engine) logWatch(secret string) LogWatch {
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
	if _, ok := e.Logs[d.Kind]; !ok {
		return nil
	}
	lw := e.logWatch(r.Secret)
	if lw.Window <= 0 {
		return nil
	}
	now := e.now()
	return &Watch{State: WatchWatching, From: rs.Created, Since: now, Until: now.Add(lw.Window), Checked: now}
}

// refreshEvery is how often a watch updates the card's countdown.
func refreshEvery(window time.Duration) time.Duration {
	return min(max(window/6, time.Second), 10*time.Second)
}

// workKey carries, in a step's context, the context the step was started
// under: a watch started by the step outlives the step's claim.
type workKey struct{}

// watchRun makes sure this process watches run id's logs, unless it already does.
func (e *Engine) watchRun(ctx context.Context, id string) {
	if e.draining.Load() {
		return
	}
	if work, ok := ctx.Value(workKey{}).(context.Context); ok {
		ctx = work
	}
	if _, busy := e.watches.LoadOrStore(id, struct{}{}); busy {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			claimed := e.runWatch(ctx, id)
			e.watches.Delete(id)
			if !claimed || ctx.Err() != nil || e.draining.Load() {
				return
			}
			// A watch added while this one was ending is picked up here.
			r, err := e.Store.GetRun(ctx, id)
			if err != nil || !watchable(r.State) || len(r.Watching()) == 0 {
				return
			}
			if _, busy := e.watches.LoadOrStore(id, struct{}{}); busy {
				return
			}
		}
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
	if w, ok := e.wakes.Load(id); ok {
		select {
		case w.(chan struct{}) <- struct{}{}:
		default:
		}
	}
}

// watchEvent is what a tail tells its watch.
type watchEvent struct {
	i      int // destination
	opened bool
	match  *LogLine
	// pattern is the log_watch pattern the line matched.
	pattern string
	err     error
}

type tailing struct {
	cancel context.CancelFunc
	end    time.Time
}

// runWatch watches the logs of run id's destinations until every window has
// passed, the run moves on, or the process stops. It reports false when another
// process holds the watch.
func (e *Engine) runWatch(parent context.Context, id string) bool {
	ctx, release, ok, err := HoldClaim(parent, e.Store, "watch:"+id, e.Owner, e.ClaimTTL, e.now, e.Log)
	if err != nil || !ok {
		return false
	}
	defer release()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	// A change of the run (a rollback, a retry) wakes the watch at once.
	wake := make(chan struct{}, 1)
	e.wakes.Store(id, wake)
	defer e.wakes.Delete(id)
	events := make(chan watchEvent)
	tails := map[int]*tailing{}
	caughtUp := map[int]time.Time{} // a watch found past its window: its catch-up's end
	first := true
	var ticked time.Time
	for {
		r, err := e.Store.GetRun(ctx, id)
		if err != nil {
			e.Log.Warn("log watch: could not read the run", "run", id, "err", err)
			return true
		}
		if !watchable(r.State) {
			e.endWatches(ctx, r, tails, WatchStopped)
			return true
		}
		lw := e.logWatch(r.Secret)
		now := e.now()
		var done []int
		for i, d := range r.Destinations {
			w := d.Watch
			if w == nil || w.State != WatchWatching {
				if t := tails[i]; t != nil {
					t.cancel()
					delete(tails, i)
				}
				continue
			}
			end := w.Until
			if first && !now.Before(w.Until) {
				caughtUp[i] = now.Add(catchUp)
			}
			if c, ok := caughtUp[i]; ok {
				end = c
			}
			if !now.Before(end) {
				done = append(done, i)
				continue
			}
			if tails[i] == nil {
				// A timeout, not a deadline: end is on the engine's clock,
				// which need not be the machine's.
				tctx, cancel := context.WithTimeout(wctx, end.Sub(now))
				tails[i] = &tailing{cancel: cancel, end: end}
				go e.tail(tctx, e.Logs[d.Kind], d.Target, i, w.From, lw.Patterns, events)
			}
		}
		first = false
		r = e.finishWatches(ctx, r, done, tails)
		if len(r.Watching()) == 0 {
			return true
		}
		every := refreshEvery(lw.Window)
		if now.Sub(ticked) >= every {
			e.tick(ctx, r)
			ticked = now
		}
		refresh := time.NewTimer(every - now.Sub(ticked))
		select {
		case <-ctx.Done():
		case <-e.drained:
		case ev := <-events:
			e.watchEvent(ctx, r, ev, tails)
		case <-wake:
		case <-refresh.C:
		}
		refresh.Stop()
		if ctx.Err() != nil || e.draining.Load() {
			return true // the watch resumes at the next start
		}
	}
}

// tick records when the watch looked, so the card counts down.
func (e *Engine) tick(ctx context.Context, r *Run) {
	now := e.now()
	nr, err := e.update(ctx, r.ID, func(x *Run) error {
		for i := range x.Destinations {
			if w := x.Destinations[i].Watch; w != nil && w.State == WatchWatching {
				w.Checked = now
			}
		}
		return nil
	})
	if err == nil {
		e.notify(ctx, nr, "")
	}
}

// finishWatches ends the watches whose window has passed: clean when the log
// was read, unwatched (a warning) when it never could be.
func (e *Engine) finishWatches(ctx context.Context, r *Run, done []int, tails map[int]*tailing) *Run {
	if len(done) == 0 {
		return r
	}
	for _, i := range done {
		if t := tails[i]; t != nil {
			t.cancel()
			delete(tails, i)
		}
	}
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
				notes = append(notes, fmt.Sprintf("Log watch of %s: no GitHub authentication failure in %s after the restart", d.Label(), HumanDuration(w.Until.Sub(w.Since))))
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

// endWatches stops every watch of a run that moved on.
func (e *Engine) endWatches(ctx context.Context, r *Run, tails map[int]*tailing, state string) {
	for i, t := range tails {
		t.cancel()
		delete(tails, i)
	}
	if len(r.Watching()) == 0 {
		return
	}
	nr, err := e.update(ctx, r.ID, func(x *Run) error {
		for i := range x.Destinations {
			if w := x.Destinations[i].Watch; w != nil && w.State == WatchWatching {
				w.State, w.Checked = state, e.now()
			}
		}
		return nil
	})
	if err == nil {
		e.notify(ctx, nr, "")
	}
}

// tail reads one target's log until ctx ends or a line matches, reopening the
// stream when it drops; it tells the watch what happens.
func (e *Engine) tail(ctx context.Context, lt LogTailer, target string, i int, from time.Time, pats []*regexp.Regexp, events chan<- watchEvent) {
	send := func(ev watchEvent) bool {
		select {
		case events <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	wait := time.Second
	for ctx.Err() == nil {
		tctx, cancel := context.WithCancel(ctx)
		var matched *LogLine
		var pattern string
		err := lt.TailLogs(tctx, target, logHistory, func() {
			wait = time.Second
			send(watchEvent{i: i, opened: true})
		}, func(l LogLine) {
			if matched != nil || !l.AppOutput() || l.Time.Before(from) {
				return
			}
			for _, p := range pats {
				if p.MatchString(l.Text) {
					matched, pattern = &l, p.String()
					cancel()
					return
				}
			}
		})
		cancel()
		if matched != nil {
			send(watchEvent{i: i, match: matched, pattern: pattern})
			return
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = Errorf(EUNAVAILABLE, "the log stream of %s ended", target)
		}
		if !send(watchEvent{i: i, err: err}) {
			return
		}
		if e.Sleep(ctx, wait) != nil {
			return
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// watchEvent records what a tail said.
func (e *Engine) watchEvent(ctx context.Context, r *Run, ev watchEvent, tails map[int]*tailing) {
	if ev.match != nil {
		if t := tails[ev.i]; t != nil {
			t.cancel()
			delete(tails, ev.i)
		}
		e.logMatched(ctx, r.ID, ev.i, *ev.match, ev.pattern)
		return
	}
	note := ""
	nr, err := e.update(ctx, r.ID, func(x *Run) error {
		w := x.Destinations[ev.i].Watch
		if w == nil || w.State != WatchWatching {
			return errNoChange
		}
		if ev.opened {
			if w.Read && w.Warning == "" {
				return errNoChange
			}
			w.Read, w.Warning = true, ""
			return nil
		}
		msg := ErrorMessage(ev.err)
		if w.Warning == msg {
			return errNoChange
		}
		w.Warning = msg
		note = "⚠️ Could not watch the log of " + x.Destinations[ev.i].Label() + ": " + msg + " (retrying; this does not fail the run)"
		return nil
	})
	if err == nil {
		e.notify(ctx, nr, note)
	} else if !errors.Is(err, errNoChange) {
		e.runLog(r).Warn("could not record a log watch", "err", err)
	}
}

// errNoChange aborts an update that would change nothing.
var errNoChange = errors.New("no change")

// logMatched fails the destination whose log showed a GitHub authentication
// failure, its line masked with the run's own tokens (or withheld). Whether the
// run fails too is decided in the same store transaction, on the run as it is
// then (matchWins), whatever the run was doing when the line was read: verify
// still running, its verified transition landing in the same instant, waiting for
// revoke, or a person's Revoke in flight.
func (e *Engine) logMatched(ctx context.Context, id string, i int, l LogLine, pattern string) {
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
		msg = fmt.Sprintf("%s logged a GitHub authentication failure after the restart: `%s`", xd.Target, line)
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
	e.runLog(nr).Warn("log watch matched: GitHub authentication failure", "dest", nr.Destinations[i].Label())
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
