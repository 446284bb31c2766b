package card_test

import (
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/slack-go/slack"
)

// driftButtons are the buttons of a drift post.
func driftButtons(blocks []slack.Block) []*slack.ButtonBlockElement {
	var out []*slack.ButtonBlockElement
	for _, b := range blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					out = append(out, btn)
				}
			}
		}
	}
	return out
}

// A drift post offers only what makes sense now, and each button names the
// version its confirm dialog shows: Set it from Infisical for one destination;
// for a version drift the same button asks (a second ops member approves);
// once asked, Approve; nothing when Infisical holds a retired token.
func TestDriftPostOffersWhatMakesSense(t *testing.T) {
	since := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	app := drift.Record{Key: "S:heroku:app:S", Secret: "S", Kind: drift.KindValue, Dest: rotation.DestHeroku, Target: "app", Name: "S",
		Open: true, Problem: "it holds a value other than Infisical's version 3 (`abcd0123`): changed outside rotabot", Since: since, VaultVersion: 3, Fingerprint: "abcd0123"}
	vault := drift.Record{Key: "S:vault", Secret: "S", Kind: drift.KindVersion, Open: true, Problem: "Infisical holds version 3", Since: since, VaultVersion: 3, Fingerprint: "abcd0123"}
	asked := vault
	asked.RequestedBy, asked.RequestedAt, asked.RequestedVersion = "U0ALICE", since, 3
	retired := app
	retired.Retired = &rotation.Retirement{Run: "r1", At: since, Revoked: true}
	for _, c := range []struct {
		name          string
		d             drift.Record
		action, label string
		confirm, text string
	}{
		{"one destination", app, card.ActDriftRepair, card.LabelDriftRepair, "(version 3, abcd0123) to this destination only", "writes Infisical's current value (version 3, `abcd0123`) to this destination only"},
		{"every destination", vault, card.ActDriftRepair, card.LabelDriftRepair, "You ask a second ops member to approve writing Infisical's current S (version 3, abcd0123)", "a second ops member approves before anything is written"},
		{"asked", asked, card.ActDriftApprove, card.LabelApprove, "<@U0ALICE> asked for it", "<@U0ALICE> asked at 2026-11-28 10:00 UTC to set every Heroku and GitHub Actions destination of S from Infisical's version 3"},
		{"retired", retired, "", "", "", "Nothing sets that token anywhere: `/rotate S` starts a rotation with a brand-new one."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, blocks := card.DriftMessage(c.d)
			text := blocks[0].(*slack.SectionBlock).Text.Text
			if !strings.Contains(text, c.text) {
				t.Errorf("the post says:\n%s\nwant %q", text, c.text)
			}
			bs := driftButtons(blocks)
			if c.action == "" {
				if len(bs) != 0 {
					t.Fatalf("buttons %v, want none", bs)
				}
				return
			}
			if len(bs) != 1 || bs[0].ActionID != c.action || bs[0].Text.Text != c.label || bs[0].Confirm == nil {
				t.Fatalf("buttons %+v", bs)
			}
			if key, stamp, version := card.ParseDriftButton(bs[0].Value); key != c.d.Key || stamp != c.d.Stamp() || version != 3 {
				t.Errorf("the button carries %q", bs[0].Value)
			}
			if got := bs[0].Confirm.Text.Text; !strings.Contains(got, c.confirm) {
				t.Errorf("the confirm dialog says %q, want %q", got, c.confirm)
			}
		})
	}
	// A post made before buttons named a version: the record's is used.
	if key, stamp, version := card.ParseDriftButton("S:vault|abc"); key != "S:vault" || stamp != "abc" || version != 0 {
		t.Errorf("an older button: %q %q %d", key, stamp, version)
	}
}
