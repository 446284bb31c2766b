package main

import (
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/sandbox"
)

// fastRetries makes the engine's waits on an unavailable service short.
func fastRetries(h *harness) { h.srv.engine.RetryWait = 50 * time.Millisecond }

// toRevoke takes a run to "Waiting for revoke" and returns its card.
func (h *harness) approveAndWait(t *testing.T, card sandbox.Message, word string) sandbox.Message {
	t.Helper()
	must(t, h.click(userBob, card, handlers.LabelApprove))
	return h.mustCard(t, "r1", word)
}

func TestFaultSlackCardUpdateRateLimitedAndFailing(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	h.world.Slack.Fail("POST /api/chat.update", &sandbox.Fault{Status: 429, RetryAfter: "1", Times: 2})
	card = h.approveAndWait(t, card, "Waiting for revoke")
	h.world.Slack.Fail("POST /api/chat.update", &sandbox.Fault{Status: 500, Times: 2})
	must(t, h.click(userBob, card, handlers.LabelRevokeAPI))
	// Both faults pass: the card shows the run's true end, and nothing ran twice.
	h.mustCard(t, "r1", "Completed")
	if n := h.world.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d Heroku writes, want 2", n)
	}
	must(t, waitFor("one audit post", func() bool { return len(h.world.Slack.Messages(auditChannel)) == 1 }))
}

func TestFaultInfisicalDownAtTheStoreStep(t *testing.T) {
	h := startBot(t)
	fastRetries(h)
	card := h.toApproval(t, "r1")
	h.world.Infisical.Fail(sandbox.InfisicalUpdateSecret, &sandbox.Fault{Status: 503})
	must(t, h.click(userBob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Failed")
	text := cardText(card)
	if !strings.Contains(text, "Failed at store") || !strings.Contains(text, "[Retry] [Rollback]") {
		t.Fatalf("the card does not say why or offer Retry:\n%s", text)
	}
	// The wait was shown while it lasted.
	waited := false
	for _, m := range h.world.Slack.Thread(opsChannel, card.TS) {
		if strings.Contains(m.Text, "waiting: Infisical unavailable") && strings.Contains(m.Text, "retrying at") {
			waited = true
		}
	}
	if !waited {
		t.Error("the wait for Infisical was not shown in the thread")
	}
	if n := h.world.Heroku.Count("PATCH /apps/{app}/config-vars", false); n != 0 {
		t.Fatal("a consumer was written although the store step failed")
	}
	h.world.Infisical.Fail(sandbox.InfisicalUpdateSecret, nil)
	must(t, h.click(userBob, card, handlers.LabelRetry))
	h.mustCard(t, "r1", "Waiting for revoke")
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != h.fresh[0] {
			t.Errorf("%s does not hold the new token", dest)
		}
	}
	if vs := h.world.Infisical.Versions("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN"); len(vs) != 2 {
		t.Errorf("%d vault versions, want 2 (the new value written once)", len(vs))
	}
}

func TestFaultHerokuRateLimitAndUnavailable(t *testing.T) {
	h := startBot(t)
	fastRetries(h)
	card := h.toApproval(t, "r1")
	h.world.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Status: 429, RetryAfter: "1", Times: 1})
	card = h.approveAndWait(t, card, "Waiting for revoke")
	h.world.Heroku.ResetLog()
	must(t, h.click(userBob, card, handlers.LabelRollback))
	h.world.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Status: 503, Times: 2})
	h.mustCard(t, "r1", "Rolled back")
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != h.oldToken {
			t.Errorf("%s does not hold the old token", dest)
		}
	}
	if n := h.world.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d successful rollback writes, want 2", n)
	}
}

func TestFaultGitHubSecondaryRateLimit(t *testing.T) {
	h := startBot(t)
	fastRetries(h)
	card := h.toApproval(t, "r1")
	h.world.GitHub.SecondaryRateLimit("PUT /repos/{owner}/{repo}/actions/secrets/{name}", 1, time.Second)
	h.approveAndWait(t, card, "Waiting for revoke")
	v, _, _ := h.world.GitHub.ActionsSecret("raxx-app/TradeMasterAPI", "GH_API_READONLY_TOKEN")
	if v != h.fresh[0] {
		t.Fatal("the Actions secret was not written after the secondary limit")
	}
}

func TestFaultHerokuDownTooLongFailsClearly(t *testing.T) {
	h := startBot(t)
	fastRetries(h)
	card := h.toApproval(t, "r1")
	h.world.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Status: 503})
	must(t, h.click(userBob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Failed")
	text := cardText(card)
	if !strings.Contains(text, "2 of 4 destinations failed") || !strings.Contains(text, "Retry sets only the failed ones") {
		t.Fatalf("unclear failure:\n%s", text)
	}
	h.world.Heroku.Fail("PATCH /apps/{app}/config-vars", nil)
	h.world.GitHub.ResetLog()
	must(t, h.click(userAlice, card, handlers.LabelRetry))
	h.mustCard(t, "r1", "Waiting for revoke")
	if n := h.world.GitHub.Count("PUT /repos/{owner}/{repo}/actions/secrets/{name}", false); n != 0 {
		t.Errorf("Retry rewrote the GitHub secret (%d writes): only the failed ones should be", n)
	}
	if dms := h.world.Slack.DMs(userOperator); len(dms) != 1 {
		t.Errorf("the operator got %d DMs, want 1", len(dms))
	}
}

func TestRaceTwoApprovalsInTheSameSecond(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	b, _ := card.Button(handlers.LabelApprove)
	ids := make(chan string, 2)
	for _, u := range []string{userBob, userOperator} {
		go func() {
			id, _ := h.world.Slack.SendBlockAction(sandbox.BlockAction{User: u, Channel: card.Channel, MessageTS: card.TS, ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value})
			ids <- id
		}()
	}
	<-ids
	<-ids
	h.mustCard(t, "r1", "Waiting for revoke")
	m, _ := h.card("r1")
	approvals := strings.Count(cardText(m), "approved by")
	if approvals != 1 {
		t.Fatalf("%d approvals on the card", approvals)
	}
	if n := h.world.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d Heroku writes, want 2", n)
	}
	// The loser was told the run moved on.
	must(t, waitFor("the loser's answer", func() bool {
		return h.ephemeralCount(userBob)+h.ephemeralCount(userOperator) == 1
	}))
}
