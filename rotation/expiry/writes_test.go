package expiry_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/expiry"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// countingStore counts what the reminder loop's store is asked to write: expiry
// records, and write transactions of any kind (claims included: a write in
// PostgreSQL, though the bbolt store keeps its claims in memory).
type countingStore struct {
	expiry.Store
	records atomic.Int64 // expiry records written
	txns    atomic.Int64 // write transactions
}

func (c *countingStore) PutExpiry(ctx context.Context, rec rotation.ExpiryRecord) error {
	c.records.Add(1)
	c.txns.Add(1)
	return c.Store.PutExpiry(ctx, rec)
}

func (c *countingStore) UpdateExpiry(ctx context.Context, secrets []string, fn func(map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error)) error {
	var n int
	err := c.Store.UpdateExpiry(ctx, secrets, func(stored map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error) {
		recs, err := fn(stored)
		n = len(recs)
		return recs, err
	})
	if err == nil && n > 0 {
		c.records.Add(int64(n))
		c.txns.Add(1)
	}
	return err
}

func (c *countingStore) ClaimRun(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	c.txns.Add(1)
	return c.Store.ClaimRun(ctx, id, owner, now, ttl)
}

func (c *countingStore) ReleaseRun(ctx context.Context, id, owner string) error {
	c.txns.Add(1)
	return c.Store.ReleaseRun(ctx, id, owner)
}

func (c *countingStore) reset() (records, txns int64) {
	return c.records.Swap(0), c.txns.Swap(0)
}

// passWorld is a reminder loop over n secrets on a real bbolt file, with
// hand-written fakes of Infisical and GitHub (no HTTP), so a pass's cost is the
// loop's and the store's own. Every token expires in 20 to 360 days: no
// reminder is due in the first weeks.
type passWorld struct {
	st    *countingStore
	vault *remVault
	gh    *remGitHub
	notes *remNotifier
	loop  *expiry.Loop
	clock atomic.Int64 // unix nanos
}

func (p *passWorld) now() time.Time  { return time.Unix(0, p.clock.Load()).UTC() }
func (p *passWorld) set(t time.Time) { p.clock.Store(t.UnixNano()) }

func newPassWorld(tb testing.TB, n int) *passWorld {
	tb.Helper()
	st, err := bbolt.Open(filepath.Join(tb.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	p := &passWorld{st: &countingStore{Store: st}, vault: &remVault{values: map[string]string{}}}
	p.set(remStart)
	p.gh = &remGitHub{now: p.now, tokens: map[string]rotation.TokenInfo{}}
	p.notes = &remNotifier{now: p.now, fail: map[string]int{}}
	m := remMatrix()
	m.Secrets = map[string]*rotation.SecretConfig{}
	for i := range n {
		name := fmt.Sprintf("BENCH_TOKEN_%04d", i+1)
		tok := fmt.Sprintf("github_pat_11BENCH%04dREMINDERPASS_0123456789abcdef", i+1)
		m.Secrets[name] = &rotation.SecretConfig{Name: name, Kind: rotation.FineGrained, ExpiresInDays: 90, Owners: []string{"U0OWNER"}}
		p.vault.set(name, tok)
		p.gh.add(tok, "raxx-bot", remStart.Add(time.Duration(20+(i*37)%340)*24*time.Hour))
	}
	p.loop = expiry.New(expiry.Config{Matrix: m, Vault: p.vault, Checker: p.gh, Store: p.st,
		Notifier: p.notes, Now: p.now, Interval: time.Hour, Owner: "bench"})
	return p
}

func (p *passWorld) pass(tb testing.TB) {
	tb.Helper()
	if err := p.loop.Reconcile(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// rotate gives secret i (from 1) a new token in the vault, expiring at expires, as
// a rotation done outside the bot would.
func (p *passWorld) rotate(i int, expires time.Time) string {
	name := fmt.Sprintf("BENCH_TOKEN_%04d", i)
	tok := fmt.Sprintf("github_pat_11ROTATED%04dREMINDERPASS_0123456789abcdef", i)
	p.gh.add(tok, "raxx-bot", expires)
	p.vault.set(name, tok)
	return name
}

func (p *passWorld) record(t *testing.T, secret string) rotation.ExpiryRecord {
	t.Helper()
	rec, ok, err := p.st.GetExpiry(context.Background(), secret)
	if err != nil || !ok {
		t.Fatalf("no expiry record of %s (%v)", secret, err)
	}
	return rec
}

// A pass an hour after the last, with nothing changed, writes no record: only
// its claim is written (taken and released).
func TestReminderPassWithNothingChangedWritesNothing(t *testing.T) {
	t.Parallel()
	p := newPassWorld(t, 50)
	p.pass(t)
	if records, _ := p.st.reset(); records != 50 {
		t.Fatalf("the first pass wrote %d records, want 50", records)
	}
	before := p.record(t, "BENCH_TOKEN_0007")
	for h := 1; h <= 23; h++ {
		p.set(remStart.Add(time.Duration(h) * time.Hour))
		p.pass(t)
	}
	records, txns := p.st.reset()
	if records != 0 || txns != 2*23 {
		t.Fatalf("23 passes with nothing changed wrote %d records in %d write transactions, want none besides 2 claim writes a pass", records, txns)
	}
	if got := p.record(t, "BENCH_TOKEN_0007"); !got.CheckedAt.Equal(before.CheckedAt) {
		t.Errorf("the record was rewritten: checked at %s, then %s", before.CheckedAt, got.CheckedAt)
	}
	if got := p.notes.take(); len(got) != 0 {
		t.Errorf("passes with nothing due sent %v", got)
	}
}

// A pass where one secret's token changed writes that record alone.
func TestReminderPassWritesOnlyTheRecordThatChanged(t *testing.T) {
	t.Parallel()
	p := newPassWorld(t, 50)
	p.pass(t)
	p.st.reset()
	p.set(remStart.Add(time.Hour))
	name := p.rotate(12, remStart.Add(90*24*time.Hour))
	p.pass(t)
	records, txns := p.st.reset()
	if records != 1 || txns != 1+2 {
		t.Fatalf("one changed secret: %d records written in %d write transactions, want 1 in 1 (and 2 claim writes)", records, txns)
	}
	rec := p.record(t, name)
	if rec.Fingerprint != rotation.Fingerprint("github_pat_11ROTATED0012REMINDERPASS_0123456789abcdef") ||
		!rec.ExpiresAt.Equal(remStart.Add(90*24*time.Hour)) || !rec.CheckedAt.Equal(remStart.Add(time.Hour)) {
		t.Errorf("the changed record: %+v", rec)
	}
	if other := p.record(t, "BENCH_TOKEN_0013"); !other.CheckedAt.Equal(remStart) {
		t.Errorf("an unchanged record was rewritten: %+v", other)
	}
}

// What changed in a pass is written in one transaction, however many records;
// a record unchanged for a day is written again, so that the stored "checked at"
// is never more than a day behind.
func TestReminderPassWritesChangesTogetherAndRefreshesDaily(t *testing.T) {
	t.Parallel()
	p := newPassWorld(t, 50)
	p.pass(t)
	p.st.reset()
	p.set(remStart.Add(time.Hour))
	for i := 1; i <= 10; i++ {
		p.rotate(i, remStart.Add(time.Duration(60+i)*24*time.Hour))
	}
	p.pass(t)
	if records, txns := p.st.reset(); records != 10 || txns != 1+2 {
		t.Fatalf("ten changed secrets: %d records in %d write transactions, want 10 in 1 (and 2 claim writes)", records, txns)
	}
	p.set(remStart.Add(24 * time.Hour))
	p.pass(t)
	if records, txns := p.st.reset(); records != 40 || txns != 1+2 {
		t.Fatalf("a day after the first pass: %d records in %d write transactions, want the 40 checked then, in 1", records, txns)
	}
	if rec := p.record(t, "BENCH_TOKEN_0050"); !rec.CheckedAt.Equal(remStart.Add(24 * time.Hour)) {
		t.Errorf("a record refreshed after a day: %+v", rec)
	}
}

// During an outage the record says when the token was last checked: the last
// pass that got an answer, even when that pass wrote nothing.
func TestReminderOutageSaysTheLastCheckEvenIfNotWritten(t *testing.T) {
	t.Parallel()
	p := newPassWorld(t, 3)
	p.pass(t)
	p.set(remStart.Add(5 * time.Hour))
	p.pass(t) // nothing changed: nothing written
	if rec := p.record(t, "BENCH_TOKEN_0001"); !rec.CheckedAt.Equal(remStart) {
		t.Fatalf("the unchanged record was written: %+v", rec)
	}
	p.gh.mu.Lock()
	p.gh.down = rotation.Errorf(rotation.EUNAVAILABLE, "GitHub answered 503")
	p.gh.mu.Unlock()
	p.set(remStart.Add(6 * time.Hour))
	if err := p.loop.Reconcile(context.Background()); rotation.ErrorCode(err) != rotation.EUNAVAILABLE {
		t.Fatalf("a pass during an outage: %v", err)
	}
	rec := p.record(t, "BENCH_TOKEN_0001")
	want := "not checked: could not ask GitHub (GitHub answered 503); last checked " + words.DateText(remStart.Add(5*time.Hour))
	if rec.Problem != want || !rec.CheckedAt.Equal(remStart.Add(5*time.Hour)) {
		t.Errorf("during the outage the record says %q (checked at %s), want %q", rec.Problem, rec.CheckedAt, want)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReminderPass is the reminder pass over 1,000 secrets on a bbolt file,
// with the vault and GitHub answering at once (fakes, no HTTP): the machine time
// (user+sys of the whole process) and wall time of a pass, the expiry records it
// wrote and its write transactions (its claim's two included).
//
//	go test -run '^$' -bench ReminderPass -benchtime 20x ./rotation/
//
// unchanged: nothing changed since the last pass (the hourly case); each pass
// runs an hour or more after the first, within a day of it.
// all-changed: every secret's record says something new (a new token, another
// expiry): one transaction writes them all.
func BenchmarkReminderPass(b *testing.B) {
	const secrets = 1000
	b.Run("unchanged", func(b *testing.B) {
		benchPass(b, secrets, func(p *passWorld, i int) {
			p.set(remStart.Add(time.Duration(1+i%20) * time.Hour))
		})
	})
	b.Run("all-changed", func(b *testing.B) {
		benchPass(b, secrets, func(p *passWorld, i int) {
			p.set(remStart.Add(time.Duration(1+i%20) * time.Hour))
			for s := 1; s <= secrets; s++ {
				p.rotate(s, remStart.Add(time.Duration(30+(i+s)%300)*24*time.Hour+time.Duration(i)*time.Minute))
			}
		})
	})
}

// benchPass measures b.N passes, each after prepare(i), and reports per pass.
func benchPass(b *testing.B, secrets int, prepare func(p *passWorld, i int)) {
	p := newPassWorld(b, secrets)
	p.pass(b) // the first pass records every secret
	if got := len(p.notes.take()); got != 0 {
		b.Fatalf("the first pass sent %d reminders; none is due", got)
	}
	p.st.reset()
	var cpu, wall time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		prepare(p, i)
		b.StartTimer()
		cpu0, wall0 := cpuTime(), time.Now()
		p.pass(b)
		cpu, wall = cpu+cpuTime()-cpu0, wall+time.Since(wall0)
	}
	b.StopTimer()
	if got := len(p.notes.take()); got != 0 {
		b.Fatalf("the passes sent %d reminders; none is due", got)
	}
	records, txns := p.st.reset()
	n := float64(b.N)
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/n, "cpu-ms/pass")
	b.ReportMetric(float64(wall)/float64(time.Millisecond)/n, "wall-ms/pass")
	b.ReportMetric(float64(records)/n, "records-written/pass")
	b.ReportMetric(float64(txns)/n, "write-txns/pass")
	b.ReportMetric(float64(secrets), "secrets")
}
