package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/sandbox"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
)

// Help: the top level lists every command (and demo --sandbox); `help COMMAND`
// and `COMMAND --help` print the command's help on stdout; flags are written
// --flag everywhere.
func TestHelp(t *testing.T) {
	code, out, errs := runCLI(t, nil, "help")
	if code != 0 || errs != "" {
		t.Fatalf("help: %d %q", code, errs)
	}
	for _, want := range []string{"  serve ", "  rotate SECRET ", "  abandon RUN ", "  check ", "  demo ", "  demo --sandbox FILE ", "  version ", "  help [COMMAND] "} {
		if !strings.Contains(out, want) {
			t.Errorf("the top-level help lacks %q:\n%s", want, out)
		}
	}
	singleDash := regexp.MustCompile(`(^|[\s\[(])-[a-z][a-z-]+`)
	c := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	for _, cmd := range c.commands() {
		code, viaHelp, _ := runCLI(t, nil, "help", cmd.name)
		if code != 0 || !strings.HasPrefix(viaHelp, "Usage: rotabot "+cmd.name) {
			t.Errorf("help %s: %d %q", cmd.name, code, viaHelp)
		}
		for _, flag := range []string{"--help", "-h"} {
			if code, viaFlag, _ := runCLI(t, nil, cmd.name, flag); code != 0 || viaFlag != viaHelp {
				t.Errorf("%s %s: %d, and it differs from help %s:\n%s", cmd.name, flag, code, cmd.name, viaFlag)
			}
		}
		if m := singleDash.FindString(viaHelp); m != "" {
			t.Errorf("help %s writes a flag with one dash (%q): flags are written --flag", cmd.name, m)
		}
		cmd.flags.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(viaHelp, "--"+f.Name) {
				t.Errorf("help %s does not list --%s", cmd.name, f.Name)
			}
		})
	}
	for _, args := range [][]string{{"help", "frobnicate"}, {"frobnicate"}, {}} {
		code, out, errs := runCLI(t, nil, args...)
		if code != 2 || !strings.Contains(errs, "\nTry: rotabot help\n") {
			t.Errorf("%v: %d\n%s%s", args, code, out, errs)
		}
	}
	if _, _, errs := runCLI(t, nil, "frobnicate"); !strings.HasPrefix(errs, `rotabot: unknown command "frobnicate" — the commands are serve, rotate, abandon, where, check, demo, version`) {
		t.Errorf("unknown command: %q", errs)
	}
}

// An argument a command does not take is named, with what was probably meant.
func TestUnexpectedArgument(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "rotabot.yaml"}, "rotabot check: unexpected argument \"rotabot.yaml\": check takes no arguments, only flags\nTry: rotabot check --config rotabot.yaml\n"},
		{[]string{"serve", "now"}, "rotabot serve: unexpected argument \"now\": serve takes no arguments, only flags\nTry: rotabot help serve\n"},
		{[]string{"version", "--short"}, "rotabot version: unknown flag --short: version takes no flags\nTry: rotabot help version\n"},
		{[]string{"demo", "fast"}, "rotabot demo: unexpected argument \"fast\": demo takes no arguments, only flags\nTry: rotabot help demo\n"},
		{[]string{"help", "rotate", "serve"}, "rotabot: unexpected argument \"serve\": help takes one command\nTry: rotabot help rotate\n"},
		{[]string{"abandon", "r42", "old", "version", "gone"}, "rotabot abandon: unexpected argument \"old\": abandon takes one run (quote the reason: --reason \"…\")\nTry: rotabot abandon r42 --reason \"old version gone\"\n"},
		{[]string{"abandon", "GITHUB_API_READONLY_TOKEN", "--reason", "x"}, "rotabot abandon: \"GITHUB_API_READONLY_TOKEN\" is not a run id: run ids look like r42\nTry: rotabot abandon r42 --reason x\n"},
		{[]string{"rotate", "GITHUB_API_READONLY_TOKEN", "GITHUB_API_DISPATCH_TOKEN", "--dry-run"}, "rotabot rotate: unexpected argument \"GITHUB_API_DISPATCH_TOKEN\": rotate takes one secret\nTry: rotabot rotate GITHUB_API_READONLY_TOKEN --dry-run\n"},
		{[]string{"check", "--config=", "m.yaml"}, "rotabot check: unexpected argument \"m.yaml\": check takes no arguments, only flags\nTry: rotabot check --config m.yaml\n"},
	} {
		code, out, errs := runCLI(t, nil, c.args...)
		if code != 2 || errs != c.want || out != "" {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q\nwant   %q", c.args, code, out, errs, c.want)
		}
	}
}

// `rotabot version` and `--version` print the module version and the VCS
// revision from the build information.
func TestVersion(t *testing.T) {
	stamped := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/raxx-app/rotabot", Version: "v0.0.0-20261129194929-a8b08be33a8f"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "a8b08be33a8f51711eb01481e9b17894031c2180"},
				{Key: "vcs.time", Value: "2026-11-29T19:49:29Z"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	unstamped := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/raxx-app/rotabot", Version: "(devel)"}}, true
	}
	for _, c := range []struct {
		info func() (*debug.BuildInfo, bool)
		want string
	}{
		{stamped, "rotabot v0.0.0-20261129194929-a8b08be33a8f (revision a8b08be33a8f51711eb01481e9b17894031c2180, 2026-11-29T19:49:29Z, with uncommitted changes; go1.26.8)\n"},
		{unstamped, "rotabot (devel) (no VCS revision: built outside a git checkout or with -buildvcs=false; go1.26.8)\n"},
		{func() (*debug.BuildInfo, bool) { return nil, false }, "rotabot (unknown) (no VCS revision: built outside a git checkout or with -buildvcs=false; "},
	} {
		for _, args := range [][]string{{"version"}, {"--version"}} {
			var out bytes.Buffer
			cl := &cli{stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }, buildInfo: c.info}
			if code := cl.run(context.Background(), args); code != 0 || !strings.HasPrefix(out.String(), c.want) {
				t.Errorf("%v: %d %q, want %q", args, code, out.String(), c.want)
			}
		}
	}
}

// Parsing is apart from running: the flags fill the options, which the run
// function takes (cli/cli's runF).
func TestOptionsFromFlags(t *testing.T) {
	c := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	var got *rotateOptions
	cmd := newRotateCmd(c, func(_ context.Context, o *rotateOptions) error { got = o; return nil })
	if err := cmd.execute(context.Background(), io.Discard, []string{"--apps", " raxx-console-prod , raxx-api-prod:GH_TOKEN", "GITHUB_API_READONLY_TOKEN", "-dry-run", "--config", "m.yaml"}); err != nil {
		t.Fatal(err)
	}
	want := &rotateOptions{Secret: "GITHUB_API_READONLY_TOKEN", DryRun: true, Apps: []string{"raxx-console-prod", "raxx-api-prod:GH_TOKEN"},
		Config: configOption{Value: "m.yaml", Given: true}}
	if got == nil || got.Secret != want.Secret || got.DryRun != want.DryRun || !slices.Equal(got.Apps, want.Apps) || got.Config != want.Config || got.VaultPath != "" {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	var check *checkOptions
	cc := newCheckCmd(c, func(_ context.Context, o *checkOptions) error { check = o; return nil })
	if err := cc.execute(context.Background(), io.Discard, []string{"--config="}); err != nil || check == nil || check.Config != (configOption{Given: true}) {
		t.Errorf("check --config= : %v %+v", err, check)
	}
	var ab *abandonOptions
	ac := newAbandonCmd(c, func(_ context.Context, o *abandonOptions) error { ab = o; return nil })
	if err := ac.execute(context.Background(), io.Discard, []string{"--reason", "gone; fixed by hand", "R42"}); err != nil || ab == nil || ab.RunID != "r42" || ab.Reason != "gone; fixed by hand" {
		t.Errorf("abandon: %v %+v", err, ab)
	}
	var serve *serveOptions
	sc := newServeCmd(c, func(_ context.Context, o *serveOptions) error { serve = o; return nil })
	if err := sc.execute(context.Background(), io.Discard, nil); err != nil || serve == nil || serve.Config.Given {
		t.Errorf("serve: %v %+v", err, serve)
	}
}

// The run functions take options without flags.
func TestRunWithOptions(t *testing.T) {
	_, env := cliWorld(t)
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	err := c.runRotate(context.Background(), &rotateOptions{Secret: "GITHUB_API_READONLY_TOKEN", DryRun: true, Apps: []string{"raxx-console-prod"}})
	if err != nil || !strings.Contains(out.String(), "destinations (4):\n    - Heroku raxx-console-prod\n    - GitHub Actions raxx-app/TradeMasterAPI") {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errb.String())
	}
	out.Reset()
	if err := c.runCheck(context.Background(), &checkOptions{Config: configOption{Value: "../../rotabot.example.yaml", Given: true}}); err != nil || !strings.Contains(out.String(), ": ok — 3 secrets") {
		t.Errorf("check: %v %q", err, out.String())
	}
	err = c.runCheck(context.Background(), &checkOptions{Config: configOption{Value: "nope.yaml", Given: true}})
	if code := c.exit("check", err); code != 1 || !strings.Contains(errb.String(), "rotabot check: cannot read the routing matrix nope.yaml (--config): there is no such file — check the path given to --config") {
		t.Errorf("%d %q", code, errb.String())
	}
}

// `rotabot serve` with nothing set reports the missing matrix and every missing
// credential at once, counted.
func TestServeReportsEveryProblemAtOnce(t *testing.T) {
	example, err := os.ReadFile("../../rotabot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	code, out, errs := runCLI(t, map[string]string{"ROTABOT_REMINDER_INTERVAL": "soon"}, "serve")
	lines := problemLines(errs)
	want := []string{
		`ROTABOT_REMINDER_INTERVAL="soon" is not a duration`,
		"there is no routing matrix: no rotabot.yaml in ",
		"SLACK_APP_TOKEN is not set", "SLACK_BOT_TOKEN is not set",
		"INFISICAL_CLIENT_ID is not set", "INFISICAL_CLIENT_SECRET is not set", "INFISICAL_PROJECT_ID is not set",
		"GITHUB_TOKEN and HEROKU_API_KEY: each is needed if the routing matrix has github_secrets or heroku_apps",
		"rotabot serve: 8 start-up problems: fix them and start again",
	}
	if code != 1 || out != "" || len(lines) != len(want) {
		t.Fatalf("exit %d, stdout %q, %d lines:\n%s", code, out, len(lines), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want %q…", i+1, lines[i], w)
		}
	}

	// A matrix with a problem: the problem counts with the environment's.
	dir := t.TempDir()
	broken := strings.Replace(string(example), "channel: C0OPS", "channel: ops", 1)
	must(t, os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(broken), 0o600))
	code, _, errs = runCLI(t, map[string]string{"ROTABOT_CONFIG": filepath.Join(dir, "broken.yaml")}, "serve")
	lines = problemLines(errs)
	if code != 1 || len(lines) != 8 || !strings.Contains(lines[0], `broken.yaml:15: channel "ops" is not a Slack channel id`) || lines[7] != "rotabot serve: 7 start-up problems: fix them and start again" {
		t.Errorf("exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
	// A good matrix: the credentials its consumers need are named.
	must(t, os.WriteFile(filepath.Join(dir, "rotabot.yaml"), example, 0o600))
	code, _, errs = runCLI(t, map[string]string{"ROTABOT_CONFIG": filepath.Join(dir, "rotabot.yaml")}, "serve")
	lines = problemLines(errs)
	if code != 1 || len(lines) != 8 || !strings.HasPrefix(lines[2], "GITHUB_TOKEN is not set — it writes the GitHub Actions secrets of raxx-app/TradeMasterAPI") ||
		!strings.HasPrefix(lines[3], "HEROKU_API_KEY is not set — it sets the config vars of the Heroku apps raxx-console-prod and raxx-console-staging") ||
		lines[7] != "rotabot serve: 7 start-up problems: fix them and start again" {
		t.Errorf("exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
}

// Each way ROTABOT_CONFIG can be wrong has its own message; a --config problem
// names --config.
func TestServeMatrixSources(t *testing.T) {
	h, env := cliWorld(t)
	for _, c := range []struct {
		name  string
		value string
		args  []string
		want  string
	}{
		{"empty ROTABOT_CONFIG", "", nil, "ROTABOT_CONFIG is set but empty — "},
		{"base64 that is not YAML", "bm90IGEgcm91dGluZyBtYXRyaXggYXQgYWxs", nil, "ROTABOT_CONFIG holds base64, but it decodes to text that is not a routing matrix"},
		{"truncated base64", cutBase64(h.Env["ROTABOT_CONFIG"]), nil, "ROTABOT_CONFIG holds base64 of a routing matrix that looks cut short"},
		{"missing --config file", "", []string{"--config", "nope.yaml"}, "cannot read the routing matrix nope.yaml (--config): there is no such file — check the path given to --config"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			e["ROTABOT_CONFIG"] = c.value
			code, _, errs := runCLI(t, e, append([]string{"serve"}, c.args...)...)
			lines := problemLines(errs)
			if code != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], c.want) {
				t.Errorf("exit %d:\n%s\nwant %q", code, strings.Join(lines, "\n"), c.want)
			}
		})
	}
}

// cutBase64 is base64 of yaml with the end lost, as a copy that stopped short.
func cutBase64(yaml string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(yaml))
	return enc[:len(enc)*2/3]
}

// `rotabot rotate SECRET --dry-run` needs only the Infisical variables: the
// credentials a real run would need are warnings in the plan; no Slack
// formatting reaches the terminal; the CLI's plan counts only what it writes.
func TestDryRunNeedsOnlyInfisical(t *testing.T) {
	h, full := cliWorld(t)
	env := map[string]string{}
	for k, v := range full {
		if strings.HasPrefix(k, "INFISICAL_") || k == "ROTABOT_CONFIG" || k == "GITHUB_API_URL" {
			env[k] = v
		}
	}
	code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"destinations (5):\n",
		"  not written by the CLI: the shell rc of Slack user U0OPERATOR (it cannot DM them: the SUMMARY says whom to tell)\n",
		"  ⚠ HEROKU_API_KEY is not set: it is needed to set config vars on raxx-console-prod, raxx-console-staging\n",
		"  ⚠ GITHUB_TOKEN is not set: a token with secrets:write on raxx-app/TradeMasterAPI is needed to set its GitHub secrets\n",
		"  value in Infisical: login raxx-bot, fine-grained, expires ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<@") || strings.Contains(out, "<#") || strings.Contains(out, "*") {
		t.Errorf("Slack formatting in the terminal:\n%s", out)
	}
	// Without the write credentials, a real run refuses before it writes.
	code, _, errs = runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
	if code != 1 || !strings.Contains(errs, "HEROKU_API_KEY is not set") || !strings.Contains(errs, "rotabot rotate: 2 problems: fix them and run again") {
		t.Errorf("a real run without write credentials: %d\n%s", code, errs)
	}
	for _, r := range append(h.World.Heroku.Requests(), h.World.GitHub.Requests()...) {
		if r.Method != "GET" {
			t.Errorf("wrote: %s %s", r.Method, r.Path)
		}
	}
	h.assertLeakFree(t, out, errs)
}

// The SUMMARY's next steps name the configured GitHub, and explain an old token
// whose fingerprint is unknown.
func TestNextStepsOnTheConfiguredGitHub(t *testing.T) {
	h, env := cliWorld(t)
	// The dispatch token's value in Infisical is its first version: the CLI
	// propagates it, and there is no earlier version to fingerprint.
	code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_DISPATCH_TOKEN")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	web := strings.TrimRight(env["GITHUB_API_URL"], "/")
	for _, want := range []string{
		"  1. Revoke the OLD token at " + web + "/settings/tokens (Delete). Its fingerprint is unknown: Infisical keeps no earlier version of GITHUB_API_DISPATCH_TOKEN (the value propagated is its first), so rotabot never saw the old token.\n",
		"     To tell it apart there: it belongs to login raxx-bot, it is not the new one (expires ",
		"  2. Confirm it is dead: GET " + web + "/user with the old token must answer 401.\n",
		"  3. Tell the shell-rc operators (the operator of DM D0AJ7K184TV) to pull the new value from Infisical",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the SUMMARY lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "github.com") {
		t.Errorf("the SUMMARY names github.com although GITHUB_API_URL is %s:\n%s", web, out)
	}
	h.assertLeakFree(t, out, errs)
}

// Logs go to stderr: JSON when it is not a terminal, text when
// ROTABOT_LOG_FORMAT says so; stdout has the human lines only.
func TestRotateLogFormats(t *testing.T) {
	h, env := cliWorld(t)
	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", h.Fresh[0])
	code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out, "{") || strings.Contains(out, "level") {
		t.Errorf("log lines on stdout:\n%s", out)
	}
	for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("a stderr line is not JSON: %q", l)
		}
	}
	env["ROTABOT_LOG_FORMAT"] = "text"
	env["ROTABOT_DB"] = filepath.Join(t.TempDir(), "second.db")
	_, _, errs = runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
	if !regexp.MustCompile(`(?m)^time=\d\d:\d\d:\d\d level=INFO msg="run moved" method=cli run=r1`).MatchString(errs) || strings.Contains(errs, "{\"") {
		t.Errorf("ROTABOT_LOG_FORMAT=text:\n%s", errs)
	}
	h.assertLeakFree(t, out, errs)
}

func TestPlainText(t *testing.T) {
	for in, want := range map[string]string{
		"shell rc of <@U0OPERATOR>":           "shell rc of @U0OPERATOR",
		"in <#C0OPS> only":                    "in #C0OPS only",
		"<#C0OPS|ops>":                        "#C0OPS",
		"<!subteam^S0OPS> may":                "@S0OPS may",
		"see <https://x.test/a?b=c|the card>": "see the card (https://x.test/a?b=c)",
		"plain":                               "plain",
	} {
		if got := plainText(in); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
}

// rotabot rotate says what it waits for: each step as it starts, with the most it
// may take, and a call unanswered for more than two seconds, until when, which try.
func TestRotateSaysWhatItWaitsFor(t *testing.T) {
	t.Parallel()
	h, env := cliWorld(t)
	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", h.Fresh[0])
	h.World.Heroku.FailPath("/apps/raxx-console-prod/config-vars", &sandbox.Fault{Latency: 2200 * time.Millisecond, Times: 1})
	h.World.Heroku.SetReleasePhase("raxx-console-staging", sbheroku.ReleasePhase{Delay: 5 * time.Second})
	code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, re := range []string{
		`(?m)^  · Propagate… \(if a service stops answering, it gives up at \d\d:\d\d:\d\d UTC\)$`,
		`(?m)^  · Propagate done in (\d+ ms|\d+s)$`,
		`(?m)^  · Verify… \(if a service stops answering, it gives up at \d\d:\d\d:\d\d UTC\)$`,
		`(?m)^  · waiting on Heroku raxx-console-prod: no answer yet — it gets until \d\d:\d\d:\d\d UTC \(try 1 of 3\)$`,
		`(?m)^  · waiting for Heroku raxx-console-staging's release v\d+ to finish — until \d\d:\d\d:\d\d UTC$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the output lacks %s:\n%s", re, out)
		}
	}
	h.assertLeakFree(t, out, errs)
}

// rotabot check refuses a fine-grained token's repository outside its resource
// owner, at the repository's FILE:LINE.
func TestCheckRefusesTheResourceOwnerMismatch(t *testing.T) {
	example, err := os.ReadFile("../../rotabot.example.yaml")
	must(t, err)
	f := filepath.Join(t.TempDir(), "rotabot.yaml")
	must(t, os.WriteFile(f, []byte(strings.Replace(string(example), "resource_owner: raxx-app", "resource_owner: MooseQuest", 1)), 0o600))
	line := 0
	for i, l := range strings.Split(string(example), "\n") {
		if strings.Contains(l, "repositories: [raxx-app/TradeMasterAPI]") {
			line = i + 1
		}
	}
	code, out, errs := runCLI(t, nil, "check", "--config", f)
	want := fmt.Sprintf("%s:%d: GITHUB_API_READONLY_TOKEN: repository raxx-app/TradeMasterAPI belongs to raxx-app, but resource_owner is MooseQuest — a fine-grained token reaches only repositories of its resource owner", f, line)
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(errs, "rotabot check: 1 problem in "+f) {
		t.Fatalf("exit %d\n%s\n%s\nwant %q", code, out, errs, want)
	}
}
