package card

import (
	"fmt"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// TokenModal is the form for the new token of r, opened from a card in channel.
// problem, when not "", is why the last token submitted was refused (the form
// drawn again after a check slower than Slack's ack).
func TokenModal(r *rotation.Run, channel, problem string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(ptxt("github_pat_…"), ActionToken)
	block := slack.NewInputBlock(BlockToken, ptxt("New token for "+r.Secret),
		ptxt("Checked against GitHub, then kept only in Infisical. It is never shown again."), input)
	blocks := []slack.Block{section(fmt.Sprintf("Run *%s* · %s · expected login *%s*", r.ID, r.Secret, r.Login))}
	if problem != "" {
		blocks = append(blocks, section("❌ "+problem))
	}
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: ViewSubmitToken,
		Title:      ptxt("Submit new token"),
		Submit:     ptxt("Validate"),
		Close:      ptxt("Cancel"),
		// The run's creation stamp binds the form to this run, as it does buttons.
		PrivateMetadata: tokenFormMetadata(r, channel),
		ClearOnClose:    true,
		Blocks:          slack.Blocks{BlockSet: append(blocks, block)},
	}
}

// InfoModal is the token form replaced by one line: the check under way, or
// its success.
func InfoModal(text string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: ViewSubmitToken + "_info", Title: ptxt("Submit new token"), Close: ptxt("Close"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
}

// AbandonModal asks for the reason to abandon r, and says first what abandoning
// means and what the run leaves where — of the run as it is now, and, when the
// card pressed showed it otherwise (shown), that it did. Its private metadata is
// the run's button value now and the channel the click came from.
func AbandonModal(r *rotation.Run, shown rotation.State, leaves []string, channel string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(ptxt("old version gone from Infisical; restored by hand"), ActionReason)
	input.Multiline = true
	input.MaxLength = rotation.MaxReasonLen
	reason := slack.NewInputBlock(BlockReason, ptxt("Why?"), ptxt("Recorded in the audit trail with your name. Never paste a token."), input)
	lines := []string{"*What " + r.ID + " leaves where* — put these right by hand:"}
	for _, l := range leaves {
		lines = append(lines, "• "+l)
	}
	blocks := []slack.Block{section(fmt.Sprintf("Abandon run *%s* of %s? It is *%s*%s.\n"+
		"Abandoning writes nothing: rotabot stops tracking the run, the secret is free for a new run, and `%s` goes to the audit trail with your reason.",
		r.ID, r.Secret, r.State.Word(), atStep(r), rotation.ActionAbandoned))}
	if shown != "" && shown.Word() != r.State.Word() {
		blocks = append(blocks, section(fmt.Sprintf("_Your card showed %s as %s: this form shows it as it is now._", r.ID, shown.Word())))
	}
	blocks = append(blocks, sections(lines, 20, func(n int) string { return fmt.Sprintf("…and %d more", n) })...)
	blocks = append(blocks, reason)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      ViewAbandon,
		Title:           ptxt("Abandon " + r.ID),
		Submit:          ptxt("Abandon"),
		Close:           ptxt("Not now"),
		PrivateMetadata: abandonFormMetadata(r, channel),
		ClearOnClose:    true,
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// atStep names where a failed run stopped.
func atStep(r *rotation.Run) string {
	if r.State.Failed() {
		return " at " + string(r.State.Step())
	}
	return ""
}
