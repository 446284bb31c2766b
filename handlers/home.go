package handlers

import (
	"context"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// HomeOpened publishes App Home for user: for an ops member, open runs and every
// secret's expiry; for anyone else (or while the ops group cannot be read), who may
// use rotabot and nothing about runs, secrets or expiry.
func (h *Handlers) HomeOpened(ctx context.Context, user string) {
	defer func() {
		if p := recover(); p != nil {
			h.logPanic("App Home", p)
		}
	}()
	var blocks []slack.Block
	switch ops, err := h.isOps(ctx, user); {
	case err != nil:
		h.Log.Error("cannot read the ops user group", "group", h.Matrix.OpsUsergroup, "err", err)
		blocks = card.OutsiderHome(rotation.ErrorMessage(err) + " Open this tab again in a minute.")
	case !ops:
		blocks = card.OutsiderHome("Only members of the ops user group <!subteam^" + h.Matrix.OpsUsergroup + "> may use rotabot: ask one of them.")
	default:
		var herr error
		if blocks, herr = h.HomeBlocks(ctx); herr != nil {
			h.Log.Error("cannot build App Home", "err", herr)
			return
		}
	}
	_, err := h.Slack.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user,
		View: slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}})
	if err != nil {
		h.Log.Warn("could not publish App Home", "user", user, "err", err)
	}
}

// HomeBlocks reads what App Home shows an ops member — open runs, open drift,
// every secret's expiry — and draws it (card.Home).
func (h *Handlers) HomeBlocks(ctx context.Context) ([]slack.Block, error) {
	runs, err := h.Store.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	recs, err := h.Store.ListExpiry(ctx)
	if err != nil {
		return nil, err
	}
	return card.Home(runs, h.openDrifts(ctx), card.ExpiryRows(h.Matrix, recs, h.now())), nil
}
