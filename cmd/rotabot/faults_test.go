package main

import (
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/sandbox/demo"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/sandbox"
	sbinfisical "github.com/raxx-app/rotabot/sandbox/infisical"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// fastRetries makes the engine's waits on an unavailable service short.
func fastRetries(h *harness) { h.srv.engine.RetryWait = 50 * time.Millisecond }

// toRevoke takes a run to "Waiting for revoke" and returns its card.
func (h *harness) approveAndWait(t *testing.T, card sbslack.Message, word string) sbslack.Message {
	t.Helper()
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	return h.mustCard(t, "r1", word)
}

func TestFaultSlackCardUpdateRateLimitedAndFailing(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	h.World.Slack.Fail("POST /api/chat.update", &sandbox.Fault{Status: 429, RetryAfter: "1", Times: 2})
	card = h.approveAndWait(t, card, "Waiting for revoke")
	h.World.Slack.Fail("POST /api/chat.update", &sandbox.Fault{Status: 500, Times: 2})
	must(t, h.Click(demo.Bob, card, handlers.LabelRevokeAPI))
	// Both faults pass: the card shows the run's true end, and nothing ran twice.
	h.mustCard(t, "r1", "Completed")
	if n := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d Heroku writes, want 2", n)
	}
	must(t, demo.WaitFor("one audit post", func() bool { return len(h.World.Slack.Messages(demo.AuditChannel)) == 1 }))
}

func TestFaultInfisicalDownAtTheStoreStep(t *testing.T) {
	h := startBot(t)
	fastRetries(h)
	card := h.toApproval(t, "r1")
	h.World.Infisical.Fail(sbinfisical.InfisicalUpdateSecret, &sandbox.Fault{Status: 503})
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Failed")
	text := demo.CardText(card)
	if !strings.Contains(text, "Failed at store") || !strings.Contains(text, "[Retry] [Rollback]") {
		t.Fatalf("the card does not say why or offer Retry:\n%s", text)
	}
	// The wait was shown while it lasted.
	waited := false
	for _, m := range h.World.Slack.Thread(demo.OpsChannel, card.TS) {
		if strings.Contains(m.Text, "waiting: Infisical unavailable") && strings.Contains(m.Text, "retrying at") {
			waited = true
		}
	}
	if !waited {
		t.Error("the wait for Infisical was not shown in the thread")
	}
	if n := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", false); n != 0 {
		t.Fatal("a consumer was written although the store step failed")
	}
	h.World.Infisical.Fail(sbinfisical.InfisicalUpdateSecret, nil)
	must(t, h.Click(demo.Bob, card, handlers.LabelRetry))
	h.mustCard(t, "r1", "Waiting for revoke")
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != h.Fresh[0] {
			t.Errorf("%s does not hold the new token", dest)
		}
	}
	if vs := h.World.Infisical.Versions("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN"); len(vs) != 2 {
		t.Errorf("%d vault versions, want 2 (the new value written once)", len(vs))
	}
}

func TestFaultHerokuRateLimitAndUnavailable(t *testing.T) {
	h := startBot(t)
	fastRetries(h)
	card := h.toApproval(t, "r1")
	h.World.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Status: 429, RetryAfter: "1", Times: 1})
	card = h.approveAndWait(t, card, "Waiting for revoke")
	h.World.Heroku.ResetLog()
	must(t, h.Click(demo.Bob, card, handlers.LabelRollback))
	h.World.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Status: 503, Times: 2})
	h.mustCard(t, "r1", "Rolled back")
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != h.OldToken {
			t.Errorf("%s does not hold the old token", dest)
		}
	}
	if n := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d successful rollback writes, want 2", n)
	}
}

func TestFaultGitHubSecondaryRateLimit(t *testing.T) {
	h := startBot(t)
	fastRetries(h)
	card := h.toApproval(t, "r1")
	h.World.GitHub.SecondaryRateLimit("PUT /repos/{owner}/{repo}/actions/secrets/{name}", 1, time.Second)
	h.approveAndWait(t, card, "Waiting for revoke")
	v, _, _ := h.World.GitHub.ActionsSecret("raxx-app/TradeMasterAPI", "GH_API_READONLY_TOKEN")
	if v != h.Fresh[0] {
		t.Fatal("the Actions secret was not written after the secondary limit")
	}
}

func TestFaultHerokuDownTooLongFailsClearly(t *testing.T) {
	t.Parallel()
	h := startBot(t)
	fastRetries(h)
	card := h.toApproval(t, "r1")
	h.World.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Status: 503})
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Failed")
	text := demo.CardText(card)
	if !strings.Contains(text, "2 of 6 destinations failed") || !strings.Contains(text, "Retry sets only the failed ones") {
		t.Fatalf("unclear failure:\n%s", text)
	}
	h.World.Heroku.Fail("PATCH /apps/{app}/config-vars", nil)
	h.World.GitHub.ResetLog()
	must(t, h.Click(demo.Alice, card, handlers.LabelRetry))
	h.mustCard(t, "r1", "Waiting for revoke")
	if n := h.World.GitHub.Count("PUT /repos/{owner}/{repo}/actions/secrets/{name}", false); n != 0 {
		t.Errorf("Retry rewrote the GitHub secret (%d writes): only the failed ones should be", n)
	}
	if dms := h.World.Slack.DMs(demo.Operator); len(dms) != 1 {
		t.Errorf("the operator got %d DMs, want 1", len(dms))
	}
}

func TestRaceTwoApprovalsInTheSameSecond(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	b, _ := card.Button(handlers.LabelApprove)
	ids := make(chan string, 2)
	for _, u := range []string{demo.Bob, demo.Operator} {
		go func() {
			id, _ := h.World.Slack.SendBlockAction(sbslack.BlockAction{User: u, Channel: card.Channel, MessageTS: card.TS, ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value})
			ids <- id
		}()
	}
	<-ids
	<-ids
	h.mustCard(t, "r1", "Waiting for revoke")
	m, _ := h.Card("r1")
	approvals := strings.Count(demo.CardText(m), "approved by")
	if approvals != 1 {
		t.Fatalf("%d approvals on the card", approvals)
	}
	if n := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d Heroku writes, want 2", n)
	}
	// The loser was told the run moved on.
	must(t, demo.WaitFor("the loser's answer", func() bool {
		return h.EphemeralCount(demo.Bob)+h.EphemeralCount(demo.Operator) == 1
	}))
}
