package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	sbslack "github.com/raxx-app/rotabot/sandbox/slack"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
)

// Set it from Infisical through the real bot and the stand-ins: every refusal
// of the guarded write path, the second ops member a repair of every
// destination needs, and a repair and a run that never overlap.

const (
	driftSecret = "GITHUB_API_READONLY_TOKEN"
	configPatch = "PATCH /apps/{app}/config-vars"
	secretPut   = "PUT /repos/{owner}/{repo}/actions/secrets/{name}"
)

// completeRun carries r1 to Completed: bob approves, the old token is revoked
// in GitHub and alice says so.
func (h *harness) completeRun(t *testing.T) {
	t.Helper()
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	h.World.GitHub.Revoke(h.OldToken)
	must(t, h.Click(demo.Alice, card, handlers.LabelRevokeManual))
	h.mustCard(t, "r1", "Completed")
}

// setVault writes a new Infisical version of the secret, outside rotabot.
func (h *harness) setVault(value string) int {
	return h.World.Infisical.Set(h.Matrix.Vault.Environment, h.Matrix.Vault.Path, driftSecret, value)
}

// driftCheck is alice's /rotate drift (her answers n and n+1), then the wait
// for posts drift posts.
func (h *harness) driftCheck(t *testing.T, n, posts int) {
	t.Helper()
	h.slashAnswer(t, demo.Alice, "drift", n)
	if _, err := h.WaitEphemeral(demo.Alice, n+1); err != nil {
		t.Fatal(err)
	}
	must(t, demo.WaitFor("the drift posts", func() bool { return len(h.driftPosts()) == posts }))
}

// driftPostOn is the drift post on place (its header's "on PLACE").
func (h *harness) driftPostOn(t *testing.T, place string) sbslack.Message {
	t.Helper()
	for _, p := range h.driftPosts() {
		if strings.Contains(demo.CardText(p), "GITHUB_API_READONLY_TOKEN on "+place+"\n") {
			return p
		}
	}
	t.Fatalf("no drift post on %s", place)
	return sbslack.Message{}
}

// writes counts the config and Actions secret writes so far.
func (h *harness) writes() int {
	return h.World.Heroku.Count(configPatch, false) + h.World.GitHub.Count(secretPut, false)
}

// The reported case: r1 replaced OLD (version 1) with NEW (version 2) and
// revoked OLD; someone restores OLD from Infisical's history (version 3). The
// drift posts say Infisical holds a token rotabot revoked in r1, to rotate
// instead, and offer no Set it from Infisical; nothing is written — the CLI,
// the bridge script, refuses it too.
func TestDriftRestoredRevokedTokenSaysRotateInstead(t *testing.T) {
	h := startBot(t)
	h.trackAppSecrets()
	h.completeRun(t)
	if v := h.setVault(h.OldToken); v != 3 {
		t.Fatalf("restored as version %d", v)
	}
	writes := h.writes()
	h.driftCheck(t, 1, 3)
	said := regexp.MustCompile(`Infisical holds a token rotabot revoked on \d{4}-\d\d-\d\d \d\d:\d\d UTC in run r1: rotate instead`)
	oldFP, newFP := rotation.Fingerprint(h.OldToken), rotation.Fingerprint(h.Fresh[0])
	for place, want := range map[string]string{
		"Heroku raxx-console-prod":    "it holds version 2 (`" + newFP + "`), the last version rotabot wrote, not Infisical's current version 3 (`" + oldFP + "`), which was written outside rotabot; ",
		"Heroku raxx-console-staging": "it holds version 2 (`" + newFP + "`), the last version rotabot wrote, not Infisical's current version 3 (`" + oldFP + "`), which was written outside rotabot; ",
		"Infisical":                   "Infisical holds version 3 (`" + oldFP + "`), written outside rotabot; the last version rotabot wrote is 2 (`" + newFP + "`), and the consumers rotabot set hold that previous version, not version 3; ",
	} {
		p := h.driftPostOn(t, place)
		text := demo.CardText(p)
		if !strings.Contains(text, want) || !said.MatchString(text) || strings.Contains(text, "old value") ||
			!strings.Contains(text, "`/rotate GITHUB_API_READONLY_TOKEN` starts a rotation with a brand-new one") {
			t.Errorf("the post on %s:\n%s", place, text)
		}
		if len(p.Buttons()) != 0 {
			t.Errorf("the post on %s offers %v", place, p.Buttons())
		}
	}
	if h.writes() != writes {
		t.Fatal("something was written")
	}
	for dest, v := range h.destValues(driftSecret) {
		if dest != "infisical" && v != h.Fresh[0] {
			t.Errorf("%s no longer holds NEW", dest)
		}
	}
	// The bridge script, with Slack down: refused the same way.
	h.StopBot()
	code, out, errs := runCLI(t, h.Env, "rotate", driftSecret)
	if code == 0 || !regexp.MustCompile(`Infisical holds a token rotabot revoked on \d{4}-\d\d-\d\d \d\d:\d\d UTC in run r1: put a brand-new token in Infisical first`).MatchString(errs) {
		t.Fatalf("rotabot rotate: %d\n%s\n%s", code, out, errs)
	}
	if h.writes() != writes {
		t.Fatal("the CLI wrote")
	}
	h.assertLeakFree(t, out, errs)
}

// Infisical changes between the post and the press: refused with the newer
// version's fingerprint, nothing written, and the post shows the new drift
// (whose own button names the new version); the old dialog is over.
func TestDriftRepairRefusedWhenInfisicalChangedSinceThePost(t *testing.T) {
	h := startBot(t)
	h.trackAppSecrets()
	byHand := demo.FineGrainedToken()
	h.Track(byHand)
	const app = "raxx-console-staging"
	h.World.Heroku.SetConfigByHand(app, map[string]*string{driftSecret: &byHand}, "someone@raxx.example")
	h.driftCheck(t, 1, 1)
	shown := h.driftPostOn(t, "Heroku "+app)
	if b, _ := shown.Button(handlers.LabelDriftRepair); !strings.Contains(b.Confirm, "(version 1, "+rotation.Fingerprint(h.OldToken)+")") {
		t.Fatalf("the confirm dialog: %q", b.Confirm)
	}
	newer := h.Fresh[1]
	if v := h.setVault(newer); v != 2 {
		t.Fatalf("version %d", v)
	}
	writes := h.writes()
	must(t, h.Click(demo.Bob, shown, handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Bob, 1, "Infisical's GITHUB_API_READONLY_TOKEN changed since it was shown: it holds version 2 (`"+
		rotation.Fingerprint(newer)+"`) now, not version 1. Nothing was written. The post shows the drift as it is now.")
	if v, _ := h.World.Heroku.ConfigVar(app, driftSecret); v != byHand || h.writes() != writes {
		t.Fatal("the refused repair wrote")
	}
	must(t, demo.WaitFor("the post showing the new drift", func() bool {
		m, _ := h.World.Slack.Message(shown.Channel, shown.TS)
		b, _ := m.Button(handlers.LabelDriftRepair)
		return strings.Contains(demo.CardText(m), "Infisical's version 2 (`"+rotation.Fingerprint(newer)+"`)") &&
			strings.Contains(b.Confirm, "(version 2, "+rotation.Fingerprint(newer)+")")
	}))
	must(t, h.Click(demo.Bob, shown, handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Bob, 2, "This drift has moved on")
	if h.writes() != writes {
		t.Fatal("the old dialog wrote")
	}
}

// A destination no longer in the routing matrix (the bot restarted with a
// matrix without it) is not written.
func TestDriftRepairRefusesADestinationGoneFromTheMatrix(t *testing.T) {
	h := startBot(t)
	h.trackAppSecrets()
	byHand := demo.FineGrainedToken()
	h.Track(byHand)
	const app = "raxx-console-staging"
	h.World.Heroku.SetConfigByHand(app, map[string]*string{driftSecret: &byHand}, "someone@raxx.example")
	h.driftCheck(t, 1, 1)
	post := h.driftPostOn(t, "Heroku "+app)
	h.StopBot()
	const both = "heroku_apps: [raxx-console-prod, raxx-console-staging]"
	if !strings.Contains(h.Env["ROTABOT_CONFIG"], both) {
		t.Fatal("the example matrix changed: this test removes the staging app from its first secret")
	}
	h.Env["ROTABOT_CONFIG"] = strings.Replace(h.Env["ROTABOT_CONFIG"], both, "heroku_apps: [raxx-console-prod]", 1)
	// No periodic pass in the restarted bot: its first one would close the drift
	// of a place the matrix no longer names (then the press is told the drift
	// moved on), and it races the press. The press must meet the guard.
	h.Env["ROTABOT_DRIFT_INTERVAL"] = "0"
	must(t, h.StartBot(context.Background(), demoBot))
	writes := h.writes()
	must(t, h.Click(demo.Bob, post, handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Bob, 1, "Heroku raxx-console-staging is no longer in the routing matrix of GITHUB_API_READONLY_TOKEN: nothing was written.")
	if v, _ := h.World.Heroku.ConfigVar(app, driftSecret); v != byHand || h.writes() != writes {
		t.Fatal("the refused repair wrote")
	}
}

// A token GitHub refuses is not written anywhere.
func TestDriftRepairRefusesATokenGitHubRefuses(t *testing.T) {
	h := startBot(t)
	h.trackAppSecrets()
	h.setVault(h.Revoked) // the right login, revoked in GitHub: version 2
	h.driftCheck(t, 1, 2)
	post := h.driftPostOn(t, "Heroku raxx-console-prod")
	writes := h.writes()
	must(t, h.Click(demo.Bob, post, handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Bob, 1, "GitHub refuses the value of GITHUB_API_READONLY_TOKEN in Infisical (`"+rotation.Fingerprint(h.Revoked)+
		"`) (401): it is expired, revoked or mistyped. Nothing was written: rotate instead (/rotate GITHUB_API_READONLY_TOKEN makes a brand-new token)")
	if v, _ := h.World.Heroku.ConfigVar("raxx-console-prod", driftSecret); v != h.OldToken || h.writes() != writes {
		t.Fatal("the refused repair wrote")
	}
}

// A repair of every destination (a version drift) is asked for by alice and
// approved by another ops member: alice cannot approve her own, nor can someone
// outside ops; nothing is written before bob approves. The posts word the case:
// the consumers hold the previous version rotabot wrote, not "the old value".
func TestDriftVersionRepairNeedsASecondOpsMember(t *testing.T) {
	h := startBot(t)
	h.trackAppSecrets()
	h.completeRun(t)
	newer := h.Fresh[1]
	h.setVault(newer) // version 3, written outside rotabot
	h.driftCheck(t, 1, 3)
	oldFP, newFP := rotation.Fingerprint(h.Fresh[0]), rotation.Fingerprint(newer)
	vault := h.driftPostOn(t, "Infisical")
	text := demo.CardText(vault)
	if !strings.Contains(text, "Infisical holds version 3 (`"+newFP+"`), written outside rotabot; the last version rotabot wrote is 2 (`"+oldFP+
		"`), and the consumers rotabot set hold that previous version, not version 3.") || strings.Contains(text, "old value") {
		t.Errorf("the version drift post:\n%s", text)
	}
	if b, _ := vault.Button(handlers.LabelDriftRepair); !strings.Contains(b.Confirm, "You ask a second ops member to approve writing") {
		t.Errorf("the confirm dialog: %q", b.Confirm)
	}
	if text := demo.CardText(h.driftPostOn(t, "Heroku raxx-console-prod")); !strings.Contains(text,
		"it holds version 2 (`"+oldFP+"`), the last version rotabot wrote, not Infisical's current version 3 (`"+newFP+"`), which was written outside rotabot.") {
		t.Errorf("the app's post:\n%s", text)
	}

	writes := h.writes()
	must(t, h.Click(demo.Alice, vault, handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Alice, 3, "Asked: another ops member approves setting every destination of GITHUB_API_READONLY_TOKEN from Infisical's version 3")
	var asked sbslack.Message
	must(t, demo.WaitFor("the post asking for approval", func() bool {
		asked, _ = h.World.Slack.Message(vault.Channel, vault.TS)
		_, ok := asked.Button(handlers.LabelApprove)
		return ok && strings.Contains(demo.CardText(asked), "<@"+demo.Alice+"> asked at ")
	}))
	must(t, h.Click(demo.Alice, asked, handlers.LabelApprove))
	h.mustEphemeral(t, demo.Alice, 4, "You asked for this repair, so you may not approve it: another ops member must.")
	must(t, h.Click(demo.Mallory, asked, handlers.LabelApprove))
	h.mustEphemeral(t, demo.Mallory, 1, "Only members of the ops user group")
	if h.writes() != writes {
		t.Fatal("written before a second ops member approved")
	}
	must(t, h.Click(demo.Bob, asked, handlers.LabelApprove))
	h.mustEphemeral(t, demo.Bob, 1, "Done: GITHUB_API_READONLY_TOKEN on Infisical now holds Infisical's version 3 (`"+newFP+"`), verified.")
	for dest, v := range h.destValues(driftSecret) {
		if v != newer {
			t.Errorf("%s does not hold version 3", dest)
		}
	}
	must(t, demo.WaitFor("the post marked repaired, approved by bob", func() bool {
		m, _ := h.World.Slack.Message(vault.Channel, vault.TS)
		return strings.Contains(demo.CardText(m), "<@"+demo.Alice+">, approved by <@"+demo.Bob+">, set it from Infisical (version 3")
	}))
	must(t, demo.WaitFor("the audit post", func() bool {
		for _, m := range h.World.Slack.Messages(demo.AuditChannel) {
			if strings.HasPrefix(m.Text, "secret.drift.repaired\n") && strings.Contains(m.Text, "set from Infisical by <@"+demo.Alice+"> · approver: <@"+demo.Bob+">") {
				return true
			}
		}
		return false
	}))
}

// A repair and a run of one secret exclude each other for the whole write:
// while bob's repair is held at its Heroku write (a gate the test opens), alice
// cannot start a run; once it is done she can, and while her run is open a
// repair refuses.
func TestDriftRepairAndRunExcludeEachOther(t *testing.T) {
	t.Parallel()
	h := startBot(t)
	h.trackAppSecrets()
	staging, prod := demo.FineGrainedToken(), demo.FineGrainedToken()
	h.Track(staging, prod)
	h.World.Heroku.SetConfigByHand("raxx-console-staging", map[string]*string{driftSecret: &staging}, "someone@raxx.example")
	h.World.Heroku.SetConfigByHand("raxx-console-prod", map[string]*string{driftSecret: &prod}, "someone@raxx.example")
	h.driftCheck(t, 1, 2)

	gate := make(chan struct{})
	h.World.Heroku.Fail(configPatch, &sandbox.Fault{Gate: gate, Times: 1})
	must(t, h.Click(demo.Bob, h.driftPostOn(t, "Heroku raxx-console-staging"), handlers.LabelDriftRepair))
	must(t, demo.WaitFor("the repair's write, held", func() bool { return h.World.Heroku.Inflight(configPatch) == 1 }))
	must(t, h.Slash(demo.Alice, demo.OpsChannel, driftSecret))
	h.mustEphemeral(t, demo.Alice, 3, "GITHUB_API_READONLY_TOKEN is being set from Infisical right now (Set it from Infisical on a drift post): nothing was started.")
	if _, ok := h.Card("r1"); ok {
		t.Fatal("a run started while the repair wrote")
	}
	close(gate)
	h.mustEphemeral(t, demo.Bob, 1, "Done: GITHUB_API_READONLY_TOKEN on Heroku raxx-console-staging now holds Infisical's version 1")

	must(t, h.Slash(demo.Alice, demo.OpsChannel, driftSecret))
	h.mustCard(t, "r1", "Waiting for token")
	writes := h.writes()
	must(t, h.Click(demo.Bob, h.driftPostOn(t, "Heroku raxx-console-prod"), handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Bob, 2, "GITHUB_API_READONLY_TOKEN has an open run, r1 (Waiting for token): it sets every destination. Finish it first; nothing was changed.")
	if v, _ := h.World.Heroku.ConfigVar("raxx-console-prod", driftSecret); v != prod || h.writes() != writes {
		t.Fatal("a repair wrote while a run was open")
	}
}
