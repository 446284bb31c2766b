package card_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/expiry"
	"github.com/slack-go/slack"
)

var remNow = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func startButton(t *testing.T, blocks []slack.Block) *slack.ButtonBlockElement {
	t.Helper()
	for _, b := range blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.Text.Text == card.LabelStart {
					return btn
				}
			}
		}
	}
	t.Fatalf("no %s button in %s", card.LabelStart, card.BlocksText(blocks))
	return nil
}

func TestReminderMessage(t *testing.T) {
	base := expiry.Reminder{Secret: "GITHUB_API_READONLY_TOKEN", Owners: []string{"U0OWNER", "U0SECOND"}, Fingerprint: "1a2b3c4d",
		Login: "raxx-bot", TokenKind: rotation.FineGrained, ExpiresAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), At: remNow, ExpiresInDays: 90}
	due := base
	due.Kind, due.Threshold = expiry.Due, 3
	expired := base
	expired.Kind, expired.At = expiry.Expired, base.ExpiresAt.Add(50*time.Hour)
	never := base
	never.Kind, never.ExpiresAt, never.TokenKind, never.Notes = expiry.NoExpiry, time.Time{}, rotation.Classic, []string{rotation.MigrateWarning}
	broken := base
	broken.Kind, broken.Problem, broken.OpenRun = expiry.Broken, "GitHub refuses the current token `1a2b3c4d` (401)", "r7 (Waiting for token)"
	for _, c := range []struct {
		name string
		rem  expiry.Reminder
		want []string
	}{
		{"due", due, []string{"*GITHUB_API_READONLY_TOKEN* expires in 2 days, on 2026-12-01 10:00 UTC", "3-day reminder", "token `1a2b3c4d` · fine-grained · login *raxx-bot*"}},
		{"expired", expired, []string{"expired on 2026-12-01 10:00 UTC, 2 days ago", "again every day"}},
		{"never", never, []string{"never expires: GitHub recommends", "the routing matrix says 90 days", "⚠️ " + rotation.MigrateWarning}},
		{"broken", broken, []string{"🚨 *GITHUB_API_READONLY_TOKEN* is broken: GitHub refuses", "rotate it now", "last known expiry 2026-12-01 10:00 UTC",
			"already open: *r7 (Waiting for token)* in <#C0OPS>"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, inChannel := range []bool{false, true} {
				text, blocks := card.ReminderMessage(c.rem, inChannel, "C0OPS")
				if !strings.HasPrefix(text, "GITHUB_API_READONLY_TOKEN "+c.rem.Sentence()) {
					t.Errorf("fallback text %q", text)
				}
				body := card.BlocksText(blocks)
				for _, w := range append(c.want, "Press *Start rotation* to begin (the run's card is posted in <#C0OPS>)") {
					if !strings.Contains(body, w) {
						t.Errorf("in channel %v: lacks %q:\n%s", inChannel, w, body)
					}
				}
				if got := strings.Contains(body, "Owners: <@U0OWNER>, <@U0SECOND>") || strings.Contains(body, "Owners: <@U0OWNER> <@U0SECOND>"); got != inChannel {
					t.Errorf("in channel %v: owners named %v:\n%s", inChannel, got, body)
				}
				b := startButton(t, blocks)
				if b.ActionID != card.ActStart || b.Value != "GITHUB_API_READONLY_TOKEN" {
					t.Errorf("button %s = %q", b.ActionID, b.Value)
				}
			}
		})
	}
}

// manyRows is a thousand secrets with long names, of every kind.
func manyRows(n int) []card.ExpiryRow {
	m := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{}}
	var recs []rotation.ExpiryRecord
	for i := range n {
		name := fmt.Sprintf("GITHUB_PAT_FOR_SOME_LONG_SERVICE_NAME_%04d", i)
		m.Secrets[name] = &rotation.SecretConfig{Name: name}
		rec := rotation.ExpiryRecord{Secret: name, Fingerprint: "00000000", Login: "raxx-bot", ExpiresAt: remNow.Add(time.Duration(i%200-5) * 24 * time.Hour)}
		switch {
		case i%97 == 0:
			rec.Problem = "GitHub refuses the current token `00000000` (401): it was revoked, deleted or has expired"
		case i%89 == 0:
			rec.ExpiresAt = time.Time{}
		case i%83 == 0:
			continue // not checked yet
		}
		recs = append(recs, rec)
	}
	return card.ExpiryRows(m, recs, remNow)
}

// listed collects the rows a list shows and how many its closing line summarises.
func listed(text string) (shown []string, left int) {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "`") {
			shown = append(shown, line)
		}
		if strings.HasPrefix(line, "_…and ") {
			fmt.Sscanf(line, "_…and %d more", &left)
		}
	}
	return shown, left
}

func checkOrder(t *testing.T, rows []card.ExpiryRow, shown []string) {
	t.Helper()
	for i, line := range shown {
		if line != card.ExpiryLine(rows[i]) {
			t.Fatalf("row %d out of order: %q, want %q", i, line, card.ExpiryLine(rows[i]))
		}
	}
}

// /rotate expiring: mrkdwn texts, each within a message's 40,000 characters.
func TestExpiryTextsFitSlack(t *testing.T) {
	for _, c := range []struct{ n, wantListed int }{{0, 0}, {3, 3}, {1000, 1000}, {5000, 1500}} {
		t.Run(fmt.Sprint(c.n), func(t *testing.T) {
			rows := manyRows(c.n)
			texts := card.ExpiryTexts(rows, handlers.ExpiryMaxMessages)
			if len(texts) > handlers.ExpiryMaxMessages || len(texts) == 0 {
				t.Fatalf("%d messages", len(texts))
			}
			var shown []string
			left := 0
			for i, text := range texts {
				if n := card.SlackLen(text); n > 40000 {
					t.Errorf("message %d holds %d characters", i, n)
				}
				s, l := listed(text)
				shown, left = append(shown, s...), left+l
			}
			t.Logf("%d secrets: %d messages, %d rows listed, %d summarised", c.n, len(texts), len(shown), left)
			if len(shown)+left != c.n || len(shown) < c.wantListed {
				t.Fatalf("%d rows listed and %d summarised, want %d (at least %d listed)", len(shown), left, c.n, c.wantListed)
			}
			checkOrder(t, rows, shown)
			if !strings.HasPrefix(texts[0], fmt.Sprintf("*Expiry of %d secrets, soonest first*", c.n)) {
				t.Errorf("no summary first: %.200s", texts[0])
			}
		})
	}
}

// App Home: one message's worth of blocks, within Slack's block limits.
func TestExpiryPagesFitSlack(t *testing.T) {
	for _, n := range []int{0, 3, 40, 300, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rows := manyRows(n)
			for _, max := range []int{1, 3} {
				pages := card.ExpiryPages(rows, max)
				if len(pages) > max || len(pages) == 0 {
					t.Fatalf("%d pages for at most %d", len(pages), max)
				}
				var shown []string
				left := 0
				for i, page := range pages {
					if len(page) > 50 {
						t.Errorf("page %d has %d blocks", i, len(page))
					}
					chars := 0
					for _, b := range page {
						s, ok := b.(*slack.SectionBlock)
						if !ok {
							t.Fatalf("page %d: a %T", i, b)
						}
						c := card.SlackLen(s.Text.Text)
						if c > 3000 {
							t.Errorf("page %d: a section of %d characters", i, c)
						}
						chars += c
						sh, l := listed(s.Text.Text)
						shown, left = append(shown, sh...), left+l
					}
					if chars > 12000 {
						t.Errorf("page %d holds %d characters: Slack refuses blocks that long", i, chars)
					}
				}
				if len(shown)+left != n {
					t.Fatalf("%d rows shown and %d summarised, want %d", len(shown), left, n)
				}
				checkOrder(t, rows, shown)
				if n <= 40 && left != 0 {
					t.Errorf("a short list was summarised")
				}
				if !strings.Contains(card.BlocksText(pages[0]), fmt.Sprintf("*Expiry of %d secrets, soonest first*", n)) {
					t.Errorf("no summary first: %s", card.BlocksText(pages[0]))
				}
			}
		})
	}
}

func TestExpiryRowsProblemsLeadAndLinesSayWhy(t *testing.T) {
	m := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{}}
	for _, n := range []string{"A_LATER", "B_SOON", "C_NEVER", "D_UNKNOWN", "E_BROKEN", "F_EXPIRED", "G_UNCHECKABLE"} {
		m.Secrets[n] = &rotation.SecretConfig{Name: n}
	}
	recs := []rotation.ExpiryRecord{
		{Secret: "A_LATER", Login: "x", ExpiresAt: remNow.Add(80 * 24 * time.Hour)},
		{Secret: "B_SOON", Login: "x", ExpiresAt: remNow.Add(36 * time.Hour)},
		{Secret: "C_NEVER", Login: "x"},
		{Secret: "E_BROKEN", Login: "x", ExpiresAt: remNow.Add(50 * 24 * time.Hour), Problem: "GitHub refuses the current token"},
		{Secret: "F_EXPIRED", Login: "x", ExpiresAt: remNow.Add(-time.Hour)},
		{Secret: "G_UNCHECKABLE", Problem: "not checked: could not ask GitHub (503)"},
	}
	rows := card.ExpiryRows(m, recs, remNow)
	var order []string
	for _, r := range rows {
		order = append(order, r.Secret)
	}
	if got := strings.Join(order, " "); got != "G_UNCHECKABLE E_BROKEN F_EXPIRED B_SOON A_LATER C_NEVER D_UNKNOWN" {
		t.Errorf("order: %s", got)
	}
	want := map[string]string{
		"B_SOON":        "🔴 B_SOON — 1 day left, on 2026-11-30 22:00 UTC",
		"E_BROKEN":      "🚨 E_BROKEN — GitHub refuses the current token (last known expiry 2027-01-18 10:00 UTC)",
		"F_EXPIRED":     "🔴 F_EXPIRED — EXPIRED on 2026-11-29 09:00 UTC",
		"G_UNCHECKABLE": "🚨 G_UNCHECKABLE — not checked: could not ask GitHub (503)",
		"C_NEVER":       "♾️ C_NEVER — never expires",
		"D_UNKNOWN":     "❔ D_UNKNOWN — not checked yet",
	}
	for _, r := range rows {
		if w, ok := want[r.Secret]; ok && !strings.Contains(card.ExpiryLine(r), w) {
			t.Errorf("%q, want %q", card.ExpiryLine(r), w)
		}
	}
	if rows[0].Never {
		t.Error("a token never checked counts as never expiring")
	}
}

// The summary counts the rows by the icon each is drawn with: a token 4 days
// from expiry is red in its row and in the legend above it.
func TestExpirySummaryCountsRowsByTheirIcons(t *testing.T) {
	at := func(days int) time.Time { return remNow.Add(time.Duration(days)*24*time.Hour + time.Hour) }
	rows := []card.ExpiryRow{
		{Secret: "A", Known: true, Days: -1, At: at(-1)},
		{Secret: "B", Known: true, Days: 4, At: at(4)},
		{Secret: "C", Known: true, Days: 10, At: at(10)},
		{Secret: "D", Known: true, Days: 40, At: at(40)},
		{Secret: "E", Known: true, Never: true},
		{Secret: "F"},
		{Secret: "G", Known: true, Problem: "GitHub refuses the token (401)"},
	}
	want := "*Expiry of 7 secrets, soonest first* · 🚨 1 with a problem · 🔴 1 expired · 🔴 1 within 7 days · 🟠 1 within 14 days · 🟢 1 later · ♾️ 1 never expire · ❔ 1 not checked yet"
	if got := card.ExpirySummary(rows); got != want {
		t.Errorf("summary:\n got %s\nwant %s", got, want)
	}
	for _, r := range rows {
		line := card.ExpiryLine(r)
		_, rest, _ := strings.Cut(line, "` ")
		icon, _, _ := strings.Cut(rest, " ")
		if !strings.Contains(want, icon+" 1 ") {
			t.Errorf("%s is drawn %s, which the summary does not count: %s", r.Secret, icon, line)
		}
	}
	if got := card.ExpiryLine(rows[1]); !strings.HasPrefix(strings.SplitN(got, "` ", 2)[1], "🔴 B — 4 days left") {
		t.Errorf("4 days left: %s", got)
	}
}
