package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/sandbox/demo"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// runCLI runs one rotabot invocation with env and returns its exit code and output.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] },
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := c.run(ctx, args)
	return code, out.String(), errb.String()
}

// cliWorld is the stand-ins seeded for the example matrix, with the new token
// already in Infisical (SOP step 4 done by hand), as the bridge script expects.
func cliWorld(t *testing.T) (*harness, map[string]string) {
	t.Helper()
	h, err := newWorld(rotation.WallNow())
	if err != nil {
		t.Fatal(err)
	}
	env := h.Env
	t.Cleanup(h.Close)
	env["ROTABOT_DB"] = filepath.Join(t.TempDir(), "rotabot.db")
	return h, env
}

func (h *harness) assertLeakFree(t *testing.T, texts ...string) {
	t.Helper()
	if l := demo.Leaks(strings.Join(texts, "\n"), h.Secrets()); l != "" {
		t.Fatalf("leaked: %s", l)
	}
}

func (h *harness) dbBytes(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(h.Env["ROTABOT_DB"])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// destValues reads what each destination of secret holds.
func (h *harness) destValues(secret string) map[string]string {
	plan, _ := h.Matrix.Plan(secret, rotation.Overrides{}, rotation.WallNow())
	out := map[string]string{}
	for _, d := range plan.Destinations {
		switch d.Kind {
		case rotation.DestHeroku:
			out[d.Label()], _ = h.World.Heroku.ConfigVar(d.Target, d.VarName(secret))
		case rotation.DestGitHubSecret, rotation.DestGitHubEnvSecret, rotation.DestGitHubOrgSecret, rotation.DestDependabotSecret:
			out[d.Label()], _ = demo.GHCopy(h.World.GitHub, d, secret)
		}
	}
	v, _, _ := h.World.Infisical.Value(h.Matrix.Vault.Environment, h.Matrix.Vault.Path, secret)
	out["infisical"] = v
	return out
}

func TestCheckCommand(t *testing.T) {
	code, out, _ := runCLI(t, nil, "check", "--config", "../../rotabot.example.yaml")
	if code != 0 || !strings.HasPrefix(out, "../../rotabot.example.yaml: ok — 3 secrets") {
		t.Fatalf("check example: %d %q", code, out)
	}
	code, out, errs := runCLI(t, nil, "check", "-config", "../../config/testdata/broken.yaml")
	if code != 1 || !strings.Contains(out, "config/testdata/broken.yaml:") ||
		!strings.HasSuffix(errs, "problems in ../../config/testdata/broken.yaml: fix them and check again\n") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("check broken: %d\n%s\n%s", code, out, errs)
	}
	if code, _, _ := runCLI(t, map[string]string{"ROTABOT_CONFIG": "../../rotabot.example.yaml"}, "check"); code != 0 {
		t.Fatalf("check from ROTABOT_CONFIG: %d", code)
	}
}

func TestRotateEndToEnd(t *testing.T) {
	h, env := cliWorld(t)
	newTok := h.Fresh[0]
	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", newTok)
	code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
	if code != 0 {
		t.Fatalf("rotate: exit %d\n%s\n%s", code, out, errs)
	}
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != newTok {
			t.Errorf("%s holds %s, want the new token", dest, rotation.Fingerprint(v))
		}
	}
	for _, want := range []string{"SUMMARY — GITHUB_API_READONLY_TOKEN, run r1: Completed", "Heroku raxx-console-prod", "OK (set and verified)",
		"Revoke the OLD token (fingerprint " + rotation.Fingerprint(h.OldToken) + ")", "Audit: secret.rotate.completed written (method cli)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Each destination was written once.
	if n := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d Heroku writes", n)
	}
	st, err := bbolt.Open(env["ROTABOT_DB"], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	audits, _ := st.ListAudit(context.Background(), "", 0)
	runs, _ := st.ListRuns(context.Background(), rotation.RunFilter{})
	st.Close()
	if len(audits) != 1 || audits[0].Method != rotation.MethodCLI || len(runs) != 1 || runs[0].State != rotation.StateCompleted {
		t.Fatalf("audits %+v runs %d", audits, len(runs))
	}
	h.assertLeakFree(t, out, errs, h.dbBytes(t))
}

func TestRotateDryRunTouchesNothing(t *testing.T) {
	h, env := cliWorld(t)
	code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"DRY RUN — nothing is written.", "Heroku raxx-console-prod", "GitHub Actions raxx-app/TradeMasterAPI",
		"permissions: actions: read, contents: read, metadata: read", "value in Infisical: login raxx-bot, fine-grained, expires"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	for _, r := range append(append(h.World.Heroku.Requests(), h.World.GitHub.Requests()...), h.World.Infisical.Requests()...) {
		if r.Method != "GET" && !strings.Contains(r.Path, "/auth/") {
			t.Errorf("dry run wrote: %s %s", r.Method, r.Path)
		}
	}
	if _, err := os.Stat(env["ROTABOT_DB"]); err == nil {
		t.Error("dry run created the database")
	}
	h.assertLeakFree(t, out, errs)
}

func TestRotateFailureThenRetryAlone(t *testing.T) {
	h, env := cliWorld(t)
	newTok := h.Fresh[0]
	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", newTok)
	hk := h.World.Heroku
	env2 := env
	code, out, errs := runCLI(t, env2, "rotate", "GITHUB_API_READONLY_TOKEN", "--apps", "raxx-console-prod,raxx-console-nope")
	if code != 1 || !strings.Contains(out, "FAILED: Heroku has no app raxx-console-nope") {
		t.Fatalf("first try: %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "run `rotabot rotate GITHUB_API_READONLY_TOKEN` again: only the failed destinations are retried") {
		t.Errorf("no retry hint:\n%s", out)
	}
	hk.AddApp("raxx-console-nope", map[string]string{})
	code, out, errs = runCLI(t, env2, "rotate", "GITHUB_API_READONLY_TOKEN", "--apps", "raxx-console-prod,raxx-console-nope")
	if code != 0 {
		t.Fatalf("retry: %d\n%s\n%s", code, out, errs)
	}
	if n := hk.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d successful Heroku writes, want 2 (each app once)", n)
	}
	h.assertLeakFree(t, out, errs, h.dbBytes(t))
}

func TestRotateBadInput(t *testing.T) {
	_, env := cliWorld(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"rotate"}, "name one secret"},
		{[]string{"rotate", "NOPE"}, `"NOPE" is not a secret in the routing matrix — known secrets: GITHUB_API_DISPATCH_TOKEN, GITHUB_API_READONLY_TOKEN`},
		{[]string{"rotate", "GITHUB_API_READONLY_TOKEN", "--apps", "Bad_App"}, `--apps: heroku app "Bad_App" is not a Heroku app name`},
		{[]string{"rotate", "GITHUB_API_READONLY_TOKEN", "--gh-secret-repo", "justarepo"}, `--gh-secret-repo: github_secrets "justarepo" is not owner/repo`},
		{[]string{"rotate", "GITHUB_API_READONLY_TOKEN", "--vault-path", "MooseQuest"}, "--vault-path: \"MooseQuest\" must start and end with /"},
		{[]string{"rotate", "GITHUB_API_READONLY_TOKEN", "--bogus"}, "rotabot rotate: unknown flag --bogus: rotate takes --apps, --config, --dry-run, --gh-secret-repo, --vault-path\nTry: rotabot help rotate\n"},
		{[]string{"rotate", "GITHUB_API_READONLY_TOKEN", "--apps"}, "rotabot rotate: --apps needs a value\n"},
		{[]string{"rotate", "GITHUB_API_READONLY_TOKEN", "GITHUB_API_DISPATCH_TOKEN"}, `rotabot rotate: unexpected argument "GITHUB_API_DISPATCH_TOKEN": rotate takes one secret`},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, env, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
		if out != "" {
			t.Errorf("%v printed to stdout: %q", c.args, out)
		}
	}
}

// `rotabot serve` checks every credential before it connects and prints one
// clear line per problem.
func TestServeStartUpChecks(t *testing.T) {
	h, env := cliWorld(t)
	cases := []struct{ name, variable, value, want string }{
		{"wrong Slack bot token", "SLACK_BOT_TOKEN", "xoxb-0000-0000-wrong", "Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth): check the token in the Slack app's settings"},
		{"wrong Slack app token", "SLACK_APP_TOKEN", "xapp-1-wrong", "Slack refused SLACK_APP_TOKEN (apps.connections.open: invalid_auth): check the token in the Slack app's settings"},
		{"wrong Infisical secret", "INFISICAL_CLIENT_SECRET", "wrong-secret", "Infisical refused INFISICAL_CLIENT_ID/INFISICAL_CLIENT_SECRET (401): check the machine identity"},
		{"wrong Heroku key", "HEROKU_API_KEY", "wrong-key", "Heroku refused HEROKU_API_KEY"},
		// The example's HEROKU_DEPLOY_KEY is minted: rotabot's key must manage the account's keys.
		{"Heroku key of a narrower scope", "HEROKU_API_KEY", h.World.Heroku.AddKey(h.World.Heroku.Email(), []string{"write-protected"}, "rotabot, narrowed"),
			"HEROKU_API_KEY may not manage the account's API keys (403): rotabot's own key needs the global scope (heroku authorizations:create -s global)"},
		{"wrong GitHub token", "GITHUB_TOKEN", "ghp_wrongwrongwrongwrongwrongwrongwrong", "GitHub refused GITHUB_TOKEN (401): check the token, or make a new one with secrets:write"},
		{"missing Slack bot token", "SLACK_BOT_TOKEN", "", "SLACK_BOT_TOKEN"},
		{"missing Infisical id", "INFISICAL_CLIENT_ID", "", "INFISICAL_CLIENT_ID"},
		{"missing Heroku key", "HEROKU_API_KEY", "", "HEROKU_API_KEY"},
		{"missing GitHub token", "GITHUB_TOKEN", "", "GITHUB_TOKEN"},
		{"bad interval", "ROTABOT_REMINDER_INTERVAL", "soon", `ROTABOT_REMINDER_INTERVAL="soon" is not a duration`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			e[c.variable] = c.value
			connects := h.World.Slack.Connects()
			code, out, errs := runCLI(t, e, "serve")
			if code == 0 {
				t.Fatalf("serve started: %s %s", out, errs)
			}
			if !strings.Contains(errs, c.want) {
				t.Fatalf("stderr %q lacks %q", errs, c.want)
			}
			if lines := problemLines(errs); len(lines) != 2 || lines[1] != "rotabot serve: 1 start-up problem: fix it and start again" {
				t.Errorf("%d lines for one problem:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			if h.World.Slack.Connects() != connects {
				t.Error("serve connected although a check failed")
			}
			h.assertLeakFree(t, out, errs)
		})
	}
}

// problemLines are the lines of stderr that are not JSON log lines.
func problemLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "{") {
			out = append(out, l)
		}
	}
	return out
}

// `rotabot demo --sandbox FILE` leaves the stand-ins running for the other
// commands; the file's environment points them there.
func TestDemoSandboxForTheOtherCommands(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sandbox.env")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out bytes.Buffer
	go func() {
		c := &cli{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		done <- c.run(ctx, []string{"demo", "--sandbox", file})
	}()
	var env map[string]string
	must(t, demo.WaitFor("the sandbox file", func() bool {
		b, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(b), "SLACK_API_URL=") {
			return false
		}
		env = map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && !strings.HasPrefix(k, "#") {
				env[k] = strings.ReplaceAll(strings.Trim(v, "'"), `'"'"'`, "'")
			}
		}
		return true
	}))
	if info, _ := os.Stat(file); info.Mode().Perm() != 0o600 {
		t.Errorf("the sandbox file is %v, want 0600", info.Mode().Perm())
	}
	code, stdout, stderr := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN", "--dry-run")
	if code != 0 || !strings.Contains(stdout, "value in Infisical: login raxx-bot") {
		t.Fatalf("dry run against the sandbox: %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
	if code != 0 || !strings.Contains(stdout, "run r1: Completed") {
		t.Fatalf("rotate against the sandbox: %d\n%s\n%s", code, stdout, stderr)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo -sandbox exited %d: %s", code, out.String())
	}
}
