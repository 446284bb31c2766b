package handlers

import (
	"context"
	"errors"

	"github.com/raxx-app/rotabot/rotation"
)

// done is a shell-rc operator's Done in their DM. Only that operator may press it.
func (h *Handlers) done(ctx context.Context, c *click) {
	id, _ := parseButtonValue(c.action.Value)
	_, err := h.Engine.ConfirmOperator(ctx, id, c.user)
	if err != nil {
		var e *rotation.Error
		if errors.As(err, &e) && e.Code == rotation.ECONFLICT {
			c.reply.say(ctx, "This run has moved on: "+e.Message+". Nothing was changed.")
			return
		}
		c.reply.fail(ctx, err)
		return
	}
	c.reply.say(ctx, "Thanks — recorded that your shell rc has the new value.")
}
