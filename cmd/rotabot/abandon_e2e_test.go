package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
)

// A run that failed is abandoned from its card: the Abandon button opens a form
// that says what the run leaves where and wants a reason; then the card ends
// Abandoned with no buttons, secret.rotate.abandoned goes to the audit channel,
// and the secret is free for a new run. /rotate abandon does the same for a run
// whose card is out of reach.
func TestAbandonFromSlack(t *testing.T) {
	h := startBot(t)
	// One app refuses the write (403): propagation fails after approval.
	h.World.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Status: 403})
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Failed")
	var labels []string
	for _, b := range card.Buttons() {
		labels = append(labels, b.Text)
	}
	if strings.Join(labels, ",") != "Retry,Rollback,Abandon" {
		t.Fatalf("a failed propagation offers %v", labels)
	}

	// Mallory, not in the ops group, may not.
	n := h.EphemeralCount(demo.Mallory)
	must(t, h.Click(demo.Mallory, card, handlers.LabelAbandon))
	h.mustEphemeral(t, demo.Mallory, n+1, "Only members of the ops user group")

	form, err := h.OpenForm(demo.Bob, card, handlers.LabelAbandon)
	must(t, err)
	text := form.Content()
	for _, want := range []string{
		"Abandon run *r1* of GITHUB_API_READONLY_TOKEN? It is *Failed* at propagate.",
		"Abandoning writes nothing",
		"Infisical: /MooseQuest/github/GITHUB_API_READONLY_TOKEN in prod holds the new value (version 2, " + rotation.Fingerprint(h.Fresh[0]) + "); the old one is version 1 (" + rotation.Fingerprint(h.OldToken) + ")",
		"Heroku raxx-console-prod: failed (",
		"GitHub Actions raxx-app/TradeMasterAPI (GH_API_READONLY_TOKEN): holds the new value",
		"The old token (" + rotation.Fingerprint(h.OldToken) + ") may still be alive",
		"Why?",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the form lacks %q:\n%s", want, text)
		}
	}
	if form.Submit != "Abandon" {
		t.Errorf("the form's button is %q", form.Submit)
	}
	// An empty reason is refused under the input; the form stays open.
	ack, err := h.SubmitForm(demo.Bob, form, handlers.BlockReason, handlers.ActionReason, "   ")
	must(t, err)
	var a struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	must(t, json.Unmarshal(ack, &a))
	if a.ResponseAction != "errors" || !strings.HasPrefix(a.Errors[handlers.BlockReason], "Say why the run is abandoned") {
		t.Fatalf("an empty reason: %s", ack)
	}
	if m, _ := h.Card("r1"); !strings.Contains(m.Text, ": Failed") {
		t.Fatal("a refused abandon moved the run")
	}
	ack, err = h.SubmitForm(demo.Bob, form, handlers.BlockReason, handlers.ActionReason, "raxx-console-prod is being retired; prod set by hand")
	must(t, err)
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("refused: %s", ack)
	}
	card = h.mustCard(t, "r1", "Abandoned")
	if len(card.Buttons()) != 0 {
		t.Errorf("an abandoned card has buttons: %v", card.Buttons())
	}
	if c := demo.CardText(card); !strings.Contains(c, "Abandoned by <@U0BOB> (it was Failed): raxx-console-prod is being retired; prod set by hand") {
		t.Errorf("the card does not say who and why:\n%s", c)
	}
	var audit string
	must(t, demo.WaitFor("the audit post", func() bool {
		for _, m := range h.World.Slack.Messages(demo.AuditChannel) {
			if strings.HasPrefix(m.Text, string(rotation.ActionAbandoned)) {
				audit = m.Text
				return true
			}
		}
		return false
	}))
	for _, want := range []string{"actor: <@U0BOB>", "abandoned in: Failed (propagate_failed)", "reason: raxx-console-prod is being retired; prod set by hand", "left:\n• Infisical: "} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit post lacks %q:\n%s", want, audit)
		}
	}

	// The secret is free: a new run starts; abandoned from the command line of
	// Slack while it waits for its token.
	h.World.Heroku.Fail("PATCH /apps/{app}/config-vars", nil)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	h.mustCard(t, "r2", "Waiting for token")
	n = h.EphemeralCount(demo.Alice)
	must(t, h.Slash(demo.Alice, demo.OtherChannel, "abandon r2"))
	h.mustEphemeral(t, demo.Alice, n+1, "Say why: /rotate abandon r2 REASON")
	must(t, h.Slash(demo.Alice, demo.OtherChannel, "abandon r2 started by mistake; wrong secret"))
	h.mustEphemeral(t, demo.Alice, n+2, "Abandoned *r2* (GITHUB_API_READONLY_TOKEN; it was Waiting for token). It leaves")
	h.mustCard(t, "r2", "Abandoned")
	must(t, h.Slash(demo.Alice, demo.OtherChannel, "abandon r2 again"))
	h.mustEphemeral(t, demo.Alice, n+3, "r2 is already Abandoned: there is nothing to abandon")
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	h.mustCard(t, "r3", "Waiting for token")
}
