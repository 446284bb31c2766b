package card_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
)

func TestCardShowsWhatTheApproverApproves(t *testing.T) {
	at := time.Date(2027, 2, 26, 10, 0, 0, 0, time.UTC)
	r := &rotation.Run{ID: "r7", Secret: "GITHUB_API_READONLY_TOKEN", State: rotation.StateWaitingApproval, Requester: "U1", Submitter: "U1",
		TokenKind: rotation.Classic, Login: "raxx-bot", NewFingerprint: "abcd1234", NewExpiry: at, Warnings: []string{"The token has scopes beyond the routing matrix: admin:org"},
		Steps: []rotation.StepRecord{{Name: rotation.StepApproval, State: rotation.StepRunning, Started: at}}}
	text := card.BlocksText(card.Run(r, nil, handlers.CardButtons()))
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
	rows := card.ExpiryRows(m, recs, now)
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
	if got := card.ExpiryLine(rows[1]); !strings.Contains(got, "B — 1 day left, on 2026-11-30 09:00 UTC") {
		t.Errorf("line: %s", got)
	}
	if got := card.ExpiryLine(rows[0]); !strings.Contains(got, "EXPIRED") {
		t.Errorf("line: %s", got)
	}
	if got := card.ExpiryLine(rows[4]); !strings.Contains(got, "not checked yet") {
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
	text := card.BlocksText(card.Run(r, &plan, handlers.CardButtons()))
	if !strings.Contains(text, "https://ghe.raxx.app/settings/tokens and press") {
		t.Errorf("the revoke line does not link the Enterprise Server's token page:\n%s", text)
	}
	r.State = rotation.StateWaitingToken
	if text := card.BlocksText(card.Run(r, &plan, handlers.CardButtons())); !strings.Contains(text, "https://ghe.raxx.app/settings/tokens/new?") || strings.Contains(text, "github.com/settings") {
		t.Errorf("the new-token link is not on the Enterprise Server:\n%s", text)
	}
}

// A log watch that caught the old credential being refused names the service
// whose credential the run rotates: Heroku for a Heroku API key, not GitHub.
func TestAWatchMatchNamesTheCredentialsService(t *testing.T) {
	at := time.Date(2027, 2, 26, 10, 0, 0, 0, time.UTC)
	for kind, want := range map[rotation.TokenKind]string{rotation.HerokuAPIKey: "Heroku", rotation.FineGrained: "GitHub"} {
		r := &rotation.Run{ID: "r8", Secret: "HEROKU_DEPLOY_KEY", State: rotation.StateVerifyFailed, TokenKind: kind,
			Destinations: []rotation.Destination{{Kind: rotation.DestHeroku, Target: "raxx-api", Name: "HEROKU_API_KEY", State: rotation.DestFailed,
				Watch: &rotation.Watch{State: rotation.WatchMatched, Since: at, Until: at.Add(time.Minute), Match: "401 Unauthorized"}}}}
		text := card.BlocksText(card.Run(r, nil, handlers.CardButtons()))
		if !strings.Contains(text, want+" authentication failure in the logs") {
			t.Errorf("%s: the card does not say whose refusal the watch saw:\n%s", kind, text)
		}
	}
}
