package card

import (
	"strings"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/slack-go/slack"
)

// Home draws App Home for an ops member: the open runs, the open drift, and
// every secret's expiry (rows, soonest first) — one message's worth
// (ExpiryPages keeps within Slack's limits; a view holds 100 blocks), the rest
// summarised in one line.
func Home(runs []*rotation.Run, drifts []drift.Record, rows []ExpiryRow) []slack.Block {
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
	if drift := driftSection(drifts, expirySectionChars); drift != "" {
		blocks = append(blocks, section(drift))
	}
	return append(blocks, ExpiryPages(rows, 1)[0]...)
}

// OutsiderHome is App Home for someone outside the ops group (or anyone while
// the group cannot be read): what rotabot is, and note — who may use it, or why
// it cannot tell — and nothing about runs, secrets or expiry.
func OutsiderHome(note string) []slack.Block {
	return []slack.Block{slack.NewHeaderBlock(ptxt("rotabot")),
		section("rotabot rotates the ops team's credentials, step by step, with a second person's approval. " + note)}
}
