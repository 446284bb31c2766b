package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbinfisical "github.com/raxx-app/rotabot/sandbox/infisical"
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
	w.Infisical.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 302, Redirect: sink.URL + "/x"})
	w.GitHub.Fail("GET /user", &sandbox.Fault{Status: 308, Redirect: sink.URL + "/user"})

	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
	must(t, demo.WaitFor("the bot to try Slack and Infisical", func() bool {
		return w.Slack.Count("POST /api/chat.postMessage", false) > 0 && w.Infisical.Count(sbinfisical.InfisicalGetSecret, false) > 0
	}))
	must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN --dry-run"))
	must(t, demo.WaitFor("the dry run's answer", func() bool { return h.EphemeralCount(demo.Alice) >= 1 }))
	w.Infisical.Fail(sbinfisical.InfisicalGetSecret, nil)
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

// `rotabot check` refuses a matrix whose probe is an absolute URL in disguise, whose
// verify check speaks plain http off loopback, or whose headers_env names one of
// rotabot's own credentials: each with FILE:LINE, exit 1.
func TestCheckRefusesWhereCredentialsWouldGo(t *testing.T) {
	example, err := os.ReadFile("../../rotabot.example.yaml")
	must(t, err)
	doc := string(example)
	for _, c := range []struct{ name, from, to, want string }{
		{"probe", "probe: /repos/", "probe: /https://evil.example/repos/", ": GITHUB_API_READONLY_TOKEN: probe \"/https://evil.example/repos/"},
		{"http verify", "url: https://console.raxx.app/", "url: http://console.raxx.app/", ": url \"http://console.raxx.app/"},
		{"credential in headers_env", "Cookie: CONSOLE_OPS_COOKIE", "Cookie: HEROKU_API_KEY", ": header Cookie names HEROKU_API_KEY, one of rotabot's own variables"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(doc, c.from) {
				t.Fatalf("the example has no %q", c.from)
			}
			file := filepath.Join(t.TempDir(), "rotabot.yaml")
			must(t, os.WriteFile(file, []byte(strings.Replace(doc, c.from, c.to, 1)), 0o600))
			code, out, errs := runCLI(t, nil, "check", "--config", file)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s%s", code, out, errs)
			}
			line := regexp.MustCompile(regexp.QuoteMeta(file) + `:[0-9]+: .*` + regexp.QuoteMeta(strings.TrimPrefix(c.want, ": ")))
			if !line.MatchString(out + errs) {
				t.Errorf("no FILE:LINE line with %q:\n%s%s", c.want, out, errs)
			}
		})
	}
}
