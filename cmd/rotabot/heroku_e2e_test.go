package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
)

const (
	prod    = "raxx-console-prod"
	staging = "raxx-console-staging"
	// consoleCheck is the example matrix's verify check on the console stand-in.
	consoleCheck = "GET /api/status/builds"
)

// startBotHeroku is startBot with the routing matrix's Heroku waits set to
// release and restart (the example's 5m would make rotabot look every 5 s).
func startBotHeroku(t *testing.T, release, restart string) *harness {
	t.Helper()
	h := startBot(t)
	h.StopBot()
	y := h.Env["ROTABOT_CONFIG"]
	y = strings.Replace(y, "release_timeout: 5m", "release_timeout: "+release, 1)
	y = strings.Replace(y, "restart_timeout: 5m", "restart_timeout: "+restart, 1)
	if y == h.Env["ROTABOT_CONFIG"] {
		t.Fatal("the example matrix has no heroku block to change")
	}
	h.Env["ROTABOT_CONFIG"] = y
	must(t, h.StartBot(context.Background(), demoBot))
	t.Cleanup(func() { h.assertLogplexURLKept(t) })
	return h
}

// waitCardText waits until run id's card, as a person reads it, holds want.
func (h *harness) waitCardText(t *testing.T, id, want string) string {
	t.Helper()
	var text string
	if err := demo.WaitFor("the card to show "+want, func() bool {
		m, ok := h.Card(id)
		text = demo.CardText(m)
		return ok && strings.Contains(text, want)
	}); err != nil {
		t.Fatalf("%v; the card shows:\n%s", err, text)
	}
	return text
}

// assertLogplexURLKept checks that no log session's URL (the capability to read
// an app's log) reached Slack, the logs or the database, and that logplex was
// never sent a credential.
func (h *harness) assertLogplexURLKept(t *testing.T) {
	t.Helper()
	if t.Failed() {
		return
	}
	h.StopBot()
	reqs := h.World.Heroku.Logplex().Requests()
	where := map[string]string{"Slack": h.World.Slack.AllText(), "the logs": h.Logs.String(), "the database": h.dbBytes(t)}
	for _, r := range reqs {
		session := strings.TrimPrefix(r.Path, "/sessions/")
		for name, text := range where {
			if strings.Contains(text, session) {
				t.Errorf("%s holds a log session's URL", name)
			}
		}
		for k := range r.Header {
			if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Cookie") {
				t.Errorf("the log stream was asked with a %s header", k)
			}
		}
	}
	if len(reqs) == 0 {
		t.Error("no log stream was read")
	}
}

// A release held pending delays verify: the card shows it per app, the console
// check and the probe wait, and once the release succeeds and the dynos are up
// the run goes on and each app's log is watched.
func TestHerokuReleaseHeldPendingDelaysVerify(t *testing.T) {
	t.Parallel()
	h := startBotHeroku(t, "30s", "30s")
	h.World.Heroku.SetReleasePhase(prod, sbheroku.ReleasePhase{Hold: true})
	h.World.Heroku.SetBoot(staging, sbheroku.Boot{Delay: 1500 * time.Millisecond})
	card := h.toApproval(t, "r1")
	probes := h.World.GitHub.Count("GET /repos/{owner}/{repo}/actions/runs", false)
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))

	h.waitCardText(t, "r1", "Heroku "+staging+" — written · restarting · release v2 · 0/1 dynos up")
	text := h.waitCardText(t, "r1", "Heroku "+prod+" — written · releasing · release v2 pending")
	if !strings.Contains(text, "*Status:* Verifying") {
		t.Fatalf("the card:\n%s", text)
	}
	h.waitCardText(t, "r1", "Heroku "+staging+" — written · release v2 · watching logs")
	looks := func() int { return h.World.Heroku.Count("GET /apps/{app}/releases/{release}", false) }
	seen := looks()
	must(t, demo.WaitFor("a few more looks at the pending release", func() bool { return looks() >= seen+3 }))
	if n := h.Console.Count(consoleCheck, false); n != 0 {
		t.Fatalf("the console check ran %d times while prod's release was pending", n)
	}
	if n := h.World.GitHub.Count("GET /repos/{owner}/{repo}/actions/runs", false); n != probes {
		t.Fatalf("the probe ran while prod's release was pending")
	}
	if m, _ := h.Card("r1"); !strings.Contains(m.Text, "Verifying") {
		t.Fatalf("verify went on before the release: %s", m.Text)
	}

	h.World.Heroku.FinishRelease(prod, true)
	card = h.mustCard(t, "r1", "Waiting for revoke")
	text = demo.CardText(card)
	for _, want := range []string{
		"Heroku " + prod + " — verified · release v2 · watching logs until ",
		"Heroku " + staging + " — verified · release v2 · watching logs until ",
		"every destination holds the new value; console build status ok, workload probe ok",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the card lacks %q:\n%s", want, text)
		}
	}
	if n := h.Console.Count(consoleCheck, false); n != 1 {
		t.Errorf("the console check ran %d times", n)
	}
	// The revoke buttons do not wait for the log watch; their dialogs say it goes on.
	for _, label := range []string{handlers.LabelRevokeAPI, handlers.LabelRevokeManual} {
		if _, ok := card.Button(label); !ok {
			t.Fatalf("no %s while the logs are watched", label)
		}
	}
	if js := string(mustJSON(card.Blocks)); !strings.Contains(js, "Logs of "+prod+", "+staging+" watched until ") {
		t.Errorf("the revoke dialog does not name the apps still watched:\n%s", js)
	}
	// The thread says when each app ran the new release (a card's notes follow
	// its update through the card's outbox).
	for _, want := range []string{"Heroku " + prod + " runs release v2", "Heroku " + staging + " runs release v2"} {
		if demo.WaitFor(want, func() bool { return strings.Contains(h.World.Slack.AllText(), want) }) != nil {
			t.Errorf("nobody was told %q", want)
		}
	}
	if rs := h.World.Heroku.Releases(prod); len(rs) != 2 || rs[1].Status != "succeeded" {
		t.Errorf("prod's releases: %+v", rs)
	}
}

// A release that fails fails its destination, with its version and the app's
// activity page; an app scaled to zero has nothing to restart; Retry writes the
// failed app again and the run goes on.
func TestHerokuFailedReleaseFailsItsDestination(t *testing.T) {
	h := startBotHeroku(t, "30s", "30s")
	h.World.Heroku.SetReleasePhase(prod, sbheroku.ReleasePhase{Delay: 100 * time.Millisecond, Fail: true})
	h.World.Heroku.Scale(staging, "web", 0)
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Failed")
	text := demo.CardText(card)
	want := "Heroku release v2 of " + prod + " failed: see https://dashboard.heroku.com/apps/" + prod + "/activity"
	for _, w := range []string{
		"Heroku " + prod + " — failed · release v2 failed\n      " + want,
		"Heroku " + staging + " — verified · release v2 · scaled to zero: nothing to restart",
		"Failed at verify: 1 of 6 destinations failed (" + want + ")",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("the card lacks %q:\n%s", w, text)
		}
	}
	if _, ok := card.Button(handlers.LabelRevokeAPI); ok {
		t.Error("revoke offered after a failed release")
	}
	if _, ok := card.Button(handlers.LabelRollback); !ok {
		t.Error("no Rollback after a failed release")
	}
	if strings.Contains(h.World.Slack.AllText(), "Heroku "+staging+" runs release") {
		t.Error("the thread says a scaled-to-zero app runs its release")
	}
	if !strings.Contains(h.World.Slack.AllText(), "Heroku "+staging+" is scaled to zero: release v2 has nothing to restart") {
		t.Error("nobody was told staging has no dynos")
	}

	// Retry sets prod again: a new release, which succeeds this time.
	h.World.Heroku.SetReleasePhase(prod, sbheroku.ReleasePhase{})
	must(t, h.Click(demo.Alice, card, handlers.LabelRetry))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	if text := demo.CardText(card); !strings.Contains(text, "Heroku "+prod+" — verified (attempt 2) · release v3 · watching logs") {
		t.Errorf("after the retry:\n%s", text)
	}
	if n := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 3 {
		t.Errorf("%d config changes, want prod twice and staging once", n)
	}
}

// A line with "Bad credentials" in an app's log, once it runs the new token,
// fails that destination with the line (any token in it masked), takes the
// revoke buttons away and offers Rollback.
func TestHerokuLogWatchBadCredentialsOffersRollback(t *testing.T) {
	h := startBotHeroku(t, "30s", "30s")
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	h.waitCardText(t, "r1", "Heroku "+staging+" — verified · release v2 · watching logs until ")
	must(t, demo.WaitFor("both logs read", func() bool {
		return h.World.Heroku.OpenLogStreams(prod) == 1 && h.World.Heroku.OpenLogStreams(staging) == 1
	}))
	h.waitCardText(t, "r1", "Heroku "+prod+" — verified · release v2 · watching logs until ")
	if text := h.waitCardText(t, "r1", " UTC · clean"); !strings.Contains(text, "watching logs until ") {
		t.Fatalf("the card:\n%s", text)
	}

	// The app logs a GitHub 401 with the token it sent in the line.
	h.World.Heroku.InjectLog(staging, "app[web.1]", "GitHub API error: 401 Bad credentials (Authorization: token "+h.Fresh[0]+")")
	card = h.mustCard(t, "r1", "Failed")
	text := demo.CardText(card)
	for _, want := range []string{
		"Heroku " + staging + " — failed · release v2 · GitHub authentication failure in the logs",
		staging + " logged a GitHub authentication failure after the restart: `",
		" app[web.1]: GitHub API error: 401 Bad credentials (Authorization: token github_pat_[masked])`",
		"Rollback restores the old token",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the card lacks %q:\n%s", want, text)
		}
	}
	for _, label := range []string{handlers.LabelRevokeAPI, handlers.LabelRevokeManual} {
		if _, ok := card.Button(label); ok {
			t.Errorf("%s still offered after a GitHub auth failure", label)
		}
	}
	if _, ok := card.Button(handlers.LabelRollback); !ok {
		t.Fatal("no Rollback after a GitHub auth failure")
	}
	must(t, h.Click(demo.Bob, card, handlers.LabelRollback))
	h.mustCard(t, "r1", "Rolled back")
	for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
		if v != h.OldToken {
			t.Errorf("%s does not hold the old token after the rollback", dest)
		}
	}
	// Rollback ends the watch of the app still watched.
	must(t, demo.WaitFor("prod's log stream to close", func() bool { return h.World.Heroku.OpenLogStreams(prod) == 0 }))
	if text := demo.CardText(h.mustCard(t, "r1", "Rolled back")); strings.Contains(text, "watching logs") {
		t.Errorf("a watch goes on after the rollback:\n%s", text)
	}
}

// The release wait and the log watch survive a restart of the bot: the pending
// release is waited for again (nothing is written twice), and the watch goes on.
func TestHerokuReleaseWaitSurvivesARestart(t *testing.T) {
	h := startBotHeroku(t, "30s", "30s")
	h.World.Heroku.SetReleasePhase(prod, sbheroku.ReleasePhase{Hold: true})
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	h.waitCardText(t, "r1", "Heroku "+prod+" — written · releasing · release v2 pending")
	h.waitCardText(t, "r1", "Heroku "+staging+" — written · release v2 · watching logs")
	h.StopBot()
	h.World.Heroku.FinishRelease(prod, true)
	must(t, h.StartBot(context.Background(), demoBot))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	if text := demo.CardText(card); !strings.Contains(text, "Heroku "+prod+" — verified · release v2 · watching logs") {
		t.Errorf("after the restart:\n%s", text)
	}
	if n := h.World.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d config changes, want one per app", n)
	}
	// Staging's watch, begun before the restart, goes on in the new process.
	must(t, demo.WaitFor("staging's log read again", func() bool { return h.World.Heroku.OpenLogStreams(staging) == 1 }))
	h.World.Heroku.InjectLog(staging, "app[worker.1]", "Octokit::Unauthorized: 401 - Bad credentials")
	h.mustCard(t, "r1", "Failed")
}

// A log session Heroku will not open is a warning on the card, not a failure:
// the run waits for revoke as usual, and revoking completes it.
func TestHerokuLogSessionRefusedIsAWarning(t *testing.T) {
	h := startBotHeroku(t, "30s", "30s")
	h.World.Heroku.FailPath("/apps/"+staging+"/log-sessions", &sandbox.Fault{Status: 503})
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	h.mustCard(t, "r1", "Waiting for revoke")
	h.waitCardText(t, "r1", "Heroku "+staging+" — verified · release v2 · watching logs until ")
	text := h.waitCardText(t, "r1", "⚠️ Heroku is unavailable for app "+staging+" (503): retry later (retrying)")
	if !strings.Contains(text, "Heroku "+prod+" — verified · release v2 · watching logs until ") {
		t.Errorf("prod's watch:\n%s", text)
	}
	// The card and the thread note are two posts: wait for the note.
	note := "⚠️ Could not watch the log of Heroku " + staging + ": Heroku is unavailable for app " + staging + " (503): retry later (retrying; this does not fail the run)"
	if err := demo.WaitFor("the thread note", func() bool { return strings.Contains(h.World.Slack.AllText(), note) }); err != nil {
		t.Error("the thread was not told")
	}
	h.World.GitHub.Revoke(h.OldToken)
	card, _ = h.Card("r1")
	must(t, h.Click(demo.Alice, card, handlers.LabelRevokeManual))
	h.mustCard(t, "r1", "Completed")
	h.World.Heroku.FailPath("/apps/"+staging+"/log-sessions", nil)
}
