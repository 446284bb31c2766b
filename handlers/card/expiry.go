package card

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/expiry"
	"github.com/slack-go/slack"
)

// ExpiryRow is one secret in /rotate expiring and App Home.
type ExpiryRow struct {
	Secret  string
	Known   bool
	Never   bool
	At      time.Time
	Days    int // whole days left, rounded down; negative once expired
	Problem string
	// ByAge: At is when the token reaches the secret's max_age (MaxAge), not
	// its expiry; Created is when it was made, or when rotabot first saw it
	// (CreatedUnknown). AgeUnknown: the secret has a max_age and no date yet.
	ByAge          bool
	MaxAge         time.Duration
	Created        time.Time
	CreatedUnknown bool
	AgeUnknown     bool
}

// ExpiryRows lists every configured secret with what is known of its expiry at
// now, soonest first: tokens with a problem (refused, missing, not checkable)
// lead, then by expiry date, then those that never expire, then those not
// checked yet.
func ExpiryRows(m *rotation.Matrix, recs []rotation.ExpiryRecord, now time.Time) []ExpiryRow {
	bySecret := make(map[string]rotation.ExpiryRecord, len(recs))
	for _, rec := range recs {
		bySecret[rec.Secret] = rec
	}
	rows := make([]ExpiryRow, 0, len(m.Secrets))
	for _, name := range m.Names() {
		row := ExpiryRow{Secret: name, MaxAge: m.Secrets[name].MaxAge}
		if rec, ok := bySecret[name]; ok {
			row.Known, row.Problem = true, rec.Problem
			at, byAge := expiry.DueAt(rec, row.MaxAge, now)
			if rec.Problem != "" {
				at, byAge = rec.ExpiresAt, false // a problem shows the last known expiry
			}
			switch {
			case !at.IsZero():
				row.At, row.ByAge = at, byAge
				row.Days = words.DaysLeft(at, now)
				row.Created, row.CreatedUnknown = rec.Created, rec.CreatedUnknown
			case rec.Login == "" && rec.Problem != "":
				// never checked successfully: its expiry is unknown, not "never"
			case row.MaxAge > 0:
				row.AgeUnknown = true
			default:
				row.Never = true
			}
		}
		rows = append(rows, row)
	}
	rank := func(r ExpiryRow) int {
		switch {
		case r.Problem != "":
			return 0
		case !r.Known || r.AgeUnknown:
			return 3
		case r.Never:
			return 2
		}
		return 1
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rank(rows[i]) != rank(rows[j]) {
			return rank(rows[i]) < rank(rows[j])
		}
		return rows[i].At.Before(rows[j].At)
	})
	return rows
}

// Bar is a small text bar of days left out of 90.
func Bar(days int) string {
	const width = 10
	n := days * width / 90
	if n < 0 {
		n = 0
	}
	if n > width {
		n = width
	}
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}

func daysLeftText(days int) string {
	if days <= 0 {
		return "less than a day left"
	}
	return words.Plural(days, "day", "days") + " left"
}

// ExpiryLine draws one row.
func ExpiryLine(row ExpiryRow) string {
	icon := classOf(row).icon
	switch {
	case !row.Known:
		return fmt.Sprintf("`%s` %s %s — not checked yet", Bar(0), icon, row.Secret)
	case row.Problem != "" && !row.At.IsZero():
		return fmt.Sprintf("`%s` %s %s — %s (last known expiry %s)", Bar(row.Days), icon, row.Secret, row.Problem, words.DateText(row.At))
	case row.Problem != "":
		return fmt.Sprintf("`%s` %s %s — %s", Bar(0), icon, row.Secret, row.Problem)
	case row.Never:
		return fmt.Sprintf("`%s` %s %s — never expires (GitHub recommends an expiry)", Bar(90), icon, row.Secret)
	case row.AgeUnknown:
		return fmt.Sprintf("`%s` %s %s — never expires; its age is not known yet (max_age %s)", Bar(0), icon, row.Secret, expiry.AgeText(row.MaxAge))
	case row.ByAge && row.Days < 0:
		return fmt.Sprintf("`%s` %s %s — PAST ITS MAX AGE (%s) since %s · %s", Bar(0), icon, row.Secret, expiry.AgeText(row.MaxAge), words.DateText(row.At), madeText(row))
	case row.ByAge:
		return fmt.Sprintf("`%s` %s %s — %s to its max age (%s), on %s · %s", Bar(row.Days), icon, row.Secret,
			strings.TrimSuffix(daysLeftText(row.Days), " left"), expiry.AgeText(row.MaxAge), words.DateText(row.At), madeText(row))
	case row.Days < 0:
		return fmt.Sprintf("`%s` %s %s — EXPIRED on %s", Bar(0), icon, row.Secret, words.DateText(row.At))
	}
	return fmt.Sprintf("`%s` %s %s — %s, on %s", Bar(row.Days), icon, row.Secret, daysLeftText(row.Days), words.DateText(row.At))
}

// madeText says when a token was made, or that it is not known.
func madeText(row ExpiryRow) string {
	if row.CreatedUnknown {
		return "first seen " + words.DateText(row.Created) + ", made then or earlier"
	}
	return "made " + words.DateText(row.Created)
}

// ExpirySummary is the list's first line: how many secrets, and how many need
// attention, counted by the icon each row is drawn with.
func ExpirySummary(rows []ExpiryRow) string {
	n := map[expiryClass]int{}
	for _, r := range rows {
		n[classOf(r)]++
	}
	parts := []string{fmt.Sprintf("*Expiry of %d secrets, soonest first*", len(rows))}
	for _, c := range expiryClasses {
		if n[c] > 0 {
			parts = append(parts, c.icon+" "+fmt.Sprintf(c.what, n[c]))
		}
	}
	return strings.Join(parts, " · ")
}

// expiryClass is what a row of the expiry list is, with its icon: the one rule
// for a row's icon and for the summary that counts them.
type expiryClass struct{ icon, what string }

var (
	classProblem = expiryClass{"🚨", "%d with a problem"}
	classExpired = expiryClass{"🔴", "%d expired"}
	classAged    = expiryClass{"🔴", "%d past their max age"}
	classWeek    = expiryClass{"🔴", "%d within 7 days"}
	classSoon    = expiryClass{"🟠", "%d within 14 days"}
	classLater   = expiryClass{"🟢", "%d later"}
	classNever   = expiryClass{"♾️", "%d never expire"}
	classUnknown = expiryClass{"❔", "%d not checked yet"}
	// expiryClasses is the summary's order.
	expiryClasses = []expiryClass{classProblem, classExpired, classAged, classWeek, classSoon, classLater, classNever, classUnknown}
)

func classOf(row ExpiryRow) expiryClass {
	switch {
	case !row.Known:
		return classUnknown
	case row.Problem != "":
		return classProblem
	case row.Never:
		return classNever
	case row.AgeUnknown:
		return classUnknown
	case row.Days < 0 && row.ByAge:
		return classAged
	case row.Days < 0:
		return classExpired
	case row.Days < 7:
		return classWeek
	case row.Days < 14:
		return classSoon
	}
	return classLater
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
		case !r.Known || r.AgeUnknown:
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

// ExpiryPages draws the summary and the rows, soonest first, as at most
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

// ExpiryTexts draws the summary and the rows, soonest first, as at most
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
		if chars+n > messageChars-reserve {
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
