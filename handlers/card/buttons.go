package card

import (
	"fmt"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
	"github.com/slack-go/slack"
)

// Button is one of the run card's buttons as the gesture table (package
// handlers) names it: its action id, its label, and the event of the transition
// table it asks for. The card draws it when the run can take that event
// (rotation.Run.Can); how it looks — its style, its confirm dialog — is card's.
type Button struct {
	Action, Label string
	Event         rotation.Event
}

// RunButtons draws those of buttons that make sense for the run now: those whose
// event the run can take, in the order given.
func RunButtons(r *rotation.Run, buttons []Button) []*slack.ButtonBlockElement {
	var out []*slack.ButtonBlockElement
	for _, b := range buttons {
		if !r.Can(b.Event) {
			continue
		}
		if el := draw(b, r); el != nil {
			out = append(out, el)
		}
	}
	return out
}

// draw is how each button looks for the run: its style and confirm dialog;
// nil leaves it out (a detail the transition table does not hold).
func draw(b Button, r *rotation.Run) *slack.ButtonBlockElement {
	minted := r.TokenKind.Minted()
	switch b.Action {
	case ActSubmit, ActMint:
		if minted != (b.Action == ActMint) {
			return nil // a minted kind has nothing to paste; a PAT is made by a person
		}
		return button(b, r, slack.StylePrimary, nil)
	case ActRetry:
		return button(b, r, slack.StylePrimary, nil)
	case ActApprove:
		return button(b, r, slack.StylePrimary, confirmDialog("Approve this rotation?",
			fmt.Sprintf("The new token (%s, login %s, %s) becomes %s in Infisical and is set on %d destinations.",
				r.NewFingerprint, r.Login, words.ExpiryText(r.NewExpiry), r.Secret, len(r.Destinations)), "Approve"))
	case ActRevokeAPI:
		if r.RevokeSent {
			return nil // the old token already went to GitHub's revoke endpoint
		}
		how := "The bot sends the old token (" + r.OldFingerprint + ") to GitHub's revoke endpoint. "
		if minted {
			how = "The bot deletes the old key's authorization (" + r.OldFingerprint + ") at Heroku. "
		}
		return button(b, r, slack.StyleDanger, confirmDialog("Revoke the old token?", how+revokeWarning(r), "Revoke"))
	case ActRevokeManual:
		if minted && !r.RevokeSent {
			return nil // one button: the bot deletes it; there is no settings page to visit
		}
		if r.RevokeSent {
			// No way back: this only checks the old token again.
			return button(b, r, "", confirmDialog("Check the old token again?",
				"The bot checks that the old token ("+r.OldFingerprint+") answers 401.", "Check it"))
		}
		return button(b, r, "", confirmDialog("Did you revoke the old token?",
			"The bot checks that the old token ("+r.OldFingerprint+") answers 401. "+revokeWarning(r), "Yes, check it"))
	case ActRollback:
		return button(b, r, slack.StyleDanger, confirmDialog("Roll back?",
			fmt.Sprintf("Infisical and every destination already written get the old %s back; shell-rc operators are told to revert.", r.Secret), "Roll back"))
	}
	// Cancel, and Abandon, whose form is its confirm dialog (AbandonModal).
	return button(b, r, "", nil)
}

func button(b Button, r *rotation.Run, style slack.Style, confirm *slack.ConfirmationBlockObject) *slack.ButtonBlockElement {
	el := slack.NewButtonBlockElement(b.Action, ButtonValue(r), ptxt(b.Label))
	if style != "" {
		el.Style = style
	}
	if confirm != nil {
		el.Confirm = confirm
	}
	return el
}

// revokeWarning is what a revoke button's confirm dialog warns of.
func revokeWarning(r *rotation.Run) string {
	warn := "After this, rollback is impossible."
	warn += oldHolderWarning(r)
	if ops := r.PendingOperators(); len(ops) > 0 {
		warn += " " + mentions(ops) + " has not confirmed updating their shell rc yet."
	}
	if apps := r.Watching(); len(apps) > 0 {
		var until time.Time
		for _, d := range r.Destinations {
			if d.Watch != nil && d.Watch.State == rotation.WatchWatching && d.Watch.Until.After(until) {
				until = d.Watch.Until
			}
		}
		warn += fmt.Sprintf(" Logs of %s watched until %s.", strings.Join(apps, ", "), clock(until))
	}
	if d := r.OldHolders; d != nil && len(d.Copies) > 0 {
		// Last: a dialog's text is short, and what may hold it is on the card.
		warn += " " + words.Plural(len(d.Copies), "unlisted GitHub secret", "unlisted GitHub secrets") + " of the same name may hold it."
	}
	return warn
}

// oldHolderWarning is what the revoke confirmation repeats of the scan.
func oldHolderWarning(r *rotation.Run) string {
	d := r.OldHolders
	if d == nil {
		return ""
	}
	switch n := len(d.Holders); {
	case n == 1:
		return " " + discover.OldHolderLine(d.Holders[0], false) + "."
	case n > 1:
		return fmt.Sprintf(" %s and %d more still hold the old token: revoking breaks them.", d.Holders[0].Label(), n-1)
	case d.Problem != "":
		return " The scan for other holders of the old token is incomplete."
	}
	return ""
}

func mentions(users []string) string {
	var out []string
	for _, u := range users {
		out = append(out, rotation.OperatorName(u))
	}
	return strings.Join(out, ", ")
}
