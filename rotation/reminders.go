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
	switch {
	case n <= 0:
		return "less than a day"
	case n == 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// Sentence is what the reminder says of the token, without the secret's name:
// "expires in 2 days, on 2026-12-01 10:00 UTC" (SPEC §9).
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

// ReminderLoop is the background loop that keeps every configured secret's expiry
// known and reminds its owners and the ops channel in time (SPEC §3, §9).
//
// At start-up and every Interval it reads each secret's current value from the
// vault and asks GitHub about it (Reconcile), so expiry is known for secrets never
// rotated through the bot and after the database was lost. What was said is
// remembered per token (fingerprint) in ExpiryRecord.Sent, so a restart never says
// it twice and a new token starts afresh; when several thresholds have already
// passed, only the most urgent is said. It must not put a token anywhere but in
// the Checker's hands: records, reminders and logs carry fingerprints.
//
// Every field is set by main.go (or a test). (The matrix's reminders: settings
// are the type Reminders.)
type ReminderLoop struct {
	Matrix   *Matrix
	Vault    Vault
	Checker  TokenChecker
	Store    Store
	Notifier ExpiryNotifier
	Now      func() time.Time
	Log      *slog.Logger
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
	// Owner names this process in the claim a pass holds (default: host and pid).
	// Two bot processes on one database each run the loop; the claim makes them
	// take turns, so neither says what the other is saying.
	Owner string
	// ClaimTTL is how long the pass's claim lasts without renewal (default 2 min):
	// when a process dies mid-pass, the other's next pass goes ahead after this.
	ClaimTTL time.Duration

	ownerOnce sync.Once
	owner     string
	pass      sync.Mutex // one pass at a time in this process
	mu        sync.Mutex
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func (r *ReminderLoop) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *ReminderLoop) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// ReminderClaim is the claim (Store.ClaimRun) a pass holds; run ids are "r…".
const ReminderClaim = "reminders"

func (r *ReminderLoop) claimTTL() time.Duration {
	if r.ClaimTTL > 0 {
		return r.ClaimTTL
	}
	return 2 * time.Minute
}

func (r *ReminderLoop) ownerName() string {
	r.ownerOnce.Do(func() {
		r.owner = r.Owner
		if r.owner == "" {
			r.owner = defaultOwner(":reminders")
		}
	})
	return r.owner
}

// claim takes the pass's claim and renews it until the returned release is
// called. ok is false when another process's pass holds it.
func (r *ReminderLoop) claim(ctx context.Context) (release func(), ok bool, err error) {
	return holdClaim(ctx, r.Store, ReminderClaim, r.ownerName(), r.claimTTL(), r.now, r.log())
}

func (r *ReminderLoop) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return time.Hour
}

// dailyGap is how long after an expired or broken report the next one is due.
// It is a day less half an interval, so hourly passes do not make the daily
// report creep an hour later each day.
func (r *ReminderLoop) dailyGap() time.Duration {
	return 24*time.Hour - min(r.interval()/2, time.Hour)
}

// RetryWait is the wait after the given number of failed passes in a row.
func (r *ReminderLoop) RetryWait(failures int) time.Duration {
	base := r.RetryMin
	if base <= 0 {
		base = 30 * time.Second
	}
	ceiling := max(r.interval(), 5*time.Minute)
	d := base
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Start runs Reconcile now and then every Interval until ctx ends or Close is
// called. After a pass that failed, the next comes sooner and backs off.
func (r *ReminderLoop) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	if r.cancel != nil {
		r.mu.Unlock()
		cancel()
		return // already running
	}
	r.cancel = cancel
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.loop(ctx)
	}()
}

// Close stops the loop and waits for the pass in hand to end.
func (r *ReminderLoop) Close() {
	r.mu.Lock()
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.wg.Wait()
}

func (r *ReminderLoop) loop(ctx context.Context) {
	ticker := time.NewTicker(r.interval())
	defer ticker.Stop()
	failures := 0
	for {
		wait := r.interval()
		if err := r.Reconcile(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait = r.RetryWait(failures)
			r.log().Warn("expiry check incomplete; trying again soon", "err", ErrorMessage(err), "cause", err,
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
func (r *ReminderLoop) Reconcile(ctx context.Context) error {
	r.pass.Lock()
	defer r.pass.Unlock()
	release, ok, err := r.claim(ctx)
	if err != nil {
		return err
	}
	if !ok {
		r.log().Debug("another process is checking expiry; skipping this pass")
		return nil
	}
	defer release()
	open := r.openRuns(ctx)
	names := r.Matrix.Names()
	stats := &passStats{}
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := r.reconcileOne(ctx, name, open[name], stats); err != nil && ctx.Err() == nil {
				stats.fail(fmt.Errorf("reminders of %s: %w", name, err))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return stats.err(len(names))
}

// openRuns maps each secret with an open run to a line naming it.
func (r *ReminderLoop) openRuns(ctx context.Context) map[string]string {
	runs, err := r.Store.ListRuns(ctx, RunFilter{OpenOnly: true})
	if err != nil {
		r.log().Warn("could not list open runs for the reminders", "err", err)
		return nil
	}
	out := make(map[string]string, len(runs))
	for _, run := range runs {
		out[run.Secret] = run.ID + " (" + run.State.Word() + ")"
	}
	return out
}

func (r *ReminderLoop) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := r.CallTimeout
	if d <= 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(ctx, d)
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
func (r *ReminderLoop) check(ctx context.Context, name string) (fp string, info TokenInfo, v verdict, problem string, cause error) {
	cur, _ := r.Matrix.Refs(name)
	cctx, cancel := r.callCtx(ctx)
	vv, err := r.Vault.Read(cctx, cur)
	cancel()
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return "", info, verdictBroken, fmt.Sprintf("it is not in Infisical (%s %s%s), so nothing can use it", cur.Environment, cur.Path, name), err
		}
		return "", info, verdictOutage, "not checked: could not read it from Infisical (" + ErrorMessage(err) + ")", err
	}
	fp = vv.Value.Fingerprint()
	cctx, cancel = r.callCtx(ctx)
	info, err = r.Checker.Check(cctx, vv.Value)
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

// reconcileOne checks one secret, records what it learned and sends what is due.
func (r *ReminderLoop) reconcileOne(ctx context.Context, name, openRun string, stats *passStats) error {
	sc := r.Matrix.Secrets[name]
	fp, info, v, problem, cause := r.check(ctx, name)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	now := r.now()
	prev, had, err := r.Store.GetExpiry(ctx, name)
	if err != nil {
		return err
	}
	rec := nextRecord(name, prev, had, fp, info, v, problem, now)
	if v == verdictBroken && rec.Problem == "" {
		v = verdictExpired // GitHub refuses a token we know has expired: that is the expiry, not a break
	}
	log := r.log().With("secret", name, "fingerprint", rec.Fingerprint)
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
	basedOn := ""
	if had {
		basedOn = prev.Fingerprint
	}
	if ok, err := r.save(ctx, basedOn, &rec); err != nil || !ok {
		return err // !ok: a rotation recorded a newer token meanwhile; the next pass sees it
	}

	rem, also, daily := r.due(sc, rec, v, now)
	if rem == nil {
		return nil
	}
	rem.OpenRun = openRun
	if !r.tell(ctx, *rem, &rec, also, daily, now) {
		stats.add(&stats.untold, name)
	}
	return nil
}

// nextRecord is the secret's expiry record after a check. A new token (another
// fingerprint) starts with nothing sent; the same token keeps what was sent, and
// keeps what was known of it when this check could not ask.
func nextRecord(name string, prev ExpiryRecord, had bool, fp string, info TokenInfo, v verdict, problem string, now time.Time) ExpiryRecord {
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
func (r *ReminderLoop) due(sc *SecretConfig, rec ExpiryRecord, v verdict, now time.Time) (rem *Reminder, also []string, daily bool) {
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
		return !ok || daily && now.Sub(last) >= r.dailyGap()
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
			return &base, r.reached(rec.ExpiresAt, now), true
		}
		return nil, nil, false
	}
	reached := r.reached(rec.ExpiresAt, now)
	if len(reached) == 0 {
		return nil, nil, false
	}
	// The most urgent threshold reached is the one said; the others passed
	// unsaid (first start, lost database) and are only marked.
	base.Kind, base.Threshold = ReminderDue, r.mostUrgent(rec.ExpiresAt, now)
	if !pending(base.Key(), false) {
		return nil, nil, false
	}
	return &base, reached, false
}

// thresholds are reminders.days_before, most distant first.
func (r *ReminderLoop) thresholds() []int {
	days := r.Matrix.Reminders.DaysBefore
	if len(days) == 0 {
		days = DefaultDaysBefore
	}
	var out []int
	for _, d := range days {
		if d > 0 && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// reached lists the keys of the thresholds whose moment has come.
func (r *ReminderLoop) reached(expires, now time.Time) []string {
	var keys []string
	for _, d := range r.thresholds() {
		if expires.Sub(now) <= time.Duration(d)*24*time.Hour {
			keys = append(keys, thresholdKey(d))
		}
	}
	return keys
}

func (r *ReminderLoop) mostUrgent(expires, now time.Time) int {
	best := 0
	for _, d := range r.thresholds() {
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
func (r *ReminderLoop) tell(ctx context.Context, rem Reminder, rec *ExpiryRecord, also []string, daily bool, now time.Time) bool {
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
	if r.Matrix.Channel != "" {
		targets = append(targets, channelTarget)
	}
	all := true
	for _, target := range targets {
		if told(target) {
			continue
		}
		cctx, cancel := r.callCtx(ctx)
		var err error
		if target == channelTarget {
			err = r.Notifier.RemindChannel(cctx, rem)
		} else {
			err = r.Notifier.RemindOwner(cctx, target, rem)
		}
		cancel()
		if err != nil {
			all = false
			r.log().Warn("could not send a reminder", "secret", rem.Secret, "reminder", key, "to", target,
				"err", ErrorMessage(err), "cause", err)
			continue
		}
		if rec.Sent == nil {
			rec.Sent = map[string]time.Time{}
		}
		rec.Sent[key+"@"+target] = now
		if ok, err := r.save(ctx, rec.Fingerprint, rec); err != nil || !ok {
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
	r.log().Info("reminder sent", "secret", rem.Secret, "fingerprint", rem.Fingerprint, "reminder", key, "to", len(targets))
	ok, err := r.save(ctx, rec.Fingerprint, rec)
	return err == nil && ok
}

// save writes rec unless the stored record meanwhile names a token other than
// basedOn (what this pass read) and rec's: the engine records a newly rotated
// token on its own, and that must win. When the stored record is of rec's token,
// reminders it marks as sent are kept. It reports whether rec was written.
//
// The read and the write are two transactions: a write by the engine between
// them is lost until the next pass (it re-reads the vault, so nothing is lost for
// good). A Store.UpdateExpiry in one transaction would close that gap.
func (r *ReminderLoop) save(ctx context.Context, basedOn string, rec *ExpiryRecord) (bool, error) {
	cur, ok, err := r.Store.GetExpiry(ctx, rec.Secret)
	if err != nil {
		return false, err
	}
	if ok && cur.Fingerprint != rec.Fingerprint && cur.Fingerprint != basedOn {
		r.log().Info("a newer token was recorded meanwhile; leaving it", "secret", rec.Secret, "fingerprint", cur.Fingerprint)
		return false, nil
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
	if err := r.Store.PutExpiry(ctx, *rec); err != nil {
		return false, err
	}
	return true, nil
}
