package rotation_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
)

// A rollback that cannot finish (the old version is gone from Infisical) is
// abandoned with a reason: the run ends Abandoned with nothing left to press,
// secret.rotate.abandoned records who, why, the state and what it leaves where,
// and the secret is free for a new run.
func TestAbandonAStuckRollback(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	// The old version disappears from Infisical's history.
	cur, _ := w.matrix.Refs(secretName)
	w.vault.Erase(cur, 1)
	ok(t)(w.eng.Rollback(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateRollbackFailed)
	if !r.Can(rotation.EvRetry) || !r.Can(rotation.EvAbandon) {
		t.Fatal("a failed rollback offers Retry and Abandon")
	}

	// Without a reason: refused, nothing changes.
	_, err := w.eng.Abandon(ctx, r.ID, "U0CAROL", "  ")
	if !errors.Is(err, rotation.ErrNoReason) || rotation.ErrorCode(err) != rotation.EINVALID {
		t.Fatalf("no reason: %v", err)
	}
	if _, err := w.eng.Abandon(ctx, r.ID, "U0CAROL", "pasted "+newToken+" by mistake"); rotation.ErrorCode(err) != rotation.EINVALID ||
		strings.Contains(rotation.ErrorMessage(err), newToken[12:20]) {
		t.Fatalf("a token as the reason: %v", err)
	}
	if got := ok(t)(w.eng.Get(ctx, r.ID)); got.State != rotation.StateRollbackFailed {
		t.Fatalf("a refused abandon moved the run: %s", got.State)
	}

	r = ok(t)(w.eng.Abandon(ctx, r.ID, "U0CAROL", "old version gone from Infisical; restored by hand"))
	wantState(t, r, rotation.StateAbandoned)
	for _, ev := range rotation.Events {
		if r.Can(ev) {
			t.Errorf("an abandoned run still allows %s", ev)
		}
	}
	if r.AbandonedBy != "U0CAROL" || r.AbandonedFrom != rotation.StateRollbackFailed || r.State.Word() != "Abandoned" {
		t.Fatalf("run = %+v", r)
	}
	audits, err := w.st.ListAudit(ctx, secretName, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ab *rotation.AuditEntry
	for i := range audits {
		if audits[i].Action == rotation.ActionAbandoned {
			ab = &audits[i]
		}
	}
	if ab == nil || ab.Actor != "U0CAROL" || ab.Reason != "old version gone from Infisical; restored by hand" || ab.FromState != rotation.StateRollbackFailed {
		t.Fatalf("audit = %+v", audits)
	}
	leaves := strings.Join(ab.Leaves, "\n")
	for _, want := range []string{
		"Infisical: the rollback did not finish — /MooseQuest/github/GITHUB_API_READONLY_TOKEN in prod may hold the new value",
		"Heroku raxx-console-prod: ", "GitHub Actions raxx-app/TradeMasterAPI: ", "shell rc of Slack user U0OPERATOR: ",
		"The old token (" + rotation.Fingerprint(oldToken) + ") may still be alive",
	} {
		if !strings.Contains(leaves, want) {
			t.Errorf("leaves lacks %q:\n%s", want, leaves)
		}
	}
	if len(w.notes.audits) == 0 || w.notes.audits[len(w.notes.audits)-1].Action != rotation.ActionAbandoned {
		t.Error("the abandon was not posted to the audit channel")
	}
	// Abandoning again: the run is over.
	if _, err := w.eng.Abandon(ctx, r.ID, "U0CAROL", "again"); rotation.ErrorCode(err) != rotation.ECONFLICT ||
		!strings.Contains(rotation.ErrorMessage(err), "already Abandoned") {
		t.Fatalf("abandon twice: %v", err)
	}
	// The secret is free.
	nr := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE", Channel: "C0OPS"}))
	if nr.ID == r.ID {
		t.Fatal("no new run")
	}
	w.assertNoTokenInFile()
}

// An archived audit channel keeps an audit failing: abandoning still works, and
// the entry is in rotabot's own audit trail.
func TestAbandonWhenTheAuditPostFails(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	ok(t)(w.eng.Advance(ctx, r.ID))
	w.gh.Delete(oldToken)
	w.notes.auditErr = rotation.Errorf(rotation.EINVALID, "Slack did not take the audit post (is_archived)")
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0BOB", false))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateAuditFailed)
	r = ok(t)(w.eng.Abandon(ctx, r.ID, "U0BOB", "audit channel archived; recorded in the ops log"))
	wantState(t, r, rotation.StateAbandoned)
	audits, _ := w.st.ListAudit(ctx, secretName, 0)
	if len(audits) == 0 || audits[0].Action != rotation.ActionAbandoned || audits[0].FromState != rotation.StateAuditFailed {
		t.Fatalf("audits = %+v", audits)
	}
	if !strings.Contains(strings.Join(audits[0].Leaves, "\n"), "answers 401: it is revoked") {
		t.Errorf("leaves = %q", audits[0].Leaves)
	}
	last := w.notes.notes[len(w.notes.notes)-1]
	if !strings.Contains(last, "The audit post failed (Slack did not take the audit post (is_archived))") {
		t.Errorf("last note = %q", last)
	}
}

// Waiting for a person can be abandoned; what it leaves says nothing changed
// but the pending value. A run rotabot is working on cannot.
func TestAbandonWhileWaitingAndNotWhileWorking(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	leaves := strings.Join(w.eng.Leaves(r), "\n")
	for _, want := range []string{
		"Infisical: /MooseQuest/github/GITHUB_API_READONLY_TOKEN in prod still holds the old value (version 1, " + rotation.Fingerprint(oldToken) + "); the new token (" + rotation.Fingerprint(newToken) + ") waits in /rotabot/pending/GITHUB_API_READONLY_TOKEN in prod — delete it there",
		"Heroku raxx-console-prod: not written: it holds the old value",
		"The old token (" + rotation.Fingerprint(oldToken) + ") is still the live one",
		"The new token (" + rotation.Fingerprint(newToken) + ") was validated but is used nowhere: delete it at https://github.com/settings/personal-access-tokens",
	} {
		if !strings.Contains(leaves, want) {
			t.Errorf("leaves lacks %q:\n%s", want, leaves)
		}
	}
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	if _, err := w.eng.Abandon(ctx, r.ID, "U0BOB", "changed my mind"); rotation.ErrorCode(err) != rotation.ECONFLICT ||
		!strings.Contains(rotation.ErrorMessage(err), "rotabot is working on it") {
		t.Fatalf("abandon while storing: %v", err)
	}
	w2 := newWorld(t)
	r2 := w2.toApproval(ctx)
	r2 = ok(t)(w2.eng.Abandon(ctx, r2.ID, "U0ALICE", "wrong secret"))
	wantState(t, r2, rotation.StateAbandoned)
}
