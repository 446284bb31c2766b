package main

import (
	"strings"
	"testing"

	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// `rotabot serve` (the real binary) reads every GitHub scope's public key at
// start-up and, with the other start-up problems, names each one GITHUB_TOKEN
// cannot reach: the permission to add for a 403 (fine-grained and classic), what
// GitHub does not show for a 404; it never connects. `rotabot check` stays
// offline; `rotabot check --github` says the same lines.
func TestServeNamesTheGitHubPermissionItLacks(t *testing.T) {
	h, env := cliWorld(t)
	h.World.GitHub.DenyAdmin(sbgithub.GHPermDependabotSecrets)
	y := env["ROTABOT_CONFIG"]
	env["ROTABOT_CONFIG"] = strings.Replace(y, "github_environment_secrets: [raxx-app/TradeMasterAPI/production:GH_API_READONLY_TOKEN]",
		"github_environment_secrets: [raxx-app/TradeMasterAPI/production:GH_API_READONLY_TOKEN, raxx-app/TradeMasterAPI/staging:GH_API_READONLY_TOKEN]", 1)
	if env["ROTABOT_CONFIG"] == y {
		t.Fatal("the example matrix has no environment secret to add to")
	}
	env["HEROKU_API_KEY"] = "wrong-key"
	connects := h.World.Slack.Connects()
	code, out, errs := runBinary(t, t.TempDir(), env, "serve")
	lines := problemLines(errs)
	want := []string{
		`GitHub has no environment "staging" in raxx-app/TradeMasterAPI (404 for the environment secrets of raxx-app/TradeMasterAPI · staging): create it in the repository's Settings → Environments, or correct github_environment_secrets in the routing matrix`,
		"GitHub refused GITHUB_TOKEN the Dependabot secrets of raxx-app/TradeMasterAPI (403): give the token the repository permission Dependabot secrets: Read and write on raxx-app/TradeMasterAPI (classic token: repo)",
		"Heroku refused HEROKU_API_KEY",
		"rotabot serve: 3 start-up problems: fix them and start again",
	}
	if code == 0 || out != "" || len(lines) != len(want) {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want %q…", i+1, lines[i], w)
		}
	}
	if h.World.Slack.Connects() != connects {
		t.Error("serve connected although GitHub's access is short")
	}
	h.assertLeakFree(t, out, errs)

	reads := h.World.GitHub.Count("GET /repos/{owner}/{repo}/dependabot/secrets/public-key", false)
	code, out, errs = runBinary(t, t.TempDir(), env, "check")
	if code != 0 || !strings.Contains(out, ": ok — 3 secrets") || h.World.GitHub.Count("GET /repos/{owner}/{repo}/dependabot/secrets/public-key", false) != reads {
		t.Errorf("check without --github: exit %d, %q %q, or it asked GitHub", code, out, errs)
	}
	code, out, errs = runBinary(t, t.TempDir(), env, "check", "--github")
	lines = problemLines(errs)
	if code != 1 || len(lines) != 3 || lines[0] != want[0] || lines[1] != want[1] ||
		lines[2] != "rotabot check: 2 GitHub access problems: fix them (docs/setup.md lists each kind's permissions) and check again" {
		t.Errorf("check --github: exit %d\n%s\n%s", code, out, errs)
	}
	h.assertLeakFree(t, out, errs)
}
