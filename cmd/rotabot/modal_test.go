package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// openForm presses Submit new token on the card and returns the modal it opened.
func (h *harness) openForm(t *testing.T, user string, card sbslack.Message) sbslack.View {
	t.Helper()
	before := len(h.World.Slack.Views())
	must(t, h.Click(user, card, handlers.LabelSubmit))
	var view sbslack.View
	must(t, demo.WaitFor("the token form", func() bool {
		vs := h.World.Slack.Views()
		if len(vs) > before {
			view = vs[len(vs)-1]
			return true
		}
		return false
	}))
	return view
}

func (h *harness) submitForm(t *testing.T, user string, view sbslack.View, value string) json.RawMessage {
	t.Helper()
	id, err := h.World.Slack.SendViewSubmission(sbslack.ViewSubmission{User: user, ViewID: view.ID,
		Values: map[string]map[string]string{handlers.BlockToken: {handlers.ActionToken: value}}})
	must(t, err)
	ack, err := h.World.Slack.WaitAck(id, 5*time.Second)
	must(t, err)
	return ack
}

// A view_submission without state (a malformed payload) answers the person with a
// modal error, and the bot goes on serving.
func TestViewSubmissionWithoutStateGetsAModalError(t *testing.T) {
	h := startBot(t)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	card := h.mustCard(t, "r1", "Waiting for token")
	view := h.openForm(t, demo.Alice, card)
	payload, _ := json.Marshal(map[string]any{
		"type": "view_submission", "team": map[string]any{"id": h.World.Slack.TeamID},
		"user": map[string]any{"id": demo.Alice}, "api_app_id": h.World.Slack.AppID, "trigger_id": "1.2.nostate",
		"view": map[string]any{"id": view.ID, "type": "modal", "callback_id": view.CallbackID,
			"private_metadata": view.PrivateMetadata, "hash": view.Hash}, // no "state"
	})
	id, err := h.World.Slack.SendEnvelope(sbslack.Envelope{Type: "interactive", AcceptsResponsePayload: true, Payload: payload})
	must(t, err)
	ack, err := h.World.Slack.WaitAck(id, 5*time.Second)
	if err != nil {
		t.Fatalf("no ack: %v\nlogs:\n%s", err, h.Logs.String())
	}
	var r struct {
		Action string            `json:"response_action"`
		Errors map[string]string `json:"errors"`
	}
	_ = json.Unmarshal(ack, &r)
	if r.Action != "errors" || !strings.Contains(r.Errors[handlers.BlockToken], "The form arrived without its input") {
		t.Errorf("ack = %s, want a modal error", ack)
	}
	// Still serving: the run goes on.
	ack = h.submitForm(t, demo.Alice, view, h.Fresh[0])
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("the token was refused after the malformed payload: %s", ack)
	}
	h.mustCard(t, "r1", "Waiting for approval")
}

// The token form is bound to its run's creation stamp, like the card's buttons:
// after the bot's database was lost, an old form cannot submit into the new r1.
func TestTokenFormIsBoundToItsRun(t *testing.T) {
	h := startBot(t)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	card := h.mustCard(t, "r1", "Waiting for token")
	old := h.openForm(t, demo.Alice, card)

	// The dyno restarts and its bbolt file is gone; a run of another secret is r1 now.
	h.StopBot()
	must(t, os.Remove(h.Env["ROTABOT_DB"]))
	must(t, h.StartBot(context.Background(), demoBot))
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_DISPATCH_TOKEN"))
	must(t, demo.WaitFor("the new r1", func() bool {
		m, ok := h.Card("r1")
		return ok && strings.Contains(m.Text, "GITHUB_API_DISPATCH_TOKEN") && strings.Contains(m.Text, "Waiting for token")
	}))

	ack := h.submitForm(t, demo.Alice, old, h.Fresh[0])
	if !strings.Contains(string(ack), "This form does not belong to a run that is open now") {
		t.Fatalf("ack = %s, want the old form refused", ack)
	}
	if _, _, ok := h.World.Infisical.Value("prod", "/rotabot/pending/", "GITHUB_API_DISPATCH_TOKEN"); ok {
		t.Error("the old form staged a pending value for the new run")
	}
	if _, _, ok := h.World.Infisical.Value("prod", "/rotabot/pending/", "GITHUB_API_READONLY_TOKEN"); ok {
		t.Error("the old form staged a pending value")
	}
}

// Slack's 3-second ack for a view submission counts from the envelope's arrival:
// a cold ops-group cache and a slow GitHub still get the ack in time ("checking…",
// then the form is updated), and Slack discards no ack.
func TestViewSubmissionAckBudgetCountsFromArrival(t *testing.T) {
	h := startBot(t)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	card := h.mustCard(t, "r1", "Waiting for token")
	view := h.openForm(t, demo.Alice, card)
	// A new process (cold cache): reading the ops group takes a second, and
	// GitHub takes three to check the token.
	h.StopBot()
	must(t, h.StartBot(context.Background(), demoBot))
	h.World.Slack.Fail("POST /api/usergroups.users.list", &sandbox.Fault{Latency: time.Second, Times: 1})
	h.World.GitHub.Fail("GET /user", &sandbox.Fault{Latency: 3 * time.Second})

	id, err := h.World.Slack.SendViewSubmission(sbslack.ViewSubmission{User: demo.Alice, ViewID: view.ID,
		Values: map[string]map[string]string{handlers.BlockToken: {handlers.ActionToken: h.Fresh[0]}}})
	must(t, err)
	ack, err := h.World.Slack.WaitAck(id, 6*time.Second)
	if late := h.World.Slack.LateAcks(); len(late) > 0 {
		t.Fatalf("Slack discarded a late ack: %+v", late)
	}
	must(t, err)
	if !strings.Contains(string(ack), "Checking the token") {
		t.Errorf("ack = %s, want the form to say it is still checking", ack)
	}
	h.World.GitHub.Fail("GET /user", nil)
	h.mustCard(t, "r1", "Waiting for approval")
}
