package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// An audit post Slack does not take — every post answered 429 with a
// Retry-After, again and again — is not dropped when the process stops before
// Slack takes it, whether it is killed (SIGKILL) or stopped as Heroku stops a
// dyno (SIGTERM, which gives the step in hand ShutdownGrace): the run waits in
// its audit step with its entry stored once, the next process posts it as soon
// as Slack takes posts again, and the run completes with exactly one audit post.
func TestAuditPostSurvivesARestart(t *testing.T) {
	for _, how := range []string{"SIGKILL", "SIGTERM"} {
		t.Run(how, func(t *testing.T) {
			h, err := newWorld(rotation.WallNow())
			must(t, err)
			w, env := h.World, h.Env
			t.Cleanup(h.Close)
			env["ROTABOT_DB"] = filepath.Join(t.TempDir(), "rotabot.db")
			first := startProc(t, "first", env, "serve")
			must(t, w.Slack.WaitConnected(1, 60*time.Second))
			card := h.toApproval(t, "r1")
			must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
			card = h.mustCard(t, "r1", "Waiting for revoke")

			// From now on Slack limits every post: the thread notes and the audit post.
			const post = "POST /api/chat.postMessage"
			w.Slack.Fail(post, &sandbox.Fault{Status: 429, RetryAfter: "1"})
			must(t, h.Click(demo.Alice, card, handlers.LabelRevokeAPI))
			refused := func() int {
				n := 0
				for _, q := range w.Slack.Requests() {
					if q.Route == post && q.Status == 429 {
						if v, err := url.ParseQuery(string(q.Body)); err == nil && v.Get("channel") == demo.AuditChannel {
							n++
						}
					}
				}
				return n
			}
			must(t, demo.WaitFor("the audit post refused twice", func() bool { return refused() >= 2 }))
			if how == "SIGKILL" {
				first.kill()
			} else if code := first.stop(ShutdownGrace + 10*time.Second); code != 0 {
				t.Errorf("SIGTERM: exit code %d\n%s", code, first.output())
			}
			if n := len(w.Slack.Messages(demo.AuditChannel)); n != 0 {
				t.Fatalf("%d audit posts while Slack refused them", n)
			}
			w.Slack.DropLink()
			st, err := bbolt.Open(env["ROTABOT_DB"], 5*time.Second)
			must(t, err)
			r, err := st.GetRun(context.Background(), "r1")
			must(t, err)
			audits, err := st.ListAudit(context.Background(), "", 10)
			must(t, err)
			must(t, st.Close())
			if r.State.Final() || len(audits) != 1 {
				t.Fatalf("after the stop the run is %s with %d audit entries; want it open, its entry stored once", r.State, len(audits))
			}

			w.Slack.Fail(post, nil) // Slack takes posts again
			second := startProc(t, "second", env, "serve")
			must(t, w.Slack.WaitConnected(1, 60*time.Second))
			h.mustCard(t, "r1", "Completed")
			must(t, demo.WaitFor("the audit post", func() bool { return len(w.Slack.Messages(demo.AuditChannel)) >= 1 }))
			if code := second.stop(25 * time.Second); code != 0 {
				t.Errorf("SIGTERM: exit code %d", code)
			}
			// Counted once the process has exited: a second post cannot still be on its way.
			msgs := w.Slack.Messages(demo.AuditChannel)
			if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Text, string(rotation.ActionCompleted)) || !strings.Contains(msgs[0].Text, "GITHUB_API_READONLY_TOKEN") {
				t.Errorf("audit posts after the restart: %+v", msgs)
			}
			st, err = bbolt.Open(env["ROTABOT_DB"], 5*time.Second)
			must(t, err)
			audits, err = st.ListAudit(context.Background(), "", 10)
			must(t, err)
			must(t, st.Close())
			if len(audits) != 1 {
				t.Errorf("%d audit entries stored, want 1", len(audits))
			}
			h.assertLeakFree(t, w.Slack.AllText(), h.dbBytes(t), first.output(), second.output())
		})
	}
}
