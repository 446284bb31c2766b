package rotation_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

const (
	keySecret = "HEROKU_DEPLOY_KEY"
	oldKey    = "HRKU-0a1b2c3d-0000-4000-8000-00000000001d"
	newKey    = "HRKU-0a1b2c3d-0000-4000-8000-00000000002e"
	secondKey = "HRKU-0a1b2c3d-0000-4000-8000-00000000003f"
	keyOwner  = "ops@raxx.example"
)

// fakeMinter makes the keys it was given, in order, as a service would: each
// answers the fake GitHub's Check (the engine's one checker here) once made,
// as a key of keyOwner that never expires.
type fakeMinter struct {
	mu        sync.Mutex
	gh        *fakeGitHub
	next      []string
	fail      error
	noProbe   string // a key whose workload probe refuses it once made
	asked     []rotation.MintRequest
	discarded []string
}

func (m *fakeMinter) Mint(_ context.Context, req rotation.MintRequest) (rotation.Minted, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked = append(m.asked, req)
	if m.fail != nil {
		err := m.fail
		m.fail = nil
		return rotation.Minted{}, err
	}
	v := m.next[0]
	m.next = m.next[1:]
	m.gh.Add(v, keyOwner, time.Time{})
	if v == m.noProbe {
		m.gh.NoProbe(v)
	}
	ref := "auth-" + v[len(v)-2:]
	return rotation.Minted{Value: rotation.NewSecret(v), Ref: ref, Text: "authorization " + ref + ", scope global"}, nil
}

func (m *fakeMinter) Discard(_ context.Context, ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.discarded = append(m.discarded, ref)
	return nil
}

func (m *fakeMinter) discards() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.discarded...)
}

// mintWorld is the engine's world with a heroku-api-key secret set on a GitHub
// Actions secret, its keys made by a fakeMinter.
func mintWorld(t *testing.T) (*world, *fakeMinter) {
	w := newWorld(t)
	w.matrix.Secrets[keySecret] = &rotation.SecretConfig{Name: keySecret, Kind: rotation.HerokuAPIKey,
		Consumers: rotation.Consumers{GitHubSecrets: []string{"raxx-app/deploy:HEROKU_API_KEY"}}}
	cur, _ := w.matrix.Refs(keySecret)
	w.vault.Set(cur, oldKey)
	w.gh.Add(oldKey, keyOwner, time.Time{})
	w.ghsec.values["raxx-app/deploy"] = oldKey
	m := &fakeMinter{gh: w.gh, next: []string{newKey, secondKey}}
	w.withEngine(func(c *rotation.EngineConfig) {
		c.Minters = map[rotation.TokenKind]rotation.Minter{rotation.HerokuAPIKey: m}
	})
	return w, m
}

// startKey starts a run of the key and carries it as far as the bot goes alone.
func (w *world) startKey(ctx context.Context) *rotation.Run {
	w.t.Helper()
	r := ok(w.t)(w.eng.Start(ctx, rotation.StartRequest{Secret: keySecret, Requester: "U0ALICE", Channel: "C0OPS"}))
	return ok(w.t)(w.eng.Advance(ctx, r.ID))
}

// A kind rotabot mints goes from pre-check straight to approval: the new key is
// made (same account, the current key's scope, a description naming the secret,
// the date and the run), checked and held pending with no paste and no
// submitter, and a pasted one is refused. One Approve carries it to the revoke,
// which has the old key revoked at its service; the run completes.
func TestMintedKindNeedsOnlyAnApprove(t *testing.T) {
	w, m := mintWorld(t)
	ctx := context.Background()
	r := w.startKey(ctx)
	wantState(t, r, rotation.StateWaitingApproval)
	if r.Submitter != "" || r.MintedRef != "auth-2e" || r.NewFingerprint != rotation.Fingerprint(newKey) || r.Login != keyOwner {
		t.Fatalf("run %+v", r)
	}
	if len(m.asked) != 1 || !m.asked[0].Current.Equal(rotation.NewSecret(oldKey)) || m.asked[0].Description != "rotabot: HEROKU_DEPLOY_KEY, 2026-11-28 (run "+r.ID+")" {
		t.Fatalf("asked %+v", m.asked)
	}
	if s := r.Step(rotation.StepGenerate); s.State != rotation.StepDone || s.Actor != "" || s.Message != "authorization auth-2e, scope global, `"+rotation.Fingerprint(newKey)+"`" {
		t.Errorf("generate step %+v", s)
	}
	_, pend := w.matrix.Refs(keySecret)
	if got, _ := w.vault.Current(pend); got != newKey {
		t.Fatalf("the pending folder holds %s", rotation.Fingerprint(got))
	}
	if _, err := w.eng.Approve(ctx, r.ID, "U0ALICE"); err == nil {
		t.Fatal("the requester approved their own run")
	}
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	if got := w.ghsec.value("raxx-app/deploy"); got != newKey {
		t.Fatalf("the Actions secret holds %s", rotation.Fingerprint(got))
	}
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", true))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateCompleted)
	if _, err := w.gh.Check(ctx, rotation.NewSecret(oldKey)); rotation.ErrorCode(err) != rotation.EUNAUTHORIZED {
		t.Errorf("the old key still answers: %v", err)
	}
	if a := w.notes.audits; len(a) != 1 || a[0].TokenKind != rotation.HerokuAPIKey || a[0].Approver != "U0BOB" {
		t.Errorf("audit %+v", a)
	}
	if d := m.discards(); len(d) != 0 {
		t.Errorf("discarded %v", d)
	}
}

// When making the key fails, the run waits at generate saying why (a paste is
// still refused), and Generate new key (Mint) tries again; a made key that fails
// validation is deleted at once. Who pressed Generate may not approve.
func TestMintFailureWaitsAtGenerate(t *testing.T) {
	w, m := mintWorld(t)
	ctx := context.Background()
	m.fail = rotation.Errorf(rotation.EFORBIDDEN, "HEROKU_API_KEY may not manage the account's API keys (403)")
	r := w.startKey(ctx)
	wantState(t, r, rotation.StateWaitingToken)
	if !strings.HasPrefix(r.Notice, "Could not make the new HEROKU_DEPLOY_KEY: HEROKU_API_KEY may not manage the account's API keys (403) — press Generate new key") {
		t.Errorf("notice %q", r.Notice)
	}
	if _, err := w.eng.Submit(ctx, r.ID, "U0ALICE", rotation.NewSecret(otherToken)); rotation.ErrorCode(err) != rotation.EINVALID ||
		rotation.ErrorMessage(err) != "rotabot makes the new HEROKU_DEPLOY_KEY itself at Heroku: there is nothing to paste" {
		t.Errorf("a paste: %v", err)
	}
	w.matrix.Secrets[keySecret].Probe = "/apps/raxx-console-prod"
	m.noProbe = newKey
	_, err := w.eng.Mint(ctx, r.ID, "U0BOB")
	if rotation.ErrorCode(err) != rotation.EINVALID {
		t.Fatalf("a key the probe refuses: %v", err)
	}
	if d := m.discards(); len(d) != 1 || d[0] != "auth-2e" {
		t.Fatalf("discarded %v, want the refused key's authorization", d)
	}
	r = ok(t)(w.eng.Mint(ctx, r.ID, "U0BOB"))
	wantState(t, r, rotation.StateWaitingApproval)
	if r.MintedRef != "auth-3f" || r.Notice != "" {
		t.Errorf("run %+v", r)
	}
	// Bob asked for the key: like a submitter, he may not approve it.
	if _, err := w.eng.Approve(ctx, r.ID, "U0BOB"); err == nil {
		t.Fatal("the one who pressed Generate new key approved")
	}
	wantState(t, ok(t)(w.eng.Approve(ctx, r.ID, "U0CAROL")), rotation.StateStoring)
}

// A cancel deletes the minted key with the pending value; a rollback before the
// revoke puts the old key back everywhere and deletes the new one.
func TestCancelAndRollbackDeleteTheMintedKey(t *testing.T) {
	ctx := context.Background()
	t.Run("cancel", func(t *testing.T) {
		w, m := mintWorld(t)
		r := w.startKey(ctx)
		wantState(t, ok(t)(w.eng.Cancel(ctx, r.ID, "U0ALICE")), rotation.StateCancelled)
		if d := m.discards(); len(d) != 1 || d[0] != "auth-2e" {
			t.Errorf("discarded %v", d)
		}
	})
	t.Run("rollback", func(t *testing.T) {
		w, m := mintWorld(t)
		r := w.startKey(ctx)
		ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
		wantState(t, ok(t)(w.eng.Advance(ctx, r.ID)), rotation.StateWaitingRevoke)
		ok(t)(w.eng.Rollback(ctx, r.ID, "U0BOB"))
		r = ok(t)(w.eng.Advance(ctx, r.ID))
		wantState(t, r, rotation.StateRolledBack)
		cur, pend := w.matrix.Refs(keySecret)
		if got, _ := w.vault.Current(cur); got != oldKey {
			t.Errorf("the vault holds %s", rotation.Fingerprint(got))
		}
		if got, _ := w.vault.Current(pend); got != "" || w.ghsec.value("raxx-app/deploy") != oldKey {
			t.Error("the old key is not back everywhere")
		}
		if d := m.discards(); len(d) != 1 || d[0] != "auth-2e" {
			t.Errorf("discarded %v", d)
		}
	})
}
