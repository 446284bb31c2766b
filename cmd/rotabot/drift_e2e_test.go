package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	rgithub "github.com/raxx-app/rotabot/rotation/github"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// driftPosts are the drift posts in the ops channel, oldest first.
func (h *harness) driftPosts() []sbslack.Message {
	var out []sbslack.Message
	for _, m := range h.World.Slack.Messages(demo.OpsChannel) {
		if (m.ThreadTS == "" || m.ThreadTS == m.TS) && strings.HasPrefix(m.Text, "Drift") {
			out = append(out, m)
		}
	}
	return out
}

// trackAppSecrets adds the other secrets the demo's apps hold (their database
// passwords) to the leak checks: a scan or a drift pass reads them too.
func (h *harness) trackAppSecrets() {
	for _, app := range []string{"raxx-console-prod", "raxx-console-staging"} {
		url, _ := h.World.Heroku.ConfigVar(app, "DATABASE_URL")
		_, rest, _ := strings.Cut(url, "://u:")
		pw, _, _ := strings.Cut(rest, "@")
		h.Track(pw)
	}
}

// slashAnswer types /rotate text as user and returns the answer number n.
func (h *harness) slashAnswer(t *testing.T, user, text string, n int) string {
	t.Helper()
	must(t, h.Slash(user, demo.OtherChannel, text))
	answer, err := h.WaitEphemeral(user, n)
	must(t, err)
	return answer
}

// A config var changed by hand is reported once, shown in /rotate expiring and
// App Home, and repaired by Set it from Infisical, with an audit entry; the
// record survives a restart.
func TestDriftChangedByHandReportedOnceAndRepaired(t *testing.T) {
	h := startBot(t)
	h.trackAppSecrets()
	byHand := demo.FineGrainedToken()
	h.Track(byHand)
	const app, name = "raxx-console-staging", "GITHUB_API_READONLY_TOKEN"
	h.World.Heroku.SetConfigByHand(app, map[string]*string{name: &byHand}, "someone@raxx.example")

	if got := h.slashAnswer(t, demo.Alice, "drift", 1); !strings.Contains(got, "⏳ Comparing every destination with Infisical") {
		t.Fatalf("first answer: %s", got)
	}
	report, _ := h.WaitEphemeral(demo.Alice, 2)
	for _, want := range []string{"*Drift check* — 3 secrets compared with Infisical: 2 Heroku configs read", "*Open drift (1)*",
		"🧭 *GITHUB_API_READONLY_TOKEN* · Heroku " + app + " — it holds a value other than Infisical's version 1 (`" + rotation.Fingerprint(h.OldToken) + "`): changed outside rotabot"} {
		if !strings.Contains(report, want) {
			t.Errorf("/rotate drift lacks %q:\n%s", want, report)
		}
	}
	must(t, demo.WaitFor("the drift post", func() bool { return len(h.driftPosts()) == 1 }))
	post := h.driftPosts()[0]
	text := demo.CardText(post)
	if !strings.Contains(text, "🧭 *Drift* · GITHUB_API_READONLY_TOKEN on Heroku "+app) || !strings.Contains(text, "["+handlers.LabelDriftRepair+"]") {
		t.Fatalf("the drift post:\n%s", text)
	}
	if b, _ := post.Button(handlers.LabelDriftRepair); !strings.Contains(b.Confirm, "to this destination only (Heroku "+app+") and verifies it") {
		t.Errorf("the confirm dialog: %q", b.Confirm)
	}
	// Another pass, and the periodic one after a restart: no second post.
	h.slashAnswer(t, demo.Alice, "drift", 4)
	if n := len(h.driftPosts()); n != 1 {
		t.Fatalf("%d drift posts after a second check", n)
	}
	// /rotate expiring and App Home show it.
	if got := h.slashAnswer(t, demo.Bob, "expiring", 1); !strings.Contains(got, "*Drift (1)*") || !strings.Contains(got, "Heroku "+app) {
		t.Errorf("/rotate expiring:\n%s", got)
	}
	_, err := h.World.Slack.SendAppHomeOpened(demo.Bob)
	must(t, err)
	must(t, demo.WaitFor("App Home with the drift", func() bool {
		home, ok := h.World.Slack.HomeView(demo.Bob)
		return ok && strings.Contains(home.Content(), "*Drift (1)*")
	}))

	// Outside the ops group: refused, nothing changes.
	must(t, h.Click(demo.Mallory, post, handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Mallory, 1, "Only members of the ops user group")
	if v, _ := h.World.Heroku.ConfigVar(app, name); v != byHand {
		t.Fatal("a refused press changed the config var")
	}
	// Bob sets it from Infisical.
	patches := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", true)
	must(t, h.Click(demo.Bob, post, handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Bob, 2, "Done: GITHUB_API_READONLY_TOKEN on Heroku "+app+" now holds Infisical's version 1")
	if v, _ := h.World.Heroku.ConfigVar(app, name); v != h.OldToken {
		t.Error("the config var does not hold Infisical's value")
	}
	if n := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", true) - patches; n != 1 {
		t.Errorf("%d writes, want 1 (that destination only)", n)
	}
	must(t, demo.WaitFor("the post marked repaired", func() bool {
		ps := h.driftPosts()
		return len(ps) == 1 && strings.Contains(demo.CardText(ps[0]), "✅ *Drift repaired*")
	}))
	post = h.driftPosts()[0]
	if len(post.Buttons()) != 0 || !strings.Contains(demo.CardText(post), "<@"+demo.Bob+"> set it from Infisical (version 1") {
		t.Errorf("the repaired post:\n%s", demo.CardText(post))
	}
	must(t, demo.WaitFor("the audit post", func() bool {
		for _, m := range h.World.Slack.Messages(demo.AuditChannel) {
			if strings.HasPrefix(m.Text, "secret.drift.repaired\n") && strings.Contains(m.Text, "Heroku "+app+": set from Infisical version 1 and verified") {
				return true
			}
		}
		return false
	}))
	// Across a restart: the audit entry and the record are in the database, and
	// nothing is posted again.
	h.StopBot()
	st, err := bbolt.Open(h.Env["ROTABOT_DB"], time.Second)
	must(t, err)
	audits, _ := st.ListAudit(context.Background(), name, 0)
	drifts, _ := st.ListDrift(context.Background())
	st.Close()
	if len(audits) != 1 || audits[0].Action != rotation.ActionDriftRepaired || audits[0].Actor != demo.Bob {
		t.Fatalf("audit trail: %+v", audits)
	}
	if len(drifts) != 1 || drifts[0].Open || drifts[0].RepairedBy != demo.Bob {
		t.Fatalf("drift records: %+v", drifts)
	}
	must(t, h.StartBot(context.Background(), demoBot))
	h.slashAnswer(t, demo.Alice, "drift", 6)
	if got, _ := h.WaitEphemeral(demo.Alice, 6); !strings.Contains(got, "✅ No drift") {
		t.Errorf("after the repair and a restart:\n%s", got)
	}
	if n := len(h.driftPosts()); n != 1 {
		t.Errorf("%d drift posts after the restart", n)
	}
}

// The periodic pass (ROTABOT_DRIFT_INTERVAL) finds drift without being asked; a
// drift that resolves by itself is marked resolved in its post; after a
// rotation, an Actions secret written by hand and an Infisical version written
// outside rotabot are drift too.
func TestDriftPeriodicResolvedAndAfterARotation(t *testing.T) {
	t.Parallel()
	h := startBot(t)
	h.trackAppSecrets()
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	h.World.GitHub.Revoke(h.OldToken)
	must(t, h.Click(demo.Alice, card, handlers.LabelRevokeManual))
	h.mustCard(t, "r1", "Completed")
	h.StopBot()
	h.Env["ROTABOT_DRIFT_INTERVAL"] = "1s"
	must(t, h.StartBot(context.Background(), demoBot))

	// A config var changed by hand and set back: posted, then resolved.
	const app, name = "raxx-console-prod", "GITHUB_API_READONLY_TOKEN"
	other := demo.FineGrainedToken()
	h.Track(other)
	h.World.Heroku.SetConfigByHand(app, map[string]*string{name: &other}, "someone@raxx.example")
	must(t, demo.WaitFor("the periodic pass's post", func() bool { return len(h.driftPosts()) == 1 }))
	back := h.Fresh[0]
	h.World.Heroku.SetConfigByHand(app, map[string]*string{name: &back}, "someone@raxx.example")
	if err := demo.WaitFor("the post marked resolved", func() bool {
		ps := h.driftPosts()
		return len(ps) == 1 && strings.Contains(demo.CardText(ps[0]), "✅ *Drift resolved* · GITHUB_API_READONLY_TOKEN on Heroku "+app+"\nIt matches again")
	}); err != nil {
		var texts []string
		for _, p := range h.driftPosts() {
			texts = append(texts, demo.CardText(p))
		}
		t.Fatalf("%v: the posts:\n%s\nlogs:\n%s", err, strings.Join(texts, "\n"), h.Logs.String())
	}

	// gh secret set by hand, ten minutes after rotabot's write.
	h.World.GitHub.SetNow(func() time.Time { return rotation.WallNow().Add(10 * time.Minute) })
	gh, err := rgithub.New(rgithub.Config{BaseURL: h.Env["GITHUB_API_URL"], AdminToken: rotation.NewSecret(h.Env["GITHUB_TOKEN"])})
	must(t, err)
	must(t, gh.ActionsSecrets().Set(context.Background(), "raxx-app/TradeMasterAPI", "GH_API_READONLY_TOKEN", rotation.NewSecret(other)))
	// A new Infisical version written outside rotabot (the same value: only
	// the version says so).
	h.World.Infisical.Set(h.Matrix.Vault.Environment, h.Matrix.Vault.Path, name, h.Fresh[0])
	must(t, demo.WaitFor("the GitHub and Infisical drift posts", func() bool { return len(h.driftPosts()) == 3 }))
	var texts []string
	for _, p := range h.driftPosts()[1:] {
		texts = append(texts, demo.CardText(p))
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"GITHUB_API_READONLY_TOKEN on GitHub Actions raxx-app/TradeMasterAPI (GH_API_READONLY_TOKEN)",
		"after rotabot's last write at",
		"🧭 *Drift* · GITHUB_API_READONLY_TOKEN on Infisical",
		"Infisical holds version 3 (`" + rotation.Fingerprint(h.Fresh[0]) + "`), written outside rotabot with the same value as version 2, the last version rotabot wrote: the consumers rotabot set hold that value already",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the posts lack %q:\n%s", want, all)
		}
	}
	// Set it from Infisical on the version drift, asked for by alice and
	// approved by bob, sets every destination.
	h.World.GitHub.SetNow(nil)
	vaultPost := func() (vault sbslack.Message) {
		for _, p := range h.driftPosts() {
			if strings.Contains(demo.CardText(p), "on Infisical") {
				vault = p
			}
		}
		return vault
	}
	must(t, h.Click(demo.Alice, vaultPost(), handlers.LabelDriftRepair))
	h.mustEphemeral(t, demo.Alice, 1, "Asked: another ops member approves")
	must(t, demo.WaitFor("the Approve button", func() bool { _, ok := vaultPost().Button(handlers.LabelApprove); return ok }))
	must(t, h.Click(demo.Bob, vaultPost(), handlers.LabelApprove))
	h.mustEphemeral(t, demo.Bob, 1, "now holds Infisical's version 3")
	must(t, demo.WaitFor("every drift over", func() bool {
		for _, p := range h.driftPosts() {
			if len(p.Buttons()) > 0 {
				return false
			}
		}
		return true
	}))
	if v, _, _ := h.World.GitHub.ActionsSecret("raxx-app/TradeMasterAPI", "GH_API_READONLY_TOKEN"); v != h.Fresh[0] {
		t.Error("the Actions secret does not hold Infisical's value")
	}
}
