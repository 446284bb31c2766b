package drift

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/internal/loop"
)

// The drift pass's comparisons, one job each: read every secret's current value
// (and what rotabot last wrote of it), compare each Heroku app's config, ask
// when each GitHub Actions secret was written, compare Infisical's version with
// rotabot's last, and find the places no longer in the routing matrix. Each
// problem is worded for the case it is: a destination holding the previous
// version rotabot wrote is not "a value changed outside rotabot", and a value
// that is a token rotabot retired says to rotate instead.

// finding is what a pass learned of one place: a drift (problem set), no drift
// (checked), or nothing (not checked).
type finding struct {
	rec     Record // Key, Secret, Kind, Dest, Target, Name, VaultVersion, Fingerprint, Retired
	checked bool
	problem string
}

// secretState is what a pass read of one secret.
type secretState struct {
	name    string
	sc      *rotation.SecretConfig
	ok      bool // the vault was read
	digest  rotation.Digest
	version int
	fp      string
	runs    []*rotation.Run // its runs, newest first, for rotabot's last writes
	// base is the last version rotabot wrote (0: none); prevDigest and
	// prevFP are its value's, when it is not the current one and was read.
	base       int
	prevDigest rotation.Digest
	prevFP     string
	// retired is set when the current value is a token a finished run retired.
	retired *rotation.Retirement
}

// driftPass is one pass's work in hand, shared by its comparisons.
type driftPass struct {
	rep    *Report
	stored map[string]Record
	states []*secretState

	mu       sync.Mutex
	findings []*finding
}

func (p *driftPass) problem(format string, args ...any) {
	p.mu.Lock()
	p.rep.Problems = append(p.rep.Problems, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

func (p *driftPass) add(f *finding) {
	p.mu.Lock()
	p.findings = append(p.findings, f)
	p.mu.Unlock()
}

// counted adds one to a count of the report, under the pass's lock.
func (p *driftPass) counted(n *int) {
	p.mu.Lock()
	*n++
	p.mu.Unlock()
}

// read lists the states whose vault value was read.
func (p *driftPass) read() []*secretState {
	var out []*secretState
	for _, st := range p.states {
		if st != nil && st.ok {
			out = append(out, st)
		}
	}
	return out
}

// each calls fn(0) … fn(n-1), Parallel at a time (loop.Parallel).
func (l *Loop) each(ctx context.Context, n int, fn func(i int)) {
	loop.Parallel(ctx, l.Parallel, n, fn)
}

// readStates reads each secret's current value and version, its runs, and the
// value of the version rotabot last wrote when Infisical holds another.
func (l *Loop) readStates(ctx context.Context, p *driftPass, names []string) {
	p.states = make([]*secretState, len(names))
	l.each(ctx, len(names), func(i int) {
		st := &secretState{name: names[i], sc: l.Matrix.Secrets[names[i]]}
		p.states[i] = st
		cur, _ := l.Matrix.Refs(st.name)
		cctx, cancel := l.callCtx(ctx)
		defer cancel()
		vv, err := l.Vault.Read(cctx, cur)
		if err != nil {
			p.problem("%s: could not read it from Infisical (%s)", st.name, rotation.ErrorMessage(err))
			return
		}
		if st.runs, err = l.Store.ListRuns(ctx, rotation.RunFilter{Secret: st.name}); err != nil {
			p.problem("%s: could not read its runs (%s)", st.name, rotation.ErrorMessage(err))
			return
		}
		st.ok, st.digest, st.version, st.fp = true, vv.Value.Digest(), vv.Version, vv.Value.Fingerprint()
		st.retired = rotation.RetiredBy(st.runs, vv.Value, "")
		st.base = max(lastVersion(st.runs), p.stored[Key(st.name, "", "", "")].Adopted)
		if st.base > 0 && st.base != st.version {
			// Only for the wording: without it the problem names no fingerprint.
			if prev, err := l.Vault.ReadVersion(cctx, cur, st.base); err == nil {
				st.prevDigest, st.prevFP = prev.Digest(), prev.Fingerprint()
			}
		}
	})
}

// checkApps reads each Heroku app's config once, however many secrets it
// holds, and compares every destination var with Infisical's value.
func (l *Loop) checkApps(ctx context.Context, p *driftPass) {
	type want struct {
		st   *secretState
		name string
	}
	apps := map[rotation.Holding][]want{} // Kind and Target only
	for _, st := range p.read() {
		for _, d := range st.sc.Destinations() {
			if _, ok := l.Scanners[d.Kind]; ok {
				k := rotation.Holding{Kind: d.Kind, Target: d.Target}
				apps[k] = append(apps[k], want{st, d.VarName(st.name)})
			}
		}
	}
	appList := make([]rotation.Holding, 0, len(apps))
	for k := range apps {
		appList = append(appList, k)
	}
	slices.SortFunc(appList, func(a, b rotation.Holding) int {
		return strings.Compare(string(a.Kind)+a.Target, string(b.Kind)+b.Target)
	})
	l.each(ctx, len(appList), func(i int) {
		k := appList[i]
		wants := apps[k]
		names := map[string]bool{}
		for _, w := range wants {
			names[w.name] = true
		}
		held := map[string]rotation.Digest{}
		cctx, cancel := l.callCtx(ctx)
		err := l.Scanners[k.Kind].ScanConfig(cctx, k.Target, func(name string, sum rotation.Digest) {
			if names[name] {
				held[name] = sum
			}
		})
		cancel()
		if err != nil {
			p.problem("%s app %s: could not read its config (%s)", k.Kind.Word(), k.Target, rotation.ErrorMessage(err))
			return
		}
		p.counted(&p.rep.Apps)
		for _, w := range wants {
			sum, present := held[w.name]
			p.add(&finding{checked: true, rec: w.st.record(KindValue, k.Kind, k.Target, w.name), problem: w.st.valueProblem(w.name, sum, present)})
		}
	})
}

// checkDates asks when each GitHub Actions secret rotabot wrote was last
// written: later than rotabot's write (with Grace), or gone, is drift.
func (l *Loop) checkDates(ctx context.Context, p *driftPass) {
	type dated struct {
		st   *secretState
		d    rotation.Destination
		base time.Time
	}
	var toDate []dated
	for _, st := range p.read() {
		for _, d := range st.sc.Destinations() {
			if _, ok := l.Dates[d.Kind]; !ok {
				continue
			}
			key := Key(st.name, d.Kind, d.Target, d.VarName(st.name))
			base := lastWrite(st.runs, d, st.name)
			if w := p.stored[key].Wrote; w.After(base) {
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
		f := &finding{checked: true, rec: x.st.record(KindWritten, x.d.Kind, x.d.Target, name)}
		switch {
		case rotation.ErrorCode(err) == rotation.ENOTFOUND:
			f.problem = x.st.withRetired(fmt.Sprintf("the %s is gone: rotabot last wrote it at %s", secretNoun(x.d.Kind), words.DateText(x.base)))
		case err != nil:
			p.problem("%s: could not ask when it was written (%s)", x.d.Label(), rotation.ErrorMessage(err))
			return
		case at.After(x.base.Add(l.Grace)):
			f.problem = x.st.withRetired(fmt.Sprintf("the %s was written at %s, after rotabot's last write at %s: it may not hold Infisical's current value (version %d, `%s`)",
				secretNoun(x.d.Kind), words.DateText(at), words.DateText(x.base), x.st.version, x.st.fp))
		}
		p.counted(&p.rep.Dated)
		p.add(f)
	})
}

// secretNoun names a GitHub copy of kind k in a drift finding: "Actions secret",
// "environment secret", "organisation secret", "Dependabot secret".
func secretNoun(k rotation.DestKind) string {
	switch k {
	case rotation.DestGitHubEnvSecret:
		return "environment secret"
	case rotation.DestGitHubOrgSecret:
		return "organisation secret"
	case rotation.DestDependabotSecret:
		return "Dependabot secret"
	}
	return "Actions secret"
}

// checkVaults compares each secret's Infisical version with the last one
// rotabot wrote (a run, or a repair that adopted one).
func (l *Loop) checkVaults(p *driftPass) {
	for _, st := range p.read() {
		if st.base == 0 {
			continue // rotabot never wrote it
		}
		p.add(&finding{checked: true, rec: st.record(KindVersion, "", "", ""), problem: st.versionProblem()})
	}
}

// gone lists the open drifts of checked secrets whose place is no longer in
// the routing matrix: they end.
func (l *Loop) gone(p *driftPass) []string {
	checked := map[string]bool{}
	for _, st := range p.read() {
		checked[st.name] = true
	}
	found := map[string]bool{}
	for _, f := range p.findings {
		found[f.rec.Key] = true
	}
	var gone []string
	for key, rec := range p.stored {
		if rec.Open && checked[rec.Secret] && !found[key] && !l.inMatrix(rec) {
			gone = append(gone, key)
		}
	}
	return gone
}

// valueProblem says how a Heroku config var differs from Infisical's value (""
// when it does not): missing, the previous version rotabot wrote, or a value
// changed outside rotabot.
func (st *secretState) valueProblem(name string, sum rotation.Digest, present bool) string {
	var p string
	switch {
	case !present:
		p = fmt.Sprintf("the app has no %s config var: Infisical holds version %d (`%s`)", name, st.version, st.fp)
	case sum == st.digest:
		return ""
	case st.prevFP != "" && sum == st.prevDigest:
		p = fmt.Sprintf("it holds version %d (`%s`), the last version rotabot wrote, not Infisical's current version %d (`%s`), which was written outside rotabot",
			st.base, st.prevFP, st.version, st.fp)
	default:
		p = fmt.Sprintf("it holds a value other than Infisical's version %d (`%s`): changed outside rotabot", st.version, st.fp)
	}
	return st.withRetired(p)
}

// versionProblem says how Infisical's version differs from the last one
// rotabot wrote ("" when it does not): the consumers rotabot set hold that
// previous version, or its very value when the new version repeats it.
func (st *secretState) versionProblem() string {
	if st.version <= st.base {
		return ""
	}
	var p string
	switch {
	case st.prevFP != "" && st.prevDigest == st.digest:
		p = fmt.Sprintf("Infisical holds version %d (`%s`), written outside rotabot with the same value as version %d, the last version rotabot wrote: the consumers rotabot set hold that value already",
			st.version, st.fp, st.base)
	case st.prevFP != "":
		p = fmt.Sprintf("Infisical holds version %d (`%s`), written outside rotabot; the last version rotabot wrote is %d (`%s`), and the consumers rotabot set hold that previous version, not version %d",
			st.version, st.fp, st.base, st.prevFP, st.version)
	default:
		p = fmt.Sprintf("Infisical holds version %d (`%s`), written outside rotabot; the last version rotabot wrote is %d, and the consumers rotabot set hold that previous version, not version %d",
			st.version, st.fp, st.base, st.version)
	}
	return st.withRetired(p)
}

// withRetired adds to a problem that Infisical's value is a retired token.
func (st *secretState) withRetired(problem string) string {
	if st.retired == nil {
		return problem
	}
	return problem + "; Infisical holds " + st.retired.Text() + ": rotate instead"
}

func (st *secretState) record(kind Kind, dest rotation.DestKind, target, name string) Record {
	return Record{Key: Key(st.name, dest, target, name), Secret: st.name, Kind: kind, Dest: dest,
		Target: target, Name: name, VaultVersion: st.version, Fingerprint: st.fp, Retired: st.retired}
}

// inMatrix reports whether the record's place is still a destination of its
// secret (or, for the vault, whether the secret is still configured).
func (l *Loop) inMatrix(rec Record) bool {
	sc, ok := l.Matrix.Secrets[rec.Secret]
	if !ok {
		return false
	}
	if rec.Dest == "" {
		return true
	}
	for _, d := range sc.Destinations() {
		if d.Kind == rec.Dest && d.Target == rec.Target && d.VarName(rec.Secret) == rec.Name {
			return true
		}
	}
	return false
}

// lastWrite is when rotabot last wrote destination d of secret in a finished
// run: the write of a run that set it, or the rollback that set the old value
// back. Zero when no run of those looked at did.
func lastWrite(runs []*rotation.Run, d rotation.Destination, secret string) time.Time {
	for _, r := range runs {
		if r.Open() {
			continue
		}
		for _, x := range r.Destinations {
			if x.Kind != d.Kind || x.Target != d.Target || x.VarName(secret) != d.VarName(secret) {
				continue
			}
			switch {
			case x.State == rotation.DestReverted && !x.Finished.IsZero():
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
func lastVersion(runs []*rotation.Run) int {
	for _, r := range runs {
		switch {
		case r.State == rotation.StateCompleted && r.NewVaultVersion > 0:
			return r.NewVaultVersion
		case r.State == rotation.StateRolledBack && r.RestoredVaultVersion > 0:
			return r.RestoredVaultVersion
		}
	}
	return 0
}
