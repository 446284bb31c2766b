package main

import (
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
)

// Every service the bot speaks to answers with a redirect to another host: the
// Slack Web API (a 307 resends the form holding the bot token), Infisical (the
// machine identity's access token) and GitHub (the token under check). The other
// host receives nothing, and the bot stays up.
func TestBotSendsNoCredentialOffItsHost(t *testing.T) {
	h := startBot(t)
	sink := sandbox.NewSink()
	t.Cleanup(sink.Close)
	w := h.World
	w.Slack.Fail("POST /api/chat.postMessage", &sandbox.Fault{Status: 307, Redirect: sink.URL + "/api/chat.postMessage"})
	w.Infisical.Fail(sandbox.InfisicalGetSecret, &sandbox.Fault{Status: 302, Redirect: sink.URL + "/x"})
	w.GitHub.Fail("GET /user", &sandbox.Fault{Status: 308, Redirect: sink.URL + "/user"})

	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	must(t, demo.WaitFor("the bot to try Slack and Infisical", func() bool {
		return w.Slack.Count("POST /api/chat.postMessage", false) > 0 && w.Infisical.Count(sandbox.InfisicalGetSecret, false) > 0
	}))
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN --dry-run"))
	must(t, demo.WaitFor("the dry run's answer", func() bool { return h.EphemeralCount(demo.Alice) >= 1 }))
	w.Infisical.Fail(sandbox.InfisicalGetSecret, nil)
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN --dry-run"))
	must(t, demo.WaitFor("the second dry run's answer", func() bool { return h.EphemeralCount(demo.Alice) >= 2 }))
	if n := len(sink.Requests()); n != 0 {
		for _, r := range sink.Requests() {
			t.Logf("the other host received %s %s", r.Method, r.Path)
		}
		t.Fatalf("the other host received %d requests", n)
	}
	for i, service := range []string{"INFISICAL_SITE_URL", "GITHUB_API_URL"} {
		text, _ := h.WaitEphemeral(demo.Alice, i+1)
		if !strings.Contains(text, "did not follow it; check "+service) {
			t.Errorf("dry run %d does not say the redirect was refused: %q", i+1, text)
		}
	}
	if w.GitHub.Count("GET /user", false) == 0 {
		t.Error("the second dry run did not ask GitHub")
	}
}
