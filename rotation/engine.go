package rotation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raxx-app/rotabot/rotation/internal/inflight"
)

// EngineConfig is what an Engine needs: its dependencies and settings, set by
// the command (or a test). Nothing is read from package globals. NewEngine fills in
// the defaults; the config is not changed after.
type EngineConfig struct {
	Matrix    *Matrix
	Vault     Vault
	Checker   TokenChecker
	Consumers map[DestKind]Consumer
	Revoker   Revoker
	// Minters make the new value of the kinds rotabot mints (no paste).
	Minters map[TokenKind]Minter
	HTTP    HTTPChecker
	// Holders find where a value is held outside the routing matrix
	// (rotation/discover): verify's last look for the old token, a dry run's
	// unknown consumers; nil: no scan.
	Holders HolderFinder
	// Releasers follow the release a write makes and the restart onto it, for
	// the destination kinds that restart (Heroku); verify waits for them.
	Releasers map[DestKind]Releaser
	// Masker masks the line a log watch matched before it is shown or kept;
	// nil: the line is withheld (its time, source and pattern are shown).
	Masker LineMasker
	// Notifier shows runs to people; nil for none (a dry run).
	Notifier Notifier
	Store    EngineStore
	Log      *slog.Logger // default: discard
	// Now is the clock (default WallNow).
	Now func() time.Time
	// Sleep waits d or until ctx ends (default: a timer); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// CallTimeout bounds each call to an outside service (default 60 s).
	CallTimeout time.Duration
	// UnavailableTries is how often a step retries a service that is down or rate
	// limited before the run shows the step failed (default 3).
	UnavailableTries int
	// RetryWait is the first wait before such a retry when the service named
	// none; it doubles each time (default 2 s).
	RetryWait time.Duration
	// SlowCall is how long a call may go unanswered before the run says it waits
	// on it (default DefaultSlowCall).
	SlowCall time.Duration
	// RevokeChecks is how often the old token is tried after a revoke before the
	// run goes back to waiting (GitHub may take a moment; default 3).
	RevokeChecks int
	// Owner names this process in run claims (default: host, pid and start time).
	Owner string
	// ClaimTTL is how long a claim on a run lasts without renewal (default 30 s):
	// when a process dies, another takes its runs over after this.
	ClaimTTL time.Duration
	// Rand makes each run's digest key (default crypto/rand.Reader).
	Rand io.Reader
}

// Engine walks runs through the SOP. Build it with NewEngine.
type Engine struct {
	EngineConfig
	// Watcher reads the logs of restarted targets for the log watch
	// (rotation/logwatch); nil: no log is watched. It is attached once after
	// NewEngine, before the engine runs anything.
	Watcher LogWatcher
	// Restarts follows the release and restart a write made (rotation/release);
	// it is attached as Watcher is. Nil: a destination that restarts fails
	// verify, never passes it unwaited.
	Restarts RestartWaiter

	locks    sync.Map // run id → *sync.Mutex
	running  sync.Map // run id → struct{}: carried on by a goroutine of this process
	again    sync.Map // run id → struct{}: asked for while running
	wg       sync.WaitGroup
	draining atomic.Bool
	drained  chan struct{} // closed by Drain
	shown    sync.Map      // run id → *shownCard
	// heroku is the matrix's Heroku waits, defaults filled in.
	heroku HerokuSettings
	calls  inflight.Tracker // each run's calls waiting for an answer
	// pauseAt, when set (tests only), is called at each pause point.
	pauseAt func(pausePoint)
	// holds numbers this process's holds of write claims (claimWrite).
	holds atomic.Uint64
}

// NewEngine returns an engine on c, with c's defaults filled in once.
func NewEngine(c EngineConfig) *Engine {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = WallNow
	}
	if c.Sleep == nil {
		c.Sleep = Sleep
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 60 * time.Second
	}
	if c.UnavailableTries <= 0 {
		c.UnavailableTries = 3
	}
	if c.RetryWait <= 0 {
		c.RetryWait = 2 * time.Second
	}
	if c.RevokeChecks <= 0 {
		c.RevokeChecks = 3
	}
	if c.SlowCall <= 0 {
		c.SlowCall = DefaultSlowCall
	}
	if c.Owner == "" {
		c.Owner = ProcessOwner("")
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = 30 * time.Second
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	e := &Engine{EngineConfig: c, drained: make(chan struct{})}
	e.calls = inflight.Tracker{Slow: c.SlowCall, Say: e.sayWaiting, WG: &e.wg}
	if c.Matrix != nil {
		e.heroku = c.Matrix.Heroku
	}
	if e.heroku.ReleaseTimeout <= 0 {
		e.heroku.ReleaseTimeout = DefaultReleaseTimeout
	}
	if e.heroku.RestartTimeout <= 0 {
		e.heroku.RestartTimeout = DefaultRestartTimeout
	}
	return e
}

// Drain makes background runs stop after the step in hand (shutdown): they
// resume at the next start.
func (e *Engine) Drain() {
	if e.draining.CompareAndSwap(false, true) {
		close(e.drained)
	}
}

// now is the clock in UTC: times are stored and shown in UTC.
func (e *Engine) now() time.Time { return e.Now().UTC() }

// Sleep waits d, or until ctx ends (then it returns ctx's error). The adapters
// and handlers wait with it too.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (e *Engine) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.CallTimeout)
}

// lock serialises everything this process does to one run. The store's
// from-state check guards against other processes and against stale clicks.
func (e *Engine) lock(id string) func() {
	m, _ := e.locks.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// runLog is the logger of one run: every line carries the run, the secret and
// the step the run is at.
func (e *Engine) runLog(r *Run) *slog.Logger {
	return e.Log.With("run", r.ID, "secret", r.Secret, "step", r.State.Step())
}

// transition applies ev to the stored run in one store transaction: the move must
// be in the table from the state stored now, then mutate may change the run.
func (e *Engine) transition(ctx context.Context, id string, ev Event, mutate func(*Run) error) (*Run, error) {
	return e.move(ctx, id, func(r *Run) (Event, error) {
		if _, err := Next(r.State, ev); err != nil {
			return "", err
		}
		if mutate != nil {
			if err := mutate(r); err != nil {
				return "", err
			}
		}
		return ev, nil
	})
}

// move is the one read-check-write of a run's state: in one store transaction,
// pick sees the run as stored now, may change it, and names the event to apply
// ("" for none), which must be in the table from that state. A log watch match
// wins (matchWins) before pick and after the event, in the same transaction. A
// decision that depends on the run's state is made here, on the state it is
// applied to — never on a read made before, which another process or goroutine
// may have overtaken.
func (e *Engine) move(ctx context.Context, id string, pick func(*Run) (Event, error)) (*Run, error) {
	if err := claimLost(ctx); err != nil {
		return nil, err
	}
	type moved struct {
		from State
		ev   Event
		to   State
	}
	var moves []moved
	r, err := e.Store.UpdateRun(ctx, id, func(r *Run) error {
		if err := claimLost(ctx); err != nil {
			return err
		}
		moves = moves[:0]
		// A match recorded alone by an older rotabot (the run went on to wait
		// for revoke) wins first: pick sees the run as the rule leaves it.
		if before := r.State; e.matchWins(r) {
			moves = append(moves, moved{before, EvWatchFail, r.State})
		}
		from := r.State
		ev, err := pick(r)
		if err != nil {
			return err
		}
		if ev != "" {
			to, err := Next(from, ev)
			if err != nil {
				return err
			}
			r.State = to
			moves = append(moves, moved{from, ev, to})
			if s := r.Step(to.Step()); s != nil && to != from && to.Automatic() {
				s.Until, s.Budget = e.stepDeadline(r, to.Step()) // what announceStep shows
			}
		}
		if before := r.State; e.matchWins(r) {
			moves = append(moves, moved{before, EvWatchFail, r.State})
		}
		r.Updated = e.now()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, m := range moves {
		e.runLog(r).Info("run moved", "from", string(m.from), "event", string(m.ev), "to", string(m.to))
	}
	if len(moves) > 0 {
		e.wakeWatch(r.ID)
	}
	return r, nil
}

// update changes the run without a state move (a destination's outcome, a notice).
func (e *Engine) update(ctx context.Context, id string, mutate func(*Run) error) (*Run, error) {
	if err := claimLost(ctx); err != nil {
		return nil, err
	}
	return e.Store.UpdateRun(ctx, id, func(r *Run) error {
		if err := claimLost(ctx); err != nil {
			return err
		}
		if err := mutate(r); err != nil {
			return err
		}
		r.Updated = e.now()
		return nil
	})
}

// notify tells people about the run and records where its card is when the
// notifier posted it. A failing notifier does not stop the run.
func (e *Engine) notify(ctx context.Context, r *Run, note string) {
	if e.Notifier == nil || r == nil || claimLost(ctx) != nil {
		return
	}
	// A run's card changes in the order its record did: the log watch shows
	// changes beside the steps, and a copy of the run older than one already
	// shown would draw the card back in time. Such a copy is replaced by the
	// run as stored now (its note is posted all the same).
	m, _ := e.shown.LoadOrStore(r.ID, &shownCard{})
	sc := m.(*shownCard)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if r.Updated.Before(sc.updated) {
		if cur, err := e.Store.GetRun(ctx, r.ID); err == nil {
			r = cur
		}
	}
	sc.updated = r.Updated
	card, err := e.Notifier.RunChanged(ctx, r, note)
	if card != (CardRef{}) && card != r.Card {
		if _, uerr := e.update(context.WithoutCancel(ctx), r.ID, func(x *Run) error { x.Card = card; return nil }); uerr != nil {
			e.runLog(r).Error("could not record where the run's card is", "err", uerr)
		} else {
			r.Card = card
		}
	}
	if err != nil {
		e.runLog(r).Warn("could not show the run's change", "err", ErrorMessage(err), "cause", err)
	}
}

// shownCard is the newest copy of a run this process has shown.
type shownCard struct {
	mu      sync.Mutex
	updated time.Time
}

// Get returns a run.
func (e *Engine) Get(ctx context.Context, id string) (*Run, error) { return e.Store.GetRun(ctx, id) }

// Advance carries the run on while the bot, not a person, acts next. It returns
// the run as it stands when a person must act, or when the run is over. While it
// works it holds a claim on the run, renewed as it goes, so another process on
// the same database leaves the run alone; when another process holds the claim,
// Advance returns the run as it is.
func (e *Engine) Advance(ctx context.Context, id string) (*Run, error) {
	sctx, release, ok, err := HoldClaim(ctx, e.Store, id, e.Owner, e.ClaimTTL, e.now, e.Log)
	if err != nil {
		return nil, err
	}
	if !ok {
		return e.Store.GetRun(ctx, id)
	}
	defer release()
	// What outlives the step (a log watch) runs under ctx, not the claim's.
	sctx = context.WithValue(sctx, workKey{}, ctx)
	for {
		r, err := e.step(sctx, id)
		if claimLost(sctx) != nil {
			// Another process carries the run on now (or may, once the claim
			// expires): leave it to them.
			return e.Store.GetRun(ctx, id)
		}
		if err != nil || r == nil || !r.State.Automatic() || e.draining.Load() {
			return r, err
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
}

// step performs the one step the run's state calls for. A panic in it (a bug)
// does not stop the process: it is logged without its value and the step fails
// as any step does, so Retry can carry the run on.
func (e *Engine) step(ctx context.Context, id string) (out *Run, outErr error) {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.Store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			e.logPanic(r, "step", p)
			out, outErr = e.failPanicked(ctx, r)
		}
	}()
	switch r.State {
	case StatePrechecking:
		return e.precheck(ctx, r)
	case StateStoring:
		return e.store(ctx, r)
	case StatePropagating:
		return e.propagate(ctx, r)
	case StateVerifying:
		return e.verify(ctx, r)
	case StateRevoking:
		return e.revoke(ctx, r)
	case StateAuditing:
		return e.audit(ctx, r)
	case StateRollingBack:
		return e.rollback(ctx, r)
	}
	return r, nil
}

// Go runs Advance in the background, unless this process already carries the
// run on; Wait waits for every such run to stop at a point where a person acts
// (or the context ends).
func (e *Engine) Go(ctx context.Context, id string) {
	if e.draining.Load() {
		return
	}
	if _, busy := e.running.LoadOrStore(id, struct{}{}); busy {
		// The goroutine on it re-reads the run after each step and picks up
		// whatever made this call.
		e.again.Store(id, struct{}{})
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				e.logPanic(&Run{ID: id}, "run", p)
				e.running.Delete(id)
			}
		}()
		for {
			e.again.Delete(id)
			if _, err := e.Advance(ctx, id); err != nil && ctx.Err() == nil {
				e.Log.Error("run stopped with an error", "run", id, "err", ErrorMessage(err), "cause", err)
			}
			e.running.Delete(id)
			// A gesture that arrived while we finished asks for one more pass.
			if _, more := e.again.LoadAndDelete(id); !more || ctx.Err() != nil || e.draining.Load() {
				return
			}
			if _, busy := e.running.LoadOrStore(id, struct{}{}); busy {
				return
			}
		}
	}()
}

// StartResumer resumes open runs now and then every interval, so a run whose
// process died is taken over once its claim expires. It stops with ctx.
func (e *Engine) StartResumer(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = e.ClaimTTL
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		drained := e.drained
		for {
			select {
			case <-ctx.Done():
				return
			case <-drained:
				return
			case <-t.C:
				if e.draining.Load() {
					return
				}
				e.resumeOnce(ctx)
			}
		}
	}()
}

// Wait waits for the background work started with Go.
func (e *Engine) Wait() { e.wg.Wait() }

// Resume carries on every open run whose next step is the bot's: what a restarted
// process does first. Writes recorded as done are not redone; a write that was in
// flight is redone (setting the same value twice is harmless).
func (e *Engine) Resume(ctx context.Context) ([]*Run, error) {
	open, err := e.Store.ListRuns(ctx, RunFilter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	var resumed []*Run
	for _, r := range open {
		if _, mine := e.running.Load(r.ID); r.State.Automatic() && !mine {
			resumed = append(resumed, r)
			e.Go(ctx, r.ID)
		}
	}
	if err := e.resumeWatches(ctx); err != nil {
		return resumed, err
	}
	return resumed, nil
}

// resumeOnce is one pass of the resumer; a panic in it is logged and the next
// pass comes as usual.
func (e *Engine) resumeOnce(ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			e.logPanic(&Run{}, "resumer", p)
		}
	}()
	if _, err := e.Resume(ctx); err != nil && ctx.Err() == nil {
		e.Log.Warn("could not look for runs to resume", "err", err)
	}
}

// logPanic logs a recovered panic with its type and the stack, never its value:
// a panic's value can hold whatever the code had in hand, a token included.
func (e *Engine) logPanic(r *Run, where string, p any) {
	e.Log.Error("panic in the "+where+": see the stack; the run is left for Retry",
		"run", r.ID, "secret", r.Secret, "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
}

// failPanicked moves a run whose step panicked to the state its failure leads to
// in the transition table (Revoking goes back to waiting), so a person can retry.
func (e *Engine) failPanicked(ctx context.Context, r *Run) (*Run, error) {
	err := Errorf(EINTERNAL, "internal error, see the bot's logs")
	// The step may have moved the run before it panicked: fail it from where it is.
	if cur, gerr := e.Store.GetRun(context.WithoutCancel(ctx), r.ID); gerr == nil {
		r = cur
	}
	if !r.State.Automatic() {
		return r, nil
	}
	if r.State == StateRevoking {
		return e.revokePending(ctx, r, "Could not revoke: "+ErrorMessage(err))
	}
	for _, ev := range Events {
		if to, nerr := Next(r.State, ev); nerr == nil && to.Failed() {
			return e.fail(ctx, r, ev, r.State.Step(), err)
		}
	}
	return r, err
}

// newDigestKey makes a run's own HMAC key (Run.DigestKey).
func (e *Engine) newDigestKey() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(e.Rand, b); err != nil {
		return "", Wrap(EINTERNAL, err, "could not make the run's digest key")
	}
	return hex.EncodeToString(b), nil
}

// ensureDigestKey gives a run recorded without a digest key (by an older rotabot)
// one, inside the store transaction about to record a digest.
func (e *Engine) ensureDigestKey(x *Run) error {
	if x.DigestKey != "" {
		return nil
	}
	k, err := e.newDigestKey()
	if err != nil {
		return err
	}
	x.DigestKey = k
	return nil
}
