package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// ghPlace is one place GitHub keeps a copy of the token, as the stand-in
// names it and as the card labels it.
type ghPlace struct {
	scope  sbgithub.GHScope
	target string
	label  string
}

// everyGitHubKind is the example's secret held in every GitHub kind at once:
// its repository's Actions secret, two environments named with a space and a
// slash, the organisation's Actions secret, and Dependabot's of the repository
// and of the organisation.
var everyGitHubKind = []ghPlace{
	{sbgithub.GHActions, "raxx-app/TradeMasterAPI", "GitHub Actions raxx-app/TradeMasterAPI (GH_API_READONLY_TOKEN)"},
	{sbgithub.GHEnvironment, "raxx-app/TradeMasterAPI/prod east", "GitHub environment secret raxx-app/TradeMasterAPI · prod east · GH_API_READONLY_TOKEN"},
	{sbgithub.GHEnvironment, "raxx-app/TradeMasterAPI/team/prod", "GitHub environment secret raxx-app/TradeMasterAPI · team/prod · GH_API_READONLY_TOKEN"},
	{sbgithub.GHOrg, "raxx-app", "GitHub organisation secret raxx-app · GH_API_READONLY_TOKEN"},
	{sbgithub.GHDependabot, "raxx-app/TradeMasterAPI", "Dependabot secret raxx-app/TradeMasterAPI · GH_API_READONLY_TOKEN"},
	{sbgithub.GHDependabotOrg, "raxx-app", "Dependabot organisation secret raxx-app · GH_API_READONLY_TOKEN"},
}

// startBotEveryGitHubKind is startBot on the example matrix with the first
// secret held in every GitHub kind, each place holding the old token, the
// organisation's Actions secret readable by two selected repositories.
func startBotEveryGitHubKind(t *testing.T) *harness {
	t.Helper()
	h := startBot(t)
	h.StopBot()
	y := h.Env["ROTABOT_CONFIG"]
	for _, r := range [][2]string{
		{"github_environment_secrets: [raxx-app/TradeMasterAPI/production:GH_API_READONLY_TOKEN]",
			"github_environment_secrets: [raxx-app/TradeMasterAPI/prod east:GH_API_READONLY_TOKEN, raxx-app/TradeMasterAPI/team/prod:GH_API_READONLY_TOKEN]\n" +
				"      github_org_secrets: [raxx-app:GH_API_READONLY_TOKEN]"},
		{"dependabot_secrets: [raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN]", "dependabot_secrets: [raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN, raxx-app:GH_API_READONLY_TOKEN]"},
	} {
		if !strings.Contains(y, r[0]) {
			t.Fatalf("the example matrix has no %q", r[0])
		}
		y = strings.Replace(y, r[0], r[1], 1)
	}
	h.Env["ROTABOT_CONFIG"] = y
	g := h.World.GitHub
	g.AddEnvironment("raxx-app/TradeMasterAPI", "prod east")
	g.AddEnvironment("raxx-app/TradeMasterAPI", "team/prod")
	g.SetNow(func() time.Time { return rotation.WallNow().Add(-time.Hour) })
	for _, p := range everyGitHubKind {
		switch p.scope {
		case sbgithub.GHOrg:
			g.SetGHSecret(p.scope, p.target, "GH_API_READONLY_TOKEN", h.OldToken, "selected", "raxx-app/TradeMasterAPI", "raxx-app/billing")
		case sbgithub.GHDependabotOrg:
			g.SetGHSecret(p.scope, p.target, "GH_API_READONLY_TOKEN", h.OldToken, "private")
		default:
			g.SetGHSecret(p.scope, p.target, "GH_API_READONLY_TOKEN", h.OldToken, "")
		}
	}
	g.SetNow(nil)
	must(t, h.StartBot(context.Background(), demoBot))
	return h
}

// holdEach checks that every GitHub place holds want, and that the
// organisation secrets kept their visibility and selected repositories.
func (h *harness) holdEach(t *testing.T, when, want string, selected []int64) {
	t.Helper()
	for _, p := range everyGitHubKind {
		v, _, vis, sel, ok := h.World.GitHub.GHSecret(p.scope, p.target, "GH_API_READONLY_TOKEN")
		if !ok || v != want {
			t.Errorf("%s: %s holds %s, want %s", when, p.label, rotation.Fingerprint(v), rotation.Fingerprint(want))
		}
		switch {
		case p.scope == sbgithub.GHOrg && (vis != "selected" || !slices.Equal(sel, selected)):
			t.Errorf("%s: the organisation secret is %s %v, was selected %v", when, vis, sel, selected)
		case p.scope == sbgithub.GHDependabotOrg && vis != "private":
			t.Errorf("%s: the Dependabot organisation secret is %s, was private", when, vis)
		}
	}
}

// A secret held in every GitHub kind at once — the repository's Actions
// secret, environments named with a space and with a slash, the organisation's
// Actions secret and Dependabot's of the repository and the organisation — is
// written with the new token through a Slack run (each sealed with its own
// scope's key, opened by the stand-in), labelled plainly on the card; the
// organisation secrets keep their visibility and selected repositories; a
// Rollback puts the old token back in each; and each shows drift when it is
// changed by hand after rotabot's write.
func TestGitHubCopiesRotatedAndDriftOnEachKind(t *testing.T) {
	t.Parallel()
	h := startBotEveryGitHubKind(t)
	h.trackAppSecrets()
	_, _, _, selected, _ := h.World.GitHub.GHSecret(sbgithub.GHOrg, "raxx-app", "GH_API_READONLY_TOKEN")
	card := h.toApproval(t, "r1")
	text := demo.CardText(card)
	for _, p := range everyGitHubKind {
		if !strings.Contains(text, p.label) {
			t.Errorf("the card does not label %q:\n%s", p.label, text)
		}
	}
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	if n := strings.Count(demo.CardText(card), "— verified"); n != 8 { // two Heroku apps and six GitHub places
		t.Errorf("%d destinations verified, want 8:\n%s", n, demo.CardText(card))
	}
	h.holdEach(t, "after the run", h.Fresh[0], selected)

	must(t, h.Click(demo.Bob, card, handlers.LabelRollback))
	h.mustCard(t, "r1", "Rolled back")
	h.holdEach(t, "after the rollback", h.OldToken, selected)

	h.StopBot()
	h.Env["ROTABOT_DRIFT_INTERVAL"] = "1s"
	must(t, h.StartBot(context.Background(), demoBot))
	// gh secret set on each place by hand, ten minutes after rotabot's write.
	other := demo.FineGrainedToken()
	h.Track(other)
	h.World.GitHub.SetNow(func() time.Time { return rotation.WallNow().Add(10 * time.Minute) })
	for _, p := range everyGitHubKind {
		h.World.GitHub.SetGHSecret(p.scope, p.target, "GH_API_READONLY_TOKEN", other, "")
	}
	if err := demo.WaitFor("a drift post per place", func() bool { return len(h.driftPosts()) == len(everyGitHubKind) }); err != nil {
		t.Fatalf("%v: %d posts; logs:\n%s", err, len(h.driftPosts()), h.Logs.String())
	}
	var texts []string
	for _, p := range h.driftPosts() {
		texts = append(texts, demo.CardText(p))
	}
	all := strings.Join(texts, "\n")
	for _, p := range everyGitHubKind {
		if want := "GITHUB_API_READONLY_TOKEN on " + strings.Replace(p.label, " (GH_API_READONLY_TOKEN)", "", 1); !strings.Contains(all, want) {
			t.Errorf("the drift posts lack %q:\n%s", want, all)
		}
	}
	if !strings.Contains(all, "after rotabot's last write at") {
		t.Errorf("the drift posts do not say when rotabot wrote:\n%s", all)
	}
	// Each post names the kind of secret it found changed.
	for _, noun := range []string{"Actions", "environment", "organisation", "Dependabot"} {
		if want := "the " + noun + " secret was written at"; !strings.Contains(all, want) {
			t.Errorf("the drift posts lack %q:\n%s", want, all)
		}
	}
}
