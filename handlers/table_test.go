package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"testing"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/raxx-app/rotabot/rotation/expiry"
	"github.com/slack-go/slack"
)

// drawnButtons are the action ids of every button card draws: on the run card
// in any state, in a shell-rc operator's DM, in a reminder, on a drift post.
func drawnButtons() map[string]bool {
	drawn := map[string]bool{}
	collect := func(blocks []slack.Block) {
		for _, b := range blocks {
			if a, ok := b.(*slack.ActionBlock); ok {
				for _, el := range a.Elements.ElementSet {
					if btn, ok := el.(*slack.ButtonBlockElement); ok {
						drawn[btn.ActionID] = true
					}
				}
			}
		}
	}
	for _, s := range rotation.States {
		for _, sent := range []bool{false, true} {
			collect(card.Run(&rotation.Run{ID: "r7", Secret: "X", State: s, RevokeSent: sent}, nil, CardButtons()))
			collect(card.Run(&rotation.Run{ID: "r7", Secret: "X", State: s, RevokeSent: sent, TokenKind: rotation.HerokuAPIKey}, nil, CardButtons()))
		}
	}
	_, dm := card.OperatorDM(&rotation.Run{ID: "r7", Secret: "X"}, rotation.OperatorUpdate, rotation.VaultRef{})
	collect(dm)
	_, reminder := card.ReminderMessage(expiry.Reminder{Kind: expiry.Due, Secret: "X"}, true, "C0OPS")
	collect(reminder)
	drift := drift.Record{Key: "X:vault", Secret: "X", Kind: drift.KindVersion, Open: true}
	_, post := card.DriftMessage(drift)
	collect(post)
	drift.RequestedBy = "U0ALICE"
	_, post = card.DriftMessage(drift)
	collect(post)
	return drawn
}

// A button is one row: every button card draws has exactly one row in the
// gesture table, and every row is a button drawn somewhere. Who may press: an
// ops member, but for Done, which the engine gives to the DM's own operator;
// only a run card button goes back or out of a run.
func TestEveryButtonIsOneRowOfTheTable(t *testing.T) {
	drawn := drawnButtons()
	rows := map[string]int{}
	for _, g := range gestures {
		rows[g.Action]++
	}
	for a := range drawn {
		if rows[a] != 1 {
			t.Errorf("the button %s is drawn and has %d rows in the gesture table, want 1", a, rows[a])
		}
	}
	for _, g := range gestures {
		if !drawn[g.Action] {
			t.Errorf("the row %s (%s) is a button card draws nowhere", g.Action, g.Label)
		}
		if (g.who == dmOperator) != (g.Action == ActDone) {
			t.Errorf("%s: who may press it = %v", g.Label, g.who)
		}
		if g.back && g.Event == "" {
			t.Errorf("%s goes back or out of a run, but is not a run card button", g.Label)
		}
	}
}

// ...and one case: press has exactly one case for each row of the table, and
// none for a button that is not a row.
func TestEveryRowHasOneCase(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "gestures.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var rows, cases []string
	ast.Inspect(file, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.KeyValueExpr: // a row's Action: ActX
			if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Action" {
				if v, ok := x.Value.(*ast.Ident); ok {
					rows = append(rows, v.Name)
				}
			}
		case *ast.FuncDecl:
			if x.Name.Name != "press" {
				return false
			}
			ast.Inspect(x.Body, func(n ast.Node) bool {
				if cc, ok := n.(*ast.CaseClause); ok {
					for _, e := range cc.List {
						if id, ok := e.(*ast.Ident); ok {
							cases = append(cases, id.Name)
						}
					}
				}
				return true
			})
			return false
		}
		return true
	})
	slices.Sort(rows)
	slices.Sort(cases)
	if len(rows) != len(gestures) {
		t.Fatalf("found %d rows in gestures.go, the table has %d", len(rows), len(gestures))
	}
	if !slices.Equal(rows, cases) {
		t.Errorf("rows %v\ncases %v\nwant one case per row", rows, cases)
	}
}
