package handlers

import (
	"context"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// openTokenModal is the Submit new token button: a modal with one input. The
// token never travels in a message.
func (h *Handlers) openTokenModal(ctx context.Context, c *click) {
	if _, err := h.Slack.OpenViewContext(ctx, c.cb.TriggerID, TokenModal(c.run, c.cb.Channel.ID)); err != nil {
		h.Log.Warn("could not open the token form", "run", c.run.ID, "err", err)
		c.reply.say(ctx, "Slack did not open the form (it allows 3 seconds after a click). Press "+LabelSubmit+" again.")
	}
}

// SubmitBudget is how long a view submission may validate before the ack must go
// (Slack allows 3 s). A slower check answers "checking…" and updates the modal.
var SubmitBudget = 2500 * time.Millisecond

// ViewSubmission validates the token from the modal and returns the ack's payload:
// nil closes the modal; errors show under the input, and the modal stays open.
func (h *Handlers) ViewSubmission(ctx context.Context, cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	if cb.View.CallbackID != ViewSubmitToken {
		return nil
	}
	id, _, _ := strings.Cut(cb.View.PrivateMetadata, "|")
	user := cb.User.ID
	errs := func(msg string) *slack.ViewSubmissionResponse {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{BlockToken: msg})
	}
	ok, err := h.isOps(ctx, user)
	if err != nil {
		return errs("I cannot read the ops user group from Slack right now. Try again in a minute.")
	}
	if !ok {
		return errs("Only members of the ops user group may submit a token.")
	}
	value := ""
	if block, ok := cb.View.State.Values[BlockToken]; ok {
		value = block[ActionToken].Value
	}
	// Copy and paste often brings a trailing newline or spaces: they are trimmed.
	// Spaces inside the value are refused by the engine's shape check.
	token := rotation.NewSecret(strings.TrimSpace(value))
	value = ""

	result := make(chan error, 1)
	go func() {
		_, err := h.Engine.Submit(h.Work, id, user, token)
		result <- err
	}()
	select {
	case err := <-result:
		if err != nil {
			return errs(submitMessage(err))
		}
		return slack.NewClearViewSubmissionResponse()
	case <-time.After(SubmitBudget):
	}
	// Too slow for the ack: show that we are still checking, then update the view.
	viewID := cb.View.ID
	go func() {
		err := <-result
		var v slack.ModalViewRequest
		if err != nil {
			run, gerr := h.Store.GetRun(h.Work, id)
			if gerr != nil {
				return
			}
			v = TokenModal(run, "")
			v.PrivateMetadata = cb.View.PrivateMetadata
			v.Blocks.BlockSet = append(v.Blocks.BlockSet[:1], section("❌ "+submitMessage(err)), v.Blocks.BlockSet[1])
		} else {
			v = infoModal("✅ The token is valid and held as the pending value. A second ops member can approve now.")
		}
		if _, uerr := h.Slack.UpdateViewContext(h.Work, v, "", "", viewID); uerr != nil {
			h.Log.Warn("could not update the token form", "run", id, "err", uerr)
		}
	}()
	v := infoModal("⏳ Checking the token with GitHub…")
	return slack.NewUpdateViewSubmissionResponse(&v)
}

func submitMessage(err error) string {
	switch rotation.ErrorCode(err) {
	case rotation.EUNAVAILABLE:
		return rotation.ErrorMessage(err) + " — nothing was saved; submit again in a minute."
	case rotation.ECONFLICT:
		return rotation.ErrorMessage(err) + ". Nothing was saved."
	}
	return rotation.ErrorMessage(err)
}

func infoModal(text string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: ViewSubmitToken + "_info", Title: ptxt("Submit new token"), Close: ptxt("Close"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
}
