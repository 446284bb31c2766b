// Package expiry is rotabot's expiry reminder service: a background loop that
// keeps every configured secret's token expiry known — read from the vault and
// asked of GitHub, whether or not the token was ever rotated through the bot —
// and, for a secret with max_age, when its token was made; and tells the
// secret's owners and the ops channel in time before the token is due (its
// expiry or its max age, the earlier), once per threshold, and daily once it is
// past due or broke. After each pass it may run another (Config.AfterPass: the
// runs that start themselves, rotation/autostart). It works through the domain's ports
// (rotation.Vault, rotation.TokenChecker, the expiry, run and claim stores) and
// its own Notifier, and holds the shared claim so two processes take turns. It
// must not know about Slack, GitHub, Infisical or bbolt, and it never holds a
// token beyond one check: records, reminders and logs carry fingerprints.
package expiry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/internal/loop"
)

// Store is what the reminder loop keeps and reads: the expiry records, the
// open runs (a reminder names a secret's open run), and the claim that makes
// two processes take turns.
type Store interface {
	rotation.RunStore
	rotation.ExpiryStore
	rotation.ClaimStore
}

// Config is what a Loop needs, set by the command (or a test). New fills in
// the defaults; the config is not changed after. (The matrix's reminders:
// settings are rotation.Reminders.)
type Config struct {
	Matrix   *rotation.Matrix
	Vault    rotation.Vault
	Checker  rotation.TokenChecker
	Store    Store
	Notifier Notifier
	Now      func() time.Time // default rotation.WallNow
	Log      *slog.Logger     // default: discard
	// Interval is the time between passes (ROTABOT_REMINDER_INTERVAL, default 1 h).
	Interval time.Duration
	// RetryMin is the first wait after a pass that could not check or tell
	// everything; it doubles with each failed pass, up to the larger of Interval
	// and 5 minutes (default 30 s).
	RetryMin time.Duration
	// CallTimeout bounds each call to the vault or GitHub (default 30 s).
	CallTimeout time.Duration
	// Parallel is how many secrets are checked at once (default 4).
	Parallel int
	// Owner names this process in the claim a pass holds (default: host, pid and
	// start time). Two bot processes on one database each run the loop; the claim
	// makes them take turns, so neither says what the other is saying.
	Owner string
	// ClaimTTL is how long the pass's claim lasts without renewal (default 2 min):
	// when a process dies mid-pass, the other's next pass goes ahead after this.
	ClaimTTL time.Duration
	// AfterPass, when set, runs after each pass this process makes (none while
	// another process holds the claim), under the pass's claim: the auto-start
	// pass (rotation/autostart), which reads the records the pass just wrote. Its
	// error makes the loop try again sooner, as the pass's own do.
	AfterPass func(ctx context.Context) error
}

// Loop is the background loop that keeps every configured secret's expiry
// known and reminds its owners and the ops channel in time. Build it with New.
//
// At start-up and every Interval it reads each secret's current value from the
// vault and asks GitHub about it (Reconcile), so expiry is known for secrets never
// rotated through the bot and after the database was lost. What was said is
// remembered per token (fingerprint) in rotation.ExpiryRecord.Sent, so a restart never says
// it twice and a new token starts afresh; when several thresholds have already
// passed, only the most urgent is said. It must not put a token anywhere but in
// the Checker's hands: records, reminders and logs carry fingerprints.
type Loop struct {
	Config

	// thresholds are reminders.days_before, most distant first.
	thresholds []int
	pass       sync.Mutex // one pass at a time in this process
	// lastChecked is when each secret's token (by fingerprint) last got an
	// answer, in this process: a record that did not change is not written
	// again, so its stored CheckedAt may be up to rotation.ExpiryRefresh older.
	checkedMu   sync.Mutex
	lastChecked map[string]checkedAt
	bg          loop.Background
}

// New returns a loop on c, with c's defaults filled in once.
func New(c Config) *Loop {
	if c.Now == nil {
		c.Now = rotation.WallNow
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Interval <= 0 {
		c.Interval = time.Hour
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 30 * time.Second
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.Parallel <= 0 {
		c.Parallel = 4
	}
	if c.Owner == "" {
		c.Owner = rotation.ProcessOwner(":reminders")
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = 2 * time.Minute
	}
	l := &Loop{Config: c}
	days := rotation.DefaultDaysBefore
	if c.Matrix != nil && len(c.Matrix.Reminders.DaysBefore) > 0 {
		days = c.Matrix.Reminders.DaysBefore
	}
	for _, d := range days {
		if d > 0 && !slices.Contains(l.thresholds, d) {
			l.thresholds = append(l.thresholds, d)
		}
	}
	slices.Sort(l.thresholds)
	slices.Reverse(l.thresholds)
	return l
}

// now is the clock in UTC.
func (l *Loop) now() time.Time { return l.Now().UTC() }

// Claim is the claim (rotation.ClaimStore) a pass holds; run ids are "r…".
const Claim = "reminders"

// claim takes the pass's claim and renews it until the returned release is
// called; the pass runs under the returned context, which ends if the claim is
// lost. ok is false when another process's pass holds it.
func (l *Loop) claim(ctx context.Context) (pctx context.Context, release func(), ok bool, err error) {
	return rotation.HoldClaim(ctx, l.Store, Claim, l.Owner, l.ClaimTTL, l.now, l.Log)
}

// dailyGap is how long after an expired or broken report the next one is due.
// It is a day less half an interval, so hourly passes do not make the daily
// report creep an hour later each day.
func (l *Loop) dailyGap() time.Duration {
	return 24*time.Hour - min(l.Interval/2, time.Hour)
}

// RetryWait is the wait after the given number of failed passes in a row.
func (l *Loop) RetryWait(failures int) time.Duration {
	base := l.RetryMin
	ceiling := max(l.Interval, 5*time.Minute)
	d := base
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Start runs Reconcile now and then every Interval until ctx ends or Close is
// called. After a pass that failed, the next comes sooner and backs off.
func (l *Loop) Start(ctx context.Context) { l.bg.Start(ctx, l.loop) }

// Close stops the loop and waits for the pass in hand to end.
func (l *Loop) Close() { l.bg.Stop() }

func (l *Loop) loop(ctx context.Context) {
	ticker := time.NewTicker(l.Interval)
	defer ticker.Stop()
	failures := 0
	for {
		wait := l.Interval
		if err := l.Reconcile(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait = l.RetryWait(failures)
			l.Log.Warn("expiry check incomplete; trying again soon", "err", rotation.ErrorMessage(err), "cause", err,
				"failures", failures, "retry_in", wait.String())
		} else {
			failures = 0
		}
		ticker.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// passStats is what one pass did, for the error that makes the loop back off.
type passStats struct {
	mu        sync.Mutex
	unchecked []string // secrets the vault or GitHub could not be asked about
	untold    []string // secrets whose reminder did not reach everyone
	errs      []error  // store failures
}

func (p *passStats) add(list *[]string, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*list = append(*list, name)
}

func (p *passStats) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, err)
}

func (p *passStats) err(total int) error {
	var errs []error
	if n := len(p.unchecked); n > 0 {
		slices.Sort(p.unchecked)
		errs = append(errs, rotation.Errorf(rotation.EUNAVAILABLE, "%d of %d secrets could not be checked (%s)", n, total, firstNames(p.unchecked)))
	}
	if n := len(p.untold); n > 0 {
		slices.Sort(p.untold)
		errs = append(errs, rotation.Errorf(rotation.EUNAVAILABLE, "reminders of %d secrets did not reach everyone (%s)", n, firstNames(p.untold)))
	}
	return errors.Join(append(errs, p.errs...)...)
}

func firstNames(names []string) string {
	if len(names) <= 3 {
		return fmt.Sprint(names)
	}
	return fmt.Sprintf("%v and %d more", names[:3], len(names)-3)
}

// Reconcile checks every configured secret once and sends what is due. It
// returns an error when something could not be checked, told or stored (the
// loop then tries again sooner); the rest of the pass is done regardless. While
// another process's pass holds the claim it does nothing.
//
// A pass first checks every secret (Parallel at a time), then records in one
// store transaction only the records that changed, then tells what is due. A
// pass in which nothing changed and nothing is due writes nothing but its claim.
func (l *Loop) Reconcile(ctx context.Context) error {
	l.pass.Lock()
	defer l.pass.Unlock()
	pctx, release, ok, err := l.claim(ctx)
	if err != nil {
		return err
	}
	if !ok {
		l.Log.Debug("another process is checking expiry; skipping this pass")
		return nil
	}
	defer release()
	ctx = pctx
	open := l.openRuns(ctx)
	names := l.Matrix.Names()
	stored, err := l.Store.ListExpiry(ctx)
	if err != nil {
		return err
	}
	known := make(map[string]rotation.ExpiryRecord, len(stored))
	for _, rec := range stored {
		known[rec.Secret] = rec
	}
	stats := &passStats{}
	checks := make([]*checked, len(names))
	l.each(ctx, len(names), func(i int) { checks[i] = l.checkOne(ctx, names[i], known, stats) })
	if err := ctx.Err(); err != nil {
		return err
	}
	written := l.record(ctx, checks, stats)
	l.each(ctx, len(checks), func(i int) {
		c := checks[i]
		if c == nil || c.changed && !written[c.name] {
			return // not checked, or not recorded (a newer token, a store failure)
		}
		rem, also, daily := l.due(l.Matrix.Secrets[c.name], c.rec, c.v, c.now)
		if rem == nil {
			return
		}
		rem.OpenRun = open[c.name]
		if !l.tell(ctx, *rem, &c.rec, also, daily, c.now) {
			stats.add(&stats.untold, c.name)
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.AfterPass != nil {
		if err := l.AfterPass(ctx); err != nil {
			stats.fail(err)
		}
	}
	return stats.err(len(names))
}

// each calls fn(0) … fn(n-1), Parallel at a time, and returns when all are done
// (or, once ctx ends, those started are).
func (l *Loop) each(ctx context.Context, n int, fn func(i int)) {
	loop.Parallel(ctx, l.Parallel, n, fn)
}

// openRuns maps each secret with an open run to a line naming it: "r3 (Waiting
// for token)", or "r3 (Waiting for token, started by rotabot 2026-…)" for a run
// rotabot started by itself, which nobody finished yet.
func (l *Loop) openRuns(ctx context.Context) map[string]string {
	runs, err := l.Store.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if err != nil {
		l.Log.Warn("could not list open runs for the reminders", "err", err)
		return nil
	}
	out := make(map[string]string, len(runs))
	for _, run := range runs {
		out[run.Secret] = run.ID + " (" + run.State.Word() + ")"
		if run.Requester == rotation.Rotabot {
			out[run.Secret] = run.ID + " (" + run.State.Word() + ", started by rotabot " + words.DateText(run.Created) + ")"
		}
	}
	return out
}

func (l *Loop) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.CallTimeout)
}
