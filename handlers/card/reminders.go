package card

import (
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation/expiry"
	"github.com/slack-go/slack"
)

// ReminderMessage draws an expiry reminder: the fallback text (one line, for
// notifications) and the blocks. inChannel is the ops-channel post, which names
// the owners; opsChannel is where runs start. A reminder carries a fingerprint,
// never a token.
func ReminderMessage(rem expiry.Reminder, inChannel bool, opsChannel string) (string, []slack.Block) {
	icon := map[expiry.Kind]string{expiry.Due: "⏰", expiry.Expired: "🔴",
		expiry.NoExpiry: "ℹ️", expiry.Broken: "🚨"}[rem.Kind]
	if rem.Kind == expiry.Due && words.DaysLeft(rem.ExpiresAt, rem.At) < 3 {
		icon = "🔴"
	}
	text := rem.Secret + " " + rem.Sentence()
	lines := []string{fmt.Sprintf("%s *%s* %s", icon, rem.Secret, rem.Sentence())}
	lines = append(lines, reminderWhy(rem))
	if facts := reminderFacts(rem); facts != "" {
		lines = append(lines, facts)
	}
	for _, note := range rem.Notes {
		lines = append(lines, "⚠️ "+note)
	}
	if rem.OpenRun != "" {
		lines = append(lines, "A rotation is already open: *"+rem.OpenRun+"* in <#"+opsChannel+">.")
	}
	if inChannel {
		if len(rem.Owners) > 0 {
			lines = append(lines, "Owners: "+mentions(rem.Owners))
		}
	} else {
		lines = append(lines, "You get this because you own "+rem.Secret+" in the routing matrix.")
	}
	lines = append(lines, fmt.Sprintf("Press *%s* to begin (the run's card is posted in <#%s>), or type `/rotate %s` there.", LabelStart, opsChannel, rem.Secret))
	start := slack.NewButtonBlockElement(ActStart, rem.Secret, ptxt(LabelStart))
	start.Style = slack.StylePrimary
	blocks := []slack.Block{
		section(clip(strings.Join(lines, "\n"), cardSectionChars)),
		slack.NewActionBlock("reminder_start", start),
	}
	return clip(text, fallbackChars), blocks
}

// reminderWhy is the reminder's second line: what it means, and whether it
// comes again.
func reminderWhy(rem expiry.Reminder) string {
	switch {
	case rem.Kind == expiry.Due && rem.ByAge:
		return fmt.Sprintf("This is the %d-day reminder: rotate it before it is older than the routing matrix allows (max_age).", rem.Threshold)
	case rem.Kind == expiry.Due:
		return fmt.Sprintf("This is the %d-day reminder: rotate it before it expires.", rem.Threshold)
	case rem.Kind == expiry.Expired && rem.ByAge:
		return "It still works, but it is older than the routing matrix allows (max_age): rotate it. I will say so again every day until then."
	case rem.Kind == expiry.Expired:
		return "Everything that uses it fails until it is rotated. I will say so again every day until then."
	case rem.Kind == expiry.Broken:
		return "Whatever uses it is failing or about to: rotate it now. I will say so again every day until it works."
	}
	return fmt.Sprintf("At the next rotation, give the new token an expiry (the routing matrix says %d days). I will not mention it again for this token.", rem.ExpiresInDays)
}

// reminderFacts is the token a reminder is about, in one line ("" for none).
func reminderFacts(rem expiry.Reminder) string {
	var facts []string
	if rem.Fingerprint != "" {
		facts = append(facts, "token `"+rem.Fingerprint+"`")
	}
	if rem.TokenKind != "" {
		facts = append(facts, string(rem.TokenKind))
	}
	if rem.Login != "" {
		facts = append(facts, "login *"+rem.Login+"*")
	}
	if rem.Kind == expiry.Broken && !rem.ExpiresAt.IsZero() {
		facts = append(facts, "last known expiry "+words.DateText(rem.ExpiresAt))
	}
	switch {
	case rem.ByAge && rem.CreatedUnknown:
		facts = append(facts, "first seen "+words.DateText(rem.Created)+" (when it was made is unknown: it may be older)")
	case rem.ByAge:
		facts = append(facts, "made "+words.DateText(rem.Created))
	}
	return strings.Join(facts, " · ")
}
