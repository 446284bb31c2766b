package handlers

import (
	"context"
	"strings"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// submitToken validates the token from the form: a slower check than the ack
// budget allows answers "checking…" and updates the form when it is done. The
// form is bound to its run's creation stamp, like the card's buttons.
func (h *Handlers) submitToken(ctx context.Context, cb slack.InteractionCallback) (resp *slack.ViewSubmissionResponse) {
	errs := func(msg string) *slack.ViewSubmissionResponse {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{BlockToken: msg})
	}
	defer h.recoverForm("token form", &resp,
		errs("Something went wrong on rotabot's side (its logs say what): nothing was saved. Submit again, or close the form and press "+LabelSubmit+" again."))
	if cb.View.State == nil {
		return errs("The form arrived without its input (Slack sent no state): nothing was saved. Close it and press " + LabelSubmit + " again.")
	}
	id, channel, stamp := card.ParseTokenForm(cb.View.PrivateMetadata)
	user := cb.User.ID
	ok, err := h.isOps(ctx, user)
	if err != nil {
		return errs(rotation.ErrorMessage(err))
	}
	if !ok {
		return errs("Only members of the ops user group may submit a token.")
	}
	if run, err := h.Store.GetRun(ctx, id); err != nil || stamp == "" || stamp != card.RunStamp(run) {
		return errs("This form does not belong to a run that is open now (an old form, or the bot's database was reset). Nothing was saved. " +
			"Close it and press " + LabelSubmit + " on the run's card; /rotate list shows the open runs.")
	}
	value := ""
	if block, ok := cb.View.State.Values[BlockToken]; ok {
		value = block[ActionToken].Value
	}
	// Copy and paste often brings a trailing newline or spaces: they are trimmed.
	// Spaces inside the value are refused by the engine's shape check.
	token := rotation.NewSecret(strings.TrimSpace(value))
	value = ""

	late, err := h.beforeAck(ctx, "token check", func() error {
		_, err := h.Engine.Submit(h.Work, id, user, token)
		return err
	})
	if late == nil {
		if err != nil {
			return errs(submitMessage(err))
		}
		return slack.NewClearViewSubmissionResponse()
	}
	// Too slow for the ack: show that we are still checking, then update the view.
	viewID := cb.View.ID
	go func() {
		defer func() {
			if p := recover(); p != nil {
				h.logPanic("token form update", p)
			}
		}()
		err := <-late
		var v slack.ModalViewRequest
		if err != nil {
			run, gerr := h.Store.GetRun(h.Work, id)
			if gerr != nil {
				return
			}
			v = card.TokenModal(run, channel, submitMessage(err))
		} else {
			v = card.InfoModal("✅ The token is valid and held as the pending value. A second ops member can approve now.")
		}
		if _, uerr := h.Slack.UpdateViewContext(h.Work, v, "", "", viewID); uerr != nil {
			h.Log.Warn("could not update the token form", "run", id, "err", uerr)
		}
	}()
	v := card.InfoModal("⏳ Checking the token with GitHub…")
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
