package handlers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

func labels(r *rotation.Run) []string {
	var out []string
	for _, b := range Buttons(r) {
		out = append(out, b.Text.Text)
	}
	return out
}

// Only the buttons that make sense now, with their exact labels: Abandon on
// every failed state and every wait for a person.
func TestButtonsFitTheState(t *testing.T) {
	want := map[rotation.State][]string{
		rotation.StatePrechecking:     {LabelCancel},
		rotation.StatePrecheckFailed:  {LabelRetry, LabelCancel, LabelAbandon},
		rotation.StateWaitingToken:    {LabelSubmit, LabelCancel, LabelAbandon},
		rotation.StateWaitingApproval: {LabelApprove, LabelCancel, LabelAbandon},
		rotation.StateStoring:         {LabelRollback},
		rotation.StateStoreFailed:     {LabelRetry, LabelRollback, LabelAbandon},
		rotation.StatePropagating:     {LabelRollback},
		rotation.StatePropagateFailed: {LabelRetry, LabelRollback, LabelAbandon},
		rotation.StateVerifying:       {LabelRollback},
		rotation.StateVerifyFailed:    {LabelRetry, LabelRollback, LabelAbandon},
		rotation.StateWaitingRevoke:   {LabelRevokeAPI, LabelRevokeManual, LabelRollback, LabelAbandon},
		rotation.StateRevoking:        nil,
		rotation.StateAuditing:        nil,
		rotation.StateAuditFailed:     {LabelRetry, LabelAbandon},
		rotation.StateRollingBack:     nil,
		rotation.StateRollbackFailed:  {LabelRetry, LabelAbandon},
		rotation.StateCompleted:       nil,
		rotation.StateRolledBack:      nil,
		rotation.StateCancelled:       nil,
		rotation.StateAbandoned:       nil,
	}
	for _, s := range rotation.States {
		r := &rotation.Run{ID: "r7", Secret: "X", State: s}
		if got := labels(r); !slices.Equal(got, want[s]) {
			t.Errorf("%s: buttons %q, want %q", s, got, want[s])
		}
		for _, b := range Buttons(r) {
			// Each button is allowed by the transition table, and carries the state it was drawn in.
			if id, st, stamp := parseButtonValue(b.Value); id != "r7" || st != s || stamp != runStamp(r) {
				t.Errorf("%s: button %q carries %q", s, b.Text.Text, b.Value)
			}
			needsConfirm := b.Text.Text == LabelApprove || b.Text.Text == LabelRollback || b.Text.Text == LabelRevokeAPI || b.Text.Text == LabelRevokeManual
			if needsConfirm != (b.Confirm != nil) {
				t.Errorf("%s: %q confirm dialog = %v", s, b.Text.Text, b.Confirm != nil)
			}
		}
	}
}

// Once the old token went to GitHub's revoke endpoint, the card offers only to
// check it again (or to abandon the run): no Revoke old token now, no Rollback.
func TestButtonsAfterTheRevokeWasSent(t *testing.T) {
	r := &rotation.Run{ID: "r7", Secret: "X", State: rotation.StateWaitingRevoke, RevokeSent: true, OldFingerprint: "0ld0ld00"}
	if got, want := labels(r), []string{LabelRevokeManual, LabelAbandon}; !slices.Equal(got, want) {
		t.Fatalf("buttons %q, want %q", got, want)
	}
	if b := Buttons(r)[0]; b.Confirm == nil || b.Confirm.Title.Text != "Check the old token again?" {
		t.Errorf("confirm dialog %+v", b.Confirm)
	}
}

// The transition table is the only source of the buttons: a button is drawn
// exactly when the run can take its gesture's event (rotation.Run.Can), save
// Revoke old token now once the token was sent.
func TestButtonsAreDrawnFromTheTransitionTable(t *testing.T) {
	for _, s := range rotation.States {
		for _, sent := range []bool{false, true} {
			r := &rotation.Run{ID: "r7", Secret: "X", State: s, RevokeSent: sent}
			drawn := map[string]bool{}
			for _, b := range Buttons(r) {
				drawn[b.ActionID] = true
			}
			for _, g := range gestures {
				want := r.Can(g.event) && !(g.action == ActRevokeAPI && sent)
				if drawn[g.action] != want {
					t.Errorf("%s (revoke sent %v): %s drawn = %v, but Can(%s) = %v", s, sent, g.label, drawn[g.action], g.event, r.Can(g.event))
				}
				delete(drawn, g.action)
			}
			for a := range drawn {
				t.Errorf("%s: button %s is not a gesture of the table", s, a)
			}
		}
	}
}

func TestCardShowsWhatTheApproverApproves(t *testing.T) {
	at := time.Date(2027, 2, 26, 10, 0, 0, 0, time.UTC)
	r := &rotation.Run{ID: "r7", Secret: "GITHUB_API_READONLY_TOKEN", State: rotation.StateWaitingApproval, Requester: "U1", Submitter: "U1",
		TokenKind: rotation.Classic, Login: "raxx-bot", NewFingerprint: "abcd1234", NewExpiry: at, Warnings: []string{"The token has scopes beyond the routing matrix: admin:org"},
		Steps: []rotation.StepRecord{{Name: rotation.StepApproval, State: rotation.StepRunning, Started: at}}}
	text := BlocksText(Card(r, nil))
	for _, want := range []string{"Rotation r7 · GITHUB_API_READONLY_TOKEN", "*Status:* Waiting for approval", "*classic*", "login *raxx-bot*",
		"new `abcd1234` *expires 2027-02-26 10:00 UTC*", "scopes beyond the routing matrix: admin:org", "[Approve] [Cancel]"} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %q:\n%s", want, text)
		}
	}
}

func TestExpiryRowsSoonestFirst(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	m := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{"A": {}, "B": {}, "C": {}, "D": {}, "E": {}}}
	recs := []rotation.ExpiryRecord{
		{Secret: "A", ExpiresAt: now.Add(30 * 24 * time.Hour)},
		{Secret: "B", ExpiresAt: now.Add(47 * time.Hour)},
		{Secret: "C"}, // never expires
		{Secret: "D", ExpiresAt: now.Add(-time.Hour)},
	}
	rows := ExpiryRows(m, recs, now)
	var order []string
	for _, r := range rows {
		order = append(order, r.Secret)
	}
	if !slices.Equal(order, []string{"D", "B", "A", "C", "E"}) {
		t.Fatalf("order %v", order)
	}
	if rows[1].Days != 1 || rows[0].Days != -1 {
		t.Fatalf("days: B %d D %d", rows[1].Days, rows[0].Days)
	}
	if got := ExpiryLine(rows[1]); !strings.Contains(got, "B — 1 day left, on 2026-11-30 09:00 UTC") {
		t.Errorf("line: %s", got)
	}
	if got := ExpiryLine(rows[0]); !strings.Contains(got, "EXPIRED") {
		t.Errorf("line: %s", got)
	}
	if got := ExpiryLine(rows[4]); !strings.Contains(got, "not checked yet") {
		t.Errorf("line: %s", got)
	}
}

// On a GitHub Enterprise Server the card sends people to their own GitHub's token
// pages, not github.com's: the new-token link and the revoke line follow the
// matrix's GitHubWeb (the command sets it from GITHUB_API_URL).
func TestCardLinksToTheConfiguredGitHub(t *testing.T) {
	m := &rotation.Matrix{GitHubWeb: "https://ghe.raxx.app", Vault: rotation.VaultSettings{Environment: "prod", Path: "/x/"},
		Secrets: map[string]*rotation.SecretConfig{"TOK": {Kind: rotation.Classic, Scopes: []string{"repo"}, ExpiresInDays: 90,
			Consumers: rotation.Consumers{HerokuApps: []string{"app-one"}}}}}
	plan, err := m.Plan("TOK", rotation.Overrides{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := &rotation.Run{ID: "r1", Secret: "TOK", TokenKind: rotation.Classic, State: rotation.StateWaitingRevoke}
	text := BlocksText(Card(r, &plan))
	if !strings.Contains(text, "https://ghe.raxx.app/settings/tokens and press") {
		t.Errorf("the revoke line does not link the Enterprise Server's token page:\n%s", text)
	}
	r.State = rotation.StateWaitingToken
	if text := BlocksText(Card(r, &plan)); !strings.Contains(text, "https://ghe.raxx.app/settings/tokens/new?") || strings.Contains(text, "github.com/settings") {
		t.Errorf("the new-token link is not on the Enterprise Server:\n%s", text)
	}
}
