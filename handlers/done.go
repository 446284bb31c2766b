package handlers

import (
	"context"
	"errors"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
)

// done is a shell-rc operator's Done in their DM. Only that operator may press it
// (the engine decides, from the user and the DM the click came from).
func (h *Handlers) done(ctx context.Context, c *click) {
	id, _, stamp := card.ParseButtonValue(c.action.Value)
	if run, err := h.Store.GetRun(ctx, id); err != nil || stamp != card.RunStamp(run) {
		c.reply.say(ctx, "This message belongs to a run that is no longer here (was the bot's database reset?). Nothing was changed.")
		return
	}
	_, err := h.Engine.ConfirmOperator(ctx, id, c.user, c.cb.Channel.ID)
	if err != nil {
		var e *rotation.Error
		if errors.As(err, &e) && e.Code == rotation.ECONFLICT {
			c.reply.say(ctx, e.Message+". Nothing was changed.")
			return
		}
		c.reply.fail(ctx, err)
		return
	}
	c.reply.say(ctx, "Thanks — recorded that your shell rc has the new value.")
}
