package main

import (
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/sandbox/demo"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// Outside the ops group, App Home says who may use rotabot and shows no runs,
// secrets or expiry; help and parse errors name no secret.
func TestOutsidersSeeNoSecrets(t *testing.T) {
	h := startBot(t)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	h.mustCard(t, "r1", "Waiting for token")
	secrets := []string{"GITHUB_API_READONLY_TOKEN", "GITHUB_API_DISPATCH_TOKEN", "r1", "expires", "Waiting for token"}

	_, err := h.World.Slack.SendAppHomeOpened(demo.Mallory)
	must(t, err)
	var home sbslack.View
	must(t, demo.WaitFor("App Home", func() bool {
		var ok bool
		home, ok = h.World.Slack.HomeView(demo.Mallory)
		return ok
	}))
	text := home.Content()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("an outsider's App Home shows %q:\n%s", s, text)
		}
	}
	if !strings.Contains(text, "<!subteam^S0OPS>") {
		t.Errorf("App Home does not say who may use rotabot:\n%s", text)
	}

	for i, cmd := range []string{"help", "nonsense words", "GITHUB_API_READONLY", "github_api_readonly_token", "--dry-run", "history"} {
		must(t, h.Slash(demo.Mallory, "C0ELSEWHERE", cmd))
		answer, err := h.WaitEphemeral(demo.Mallory, i+1)
		must(t, err)
		for _, s := range secrets[:2] {
			if strings.Contains(answer, s) {
				t.Errorf("/rotate %s told an outsider %q:\n%s", cmd, s, answer)
			}
		}
	}
	// Ops members still see everything.
	_, err = h.World.Slack.SendAppHomeOpened(demo.Bob)
	must(t, err)
	must(t, demo.WaitFor("Bob's App Home", func() bool {
		v, ok := h.World.Slack.HomeView(demo.Bob)
		return ok && strings.Contains(v.Content(), "GITHUB_API_DISPATCH_TOKEN")
	}))
	must(t, h.Slash(demo.Bob, "C0ELSEWHERE", "help"))
	h.mustEphemeral(t, demo.Bob, 1, "GITHUB_API_READONLY_TOKEN")
}
