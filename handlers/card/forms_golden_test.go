package card_test

import (
	"testing"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
)

// The forms: the token form (and the same form again with why the last token
// was refused), the lines that replace it while and after the token is
// checked, and the abandon form that is Abandon's confirm dialog — of the run as
// it is now, saying so when the card pressed showed it otherwise.
func TestForms(t *testing.T) {
	waiting := runIn(rotation.StateWaitingToken)
	golden(t, "form_token", view(card.TokenModal(waiting, "C0OPS", "")))
	golden(t, "form_token_refused", view(card.TokenModal(waiting, "C0OPS",
		"GitHub says this token belongs to raxx-old-bot, not raxx-bot. Nothing was saved.")))
	golden(t, "form_token_checking", view(card.InfoModal("⏳ Checking the token with GitHub…")))
	golden(t, "form_token_valid", view(card.InfoModal("✅ The token is valid and held as the pending value. A second ops member can approve now.")))

	leaves := []string{
		"Infisical: /github/GITHUB_API_READONLY_TOKEN in prod still holds the old value (version 6, 0ld0f1n9); the new token (9e3f01ab) waits in /github/pending/GITHUB_API_READONLY_TOKEN in prod — delete it there",
		"Heroku raxx-console-prod: not written: it holds the old value",
		"GitHub Actions raxx-app/deploy (GH_READONLY_TOKEN): not written: it holds the old value",
	}
	golden(t, "form_abandon", view(card.AbandonModal(runIn(rotation.StateWaitingApproval), rotation.StateWaitingApproval, leaves, "C0OPS")))
	failed := runIn(rotation.StatePropagateFailed)
	golden(t, "form_abandon_card_behind", view(card.AbandonModal(failed, rotation.StatePropagating, []string{
		"Infisical: /github/GITHUB_API_READONLY_TOKEN in prod holds the new value (version 7, 9e3f01ab); the old one is version 6 (0ld0f1n9)",
		"Heroku raxx-console-prod: written: it holds the new value",
		"GitHub Actions raxx-app/deploy (GH_READONLY_TOKEN): its write failed, but may have landed: it may hold the new value",
	}, "C0OPS")))
}
