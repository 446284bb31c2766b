package card

import (
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// The answers to /rotate that only the person who typed it sees, as mrkdwn text.

func runLine(run *rotation.Run) string {
	return fmt.Sprintf("• *%s* %s — %s · started %s by %s", run.ID, run.Secret, run.State.Word(),
		run.Created.UTC().Format("2006-01-02 15:04 UTC"), words.Mention(run.Requester))
}

// OpenRunsText is /rotate list: the open runs, one a line.
func OpenRunsText(runs []*rotation.Run) string {
	if len(runs) == 0 {
		return "No open runs."
	}
	lines := []string{fmt.Sprintf("*Open runs (%d)*", len(runs))}
	for _, run := range runs {
		lines = append(lines, runLine(run))
	}
	return strings.Join(lines, "\n")
}

// HistoryText is /rotate history SECRET: its last runs, newest first, with the
// fingerprints each went from and to.
func HistoryText(secret string, runs []*rotation.Run) string {
	if len(runs) == 0 {
		return "No runs of " + secret + " yet."
	}
	lines := []string{fmt.Sprintf("*Last %d runs of %s*", len(runs), secret)}
	for _, run := range runs {
		line := runLine(run)
		if run.NewFingerprint != "" {
			line += " · " + orNone(run.OldFingerprint) + " → " + run.NewFingerprint
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// DryRunText is /rotate SECRET --dry-run: the plan, the consumers of the current
// value the plan does not reach, and the current token.
// names are the shell-rc operators' names by id: the plan is a code block, where a
// mention shows as an id.
func DryRunText(dr rotation.DryRun, names map[string]string) string {
	var b strings.Builder
	b.WriteString("*Dry run — nothing was changed.*\n```")
	b.WriteString(strings.Join(PlanLines(dr.Plan, names), "\n"))
	if dr.Unknown != nil {
		if u := strings.Join(discover.PlanLines(dr.Unknown), "\n"); u != "" {
			b.WriteString("\n" + u)
		}
	}
	b.WriteString("```\n")
	if dr.Problem != "" {
		b.WriteString("⚠️ " + dr.Problem + "\n")
	} else {
		fmt.Fprintf(&b, "Current token: login *%s*, %s, %s", dr.Current.Login, dr.Current.Kind, words.ExpiryText(dr.Current.ExpiresAt))
		if dr.Current.Detail != "" {
			b.WriteString(", " + dr.Current.Detail)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// AbandonedText is the answer to /rotate abandon: what the run left, where.
func AbandonedText(run *rotation.Run, leaves []string) string {
	lines := []string{fmt.Sprintf("Abandoned *%s* (%s; it was %s). It leaves — put these right by hand:", run.ID, run.Secret, run.AbandonedFrom.Word())}
	for _, l := range leaves {
		lines = append(lines, "• "+l)
	}
	lines = append(lines, fmt.Sprintf("`%s` is in the audit trail; `/rotate %s` starts a new run.", rotation.ActionAbandoned, run.Secret))
	return strings.Join(lines, "\n")
}

// ExpiringTexts is /rotate expiring: the open drift, then every secret's expiry
// (rows, soonest first), in at most maxMessages texts that each fit one message.
func ExpiringTexts(rows []ExpiryRow, drifts []drift.Record, maxMessages int) []string {
	texts := ExpiryTexts(rows, maxMessages)
	if drift := driftSection(drifts, expirySectionChars); drift != "" {
		texts[0] = drift + "\n\n" + texts[0]
	}
	return texts
}

// Commands lists /rotate's forms; it names no secret. channel is the ops
// channel, where runs start.
func Commands(channel string) string {
	return "*Usage*\n" +
		"• `/rotate SECRET` — start a rotation (in <#" + channel + "> only)\n" +
		"• `/rotate SECRET --dry-run` — show what a rotation would touch; changes nothing\n" +
		"• `/rotate status [RUN_ID]` — a run's state (or every open run's)\n" +
		"• `/rotate list` — open runs\n" +
		"• `/rotate history SECRET` — past runs of a secret\n" +
		"• `/rotate expiring` — every secret's expiry, soonest first\n" +
		"• `/rotate where SECRET` — every Heroku app and variable holding its current value, in the routing matrix or not\n" +
		"• `/rotate abandon RUN_ID REASON` — give up a run that failed or waits for a person; it writes nothing, records why, and frees the secret\n" +
		"• `/rotate drift` — compare every destination with Infisical now; drift is posted in <#" + channel + ">\n" +
		"• `/rotate help` — this"
}

// Usage is the help an ops member gets: the commands and the secrets' names.
func Usage(channel string, secrets []string) string {
	return Commands(channel) + "\n" + "Secrets: " + strings.Join(secrets, ", ")
}
