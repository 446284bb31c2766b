package card

import (
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// AuditText is an audit post; its first line is the action. It holds
// fingerprints, never a value.
func AuditText(e rotation.AuditEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", e.Action)
	if e.Action == rotation.ActionDriftRepaired {
		fmt.Fprintf(&b, "secret: %s · set from Infisical by %s", e.Secret, words.Mention(e.Actor))
		if e.Approver != "" {
			fmt.Fprintf(&b, " · approver: %s", words.Mention(e.Approver))
		}
		fmt.Fprintf(&b, " · new %s", orNone(e.NewFingerprint))
		for _, d := range e.Destinations {
			fmt.Fprintf(&b, "\n• %s: %s", d.Destination, d.Result)
		}
		return b.String()
	}
	if e.Action == rotation.ActionAutoStarted {
		fmt.Fprintf(&b, "secret: %s · run %s · started by %s\ntoken: %s · current %s · %s\nwhy: %s",
			e.Secret, e.RunID, words.Mention(e.Actor), e.TokenKind, orNone(e.OldFingerprint), words.ExpiryText(e.OldExpiry), e.Reason)
		return b.String()
	}
	fmt.Fprintf(&b, "secret: %s · run %s\n", e.Secret, e.RunID)
	fmt.Fprintf(&b, "actor: %s", words.Mention(e.Actor))
	if e.Approver != "" {
		fmt.Fprintf(&b, " · approver: <@%s>", e.Approver)
	}
	fmt.Fprintf(&b, "\ntoken: %s · method: %s", e.TokenKind, e.Method)
	if e.RevokeMethod != "" {
		fmt.Fprintf(&b, " · revoke: %s", e.RevokeMethod)
	}
	fmt.Fprintf(&b, "\nfingerprints: old %s → new %s\n", orNone(e.OldFingerprint), orNone(e.NewFingerprint))
	fmt.Fprintf(&b, "expiry: old %s → new %s\n", words.ExpiryText(e.OldExpiry), words.ExpiryText(e.NewExpiry))
	b.WriteString("destinations:")
	for _, d := range e.Destinations {
		fmt.Fprintf(&b, "\n• %s: %s", d.Destination, d.Result)
	}
	if e.Action == rotation.ActionAbandoned {
		fmt.Fprintf(&b, "\nabandoned in: %s (%s)\nreason: %s\nleft:", e.FromState.Word(), e.FromState, e.Reason)
		for _, l := range e.Leaves {
			fmt.Fprintf(&b, "\n• %s", l)
		}
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// OperatorDM is what a shell-rc operator is told in their DM: the fallback text
// and the blocks. The DM never holds the token: it says how to pull it from
// Infisical, at vault (the run's secret there). A rotation's DM ends with Done;
// a rollback's asks to revert.
func OperatorDM(r *rotation.Run, action rotation.OperatorAction, vault rotation.VaultRef) (string, []slack.Block) {
	pull := fmt.Sprintf("```export %s=\"$(infisical secrets get %s --env=%s --path=%s --plain --projectId=$INFISICAL_PROJECT_ID)\"```",
		r.Secret, r.Secret, vault.Environment, vault.Path)
	if action == rotation.OperatorRevert {
		text := fmt.Sprintf("↩️ Rotation %s of *%s* was rolled back: the old token is current again in Infisical. Put it back in your shell rc (e.g. ~/.zshrc):\n%s\nthen open a new shell.", r.ID, r.Secret, pull)
		return text, []slack.Block{section(text)}
	}
	text := fmt.Sprintf("🔄 *%s* was rotated (run %s, new token `%s`). Update your shell rc (e.g. ~/.zshrc) from Infisical:\n%s\nthen open a new shell and press *%s*.", r.Secret, r.ID, r.NewFingerprint, pull, LabelDone)
	done := slack.NewButtonBlockElement(ActDone, doneValue(r), ptxt(LabelDone))
	done.Style = slack.StylePrimary
	return text, []slack.Block{section(text), slack.NewActionBlock("done_"+r.ID, done)}
}
