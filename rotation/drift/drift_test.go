package drift_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// driftApps is Heroku for the drift tests: apps of config vars, read by scan and
// written by repairs, each read counted.
type driftApps struct {
	mu    sync.Mutex
	vars  map[string]map[string]string
	reads map[string]int
	sets  int
	// onSet runs after each set, while the repair that made it is under way.
	onSet func(app string)
}

func (a *driftApps) Apps(context.Context) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for app := range a.vars {
		out = append(out, app)
	}
	slices.Sort(out)
	return out, nil
}

func (a *driftApps) ScanConfig(_ context.Context, app string, each func(string, rotation.Digest)) error {
	a.mu.Lock()
	a.reads[app]++
	vars, ok := a.vars[app]
	got := map[string]string{}
	for k, v := range vars {
		got[k] = v
	}
	a.mu.Unlock()
	if !ok {
		return rotation.Errorf(rotation.ENOTFOUND, "Heroku has no app %s (404)", app)
	}
	for k, v := range got {
		each(k, rotation.Digest(sha256.Sum256([]byte(v))))
	}
	return nil
}

func (a *driftApps) Set(_ context.Context, app, name string, v rotation.Secret) error {
	a.mu.Lock()
	a.vars[app][name] = v.Reveal()
	a.sets++
	hook := a.onSet
	a.mu.Unlock()
	if hook != nil {
		hook(app)
	}
	return nil
}

func (a *driftApps) get(app, name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.vars[app][name]
}

func (a *driftApps) setCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sets
}

func (a *driftApps) Verify(_ context.Context, app, name string, v rotation.Secret, _ time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.vars[app][name] != v.Reveal() {
		return rotation.Errorf(rotation.EINVALID, "Heroku app %s holds a different %s", app, name)
	}
	return nil
}

func (a *driftApps) set(app, name, v string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.vars[app][name] = v
}

// driftSecrets is GitHub Actions secrets for the drift tests: their dates.
type driftSecrets struct {
	mu      sync.Mutex
	now     func() time.Time
	updated map[string]time.Time // repo:name
}

func (g *driftSecrets) UpdatedAt(_ context.Context, repo, name string) (time.Time, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.updated[repo+":"+name]
	if !ok {
		return time.Time{}, rotation.Errorf(rotation.ENOTFOUND, "GitHub has no Actions secret %s on %s (404)", name, repo)
	}
	return at, nil
}

func (g *driftSecrets) Set(_ context.Context, repo, name string, _ rotation.Secret) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.updated[repo+":"+name] = g.now()
	return nil
}

func (g *driftSecrets) Verify(_ context.Context, repo, name string, _ rotation.Secret, since time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.updated[repo+":"+name].Before(since) {
		return rotation.Errorf(rotation.EINVALID, "not written")
	}
	return nil
}

// driftPosts records what the notifier showed.
type driftPosts struct {
	mu      sync.Mutex
	n       int
	posts   map[string][]string // ts → every state it showed
	audited []rotation.AuditEntry
}

func (p *driftPosts) ShowDrift(_ context.Context, d drift.Record) (rotation.CardRef, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	post := d.Post
	if post.TS == "" {
		p.n++
		post = rotation.CardRef{Channel: "C0OPS", TS: fmt.Sprintf("1700000000.%06d", p.n)}
	}
	p.posts[post.TS] = append(p.posts[post.TS], d.Key+" "+d.ShowState())
	return post, nil
}

func (p *driftPosts) DriftAudited(_ context.Context, _ drift.Record, e rotation.AuditEntry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.audited = append(p.audited, e)
	return nil
}

func (p *driftPosts) all() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]string{}
	for k, v := range p.posts {
		out[k] = slices.Clone(v)
	}
	return out
}

type driftWorld struct {
	t      *testing.T
	path   string
	st     *bbolt.Store
	matrix *rotation.Matrix
	vault  *rotationtest.MemVault
	apps   *driftApps
	gh     *driftSecrets
	posts  *driftPosts
	now    time.Time
	loop   *drift.Loop
	// chk is GitHub's GET /user for the repairs' checks; eng writes them.
	chk *rotationtest.MemGitHub
	eng *rotation.Engine
}

// newDriftWorld is n secrets (TOKEN_1 …) spread over apps app-0 … app-(apps-1),
// each on two apps (or one when apps is 1) and an Actions secret on raxx/repo.
func newDriftWorld(t *testing.T, n, apps int) *driftWorld {
	t.Helper()
	w := &driftWorld{t: t, path: filepath.Join(t.TempDir(), "rotabot.db"), vault: rotationtest.NewMemVault(), now: t0,
		apps:  &driftApps{vars: map[string]map[string]string{}, reads: map[string]int{}},
		posts: &driftPosts{posts: map[string][]string{}}, chk: rotationtest.NewMemGitHub(),
		matrix: &rotation.Matrix{OpsUsergroup: "S0OPS", Channel: "C0OPS",
			Vault:   rotation.VaultSettings{Environment: "prod", Path: "/MooseQuest/github/", PendingPath: "/rotabot/pending/"},
			Secrets: map[string]*rotation.SecretConfig{}},
	}
	w.gh = &driftSecrets{now: func() time.Time { return w.now }, updated: map[string]time.Time{}}
	for a := range apps {
		w.apps.vars[fmt.Sprintf("app-%d", a)] = map[string]string{"DATABASE_URL": "postgres://u:pw@db/x"}
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("TOKEN_%d", i)
		ha := []string{fmt.Sprintf("app-%d", i%apps)}
		if apps > 1 {
			ha = append(ha, fmt.Sprintf("app-%d", (i+1)%apps))
		}
		w.matrix.Secrets[name] = &rotation.SecretConfig{Name: name, Kind: rotation.FineGrained,
			Consumers: rotation.Consumers{HerokuApps: ha, GitHubSecrets: []string{"raxx/repo:GH_" + name}}}
		val := fmt.Sprintf("github_pat_11%s_%x", name, sha256.Sum256([]byte(name)))[:72]
		cur, _ := w.matrix.Refs(name)
		w.vault.Set(cur, val)
		w.chk.Add(val, "raxx-bot", t0.Add(90*24*time.Hour))
		for _, app := range ha {
			w.apps.vars[app][name] = val
		}
	}
	st, err := bbolt.Open(w.path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	t.Cleanup(func() { w.st.Close() })
	w.build("")
	return w
}

// build makes the loop (owner names the process: two loops with different
// owners are two processes).
func (w *driftWorld) build(owner string) {
	w.eng = rotation.NewEngine(rotation.EngineConfig{
		Matrix: w.matrix, Vault: w.vault, Checker: w.chk, Revoker: w.chk, Store: w.st, Owner: owner,
		Consumers: map[rotation.DestKind]rotation.Consumer{rotation.DestHeroku: w.apps, rotation.DestGitHubSecret: w.gh},
		Now:       func() time.Time { return w.now },
		Sleep:     func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	w.loop = drift.New(drift.Config{
		Matrix: w.matrix, Vault: w.vault, Store: w.st, Notifier: w.posts, Owner: owner, Engine: w.eng,
		Scanners: map[rotation.DestKind]rotation.ConfigScanner{rotation.DestHeroku: w.apps},
		Dates:    map[rotation.DestKind]drift.WriteDater{rotation.DestGitHubSecret: w.gh},
		Now:      func() time.Time { return w.now },
	})
}

func (w *driftWorld) pass() drift.Report {
	w.t.Helper()
	rep, err := w.loop.Pass(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

func openKeys(rep drift.Report) []string {
	var out []string
	for _, d := range rep.Open {
		out = append(out, d.Key)
	}
	return out
}

// A Heroku config var changed by hand is drift: posted once however many
// passes see it, marked resolved in its post when it matches again.
func TestDriftHerokuPostedOnceThenResolved(t *testing.T) {
	w := newDriftWorld(t, 1, 2)
	if rep := w.pass(); len(rep.Open) != 0 || rep.Secrets != 1 || rep.Apps != 2 || len(rep.Problems) != 0 {
		t.Fatalf("a world without drift: %+v", rep)
	}
	w.apps.set("app-1", "TOKEN_1", "changed by hand")
	w.now = w.now.Add(time.Hour)
	rep := w.pass()
	key := drift.Key("TOKEN_1", rotation.DestHeroku, "app-1", "TOKEN_1")
	if got := openKeys(rep); !slices.Equal(got, []string{key}) || rep.New != 1 {
		t.Fatalf("open drift %v (%+v)", got, rep)
	}
	if p := rep.Open[0].Problem; !strings.Contains(p, "holds a value other than Infisical's version 1 (`") {
		t.Errorf("problem: %s", p)
	}
	for range 3 {
		w.now = w.now.Add(6 * time.Hour)
		if rep := w.pass(); rep.New != 0 || len(rep.Open) != 1 {
			t.Fatalf("a later pass: %+v", rep)
		}
	}
	posts := w.posts.all()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1: %v", len(posts), posts)
	}
	// A var that is gone is drift too, and the same drift: its post is updated.
	w.apps.mu.Lock()
	delete(w.apps.vars["app-1"], "TOKEN_1")
	w.apps.mu.Unlock()
	rep = w.pass()
	if len(rep.Open) != 1 || !strings.Contains(rep.Open[0].Problem, "the app has no TOKEN_1 config var") {
		t.Fatalf("missing var: %+v", rep.Open)
	}
	// Set back by hand: resolved, in the same post.
	cur, _ := w.matrix.Refs("TOKEN_1")
	v, _ := w.vault.Current(cur)
	w.apps.set("app-1", "TOKEN_1", v)
	rep = w.pass()
	if len(rep.Open) != 0 || rep.Resolved != 1 {
		t.Fatalf("after setting it back: %+v", rep)
	}
	posts = w.posts.all()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	for _, states := range posts {
		if last := states[len(states)-1]; last != key+" resolved" || len(states) != 3 {
			t.Errorf("the post showed %v", states)
		}
	}
	// Drift again later: a new drift, a new post.
	w.apps.set("app-1", "TOKEN_1", "changed again")
	if rep := w.pass(); rep.New != 1 {
		t.Fatalf("a second drift: %+v", rep)
	}
	if n := len(w.posts.all()); n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
}

// Each app's config is read once a pass, however many secrets it holds.
func TestDriftReadsEachAppOncePerPass(t *testing.T) {
	w := newDriftWorld(t, 30, 7)
	rep := w.pass()
	if rep.Secrets != 30 || rep.Apps != 7 || len(rep.Open) != 0 {
		t.Fatalf("report: %+v", rep)
	}
	for app, n := range w.apps.reads {
		if n != 1 {
			t.Errorf("%s read %d times in one pass", app, n)
		}
	}
}

// The repair writes Infisical's value to that destination only, verifies it,
// closes the drift as repaired (its post says so) and records the audit entry.
func TestDriftRepairSetsThatDestinationOnly(t *testing.T) {
	w := newDriftWorld(t, 2, 2)
	w.apps.set("app-1", "TOKEN_1", "changed by hand")
	w.apps.set("app-0", "TOKEN_1", "changed too") // a second drift, left alone
	rep := w.pass()
	if len(rep.Open) != 2 {
		t.Fatalf("open: %v", openKeys(rep))
	}
	var d drift.Record
	for _, x := range rep.Open {
		if x.Target == "app-1" {
			d = x
		}
	}
	ctx := context.Background()
	if _, err := w.loop.Repair(ctx, d.Key, "stale", 0, "U0BOB"); rotation.ErrorCode(err) != rotation.ECONFLICT {
		t.Fatalf("a button of another drift: %v", err)
	}
	w.now = w.now.Add(time.Minute)
	done, err := w.loop.Repair(ctx, d.Key, d.Stamp(), d.VaultVersion, "U0BOB")
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := w.matrix.Refs("TOKEN_1")
	v, _ := w.vault.Current(cur)
	if got := w.apps.vars["app-1"]["TOKEN_1"]; got != v {
		t.Error("the destination does not hold Infisical's value")
	}
	if got := w.apps.vars["app-0"]["TOKEN_1"]; got != "changed too" {
		t.Error("the repair touched another destination")
	}
	if done.Open || done.RepairedBy != "U0BOB" || done.VaultVersion != 1 {
		t.Errorf("record: %+v", done)
	}
	audits, _ := w.st.ListAudit(ctx, "TOKEN_1", 0)
	if len(audits) != 1 || audits[0].Action != rotation.ActionDriftRepaired || audits[0].Actor != "U0BOB" ||
		len(audits[0].Destinations) != 1 || audits[0].Destinations[0].Result != "set from Infisical version 1 and verified" {
		t.Fatalf("audit: %+v", audits)
	}
	if len(w.posts.audited) != 1 {
		t.Errorf("audit posts: %d", len(w.posts.audited))
	}
	shown := false
	for _, states := range w.posts.all() {
		shown = shown || states[len(states)-1] == d.Key+" repaired"
	}
	if !shown {
		t.Errorf("the post does not show the repair: %v", w.posts.all())
	}
	// Pressed again: it moved on, nothing is written.
	if _, err := w.loop.Repair(ctx, d.Key, d.Stamp(), d.VaultVersion, "U0ALICE"); rotation.ErrorCode(err) != rotation.ECONFLICT ||
		!strings.Contains(rotation.ErrorMessage(err), "<@U0BOB> set it from Infisical at") {
		t.Fatalf("second press: %v", err)
	}
	if rep := w.pass(); len(rep.Open) != 1 || rep.Open[0].Target != "app-0" {
		t.Fatalf("after the repair: %v", openKeys(rep))
	}
}

// A GitHub Actions secret written after rotabot's last write, or gone, is drift;
// one rotabot never wrote is not compared; Infisical holding a version rotabot did
// not write is drift; a secret with an open run is left alone.
func TestDriftGitHubVaultAndOpenRuns(t *testing.T) {
	w := newDriftWorld(t, 3, 1)
	ctx := context.Background()
	// TOKEN_1 and TOKEN_2 were rotated by rotabot at t0: version 2, every
	// destination written.
	for _, name := range []string{"TOKEN_1", "TOKEN_2"} {
		cur, _ := w.matrix.Refs(name)
		v, _ := w.vault.Current(cur)
		w.vault.Set(cur, v+"2")
		w.apps.set("app-0", name, v+"2")
		w.gh.updated["raxx/repo:GH_"+name] = t0
		r, err := w.st.CreateRun(ctx, &rotation.Run{Secret: name, State: rotation.StateCompleted, Method: rotation.MethodSlack,
			NewVaultVersion: 2, Destinations: []rotation.Destination{
				{Kind: rotation.DestHeroku, Target: "app-0", State: rotation.DestVerified, Written: t0},
				{Kind: rotation.DestGitHubSecret, Target: "raxx/repo", Name: "GH_" + name, State: rotation.DestVerified, Written: t0},
			}})
		if err != nil || r.ID == "" {
			t.Fatal(err)
		}
	}
	w.now = t0.Add(time.Hour)
	if rep := w.pass(); len(rep.Open) != 0 || rep.Dated != 2 {
		t.Fatalf("right after the rotations: %+v", rep)
	}
	// TOKEN_1's Actions secret set by hand an hour later; TOKEN_2's deleted;
	// TOKEN_3's (never written by rotabot) set by hand too; a new Infisical
	// version of TOKEN_2 written outside rotabot.
	w.gh.updated["raxx/repo:GH_TOKEN_1"] = t0.Add(time.Hour)
	delete(w.gh.updated, "raxx/repo:GH_TOKEN_2")
	w.gh.updated["raxx/repo:GH_TOKEN_3"] = t0.Add(time.Hour)
	cur2, _ := w.matrix.Refs("TOKEN_2")
	w.vault.Set(cur2, "github_pat_11TOKEN_2_written_outside_rotabot_0000000")
	w.chk.Add("github_pat_11TOKEN_2_written_outside_rotabot_0000000", "raxx-bot", t0.Add(90*24*time.Hour))
	w.now = t0.Add(2 * time.Hour)
	rep := w.pass()
	got := map[string]string{}
	for _, d := range rep.Open {
		got[d.Key] = d.Problem
	}
	want := []string{"TOKEN_1:github_secret:raxx/repo:GH_TOKEN_1", "TOKEN_2:github_secret:raxx/repo:GH_TOKEN_2",
		"TOKEN_2:heroku:app-0:TOKEN_2", "TOKEN_2:vault"}
	if keys := openKeys(rep); !slices.Equal(keys, want) {
		t.Fatalf("open drift %v, want %v", keys, want)
	}
	if p := got[want[0]]; !strings.Contains(p, "was written at 2026-11-28 11:00 UTC, after rotabot's last write at 2026-11-28 10:00 UTC") {
		t.Errorf("written: %s", p)
	}
	if p := got[want[1]]; !strings.Contains(p, "the Actions secret is gone") {
		t.Errorf("gone: %s", p)
	}
	if p := got[want[3]]; !strings.Contains(p, "Infisical holds version 3") || !strings.Contains(p, "the last version rotabot wrote is 2") {
		t.Errorf("vault: %s", p)
	}
	// Set it from Infisical on the version drift, asked for and approved by a
	// second ops member, sets every destination and adopts the version: the
	// next pass finds nothing of TOKEN_2.
	var vd drift.Record
	for _, d := range rep.Open {
		if d.Kind == drift.KindVersion {
			vd = d
		}
	}
	w.now = t0.Add(3 * time.Hour)
	if _, err := w.loop.Repair(ctx, vd.Key, vd.Stamp(), vd.VaultVersion, "U0ALICE"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.loop.ApproveRepair(ctx, vd.Key, vd.Stamp(), vd.VaultVersion, "U0BOB"); err != nil {
		t.Fatal(err)
	}
	w.now = t0.Add(4 * time.Hour)
	rep = w.pass()
	if keys := openKeys(rep); !slices.Equal(keys, want[:1]) {
		t.Fatalf("after the version repair: %v", keys)
	}
	// A secret with an open run is skipped; its drift stays as it was.
	if _, err := w.st.CreateRun(ctx, &rotation.Run{Secret: "TOKEN_1", State: rotation.StateWaitingToken, Method: rotation.MethodSlack}); err != nil {
		t.Fatal(err)
	}
	w.gh.updated["raxx/repo:GH_TOKEN_1"] = t0
	rep = w.pass()
	if !slices.Equal(rep.Skipped, []string{"TOKEN_1"}) || len(rep.Open) != 1 {
		t.Fatalf("with an open run: %+v", rep)
	}
	if _, err := w.loop.Repair(ctx, rep.Open[0].Key, rep.Open[0].Stamp(), 0, "U0ALICE"); rotation.ErrorCode(err) != rotation.ECONFLICT ||
		!strings.Contains(rotation.ErrorMessage(err), "TOKEN_1 has an open run") {
		t.Fatalf("repair during a run: %v", err)
	}
}

// Drift records survive a restart (nothing is posted again), and while another
// process's pass holds the claim this one posts nothing.
func TestDriftSurvivesRestartAndTakesTurns(t *testing.T) {
	w := newDriftWorld(t, 1, 1)
	w.apps.set("app-0", "TOKEN_1", "changed by hand")
	if rep := w.pass(); len(rep.Open) != 1 {
		t.Fatalf("open: %+v", rep)
	}
	w.st.Close()
	st, err := bbolt.Open(w.path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	w.build("")
	if rep := w.pass(); rep.New != 0 || len(rep.Open) != 1 {
		t.Fatalf("after the restart: %+v", rep)
	}
	if n := len(w.posts.all()); n != 1 {
		t.Fatalf("%d posts after the restart, want 1", n)
	}
	// Another process holds the pass's claim: this one reports what is stored.
	if ok, err := w.st.ClaimRun(context.Background(), drift.Claim, "other-process", w.now, time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	w.apps.set("app-0", "DATABASE_URL", "x")
	rep := w.pass()
	if !rep.Busy || len(rep.Open) != 1 {
		t.Fatalf("while the other holds the claim: %+v", rep)
	}
	// Nothing of a value reaches the file.
	w.st.Close()
	data, _ := os.ReadFile(w.path)
	for _, bad := range []string{"changed by hand", "github_pat_11TOKEN_1", "postgres://u:pw"} {
		if strings.Contains(string(data), bad) {
			t.Errorf("the database holds %q", bad)
		}
	}
	st, _ = bbolt.Open(w.path, time.Second)
	w.st = st
}
