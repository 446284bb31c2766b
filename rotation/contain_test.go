package rotation_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// toRevoke carries a run to Waiting for revoke: approved, stored, propagated, verified.
func (w *world) toRevoke(ctx context.Context) *rotation.Run {
	t := w.t
	t.Helper()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	return r
}

// withEngine rebuilds the engine with change applied to its configuration.
func (w *world) withEngine(change func(*rotation.EngineConfig)) {
	cfg := w.eng.EngineConfig
	change(&cfg)
	w.build(cfg)
}

// lostRevoker revokes the token at GitHub, but the answer never reaches the bot.
type lostRevoker struct{ gh *fakeGitHub }

func (l lostRevoker) Revoke(ctx context.Context, tok rotation.Secret) error {
	_ = l.gh.Revoke(ctx, tok)
	return rotation.Errorf(rotation.EUNAVAILABLE, "GitHub did not answer in time (POST /credentials/revoke): try again later")
}

// A revoke whose answer was lost may have revoked the old token: rollback is
// refused from the moment the button was pressed, whatever GitHub answered.
func TestRollbackRefusedOnceARevokeWasAttempted(t *testing.T) {
	ctx := context.Background()
	t.Run("Revoke old token now, answer lost", func(t *testing.T) {
		w := newWorld(t)
		r := w.toRevoke(ctx)
		w.withEngine(func(c *rotation.EngineConfig) { c.Revoker = lostRevoker{gh: w.gh} })
		ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", true))
		r = ok(t)(w.eng.Advance(ctx, r.ID))
		wantState(t, r, rotation.StateWaitingRevoke)
		if r.Can(rotation.EvRollback) {
			t.Error("the card would offer Rollback")
		}
		_, err := w.eng.Rollback(ctx, r.ID, "U0BOB")
		if !errors.Is(err, rotation.ErrRevokeSent) {
			t.Fatalf("rollback after a lost revoke answer: %v", err)
		}
		r = ok(t)(w.eng.Advance(ctx, r.ID))
		w.assertEverywhere(newToken)
	})
	t.Run("I revoked the old token, still answering at the check", func(t *testing.T) {
		w := newWorld(t)
		r := w.toRevoke(ctx)
		ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", false))
		r = ok(t)(w.eng.Advance(ctx, r.ID)) // GitHub still answers for the old token
		wantState(t, r, rotation.StateWaitingRevoke)
		if !r.RevokeAttempted {
			t.Error("the attempt was not recorded")
		}
		_, err := w.eng.Rollback(ctx, r.ID, "U0BOB")
		if !errors.Is(err, rotation.ErrRevokeSent) {
			t.Fatalf("rollback after I revoked: %v", err)
		}
		w.assertEverywhere(newToken)
	})
}

// recordingStore keeps the state the run had when the revoke request went out.
type revokeWitness struct {
	st      rotation.Store
	sawSent atomic.Bool
	gh      *fakeGitHub
	id      string
}

func (v *revokeWitness) Revoke(ctx context.Context, tok rotation.Secret) error {
	if r, err := v.st.GetRun(ctx, v.id); err == nil && r.RevokeAttempted && r.RevokeSent {
		v.sawSent.Store(true)
	}
	return v.gh.Revoke(ctx, tok)
}

// "Revoke attempted" is in the store before the old token goes to GitHub.
func TestRevokeAttemptIsRecordedBeforeTheRequest(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toRevoke(ctx)
	witness := &revokeWitness{st: w.st, gh: w.gh, id: r.ID}
	w.withEngine(func(c *rotation.EngineConfig) { c.Revoker = witness })
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", true))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateCompleted)
	if !witness.sawSent.Load() {
		t.Error("the revoke request went out before the attempt was recorded")
	}
}

// Rollback first asks GitHub about the old token: if it answers 401 (revoked or
// deleted by hand, expired), the rollback is refused and nothing is written.
func TestRollbackRefusesADeadOldToken(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toRevoke(ctx)
	cur, _ := w.matrix.Refs(secretName)
	writes := w.vault.Writes(cur)
	w.gh.Delete(oldToken) // deleted in GitHub's settings, no button pressed

	_, err := w.eng.Rollback(ctx, r.ID, "U0BOB")
	if !errors.Is(err, rotation.ErrOldTokenDead) {
		t.Fatalf("rollback to a dead token: %v, want ErrOldTokenDead", err)
	}
	msg := rotation.ErrorMessage(err)
	for _, want := range []string{"401", "dead", "Nothing was written", "/rotate " + secretName} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	r = ok(t)(w.eng.Get(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	w.assertEverywhere(newToken)
	if w.vault.Writes(cur) != writes {
		t.Error("the vault was written")
	}

	// A rollback already under way (a resumed process) checks first too.
	w2 := newWorld(t)
	r2 := w2.toRevoke(ctx)
	r2 = ok(t)(w2.eng.Rollback(ctx, r2.ID, "U0BOB"))
	wantState(t, r2, rotation.StateRollingBack)
	w2.gh.Delete(oldToken)
	r2 = ok(t)(w2.eng.Advance(ctx, r2.ID))
	wantState(t, r2, rotation.StateRollbackFailed)
	if !strings.Contains(r2.Notice, "401") || !strings.Contains(r2.Notice, "Nothing was written") {
		t.Errorf("notice = %q", r2.Notice)
	}
	w2.assertEverywhere(newToken)
}

// Two values with the same 8-hex fingerprint: the pending value was swapped for
// one whose fingerprint matches the approved token's (here by rewriting the
// fingerprint the run holds, which is what a found collision amounts to). The
// store step compares the full digest and promotes nothing.
func TestCollidingFingerprintIsNotPromoted(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toApproval(ctx)
	_, pend := w.matrix.Refs(secretName)
	w.vault.Set(pend, otherToken) // someone who may write the pending folder
	_, err := w.st.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
		x.NewFingerprint = rotation.Fingerprint(otherToken) // the collision
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateStoreFailed)
	if !strings.Contains(r.Notice, "not the token that was approved") {
		t.Errorf("notice = %q", r.Notice)
	}
	w.assertEverywhereBut(oldToken)
}

// The store step checks the pending value's shape before promoting it.
func TestStoreRechecksThePendingValuesShape(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toApproval(ctx)
	_, pend := w.matrix.Refs(secretName)
	w.vault.Set(pend, "not a token at all")
	_, err := w.st.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
		x.NewFingerprint, x.NewDigest = rotation.Fingerprint("not a token at all"), x.DigestOf(rotation.NewSecret("not a token at all"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateStoreFailed)
	if !strings.Contains(r.Notice, "is not a GitHub token") {
		t.Errorf("notice = %q", r.Notice)
	}
	w.assertEverywhereBut(oldToken)
}

// lateVault lands a late write: when the old value is written back (the
// rollback), an earlier, abandoned write of the new value arrives after it.
type lateVault struct {
	*fakeVault
	late string
	once sync.Once
}

func (v *lateVault) Write(ctx context.Context, ref rotation.VaultRef, val rotation.Secret) (int, error) {
	n, err := v.fakeVault.Write(ctx, ref, val)
	if err == nil && val.Reveal() == oldToken {
		v.once.Do(func() { v.Set(ref, v.late) })
	}
	return n, err
}

// Rollback ends by reading the vault back: a late write that landed after the
// old value was restored is caught and shown, not reported as rolled back.
func TestRollbackReadsTheVaultBack(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toRevoke(ctx)
	w.withEngine(func(c *rotation.EngineConfig) { c.Vault = &lateVault{fakeVault: w.vault, late: newToken} })
	ok(t)(w.eng.Rollback(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateRollbackFailed)
	if !strings.Contains(r.Notice, "Infisical holds") {
		t.Errorf("notice = %q", r.Notice)
	}
	// Retry writes the old value back and checks again.
	ok(t)(w.eng.Retry(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateRolledBack)
	w.assertEverywhere(oldToken)
}

// meddlingConsumer changes the vault while a destination is read back: a write
// from elsewhere (or a late one) lands during verify.
type meddlingConsumer struct {
	*fakeConsumer
	vault *fakeVault
	ref   rotation.VaultRef
	once  sync.Once
}

func (m *meddlingConsumer) Verify(ctx context.Context, target, name string, v rotation.Secret, since time.Time) error {
	m.once.Do(func() { m.vault.Set(m.ref, oldToken) })
	return m.fakeConsumer.Verify(ctx, target, name, v, since)
}

// Verify ends by reading the vault back too.
func TestVerifyReadsTheVaultBack(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toApproval(ctx)
	cur, _ := w.matrix.Refs(secretName)
	w.withEngine(func(c *rotation.EngineConfig) {
		c.Consumers = map[rotation.DestKind]rotation.Consumer{
			rotation.DestHeroku:       &meddlingConsumer{fakeConsumer: w.heroku, vault: w.vault, ref: cur},
			rotation.DestGitHubSecret: w.ghsec,
		}
	})
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateVerifyFailed)
	if !strings.Contains(r.Notice, "Infisical now holds a different value") {
		t.Errorf("notice = %q", r.Notice)
	}
}

// stealingStore answers every renewal of a claim "no": another process took
// the run over. It counts the writes made after that.
type stealingStore struct {
	rotation.Store
	mu           sync.Mutex
	claims       int
	stolen       chan struct{}
	writesAfter  int
	stolenClosed bool
}

func (s *stealingStore) ClaimRun(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	if s.claims == 1 {
		return s.Store.ClaimRun(ctx, id, owner, now, ttl)
	}
	if !s.stolenClosed {
		s.stolenClosed = true
		close(s.stolen)
	}
	return false, nil
}

func (s *stealingStore) UpdateRun(ctx context.Context, id string, fn func(*rotation.Run) error) (*rotation.Run, error) {
	s.mu.Lock()
	if s.stolenClosed {
		s.writesAfter++
	}
	s.mu.Unlock()
	return s.Store.UpdateRun(ctx, id, fn)
}

// hangingConsumer's Set waits for its context to end (or a long while).
type hangingConsumer struct {
	*fakeConsumer
	canceled atomic.Bool
}

func (h *hangingConsumer) Set(ctx context.Context, target, name string, v rotation.Secret) error {
	select {
	case <-ctx.Done():
		h.canceled.Store(true)
		return rotation.Errorf(rotation.EUNAVAILABLE, "stopped")
	case <-time.After(3 * time.Second):
	}
	return h.fakeConsumer.Set(ctx, target, name, v)
}

// A claim stolen mid-propagate (renewals answered "no": another process holds the
// run now) cancels the step's context before any further write: the write in hand
// is abandoned and nothing more is recorded by this process.
func TestLostClaimStopsTheStep(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	st := &stealingStore{Store: w.st, stolen: make(chan struct{})}
	hang := &hangingConsumer{fakeConsumer: w.heroku}
	w.withEngine(func(c *rotation.EngineConfig) {
		c.Store = st
		c.ClaimTTL = 300 * time.Millisecond // renewed every 100 ms
		c.Consumers = map[rotation.DestKind]rotation.Consumer{rotation.DestHeroku: hang, rotation.DestGitHubSecret: w.ghsec}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = w.eng.Advance(ctx, r.ID)
	}()
	<-st.stolen
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the step went on after the claim was lost")
	}
	if !hang.canceled.Load() {
		t.Error("the write in hand was not cancelled")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.writesAfter != 0 {
		t.Errorf("%d writes to the store after the claim was lost", st.writesAfter)
	}
}

// panickyConsumer panics on its first Set: a bug in an adapter.
type panickyConsumer struct {
	*fakeConsumer
	once sync.Once
}

func (p *panickyConsumer) Set(ctx context.Context, target, name string, v rotation.Secret) error {
	panicked := false
	p.once.Do(func() { panicked = true })
	if panicked {
		panic("adapter bug holding " + v.Reveal())
	}
	return p.fakeConsumer.Set(ctx, target, name, v)
}

// A panic in an engine goroutine does not stop the process: the destination
// fails, the run waits for Retry, and Retry carries it on.
func TestEnginePanicLeavesTheRunRetryable(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toApproval(ctx)
	w.withEngine(func(c *rotation.EngineConfig) {
		c.Consumers = map[rotation.DestKind]rotation.Consumer{
			rotation.DestHeroku: &panickyConsumer{fakeConsumer: w.heroku}, rotation.DestGitHubSecret: w.ghsec}
	})
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StatePropagateFailed)
	if strings.Contains(r.Notice, newToken[12:20]) {
		t.Error("the notice holds part of the token")
	}
	ok(t)(w.eng.Retry(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	w.assertEverywhere(newToken)
}

// panickyNotifier panics when it is told about the run: a bug outside a
// destination, in the step itself.
type panickyNotifier struct {
	*fakeNotifier
	armed atomic.Bool
}

func (p *panickyNotifier) RunChanged(ctx context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	if p.armed.CompareAndSwap(true, false) {
		panic("notifier bug")
	}
	return p.fakeNotifier.RunChanged(ctx, r, note)
}

// A panic in a step, carried on by Engine.Go, fails the step for Retry and lets
// the process go on.
func TestStepPanicFailsTheStep(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := w.toApproval(ctx)
	pn := &panickyNotifier{fakeNotifier: w.notes}
	w.withEngine(func(c *rotation.EngineConfig) { c.Notifier = pn })
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	pn.armed.Store(true)
	w.eng.Go(ctx, r.ID)
	w.eng.Wait()
	r = ok(t)(w.eng.Get(ctx, r.ID))
	if !r.State.Failed() {
		t.Fatalf("state = %s, want the step failed for Retry", r.State)
	}
	ok(t)(w.eng.Retry(ctx, r.ID, "U0BOB"))
	w.eng.Go(ctx, r.ID)
	w.eng.Wait()
	r = ok(t)(w.eng.Get(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
}
