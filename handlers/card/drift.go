package card

import (
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/slack-go/slack"
)

// DriftLine is one drift in one line: App Home, /rotate expiring, /rotate drift.
func DriftLine(d drift.Record) string {
	return fmt.Sprintf("🧭 *%s* · %s — %s (since %s)", d.Secret, DriftPlace(d), d.Problem, words.DateText(d.Since))
}

// DriftPlace is where a drift is: a destination's label, or Infisical.
func DriftPlace(d drift.Record) string {
	if d.Dest == "" {
		return "Infisical"
	}
	return d.Label()
}

// DriftMessage draws a drift post: the fallback text and the blocks. A drift
// carries names, versions and Infisical's fingerprint, never a value.
func DriftMessage(d drift.Record) (string, []slack.Block) {
	place := DriftPlace(d)
	switch {
	case d.Open:
		return clip(fmt.Sprintf("Drift: %s on %s", d.Secret, place), fallbackChars), driftOpenBlocks(d)
	case d.RepairedBy != "":
		by := words.Mention(d.RepairedBy)
		if d.ApprovedBy != "" {
			by += ", approved by " + words.Mention(d.ApprovedBy) + ","
		}
		text := fmt.Sprintf("✅ *Drift repaired* · %s on %s\n%s set it from Infisical (version %d, `%s`) at %s, and it was verified.\n_Was: %s._",
			d.Secret, place, by, d.VaultVersion, d.Fingerprint, words.DateText(d.Resolved), d.Problem)
		return clip(fmt.Sprintf("Drift repaired: %s on %s", d.Secret, place), fallbackChars), []slack.Block{section(clip(text, cardSectionChars))}
	}
	text := fmt.Sprintf("✅ *Drift resolved* · %s on %s\nIt matches again (seen at %s).\n_Was: %s._", d.Secret, place, words.DateText(d.Resolved), d.Problem)
	return clip(fmt.Sprintf("Drift resolved: %s on %s", d.Secret, place), fallbackChars), []slack.Block{section(clip(text, cardSectionChars))}
}

// driftOpenBlocks is an open drift's post: the problem, what Set it from
// Infisical would do, and the one button that makes sense now — none when
// Infisical holds a retired token, Approve once a repair of every destination
// was asked for.
func driftOpenBlocks(d drift.Record) []slack.Block {
	place := DriftPlace(d)
	lines := []string{fmt.Sprintf("🧭 *Drift* · %s on %s", d.Secret, place), d.Problem + "."}
	seen := fmt.Sprintf("Seen at %s by the drift check. This post is updated when the drift ends; it is not repeated.", words.DateText(d.Since))
	dest := "this destination only (" + place + ")"
	if d.Dest == "" {
		dest = "every Heroku and GitHub Actions destination of " + d.Secret
	}
	var b *slack.ButtonBlockElement
	switch {
	case d.Retired != nil:
		lines = append(lines, fmt.Sprintf("Nothing sets that token anywhere: `/rotate %s` starts a rotation with a brand-new one.", d.Secret), seen)
		return []slack.Block{section(clip(strings.Join(lines, "\n"), cardSectionChars))}
	case d.RequestedBy != "":
		lines = append(lines, fmt.Sprintf("%s asked at %s to set %s from Infisical's version %d (`%s`). Another ops member approves (not %s); nothing is written before.",
			words.Mention(d.RequestedBy), words.DateText(d.RequestedAt), dest, d.RequestedVersion, d.Fingerprint, words.Mention(d.RequestedBy)), seen)
		b = slack.NewButtonBlockElement(ActDriftApprove, driftValue(d, d.RequestedVersion), ptxt(LabelApprove))
		b.Confirm = confirmDialog("Approve setting it from Infisical?", fmt.Sprintf("rotabot writes Infisical's %s (version %d, %s) to %s and verifies each. %s asked for it. Nothing else changes.",
			d.Secret, d.RequestedVersion, d.Fingerprint, dest, words.Mention(d.RequestedBy)), "Approve")
	case d.Dest == "":
		lines = append(lines, fmt.Sprintf("Set it from Infisical asks to write Infisical's current value (version %d, `%s`) to %s and verify each; a second ops member approves before anything is written. Shell-rc operators are not told.",
			d.VaultVersion, d.Fingerprint, dest), seen)
		b = slack.NewButtonBlockElement(ActDriftRepair, driftValue(d, d.VaultVersion), ptxt(LabelDriftRepair))
		b.Confirm = confirmDialog("Ask to set it from Infisical?", fmt.Sprintf("You ask a second ops member to approve writing Infisical's current %s (version %d, %s) to %s. Nothing is written before they approve.",
			d.Secret, d.VaultVersion, d.Fingerprint, dest), "Ask")
	default:
		lines = append(lines, fmt.Sprintf("Set it from Infisical writes Infisical's current value (version %d, `%s`) to this destination only and verifies it.", d.VaultVersion, d.Fingerprint), seen)
		b = slack.NewButtonBlockElement(ActDriftRepair, driftValue(d, d.VaultVersion), ptxt(LabelDriftRepair))
		b.Confirm = confirmDialog("Set it from Infisical?", fmt.Sprintf("rotabot writes Infisical's current %s (version %d, %s) to %s and verifies it. Nothing else changes.",
			d.Secret, d.VaultVersion, d.Fingerprint, dest), "Set it")
	}
	b.Style = slack.StylePrimary
	return []slack.Block{section(clip(strings.Join(lines, "\n"), cardSectionChars)), slack.NewActionBlock("drift_repair", b)}
}

// DriftReportText draws a drift pass's report (/rotate drift), within one
// message.
func DriftReportText(rep drift.Report) string {
	var b strings.Builder
	if rep.Busy {
		b.WriteString("*Drift check* — another rotabot process is checking right now; this is what is known.\n")
	} else {
		fmt.Fprintf(&b, "*Drift check* — %s compared with Infisical: %s read, %s asked when they were written.",
			words.Plural(rep.Secrets, "secret", "secrets"), words.Plural(rep.Apps, "Heroku config", "Heroku configs"),
			words.Plural(rep.Dated, "GitHub secret", "GitHub secrets"))
		if len(rep.Skipped) > 0 {
			fmt.Fprintf(&b, " Skipped (an open run sets them): %s.", strings.Join(rep.Skipped, ", "))
		}
		b.WriteString("\n")
		if rep.New > 0 || rep.Resolved > 0 {
			fmt.Fprintf(&b, "%d new, %d resolved in this check.\n", rep.New, rep.Resolved)
		}
	}
	if len(rep.Open) == 0 {
		b.WriteString("✅ No drift: every destination holds what rotabot last set.\n")
	} else {
		fmt.Fprintf(&b, "*Open drift (%d)* — each has a post in the ops channel with *%s*:\n", len(rep.Open), LabelDriftRepair)
		for _, d := range rep.Open {
			b.WriteString("• " + DriftLine(d) + "\n")
		}
	}
	for _, p := range rep.Problems {
		b.WriteString("⚠️ not checked: " + p + "\n")
	}
	return clip(strings.TrimRight(b.String(), "\n"), messageChars)
}

// driftSection is the open drift for App Home and /rotate expiring ("" when
// there is none), within max characters.
func driftSection(ds []drift.Record, max int) string {
	if len(ds) == 0 {
		return ""
	}
	lines := []string{fmt.Sprintf("*Drift (%d)* — a destination no longer holds what rotabot set (`/rotate drift` checks now):", len(ds))}
	used := slackLen(lines[0])
	for i, d := range ds {
		l := "• " + DriftLine(d)
		if used+slackLen(l)+1 > max-80 {
			lines = append(lines, fmt.Sprintf("…and %d more", len(ds)-i))
			break
		}
		lines = append(lines, l)
		used += slackLen(l) + 1
	}
	return strings.Join(lines, "\n")
}
