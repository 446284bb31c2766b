package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// sandboxAppID is the GitHub App the tests register on the stand-in.
const sandboxAppID = 314159

// examplePermissions are what the example matrix's GitHub destinations need:
// an Actions secret, an environment secret and a repository's Dependabot secret.
var examplePermissions = map[string]string{"secrets": "write", "environments": "write", "dependabot_secrets": "write"}

// appWorld is the example's world where rotabot writes GitHub's secrets as a
// GitHub App installed on raxx-app with perms, its private key given as base64
// of the .pem file, and GITHUB_TOKEN unset. The key's body is tracked by the
// leak guard.
func appWorld(t *testing.T, perms map[string]string) *harness {
	t.Helper()
	h, err := newWorld(rotation.WallNow())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	key := h.World.GitHub.RegisterApp(sandboxAppID, "rotabot-sandbox")
	h.World.GitHub.Install(sandboxAppID, "raxx-app", perms)
	delete(h.Env, "GITHUB_TOKEN")
	h.Env["GITHUB_APP_ID"] = strconv.Itoa(sandboxAppID)
	h.Env["GITHUB_APP_PRIVATE_KEY"] = base64.StdEncoding.EncodeToString([]byte(key))
	h.Env["ROTABOT_DB"] = filepath.Join(t.TempDir(), "rotabot.db")
	var body strings.Builder
	for _, l := range strings.Split(key, "\n") {
		if !strings.HasPrefix(l, "-----") {
			body.WriteString(l)
		}
	}
	h.Track(body.String(), h.Env["GITHUB_APP_PRIVATE_KEY"])
	return h
}

// The "done when": a whole PAT rotation through the real bot with no
// GITHUB_TOKEN set, every GitHub copy written with the App's installation
// token; the pasted token checked with its own value; the revocation
// unauthenticated; nothing the process wrote (Slack, logs, bbolt) holds the
// App's key or any token.
func TestSlackRotationWrittenAsAGitHubApp(t *testing.T) {
	h := appWorld(t, examplePermissions)
	h.Logs = &sandbox.SyncBuffer{}
	must(t, h.StartBot(context.Background(), func(ctx context.Context, getenv func(string) string, log *slog.Logger) (demo.Bot, error) {
		return demoBot(ctx, getenv, log)
	}))
	t.Cleanup(func() {
		h.StopBot()
		for _, tok := range h.World.GitHub.InstallationTokens() {
			h.Track(tok.Value)
		}
		if !t.Failed() {
			h.assertLeakFree(t, h.World.Slack.AllText(), h.Logs.String(), h.dbBytes(t))
		}
	})
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	h.mustCard(t, "r1", "Waiting for revoke")
	must(t, demo.WaitFor("the operator's DM", func() bool { return len(h.World.Slack.DMs(demo.Operator)) > 0 }))
	must(t, h.Click(demo.Operator, h.World.Slack.DMs(demo.Operator)[0], handlers.LabelDone))
	must(t, demo.WaitFor("Done on the card", func() bool {
		m, _ := h.Card("r1")
		return strings.Contains(demo.CardText(m), "confirmed by <@"+demo.Operator+">")
	}))
	card, _ = h.Card("r1")
	must(t, h.Click(demo.Alice, card, handlers.LabelRevokeAPI))
	h.mustCard(t, "r1", "Completed")
	if !h.World.GitHub.Revoked(h.OldToken) {
		t.Error("the old token was not revoked")
	}

	for dest, v := range h.destValues(h.First) {
		if v != h.Fresh[0] {
			t.Errorf("%s does not hold the new token", dest)
		}
	}
	plan, _ := h.Matrix.Plan(h.First, rotation.Overrides{}, rotation.WallNow())
	github := 0
	for _, d := range plan.Destinations {
		scope := map[rotation.DestKind]sbgithub.GHScope{rotation.DestGitHubSecret: sbgithub.GHActions,
			rotation.DestGitHubEnvSecret: sbgithub.GHEnvironment, rotation.DestDependabotSecret: sbgithub.GHDependabot}[d.Kind]
		if scope == "" {
			continue
		}
		github++
		if w := h.World.GitHub.WrittenWith(scope, d.Target, d.VarName(h.First)); w != "installation" {
			t.Errorf("%s was written with %q, want the App's installation token", d.Label(), w)
		}
	}
	if github != 3 {
		t.Fatalf("%d GitHub destinations, want the example's 3", github)
	}
	for _, r := range h.World.GitHub.Requests() {
		auth := r.Header.Get("Authorization")
		switch {
		case strings.Contains(auth, h.World.GitHubAdminToken):
			t.Errorf("%s %s carried the world's GITHUB_TOKEN, which is unset", r.Method, r.Path)
		case r.Route == "POST /credentials/revoke" && auth != "":
			t.Error("the revocation carried a credential")
		case strings.Contains(r.Route, "/secrets") && !strings.HasPrefix(auth, "token ghs_"):
			t.Errorf("%s %s was not made with the installation token", r.Method, r.Path)
		case r.Route == "GET /user" && strings.HasPrefix(auth, "token ghs_"):
			t.Error("a pasted token was checked with the installation token")
		}
	}
	if logs := h.Logs.String(); !strings.Contains(logs, "rotabot writes GitHub's secrets as the GitHub App GITHUB_APP_ID") ||
		!strings.Contains(logs, `"app_id":314159`) || !strings.Contains(logs, `"installation":"the one on raxx-app"`) {
		t.Errorf("start-up does not say GitHub is written as the App:\n%s", logs)
	}
}

// `rotabot serve` refuses to start when the installation lacks a permission
// the routing matrix's GitHub destinations need (or has only read of it),
// naming each with the destinations that need it, all at once; with
// GITHUB_TOKEN set too, the App wins and the log says so.
func TestServeRefusesAGitHubAppMissingAPermission(t *testing.T) {
	h := appWorld(t, map[string]string{"secrets": "write", "dependabot_secrets": "read"})
	env := h.Env
	env["GITHUB_TOKEN"] = h.World.GitHubAdminToken
	connects := h.World.Slack.Connects()
	code, out, errs := runCLI(t, env, "serve")
	if code == 0 {
		t.Fatalf("serve started: %s %s", out, errs)
	}
	id := strconv.FormatInt(h.World.GitHub.Install(sandboxAppID, "raxx-app", map[string]string{"secrets": "write", "dependabot_secrets": "read"}), 10)
	want := []string{
		"The GitHub App's installation " + id + " on raxx-app lacks the permission Repository permissions → Environments (environments: write), which GitHub environment secret raxx-app/TradeMasterAPI · production · GH_API_READONLY_TOKEN needs — add it in the App's settings (Permissions & events), then accept it on the installation (raxx-app's settings → GitHub Apps → Configure)",
		"The GitHub App's installation " + id + " on raxx-app has only read of the permission Repository permissions → Dependabot secrets (dependabot_secrets: write), which Dependabot secret raxx-app/TradeMasterAPI · GH_API_READONLY_TOKEN needs — add it in the App's settings (Permissions & events), then accept it on the installation (raxx-app's settings → GitHub Apps → Configure)",
		"rotabot serve: 2 start-up problems: fix them and start again",
	}
	lines := problemLines(errs)
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr's problems:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(errs, "GITHUB_TOKEN is set but not used: the GitHub App (GITHUB_APP_ID) writes GitHub's secrets instead") {
		t.Errorf("start-up does not say the App wins over GITHUB_TOKEN:\n%s", errs)
	}
	if h.World.Slack.Connects() != connects {
		t.Error("serve connected although the App lacks a permission")
	}
	for _, r := range h.World.GitHub.Requests() {
		if strings.Contains(r.Header.Get("Authorization"), h.World.GitHubAdminToken) {
			t.Errorf("%s %s used GITHUB_TOKEN although the App wins", r.Method, r.Path)
		}
	}
	h.assertLeakFree(t, out, errs)

	// Each other way the App can be wrong, one line each.
	elsewhere := strconv.FormatInt(h.World.GitHub.Install(sandboxAppID, "elsewhere", examplePermissions), 10)
	twoAccounts := strings.Replace(env["ROTABOT_CONFIG"], "dependabot_secrets: [raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN]",
		"dependabot_secrets: [raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN, other-org:GH_API_READONLY_TOKEN]", 1)
	if twoAccounts == env["ROTABOT_CONFIG"] {
		t.Fatal("the example matrix has no dependabot_secrets line to add an organisation to")
	}
	for _, c := range []struct{ name, variable, value, want string }{
		{"an installation on another account", "GITHUB_APP_INSTALLATION_ID", elsewhere, "The GitHub App's installation " + elsewhere +
			" is on elsewhere, but the routing matrix writes GitHub secrets of raxx-app: install the App there (its settings → Install App) and set GITHUB_APP_INSTALLATION_ID to that installation, or unset it to find it"},
		{"secrets of several accounts", "ROTABOT_CONFIG", twoAccounts, "GITHUB_APP_INSTALLATION_ID is not set and the routing matrix writes GitHub secrets of several accounts (other-org, raxx-app): a GitHub App installation covers one account"},
		{"not a number", "GITHUB_APP_ID", "rotabot", `GITHUB_APP_ID="rotabot" is not a number — use the App ID from the App's settings page (General → About), a number like 123456`},
		{"not a key", "GITHUB_APP_PRIVATE_KEY", "hunter2hunter2", "GITHUB_APP_PRIVATE_KEY is neither a PEM private key nor base64 of one — paste the whole .pem file"},
		{"another installation", "GITHUB_APP_INSTALLATION_ID", "999", "GitHub has no such installation of the GitHub App (GET /app/installations/999: 404)"},
		{"another App's id", "GITHUB_APP_ID", "271828", "GitHub refused the GitHub App's JWT (GET /repos/raxx-app/TradeMasterAPI/installation: 401 Integration not found)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			e[c.variable] = c.value
			code, out, errs := runCLI(t, e, "serve")
			lines := problemLines(errs)
			if code == 0 || len(lines) == 0 || !strings.HasPrefix(lines[0], c.want) {
				t.Errorf("serve: %d, problems:\n%s\nwant first %q", code, strings.Join(lines, "\n"), c.want)
			}
			h.assertLeakFree(t, out, errs)
		})
	}
}

// The bridge CLI writes as the App too: `rotabot rotate` with no GITHUB_TOKEN
// set is not refused for it, and every GitHub copy is written with an
// installation token; its output and the database hold neither the key nor a
// token.
func TestRotateCLIWrittenAsAGitHubApp(t *testing.T) {
	h := appWorld(t, examplePermissions)
	h.World.Infisical.Set("prod", "/MooseQuest/github/", h.First, h.Fresh[0])
	code, out, errs := runCLI(t, h.Env, "rotate", h.First)
	if code != 0 {
		t.Fatalf("rotate: exit %d\n%s\n%s", code, out, errs)
	}
	for dest, v := range h.destValues(h.First) {
		if v != h.Fresh[0] {
			t.Errorf("%s does not hold the new token", dest)
		}
	}
	if w := h.World.GitHub.WrittenWith(sbgithub.GHActions, "raxx-app/TradeMasterAPI", "GH_API_READONLY_TOKEN"); w != "installation" {
		t.Errorf("the Actions secret was written with %q, want the App's installation token", w)
	}
	for _, tok := range h.World.GitHub.InstallationTokens() {
		h.Track(tok.Value)
	}
	h.assertLeakFree(t, out, errs, h.dbBytes(t))
}
