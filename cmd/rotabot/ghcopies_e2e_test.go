package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// The example matrix's environment and Dependabot secrets are written with the
// new token by a run (sealed with their own scope's keys, opened by the
// stand-in), labelled plainly on the card, and each shows drift when it is
// changed by hand after rotabot's write.
func TestGitHubCopiesRotatedAndDriftOnEachKind(t *testing.T) {
	t.Parallel()
	h := startBot(t)
	h.trackAppSecrets()
	card := h.toApproval(t, "r1")
	text := demo.CardText(card)
	for _, want := range []string{
		"GitHub environment secret raxx-app/TradeMasterAPI · production · GH_API_READONLY_TOKEN",
		"Dependabot secret raxx-app/TradeMasterAPI · GH_API_READONLY_TOKEN",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the card does not label %q:\n%s", want, text)
		}
	}
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	for _, c := range []struct {
		scope  sbgithub.GHScope
		target string
	}{{sbgithub.GHEnvironment, "raxx-app/TradeMasterAPI/production"}, {sbgithub.GHDependabot, "raxx-app/TradeMasterAPI"}} {
		if v, _, _, _, ok := h.World.GitHub.GHSecret(c.scope, c.target, "GH_API_READONLY_TOKEN"); !ok || v != h.Fresh[0] {
			t.Errorf("the %s secret of %s does not hold the new token", c.scope, c.target)
		}
	}
	h.World.GitHub.Revoke(h.OldToken)
	must(t, h.Click(demo.Alice, card, handlers.LabelRevokeManual))
	h.mustCard(t, "r1", "Completed")
	h.StopBot()
	h.Env["ROTABOT_DRIFT_INTERVAL"] = "1s"
	must(t, h.StartBot(context.Background(), demoBot))

	// gh secret set --env production and --app dependabot by hand, ten
	// minutes after rotabot's write.
	other := demo.FineGrainedToken()
	h.Track(other)
	h.World.GitHub.SetNow(func() time.Time { return rotation.WallNow().Add(10 * time.Minute) })
	h.World.GitHub.SetGHSecret(sbgithub.GHEnvironment, "raxx-app/TradeMasterAPI/production", "GH_API_READONLY_TOKEN", other, "")
	h.World.GitHub.SetGHSecret(sbgithub.GHDependabot, "raxx-app/TradeMasterAPI", "GH_API_READONLY_TOKEN", other, "")
	if err := demo.WaitFor("a drift post per kind", func() bool { return len(h.driftPosts()) == 2 }); err != nil {
		t.Fatalf("%v: %d posts; logs:\n%s", err, len(h.driftPosts()), h.Logs.String())
	}
	var texts []string
	for _, p := range h.driftPosts() {
		texts = append(texts, demo.CardText(p))
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"GITHUB_API_READONLY_TOKEN on GitHub environment secret raxx-app/TradeMasterAPI · production · GH_API_READONLY_TOKEN",
		"GITHUB_API_READONLY_TOKEN on Dependabot secret raxx-app/TradeMasterAPI · GH_API_READONLY_TOKEN",
		"after rotabot's last write at",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the drift posts lack %q:\n%s", want, all)
		}
	}
}
