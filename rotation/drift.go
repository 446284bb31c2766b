package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Drift: after a rotation, values drift. Someone runs `heroku config:set` by hand,
// sets an Actions secret with `gh secret set`, or writes a new Infisical version
// outside rotabot. A drift pass compares, for every secret without an open run:
//
//   - each Heroku destination's value with Infisical's current value (SHA-256 in
//     memory; each app's config is read once per pass however many secrets it
//     holds);
//   - each GitHub Actions secret's updated_at with rotabot's last recorded write
//     of it (later, or missing, is drift; GitHub keeps the value write-only);
//   - Infisical's current version with the version rotabot last wrote (a newer
//     one written outside rotabot means consumers may be stale).
//
// A drifted destination is a DriftRecord, posted once in the ops channel and
// updated in place when it resolves by itself or is repaired (Set it from
// Infisical). Like everything else, a drift record holds names, versions and
// fingerprints of Infisical's value, never a value and never a digest of what a
// destination holds.

// DriftKind says what drifted.
type DriftKind string

const (
	// DriftValue: a Heroku config var does not hold Infisical's current value.
	DriftValue DriftKind = "value"
	// DriftWritten: a GitHub Actions secret was written after rotabot last
	// wrote it, or is gone.
	DriftWritten DriftKind = "written"
	// DriftVersion: Infisical holds a version rotabot did not write.
	DriftVersion DriftKind = "version"
)

// DriftRecord is one place that drifted — now (Open) or before. Its key stays
// the same across drifts of the same place, so what rotabot last wrote there
// outside runs (Wrote, Adopted) is kept.
type DriftRecord struct {
	Key    string    `json:"key"`
	Secret string    `json:"secret"`
	Kind   DriftKind `json:"kind"`
	// Dest, Target and Name are the destination (none for DriftVersion).
	Dest   DestKind `json:"dest,omitempty"`
	Target string   `json:"target,omitempty"`
	Name   string   `json:"name,omitempty"`

	Open bool `json:"open"`
	// Problem says what differs, for people.
	Problem string `json:"problem,omitempty"`
	// Since is when this drift was first seen; Resolved when it ended, by
	// itself or by RepairedBy pressing Set it from Infisical.
	Since      time.Time `json:"since,omitzero"`
	Resolved   time.Time `json:"resolved,omitzero"`
	RepairedBy string    `json:"repaired_by,omitempty"`
	// VaultVersion and Fingerprint are Infisical's current value when the
	// drift was seen (or repaired from).
	VaultVersion int    `json:"vault_version,omitempty"`
	Fingerprint  string `json:"fingerprint,omitempty"`

	// Post is the drift's message in the ops channel; Shown is what it shows
	// (ShowState), "" before it was posted.
	Post  CardRef `json:"post,omitzero"`
	Shown string  `json:"shown,omitempty"`

	// Wrote is when a repair last wrote this destination: with the runs'
	// writes, what a GitHub Actions secret's updated_at is compared with.
	Wrote time.Time `json:"wrote,omitzero"`
	// Adopted is the Infisical version a repair set on every destination
	// (DriftVersion): with the runs', what the current version is compared with.
	Adopted int `json:"adopted,omitempty"`
}

// DriftKey is the key of a destination's drift record (dest "" for the vault).
func DriftKey(secret string, dest DestKind, target, name string) string {
	if dest == "" {
		return secret + ":vault"
	}
	return secret + ":" + string(dest) + ":" + target + ":" + name
}

// Stamp tells this drift from an earlier one of the same place: a button of an
// older post does nothing.
func (d DriftRecord) Stamp() string { return strconv.FormatInt(d.Since.UnixNano(), 36) }

// Label names the drifted place for people.
func (d DriftRecord) Label() string {
	if d.Dest == "" {
		return "Infisical " + d.Secret
	}
	name := d.Name
	if name == d.Secret {
		name = "" // the matrix's default: not named
	}
	return Destination{Kind: d.Dest, Target: d.Target, Name: name}.Label()
}

// ShowState is what the record's post should show: "open:PROBLEM", "resolved"
// or "repaired".
func (d DriftRecord) ShowState() string {
	switch {
	case d.Open:
		return "open:" + d.Problem
	case d.RepairedBy != "":
		return "repaired"
	}
	return "resolved"
}

// ActionDriftRepaired is the audit action of a repair.
const ActionDriftRepaired AuditAction = "secret.drift.repaired"

// DriftNotifier shows drift in the chat layer.
type DriftNotifier interface {
	// ShowDrift posts the drift in the ops channel, or updates its post when
	// it has one (d.Post), and returns where the post is.
	ShowDrift(ctx context.Context, d DriftRecord) (CardRef, error)
	// DriftAudited publishes a repair's audit entry (the audit channel).
	DriftAudited(ctx context.Context, d DriftRecord, e AuditEntry) error
}

// WriteDater tells when a write-only destination was last written: a GitHub
// Actions secret's updated_at. A missing one is ENOTFOUND.
type WriteDater interface {
	UpdatedAt(ctx context.Context, target, name string) (time.Time, error)
}

// DriftConfig is what a DriftLoop needs, set by the command (or a test).
// NewDriftLoop fills in the defaults; the config is not changed after.
type DriftConfig struct {
	Matrix *Matrix
	Vault  Vault
	Store  Store
	// Consumers write and verify a destination when a drift is repaired.
	Consumers map[DestKind]Consumer
	// Scanners read each app's config, once a pass (Heroku).
	Scanners map[DestKind]ConfigScanner
	// Dates tell when a write-only destination was last written (GitHub).
	Dates    map[DestKind]WriteDater
	Notifier DriftNotifier
	Now      func() time.Time // default WallNow
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

// DriftLoop is the periodic drift pass and the repair of a drifted destination.
// Build it with NewDriftLoop; Start and Close run the periodic pass.
type DriftLoop struct {
	DriftConfig

	pass sync.Mutex // one pass at a time in this process
	bg   background
}

// NewDriftLoop returns a loop on c, with c's defaults filled in once.
func NewDriftLoop(c DriftConfig) *DriftLoop {
	if c.Now == nil {
		c.Now = WallNow
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
		c.Owner = defaultOwner(":drift")
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = 2 * time.Minute
	}
	return &DriftLoop{DriftConfig: c}
}

// DriftClaim is the claim (Store.ClaimRun) a pass holds, so two processes on one
// database do not both post; a repair holds DriftClaim+":"+key.
const DriftClaim = "drift"

func (l *DriftLoop) now() time.Time { return l.Now().UTC() }

func (l *DriftLoop) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.CallTimeout)
}

// Start runs a pass now and then every Interval until ctx ends or Close is
// called; with no Interval it does nothing. A pass that could not check
// everything is followed by the next at the usual time: drift is not urgent.
func (l *DriftLoop) Start(ctx context.Context) {
	if l.Interval <= 0 {
		return
	}
	l.bg.start(ctx, l.loop)
}

func (l *DriftLoop) loop(ctx context.Context) {
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		if rep, err := l.Pass(ctx); err != nil && ctx.Err() == nil {
			l.Log.Warn("drift check failed", "err", ErrorMessage(err), "cause", err)
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
func (l *DriftLoop) Close() { l.bg.stop() }

// DriftReport is what one pass did.
type DriftReport struct {
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
	Open []DriftRecord
	// Problems say what could not be checked.
	Problems []string
}

// finding is what a pass learned of one place: a drift (problem set), no drift
// (checked), or nothing (not checked).
type finding struct {
	rec     DriftRecord // Key, Secret, Kind, Dest, Target, Name, VaultVersion, Fingerprint
	checked bool
	problem string
}

// secretState is what a pass read of one secret.
type secretState struct {
	name    string
	sc      *SecretConfig
	ok      bool // the vault was read
	digest  Digest
	version int
	fp      string
	runs    []*Run // its newest runs, for rotabot's last writes
}

// Pass runs one drift pass and says what it found. While another process's pass
// holds the claim it does nothing but report what is stored.
func (l *DriftLoop) Pass(ctx context.Context) (DriftReport, error) {
	l.pass.Lock()
	defer l.pass.Unlock()
	rep := DriftReport{At: l.now()}
	hctx, release, ok, err := holdClaim(ctx, l.Store, DriftClaim, l.Owner, l.ClaimTTL, l.now, l.Log)
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

	openRuns, err := l.Store.ListRuns(ctx, RunFilter{OpenOnly: true})
	if err != nil {
		return rep, err
	}
	busy := map[string]bool{}
	for _, r := range openRuns {
		busy[r.Secret] = true
	}
	var names []string
	for _, n := range l.Matrix.Names() {
		if busy[n] {
			rep.Skipped = append(rep.Skipped, n)
		} else {
			names = append(names, n)
		}
	}
	var mu sync.Mutex
	problem := func(format string, args ...any) {
		mu.Lock()
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	// Each secret's current value, version and newest runs.
	states := make([]*secretState, len(names))
	l.each(ctx, len(names), func(i int) {
		st := &secretState{name: names[i], sc: l.Matrix.Secrets[names[i]]}
		states[i] = st
		cur, _ := l.Matrix.Refs(st.name)
		cctx, cancel := l.callCtx(ctx)
		vv, err := l.Vault.Read(cctx, cur)
		cancel()
		if err != nil {
			problem("%s: could not read it from Infisical (%s)", st.name, ErrorMessage(err))
			return
		}
		st.ok, st.digest, st.version, st.fp = true, vv.Value.Digest(), vv.Version, vv.Value.Fingerprint()
		if st.runs, err = l.Store.ListRuns(ctx, RunFilter{Secret: st.name, Limit: driftRunsLooked}); err != nil {
			problem("%s: could not read its runs (%s)", st.name, ErrorMessage(err))
			st.ok = false
		}
	})
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	stored, err := l.storedDrifts(ctx)
	if err != nil {
		return rep, err
	}
	var findings []*finding
	var fmu sync.Mutex
	add := func(f *finding) {
		fmu.Lock()
		findings = append(findings, f)
		fmu.Unlock()
	}

	// Heroku: each app's config once, every destination var compared.
	type want struct {
		st   *secretState
		name string
	}
	apps := map[Holding][]want{} // Kind and Target only
	for _, st := range states {
		if st == nil || !st.ok {
			continue
		}
		rep.Secrets++
		for _, d := range destinations(st.sc, Overrides{}) {
			if _, ok := l.Scanners[d.Kind]; ok {
				k := appKey(d.Kind, d.Target)
				apps[k] = append(apps[k], want{st, d.VarName(st.name)})
			}
		}
	}
	appList := make([]Holding, 0, len(apps))
	for k := range apps {
		appList = append(appList, k)
	}
	slices.SortFunc(appList, func(a, b Holding) int { return strings.Compare(string(a.Kind)+a.Target, string(b.Kind)+b.Target) })
	l.each(ctx, len(appList), func(i int) {
		k := appList[i]
		wants := apps[k]
		names := map[string]bool{}
		for _, w := range wants {
			names[w.name] = true
		}
		held := map[string]Digest{}
		cctx, cancel := l.callCtx(ctx)
		err := l.Scanners[k.Kind].ScanConfig(cctx, k.Target, func(name string, sum Digest) {
			if names[name] {
				held[name] = sum
			}
		})
		cancel()
		if err != nil {
			problem("%s app %s: could not read its config (%s)", kindWord(k.Kind), k.Target, ErrorMessage(err))
			return
		}
		mu.Lock()
		rep.Apps++
		mu.Unlock()
		for _, w := range wants {
			f := &finding{checked: true, rec: w.st.record(DriftValue, k.Kind, k.Target, w.name)}
			sum, present := held[w.name]
			switch {
			case !present:
				f.problem = fmt.Sprintf("the app has no %s config var: Infisical holds version %d (`%s`)", w.name, w.st.version, w.st.fp)
			case sum != w.st.digest:
				f.problem = fmt.Sprintf("it holds a value other than Infisical's version %d (`%s`): changed outside rotabot", w.st.version, w.st.fp)
			}
			add(f)
		}
	})

	// GitHub Actions secrets: when were they written, and by whom?
	type dated struct {
		st   *secretState
		d    Destination
		base time.Time
	}
	var toDate []dated
	for _, st := range states {
		if st == nil || !st.ok {
			continue
		}
		for _, d := range destinations(st.sc, Overrides{}) {
			if _, ok := l.Dates[d.Kind]; !ok {
				continue
			}
			key := DriftKey(st.name, d.Kind, d.Target, d.VarName(st.name))
			base := lastWrite(st.runs, d, st.name)
			if w := stored[key].Wrote; w.After(base) {
				base = w
			}
			if base.IsZero() {
				continue // rotabot never wrote it: nothing to compare with
			}
			toDate = append(toDate, dated{st, d, base})
		}
	}
	l.each(ctx, len(toDate), func(i int) {
		x := toDate[i]
		name := x.d.VarName(x.st.name)
		cctx, cancel := l.callCtx(ctx)
		at, err := l.Dates[x.d.Kind].UpdatedAt(cctx, x.d.Target, name)
		cancel()
		f := &finding{checked: true, rec: x.st.record(DriftWritten, x.d.Kind, x.d.Target, name)}
		switch {
		case ErrorCode(err) == ENOTFOUND:
			f.problem = fmt.Sprintf("the Actions secret is gone: rotabot last wrote it at %s", DateText(x.base))
		case err != nil:
			problem("%s: could not ask when it was written (%s)", x.d.Label(), ErrorMessage(err))
			return
		case at.After(x.base.Add(l.Grace)):
			f.problem = fmt.Sprintf("the Actions secret was written at %s, after rotabot's last write at %s: it may not hold Infisical's current value (version %d, `%s`)",
				DateText(at), DateText(x.base), x.st.version, x.st.fp)
		}
		mu.Lock()
		rep.Dated++
		mu.Unlock()
		add(f)
	})

	// Infisical: a version rotabot did not write.
	for _, st := range states {
		if st == nil || !st.ok {
			continue
		}
		key := DriftKey(st.name, "", "", "")
		base := max(lastVersion(st.runs), stored[key].Adopted)
		if base == 0 {
			continue // rotabot never wrote it
		}
		f := &finding{checked: true, rec: st.record(DriftVersion, "", "", "")}
		if st.version > base {
			f.problem = fmt.Sprintf("Infisical holds version %d (`%s`), but the last version rotabot wrote is %d: it was written outside rotabot, and its consumers may hold the old value",
				st.version, st.fp, base)
		}
		add(f)
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	// Places no longer in the routing matrix: their open drifts end.
	checked := map[string]bool{}
	for _, st := range states {
		if st != nil && st.ok {
			checked[st.name] = true
		}
	}
	found := map[string]bool{}
	for _, f := range findings {
		found[f.rec.Key] = true
	}
	var gone []string
	for key, rec := range stored {
		if rec.Open && checked[rec.Secret] && !found[key] && !l.inMatrix(rec) {
			gone = append(gone, key)
		}
	}

	changed, err := l.record(ctx, findings, gone, &rep)
	if err != nil {
		return rep, err
	}
	l.show(ctx, changed)
	rep.Open, err = l.OpenDrifts(ctx)
	return rep, err
}

// driftRunsLooked is how many of a secret's newest runs a pass reads to find
// rotabot's last writes.
const driftRunsLooked = 25

// each calls fn(0) … fn(n-1), Parallel at a time (see parallel).
func (l *DriftLoop) each(ctx context.Context, n int, fn func(i int)) {
	parallel(ctx, l.Parallel, n, fn)
}

func (st *secretState) record(kind DriftKind, dest DestKind, target, name string) DriftRecord {
	return DriftRecord{Key: DriftKey(st.name, dest, target, name), Secret: st.name, Kind: kind, Dest: dest,
		Target: target, Name: name, VaultVersion: st.version, Fingerprint: st.fp}
}

// inMatrix reports whether the record's place is still a destination of its
// secret (or, for the vault, whether the secret is still configured).
func (l *DriftLoop) inMatrix(rec DriftRecord) bool {
	sc, ok := l.Matrix.Secrets[rec.Secret]
	if !ok {
		return false
	}
	if rec.Dest == "" {
		return true
	}
	for _, d := range destinations(sc, Overrides{}) {
		if d.Kind == rec.Dest && d.Target == rec.Target && d.VarName(rec.Secret) == rec.Name {
			return true
		}
	}
	return false
}

// lastWrite is when rotabot last wrote destination d of secret in a finished
// run: the write of a run that set it, or the rollback that set the old value
// back. Zero when no run of those looked at did.
func lastWrite(runs []*Run, d Destination, secret string) time.Time {
	for _, r := range runs {
		if r.Open() {
			continue
		}
		for _, x := range r.Destinations {
			if x.Kind != d.Kind || x.Target != d.Target || x.VarName(secret) != d.VarName(secret) {
				continue
			}
			switch {
			case x.State == DestReverted && !x.Finished.IsZero():
				return x.Finished
			case !x.Written.IsZero():
				return x.Written
			}
		}
	}
	return time.Time{}
}

// lastVersion is the Infisical version rotabot last wrote in a finished run:
// the new value of a completed run, or what a rollback left current.
func lastVersion(runs []*Run) int {
	for _, r := range runs {
		switch {
		case r.State == StateCompleted && r.NewVaultVersion > 0:
			return r.NewVaultVersion
		case r.State == StateRolledBack && r.RestoredVaultVersion > 0:
			return r.RestoredVaultVersion
		}
	}
	return 0
}

// storedDrifts reads every drift record, by key.
func (l *DriftLoop) storedDrifts(ctx context.Context) (map[string]DriftRecord, error) {
	recs, err := l.Store.ListDrift(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]DriftRecord, len(recs))
	for _, r := range recs {
		out[r.Key] = r
	}
	return out, nil
}

// OpenDrifts lists the drifts open now, by key.
func (l *DriftLoop) OpenDrifts(ctx context.Context) ([]DriftRecord, error) {
	recs, err := l.Store.ListDrift(ctx)
	if err != nil {
		return nil, err
	}
	var out []DriftRecord
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
func (l *DriftLoop) record(ctx context.Context, findings []*finding, gone []string, rep *DriftReport) ([]DriftRecord, error) {
	keys := make([]string, 0, len(findings)+len(gone))
	for _, f := range findings {
		keys = append(keys, f.rec.Key)
	}
	keys = append(keys, gone...)
	now := l.now()
	var stale []DriftRecord
	err := l.Store.UpdateDrift(ctx, keys, func(stored map[string]DriftRecord) ([]DriftRecord, error) {
		stale = stale[:0]
		rep.New, rep.Resolved = 0, 0
		var out []DriftRecord
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
				old.Problem, old.VaultVersion, old.Fingerprint = f.problem, f.rec.VaultVersion, f.rec.Fingerprint
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
func (l *DriftLoop) show(ctx context.Context, recs []DriftRecord) {
	if l.Notifier == nil || len(recs) == 0 {
		return
	}
	type shown struct {
		key, since, state string
		post              CardRef
	}
	var done []shown
	for _, rec := range recs {
		cctx, cancel := l.callCtx(ctx)
		post, err := l.Notifier.ShowDrift(cctx, rec)
		cancel()
		if err != nil {
			l.Log.Warn("could not show a drift in the ops channel", "secret", rec.Secret, "where", rec.Label(), "err", ErrorMessage(err), "cause", err)
			if post == (CardRef{}) {
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
	err := l.Store.UpdateDrift(context.WithoutCancel(ctx), keys, func(stored map[string]DriftRecord) ([]DriftRecord, error) {
		var out []DriftRecord
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

// Drift errors people see.
var (
	// ErrDriftMovedOn: the drift a button was pressed for was resolved, or is
	// not the one the post showed.
	ErrDriftMovedOn = errors.New("drift moved on")
)

// Repair is Set it from Infisical: it writes Infisical's current value to the
// drifted destination only — for a version drift, to every Heroku and GitHub
// destination of the secret — verifies it, marks the drift repaired by user,
// records secret.drift.repaired in the audit trail and shows it. stamp is the
// drift the post showed (DriftRecord.Stamp).
func (l *DriftLoop) Repair(ctx context.Context, key, stamp, user string) (DriftRecord, error) {
	hctx, release, ok, err := holdClaim(ctx, l.Store, DriftClaim+":"+key, l.Owner, l.ClaimTTL, l.now, l.Log)
	if err != nil {
		return DriftRecord{}, err
	}
	if !ok {
		return DriftRecord{}, &Error{Code: ECONFLICT, Err: ErrDriftMovedOn, Message: "Someone else is setting it from Infisical right now: look at the post in a moment"}
	}
	defer release()
	ctx = hctx
	recs, err := l.Store.ListDrift(ctx)
	if err != nil {
		return DriftRecord{}, err
	}
	var rec DriftRecord
	for _, r := range recs {
		if r.Key == key {
			rec = r
		}
	}
	switch {
	case rec.Key == "":
		return rec, &Error{Code: ENOTFOUND, Err: ErrDriftMovedOn, Message: "This drift is no longer known (was the bot's database reset?). Nothing was changed; /rotate drift checks again."}
	case !rec.Open || rec.Stamp() != stamp:
		return rec, &Error{Code: ECONFLICT, Err: ErrDriftMovedOn, Message: "This drift has moved on: " + driftStateText(rec) + ". Nothing was changed."}
	}
	open, err := l.Store.ListRuns(ctx, RunFilter{Secret: rec.Secret, OpenOnly: true})
	if err != nil {
		return rec, err
	}
	if len(open) > 0 {
		return rec, Errorf(ECONFLICT, "%s has an open run, %s (%s): it sets every destination. Finish it first; nothing was changed.", rec.Secret, open[0].ID, open[0].State.Word())
	}
	sc, err := l.Matrix.Secret(rec.Secret)
	if err != nil {
		return rec, err
	}
	cur, _ := l.Matrix.Refs(rec.Secret)
	cctx, cancel := l.callCtx(ctx)
	vv, err := l.Vault.Read(cctx, cur)
	cancel()
	if err != nil {
		return rec, Wrap(ErrorCode(err), err, "Could not read %s from Infisical: %s. Nothing was changed.", rec.Secret, ErrorMessage(err))
	}
	var targets []Destination
	if rec.Dest == "" {
		for _, d := range destinations(sc, Overrides{}) {
			if _, ok := l.Consumers[d.Kind]; ok {
				targets = append(targets, d)
			}
		}
	} else {
		d := Destination{Kind: rec.Dest, Target: rec.Target, Name: rec.Name}
		if d.Name == rec.Secret {
			d.Name = "" // the matrix's default, not named in labels
		}
		targets = []Destination{d}
	}
	wrote := map[string]time.Time{}
	var results []DestResult
	var failed []string
	for _, d := range targets {
		c, ok := l.Consumers[d.Kind]
		if !ok {
			return rec, Errorf(EINTERNAL, "no consumer for %s is configured", d.Kind)
		}
		name := d.VarName(rec.Secret)
		since := l.now()
		cctx, cancel := l.callCtx(ctx)
		err := c.Set(cctx, d.Target, name, vv.Value)
		if err == nil {
			err = c.Verify(cctx, d.Target, name, vv.Value, since)
		}
		cancel()
		if err != nil {
			failed = append(failed, d.Label()+": "+ErrorMessage(err))
			results = append(results, DestResult{Destination: d.Label(), Result: "failed: " + ErrorMessage(err)})
			continue
		}
		wrote[DriftKey(rec.Secret, d.Kind, d.Target, name)] = since
		results = append(results, DestResult{Destination: d.Label(), Result: fmt.Sprintf("set from Infisical version %d and verified", vv.Version)})
	}
	if len(failed) > 0 {
		return rec, Errorf(EUNAVAILABLE, "Could not set it from Infisical: %s. The drift stays open; try again.", strings.Join(failed, "; "))
	}
	now := l.now()
	keys := []string{key}
	for k := range wrote {
		if k != key {
			keys = append(keys, k)
		}
	}
	var done DriftRecord
	err = l.Store.UpdateDrift(context.WithoutCancel(ctx), keys, func(stored map[string]DriftRecord) ([]DriftRecord, error) {
		r, ok := stored[key]
		if !ok || r.Stamp() != stamp {
			return nil, &Error{Code: ECONFLICT, Err: ErrDriftMovedOn, Message: "This drift changed while it was being set: look at the post"}
		}
		r.Open, r.Resolved, r.RepairedBy = false, now, user
		r.VaultVersion, r.Fingerprint = vv.Version, vv.Value.Fingerprint()
		if w, ok := wrote[key]; ok {
			r.Wrote = w
		}
		if r.Dest == "" {
			r.Adopted = vv.Version
		}
		done = r
		out := []DriftRecord{r}
		for k, w := range wrote {
			if k == key {
				continue
			}
			other, ok := stored[k]
			if !ok {
				d := targets[slices.IndexFunc(targets, func(d Destination) bool {
					return DriftKey(rec.Secret, d.Kind, d.Target, d.VarName(rec.Secret)) == k
				})]
				kind := DriftValue
				if d.Kind != DestHeroku {
					kind = DriftWritten
				}
				other = DriftRecord{Key: k, Secret: rec.Secret, Kind: kind, Dest: d.Kind, Target: d.Target, Name: d.VarName(rec.Secret)}
			}
			other.Wrote = w
			out = append(out, other)
		}
		return out, nil
	})
	if err != nil {
		return rec, err
	}
	entry := AuditEntry{Action: ActionDriftRepaired, At: now, RunID: "drift:" + key + "@" + stamp, Secret: rec.Secret,
		Actor: user, Method: MethodSlack, Destinations: results, NewFingerprint: vv.Value.Fingerprint()}
	if err := l.Store.AppendAudit(context.WithoutCancel(ctx), entry); err != nil {
		l.Log.Error("could not store the audit entry of a drift repair", "secret", rec.Secret, "err", err)
	}
	l.Log.Info("drift repaired", "secret", rec.Secret, "where", done.Label(), "by", user, "version", vv.Version, "fingerprint", vv.Value.Fingerprint())
	if l.Notifier != nil {
		l.show(context.WithoutCancel(ctx), []DriftRecord{done})
		cctx, cancel := l.callCtx(context.WithoutCancel(ctx))
		if err := l.Notifier.DriftAudited(cctx, done, entry); err != nil {
			l.Log.Warn("could not post the audit entry of a drift repair", "secret", rec.Secret, "err", ErrorMessage(err), "cause", err)
		}
		cancel()
	}
	return done, nil
}

// driftStateText says where a drift stands, for people.
func driftStateText(d DriftRecord) string {
	switch {
	case d.Open:
		return "a newer drift of the same place is open"
	case d.RepairedBy != "":
		return fmt.Sprintf("%s set it from Infisical at %s", Mention(d.RepairedBy), DateText(d.Resolved))
	}
	return "it was resolved at " + DateText(d.Resolved)
}
