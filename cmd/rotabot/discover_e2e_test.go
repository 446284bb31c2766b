package main

import (
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/sandbox"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// legacyCron is a Heroku app nobody put in the routing matrix that reads the
// token being rotated under a name of its own.
const legacyCron = "raxx-legacy-cron"

// An app outside the routing matrix still holding the old token is named on the
// card once verify passed, and again in both revoke confirmations.
func TestUnknownConsumerNamedBeforeRevoke(t *testing.T) {
	t.Parallel()
	h := startBot(t)
	h.trackAppSecrets()
	dsnKey := sandbox.RandomHex(16)
	h.Track(dsnKey)
	h.World.Heroku.AddApp(legacyCron, map[string]string{"GH_TOKEN": h.OldToken, "SENTRY_DSN": "https://" + dsnKey + "@sentry.example/1"})
	h.World.Heroku.AddApp("raxx-unrelated", map[string]string{"GH_TOKEN": h.DispatchToken})
	copyAt := h.unlistedCopy(sbgithub.GHActions, "raxx-app/legacy-worker")
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	const line = legacyCron + " · GH_TOKEN still holds the old token: revoking breaks it"
	text := demo.CardText(card)
	if !strings.Contains(text, line) {
		t.Fatalf("the card does not name the unknown consumer:\n%s", text)
	}
	if !strings.Contains(text, "(scanned 4 Heroku apps when verify passed)") {
		t.Errorf("the card does not say what the scan covered:\n%s", text)
	}
	// The GitHub copy nobody listed, by name and date: GitHub shows no value.
	if want := "GitHub secrets of the same name nobody listed* (looked at 3 GitHub repositories when verify passed):\n" +
		"• GitHub Actions raxx-app/legacy-worker (GH_API_READONLY_TOKEN) may hold the old token: GitHub does not show values; updated " +
		words.DateText(copyAt) + ", before this rotation"; !strings.Contains(text, want) {
		t.Errorf("the card does not name the GitHub copy nobody listed (%q):\n%s", want, text)
	}
	must(t, demo.WaitFor("the scan in the card's thread", func() bool {
		for _, m := range h.World.Slack.Thread(demo.OpsChannel, card.TS) {
			if strings.Contains(m.Text, "scanned 4 Heroku apps and looked at 3 GitHub repositories for the old token: "+legacyCron+
				" · GH_TOKEN still holds it; 1 GitHub secret of the same name nobody listed may hold it") {
				return true
			}
		}
		return false
	}))
	if strings.Contains(text, "raxx-unrelated") || strings.Contains(text, "raxx-console-prod · ") {
		t.Errorf("the card names an app that does not hold the old token:\n%s", text)
	}
	// Both revoke buttons' confirm dialogs repeat it.
	for _, label := range []string{handlers.LabelRevokeAPI, handlers.LabelRevokeManual} {
		if b, _ := card.Button(label); !strings.Contains(b.Confirm, line) {
			t.Errorf("the %q confirmation does not repeat the unknown consumer: %q", label, b.Confirm)
		}
	}
	// One list and one read of every app's config, nothing written to apps
	// outside the matrix.
	if n := h.World.Heroku.Count("GET /apps", true); n != 1 {
		t.Errorf("%d app lists, want 1", n)
	}
	for _, r := range h.World.Heroku.Requests() {
		if r.Method == "PATCH" && strings.Contains(r.Path, legacyCron) {
			t.Errorf("rotabot wrote to %s", legacyCron)
		}
	}
	if v, _ := h.World.Heroku.ConfigVar(legacyCron, "GH_TOKEN"); v != h.OldToken {
		t.Error("the unknown consumer was changed")
	}
	// After the revoke the card says what broke.
	must(t, h.Click(demo.Alice, card, handlers.LabelRevokeManual))
	// The manual revoke's 401 check fails (the old token still works): the card
	// goes back to waiting and keeps the warning.
	card = h.mustCard(t, "r1", "Waiting for revoke")
	must(t, demo.WaitFor("the 401 check", func() bool {
		m, _ := h.Card("r1")
		return strings.Contains(demo.CardText(m), "The old token still works")
	}))
	card, _ = h.Card("r1")
	if !strings.Contains(demo.CardText(card), line) {
		t.Error("the warning left the card")
	}
	h.World.GitHub.Revoke(h.OldToken)
	must(t, h.Click(demo.Alice, card, handlers.LabelRevokeManual))
	card = h.mustCard(t, "r1", "Completed")
	if !strings.Contains(demo.CardText(card), legacyCron+" · GH_TOKEN held the old token at verify: it breaks if it still does") {
		t.Errorf("the finished card does not say what broke:\n%s", demo.CardText(card))
	}
}

// /rotate where and rotabot where name every app and variable holding the current
// value, in the routing matrix or not, and every destination not holding it; the
// dry runs add the unknown consumers to the plan. Only ops members may ask.
func TestWhereAndDryRunNameUnknownConsumers(t *testing.T) {
	h := startBot(t)
	h.trackAppSecrets()
	h.World.Heroku.AddApp(legacyCron, map[string]string{"GH_TOKEN": h.OldToken})
	other := demo.FineGrainedToken()
	h.Track(other)
	byHand := other
	h.World.Heroku.SetConfigByHand("raxx-console-staging", map[string]*string{"GITHUB_API_READONLY_TOKEN": &byHand}, "someone@raxx.example")
	// The same name in another repository and on the organisation's
	// Dependabot secrets, set by hand before: GitHub shows names and dates.
	actionsAt := h.unlistedCopy(sbgithub.GHActions, "raxx-app/legacy-worker")
	h.unlistedCopy(sbgithub.GHDependabotOrg, "raxx-app")
	copyLine := "GitHub Actions raxx-app/legacy-worker (GH_API_READONLY_TOKEN) may hold this value: GitHub does not show values; updated " + words.DateText(actionsAt)

	must(t, h.Slash(demo.Mallory, demo.OtherChannel, "where GITHUB_API_READONLY_TOKEN"))
	h.mustEphemeral(t, demo.Mallory, 1, "Only members of the ops user group")
	lists := h.World.Heroku.Count("GET /apps", false)
	if lists != 0 {
		t.Fatalf("a refused /rotate where listed the apps (%d)", lists)
	}

	must(t, h.Slash(demo.Alice, demo.OtherChannel, "where GITHUB_API_READONLY_TOKEN"))
	h.mustEphemeral(t, demo.Alice, 1, "⏳ Looking for the current value of GITHUB_API_READONLY_TOKEN")
	text, err := h.WaitEphemeral(demo.Alice, 2)
	must(t, err)
	for _, want := range []string{
		"*Where is GITHUB_API_READONLY_TOKEN?* The value in Infisical: version 1, `" + rotation.Fingerprint(h.OldToken) + "`",
		"Scanned 3 of 3 Heroku apps",
		"• raxx-console-prod · GITHUB_API_READONLY_TOKEN — ✅ in the routing matrix",
		"• " + legacyCron + " · GH_TOKEN — ⚠️ *not in the routing matrix*",
		"• ❌ Heroku raxx-console-staging — holds another value",
		"Not checked (their values cannot be read back): GitHub Actions raxx-app/TradeMasterAPI (GH_API_READONLY_TOKEN), GitHub environment secret raxx-app/TradeMasterAPI · production · GH_API_READONLY_TOKEN, Dependabot secret raxx-app/TradeMasterAPI · GH_API_READONLY_TOKEN, shell rc of <@U0OPERATOR>",
		"Looked at 3 GitHub repositories for secrets of the names GITHUB_API_READONLY_TOKEN uses",
		"*GitHub secrets of these names (2):*",
		"• ⚠️ " + copyLine + " — NOT in the routing matrix: a rotation will not update it",
		"• ⚠️ Dependabot organisation secret raxx-app · GH_API_READONLY_TOKEN may hold this value",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/rotate where lacks %q:\n%s", want, text)
		}
	}

	must(t, h.Slash(demo.Alice, demo.OtherChannel, "GITHUB_API_READONLY_TOKEN --dry-run"))
	text, err = h.WaitEphemeral(demo.Alice, 3)
	must(t, err)
	dryCopy := "- " + strings.Replace(copyLine, "this value", "the current token", 1)
	if !strings.Contains(text, "unknown consumers (1)") || !strings.Contains(text, "- Heroku "+legacyCron+" · GH_TOKEN") ||
		!strings.Contains(text, "GitHub secrets nobody listed (2)") || !strings.Contains(text, dryCopy) {
		t.Errorf("the dry run does not add the unknown consumer and the GitHub copies:\n%s", text)
	}

	// The CLI, on the same stand-ins.
	env := map[string]string{}
	for k, v := range h.Env {
		env[k] = v
	}
	code, out, errs := runCLI(t, env, "where", "GITHUB_API_READONLY_TOKEN")
	if code != 1 { // a destination does not hold the current value
		t.Errorf("rotabot where: exit %d, want 1\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"WHERE — GITHUB_API_READONLY_TOKEN: the value in Infisical is version 1, fingerprint " + rotation.Fingerprint(h.OldToken),
		"raxx-console-prod · GITHUB_API_READONLY_TOKEN  in the routing matrix",
		legacyCron + " · GH_TOKEN                    NOT in the routing matrix: a rotation will not update it",
		"Heroku raxx-console-staging: holds another value",
		"Looked at 3 GitHub repositories for secrets of the names GITHUB_API_READONLY_TOKEN uses",
		"GitHub secrets of these names (2):\n  " + copyLine + " — NOT in the routing matrix",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rotabot where lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN", "--dry-run")
	if code != 0 || !strings.Contains(out, "- Heroku "+legacyCron+" · GH_TOKEN") || !strings.Contains(out, dryCopy) {
		t.Errorf("rotabot rotate --dry-run: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = runCLI(t, env, "where")
	if code != 2 || !strings.Contains(errs, "rotabot where: name one secret") {
		t.Errorf("rotabot where without a secret: %d %s", code, errs)
	}
	code, _, errs = runCLI(t, env, "where", "NOPE")
	if code != 2 || !strings.Contains(errs, "\"NOPE\" is not a secret in the routing matrix — known secrets:") {
		t.Errorf("rotabot where NOPE: %d %s", code, errs)
	}
	h.assertLeakFree(t, out, errs)
	// Nothing was written anywhere by any of it.
	for _, r := range append(h.World.Heroku.Requests(), h.World.GitHub.Requests()...) {
		if r.Method != "GET" {
			t.Errorf("wrote: %s %s", r.Method, r.Path)
		}
	}
}

// unlistedCopy sets GITHUB_API_READONLY_TOKEN's current value, under its
// GitHub name, at a place of scope no routing matrix names, as someone did
// with gh secret set an hour ago; it returns when, as GitHub shows it.
func (h *harness) unlistedCopy(scope sbgithub.GHScope, target string) time.Time {
	g := h.World.GitHub
	g.SetNow(func() time.Time { return rotation.WallNow().Add(-time.Hour) })
	defer g.SetNow(nil)
	if scope == sbgithub.GHDependabotOrg {
		g.SetGHSecret(scope, target, "GH_API_READONLY_TOKEN", h.OldToken, "private")
	} else {
		g.SetGHSecret(scope, target, "GH_API_READONLY_TOKEN", h.OldToken, "")
	}
	_, at, _, _, _ := g.GHSecret(scope, target, "GH_API_READONLY_TOKEN")
	return at
}
