package discover

import (
	"fmt"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// What a scan found, in words: for verify's line, the card, a dry run and the
// CLI's SUMMARY alike. Names and counts only: a Discovery holds no value.

// Summary says what the scan covered: "scanned 4 Heroku apps and looked at 3
// GitHub repositories".
func Summary(d *rotation.Discovery) string {
	if d == nil {
		return ""
	}
	part := func(verb string, n, of int, one, many string) string {
		if n < of {
			return fmt.Sprintf("%s %d of %s", verb, n, words.Plural(of, one, many))
		}
		return verb + " " + words.Plural(n, one, many)
	}
	var parts []string
	if !d.GitHub || d.Seen > 0 {
		parts = append(parts, part("scanned", d.Read, d.Seen, "Heroku app", "Heroku apps"))
	}
	if d.GitHub {
		parts = append(parts, part("looked at", d.Repos, d.ReposSeen, "GitHub repository", "GitHub repositories"))
	}
	return strings.Join(parts, " and ")
}

// failed reports whether the scan read nothing at all.
func failed(d *rotation.Discovery) bool { return d.Seen == 0 && !d.GitHub && d.Problem != "" }

// OldHolderLine says what the scan for the old token found at one place, for the
// card and the CLI's SUMMARY; revoked says whether the old token was revoked
// already.
func OldHolderLine(h rotation.Holding, revoked bool) string {
	if revoked {
		return h.Label() + " held the old token at verify: it breaks if it still does"
	}
	return h.Label() + " still holds the old token: revoking breaks it"
}

// VerifyText is what verify's line says of the scan: "" when none was made.
func (s *Scanner) VerifyText(d *rotation.Discovery) string { return VerifyText(d) }

// VerifyText is what verify's line says of the scan: "" when none was made.
func VerifyText(d *rotation.Discovery) string {
	switch {
	case d == nil:
		return ""
	case failed(d):
		return "; the scan for other holders of the old token failed: " + d.Problem
	}
	s := "; " + Summary(d) + " for the old token: "
	switch n := len(d.Holders); {
	case n == 0:
		s += "nothing outside the routing matrix holds it"
	case n == 1:
		s += d.Holders[0].Label() + " still holds it"
	default:
		s += fmt.Sprintf("%d places outside the routing matrix still hold it", n)
	}
	if n := len(d.Copies); n > 0 {
		s += "; " + words.Plural(n, "GitHub secret", "GitHub secrets") + " of the same name nobody listed may hold it"
	}
	if d.Problem != "" {
		s += " (" + d.Problem + ")"
	}
	return s
}

// PlanLines are what a dry run adds to the plan: the consumers of the current
// value that the plan does not reach, then the GitHub copies of its names
// nobody listed (plain text, for the CLI and Slack alike).
func PlanLines(d *rotation.Discovery) []string {
	if d == nil {
		return nil
	}
	var out []string
	switch {
	case failed(d):
		return []string{"  unknown consumers: the scan failed: " + d.Problem}
	case len(d.Holders) == 0 && len(d.Copies) == 0:
		out = append(out, "  unknown consumers: none ("+Summary(d)+"; nothing outside the routing matrix holds the current value)")
	case len(d.Holders) == 0:
	default:
		out = append(out, fmt.Sprintf("  unknown consumers (%d) — they hold the current value but are not in the routing matrix, so a rotation would not update them and revoking the old token would break them (%s):",
			len(d.Holders), Summary(d)))
		for _, h := range d.Holders {
			out = append(out, "    - "+h.Kind.Word()+" "+h.Label())
		}
	}
	if d.Problem != "" {
		out = append(out, "  ⚠ the scan is incomplete: "+d.Problem)
	}
	return append(out, copyPlanLines(d)...)
}

// copyPlanLines are what a dry run adds to the plan after the Heroku holders:
// the GitHub copies of the current value's names that the plan does not reach.
func copyPlanLines(d *rotation.Discovery) []string {
	if d == nil || len(d.Copies) == 0 {
		return nil
	}
	covered := ""
	if len(d.Holders) == 0 {
		covered = " (" + Summary(d) + ")"
	}
	out := []string{fmt.Sprintf("  GitHub secrets nobody listed (%d) — same name, not a destination; a rotation would not update them%s:", len(d.Copies), covered)}
	for _, c := range d.Copies {
		out = append(out, "    - "+CopyLine(c, "the current token", time.Time{}))
	}
	return out
}
