package expiry_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/expiry"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// Fakes for the reminder loop. They are separate from the engine's so the two
// suites can change independently.

// remVault holds one current value per secret.
type remVault struct {
	mu     sync.Mutex
	values map[string]string
	down   error
}

func (v *remVault) set(key, val string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.values[key] = val
}

func (v *remVault) Read(_ context.Context, ref rotation.VaultRef) (rotation.VaultValue, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.down != nil {
		return rotation.VaultValue{}, v.down
	}
	val, ok := v.values[ref.Key]
	if !ok {
		return rotation.VaultValue{}, rotation.Errorf(rotation.ENOTFOUND, "no secret %s", ref.Key)
	}
	return rotation.VaultValue{Value: rotation.NewSecret(val), Version: 1}, nil
}

func (v *remVault) ReadVersion(context.Context, rotation.VaultRef, int) (rotation.Secret, error) {
	return rotation.Secret{}, rotation.Errorf(rotation.EINTERNAL, "not used")
}

func (v *remVault) Write(context.Context, rotation.VaultRef, rotation.Secret) (int, error) {
	return 0, rotation.Errorf(rotation.EINTERNAL, "the reminder loop must not write")
}

func (v *remVault) Delete(context.Context, rotation.VaultRef) error {
	return rotation.Errorf(rotation.EINTERNAL, "the reminder loop must not delete")
}

// remGitHub knows tokens by value; like GitHub it refuses an expired token.
type remGitHub struct {
	mu     sync.Mutex
	now    func() time.Time
	tokens map[string]rotation.TokenInfo
	down   error
	checks int
}

func (g *remGitHub) add(tok, login string, expires time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	kind, err := rotation.TokenShape(tok)
	if err != nil {
		panic(err)
	}
	g.tokens[tok] = rotation.TokenInfo{Login: login, Kind: kind, ExpiresAt: expires, Repos: -1}
}

func (g *remGitHub) Check(_ context.Context, tok rotation.Secret) (rotation.TokenInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checks++
	if g.down != nil {
		return rotation.TokenInfo{}, g.down
	}
	info, ok := g.tokens[tok.Reveal()]
	if !ok || !info.ExpiresAt.IsZero() && !info.ExpiresAt.After(g.now()) {
		return rotation.TokenInfo{}, rotation.Errorf(rotation.EUNAUTHORIZED, "GitHub refused the token (401 Bad credentials)")
	}
	return info, nil
}

func (g *remGitHub) Probe(context.Context, rotation.Secret, string) error { return nil }

// sent is one reminder as a place received it.
type sent struct {
	to  string // an owner, or "#ops"
	at  time.Time
	rem expiry.Reminder
}

func (s sent) String() string {
	return fmt.Sprintf("%s %s %s %s: %s", s.at.Format("01-02 15:04"), s.to, s.rem.Secret, s.rem.Key(), s.rem.Sentence())
}

// remNotifier records reminders; fail makes a place refuse the next n.
type remNotifier struct {
	mu   sync.Mutex
	now  func() time.Time
	got  []sent
	fail map[string]int
}

func (n *remNotifier) record(to string, r expiry.Reminder) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail[to] > 0 {
		n.fail[to]--
		return rotation.Errorf(rotation.EUNAVAILABLE, "Slack is down")
	}
	n.got = append(n.got, sent{to: to, at: n.now(), rem: r})
	return nil
}

func (n *remNotifier) RemindOwner(_ context.Context, owner string, r expiry.Reminder) error {
	return n.record(owner, r)
}

func (n *remNotifier) RemindChannel(_ context.Context, r expiry.Reminder) error {
	return n.record("#ops", r)
}

// take returns what was received since the last take.
func (n *remNotifier) take() []sent {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.got
	n.got = nil
	return out
}

const (
	remSecret  = "GITHUB_API_READONLY_TOKEN"
	remClassic = "GITHUB_API_DISPATCH_TOKEN"
	remTokenA  = "github_pat_11AAAAREMINDREMINDREM_0123456789abcdefAAA"
	remTokenB  = "github_pat_11BBBBREMINDREMINDREM_0123456789abcdefBBB"
	remClassTk = "ghp_CLASSICCLASSICCLASSIC0123456789"
)

// Tokens expire at 10:00 UTC; the clock starts at 10:00 three weeks before.
var (
	remExpiry = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	remStart  = remExpiry.Add(-21 * 24 * time.Hour)
)

// remWorld is one bot's worth of reminder machinery on a real bbolt file.
type remWorld struct {
	t      *testing.T
	path   string
	mu     sync.Mutex
	clock  time.Time
	st     *bbolt.Store
	vault  *remVault
	gh     *remGitHub
	notes  *remNotifier
	matrix *rotation.Matrix
	loop   *expiry.Loop
	logs   *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func remMatrix() *rotation.Matrix {
	return &rotation.Matrix{
		OpsUsergroup: "S0OPS", Channel: "C0OPS",
		Reminders: rotation.Reminders{DaysBefore: []int{14, 7, 3, 1}},
		Vault:     rotation.VaultSettings{Environment: "prod", Path: "/MooseQuest/github/", PendingPath: "/rotabot/pending/"},
		Secrets: map[string]*rotation.SecretConfig{
			remSecret: {Name: remSecret, Kind: rotation.FineGrained, ExpiresInDays: 90, Owners: []string{"U0OWNER", "U0SECOND"}},
		},
	}
}

func newRemWorld(t *testing.T) *remWorld {
	t.Helper()
	w := &remWorld{t: t, path: filepath.Join(t.TempDir(), "rotabot.db"), clock: remStart, matrix: remMatrix(), logs: &syncBuf{},
		vault: &remVault{values: map[string]string{}}}
	w.gh = &remGitHub{now: w.now, tokens: map[string]rotation.TokenInfo{}}
	w.notes = &remNotifier{now: w.now, fail: map[string]int{}}
	w.vault.set(remSecret, remTokenA)
	w.gh.add(remTokenA, "raxx-bot", remExpiry)
	w.restart()
	t.Cleanup(func() { w.st.Close() })
	return w
}

func (w *remWorld) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

func (w *remWorld) set(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock = t
}

// restart is a new process: the store reopened, a new loop on it.
func (w *remWorld) restart() {
	w.t.Helper()
	if w.st != nil {
		if err := w.st.Close(); err != nil {
			w.t.Fatal(err)
		}
	}
	st, err := bbolt.Open(w.path, time.Second)
	if err != nil {
		w.t.Fatal(err)
	}
	w.st = st
	w.loop = expiry.New(expiry.Config{Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Store: st, Notifier: w.notes,
		Now: w.now, Log: slog.New(slog.NewTextHandler(w.logs, nil)), Interval: time.Hour, Parallel: 1})
}

// loseDatabase is a Heroku dyno restart: the bbolt file is gone.
func (w *remWorld) loseDatabase() {
	w.t.Helper()
	w.st.Close()
	w.st = nil
	if err := os.Remove(w.path); err != nil {
		w.t.Fatal(err)
	}
	w.restart()
}

func (w *remWorld) pass() error {
	w.t.Helper()
	return w.loop.Reconcile(context.Background())
}

func (w *remWorld) mustPass() {
	w.t.Helper()
	if err := w.pass(); err != nil {
		w.t.Fatalf("reconcile at %s: %v", w.now().Format(time.RFC3339), err)
	}
}

// walk runs a pass at every step from the clock's time to until (inclusive) and
// returns what was sent on the way.
func (w *remWorld) walk(until time.Time, step time.Duration) []sent {
	w.t.Helper()
	var got []sent
	for at := w.now(); !at.After(until); at = at.Add(step) {
		w.set(at)
		w.mustPass()
		got = append(got, w.notes.take()...)
	}
	return got
}

func (w *remWorld) record(secret string) rotation.ExpiryRecord {
	w.t.Helper()
	rec, ok, err := w.st.GetExpiry(context.Background(), secret)
	if err != nil || !ok {
		w.t.Fatalf("no expiry record of %s (%v)", secret, err)
	}
	return rec
}

// byKey groups what was sent by reminder key, each with its places in order.
func byKey(got []sent) map[string][]sent {
	out := map[string][]sent{}
	for _, s := range got {
		out[s.rem.Key()] = append(out[s.rem.Key()], s)
	}
	return out
}

func places(got []sent) string {
	var to []string
	for _, s := range got {
		to = append(to, s.to)
	}
	return strings.Join(to, ",")
}

const everyone = "U0OWNER,U0SECOND,#ops"

func TestRemindersWalkAcrossEveryThreshold(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	// Every three hours: each threshold falls on a pass (they are whole days).
	got := w.walk(remExpiry.Add(-time.Hour), 3*time.Hour)
	keys := byKey(got)
	if len(keys) != 4 {
		t.Fatalf("want the 14d, 7d, 3d and 1d reminders, got %v", got)
	}
	want := []struct {
		key, sentence string
		at            time.Time
	}{
		{"14d", "expires in 14 days, on 2026-12-01 10:00 UTC", remExpiry.Add(-14 * 24 * time.Hour)},
		{"7d", "expires in 7 days, on 2026-12-01 10:00 UTC", remExpiry.Add(-7 * 24 * time.Hour)},
		{"3d", "expires in 3 days, on 2026-12-01 10:00 UTC", remExpiry.Add(-3 * 24 * time.Hour)},
		{"1d", "expires in 1 day, on 2026-12-01 10:00 UTC", remExpiry.Add(-24 * time.Hour)},
	}
	for _, c := range want {
		ss := keys[c.key]
		if places(ss) != everyone {
			t.Errorf("%s went to %q, want one DM to each owner and one ops post (%s)", c.key, places(ss), everyone)
			continue
		}
		for _, s := range ss {
			if !s.at.Equal(c.at) {
				t.Errorf("%s to %s sent at %s, want %s", c.key, s.to, s.at, c.at)
			}
			if s.rem.Sentence() != c.sentence || s.rem.Threshold != atoi(c.key) {
				t.Errorf("%s says %q (threshold %d), want %q", c.key, s.rem.Sentence(), s.rem.Threshold, c.sentence)
			}
			if s.rem.Fingerprint != rotation.Fingerprint(remTokenA) || s.rem.Login != "raxx-bot" || len(s.rem.Notes) != 0 {
				t.Errorf("%s: %+v", c.key, s.rem)
			}
		}
	}
	// Then it expires: once a day until rotated, the rest of the time nothing.
	got = w.walk(remExpiry.Add(72*time.Hour+30*time.Minute), time.Hour)
	if len(got) != 4*3 {
		t.Fatalf("want 4 daily expired reports to 3 places, got %d: %v", len(got), got)
	}
	for i, s := range got {
		day := time.Duration(i/3) * 24 * time.Hour
		if s.rem.Kind != expiry.Expired || !s.at.Equal(remExpiry.Add(day)) {
			t.Errorf("report %d: %s, want expired at %s", i, s, remExpiry.Add(day))
		}
	}
	if s := got[len(got)-1].rem.Sentence(); s != "expired on 2026-12-01 10:00 UTC, 3 days ago" {
		t.Errorf("the last report says %q", s)
	}
	// GitHub refuses the expired token: that is the expiry, not a broken token.
	if rec := w.record(remSecret); rec.Problem != "" || !rec.ExpiresAt.Equal(remExpiry) {
		t.Errorf("the expired token's record: %+v", rec)
	}
}

func atoi(key string) int {
	var n int
	fmt.Sscanf(key, "%dd", &n)
	return n
}

func TestRemindersRestartBetweenThresholdsSendsNothingTwice(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	var got []sent
	// A new process (store reopened, new loop) every twelve hours, with passes
	// every four.
	for at := remStart; at.Before(remExpiry); at = at.Add(12 * time.Hour) {
		w.set(at)
		w.restart()
		got = append(got, w.walk(at.Add(8*time.Hour), 4*time.Hour)...)
		// A restart runs a pass at once: the same instant twice changes nothing.
		w.restart()
		w.mustPass()
		got = append(got, w.notes.take()...)
	}
	keys := byKey(got)
	for _, k := range []string{"14d", "7d", "3d", "1d"} {
		if places(keys[k]) != everyone {
			t.Errorf("%s went to %q, want %s once each", k, places(keys[k]), everyone)
		}
	}
	if len(got) != 4*3 {
		t.Fatalf("got %d reminders, want 12: %v", len(got), got)
	}
}

func TestRemindersLostDatabaseSendsOnlyTheMostUrgent(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.walk(remExpiry.Add(-10*24*time.Hour), 6*time.Hour) // 14d sent
	w.set(remExpiry.Add(-2*24*time.Hour - 5*time.Hour))
	w.loseDatabase()
	w.mustPass()
	got := w.notes.take()
	if len(got) != 3 || got[0].rem.Key() != "3d" || places(got) != everyone {
		t.Fatalf("after a lost database at 2 days left: %v, want only the 3d reminder to %s", got, everyone)
	}
	if s := got[0].rem.Sentence(); s != "expires in 2 days, on 2026-12-01 10:00 UTC" {
		t.Errorf("it says %q", s)
	}
	sentKeys := w.record(remSecret).Sent
	for _, k := range []string{"14d", "7d", "3d"} {
		if _, ok := sentKeys[k]; !ok {
			t.Errorf("%s is not marked as sent: %v", k, sentKeys)
		}
	}
	// No burst later either: only 1d remains.
	got = w.walk(remExpiry.Add(-time.Hour), time.Hour)
	if places(got) != everyone || got[0].rem.Key() != "1d" {
		t.Fatalf("after that: %v, want only the 1d reminder", got)
	}
}

func TestRemindersExpiredTokenReportedOnceADay(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	// GitHub still answers for this one (it counts expiry loosely); the loop knows.
	w.gh.add(remTokenB, "raxx-bot", time.Time{})
	w.gh.mu.Lock()
	w.gh.tokens[remTokenB] = rotation.TokenInfo{Login: "raxx-bot", Kind: rotation.FineGrained, ExpiresAt: remExpiry.Add(-30 * time.Hour)}
	w.gh.now = func() time.Time { return remStart } // never refuses
	w.gh.mu.Unlock()
	w.vault.set(remSecret, remTokenB)
	w.set(remExpiry)
	// Passes every hour for four days: a report at 0, 24, 48, 72 and 96 h.
	got := w.walk(remExpiry.Add(97*time.Hour), time.Hour)
	if len(got) != 5*3 {
		t.Fatalf("want 5 daily reports to 3 places, got %d: %v", len(got), got)
	}
	var last time.Time
	for i := 0; i < len(got); i += 3 {
		if places(got[i:i+3]) != everyone || got[i].rem.Kind != expiry.Expired {
			t.Fatalf("report %d: %v", i/3, got[i:i+3])
		}
		if i > 0 && got[i].at.Sub(last) < 23*time.Hour {
			t.Errorf("reports %s and %s are less than a day apart", last, got[i].at)
		}
		last = got[i].at
	}
	if s := got[0].rem.Sentence(); s != "expired on 2026-11-30 04:00 UTC, 1 day ago" {
		t.Errorf("the first report says %q", s)
	}
}

func TestRemindersNeverExpiringTokenNotedOnce(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.matrix.Secrets[remClassic] = &rotation.SecretConfig{Name: remClassic, Kind: rotation.Classic, ExpiresInDays: 60, Owners: []string{"U0OWNER"}}
	w.vault.set(remClassic, remClassTk)
	w.gh.add(remClassTk, "raxx-bot", time.Time{})
	got := w.walk(remStart.Add(3*24*time.Hour), 2*time.Hour)
	w.restart()
	got = append(got, w.walk(remStart.Add(5*24*time.Hour), 2*time.Hour)...)
	var notes []sent
	for _, s := range got {
		if s.rem.Secret == remClassic {
			notes = append(notes, s)
		}
	}
	if places(notes) != "U0OWNER,#ops" {
		t.Fatalf("the never-expiring token: %v, want one note to its owner and one post", notes)
	}
	r := notes[0].rem
	if r.Kind != expiry.NoExpiry || !strings.Contains(r.Sentence(), "GitHub recommends") || r.ExpiresInDays != 60 {
		t.Errorf("note: %+v: %s", r, r.Sentence())
	}
	if len(r.Notes) != 1 || r.Notes[0] != rotation.MigrateWarning {
		t.Errorf("a classic token's note lacks the migrate warning: %v", r.Notes)
	}
}

func TestReconcileMarksARefusedTokenBrokenAndSaysSoDaily(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.walk(remStart.Add(2*time.Hour), time.Hour)
	// Someone revoked the token on GitHub.
	w.gh.mu.Lock()
	delete(w.gh.tokens, remTokenA)
	w.gh.mu.Unlock()
	w.set(remStart.Add(3 * time.Hour))
	w.mustPass()
	rec := w.record(remSecret)
	if !strings.Contains(rec.Problem, "GitHub refuses the current token `"+rotation.Fingerprint(remTokenA)+"` (401)") {
		t.Fatalf("the record does not say the token is broken: %+v", rec)
	}
	got := w.notes.take()
	if places(got) != everyone || got[0].rem.Kind != expiry.Broken || !strings.Contains(got[0].rem.Sentence(), "is broken: GitHub refuses") {
		t.Fatalf("broken token reported as %v, want to %s", got, everyone)
	}
	if !got[0].rem.ExpiresAt.Equal(remExpiry) {
		t.Errorf("the report lost the last known expiry: %+v", got[0].rem)
	}
	if !strings.Contains(w.logs.String(), "level=ERROR msg=\"the token is broken\"") {
		t.Errorf("the broken token was not logged loudly:\n%s", w.logs.String())
	}
	// Loudly, but not every hour: again a day later.
	got = w.walk(remStart.Add(3*time.Hour+47*time.Hour), time.Hour)
	if len(got) != 3 || !got[0].at.Equal(remStart.Add(27*time.Hour)) {
		t.Fatalf("over the next two days: %v, want one more report a day later", got)
	}
	// A token missing from the vault is broken too.
	w.vault.mu.Lock()
	delete(w.vault.values, remSecret)
	w.vault.mu.Unlock()
	w.loseDatabase()
	w.mustPass()
	if got := w.notes.take(); len(got) != 3 || !strings.Contains(got[0].rem.Problem, "not in Infisical") {
		t.Fatalf("missing secret: %v", got)
	}
}

func TestReconcileOutageIsRecordedNotSpammed(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.mustPass() // known: expires remExpiry
	w.gh.mu.Lock()
	w.gh.down = rotation.Errorf(rotation.EUNAVAILABLE, "GitHub answered 503")
	w.gh.mu.Unlock()
	// GitHub is down across the 14-day mark: the reminder still goes out from
	// what was known of the same token, and nothing else is said.
	w.set(remExpiry.Add(-14*24*time.Hour - 2*time.Hour))
	var errs int
	var got []sent
	for i := 0; i < 5; i++ {
		if err := w.pass(); err == nil || rotation.ErrorCode(err) != rotation.EUNAVAILABLE {
			t.Fatalf("a pass during an outage returned %v, want an unavailable error", err)
		} else {
			errs++
		}
		got = append(got, w.notes.take()...)
		w.set(w.now().Add(time.Hour))
	}
	if len(got) != 3 || got[0].rem.Key() != "14d" {
		t.Fatalf("during the outage: %v, want only the 14d reminder", got)
	}
	rec := w.record(remSecret)
	if !strings.Contains(rec.Problem, "could not ask GitHub (GitHub answered 503)") || !rec.ExpiresAt.Equal(remExpiry) {
		t.Errorf("record during the outage: %+v", rec)
	}
	if n := strings.Count(w.logs.String(), "could not check the token"); n != 1 {
		t.Errorf("the outage was logged %d times, want once", n)
	}
	// The vault down too: the record keeps the token it knew.
	w.vault.mu.Lock()
	w.vault.down = rotation.Errorf(rotation.EUNAVAILABLE, "Infisical answered 502")
	w.vault.mu.Unlock()
	if err := w.pass(); err == nil {
		t.Fatal("no error with the vault down")
	}
	if rec := w.record(remSecret); rec.Fingerprint != rotation.Fingerprint(remTokenA) || !strings.Contains(rec.Problem, "Infisical") {
		t.Errorf("record with the vault down: %+v", rec)
	}
	w.vault.mu.Lock()
	w.vault.down = nil
	w.vault.mu.Unlock()
	w.gh.mu.Lock()
	w.gh.down = nil
	w.gh.mu.Unlock()
	w.mustPass()
	if rec := w.record(remSecret); rec.Problem != "" {
		t.Errorf("the problem stays after the outage: %q", rec.Problem)
	}
}

func TestRemindersNewTokenStartsAfresh(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.walk(remExpiry.Add(-6*24*time.Hour), 6*time.Hour) // 14d and 7d sent for token A
	// Rotated (outside the bot): token B expires in ten days.
	w.gh.add(remTokenB, "raxx-bot", w.now().Add(10*24*time.Hour))
	w.vault.set(remSecret, remTokenB)
	w.set(w.now().Add(time.Hour))
	w.mustPass()
	got := w.notes.take()
	if places(got) != everyone || got[0].rem.Key() != "14d" || got[0].rem.Fingerprint != rotation.Fingerprint(remTokenB) {
		t.Fatalf("the new token: %v, want its own 14d reminder", got)
	}
	rec := w.record(remSecret)
	if rec.Fingerprint != rotation.Fingerprint(remTokenB) {
		t.Fatalf("record: %+v", rec)
	}
	if _, ok := rec.Sent["7d"]; ok {
		t.Errorf("the old token's reminders stayed: %v", rec.Sent)
	}
}

func TestRemindersFailedPlaceIsRetriedAlone(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.set(remExpiry.Add(-13 * 24 * time.Hour))
	w.notes.mu.Lock()
	w.notes.fail["#ops"] = 1
	w.notes.mu.Unlock()
	if err := w.pass(); err == nil {
		t.Fatal("a pass that could not post returned no error")
	}
	if got := w.notes.take(); places(got) != "U0OWNER,U0SECOND" {
		t.Fatalf("first pass: %v", got)
	}
	w.restart()
	w.set(w.now().Add(time.Hour))
	w.mustPass()
	if got := w.notes.take(); places(got) != "#ops" {
		t.Fatalf("the retry: %v, want the ops post alone", got)
	}
	w.mustPass()
	if got := w.notes.take(); len(got) != 0 {
		t.Fatalf("after that: %v", got)
	}
}

func TestRemindersKeepTokensOutOfTheStoreAndLogs(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.walk(remExpiry.Add(24*time.Hour), 12*time.Hour)
	w.gh.mu.Lock()
	delete(w.gh.tokens, remTokenA)
	w.gh.mu.Unlock()
	w.mustPass()
	w.st.Close()
	db, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	w.restart()
	rest := strings.TrimPrefix(remTokenA, "github_pat_")
	for what, text := range map[string]string{"store": string(db), "logs": w.logs.String()} {
		for i := 0; i+8 <= len(rest); i++ {
			if strings.Contains(text, rest[i:i+8]) {
				t.Fatalf("part of the token is in the %s", what)
			}
		}
	}
}

func TestReminderLoopStartsAtOnceAndCloses(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.set(remExpiry.Add(-2 * 24 * time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.loop.Start(ctx)
	deadline := time.Now().Add(10 * time.Second)
	var got []sent
	for len(got) < 3 && time.Now().Before(deadline) {
		got = append(got, w.notes.take()...)
		time.Sleep(time.Millisecond)
	}
	w.loop.Close() // returns once the loop has stopped
	if places(got) != everyone || got[0].rem.Key() != "3d" {
		t.Fatalf("the first pass at start-up sent %v", got)
	}
	w.loop.Close() // twice is harmless
}

func TestReminderLoopBacksOff(t *testing.T) {
	t.Parallel()
	l := expiry.New(expiry.Config{Interval: time.Hour})
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, d := range want {
		if got := l.RetryWait(i + 1); got != d {
			t.Errorf("after %d failures: wait %s, want %s", i+1, got, d)
		}
	}
	short := expiry.New(expiry.Config{Interval: 30 * time.Second})
	if got := short.RetryWait(10); got != 5*time.Minute {
		t.Errorf("a 30 s interval backs off to %s, want 5m", got)
	}
}

func TestDaysLeftRoundsDown(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		before time.Duration
		days   int
		says   string
	}{
		{71 * time.Hour, 2, "expires in 2 days, on 2026-12-01 10:00 UTC"},
		{48 * time.Hour, 2, "expires in 2 days, on 2026-12-01 10:00 UTC"},
		{47*time.Hour + 59*time.Minute, 1, "expires in 1 day, on 2026-12-01 10:00 UTC"},
		{23 * time.Hour, 0, "expires in less than a day, on 2026-12-01 10:00 UTC"},
		{-time.Hour, -1, ""},
		{-24 * time.Hour, -1, ""},
		{-25 * time.Hour, -2, ""},
	} {
		now := at.Add(-c.before)
		if got := words.DaysLeft(at, now); got != c.days {
			t.Errorf("%s before: %d days left, want %d", c.before, got, c.days)
		}
		if c.says != "" {
			r := expiry.Reminder{Kind: expiry.Due, ExpiresAt: at, At: now}
			if got := r.Sentence(); got != c.says {
				t.Errorf("%s before: %q, want %q", c.before, got, c.says)
			}
		}
	}
}

// gatedNotifier holds the first reminder until released.
type gatedNotifier struct {
	*remNotifier
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (g *gatedNotifier) RemindOwner(ctx context.Context, owner string, r expiry.Reminder) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return g.remNotifier.RemindOwner(ctx, owner, r)
}

// Two bot processes on one database: while one pass is telling people, the
// other process's pass leaves the reminders alone.
func TestRemindersTwoProcessesTakeTurns(t *testing.T) {
	t.Parallel()
	w := newRemWorld(t)
	w.set(remExpiry.Add(-2 * 24 * time.Hour))
	gate := &gatedNotifier{remNotifier: w.notes, entered: make(chan struct{}), release: make(chan struct{})}
	a := expiry.New(expiry.Config{Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Store: w.st, Notifier: gate, Now: w.now, Owner: "dyno-a"})
	b := expiry.New(expiry.Config{Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Store: w.st, Notifier: w.notes, Now: w.now, Owner: "dyno-b"})
	done := make(chan error, 1)
	go func() { done <- a.Reconcile(context.Background()) }()
	<-gate.entered // a is telling the first owner
	if err := b.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.notes.take(); places(got) != everyone {
		t.Fatalf("two processes sent %v, want one reminder to %s", got, everyone)
	}
	// The claim was released: b's next pass runs (and finds nothing left to say).
	w.gh.mu.Lock()
	checks := w.gh.checks
	w.gh.mu.Unlock()
	if err := b.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.gh.mu.Lock()
	defer w.gh.mu.Unlock()
	if w.gh.checks == checks {
		t.Error("the claim was not released after the pass")
	}
	if got := w.notes.take(); len(got) != 0 {
		t.Errorf("b's pass after a's: %v", got)
	}
}

// Defaults are filled in once, by the constructor; what a caller sets is kept.
func TestNewFillsDefaultsOnce(t *testing.T) {
	l := expiry.New(expiry.Config{Owner: "dyno-a"})
	if l.Log == nil || l.Now == nil || l.Interval != time.Hour || l.RetryMin != 30*time.Second ||
		l.CallTimeout != 30*time.Second || l.Parallel != 4 || l.ClaimTTL != 2*time.Minute || l.Owner != "dyno-a" {
		t.Errorf("New defaults: %+v", l.Config)
	}
}
