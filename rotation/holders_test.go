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
	"github.com/raxx-app/rotabot/rotation/discover"
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

// scanning rebuilds w's engine with sc as its Heroku scanner, through the
// scan of rotation/discover.
func (w *world) scanning(sc *fakeScanner) {
	w.eng = rotation.NewEngine(rotation.EngineConfig{
		Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Revoker: w.gh, Notifier: w.notes, Store: w.st,
		Consumers: map[rotation.DestKind]rotation.Consumer{rotation.DestHeroku: w.heroku, rotation.DestGitHubSecret: w.ghsec},
		Holders:   discover.New(discover.Config{Scanners: map[rotation.DestKind]rotation.ConfigScanner{rotation.DestHeroku: sc}, Now: func() time.Time { return t0 }}),
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
	if line := discover.OldHolderLine(d.Holders[2], false); line != "raxx-legacy-cron · GH_TOKEN still holds the old token: revoking breaks it" {
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

// A dry run adds to the plan the consumers of the current value that the plan
// does not reach (the where report itself: rotation/discover's
// TestWhereFindsTheCurrentValue).
func TestDryRunFindsTheUnknownConsumers(t *testing.T) {
	w := newWorld(t)
	sc := &fakeScanner{dest: w.heroku, extra: map[string]map[string]string{
		"raxx-legacy-cron": {"GH_TOKEN": oldToken},
	}, fail: map[string]error{}}
	w.scanning(sc)
	ctx := context.Background()
	dr, err := w.eng.DryRun(ctx, secretName, rotation.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Join(discover.PlanLines(dr.Unknown), "\n")
	if !strings.Contains(lines, "unknown consumers (1)") || !strings.Contains(lines, "- Heroku raxx-legacy-cron · GH_TOKEN") {
		t.Errorf("dry run:\n%s", lines)
	}
	// The --apps override narrows the plan: an app left out becomes unknown.
	dr, _ = w.eng.DryRun(ctx, secretName, rotation.Overrides{HerokuApps: []string{"raxx-console-prod"}})
	if n := len(dr.Unknown.Holders); n != 2 {
		t.Errorf("with --apps: %d unknown, want 2: %+v", n, dr.Unknown.Holders)
	}
	// Without a scan there is nothing to say.
	bare := rotation.NewEngine(rotation.EngineConfig{Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Store: w.st})
	if dr, err := bare.DryRun(ctx, secretName, rotation.Overrides{}); err != nil || dr.Unknown != nil {
		t.Errorf("dry run without a scan: %+v, %v", dr.Unknown, err)
	}
}
