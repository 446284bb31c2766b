package rotation_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// fakeScanner is Heroku as a scan sees it: the destination apps of the fake
// consumer (each holding the secret under its own name) and extra apps.
type fakeScanner struct {
	mu    sync.Mutex
	dest  *fakeConsumer
	extra map[string]map[string]string // app → var → value
	fail  map[string]error
	reads int
	// budget, when > 0, is how many configs may be read before the scanner
	// refuses with ErrRateBudget.
	budget int
}

func (s *fakeScanner) Apps(context.Context) ([]string, error) {
	s.dest.mu.Lock()
	var apps []string
	for app := range s.dest.values {
		if !strings.Contains(app, "/") { // the fake consumer is shared with nothing else
			apps = append(apps, app)
		}
	}
	s.dest.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for app := range s.extra {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	return apps, nil
}

func (s *fakeScanner) ScanConfig(_ context.Context, app string, each func(string, rotation.Digest)) error {
	s.mu.Lock()
	if err := s.fail[app]; err != nil {
		s.mu.Unlock()
		return err
	}
	if s.budget > 0 && s.reads >= s.budget {
		s.mu.Unlock()
		return rotation.Wrap(rotation.EUNAVAILABLE, rotation.ErrRateBudget, "Heroku's rate limit is nearly used up (400 requests left)")
	}
	s.reads++
	vars := map[string]string{}
	for k, v := range s.extra[app] {
		vars[k] = v
	}
	s.mu.Unlock()
	if v, ok := func() (string, bool) {
		s.dest.mu.Lock()
		defer s.dest.mu.Unlock()
		v, ok := s.dest.values[app]
		return v, ok
	}(); ok {
		vars[secretName] = v
	}
	for k, v := range vars {
		each(k, rotation.Digest(sha256.Sum256([]byte(v))))
	}
	return nil
}

// scanning rebuilds w's engine with sc as its Heroku scanner.
func (w *world) scanning(sc *fakeScanner) {
	w.eng = rotation.NewEngine(rotation.EngineConfig{
		Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Revoker: w.gh, Notifier: w.notes, Store: w.st,
		Consumers: map[rotation.DestKind]rotation.Consumer{rotation.DestHeroku: w.heroku, rotation.DestGitHubSecret: w.ghsec},
		Scanners:  map[rotation.DestKind]rotation.ConfigScanner{rotation.DestHeroku: sc},
		Now:       func() time.Time { return t0 },
		Sleep:     func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
}

func TestVerifyNamesWhoElseHoldsTheOldToken(t *testing.T) {
	w := newWorld(t)
	sc := &fakeScanner{dest: w.heroku, extra: map[string]map[string]string{
		"raxx-legacy-cron": {"GH_TOKEN": oldToken, "DATABASE_URL": "postgres://x"},
		"raxx-unrelated":   {"GH_TOKEN": otherToken},
		"raxx-copy":        {"GITHUB_API_READONLY_TOKEN": oldToken, "ALSO": oldToken},
	}}
	w.scanning(sc)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	d := r.OldHolders
	if d == nil || !d.Complete() || d.Seen != 5 || d.Read != 5 {
		t.Fatalf("scan: %+v", d)
	}
	var got []string
	for _, h := range d.Holders {
		got = append(got, h.Label())
	}
	if want := []string{"raxx-copy · ALSO", "raxx-copy · GITHUB_API_READONLY_TOKEN", "raxx-legacy-cron · GH_TOKEN"}; !slices.Equal(got, want) {
		t.Errorf("holders of the old token: %v, want %v (the run's own destinations hold the new one)", got, want)
	}
	if notes := strings.Join(w.notes.notes, "\n"); !strings.Contains(notes, "scanned 5 Heroku apps for the old token: 3 places outside the routing matrix still hold it") {
		t.Errorf("the card's thread does not say what the scan found:\n%s", notes)
	}
	if line := rotation.OldHolderLine(d.Holders[2], false); line != "raxx-legacy-cron · GH_TOKEN still holds the old token: revoking breaks it" {
		t.Errorf("line: %s", line)
	}
	// Names only: neither a value nor a digest is stored with the run.
	raw, _ := json.Marshal(r)
	sum := sha256.Sum256([]byte(oldToken))
	for _, bad := range []string{hex.EncodeToString(sum[:]), hex.EncodeToString(sum[:])[:16], "postgres://x"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("the run holds %q", bad)
		}
	}
	w.assertNoTokenInFile()
}

func TestVerifyScanThatCannotFinishSaysSo(t *testing.T) {
	w := newWorld(t)
	extra := map[string]map[string]string{}
	for _, app := range []string{"raxx-a", "raxx-b", "raxx-c", "raxx-d"} {
		extra[app] = map[string]string{"X": "y"}
	}
	sc := &fakeScanner{dest: w.heroku, extra: extra, budget: 3}
	w.scanning(sc)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	d := r.OldHolders
	if d == nil || d.Complete() || d.Read != 3 || d.Seen != 6 {
		t.Fatalf("scan: %+v", d)
	}
	if !strings.Contains(d.Problem, "3 of 6 Heroku apps could not be read: Heroku's rate limit is nearly used up") {
		t.Errorf("problem: %s", d.Problem)
	}
}

func TestWhereAndDryRunFindTheCurrentValue(t *testing.T) {
	w := newWorld(t)
	w.heroku.values["raxx-console-staging"] = otherToken // changed by hand
	sc := &fakeScanner{dest: w.heroku, extra: map[string]map[string]string{
		"raxx-legacy-cron": {"GH_TOKEN": oldToken},
	}, fail: map[string]error{}}
	w.scanning(sc)
	ctx := context.Background()
	rep, err := w.eng.Where(ctx, secretName)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fingerprint != rotation.Fingerprint(oldToken) || rep.Version != 1 || rep.Seen != 3 || rep.Read != 3 || rep.Problem != "" {
		t.Fatalf("report: %+v", rep)
	}
	var holding []string
	for _, h := range rep.Holding {
		holding = append(holding, h.Label()+map[bool]string{true: " in", false: " out"}[h.InMatrix])
	}
	if want := []string{"raxx-console-prod · GITHUB_API_READONLY_TOKEN in", "raxx-legacy-cron · GH_TOKEN out"}; !slices.Equal(holding, want) {
		t.Errorf("holding: %v, want %v", holding, want)
	}
	if len(rep.Missing) != 1 || rep.Missing[0].Destination.Target != "raxx-console-staging" || rep.Missing[0].Why != "holds another value" {
		t.Errorf("missing: %+v", rep.Missing)
	}
	if len(rep.Unchecked) != 2 {
		t.Errorf("unchecked (an Actions secret and a shell rc): %+v", rep.Unchecked)
	}
	// A destination whose app cannot be read, or is not there, says so.
	sc.fail["raxx-console-prod"] = rotation.Errorf(rotation.EFORBIDDEN, "HEROKU_API_KEY may not read app raxx-console-prod (403)")
	delete(w.heroku.values, "raxx-console-staging")
	rep, err = w.eng.Where(ctx, secretName)
	if err != nil {
		t.Fatal(err)
	}
	whys := map[string]string{}
	for _, m := range rep.Missing {
		whys[m.Destination.Target] = m.Why
	}
	if whys["raxx-console-prod"] != "could not be read: HEROKU_API_KEY may not read app raxx-console-prod (403)" ||
		whys["raxx-console-staging"] != "not among the apps HEROKU_API_KEY can see" {
		t.Errorf("why: %v", whys)
	}
	if !strings.Contains(rep.Problem, "1 of 2 Heroku apps could not be read: raxx-console-prod (HEROKU_API_KEY may not read") {
		t.Errorf("problem: %s", rep.Problem)
	}
	delete(sc.fail, "raxx-console-prod")
	w.heroku.values["raxx-console-staging"] = oldToken

	// The dry run adds the unknown consumers of the current value to the plan.
	dr, err := w.eng.DryRun(ctx, secretName, rotation.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Join(dr.Unknown.PlanLines(), "\n")
	if !strings.Contains(lines, "unknown consumers (1)") || !strings.Contains(lines, "- Heroku raxx-legacy-cron · GH_TOKEN") {
		t.Errorf("dry run:\n%s", lines)
	}
	// The --apps override narrows the plan: an app left out becomes unknown.
	dr, _ = w.eng.DryRun(ctx, secretName, rotation.Overrides{HerokuApps: []string{"raxx-console-prod"}})
	if n := len(dr.Unknown.Holders); n != 2 {
		t.Errorf("with --apps: %d unknown, want 2: %+v", n, dr.Unknown.Holders)
	}
	// Without a scanner there is nothing to say.
	bare := rotation.NewEngine(rotation.EngineConfig{Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Store: w.st})
	if _, err := bare.Where(ctx, secretName); rotation.ErrorCode(err) != rotation.EINVALID {
		t.Errorf("where without HEROKU_API_KEY: %v", err)
	}
}
