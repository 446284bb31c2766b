package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// ReminderKind says why people are told about a token.
type ReminderKind string

const (
	// ReminderDue: one of reminders.days_before has been reached.
	ReminderDue ReminderKind = "due"
	// ReminderExpired: the token has expired; said again every day until rotated.
	ReminderExpired ReminderKind = "expired"
	// ReminderNoExpiry: the token never expires; said once per token.
	ReminderNoExpiry ReminderKind = "no-expiry"
	// ReminderBroken: the token cannot be used (GitHub refuses it, it is not a
	// GitHub token, or it is missing from the vault); said again every day.
	ReminderBroken ReminderKind = "broken"
)

// Reminder is one thing to tell a secret's owners and the ops channel. It holds a
// fingerprint, never a token.
type Reminder struct {
	Kind   ReminderKind
	Secret string
	// Owners are the secret's owners (the ops-channel post names them).
	Owners []string
	// Threshold is the days_before entry reached (ReminderDue).
	Threshold   int
	ExpiresAt   time.Time // zero: never expires, or not known (ReminderBroken)
	Fingerprint string
	Login       string
	TokenKind   TokenKind
	// Problem says why the token cannot be used (ReminderBroken).
	Problem string
	// Notes are extra lines (MigrateWarning for a classic token).
	Notes []string
	// ExpiresInDays is the expiry the routing matrix asks new tokens to have.
	ExpiresInDays int
	// OpenRun names a rotation already open for the secret ("r3 (Waiting for
	// approval)"), "" for none.
	OpenRun string
	// At is when the reminder was made: days are counted from it.
	At time.Time
}

// DaysLeft is whole days until at, rounded down (negative once at has passed):
// 2 days 23 hours is 2 days; 1 hour past is -1.
func DaysLeft(at, now time.Time) int {
	d := at.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// DateText is how reminders and lists show an expiry: "2026-12-01 10:00 UTC".
func DateText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func daysText(n int) string {
	if n <= 0 {
		return "less than a day"
	}
	return Plural(n, "day", "days")
}

// Sentence is what the reminder says of the token, without the secret's name:
// "expires in 2 days, on 2026-12-01 10:00 UTC".
func (r Reminder) Sentence() string {
	switch r.Kind {
	case ReminderDue:
		return "expires in " + daysText(DaysLeft(r.ExpiresAt, r.At)) + ", on " + DateText(r.ExpiresAt)
	case ReminderExpired:
		return "expired on " + DateText(r.ExpiresAt) + ", " + daysText(DaysLeft(r.At, r.ExpiresAt)) + " ago"
	case ReminderNoExpiry:
		return "never expires: GitHub recommends giving every token an expiry date"
	case ReminderBroken:
		return "is broken: " + r.Problem
	}
	return string(r.Kind)
}

// Key is the name under which the reminder is remembered in ExpiryRecord.Sent:
// "14d", "expired", "no-expiry", "broken".
func (r Reminder) Key() string {
	if r.Kind == ReminderDue {
		return thresholdKey(r.Threshold)
	}
	return string(r.Kind)
}

func thresholdKey(days int) string { return fmt.Sprintf("%dd", days) }

// ReminderLoopConfig is what a ReminderLoop needs, set by the command (or a test).
// NewReminderLoop fills in the defaults; the config is not changed after. (The
// matrix's reminders: settings are the type Reminders.)
type ReminderLoopConfig struct {
	Matrix   *Matrix
	Vault    Vault
	Checker  TokenChecker
	Store    Store
	Notifier ExpiryNotifier
	Now      func() time.Time // default WallNow
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
}

// ReminderLoop is the background loop that keeps every configured secret's expiry
// known and reminds its owners and the ops channel in time. Build it with
// NewReminderLoop.
//
// At start-up and every Interval it reads each secret's current value from the
// vault and asks GitHub about it (Reconcile), so expiry is known for secrets never
// rotated through the bot and after the database was lost. What was said is
// remembered per token (fingerprint) in ExpiryRecord.Sent, so a restart never says
// it twice and a new token starts afresh; when several thresholds have already
// passed, only the most urgent is said. It must not put a token anywhere but in
// the Checker's hands: records, reminders and logs carry fingerprints.
type ReminderLoop struct {
	ReminderLoopConfig

	// thresholds are reminders.days_before, most distant first.
	thresholds []int
	pass       sync.Mutex // one pass at a time in this process
	// lastChecked is when each secret's token (by fingerprint) last got an
	// answer, in this process: a record that did not change is not written
	// again, so its stored CheckedAt may be up to checkedAtRefresh older.
	checkedMu   sync.Mutex
	lastChecked map[string]checkedAt
	bg          background
}

// NewReminderLoop returns a loop on c, with c's defaults filled in once.
func NewReminderLoop(c ReminderLoopConfig) *ReminderLoop {
	if c.Now == nil {
		c.Now = WallNow
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
		c.Owner = defaultOwner(":reminders")
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = 2 * time.Minute
	}
	l := &ReminderLoop{ReminderLoopConfig: c}
	days := DefaultDaysBefore
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
func (l *ReminderLoop) now() time.Time { return l.Now().UTC() }

// ReminderClaim is the claim (Store.ClaimRun) a pass holds; run ids are "r…".
const ReminderClaim = "reminders"

// claim takes the pass's claim and renews it until the returned release is
// called; the pass runs under the returned context, which ends if the claim is
// lost. ok is false when another process's pass holds it.
func (l *ReminderLoop) claim(ctx context.Context) (pctx context.Context, release func(), ok bool, err error) {
	return holdClaim(ctx, l.Store, ReminderClaim, l.Owner, l.ClaimTTL, l.now, l.Log)
}

// dailyGap is how long after an expired or broken report the next one is due.
// It is a day less half an interval, so hourly passes do not make the daily
// report creep an hour later each day.
func (l *ReminderLoop) dailyGap() time.Duration {
	return 24*time.Hour - min(l.Interval/2, time.Hour)
}

// RetryWait is the wait after the given number of failed passes in a row.
func (l *ReminderLoop) RetryWait(failures int) time.Duration {
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
func (l *ReminderLoop) Start(ctx context.Context) { l.bg.start(ctx, l.loop) }

// Close stops the loop and waits for the pass in hand to end.
func (l *ReminderLoop) Close() { l.bg.stop() }

func (l *ReminderLoop) loop(ctx context.Context) {
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
			l.Log.Warn("expiry check incomplete; trying again soon", "err", ErrorMessage(err), "cause", err,
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
		errs = append(errs, Errorf(EUNAVAILABLE, "%d of %d secrets could not be checked (%s)", n, total, firstNames(p.unchecked)))
	}
	if n := len(p.untold); n > 0 {
		slices.Sort(p.untold)
		errs = append(errs, Errorf(EUNAVAILABLE, "reminders of %d secrets did not reach everyone (%s)", n, firstNames(p.untold)))
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
func (l *ReminderLoop) Reconcile(ctx context.Context) error {
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
	known := make(map[string]ExpiryRecord, len(stored))
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
	return stats.err(len(names))
}

// each calls fn(0) … fn(n-1), Parallel at a time, and returns when all are done
// (or, once ctx ends, those started are).
func (l *ReminderLoop) each(ctx context.Context, n int, fn func(i int)) {
	parallel(ctx, l.Parallel, n, fn)
}

// parallel calls fn(0) … fn(n-1), at most limit at a time, and returns when all
// are done (or, once ctx ends, those started are).
func parallel(ctx context.Context, limit, n int, fn func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// openRuns maps each secret with an open run to a line naming it.
func (l *ReminderLoop) openRuns(ctx context.Context) map[string]string {
	runs, err := l.Store.ListRuns(ctx, RunFilter{OpenOnly: true})
	if err != nil {
		l.Log.Warn("could not list open runs for the reminders", "err", err)
		return nil
	}
	out := make(map[string]string, len(runs))
	for _, run := range runs {
		out[run.Secret] = run.ID + " (" + run.State.Word() + ")"
	}
	return out
}

func (l *ReminderLoop) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.CallTimeout)
}

// verdict is what one check learned of a secret's token.
type verdict int

const (
	verdictOK      verdict = iota // GitHub answered: its expiry is authoritative
	verdictExpired                // GitHub refuses a token known to have expired
	verdictBroken                 // refused, not a token, or missing: say so loudly
	verdictOutage                 // the vault or GitHub could not be asked: keep what was known
)

// check reads the secret's value and asks GitHub about it. fp is "" when the
// vault could not give a value.
func (l *ReminderLoop) check(ctx context.Context, name string) (fp string, info TokenInfo, v verdict, problem string, cause error) {
	cur, _ := l.Matrix.Refs(name)
	cctx, cancel := l.callCtx(ctx)
	vv, err := l.Vault.Read(cctx, cur)
	cancel()
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return "", info, verdictBroken, fmt.Sprintf("it is not in Infisical (%s %s%s), so nothing can use it", cur.Environment, cur.Path, name), err
		}
		return "", info, verdictOutage, "not checked: could not read it from Infisical (" + ErrorMessage(err) + ")", err
	}
	fp = vv.Value.Fingerprint()
	cctx, cancel = l.callCtx(ctx)
	info, err = l.Checker.Check(cctx, vv.Value)
	cancel()
	switch code := ErrorCode(err); {
	case err == nil:
		return fp, info, verdictOK, "", nil
	case code == EUNAUTHORIZED:
		return fp, info, verdictBroken, "GitHub refuses the current token `" + fp + "` (401): it was revoked, deleted or has expired", err
	case code == EINVALID:
		return fp, info, verdictBroken, "the value in Infisical is not a usable GitHub token: " + ErrorMessage(err), err
	}
	return fp, info, verdictOutage, "not checked: could not ask GitHub (" + ErrorMessage(err) + ")", err
}

// checked is what a pass learned of one secret, before it is recorded.
type checked struct {
	name string
	now  time.Time
	v    verdict
	// rec is the record after the check; basedOn the fingerprint of the record
	// the pass started from ("" for none).
	rec     ExpiryRecord
	basedOn string
	// changed: rec says something the stored record does not, or the stored
	// CheckedAt is more than checkedAtRefresh old. Only changed records are written.
	changed bool
}

// checkedAt is when a token last got an answer from the vault and GitHub.
type checkedAt struct {
	fingerprint string
	at          time.Time
}

// checkedAtRefresh is how old the stored CheckedAt of a record that did not
// change may get before a pass writes it again. The loop keeps the exact time in
// memory; the stored one is what another process, or this one after a restart,
// says during an outage ("last checked …"): at most a day behind.
const checkedAtRefresh = 24 * time.Hour

// checkOne checks one secret and works out its record; it writes nothing.
func (l *ReminderLoop) checkOne(ctx context.Context, name string, known map[string]ExpiryRecord, stats *passStats) *checked {
	fp, info, v, problem, cause := l.check(ctx, name)
	if ctx.Err() != nil {
		return nil
	}
	now := l.now()
	prev, had := known[name]
	l.checkedMu.Lock()
	last := l.lastChecked[name]
	l.checkedMu.Unlock()
	rec := nextRecord(name, prev, had, fp, info, v, problem, now, last)
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
	c.changed = !had || !sameRecord(prev, rec) || rec.CheckedAt.Sub(prev.CheckedAt) >= checkedAtRefresh
	return c
}

// sameRecord reports whether a and b say the same of a token, when it was last
// checked aside.
func sameRecord(a, b ExpiryRecord) bool {
	return a.Secret == b.Secret && a.Fingerprint == b.Fingerprint && a.Login == b.Login && a.Kind == b.Kind &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.Problem == b.Problem &&
		maps.EqualFunc(a.Sent, b.Sent, time.Time.Equal)
}

// record writes the changed records of a pass in one store transaction and
// reports which were written: not those for which a rotation recorded a newer
// token meanwhile (the next pass sees it), none when the store fails.
func (l *ReminderLoop) record(ctx context.Context, checks []*checked, stats *passStats) map[string]bool {
	var changed []saving
	for _, c := range checks {
		if c != nil && c.changed {
			changed = append(changed, saving{basedOn: c.basedOn, rec: &c.rec})
		}
	}
	if len(changed) == 0 {
		return nil
	}
	written, err := l.save(ctx, changed)
	if err != nil {
		stats.fail(fmt.Errorf("recording the expiry of %d secrets: %w", len(changed), err))
	}
	return written
}

// nextRecord is the secret's expiry record after a check. A new token (another
// fingerprint) starts with nothing sent; the same token keeps what was sent, and
// keeps what was known of it when this check could not ask.
func nextRecord(name string, prev ExpiryRecord, had bool, fp string, info TokenInfo, v verdict, problem string, now time.Time, last checkedAt) ExpiryRecord {
	var rec ExpiryRecord
	switch {
	case fp == "" && had: // the vault could not be read: the token is the one we knew
		rec = prev
	case fp == "":
		rec = ExpiryRecord{Secret: name}
	case had && prev.Fingerprint == fp:
		rec = prev
	default:
		rec = ExpiryRecord{Secret: name, Fingerprint: fp}
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
			rec.Problem += "; last checked " + DateText(rec.CheckedAt)
		}
	}
	return rec
}

// known reports whether the record's expiry comes from GitHub: a successful
// check always records the token's login.
func known(rec ExpiryRecord) bool { return rec.Login != "" }

// due decides what, if anything, is to be said of the token now. also lists
// keys to mark as sent with it (thresholds passed while nobody was told), and
// daily says the reminder repeats every day.
func (l *ReminderLoop) due(sc *SecretConfig, rec ExpiryRecord, v verdict, now time.Time) (rem *Reminder, also []string, daily bool) {
	base := Reminder{Secret: rec.Secret, Fingerprint: rec.Fingerprint, Login: rec.Login, TokenKind: rec.Kind,
		ExpiresAt: rec.ExpiresAt, At: now}
	if sc != nil {
		base.Owners = slices.Clone(sc.Owners)
		base.ExpiresInDays = sc.ExpiresInDays
		if base.TokenKind == "" {
			base.TokenKind = sc.Kind
		}
	}
	if base.ExpiresInDays <= 0 {
		base.ExpiresInDays = DefaultExpiresInDays
	}
	if base.TokenKind == Classic {
		base.Notes = []string{MigrateWarning}
	}
	pending := func(key string, daily bool) bool {
		last, ok := rec.Sent[key]
		return !ok || daily && now.Sub(last) >= l.dailyGap()
	}
	switch {
	case v == verdictBroken:
		base.Kind, base.Problem = ReminderBroken, rec.Problem
		if !known(rec) {
			base.ExpiresAt = time.Time{}
		}
		if pending(base.Key(), true) {
			return &base, nil, true
		}
		return nil, nil, false
	case !known(rec):
		return nil, nil, false // nothing known of this token's expiry yet
	case rec.ExpiresAt.IsZero():
		base.Kind = ReminderNoExpiry
		if pending(base.Key(), false) {
			return &base, nil, false
		}
		return nil, nil, false
	case !rec.ExpiresAt.After(now):
		base.Kind = ReminderExpired
		if pending(base.Key(), true) {
			return &base, l.reached(rec.ExpiresAt, now), true
		}
		return nil, nil, false
	}
	reached := l.reached(rec.ExpiresAt, now)
	if len(reached) == 0 {
		return nil, nil, false
	}
	// The most urgent threshold reached is the one said; the others passed
	// unsaid (first start, lost database) and are only marked.
	base.Kind, base.Threshold = ReminderDue, l.mostUrgent(rec.ExpiresAt, now)
	if !pending(base.Key(), false) {
		return nil, nil, false
	}
	return &base, reached, false
}

// reached lists the keys of the thresholds whose moment has come.
func (l *ReminderLoop) reached(expires, now time.Time) []string {
	var keys []string
	for _, d := range l.thresholds {
		if expires.Sub(now) <= time.Duration(d)*24*time.Hour {
			keys = append(keys, thresholdKey(d))
		}
	}
	return keys
}

func (l *ReminderLoop) mostUrgent(expires, now time.Time) int {
	best := 0
	for _, d := range l.thresholds {
		if expires.Sub(now) <= time.Duration(d)*24*time.Hour {
			best = d
		}
	}
	return best
}

// channelTarget is the Sent key suffix of the ops-channel post.
const channelTarget = "channel"

// tell sends rem to every owner and the ops channel, each once: a place already
// told in this round is skipped, so a pass that failed half-way only retries the
// rest. It reports whether everyone was told.
func (l *ReminderLoop) tell(ctx context.Context, rem Reminder, rec *ExpiryRecord, also []string, daily bool, now time.Time) bool {
	key := rem.Key()
	told := func(target string) bool {
		at, ok := rec.Sent[key+"@"+target]
		if !ok || !daily {
			return ok
		}
		last, done := rec.Sent[key]
		return !done || at.After(last) // told since the last full round
	}
	var targets []string
	for _, o := range rem.Owners {
		if o != "" && !slices.Contains(targets, o) {
			targets = append(targets, o)
		}
	}
	if l.Matrix.Channel != "" {
		targets = append(targets, channelTarget)
	}
	all := true
	for _, target := range targets {
		if told(target) {
			continue
		}
		cctx, cancel := l.callCtx(ctx)
		var err error
		if target == channelTarget {
			err = l.Notifier.RemindChannel(cctx, rem)
		} else {
			err = l.Notifier.RemindOwner(cctx, target, rem)
		}
		cancel()
		if err != nil {
			all = false
			l.Log.Warn("could not send a reminder", "secret", rem.Secret, "reminder", key, "to", target,
				"err", ErrorMessage(err), "cause", err)
			continue
		}
		if rec.Sent == nil {
			rec.Sent = map[string]time.Time{}
		}
		rec.Sent[key+"@"+target] = now
		if written, err := l.save(ctx, []saving{{basedOn: rec.Fingerprint, rec: rec}}); err != nil || !written[rec.Secret] {
			return false
		}
	}
	if !all {
		return false
	}
	if rec.Sent == nil {
		rec.Sent = map[string]time.Time{}
	}
	rec.Sent[key] = now
	for _, k := range also {
		if _, ok := rec.Sent[k]; !ok {
			rec.Sent[k] = now
		}
	}
	l.Log.Info("reminder sent", "secret", rem.Secret, "fingerprint", rem.Fingerprint, "reminder", key, "to", len(targets))
	written, err := l.save(ctx, []saving{{basedOn: rec.Fingerprint, rec: rec}})
	return err == nil && written[rec.Secret]
}

// saving is a record to write, and the fingerprint of the record it was worked
// out from ("" for none).
type saving struct {
	basedOn string
	rec     *ExpiryRecord
}

// save writes the records in one store transaction, each unless the stored
// record meanwhile names a token other than its basedOn (what the pass read) and
// its own: the engine records a newly rotated token on its own, and that must
// win. When the stored record is of the same token, reminders it marks as sent
// are kept (and added to the record in hand). It reports which were written.
func (l *ReminderLoop) save(ctx context.Context, list []saving) (map[string]bool, error) {
	secrets := make([]string, len(list))
	for i, s := range list {
		secrets[i] = s.rec.Secret
	}
	var written map[string]bool
	err := l.Store.UpdateExpiry(ctx, secrets, func(stored map[string]ExpiryRecord) ([]ExpiryRecord, error) {
		written = make(map[string]bool, len(list))
		out := make([]ExpiryRecord, 0, len(list))
		for _, s := range list {
			rec := s.rec
			cur, ok := stored[rec.Secret]
			if ok && cur.Fingerprint != rec.Fingerprint && cur.Fingerprint != s.basedOn {
				l.Log.Info("a newer token was recorded meanwhile; leaving it", "secret", rec.Secret, "fingerprint", cur.Fingerprint)
				continue
			}
			if ok && cur.Fingerprint == rec.Fingerprint {
				for k, at := range cur.Sent {
					if mine, has := rec.Sent[k]; !has || mine.Before(at) {
						if rec.Sent == nil {
							rec.Sent = map[string]time.Time{}
						}
						rec.Sent[k] = at
					}
				}
			}
			written[rec.Secret] = true
			out = append(out, *rec)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}
