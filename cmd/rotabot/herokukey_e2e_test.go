package main

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

const herokuKey = "HEROKU_DEPLOY_KEY"

// heroKeyAuth is the stand-in's authorization of key (its fingerprint), live or
// deleted.
func (h *harness) keyAuth(t *testing.T, key string) sbheroku.Authorization {
	t.Helper()
	for _, a := range h.World.Heroku.Authorizations() {
		if a.Fingerprint == rotation.Fingerprint(key) {
			return a
		}
	}
	t.Fatalf("the stand-in has no authorization for %s", rotation.Fingerprint(key))
	return sbheroku.Authorization{}
}

// pendingKey is the value in the vault's pending folder ("" for none).
func (h *harness) pendingKey() string {
	v, _, _ := h.World.Infisical.Value(h.Matrix.Vault.Environment, h.Matrix.Vault.PendingPath, herokuKey)
	return v
}

// answers401 asks Heroku's GET /account with key, as any consumer would.
func (h *harness) answers401(t *testing.T, key string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.World.Heroku.URL+"/account", nil)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusUnauthorized
}

// toMintedApproval is alice's /rotate HEROKU_DEPLOY_KEY: the bot makes the new
// key right after pre-check, so the card waits for approval with nobody having
// pasted anything. It returns the card and the old and new keys.
func (h *harness) toMintedApproval(t *testing.T) (card sbslack.Message, oldKey, newKey string) {
	t.Helper()
	oldKey = h.Current[herokuKey]
	must(t, h.Slash(demo.Alice, demo.OpsChannel, herokuKey))
	card = h.mustCard(t, "r1", "Waiting for approval")
	newKey = h.pendingKey()
	if newKey == "" || newKey == oldKey || !h.World.Heroku.KeyAlive(newKey) {
		t.Fatalf("the pending folder holds %q (old %s)", rotation.Fingerprint(newKey), rotation.Fingerprint(oldKey))
	}
	if len(h.World.Slack.Views()) != 0 {
		t.Error("a form was opened: nothing is pasted for a minted kind")
	}
	for dest, v := range h.destValues(herokuKey) {
		if v == newKey {
			t.Errorf("%s holds the new key before approval", dest)
		}
	}
	return card, oldKey, newKey
}

// A heroku-api-key secret goes from /rotate to Completed with one Approve and
// no paste: the new key is minted for the same account and scope, described by
// the secret and the run, held pending, checked as the same account; approved,
// it is stored and set on the Actions secret; the one revoke button deletes the
// old key's authorization, which then answers 401. Slack, the logs, the bbolt
// file and the CLI's dry run hold neither key.
func TestHerokuKeyRotatedWithOneApprove(t *testing.T) {
	h := startBot(t)
	card, oldKey, newKey := h.toMintedApproval(t)
	text := demo.CardText(card)
	auth := h.keyAuth(t, newKey)
	for _, want := range []string{"heroku-api-key", "login *" + h.World.Heroku.Email() + "*", "new `" + rotation.Fingerprint(newKey) + "`",
		"*2. Generate* — done", "authorization " + auth.ID[:8] + ", scope global, “rotabot: HEROKU_DEPLOY_KEY, ", "(run r1)”"} {
		if !strings.Contains(text, want) {
			t.Errorf("the approver cannot see %q:\n%s", want, text)
		}
	}
	if _, ok := card.Button(handlers.LabelSubmit); ok {
		t.Error("the card offers Submit new token for a minted kind")
	}
	if old := h.keyAuth(t, oldKey); !strings.Contains(text, "authorization "+old.ID[:8]+", scope global, “deploys: HEROKU_DEPLOY_KEY”") {
		t.Errorf("pre-check does not name the old key's authorization %s:\n%s", old.ID[:8], text)
	}
	must(t, h.Click(demo.Alice, card, handlers.LabelApprove))
	h.mustEphemeral(t, demo.Alice, 1, "You started this run")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	for dest, v := range h.destValues(herokuKey) {
		if v != newKey {
			t.Errorf("%s does not hold the new key", dest)
		}
	}
	if h.pendingKey() != "" {
		t.Error("the pending value is left")
	}
	if _, ok := card.Button(handlers.LabelRevokeManual); ok {
		t.Error("the card offers I revoked the old token: the bot deletes the old key itself")
	}
	must(t, h.Click(demo.Bob, card, handlers.LabelRevokeAPI))
	h.mustCard(t, "r1", "Completed")
	if a := h.keyAuth(t, oldKey); a.Deleted.IsZero() || !h.answers401(t, oldKey) {
		t.Errorf("the old key's authorization %s is not deleted, or the key still answers", a.ID[:8])
	}
	if h.answers401(t, newKey) {
		t.Error("the new key answers 401")
	}
	must(t, demo.WaitFor("the audit post", func() bool { return len(h.World.Slack.Messages(demo.AuditChannel)) == 1 }))
	audit := h.World.Slack.Messages(demo.AuditChannel)[0].Text
	for _, want := range []string{"secret.rotate.completed", "HEROKU_DEPLOY_KEY", "heroku-api-key", "approver: <@U0BOB>",
		"old " + rotation.Fingerprint(oldKey) + " → new " + rotation.Fingerprint(newKey)} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit post lacks %q:\n%s", want, audit)
		}
	}
	env := maps.Clone(h.Env)
	env["ROTABOT_DB"] = t.TempDir() + "/cli.db"
	code, out, errs := runCLI(t, env, "rotate", herokuKey, "--dry-run")
	if code != 0 || !strings.Contains(out, "heroku-api-key, minted by rotabot") || !strings.Contains(out, "authorization "+auth.ID[:8]) {
		t.Errorf("dry run: %d\n%s%s", code, out, errs)
	}
	h.assertLeakFree(t, out, errs)
}

// A rollback before the revoke puts the old key back everywhere and deletes
// the new key's authorization; the old key still works.
func TestHerokuKeyRollbackDeletesTheNewKey(t *testing.T) {
	h := startBot(t)
	card, oldKey, newKey := h.toMintedApproval(t)
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	must(t, h.Click(demo.Bob, card, handlers.LabelRollback))
	h.mustCard(t, "r1", "Rolled back")
	for dest, v := range h.destValues(herokuKey) {
		if v != oldKey {
			t.Errorf("%s does not hold the old key again", dest)
		}
	}
	if a := h.keyAuth(t, newKey); a.Deleted.IsZero() || !h.answers401(t, newKey) {
		t.Error("the new key's authorization was not deleted")
	}
	if h.answers401(t, oldKey) {
		t.Error("the old key died")
	}
}

// The bridge CLI takes a Heroku key put in Infisical by hand as it takes a PAT:
// the key is checked at Heroku only (never at GitHub), set on the secret's
// consumers, and the SUMMARY's next steps say how to delete the old key's
// authorization and check it answers 401. Its output holds neither key.
func TestHerokuKeyThroughTheCLI(t *testing.T) {
	h, env := cliWorld(t)
	oldKey := h.Current[herokuKey]
	newKey := h.World.Heroku.AddKey(h.World.Heroku.Email(), []string{"global"}, "made by hand for the CLI")
	h.World.Infisical.Set(h.Matrix.Vault.Environment, h.Matrix.Vault.Path, herokuKey, newKey)
	code, out, errs := runCLI(t, env, "rotate", herokuKey)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"SUMMARY", "GitHub Actions raxx-app/TradeMasterAPI (HEROKU_API_KEY)",
		"Delete the OLD key's authorization (fingerprint " + rotation.Fingerprint(oldKey) + "): `heroku authorizations` lists them",
		"GET " + h.World.Heroku.URL + "/account with the old key must answer 401"} {
		if !strings.Contains(out, want) {
			t.Errorf("the CLI's output lacks %q:\n%s", want, out)
		}
	}
	if v := h.destValues(herokuKey)["GitHub Actions raxx-app/TradeMasterAPI (HEROKU_API_KEY)"]; v != newKey {
		t.Errorf("the Actions secret holds %s", rotation.Fingerprint(v))
	}
	for _, r := range h.World.GitHub.Requests() {
		if r.Path == "/user" {
			t.Errorf("a key went to GitHub: %s %s", r.Method, r.Path)
		}
	}
	h.assertLeakFree(t, out, errs)
}

// A heroku-api-key secret past its max age starts its own run, and the run
// goes to Completed with one Approve and no paste (issue 23's end to end): the
// key Heroku says was made 40 days ago, with max_age: 30d and
// auto_start_days: 7, is due; the bot's first reminder pass starts the run as
// rotabot, which mints and validates the new key by itself and waits only for
// a second person's Approve; the one revoke button deletes the old key's
// authorization, which then answers 401. The audit trail has the auto start
// and the completion; the leak guard (startBot) greps Slack, the logs and the
// database for every key the stand-in made.
func TestHerokuKeyAutoStartedToCompletedWithOneApprove(t *testing.T) {
	t.Parallel()
	h := startBot(t)
	h.StopBot()
	hk := h.World.Heroku
	made := rotation.WallNow().Add(-40 * 24 * time.Hour)
	hk.SetClock(func() time.Time { return made })
	oldKey := hk.AddKey(hk.Email(), []string{"global"}, "deploys: "+herokuKey)
	hk.SetClock(rotation.WallNow)
	h.World.Infisical.Set(h.Matrix.Vault.Environment, h.Matrix.Vault.Path, herokuKey, oldKey)
	h.Current[herokuKey] = oldKey
	y := h.Env["ROTABOT_CONFIG"]
	auto := strings.Replace(y, "    kind: heroku-api-key\n", "    kind: heroku-api-key\n    max_age: 30d\n    auto_start_days: 7\n", 1)
	if auto == y {
		t.Fatal("the example matrix has no heroku-api-key secret")
	}
	h.Env["ROTABOT_CONFIG"] = auto
	must(t, h.StartBot(context.Background(), demoBot))

	card := h.mustCard(t, "r1", "Waiting for approval")
	text := demo.CardText(card)
	newKey := h.pendingKey()
	if newKey == "" || newKey == oldKey || !hk.KeyAlive(newKey) {
		t.Fatalf("the pending folder holds %q, not a new live key", rotation.Fingerprint(newKey))
	}
	for _, want := range []string{"Requested by rotabot", "🤖 rotabot started this run by itself", "passed its max age of 30 days", "*2. Generate* — done"} {
		if !strings.Contains(text, want) {
			t.Errorf("the card does not show %q:\n%s", want, text)
		}
	}
	if len(h.World.Slack.Views()) != 0 {
		t.Error("a form was opened: nothing is pasted for a minted kind")
	}
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	for dest, v := range h.destValues(herokuKey) {
		if v != newKey {
			t.Errorf("%s does not hold the new key", dest)
		}
	}
	must(t, h.Click(demo.Bob, card, handlers.LabelRevokeAPI))
	h.mustCard(t, "r1", "Completed")
	if a := h.keyAuth(t, oldKey); a.Deleted.IsZero() || !h.answers401(t, oldKey) {
		t.Errorf("the old key's authorization %s is not deleted, or the key still answers", a.ID[:8])
	}
	if h.answers401(t, newKey) {
		t.Error("the new key answers 401")
	}
	var posts []string
	must(t, demo.WaitFor("the audit posts", func() bool {
		posts = posts[:0]
		for _, m := range h.World.Slack.Messages(demo.AuditChannel) {
			posts = append(posts, strings.SplitN(m.Text, "\n", 2)[0])
		}
		return len(posts) == 2
	}))
	if !strings.HasPrefix(posts[0], string(rotation.ActionAutoStarted)) || !strings.HasPrefix(posts[1], string(rotation.ActionCompleted)) {
		t.Errorf("audit posts %q: want auto_started, then completed", posts)
	}
	if _, ok := h.Card("r2"); ok {
		t.Error("a second run started")
	}
}
