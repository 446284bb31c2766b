package handlers

import (
	"context"
	"strings"

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
		blocks = h.outsiderHome(rotation.ErrorMessage(err) + " Open this tab again in a minute.")
	case !ops:
		blocks = h.outsiderHome("Only members of the ops user group <!subteam^" + h.Matrix.OpsUsergroup + "> may use rotabot: ask one of them.")
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

// outsiderHome is App Home for someone outside the ops group.
func (h *Handlers) outsiderHome(who string) []slack.Block {
	return []slack.Block{slack.NewHeaderBlock(ptxt("rotabot")),
		section("rotabot rotates the ops team's credentials, step by step, with a second person's approval. " + who)}
}

// HomeBlocks renders App Home for an ops member.
func (h *Handlers) HomeBlocks(ctx context.Context) ([]slack.Block, error) {
	runs, err := h.Store.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	blocks := []slack.Block{slack.NewHeaderBlock(ptxt("rotabot"))}
	if len(runs) == 0 {
		blocks = append(blocks, section("*Open runs:* none"))
	} else {
		lines := []string{"*Open runs*"}
		for _, run := range runs {
			lines = append(lines, runLine(run))
		}
		blocks = append(blocks, section(clip(strings.Join(lines, "\n"), expirySectionChars)))
	}
	recs, err := h.Store.ListExpiry(ctx)
	if err != nil {
		return nil, err
	}
	if drift := h.openDrift(ctx, expirySectionChars); drift != "" {
		blocks = append(blocks, section(drift))
	}
	rows := ExpiryRows(h.Matrix, recs, h.now())
	// One message's worth (ExpiryPages keeps within Slack's limits; a view holds
	// 100 blocks): the soonest first, the rest summarised in one line.
	blocks = append(blocks, ExpiryPages(rows, 1)[0]...)
	return blocks, nil
}
