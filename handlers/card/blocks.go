package card

import (
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/slack-go/slack"
)

// Slack refuses a message whose section or context text is over 3000 characters
// (UTF-16 code units) or that has over 50 blocks: a card for a secret set on a
// hundred apps, or one showing a long error, must still post.
const (
	cardSectionChars = 2900
	cardDestSections = 20 // at most 900 or so destinations are listed one by one
	// confirmTextMax is Slack's limit on a confirm dialog's text.
	confirmTextMax = 300
	// fallbackChars bounds a message's fallback text: one line, for
	// notifications.
	fallbackChars = 300
)

// Slack's limits that /rotate expiring and App Home must respect. A message's
// text holds 40,000 characters (UTF-16 units); a section block 3,000 and a message
// 50 blocks, and a message's blocks together are refused (msg_blocks_too_long)
// somewhere past 13,000 characters, an undocumented limit; a view holds 100
// blocks; a response_url takes five answers. So /rotate expiring answers in
// mrkdwn text (several times more rows per message than blocks allow) and App
// Home, which needs blocks, shows one message's worth.
const (
	// messageChars is what one text answer holds at most.
	messageChars        = 36000
	expirySectionChars  = 2800
	expiryMessageChars  = 11000
	expiryMessageBlocks = 45
)

func txt(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
func ptxt(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func section(s string) *slack.SectionBlock { return slack.NewSectionBlock(txt(s), nil, nil) }

func confirmDialog(title, text, yes string) *slack.ConfirmationBlockObject {
	return slack.NewConfirmationBlockObject(ptxt(title), txt(clip(text, confirmTextMax)), ptxt(yes), ptxt("Not now"))
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

// slackLen is s's length as Slack counts it (UTF-16 code units, so an emoji
// counts two).
func slackLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// sections packs lines into section blocks of at most cardSectionChars each, at
// most max of them; when lines are left over, more(n) ends the last section (nil:
// they are dropped). A line longer than a section is clipped.
func sections(lines []string, max int, more func(n int) string) []slack.Block {
	const reserve = 200 // room for more's line
	var out []slack.Block
	var cur []string
	size := 0
	for i, l := range lines {
		l = clip(l, cardSectionChars)
		n := slackLen(l) + 1
		room := cardSectionChars
		if len(out) == max-1 && more != nil && i < len(lines)-1 {
			room -= reserve
		}
		if len(cur) > 0 && size+n > room {
			if len(out) == max-1 {
				if more != nil {
					cur = append(cur, more(len(lines)-i))
				}
				return append(out, section(strings.Join(cur, "\n")))
			}
			out = append(out, section(strings.Join(cur, "\n")))
			cur, size = nil, 0
		}
		cur = append(cur, l)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, section(strings.Join(cur, "\n")))
	}
	return out
}

// BlocksText renders blocks as plain text: what a person would read. The demo
// prints cards with it, and tests read them.
func BlocksText(blocks []slack.Block) string {
	var b strings.Builder
	for _, bl := range blocks {
		switch x := bl.(type) {
		case *slack.HeaderBlock:
			fmt.Fprintf(&b, "== %s ==\n", x.Text.Text)
		case *slack.SectionBlock:
			if x.Text != nil {
				b.WriteString(x.Text.Text + "\n")
			}
		case *slack.ContextBlock:
			for _, el := range x.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					b.WriteString("  " + t.Text + "\n")
				}
			}
		case *slack.ActionBlock:
			var labels []string
			for _, el := range x.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					labels = append(labels, "["+btn.Text.Text+"]")
				}
			}
			b.WriteString(strings.Join(labels, " ") + "\n")
		case *slack.InputBlock:
			fmt.Fprintf(&b, "%s: [__________]\n", x.Label.Text)
		case *slack.DividerBlock:
			b.WriteString("---\n")
		}
	}
	return b.String()
}

// Clip shortens s to at most n characters as Slack counts them: what the
// notifiers send that card did not draw (joined thread notes) is cut by the same
// rule.
func Clip(s string, n int) string { return clip(s, n) }
