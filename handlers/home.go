package handlers

import (
	"context"
	"strings"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// HomeOpened publishes App Home for user: open runs, and every secret's expiry.
func (h *Handlers) HomeOpened(ctx context.Context, user string) {
	blocks, err := h.HomeBlocks(ctx)
	if err != nil {
		h.Log.Error("cannot build App Home", "err", err)
		return
	}
	_, err = h.Slack.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user,
		View: slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}})
	if err != nil {
		h.Log.Warn("could not publish App Home", "user", user, "err", err)
	}
}

// HomeBlocks renders App Home.
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
	rows := ExpiryRows(h.Matrix, recs, h.now())
	// One message's worth (ExpiryPages keeps within Slack's limits; a view holds
	// 100 blocks): the soonest first, the rest summarised in one line.
	blocks = append(blocks, ExpiryPages(rows, 1)[0]...)
	return blocks, nil
}
