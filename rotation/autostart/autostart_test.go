package autostart_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/autostart"
	"github.com/raxx-app/rotabot/rotation/expiry"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// The auto-start pass on the real engine (its Start, its pre-check), the
// reminder loop that calls it, and a bbolt file, on a clock the test sets.

const (
	name  = "GITHUB_API_READONLY_TOKEN"
	owner = "U0OWNER"
	alice = "U0ALICE"
	bob   = "U0BOB"
	day   = 24 * time.Hour
)

// notes records what the engine and the reminder loop would show in Slack.
type notes struct {
	mu        sync.Mutex
	cards     map[string]string // run id → its first note (the thread's)
	audits    []rotation.AuditEntry
	reminders []string // "TO KEY: sentence"
}

func (n *notes) RunChanged(_ context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.cards[r.ID]; !ok {
		n.cards[r.ID] = note
	}
	return rotation.CardRef{Channel: r.Card.Channel, TS: "1.1"}, nil
}

func (n *notes) AskOperator(context.Context, *rotation.Run, string, rotation.OperatorAction) error {
	return nil
}

func (n *notes) Audited(_ context.Context, _ *rotation.Run, e rotation.AuditEntry) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.audits = append(n.audits, e)
	return nil
}

func (n *notes) RemindOwner(_ context.Context, to string, r expiry.Reminder) error {
	return n.remind(to, r)
}

func (n *notes) RemindChannel(_ context.Context, r expiry.Reminder) error { return n.remind("#ops", r) }

func (n *notes) remind(to string, r expiry.Reminder) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	line := to + " " + r.Key() + ": " + r.Sentence()
	if r.OpenRun != "" {
		line += " [open " + r.OpenRun + "]"
	}
	n.reminders = append(n.reminders, line)
	return nil
}

func (n *notes) takeReminders() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.reminders
	n.reminders = nil
	return out
}

// world is one bot's engine, reminder loop and auto-start on a bbolt file.
type world struct {
	t       *testing.T
	path    string
	mu      sync.Mutex
	clock   time.Time
	matrix  *rotation.Matrix
	vault   *rotationtest.MemVault
	gh      *rotationtest.MemGitHub
	st      *bbolt.Store
	eng     *rotation.Engine
	loop    *expiry.Loop
	starter *autostart.Starter
	notes   *notes
	token   string // the current token
	// expires is when the current token expires (zero: never).
	expires time.Time
	boots   int
}

// newWorld starts at start, the secret's token expiring at expires (zero:
// never), with auto_start_days days and max_age maxAge.
func newWorld(t *testing.T, start, expires time.Time, days int, maxAge time.Duration) *world {
	t.Helper()
	w := &world{t: t, path: filepath.Join(t.TempDir(), "rotabot.db"), clock: start, vault: rotationtest.NewMemVault(),
		gh: rotationtest.NewMemGitHub(), notes: &notes{cards: map[string]string{}}, token: rotationtest.NewToken(), expires: expires}
	w.matrix = &rotation.Matrix{OpsUsergroup: "S0OPS", Channel: "C0OPS", AuditChannel: "C0AUDIT",
		Reminders: rotation.Reminders{DaysBefore: []int{14, 7, 3, 1}},
		Vault:     rotation.VaultSettings{Environment: "prod", Path: "/github/", PendingPath: "/rotabot/pending/"},
		Secrets: map[string]*rotation.SecretConfig{name: {Name: name, Kind: rotation.FineGrained, Owners: []string{owner},
			ExpiresInDays: 90, AutoStartDays: days, MaxAge: maxAge, Consumers: rotation.Consumers{HerokuApps: []string{"raxx-console-prod"}}}}}
	cur, _ := w.matrix.Refs(name)
	w.vault.Set(cur, w.token)
	w.gh.Add(w.token, "raxx-bot", expires)
	w.boot()
	t.Cleanup(func() {
		w.eng.Wait()
		w.st.Close()
		all := strings.Join(w.notes.all(), "\n")
		rotationtest.NoLeak(t, all, w.token)
	})
	return w
}

func (n *notes) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := append([]string(nil), n.reminders...)
	for id, c := range n.cards {
		out = append(out, id+": "+c)
	}
	for _, a := range n.audits {
		out = append(out, fmt.Sprintf("%+v", a))
	}
	return out
}

func (w *world) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

func (w *world) set(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock = t
}

// boot is a new process on the same database: the store reopened, a new
// engine, loop and starter, each with an owner of its own.
func (w *world) boot() {
	w.t.Helper()
	if w.st != nil {
		w.eng.Wait()
		if err := w.st.Close(); err != nil {
			w.t.Fatal(err)
		}
	}
	st, err := bbolt.Open(w.path, time.Second)
	if err != nil {
		w.t.Fatal(err)
	}
	w.boots++
	w.st = st
	proc := fmt.Sprintf("process-%d", w.boots)
	w.eng = rotation.NewEngine(rotation.EngineConfig{Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Revoker: w.gh, Store: st,
		Notifier: w.notes, Now: w.now, Owner: proc, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	w.starter = w.newStarter(proc + ":autostart")
	w.loop = expiry.New(expiry.Config{Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Store: st, Notifier: w.notes,
		Now: w.now, Interval: time.Hour, Parallel: 1, Owner: proc + ":reminders", AfterPass: w.starter.Pass})
}

func (w *world) newStarter(owner string) *autostart.Starter {
	return autostart.New(autostart.Config{Matrix: w.matrix, Engine: w.eng, Store: w.st, Notifier: w.notes, Now: w.now, Owner: owner})
}

// pass is one reminder pass at the clock's time, the auto-start pass after
// it, and the background work they started, to its end.
func (w *world) pass() {
	w.t.Helper()
	if err := w.loop.Reconcile(context.Background()); err != nil {
		w.t.Fatalf("pass at %s: %v", words.DateText(w.now()), err)
	}
	w.eng.Wait()
}

// passAt sets the clock and makes a pass.
func (w *world) passAt(at time.Time) {
	w.t.Helper()
	w.set(at)
	w.pass()
}

func (w *world) runs() []*rotation.Run {
	w.t.Helper()
	runs, err := w.st.ListRuns(context.Background(), rotation.RunFilter{Secret: name})
	if err != nil {
		w.t.Fatal(err)
	}
	return runs
}

// autoAudits are the stored secret.rotate.auto_started entries.
func (w *world) autoAudits() []rotation.AuditEntry {
	w.t.Helper()
	all, err := w.st.ListAudit(context.Background(), name, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []rotation.AuditEntry
	for _, e := range all {
		if e.Action == rotation.ActionAutoStarted {
			out = append(out, e)
		}
	}
	return out
}

// wantRuns fails unless the secret has n runs, and returns the newest.
func (w *world) wantRuns(n int, when string) *rotation.Run {
	w.t.Helper()
	runs := w.runs()
	if len(runs) != n {
		var got []string
		for _, r := range runs {
			got = append(got, r.ID+" by "+r.Requester+" ("+string(r.State)+")")
		}
		w.t.Fatalf("%s: %d runs %v, want %d", when, len(runs), got, n)
	}
	if n == 0 {
		return nil
	}
	return runs[0]
}

// cancel is an ops member pressing Cancel on the run.
func (w *world) cancel(id string) {
	w.t.Helper()
	if _, err := w.eng.Cancel(context.Background(), id, alice); err != nil {
		w.t.Fatal(err)
	}
}

// base is the tests' clock at the start: an hour of today's wall clock, so no
// fixture carries a date the wall clock will pass.
func base() time.Time { return rotation.WallNow().UTC().Truncate(time.Hour) }

func TestAutoStartFiresNDaysBeforeExpiry(t *testing.T) {
	t.Parallel()
	t0 := base()
	expires := t0.Add(20 * day)
	w := newWorld(t, t0, expires, 7, 0)
	w.pass()
	w.passAt(expires.Add(-7*day - time.Minute))
	w.wantRuns(0, "a minute before the 7 days")

	w.passAt(expires.Add(-7 * day))
	r := w.wantRuns(1, "7 days before")
	if r.Requester != rotation.Rotabot || r.State != rotation.StateWaitingToken || r.Card.Channel != "C0OPS" {
		t.Fatalf("run %s requested by %q in %s, card in %q: want rotabot's, waiting at Generate, in the ops channel", r.ID, r.Requester, r.State, r.Card.Channel)
	}
	fp := rotation.Fingerprint(w.token)
	wantReason := "the token `" + fp + "` expires in 7 days, on " + words.DateText(expires) + " (auto_start_days: 7). Owners: <@" + owner + ">"
	if r.StartReason != wantReason {
		t.Errorf("reason %q\nwant   %q", r.StartReason, wantReason)
	}
	if note := w.notes.cards[r.ID]; note != "rotabot started a rotation of "+name+": "+wantReason {
		t.Errorf("the card's thread says %q: want rotabot, the reason and the owners mentioned", note)
	}
	audits := w.autoAudits()
	if len(audits) != 1 || audits[0].RunID != r.ID || audits[0].Actor != rotation.Rotabot || audits[0].Reason != wantReason || audits[0].OldFingerprint != fp {
		t.Fatalf("audit entries %+v: want one secret.rotate.auto_started by rotabot for %s", audits, r.ID)
	}
	if len(w.notes.audits) != 1 || w.notes.audits[0].Action != rotation.ActionAutoStarted {
		t.Errorf("audit posts %+v: want the auto_started entry posted once", w.notes.audits)
	}
	// The pre-check ran as for any run: the run knows the current token.
	if r.OldFingerprint != fp || r.Login != "raxx-bot" {
		t.Errorf("pre-check: old %q login %q", r.OldFingerprint, r.Login)
	}

	// Further passes while it is open start nothing more.
	w.passAt(expires.Add(-6 * day))
	w.passAt(expires.Add(-2 * day))
	w.wantRuns(1, "while the run is open")
	if n := len(w.autoAudits()); n != 1 {
		t.Errorf("%d auto_started entries, want 1", n)
	}
}

func TestAutoStartNotWhileAPersonsRunIsOpen(t *testing.T) {
	t.Parallel()
	t0 := base()
	expires := t0.Add(10 * day)
	w := newWorld(t, t0, expires, 7, 0)
	w.set(expires.Add(-8 * day))
	mine, err := w.eng.Start(context.Background(), rotation.StartRequest{Secret: name, Requester: alice, Channel: "C0OPS"})
	if err != nil {
		t.Fatal(err)
	}
	w.passAt(expires.Add(-7 * day))
	w.passAt(expires.Add(-7*day + time.Hour))
	w.wantRuns(1, "alice's run is open")
	if len(w.autoAudits()) != 0 {
		t.Fatal("rotabot audited a start it did not make")
	}
	// Cancelled: rotabot starts one at the next pass (no start was made today,
	// so no day's claim holds it back).
	w.cancel(mine.ID)
	w.passAt(expires.Add(-7*day + 2*time.Hour))
	if r := w.wantRuns(2, "after alice's run was cancelled"); r.Requester != rotation.Rotabot {
		t.Fatalf("newest run requested by %q", r.Requester)
	}
}

func TestAutoStartAtMostOnceADayAcrossARestart(t *testing.T) {
	t.Parallel()
	t0 := base()
	expires := t0.Add(10 * day)
	w := newWorld(t, t0, expires, 7, 0)
	first := expires.Add(-7 * day)
	w.passAt(first)
	r1 := w.wantRuns(1, "7 days before")
	w.cancel(r1.ID)
	w.passAt(first.Add(time.Hour))
	w.wantRuns(1, "an hour after the first was cancelled")

	// A new process on the same database: the day's claim holds.
	w.boot()
	w.passAt(first.Add(23 * time.Hour))
	w.wantRuns(1, "after a restart, the same day")

	w.passAt(first.Add(day))
	r2 := w.wantRuns(2, "a day after the first")
	if r2.Requester != rotation.Rotabot || r2.State != rotation.StateWaitingToken {
		t.Fatalf("second run by %q in %s", r2.Requester, r2.State)
	}
	if n := len(w.autoAudits()); n != 2 {
		t.Errorf("%d auto_started entries, want one per start", n)
	}
}

func TestAutoStartTwoProcessesStartOneRun(t *testing.T) {
	t.Parallel()
	t0 := base()
	expires := t0.Add(5 * day)
	w := newWorld(t, t0, expires, 7, 0)
	w.pass() // records the expiry (and starts the run: undo it, then race)
	r1 := w.wantRuns(1, "at the first pass")
	w.cancel(r1.ID)
	w.set(t0.Add(day + time.Minute))
	// Two processes' auto-start passes at once (as when each made a reminder
	// pass): one run, one audit entry.
	a, b := w.newStarter("proc-a"), w.newStarter("proc-b")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*autostart.Starter{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Pass(context.Background())
		}()
	}
	wg.Wait()
	w.eng.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	w.wantRuns(2, "after two processes' passes")
	if n := len(w.autoAudits()); n != 2 {
		t.Errorf("%d auto_started entries, want 2 (one per run)", n)
	}
}

func TestAutoStartByMaxAge(t *testing.T) {
	t.Parallel()
	t0 := base()
	// A token that never expires, first seen now: its age counts from now.
	w := newWorld(t, t0, time.Time{}, 7, 30*day)
	w.pass()
	w.passAt(t0.Add(23*day - time.Minute))
	w.wantRuns(0, "more than 7 days before the max age")
	w.passAt(t0.Add(23 * day))
	r := w.wantRuns(1, "7 days before the max age")
	want := "the token `" + rotation.Fingerprint(w.token) + "` reaches its max age of 30 days in 7 days, on " + words.DateText(t0.Add(30*day)) +
		" (auto_start_days: 7); when it was made is unknown, so its age counts from " + words.DateText(t0) + ", when rotabot first saw it. Owners: <@" + owner + ">"
	if r.StartReason != want {
		t.Errorf("reason %q\nwant   %q", r.StartReason, want)
	}
	// The run's pre-check recorded the token again: when it was first seen is kept.
	rec, _, err := w.st.GetExpiry(context.Background(), name)
	if err != nil || !rec.Created.Equal(t0) || !rec.CreatedUnknown {
		t.Errorf("record after the pre-check: created %v (unknown %v), %v; want %v kept", rec.Created, rec.CreatedUnknown, err, t0)
	}
}

// A run rotabot started and nobody finishes is reminded as the expiry
// reminders are: each threshold left, then daily once the token expired, to
// every owner and the ops channel, each naming the open run.
func TestAutoStartedRunNobodyFinishesIsReminded(t *testing.T) {
	t.Parallel()
	t0 := base()
	expires := t0.Add(8 * day)
	w := newWorld(t, t0, expires, 5, 0)
	w.pass()
	if got := w.notes.takeReminders(); len(got) != 2 || !strings.Contains(got[0], " 14d: ") {
		t.Fatalf("first pass told %v, want the 14-day reminder to the owner and the channel", got)
	}
	var got []string
	for at := t0.Add(3 * time.Hour); !at.After(expires.Add(2*day + time.Hour)); at = at.Add(3 * time.Hour) {
		w.passAt(at)
		got = append(got, w.notes.takeReminders()...)
	}
	r := w.wantRuns(1, "after the walk")
	if r.Requester != rotation.Rotabot || r.State != rotation.StateWaitingToken {
		t.Fatalf("run by %q in %s", r.Requester, r.State)
	}
	open := "[open " + r.ID + " (Waiting for token, started by rotabot " + words.DateText(r.Created) + ")]"
	keys := map[string][]string{}
	for _, line := range got {
		to, rest, _ := strings.Cut(line, " ")
		key, _, _ := strings.Cut(rest, ":")
		keys[key] = append(keys[key], to)
		if key != "7d" && !strings.HasSuffix(line, open) {
			t.Errorf("a reminder after the start does not name the open run %s: %s", open, line)
		}
	}
	for _, k := range []string{"7d", "3d", "1d"} {
		if strings.Join(keys[k], ",") != owner+",#ops" {
			t.Errorf("%s went to %v, want the owner and #ops once", k, keys[k])
		}
	}
	// Expired: once at expiry, then a day later, then a day after that.
	if strings.Join(keys["expired"], ",") != strings.Repeat(owner+",#ops,", 2)+owner+",#ops" {
		t.Errorf("expired went to %v, want owner and #ops daily (3 days)", keys["expired"])
	}
}

// Requested by rotabot, the run still needs a second person: whoever submits
// the token may not approve it; any other ops member may.
func TestAutoStartedRunApprovedByAnyoneButTheSubmitter(t *testing.T) {
	t.Parallel()
	t0 := base()
	expires := t0.Add(3 * day)
	w := newWorld(t, t0, expires, 7, 0)
	w.pass()
	r := w.wantRuns(1, "at the first pass")
	fresh := rotationtest.NewToken()
	w.gh.Add(fresh, "raxx-bot", t0.Add(90*day))
	ctx := context.Background()
	if _, err := w.eng.Submit(ctx, r.ID, alice, rotation.NewSecret(fresh)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.eng.Approve(ctx, r.ID, alice); rotation.ErrorCode(err) != rotation.EFORBIDDEN {
		t.Fatalf("the submitter's approval: %v, want it refused", err)
	}
	got, err := w.eng.Approve(ctx, r.ID, bob)
	if err != nil || got.Approver != bob {
		t.Fatalf("bob's approval: %v (approver %q)", err, got.Approver)
	}
	w.eng.Wait()
	rotationtest.NoLeak(t, strings.Join(w.notes.all(), "\n"), fresh)
}
