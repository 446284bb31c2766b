package rotation_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/store/bbolt"
)

const (
	oldToken   = "github_pat_11AAAAOLDOLDOLDOLDOLD_0123456789abcdefOLD"
	newToken   = "github_pat_11BBBBNEWNEWNEWNEWNEW_0123456789abcdefNEW"
	otherToken = "github_pat_11CCCCOTHEROTHEROTHER_0123456789abcdefOTH"
	secretName = "GITHUB_API_READONLY_TOKEN"
)

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

type world struct {
	t      *testing.T
	path   string
	st     *bbolt.Store
	vault  *fakeVault
	gh     *fakeGitHub
	heroku *fakeConsumer
	ghsec  *fakeConsumer
	notes  *fakeNotifier
	eng    *rotation.Engine
	matrix *rotation.Matrix
	// tailers read the logs the engine's log watch reads (restarting).
	tailers map[rotation.DestKind]rotation.LogTailer
}

func testMatrix() *rotation.Matrix {
	return &rotation.Matrix{
		OpsUsergroup: "S0OPS", Channel: "C0OPS", AuditChannel: "C0AUDIT",
		Vault: rotation.VaultSettings{Environment: "prod", Path: "/MooseQuest/github/", PendingPath: "/rotabot/pending/"},
		Secrets: map[string]*rotation.SecretConfig{
			secretName: {
				Name: secretName, Kind: rotation.FineGrained, ExpiresInDays: 90, ResourceOwner: "MooseQuest",
				Repositories: []string{"raxx-app/TradeMasterAPI"},
				Permissions:  map[string]string{"actions": "read", "metadata": "read"},
				Probe:        "/repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1",
				Consumers: rotation.Consumers{
					HerokuApps:       []string{"raxx-console-prod", "raxx-console-staging"},
					GitHubSecrets:    []string{"raxx-app/TradeMasterAPI"},
					ShellRCOperators: []string{"U0OPERATOR"},
				},
			},
		},
	}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, path: filepath.Join(t.TempDir(), "rotabot.db"), vault: newFakeVault(), gh: newFakeGitHub(),
		heroku: newFakeConsumer("heroku"), ghsec: newFakeConsumer("github"), notes: newFakeNotifier(), matrix: testMatrix()}
	cur, _ := w.matrix.Refs(secretName)
	w.vault.Set(cur, oldToken)
	w.gh.Add(oldToken, "raxx-bot", t0.Add(5*24*time.Hour))
	w.gh.Add(newToken, "raxx-bot", t0.Add(90*24*time.Hour))
	w.gh.Add(otherToken, "someone-else", t0.Add(90*24*time.Hour))
	for _, app := range []string{"raxx-console-prod", "raxx-console-staging"} {
		w.heroku.values[app] = oldToken
	}
	w.ghsec.values["raxx-app/TradeMasterAPI"] = oldToken
	w.open(nil)
	t.Cleanup(func() { w.st.Close() })
	return w
}

// open (re)opens the store and builds an engine on it; wrap may wrap the store.
func (w *world) open(wrap func(rotation.Store) rotation.Store) {
	st, err := bbolt.Open(w.path, time.Second)
	if err != nil {
		w.t.Fatal(err)
	}
	w.st = st
	var s rotation.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	w.eng = rotation.NewEngine(rotation.EngineConfig{
		Matrix: w.matrix, Vault: w.vault, Checker: w.gh, Revoker: w.gh, Notifier: w.notes, Store: s,
		Consumers: map[rotation.DestKind]rotation.Consumer{rotation.DestHeroku: w.heroku, rotation.DestGitHubSecret: w.ghsec},
		Now:       func() time.Time { return t0 },
		Sleep:     func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
}

func (w *world) reopen(wrap func(rotation.Store) rotation.Store) {
	w.eng.Wait()
	w.st.Close()
	w.open(wrap)
}

func ok(t *testing.T) func(*rotation.Run, error) *rotation.Run {
	return func(r *rotation.Run, err error) *rotation.Run {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return r
	}
}

func wantState(t *testing.T, r *rotation.Run, s rotation.State) {
	t.Helper()
	if r == nil || r.State != s {
		got := rotation.State("<nil>")
		notice := ""
		if r != nil {
			got, notice = r.State, r.Notice
		}
		t.Fatalf("state = %s (%s), want %s", got, notice, s)
	}
}

// toApproval starts a run and submits the new token.
func (w *world) toApproval(ctx context.Context) *rotation.Run {
	t := w.t
	t.Helper()
	r := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE", Channel: "C0OPS"}))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingToken)
	r = ok(t)(w.eng.Submit(ctx, r.ID, "U0ALICE", rotation.NewSecret(newToken)))
	wantState(t, r, rotation.StateWaitingApproval)
	return r
}

func (w *world) assertEverywhere(val string) {
	t := w.t
	t.Helper()
	cur, pend := w.matrix.Refs(secretName)
	if got, _ := w.vault.Current(cur); got != val {
		t.Errorf("vault holds %s, want %s", rotation.Fingerprint(got), rotation.Fingerprint(val))
	}
	if got, _ := w.vault.Current(pend); got != "" {
		t.Errorf("a pending value is left in the vault")
	}
	for _, app := range []string{"raxx-console-prod", "raxx-console-staging"} {
		if got := w.heroku.value(app); got != val {
			t.Errorf("heroku %s holds %s, want %s", app, rotation.Fingerprint(got), rotation.Fingerprint(val))
		}
	}
	if got := w.ghsec.value("raxx-app/TradeMasterAPI"); got != val {
		t.Errorf("github secret holds %s, want %s", rotation.Fingerprint(got), rotation.Fingerprint(val))
	}
}

// assertNoTokenInFile greps the bbolt file for every token of the test.
func (w *world) assertNoTokenInFile() {
	w.t.Helper()
	w.eng.Wait()
	data, err := os.ReadFile(w.path)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, tok := range []string{oldToken, newToken, otherToken} {
		rest := strings.TrimPrefix(tok, "github_pat_")
		for i := 0; i+8 <= len(rest); i++ {
			if bytes.Contains(data, []byte(rest[i:i+8])) {
				w.t.Fatalf("the bbolt file holds part of a token (%s…)", tok[:12])
			}
		}
	}
}

func TestHappyPath(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	if r.Login != "raxx-bot" || r.OldFingerprint != rotation.Fingerprint(oldToken) || r.NewFingerprint != rotation.Fingerprint(newToken) {
		t.Fatalf("run records login %q fingerprints %s→%s", r.Login, r.OldFingerprint, r.NewFingerprint)
	}
	if !r.NewExpiry.Equal(t0.Add(90*24*time.Hour)) || !r.OldExpiry.Equal(t0.Add(5*24*time.Hour)) || r.VaultVersionBefore != 1 {
		t.Fatalf("expiry/version not recorded: %+v", r)
	}
	// Nothing is written to the vault's current value or any consumer before approval.
	w.assertEverywhereBut(oldToken)
	r = ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	wantState(t, r, rotation.StateStoring)
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	w.assertEverywhere(newToken)
	if got := w.notes.asked["U0OPERATOR"]; len(got) != 1 || got[0] != rotation.OperatorUpdate {
		t.Fatalf("shell-rc operator asked %v", got)
	}
	if ops := r.PendingOperators(); len(ops) != 1 || ops[0] != "U0OPERATOR" {
		t.Fatalf("pending operators = %v", ops)
	}
	if _, err := w.eng.ConfirmOperator(ctx, r.ID, "U0BOB", "D0BOB"); rotation.ErrorCode(err) != rotation.EFORBIDDEN {
		t.Fatalf("someone else pressed Done: %v", err)
	}
	r = ok(t)(w.eng.ConfirmOperator(ctx, r.ID, "U0OPERATOR", "D0OPERATOR"))
	if len(r.PendingOperators()) != 0 {
		t.Fatal("Done not recorded")
	}
	r = ok(t)(w.eng.Revoke(ctx, r.ID, "U0ALICE", true))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateCompleted)
	if n := w.gh.Revokes(); n != 1 {
		t.Fatalf("revokes = %d", n)
	}
	for _, s := range r.Steps {
		if s.State != rotation.StepDone {
			t.Errorf("step %s is %s", s.Name, s.State)
		}
	}
	audits, _ := w.st.ListAudit(ctx, secretName, 0)
	if len(audits) != 1 || audits[0].Action != rotation.ActionCompleted || audits[0].Approver != "U0BOB" || audits[0].Actor != "U0ALICE" ||
		audits[0].OldFingerprint != rotation.Fingerprint(oldToken) || len(audits[0].Destinations) != 4 {
		t.Fatalf("audit = %+v", audits)
	}
	if len(w.notes.audits) != 1 {
		t.Fatalf("audit posts = %d", len(w.notes.audits))
	}
	rec, found, _ := w.st.GetExpiry(ctx, secretName)
	if !found || rec.Fingerprint != rotation.Fingerprint(newToken) || !rec.ExpiresAt.Equal(t0.Add(90*24*time.Hour)) {
		t.Fatalf("expiry record = %+v", rec)
	}
	// A new run of the same secret may start now.
	r2 := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE"}))
	if r2.ID == r.ID {
		t.Fatal("same id reused")
	}
	w.assertNoTokenInFile()
}

func (w *world) assertEverywhereBut(val string) {
	w.t.Helper()
	cur, _ := w.matrix.Refs(secretName)
	if got, _ := w.vault.Current(cur); got != val {
		w.t.Fatalf("vault changed before approval")
	}
	for app, v := range w.heroku.values {
		if v != val {
			w.t.Fatalf("heroku %s changed before approval", app)
		}
	}
	if w.ghsec.value("raxx-app/TradeMasterAPI") != val {
		w.t.Fatal("github secret changed before approval")
	}
}

func TestOneOpenRunPerSecret(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE"}))
	open, err := w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0BOB"})
	if rotation.ErrorCode(err) != rotation.ECONFLICT || open == nil || open.ID != r.ID {
		t.Fatalf("second start: %v %+v", err, open)
	}
	if _, err := w.eng.Start(ctx, rotation.StartRequest{Secret: "NOPE", Requester: "U0BOB"}); rotation.ErrorCode(err) != rotation.ENOTFOUND {
		t.Fatalf("unknown secret: %v", err)
	}
}

func TestCancel(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	_, pend := w.matrix.Refs(secretName)
	if v, _ := w.vault.Current(pend); v != newToken {
		t.Fatal("the validated token is not held as the pending value")
	}
	r = ok(t)(w.eng.Cancel(ctx, r.ID, "U0BOB"))
	wantState(t, r, rotation.StateCancelled)
	w.assertEverywhere(oldToken)
	if _, err := w.eng.Approve(ctx, r.ID, "U0CAROL"); rotation.ErrorCode(err) != rotation.ECONFLICT {
		t.Fatalf("approve after cancel: %v", err)
	}
	if _, err := w.eng.Cancel(ctx, r.ID, "U0BOB"); rotation.ErrorCode(err) != rotation.ECONFLICT {
		t.Fatalf("second cancel: %v", err)
	}
	w.assertNoTokenInFile()
}

func TestSubmitRefusals(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE"}))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	w.gh.Add("github_pat_11DDDDEXPIREDEXPIRED_0123456789abcdefEXP", "raxx-bot", t0.Add(-time.Hour))
	w.gh.Add("github_pat_11EEEENOPROBENOPROBE_0123456789abcdefNOP", "raxx-bot", t0.Add(time.Hour))
	w.gh.NoProbe("github_pat_11EEEENOPROBENOPROBE_0123456789abcdefNOP")
	cases := []struct{ token, want string }{
		{"", "The token is empty: paste the new token GitHub showed you"},
		{"hello world", "The token contains spaces or line breaks: paste it as one word"},
		{"not-a-token", "That is not a GitHub token (ghp_… or github_pat_…)"},
		{"xoxb-1234-5678-abcdefghijkl", "That is a Slack bot token, not a GitHub personal access token (ghp_… or github_pat_…)"},
		{oldToken, "That is the current token: generate a new one on GitHub"},
		{otherToken, "This token belongs to someone-else, not raxx-bot"},
		{"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "This is a classic token but GITHUB_API_READONLY_TOKEN is configured as fine-grained: make a fine-grained token"},
		{"github_pat_11ZZZZUNKNOWNUNKNOWN_0123456789abcdefUNK", "GitHub refused this token (401): it is expired, revoked or mistyped"},
		{"github_pat_11DDDDEXPIREDEXPIRED_0123456789abcdefEXP", "This token expired on 2026-11-28 09:00 UTC: generate a new one"},
		{"github_pat_11EEEENOPROBENOPROBE_0123456789abcdefNOP", "The workload probe refused this token: GET /repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1 answered 404"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := w.eng.Submit(ctx, r.ID, "U0ALICE", rotation.NewSecret(c.token))
			if got := rotation.ErrorMessage(err); got != c.want {
				t.Fatalf("message = %q, want %q", got, c.want)
			}
			if rotation.ErrorCode(err) != rotation.EINVALID {
				t.Fatalf("code = %s", rotation.ErrorCode(err))
			}
			if len(c.token) > 12 && strings.Contains(err.Error(), c.token[len(c.token)-12:]) {
				t.Fatal("the error repeats the token")
			}
			got, _ := w.eng.Get(ctx, r.ID)
			wantState(t, got, rotation.StateWaitingToken)
			_, pend := w.matrix.Refs(secretName)
			if v, _ := w.vault.Current(pend); v != "" {
				t.Fatal("a refused token was staged")
			}
		})
	}
}

func TestRollbackAfterTwoOfThree(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.matrix.Secrets[secretName].Consumers.ShellRCOperators = nil
	r := w.toApproval(ctx)
	w.ghsec.fail["raxx-app/TradeMasterAPI"] = rotation.Errorf(rotation.EFORBIDDEN, "GITHUB_TOKEN may not write secrets of raxx-app/TradeMasterAPI (403)")
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StatePropagateFailed)
	if !strings.Contains(r.Notice, "1 of 3 destinations failed") || !strings.Contains(r.Notice, "may not write secrets") {
		t.Fatalf("notice = %q", r.Notice)
	}
	if w.heroku.value("raxx-console-prod") != newToken || w.heroku.value("raxx-console-staging") != newToken {
		t.Fatal("the other destinations were not written")
	}
	r = ok(t)(w.eng.Rollback(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateRolledBack)
	w.assertEverywhere(oldToken)
	if w.ghsec.count("raxx-app/TradeMasterAPI") != 0 {
		t.Fatal("the untouched destination was written by the rollback")
	}
	if w.heroku.count("raxx-console-prod") != 2 || w.heroku.count("raxx-console-staging") != 2 {
		t.Fatal("heroku apps not reverted exactly once")
	}
	cur, _ := w.matrix.Refs(secretName)
	if _, n := w.vault.Current(cur); n != 3 {
		t.Fatalf("rollback should write a new vault version holding the old value; version = %d", n)
	}
	audits, _ := w.st.ListAudit(ctx, secretName, 0)
	if len(audits) != 1 || audits[0].Action != rotation.ActionRolledBack || audits[0].Actor != "U0BOB" {
		t.Fatalf("audit = %+v", audits)
	}
	// The failed step stays failed, without the advice to Retry (no Retry is left); the audit step wrote the record.
	if s := r.Step(rotation.StepPropagate); s.State != rotation.StepFailed || strings.Contains(s.Message, "Retry") || !strings.HasSuffix(s.Message, "Rolled back instead of retried.") {
		t.Errorf("propagate after the rollback: %s %q", s.State, s.Message)
	}
	if s := r.Step(rotation.StepAudit); s.State != rotation.StepDone || s.Message != string(rotation.ActionRolledBack) {
		t.Errorf("audit after the rollback: %s %q", s.State, s.Message)
	}
	w.assertNoTokenInFile()
}

func TestRollbackTellsOperatorsToRevert(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	r = ok(t)(w.eng.Rollback(ctx, r.ID, "U0CAROL"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateRolledBack)
	w.assertEverywhere(oldToken)
	if got := w.notes.asked["U0OPERATOR"]; len(got) != 2 || got[1] != rotation.OperatorRevert {
		t.Fatalf("operator asked %v", got)
	}
}

func TestRollbackImpossibleAfterRevoke(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	ok(t)(w.eng.Advance(ctx, r.ID))
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", false))
	// The operator has not revoked it: the old token still answers.
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	if !strings.Contains(r.Notice, "The old token still works") {
		t.Fatalf("notice = %q", r.Notice)
	}
	w.gh.Delete(oldToken)
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", false))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateCompleted)
	_, err := w.eng.Rollback(ctx, r.ID, "U0BOB")
	if !strings.Contains(rotation.ErrorMessage(err), "Rollback is no longer possible") {
		t.Fatalf("rollback after revoke: %v", err)
	}
}

func TestFailedDestinationRetriedAlone(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	w.heroku.fail["raxx-console-staging"] = rotation.Errorf(rotation.EUNAVAILABLE, "Heroku did not answer in time for app raxx-console-staging")
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StatePropagateFailed)
	delete(w.heroku.fail, "raxx-console-staging")
	r = ok(t)(w.eng.Retry(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	w.assertEverywhere(newToken)
	if w.heroku.count("raxx-console-prod") != 1 || w.ghsec.count("raxx-app/TradeMasterAPI") != 1 || w.heroku.count("raxx-console-staging") != 1 {
		t.Fatalf("retry rewrote more than the failed destination: prod %d staging %d gh %d",
			w.heroku.count("raxx-console-prod"), w.heroku.count("raxx-console-staging"), w.ghsec.count("raxx-app/TradeMasterAPI"))
	}
	if len(w.notes.asked["U0OPERATOR"]) != 1 {
		t.Fatal("the operator was asked twice")
	}
	for _, d := range r.Destinations {
		if d.Kind == rotation.DestHeroku && d.Target == "raxx-console-staging" && d.Attempts != 2 {
			t.Fatalf("attempts = %d", d.Attempts)
		}
	}
}

func TestUnavailableWaitsVisiblyThenFails(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	cur, _ := w.matrix.Refs(secretName)
	w.vault.Fail(cur, &rotation.Error{Code: rotation.EUNAVAILABLE, Message: "Infisical did not answer in time", RetryAfter: 30 * time.Second})
	var slept []time.Duration
	cfg := w.eng.EngineConfig
	cfg.Sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	w.eng = rotation.NewEngine(cfg)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateStoreFailed)
	if len(slept) != 2 || slept[0] != 30*time.Second {
		t.Fatalf("waits = %v", slept)
	}
	var waited bool
	for _, n := range w.notes.notes {
		if strings.Contains(n, "waiting: Infisical unavailable — Infisical did not answer in time; retrying at 10:00:30 UTC") {
			waited = true
		}
	}
	if !waited {
		t.Fatalf("the wait was not shown: %q", w.notes.notes)
	}
	w.vault.Fail(cur, nil)
	ok(t)(w.eng.Retry(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	if w.vault.Writes(cur) != 1 {
		t.Fatalf("vault writes = %d", w.vault.Writes(cur))
	}
}

func TestSelfApprovalRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	for _, u := range []string{"U0ALICE"} {
		_, err := w.eng.Approve(ctx, r.ID, u)
		if rotation.ErrorCode(err) != rotation.EFORBIDDEN || !errors.Is(err, rotation.ErrSelfApproval) {
			t.Fatalf("%s approved: %v", u, err)
		}
		// The engine's refusal is what the person reads (the handler adds nothing).
		if want := "You started this run, so you may not approve it: another ops member must."; rotation.ErrorMessage(err) != want {
			t.Errorf("refusal %q, want %q", rotation.ErrorMessage(err), want)
		}
	}
	got, _ := w.eng.Get(ctx, r.ID)
	wantState(t, got, rotation.StateWaitingApproval)

	// Bob started another run and Carol submitted its token: Carol may not approve.
	w = newWorld(t)
	r = ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0BOB", Channel: "C0OPS"}))
	ok(t)(w.eng.Advance(ctx, r.ID))
	ok(t)(w.eng.Submit(ctx, r.ID, "U0CAROL", rotation.NewSecret(newToken)))
	_, err := w.eng.Approve(ctx, r.ID, "U0CAROL")
	if !errors.Is(err, rotation.ErrSelfApproval) || rotation.ErrorMessage(err) != "You submitted the new token, so you may not approve it: another ops member must." {
		t.Fatalf("the submitter approved: %v", err)
	}
	got, _ = w.eng.Get(ctx, r.ID)
	wantState(t, got, rotation.StateWaitingApproval)
}

// Two approvals at once, from two engines on one store (as two Slack handler
// goroutines or two processes would): exactly one wins.
func TestConcurrentApprovals(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	e2 := rotation.NewEngine(rotation.EngineConfig{Matrix: w.eng.Matrix, Vault: w.vault, Checker: w.gh, Revoker: w.gh, Notifier: w.notes,
		Store: w.eng.Store, Consumers: w.eng.Consumers, Now: w.eng.Now})
	engines := []*rotation.Engine{w.eng, e2}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	start := make(chan struct{})
	for i, u := range []string{"U0BOB", "U0CAROL"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = engines[i].Approve(ctx, r.ID, u)
		}()
	}
	close(start)
	wg.Wait()
	wins, conflicts := 0, 0
	for _, err := range errs {
		switch rotation.ErrorCode(err) {
		case "":
			wins++
		case rotation.ECONFLICT:
			conflicts++
		}
	}
	if wins != 1 || conflicts != 1 {
		t.Fatalf("wins %d conflicts %d: %v", wins, conflicts, errs)
	}
}

// crashStore stops recording after a number of changes, as a process killed at
// that moment would: the change in hand and everything after it is lost.
type crashStore struct {
	rotation.Store
	mu     sync.Mutex
	left   int
	cancel context.CancelFunc
}

var errCrashed = errors.New("crashed")

func (c *crashStore) UpdateRun(ctx context.Context, id string, fn func(*rotation.Run) error) (*rotation.Run, error) {
	c.mu.Lock()
	if c.left <= 0 {
		c.mu.Unlock()
		c.cancel()
		return nil, context.Canceled
	}
	c.left--
	c.mu.Unlock()
	return c.Store.UpdateRun(ctx, id, fn)
}

// drive takes the run from wherever it is to the end, as people would.
func (w *world) drive(ctx context.Context, id string) (*rotation.Run, error) {
	for i := 0; i < 20; i++ {
		r, err := w.eng.Advance(ctx, id)
		if err != nil {
			return r, err
		}
		switch r.State {
		case rotation.StateWaitingToken:
			_, err = w.eng.Submit(ctx, id, "U0ALICE", rotation.NewSecret(newToken))
		case rotation.StateWaitingApproval:
			_, err = w.eng.Approve(ctx, id, "U0BOB")
		case rotation.StateWaitingRevoke:
			_, err = w.eng.Revoke(ctx, id, "U0BOB", true)
		default:
			return r, nil
		}
		if err != nil {
			return r, err
		}
	}
	return nil, errors.New("run did not finish")
}

func TestCrashBetweenAnyTwoSteps(t *testing.T) {
	// Crash after the k-th change of the run, for k = 0, 1, 2 … until a run gets
	// to its end before its k-th change: every boundary of the run is a crash
	// point. (Destinations' outcomes recorded together make the count vary a
	// little from run to run, so it is not fixed in advance.)
	points := 0
	for k := 0; ; k++ {
		crashed := false
		t.Run("crash after change "+strconv.Itoa(k), func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			w.reopen(func(s rotation.Store) rotation.Store { return &crashStore{Store: s, left: k, cancel: cancel} })
			r := ok(t)(w.eng.Start(cctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE"}))
			if r, err := w.drive(cctx, r.ID); err == nil {
				// The whole run took fewer than k changes: no crash point left.
				wantState(t, r, rotation.StateCompleted)
				return
			}
			crashed = true
			w.eng.Wait()
			// What the dead process did, and what its store recorded.
			setsBefore := map[string]int{}
			for _, app := range []string{"raxx-console-prod", "raxx-console-staging"} {
				setsBefore[app] = w.heroku.count(app)
			}
			setsBefore["raxx-app/TradeMasterAPI"] = w.ghsec.count("raxx-app/TradeMasterAPI")
			askedBefore := len(w.notes.asked["U0OPERATOR"])
			w.reopen(nil)
			recorded, err := w.st.GetRun(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.eng.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			w.eng.Wait()
			final, err := w.drive(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantState(t, final, rotation.StateCompleted)
			w.assertEverywhere(newToken)
			for _, d := range recorded.Destinations {
				redo := 0
				if d.State == rotation.DestPending || d.State == rotation.DestWriting {
					redo = 1
				}
				var got int
				switch d.Kind {
				case rotation.DestHeroku:
					got = w.heroku.count(d.Target)
				case rotation.DestGitHubSecret:
					got = w.ghsec.count(d.Target)
				case rotation.DestShellRC:
					got = len(w.notes.asked[d.Target])
					if askedBefore > 1 {
						t.Fatal("operator asked twice before the crash")
					}
					if got != askedBefore+redo {
						t.Fatalf("operator asked %d times (recorded %s, asked before %d)", got, d.State, askedBefore)
					}
					continue
				}
				if setsBefore[d.Target] > 1 || got != setsBefore[d.Target]+redo {
					t.Fatalf("%s written %d times (recorded %s, %d before the crash)", d.Label(), got, d.State, setsBefore[d.Target])
				}
			}
			cur, _ := w.matrix.Refs(secretName)
			if n := w.vault.Writes(cur); n != 1 {
				t.Fatalf("vault current written %d times", n)
			}
			audits, _ := w.st.ListAudit(ctx, secretName, 0)
			if len(audits) != 1 {
				t.Fatalf("%d audit entries", len(audits))
			}
			if w.gh.Revokes() < 1 {
				t.Fatal("not revoked")
			}
			w.assertNoTokenInFile()
		})
		if !crashed {
			break
		}
		points++
		if k > 200 {
			t.Fatal("the run never ends")
		}
	}
	if points < 10 {
		t.Fatalf("only %d crash points in a run?", points)
	}
	t.Logf("%d crash points", points)
}

// A dead current token is when a rotation is most urgent: the run goes on, and
// the approver is told what could not be checked.
func TestDeadCurrentTokenStillRotates(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.gh.Delete(oldToken)
	r := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE"}))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingToken)
	if !strings.Contains(r.Step(rotation.StepPrecheck).Message, "GitHub refuses the current token (401)") {
		t.Fatalf("pre-check says %q", r.Step(rotation.StepPrecheck).Message)
	}
	rec, _, _ := w.st.GetExpiry(ctx, secretName)
	if rec.Problem == "" {
		t.Fatal("the expiry record does not say the token is broken")
	}
	r = ok(t)(w.eng.Submit(ctx, r.ID, "U0ALICE", rotation.NewSecret(newToken)))
	if r.Login != "raxx-bot" || len(r.Warnings) < 2 || !strings.Contains(strings.Join(r.Warnings, "|"), "already refused by GitHub (401)") {
		t.Fatalf("login %q warnings %q", r.Login, r.Warnings)
	}
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	ok(t)(w.eng.Advance(ctx, r.ID))
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", false))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateCompleted)
	w.assertEverywhere(newToken)
}

// Once the old token went to GitHub's revoke endpoint there is no way back, even
// if GitHub still answers for it a little longer.
func TestNoRollbackOnceTheRevokeWasSent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	ok(t)(w.eng.Advance(ctx, r.ID))
	cfg := w.eng.EngineConfig
	cfg.Revoker = stubbornRevoker{} // GitHub takes the request but the token still answers
	w.eng = rotation.NewEngine(cfg)
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", true))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	if !r.RevokeSent {
		t.Fatal("the revoke was not recorded")
	}
	if r.Can(rotation.EvRollback) {
		t.Error("the run says it can still roll back")
	}
	_, err := w.eng.Rollback(ctx, r.ID, "U0BOB")
	if !errors.Is(err, rotation.ErrRevokeSent) || rotation.ErrorCode(err) != rotation.ECONFLICT {
		t.Fatalf("rollback after the revoke was sent: %v, want ErrRevokeSent", err)
	}
	if !strings.HasPrefix(rotation.ErrorMessage(err), "Rollback is no longer possible: a revoke of the old token was started") {
		t.Fatalf("rollback after the revoke was sent: %v", err)
	}
}

type stubbornRevoker struct{}

func (stubbornRevoker) Revoke(context.Context, rotation.Secret) error { return nil }

// The notifier returns where it posted the run's card, and the engine records
// it: the card is posted once and every later change goes to that card.
func TestEngineRecordsTheCardTheNotifierPosted(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE", Channel: "C0OPS"}))
	if r.Card.Channel != "C0OPS" || r.Card.TS == "" {
		t.Fatalf("Start returned the card %+v, want the posted one", r.Card)
	}
	stored, err := w.st.GetRun(ctx, r.ID)
	if err != nil || stored.Card != r.Card {
		t.Fatalf("stored card %+v (%v), want %+v", stored.Card, err, r.Card)
	}
	first := r.Card
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	r = ok(t)(w.eng.Submit(ctx, r.ID, "U0ALICE", rotation.NewSecret(newToken)))
	if r.Card != first {
		t.Errorf("the card moved to %+v, want %+v", r.Card, first)
	}
	w.notes.mu.Lock()
	posted := w.notes.posted
	w.notes.mu.Unlock()
	if posted != 1 {
		t.Errorf("%d cards posted for one run, want 1", posted)
	}
}

// Defaults are filled in once, by the constructor; what a caller sets is kept.
func TestConstructorsFillDefaultsOnce(t *testing.T) {
	e := rotation.NewEngine(rotation.EngineConfig{RetryWait: time.Second})
	if e.Log == nil || e.Now == nil || e.Sleep == nil || e.Owner == "" {
		t.Errorf("NewEngine left a default out: %+v", e.EngineConfig)
	}
	if e.CallTimeout != 60*time.Second || e.UnavailableTries != 3 || e.RevokeChecks != 3 || e.ClaimTTL != 30*time.Second {
		t.Errorf("NewEngine defaults: %+v", e.EngineConfig)
	}
	if e.RetryWait != time.Second {
		t.Errorf("RetryWait = %s, want the 1s given", e.RetryWait)
	}
	e.Drain()
	e.Drain() // twice is harmless

}
