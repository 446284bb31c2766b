package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/sandbox"
	sbinfisical "github.com/raxx-app/rotabot/sandbox/infisical"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// TestCrashAtEveryBoundary runs `rotabot serve` as a real process on the
// stand-ins, kills it (SIGKILL) at each step boundary and in the middle of the
// outside calls of each bot step — a hung Heroku app in the middle of
// propagation among them — restarts it on the same database, and checks that the
// run finishes without a second approval, every destination holds the new value,
// nothing was written twice and there is exactly one audit entry.
func TestCrashAtEveryBoundary(t *testing.T) {
	t.Parallel()
	type point struct {
		name string
		// before arms a hang (or nothing) before the gesture that leads to it.
		hang func(h *harness) (inflight func() int, clear func())
		// at is the card word after which the process is killed (when no hang).
		at string
	}
	type standIn interface {
		Fail(string, *sandbox.Fault)
		Inflight(string) int
	}
	hangOn := func(srv standIn, route string) func(h *harness) (func() int, func()) {
		return func(h *harness) (func() int, func()) {
			srv.Fail(route, &sandbox.Fault{Hang: true})
			return func() int { return srv.Inflight(route) }, func() { srv.Fail(route, nil) }
		}
	}
	points := []point{
		{name: "waiting for token", at: "Waiting for token"},
		{name: "waiting for approval", at: "Waiting for approval"},
		{name: "in the store step", hang: func(h *harness) (func() int, func()) {
			return hangOn(h.World.Infisical, sbinfisical.InfisicalUpdateSecret)(h)
		}},
		{name: "in the middle of propagation", hang: func(h *harness) (func() int, func()) {
			return hangOn(h.World.Heroku, "PATCH /apps/{app}/config-vars")(h)
		}},
		{name: "in the verify step", hang: func(h *harness) (func() int, func()) {
			return hangOn(h.World.GitHub, "GET /repos/{owner}/{repo}/actions/secrets/{name}")(h)
		}},
		{name: "waiting for revoke", at: "Waiting for revoke"},
		{name: "in the revoke step", hang: func(h *harness) (func() int, func()) {
			return hangOn(h.World.GitHub, "POST /credentials/revoke")(h)
		}},
	}
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			h, err := newWorld(rotation.WallNow())
			must(t, err)
			w, env := h.World, h.Env
			t.Cleanup(h.Close)
			env["ROTABOT_DB"] = filepath.Join(t.TempDir(), "rotabot.db")
			bot := startProc(t, "first", env, "serve")
			all := []*proc{bot}
			must(t, w.Slack.WaitConnected(1, 60*time.Second))

			var inflight func() int
			var clear func()
			arm := func(stage string) {
				if p.hang != nil && stage == p.name {
					inflight, clear = p.hang(h)
				}
			}
			killed := false
			kill := func(word string) {
				if killed {
					return
				}
				hit := p.hang == nil && word == p.at
				if inflight != nil {
					must(t, demo.WaitFor("the hung call of "+p.name, func() bool { return inflight() > 0 }))
					if p.name == "in the middle of propagation" {
						// The other destinations are done: the DM sent, the Actions
						// secret written. Give their outcomes a moment to be recorded —
						// a write not yet recorded is redone, by design.
						must(t, demo.WaitFor("the other destinations", func() bool {
							return len(w.Slack.DMs(demo.Operator)) == 1 && w.GitHub.Count("PUT /repos/{owner}/{repo}/actions/secrets/{name}", true) == 1
						}))
						time.Sleep(300 * time.Millisecond)
					}
					hit = true
				}
				if !hit {
					return
				}
				bot.kill()
				killed = true
				if clear != nil {
					clear()
					inflight = nil
				}
				w.Slack.DropLink() // the dead process's link
				bot = startProc(t, "restarted", env, "serve")
				all = append(all, bot)
				must(t, w.Slack.WaitConnected(1, 60*time.Second))
			}
			card := func(word string) sbslack.Message {
				t.Helper()
				m, err := h.WaitCard("r1", word)
				if err != nil {
					t.Fatalf("%v\nprocess output:\n%s", err, bot.output())
				}
				return m
			}

			must(t, h.Slash(demo.Alice, demo.OpsChannel, "GITHUB_API_READONLY_TOKEN"))
			card("Waiting for token")
			kill("Waiting for token")
			ack, err := h.SubmitToken(demo.Alice, card("Waiting for token"), h.Fresh[0])
			must(t, err)
			if strings.Contains(string(ack), "errors") {
				t.Fatalf("token refused: %s", ack)
			}
			card("Waiting for approval")
			kill("Waiting for approval")
			arm("in the store step")
			arm("in the middle of propagation")
			arm("in the verify step")
			must(t, h.Click(demo.Bob, card("Waiting for approval"), handlers.LabelApprove))
			kill("")
			// No second approval: the restarted process carries the run on.
			card("Waiting for revoke")
			kill("Waiting for revoke")
			arm("in the revoke step")
			must(t, h.Click(demo.Bob, card("Waiting for revoke"), handlers.LabelRevokeAPI))
			kill("")
			if !killed {
				t.Fatal("the process was never killed")
			}
			card("Completed")

			for dest, v := range h.destValues("GITHUB_API_READONLY_TOKEN") {
				if v != h.Fresh[0] {
					t.Errorf("%s does not hold the new token", dest)
				}
			}
			if n := w.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
				t.Errorf("%d Heroku writes took effect, want 2 (one per app)", n)
				for _, r := range w.Heroku.Requests() {
					t.Logf("%s %s %s %d", r.Time.Format("15:04:05.000"), r.Method, r.Path, r.Status)
				}
				for _, p := range all {
					t.Logf("%s:\n%s", p.name, p.output())
				}
			}
			if n := w.GitHub.Count("PUT /repos/{owner}/{repo}/actions/secrets/{name}", true); n != 1 {
				t.Errorf("%d Actions secret writes, want 1", n)
			}
			if vs := w.Infisical.Versions("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN"); len(vs) != 2 {
				t.Errorf("%d versions in Infisical, want 2 (the new value stored once)", len(vs))
			}
			if n := len(w.Slack.DMs(demo.Operator)); n != 1 {
				t.Errorf("the operator got %d DMs, want 1", n)
			}
			must(t, demo.WaitFor("the audit post", func() bool { return len(w.Slack.Messages(demo.AuditChannel)) >= 1 }))
			if !w.GitHub.Revoked(h.OldToken) {
				t.Error("the old token was not revoked")
			}
			if code := bot.stop(25 * time.Second); code != 0 {
				t.Errorf("SIGTERM: exit code %d", code)
			}
			// Counted once the process has exited: a second post cannot still be on its way.
			if n := len(w.Slack.Messages(demo.AuditChannel)); n != 1 {
				t.Errorf("%d audit posts, want 1", n)
			}
			outputs := []string{w.Slack.AllText(), h.dbBytes(t)}
			for _, p := range all {
				outputs = append(outputs, p.output())
			}
			h.assertLeakFree(t, outputs...)
		})
	}
}

// SIGTERM (Heroku's stop signal) in the middle of propagation: the bot stops
// taking new work, finishes the step in hand, closes the store and exits 0 well
// within Heroku's 30 s; the next process carries the run on.
func TestSIGTERMFinishesTheStepInHand(t *testing.T) {
	t.Parallel()
	h, err := newWorld(rotation.WallNow())
	must(t, err)
	w, env := h.World, h.Env
	t.Cleanup(h.Close)
	env["ROTABOT_DB"] = filepath.Join(t.TempDir(), "rotabot.db")
	bot := startProc(t, "first", env, "serve")
	must(t, w.Slack.WaitConnected(1, 60*time.Second))
	card := h.toApproval(t, "r1")
	w.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Latency: 1500 * time.Millisecond})
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	must(t, demo.WaitFor("propagation in flight", func() bool { return w.Heroku.Inflight("PATCH /apps/{app}/config-vars") > 0 }))
	start := time.Now()
	code := bot.stop(25 * time.Second)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, bot.output())
	}
	t.Logf("stopped in %s", took.Round(time.Millisecond))
	// The step in hand finished: both apps were written before the exit.
	if n := w.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Fatalf("%d Heroku writes finished before the exit, want 2", n)
	}
	w.Heroku.Fail("PATCH /apps/{app}/config-vars", nil)
	w.Slack.DropLink()
	next := startProc(t, "next", env, "serve")
	if _, err := h.WaitCard("r1", "Waiting for revoke"); err != nil {
		t.Fatalf("%v\n%s", err, next.output())
	}
	if n := w.Heroku.Count("PATCH /apps/{app}/config-vars", true); n != 2 {
		t.Errorf("%d Heroku writes, want 2: nothing redone", n)
	}
	h.assertLeakFree(t, w.Slack.AllText(), bot.output(), next.output())
}
