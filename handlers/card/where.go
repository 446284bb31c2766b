package card

import (
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
	"github.com/slack-go/slack"
)

// WhereText draws a where report (/rotate where SECRET) as mrkdwn, within one
// message: names only, never a value.
func WhereText(rep discover.WhereReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*Where is %s?* The value in Infisical: version %d, `%s`.\n", rep.Secret, rep.Version, rep.Fingerprint)
	if rep.Heroku {
		fmt.Fprintf(&b, "Scanned %d of %s HEROKU_API_KEY can see, comparing SHA-256 digests in memory; nothing was kept.\n",
			rep.Read, words.Plural(rep.Seen, "Heroku app", "Heroku apps"))
		herokuWhere(&b, rep)
	}
	if rep.GitHub {
		b.WriteString(rep.Looked() + ".\n")
		if len(rep.Copies) == 0 {
			b.WriteString("*GitHub: no secret of these names.*\n")
		} else {
			fmt.Fprintf(&b, "*GitHub secrets of these names (%d):*\n", len(rep.Copies))
			for _, c := range rep.Copies {
				mark := "⚠️"
				if c.InMatrix {
					mark = "✅"
				}
				fmt.Fprintf(&b, "• %s %s\n", mark, c.Line(rep.Secret))
			}
		}
	}
	if len(rep.Unchecked) > 0 {
		var names []string
		for _, d := range rep.Unchecked {
			names = append(names, d.Label())
		}
		fmt.Fprintf(&b, "Not checked (their values cannot be read back): %s.\n", strings.Join(names, ", "))
	}
	if rep.Problem != "" {
		b.WriteString("⚠️ The scan is incomplete: " + rep.Problem + "\n")
	}
	return clip(strings.TrimRight(b.String(), "\n"), messageChars)
}

// herokuWhere is what the Heroku scan found, for WhereText.
func herokuWhere(b *strings.Builder, rep discover.WhereReport) {
	if len(rep.Holding) == 0 {
		b.WriteString("*No Heroku app holds it.*\n")
	} else {
		fmt.Fprintf(b, "*Holding it (%d):*\n", len(rep.Holding))
		for _, hd := range rep.Holding {
			fmt.Fprintf(b, "• %s — %s\n", hd.Label(), holdingNote(rep.Secret, hd))
		}
	}
	if len(rep.Missing) > 0 {
		fmt.Fprintf(b, "*Destinations in the routing matrix that do not hold it (%d):*\n", len(rep.Missing))
		for _, m := range rep.Missing {
			fmt.Fprintf(b, "• ❌ %s — %s\n", m.Destination.Label(), m.Why)
		}
	} else if rep.Problem == "" {
		b.WriteString("Every Heroku destination in the routing matrix holds it.\n")
	}
}

func holdingNote(secret string, hd discover.WhereHolding) string {
	switch {
	case hd.InMatrix:
		return "✅ in the routing matrix"
	case len(hd.Others) > 0:
		return "⚠️ not a destination of " + secret + "; the routing matrix sets it from " + strings.Join(hd.Others, ", ")
	}
	return "⚠️ *not in the routing matrix*: a rotation will not update it, and revoking this token breaks it"
}

// oldHolderBlocks is the card's part about the scan for the old token: every
// place outside the run's destinations still holding it (revoking breaks it), or
// why the scan did not cover every app.
func oldHolderBlocks(r *rotation.Run) []slack.Block {
	d := r.OldHolders
	if d == nil || len(d.Holders) == 0 && len(d.Copies) == 0 && d.Problem == "" {
		return nil
	}
	revoked := r.RevokeSent || r.State == rotation.StateAuditing || r.State == rotation.StateAuditFailed || r.State == rotation.StateCompleted
	// Each part says what its own scan covered: the Heroku apps, the GitHub
	// repositories.
	heroku, github := *d, *d
	heroku.GitHub, github.Seen = false, 0
	var lines []string
	if len(d.Holders) > 0 {
		head := fmt.Sprintf("⚠️ *Not in the routing matrix, holding the old token* (%s when verify passed):", discover.Summary(&heroku))
		lines = append(lines, head)
		for _, h := range d.Holders {
			lines = append(lines, "• "+discover.OldHolderLine(h, revoked))
		}
		if !revoked && !r.State.Final() {
			lines = append(lines, "Set the new value there (or remove the old one) before revoking.")
		}
	}
	if len(d.Copies) > 0 {
		lines = append(lines, fmt.Sprintf("⚠️ *GitHub secrets of the same name nobody listed* (%s when verify passed):", discover.Summary(&github)))
		for _, c := range d.Copies {
			lines = append(lines, "• "+discover.CopyLine(c, "the old token", r.Created))
		}
		if !revoked && !r.State.Final() {
			lines = append(lines, "If one is used, set the new value there (gh secret set) before revoking, or add it to the routing matrix.")
		}
	}
	if d.Problem != "" {
		lines = append(lines, "⚠️ The scan for other holders of the old token is incomplete: "+d.Problem)
	}
	return sections(lines, 3, func(n int) string { return fmt.Sprintf("…and %d more places", n) })
}
