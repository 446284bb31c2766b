// Package drift is rotabot's drift service: between runs, a periodic pass
// compares every destination of the routing matrix with Infisical, records and
// posts what drifted (once, updated in place), and repairs a drift when an ops
// member presses Set it from Infisical — through the engine's one guarded write
// path (rotation.Engine.WriteValue), never a write of its own. It reaches the
// outside world only through the domain's ports and its own (WriteDater,
// Notifier), and must not know about Slack, GitHub, Infisical, Heroku or bbolt;
// it holds no value beyond a comparison and stores none.
package drift

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/internal/loop"
)

// After a rotation, values drift. Someone runs `heroku config:set` by hand,
// sets an Actions secret with `gh secret set`, or writes a new Infisical version
// outside rotabot. A drift pass compares, for every secret without an open run:
//
//   - each Heroku destination's value with Infisical's current value (SHA-256 in
//     memory; each app's config is read once per pass however many secrets it
//     holds);
//   - each GitHub Actions secret's updated_at with rotabot's last recorded write
//     of it (later, or missing, is drift; GitHub keeps the value write-only);
//   - Infisical's current version with the version rotabot last wrote (a newer
//     one written outside rotabot: the consumers rotabot set hold the previous
//     version).
//
// A drifted destination is a Record, posted once in the ops
// channel and updated in place when it resolves by itself, changes, or is
// repaired (Set it from Infisical, repair.go: through the engine's guarded
// write path). Like everything else, a drift record holds names, versions and
// fingerprints of Infisical's value, never a value and never a digest of what a
// destination holds.

// Notifier shows drift in the chat layer.
type Notifier interface {
	// ShowDrift posts the drift in the ops channel, or updates its post when
	// it has one (d.Post), and returns where the post is.
	ShowDrift(ctx context.Context, d Record) (rotation.CardRef, error)
	// DriftAudited publishes a repair's audit entry (the audit channel).
	DriftAudited(ctx context.Context, d Record, e rotation.AuditEntry) error
}

// WriteDater tells when a write-only destination was last written: a GitHub
// Actions secret's updated_at. A missing one is ENOTFOUND.
type WriteDater interface {
	UpdatedAt(ctx context.Context, target, name string) (time.Time, error)
}

// Store is what the drift check keeps and reads: its drift records, the runs
// (a secret with an open run is the run's business; what rotabot last wrote),
// a repair's audit entry, and the claims that make two processes take turns.
type Store interface {
	rotation.RunStore
	rotation.AuditStore
	RecordStore
	rotation.ClaimStore
}

// Config is what a Loop needs, set by the command (or a test). New fills in
// the defaults; the config is not changed after.
type Config struct {
	Matrix *rotation.Matrix
	Vault  rotation.Vault
	Store  Store
	// Engine writes a repair: its WriteValue is the one guarded write path to
	// the consumers, and its Consumers verify what was written.
	Engine *rotation.Engine
	// Scanners read each app's config, once a pass (Heroku).
	Scanners map[rotation.DestKind]rotation.ConfigScanner
	// Dates tell when a write-only destination was last written (GitHub).
	Dates    map[rotation.DestKind]WriteDater
	Notifier Notifier
	Now      func() time.Time // default rotation.WallNow
	Log      *slog.Logger     // default: discard
	// Interval is the time between passes (ROTABOT_DRIFT_INTERVAL); 0 runs no
	// periodic pass (Pass still runs one when asked).
	Interval time.Duration
	// CallTimeout bounds each call to an outside service (default 30 s).
	CallTimeout time.Duration
	// Parallel is how many secrets, apps or Actions secrets are checked at
	// once (default 8).
	Parallel int
	// Grace is how much later than rotabot's own write a GitHub Actions
	// secret's updated_at may be: the write's own time at GitHub, and the two
	// clocks (default 2 min).
	Grace time.Duration
	// Owner names this process in claims (default: host, pid and start time);
	// ClaimTTL is how long a claim lasts without renewal (default 2 min).
	Owner    string
	ClaimTTL time.Duration
}

// Loop is the periodic drift pass and the repair of a drifted destination.
// Build it with New; Start and Close run the periodic pass.
type Loop struct {
	Config

	pass sync.Mutex // one pass at a time in this process
	bg   loop.Background
}

// New returns a loop on c, with c's defaults filled in once.
func New(c Config) *Loop {
	if c.Now == nil {
		c.Now = rotation.WallNow
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.Parallel <= 0 {
		c.Parallel = 8
	}
	if c.Grace <= 0 {
		c.Grace = 2 * time.Minute
	}
	if c.Owner == "" {
		c.Owner = rotation.ProcessOwner(":drift")
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = 2 * time.Minute
	}
	return &Loop{Config: c}
}

// Claim is the claim (rotation.ClaimStore) a pass holds, so two processes on
// one database do not both post; a repair holds the secret's
// rotation.WriteClaim.
const Claim = "drift"

func (l *Loop) now() time.Time { return l.Now().UTC() }

func (l *Loop) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.CallTimeout)
}

// Start runs a pass now and then every Interval until ctx ends or Close is
// called; with no Interval it does nothing. A pass that could not check
// everything is followed by the next at the usual time: drift is not urgent.
func (l *Loop) Start(ctx context.Context) {
	if l.Interval <= 0 {
		return
	}
	l.bg.Start(ctx, l.loop)
}

func (l *Loop) loop(ctx context.Context) {
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		if rep, err := l.Pass(ctx); err != nil && ctx.Err() == nil {
			l.Log.Warn("drift check failed", "err", rotation.ErrorMessage(err), "cause", err)
		} else if len(rep.Problems) > 0 {
			l.Log.Warn("drift check incomplete", "problems", strings.Join(rep.Problems, "; "))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops the loop and waits for the pass in hand.
func (l *Loop) Close() { l.bg.Stop() }

// Report is what one pass did.
type Report struct {
	At time.Time
	// Busy: another process's pass held the claim; Open is what is stored.
	Busy bool
	// Secrets were checked; Skipped have an open run (their destinations are
	// the run's business).
	Secrets int
	Skipped []string
	// Apps is how many configs were read, Dated how many Actions secrets asked.
	Apps, Dated int
	// New and Resolved count the drifts that began and ended in this pass.
	New, Resolved int
	// Open is every drift open after the pass.
	Open []Record
	// Problems say what could not be checked.
	Problems []string
}

// Pass runs one drift pass and says what it found. While another process's pass
// holds the claim it does nothing but report what is stored.
func (l *Loop) Pass(ctx context.Context) (Report, error) {
	l.pass.Lock()
	defer l.pass.Unlock()
	rep := Report{At: l.now()}
	hctx, release, ok, err := rotation.HoldClaim(ctx, l.Store, Claim, l.Owner, l.ClaimTTL, l.now, l.Log)
	if err != nil {
		return rep, err
	}
	if !ok {
		rep.Busy = true
		rep.Open, err = l.OpenDrifts(ctx)
		return rep, err
	}
	defer release()
	ctx = hctx // cancelled if another process takes the claim over
	names, err := l.idle(ctx, l.Matrix.Names(), &rep)
	if err != nil {
		return rep, err
	}
	if err := l.checkAndRecord(ctx, names, &rep); err != nil {
		return rep, err
	}
	rep.Open, err = l.OpenDrifts(ctx)
	return rep, err
}

// idle returns the secrets of names without an open run; those with one are
// Skipped (their destinations are the run's business).
func (l *Loop) idle(ctx context.Context, names []string, rep *Report) ([]string, error) {
	openRuns, err := l.Store.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	busy := map[string]bool{}
	for _, r := range openRuns {
		busy[r.Secret] = true
	}
	var out []string
	for _, n := range names {
		if busy[n] {
			rep.Skipped = append(rep.Skipped, n)
		} else {
			out = append(out, n)
		}
	}
	return out, nil
}

// checkAndRecord compares every destination of the secrets named with
// Infisical, records what it found and shows what changed.
func (l *Loop) checkAndRecord(ctx context.Context, names []string, rep *Report) error {
	p := &driftPass{rep: rep}
	var err error
	if p.stored, err = l.storedDrifts(ctx); err != nil {
		return err
	}
	l.readStates(ctx, p, names)
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.Secrets += len(p.read())
	l.checkApps(ctx, p)
	l.checkDates(ctx, p)
	l.checkVaults(p)
	if err := ctx.Err(); err != nil {
		return err
	}
	changed, err := l.record(ctx, p.findings, l.gone(p), rep)
	if err != nil {
		return err
	}
	l.show(ctx, changed)
	return nil
}

// recheck runs the pass's comparisons for one secret now (a repair was refused
// because of what Infisical holds), so its posts show the drift as it is. It
// leaves the secret to another process's pass when one holds the claim, and to
// its run when one is open.
func (l *Loop) recheck(ctx context.Context, secret string) {
	l.pass.Lock()
	defer l.pass.Unlock()
	hctx, release, ok, err := rotation.HoldClaim(ctx, l.Store, Claim, l.Owner, l.ClaimTTL, l.now, l.Log)
	if err != nil || !ok {
		if err != nil {
			l.Log.Warn("could not check a drift again", "secret", secret, "err", err)
		}
		return
	}
	defer release()
	rep := Report{At: l.now()}
	names, err := l.idle(hctx, []string{secret}, &rep)
	if err == nil {
		err = l.checkAndRecord(hctx, names, &rep)
	}
	if err != nil {
		l.Log.Warn("could not check a drift again", "secret", secret, "err", rotation.ErrorMessage(err), "cause", err)
	}
}

// storedDrifts reads every drift record, by key.
func (l *Loop) storedDrifts(ctx context.Context) (map[string]Record, error) {
	recs, err := l.Store.ListDrift(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Record, len(recs))
	for _, r := range recs {
		out[r.Key] = r
	}
	return out, nil
}

// OpenDrifts lists the drifts open now, by key.
func (l *Loop) OpenDrifts(ctx context.Context) ([]Record, error) {
	recs, err := l.Store.ListDrift(ctx)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, r := range recs {
		if r.Open {
			out = append(out, r)
		}
	}
	return out, nil
}

// record writes what the pass found, in one transaction: new drifts open, a
// changed problem is updated, drifts no longer seen are resolved. Records whose
// post no longer shows what they say are returned, to be shown.
func (l *Loop) record(ctx context.Context, findings []*finding, gone []string, rep *Report) ([]Record, error) {
	keys := make([]string, 0, len(findings)+len(gone))
	for _, f := range findings {
		keys = append(keys, f.rec.Key)
	}
	keys = append(keys, gone...)
	now := l.now()
	var stale []Record
	err := l.Store.UpdateDrift(ctx, keys, func(stored map[string]Record) ([]Record, error) {
		stale = stale[:0]
		rep.New, rep.Resolved = 0, 0
		var out []Record
		for _, f := range findings {
			old, had := stored[f.rec.Key]
			switch {
			case f.problem != "" && (!had || !old.Open):
				rec := f.rec
				rec.Open, rec.Problem, rec.Since = true, f.problem, now
				rec.Wrote, rec.Adopted = old.Wrote, old.Adopted
				out = append(out, rec)
				rep.New++
				l.Log.Warn("drift", "secret", rec.Secret, "where", rec.Label(), "problem", rec.Problem)
			case f.problem != "" && old.Problem != f.problem:
				if old.VaultVersion != f.rec.VaultVersion {
					// Infisical changed: a new drift, in the same post.
					old.Since, old.RequestedBy, old.RequestedAt, old.RequestedVersion = now, "", time.Time{}, 0
					rep.New++
					l.Log.Warn("drift changed", "secret", old.Secret, "where", old.Label(), "problem", f.problem)
				}
				old.Problem, old.VaultVersion, old.Fingerprint, old.Retired = f.problem, f.rec.VaultVersion, f.rec.Fingerprint, f.rec.Retired
				out = append(out, old)
			case f.problem == "" && had && old.Open:
				old.Open, old.Resolved, old.RepairedBy = false, now, ""
				out = append(out, old)
				rep.Resolved++
				l.Log.Info("drift resolved", "secret", old.Secret, "where", old.Label())
			}
		}
		for _, key := range gone {
			old := stored[key]
			if !old.Open {
				continue
			}
			old.Open, old.Resolved, old.RepairedBy = false, now, ""
			old.Problem += " (no longer in the routing matrix)"
			out = append(out, old)
			rep.Resolved++
		}
		for _, rec := range out {
			if rec.Shown != rec.ShowState() && (rec.Open || rec.Shown != "") {
				stale = append(stale, rec)
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	// Posts a failed earlier pass could not make or update are tried again.
	all, err := l.Store.ListDrift(ctx)
	if err != nil {
		return stale, err
	}
	seen := map[string]bool{}
	for _, r := range stale {
		seen[r.Key] = true
	}
	for _, r := range all {
		if !seen[r.Key] && r.Shown != r.ShowState() && (r.Open || r.Shown != "") {
			stale = append(stale, r)
		}
	}
	return stale, nil
}

// show posts or updates the post of each record, and records where the post is
// and what it shows. A post that fails is tried again at the next pass.
func (l *Loop) show(ctx context.Context, recs []Record) {
	if l.Notifier == nil || len(recs) == 0 {
		return
	}
	type shown struct {
		key, since, state string
		post              rotation.CardRef
	}
	var done []shown
	for _, rec := range recs {
		cctx, cancel := l.callCtx(ctx)
		post, err := l.Notifier.ShowDrift(cctx, rec)
		cancel()
		if err != nil {
			l.Log.Warn("could not show a drift in the ops channel", "secret", rec.Secret, "where", rec.Label(), "err", rotation.ErrorMessage(err), "cause", err)
			if post == (rotation.CardRef{}) {
				continue
			}
		}
		done = append(done, shown{rec.Key, rec.Stamp(), rec.ShowState(), post})
	}
	if len(done) == 0 {
		return
	}
	keys := make([]string, len(done))
	for i, s := range done {
		keys[i] = s.key
	}
	err := l.Store.UpdateDrift(context.WithoutCancel(ctx), keys, func(stored map[string]Record) ([]Record, error) {
		var out []Record
		for _, s := range done {
			rec, ok := stored[s.key]
			if !ok || rec.Stamp() != s.since {
				continue // a newer drift of the place meanwhile
			}
			rec.Post = s.post
			if rec.ShowState() == s.state {
				rec.Shown = s.state
			}
			out = append(out, rec)
		}
		return out, nil
	})
	if err != nil {
		l.Log.Error("could not record where drift posts are", "err", err)
	}
}
