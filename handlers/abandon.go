package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// submitAbandon is the abandon form's submission: the reason is checked, the
// run must still be as the form showed it, and the engine abandons it. A
// refusal shows under the reason and the form stays open.
func (h *Handlers) submitAbandon(ctx context.Context, cb slack.InteractionCallback) (resp *slack.ViewSubmissionResponse) {
	errs := func(msg string) *slack.ViewSubmissionResponse {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{BlockReason: msg})
	}
	defer h.recoverForm("abandon form", &resp,
		errs("Something went wrong on rotabot's side (its logs say what): nothing was changed. Submit again, or close the form."))
	if cb.View.State == nil {
		return errs("The form arrived without its input (Slack sent no state): nothing was changed. Close it and press " + LabelAbandon + " again.")
	}
	user := cb.User.ID
	ok, err := h.isOps(ctx, user)
	if err != nil {
		return errs(rotation.ErrorMessage(err))
	}
	if !ok {
		return errs("Only members of the ops user group may abandon a run.")
	}
	reason := ""
	if block, ok := cb.View.State.Values[BlockReason]; ok {
		reason = strings.TrimSpace(block[ActionReason].Value)
	}
	if err := rotation.CheckReason(reason); err != nil {
		return errs(rotation.ErrorMessage(err))
	}
	id, shown, stamp, channel := card.ParseAbandonForm(cb.View.PrivateMetadata)
	run, err := h.Store.GetRun(ctx, id)
	if err != nil || stamp == "" || stamp != card.RunStamp(run) {
		return errs("This form does not belong to a run that is open now (an old form, or the bot's database was reset). Nothing was changed.")
	}
	// Abandon is a way out: it acts on the run as it is now, whatever the form
	// showed, while the run's state allows it.
	if g, _ := gestureOf(ActAbandon); !g.accepts(run, shown) {
		return errs(movedOn(run))
	}
	// A person who submitted a form older than the run's state is told so.
	told := func(ctx context.Context) {
		if shown.Word() != run.State.Word() && channel != "" {
			h.replier("", channel, user).say(ctx, fmt.Sprintf("The form showed %s as %s; it was %s when you submitted it, and Abandon acts on the run as it is now: the run is abandoned.",
				id, shown.Word(), card.StateText(run)))
		}
	}
	late, err := h.beforeAck(ctx, "abandon", func() error {
		_, err := h.Engine.Abandon(h.Work, id, user, reason)
		return err
	})
	if late == nil {
		if err != nil {
			return errs(rotation.ErrorMessage(err))
		}
		go told(h.Work) // after the form closes
		return slack.NewClearViewSubmissionResponse()
	}
	// Slow (the card and the audit post go to Slack first): close the form, and
	// tell the person if it fails after all.
	go func() {
		err := <-late
		switch {
		case err != nil && channel != "":
			h.replier("", channel, user).say(h.Work, "Could not abandon "+id+": "+rotation.ErrorMessage(err))
		case err == nil:
			told(h.Work)
		}
	}()
	return slack.NewClearViewSubmissionResponse()
}

// abandonCommand is /rotate abandon RUN_ID REASON: the same as the button and
// its form, for a run whose card is out of reach; the answer says what it left.
func (h *Handlers) abandonCommand(ctx context.Context, r replier, user, id, reason string) {
	run, err := h.Engine.Abandon(ctx, id, user, reason)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.say(ctx, card.AbandonedText(run, h.Engine.Leaves(run)))
}
