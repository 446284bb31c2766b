package card_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// checkSlackLimits fails the test when Slack would refuse the blocks
// (invalid_blocks): over 50 blocks, or a section or context text over 3000
// characters.
func checkSlackLimits(t *testing.T, blocks []slack.Block) {
	t.Helper()
	if len(blocks) > 50 {
		t.Errorf("%d blocks, Slack takes 50", len(blocks))
	}
	for i, b := range blocks {
		switch x := b.(type) {
		case *slack.SectionBlock:
			if n := card.SlackLen(x.Text.Text); n > 3000 || n == 0 {
				t.Errorf("block %d: section of %d characters", i, n)
			}
		case *slack.ContextBlock:
			for _, el := range x.ContextElements.Elements {
				if tx, ok := el.(*slack.TextBlockObject); ok && card.SlackLen(tx.Text) > 3000 {
					t.Errorf("block %d: context of %d characters", i, card.SlackLen(tx.Text))
				}
			}
		}
	}
}

func manyDestinations(n int) []rotation.Destination {
	ds := make([]rotation.Destination, n)
	for i := range ds {
		ds[i] = rotation.Destination{Kind: rotation.DestHeroku, Target: fmt.Sprintf("raxx-console-region-%04d", i), State: rotation.DestFailed,
			Attempts: 2, LastError: "Heroku answered 503: API is temporarily unavailable."}
		if i%3 == 0 {
			ds[i].State, ds[i].LastError = rotation.DestVerified, ""
		}
	}
	return ds
}

// A secret set on many apps, with a long error, still makes a card Slack takes:
// every destination listed while they fit, the rest counted.
func TestCardFitsSlackWithManyDestinations(t *testing.T) {
	long := strings.Repeat("100 of 100 destinations failed (Heroku answered 503); ", 100)
	for _, n := range []int{100, 2000} {
		r := &rotation.Run{ID: "r7", Secret: "GITHUB_API_READONLY_TOKEN", State: rotation.StatePropagateFailed,
			TokenKind: rotation.FineGrained, Notice: long, Destinations: manyDestinations(n),
			Warnings: []string{long, "second"},
			Steps:    []rotation.StepRecord{{Name: rotation.StepPropagate, State: rotation.StepFailed, Message: long}}}
		blocks := card.Run(r, nil, handlers.CardButtons())
		checkSlackLimits(t, blocks)
		text := card.BlocksText(blocks)
		if !strings.Contains(text, "*Destinations*") || !strings.Contains(text, "[Retry] [Rollback]") {
			t.Errorf("%d destinations: the card lost its destinations or buttons:\n%.500s", n, text)
		}
		listed := strings.Count(text, "Heroku raxx-console-region-")
		if n == 100 && listed != 100 {
			t.Errorf("100 destinations: %d listed, want all", listed)
		}
		if n == 2000 {
			more := fmt.Sprintf("…and %d more destinations (", n-listed)
			if listed < 100 || !strings.Contains(text, more) {
				t.Errorf("2000 destinations: %d listed and no %q line", listed, more)
			}
		}
	}
}
