package handlers

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/expiry"
	"github.com/slack-go/slack"
)

// ReminderNotifier shows expiry reminders in Slack: a DM to each owner
// (conversations.open, then chat.postMessage) and one post in the ops channel,
// each with a Start rotation button. It implements expiry.Notifier. A
// reminder carries a fingerprint, never a token.
type ReminderNotifier struct {
	Slack Slack
	// Channel is the ops channel: reminders are posted there, and runs start there.
	Channel string
}

var _ expiry.Notifier = (*ReminderNotifier)(nil)

// RemindOwner DMs one owner.
func (n *ReminderNotifier) RemindOwner(ctx context.Context, owner string, rem expiry.Reminder) error {
	ch, err := openDM(ctx, n.Slack, owner)
	if err != nil {
		return err
	}
	text, blocks := ReminderMessage(rem, false, n.Channel)
	if _, _, err := n.Slack.PostMessageContext(ctx, ch, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not DM <@%s> the reminder of %s", owner, rem.Secret)
	}
	return nil
}

// RemindChannel posts the reminder in the ops channel, naming the owners.
func (n *ReminderNotifier) RemindChannel(ctx context.Context, rem expiry.Reminder) error {
	ch := n.Channel
	text, blocks := ReminderMessage(rem, true, ch)
	if _, _, err := n.Slack.PostMessageContext(ctx, ch, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not post the reminder of %s in <#%s>", rem.Secret, ch)
	}
	return nil
}

// ReminderMessage renders a reminder: the fallback text (one line, for
// notifications) and the blocks. inChannel is the ops-channel post, which names
// the owners; opsChannel is where runs start.
func ReminderMessage(rem expiry.Reminder, inChannel bool, opsChannel string) (string, []slack.Block) {
	icon := map[expiry.Kind]string{expiry.Due: "⏰", expiry.Expired: "🔴",
		expiry.NoExpiry: "ℹ️", expiry.Broken: "🚨"}[rem.Kind]
	if rem.Kind == expiry.Due && rotation.DaysLeft(rem.ExpiresAt, rem.At) < 3 {
		icon = "🔴"
	}
	text := rem.Secret + " " + rem.Sentence()
	lines := []string{fmt.Sprintf("%s *%s* %s", icon, rem.Secret, rem.Sentence())}
	switch rem.Kind {
	case expiry.Due:
		lines = append(lines, fmt.Sprintf("This is the %d-day reminder: rotate it before it expires.", rem.Threshold))
	case expiry.Expired:
		lines = append(lines, "Everything that uses it fails until it is rotated. I will say so again every day until then.")
	case expiry.Broken:
		lines = append(lines, "Whatever uses it is failing or about to: rotate it now. I will say so again every day until it works.")
	case expiry.NoExpiry:
		lines = append(lines, fmt.Sprintf("At the next rotation, give the new token an expiry (the routing matrix says %d days). I will not mention it again for this token.", rem.ExpiresInDays))
	}
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
		facts = append(facts, "last known expiry "+rotation.DateText(rem.ExpiresAt))
	}
	if len(facts) > 0 {
		lines = append(lines, strings.Join(facts, " · "))
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
		section(clip(strings.Join(lines, "\n"), 2900)),
		slack.NewActionBlock("reminder_start", start),
	}
	return clip(text, 300), blocks
}

// clip shortens s to at most n characters (as Slack counts them).
func clip(s string, n int) string {
	if slackLen(s) <= n {
		return s
	}
	used := 0
	for i, r := range s {
		if used+utf16.RuneLen(r) > n-1 {
			return s[:i] + "…"
		}
		used += utf16.RuneLen(r)
	}
	return s
}

// Slack's limits that /rotate expiring and App Home must respect. A message's
// text holds 40,000 characters (UTF-16 units); a section block 3,000 and a message
// 50 blocks, and a message's blocks together are refused (msg_blocks_too_long)
// somewhere past 13,000 characters, an undocumented limit; a view holds 100
// blocks; a response_url takes five answers. So /rotate expiring answers in
// mrkdwn text (several times more rows per message than blocks allow) and App
// Home, which needs blocks, shows one message's worth.
const (
	expiryTextChars     = 36000
	expirySectionChars  = 2800
	expiryMessageChars  = 11000
	expiryMessageBlocks = 45
	// ExpiryMaxMessages is how many ephemeral messages /rotate expiring answers with
	// at most; secrets that do not fit are summarised in its last line.
	ExpiryMaxMessages = 5
)

// slackLen is s's length as Slack counts it (UTF-16 code units, so an emoji
// counts two).
func slackLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// ExpirySummary is the list's first line: how many secrets, and how many need
// attention.
func ExpirySummary(rows []ExpiryRow) string {
	var problems, expired, soon, later, never, unknown int
	for _, r := range rows {
		switch {
		case r.Problem != "":
			problems++
		case !r.Known:
			unknown++
		case r.Never:
			never++
		case r.Days < 0:
			expired++
		case r.Days < 14:
			soon++
		default:
			later++
		}
	}
	parts := []string{fmt.Sprintf("*Expiry of %d secrets, soonest first*", len(rows))}
	for _, c := range []struct {
		n    int
		what string
	}{{problems, "🚨 %d with a problem"}, {expired, "🔴 %d expired"}, {soon, "🟠 %d within 14 days"},
		{later, "🟢 %d later"}, {never, "♾️ %d never expire"}, {unknown, "❔ %d not checked yet"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf(c.what, c.n))
		}
	}
	return strings.Join(parts, " · ")
}

// restSummary is the line that stands for rows left out for lack of room. Rows
// are soonest first, so those left out are the furthest from expiring.
func restSummary(rest []ExpiryRow) string {
	var dated []ExpiryRow
	never, unknown, problems := 0, 0, 0
	for _, r := range rest {
		switch {
		case r.Problem != "":
			problems++
		case !r.Known:
			unknown++
		case r.Never:
			never++
		default:
			dated = append(dated, r)
		}
	}
	parts := []string{fmt.Sprintf("…and %d more that do not fit in Slack messages", len(rest))}
	if len(dated) > 0 {
		parts = append(parts, fmt.Sprintf("%d expiring between %s and %s", len(dated),
			dated[0].At.UTC().Format("2006-01-02"), dated[len(dated)-1].At.UTC().Format("2006-01-02")))
	}
	if problems > 0 {
		parts = append(parts, fmt.Sprintf("%d with a problem", problems))
	}
	if never > 0 {
		parts = append(parts, fmt.Sprintf("%d never expiring", never))
	}
	if unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d not checked yet", unknown))
	}
	return "_" + strings.Join(parts, "; ") + "._"
}

// ExpiryPages renders the summary and the rows, soonest first, as at most
// maxPages lists of blocks, each one Slack message's worth (or one part of App
// Home). Rows that do not fit are summarised in one last line.
func ExpiryPages(rows []ExpiryRow, maxPages int) [][]slack.Block {
	const reserve = 400 // room for the closing summary line
	if maxPages < 1 {
		maxPages = 1
	}
	var pages [][]slack.Block
	header := ExpirySummary(rows)
	page := []slack.Block{section(header)}
	pageChars := slackLen(header)
	var sec []string
	secChars := 0
	flush := func() {
		if len(sec) > 0 {
			page = append(page, section(strings.Join(sec, "\n")))
			sec, secChars = nil, 0
		}
	}
	i := 0
	for ; i < len(rows); i++ {
		line := ExpiryLine(rows[i])
		n := slackLen(line) + 1
		if secChars+n > expirySectionChars {
			flush()
		}
		openBlocks := len(page)
		if len(sec) == 0 {
			openBlocks++ // this line starts a section
		}
		if pageChars+n > expiryMessageChars-reserve || openBlocks > expiryMessageBlocks-1 {
			if len(pages)+1 >= maxPages {
				break
			}
			flush()
			pages = append(pages, page)
			page, pageChars = nil, 0
		}
		sec = append(sec, line)
		secChars += n
		pageChars += n
	}
	flush()
	if i < len(rows) {
		page = append(page, section(restSummary(rows[i:])))
	}
	return append(pages, page)
}

// ExpiryTexts renders the summary and the rows, soonest first, as at most
// maxMessages mrkdwn texts, each within a message's 40,000 characters. Rows that
// do not fit are summarised in the last one's closing line.
func ExpiryTexts(rows []ExpiryRow, maxMessages int) []string {
	const reserve = 400 // room for the closing summary line
	if maxMessages < 1 {
		maxMessages = 1
	}
	var texts []string
	var b strings.Builder
	b.WriteString(ExpirySummary(rows))
	chars := slackLen(b.String())
	i := 0
	for ; i < len(rows); i++ {
		line := ExpiryLine(rows[i])
		n := slackLen(line) + 1
		if chars+n > expiryTextChars-reserve {
			if len(texts)+1 >= maxMessages {
				break
			}
			texts = append(texts, b.String())
			b.Reset()
			chars = 0
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
		chars += n
	}
	if i < len(rows) {
		b.WriteString("\n" + restSummary(rows[i:]))
	}
	return append(texts, b.String())
}
