package main

import (
	"strings"
	"testing"

	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/sandbox/demo"
)

// Gestures back and out act on the run as it is now: pressed on a card one
// update behind, Rollback, Cancel and Abandon are accepted whenever the run's
// state allows them, and the answer says what the card showed and what was done.
// Forward gestures need the state the person saw.

// Rollback pressed on the card as it was while verify waited for a release,
// after the run moved on to Waiting for revoke: the rollback happens.
func TestSlackRollbackFromACardOneUpdateBehind(t *testing.T) {
	h := startBotHeroku(t, "30s", "30s")
	h.World.Heroku.SetReleasePhase(prod, sbheroku.ReleasePhase{Hold: true})
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	h.waitCardText(t, "r1", "Heroku "+prod+" — written · releasing · release v2 pending")
	verifying := h.mustCard(t, "r1", "Verifying")
	h.World.Heroku.FinishRelease(prod, true)
	h.mustCard(t, "r1", "Waiting for revoke")

	n := h.EphemeralCount(demo.Alice)
	must(t, h.Click(demo.Alice, verifying, handlers.LabelRollback))
	h.mustEphemeral(t, demo.Alice, n+1, "Your card showed r1 as Verifying; it was Waiting for revoke when your Rollback arrived, "+
		"and Rollback acts on the run as it is now: the rollback has started; the card follows it.")
	h.mustCard(t, "r1", "Rolled back")
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != h.OldToken {
			t.Errorf("%s does not hold the old token after the rollback", dest)
		}
	}
	if v, _, _ := h.World.Infisical.Value("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN"); v != h.OldToken {
		t.Error("Infisical does not hold the old token after the rollback")
	}
}

// Cancel pressed on the card as it was before the token was submitted: the run
// is cancelled and the staged token deleted.
func TestSlackCancelFromACardOneUpdateBehind(t *testing.T) {
	h := startBot(t)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	waiting := h.mustCard(t, "r1", "Waiting for token")
	ack, err := h.SubmitToken(demo.Alice, waiting, h.Fresh[0])
	must(t, err)
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("token refused: %s", ack)
	}
	h.mustCard(t, "r1", "Waiting for approval")

	n := h.EphemeralCount(demo.Bob)
	must(t, h.Click(demo.Bob, waiting, handlers.LabelCancel))
	h.mustEphemeral(t, demo.Bob, n+1, "Your card showed r1 as Waiting for token; it was Waiting for approval when your Cancel arrived, "+
		"and Cancel acts on the run as it is now: the run is cancelled; the pending value was deleted and nothing else changed.")
	h.mustCard(t, "r1", "Cancelled")
	if _, _, pending := h.World.Infisical.Value("prod", "/rotabot/pending/", "GITHUB_API_READONLY_TOKEN"); pending {
		t.Error("the staged token is still pending in Infisical")
	}
}

// Abandon pressed on the card as it was before approval, once the run waits for
// revoke: the form shows the run as it is now and says what the card showed;
// the run is abandoned. Approve on that same card is refused in one line.
func TestSlackAbandonFromACardOneUpdateBehind(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	h.mustCard(t, "r1", "Waiting for revoke")

	view, err := h.OpenForm(demo.Alice, card, handlers.LabelAbandon)
	must(t, err)
	form := view.Content()
	for _, want := range []string{"It is *Waiting for revoke*", "Your card showed r1 as Waiting for approval: this form shows it as it is now."} {
		if !strings.Contains(form, want) {
			t.Errorf("the form lacks %q:\n%s", want, form)
		}
	}
	ack, err := h.SubmitForm(demo.Alice, view, handlers.BlockReason, handlers.ActionReason, "the console team asked to stop; restoring by hand")
	must(t, err)
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("the form was refused: %s", ack)
	}
	h.mustCard(t, "r1", "Abandoned")

	n := h.EphemeralCount(demo.Operator)
	must(t, h.Click(demo.Operator, card, handlers.LabelApprove))
	h.mustEphemeral(t, demo.Operator, n+1, "This run has moved on: r1 is now Abandoned. Nothing was changed.")
}

// A log watch match fails the run while an ops member still looks at the card
// that offers the revoke buttons: pressed, they are refused, and the one line
// says what the run is now and why.
func TestHerokuRevokeFromACardBeforeALogWatchMatchRefused(t *testing.T) {
	h := startBotHeroku(t, "30s", "30s")
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	waiting := h.mustCard(t, "r1", "Waiting for revoke")
	must(t, demo.WaitFor("staging's log read", func() bool { return h.World.Heroku.OpenLogStreams(staging) == 1 }))
	h.World.Heroku.InjectLog(staging, "app[web.1]", "GitHub API error: 401 Bad credentials (Authorization: token "+h.Fresh[0]+")")
	h.mustCard(t, "r1", "Failed")

	for i, label := range []string{handlers.LabelRevokeAPI, handlers.LabelRevokeManual} {
		n := h.EphemeralCount(demo.Alice)
		must(t, h.Click(demo.Alice, waiting, label))
		h.mustEphemeral(t, demo.Alice, n+1, "This run has moved on: r1 is now Failed at verify ("+staging+" logged a GitHub authentication failure after the restart: `")
		text := h.World.Slack.Ephemerals(demo.Alice)[n].Text
		if !strings.HasSuffix(text, "app[web.1]: GitHub API error: 401 Bad credentials (Authorization: token github_pat_[masked])`). Nothing was changed.") ||
			strings.Contains(text, "\n") {
			t.Errorf("press %d (%s): alice was told %q", i+1, label, text)
		}
	}
	if n := h.World.GitHub.Count("POST /credentials/revoke", false); n != 0 {
		t.Errorf("%d revoke requests went to GitHub", n)
	}
	if _, ok := h.mustCard(t, "r1", "Failed").Button(handlers.LabelRollback); !ok {
		t.Error("no Rollback on the failed card")
	}
}
