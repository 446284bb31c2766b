package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// rotationDaySecrets is how many tokens a team rotates on the same morning.
const rotationDaySecrets = 10

// rotationDayMatrix is ten fine-grained secrets, each on three Heroku apps of its
// own, an Actions secret and a shell-rc operator's DM.
func rotationDayMatrix() (string, []string) {
	var b strings.Builder
	b.WriteString("ops_usergroup: S0OPS\nchannel: " + demo.OpsChannel + "\naudit_channel: " + demo.AuditChannel + "\n")
	b.WriteString("vault:\n  environment: prod\n  path: /MooseQuest/github/\n  pending_path: /rotabot/pending/\n")
	b.WriteString("secrets:\n")
	var names []string
	for i := 1; i <= rotationDaySecrets; i++ {
		name := fmt.Sprintf("DAY_%02d_TOKEN", i)
		names = append(names, name)
		fmt.Fprintf(&b, "  %s:\n    kind: fine-grained\n    owners: [%s]\n    expires_in_days: 90\n", name, demo.Owner)
		b.WriteString("    resource_owner: raxx-app\n    repositories: [raxx-app/TradeMasterAPI]\n")
		b.WriteString("    permissions: {actions: read, metadata: read, contents: read}\n")
		b.WriteString("    probe: /repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1\n    consumers:\n")
		fmt.Fprintf(&b, "      heroku_apps: [day-%02d-web, day-%02d-worker, day-%02d-api]\n", i, i, i)
		fmt.Fprintf(&b, "      github_secrets: [raxx-app/TradeMasterAPI:GH_DAY_%02d]\n", i)
		b.WriteString("      shell_rc_operators: [" + demo.Operator + "]\n")
	}
	return b.String(), names
}

// cardOf is the card of secret's newest run in the ops channel.
func cardOf(s *sbslack.Slack, secret string) (sbslack.Message, bool) {
	msgs := s.Messages(demo.OpsChannel)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.ThreadTS == "" && strings.HasPrefix(m.Text, "Rotation ") && strings.Contains(m.Text, " of "+secret+": ") {
			return m, true
		}
	}
	return sbslack.Message{}, false
}

func waitCardOf(s *sbslack.Slack, secret, word string) (sbslack.Message, error) {
	var m sbslack.Message
	err := demo.WaitFor(secret+"'s card to show "+word, func() bool {
		var ok bool
		m, ok = cardOf(s, secret)
		return ok && strings.HasSuffix(m.Text, ": "+word)
	})
	return m, err
}

// startRotationDay seeds the rotation-day world (Slack's limits on, refilled ten
// times as fast: 429s within seconds, not minutes) and starts the bot on it; it
// returns the secrets and each one's new token.
func startRotationDay(t *testing.T) (*harness, []string, map[string]string) {
	t.Helper()
	yaml, secrets := rotationDayMatrix()
	now := rotation.WallNow()
	h := &harness{}
	d, err := demo.NewWorldFor("rotationday.yaml", []byte(yaml), now)
	if err != nil {
		t.Fatal(err)
	}
	h.Harness = d
	h.Dir = t.TempDir()
	h.Env["ROTABOT_DB"] = filepath.Join(h.Dir, "rotabot.db")
	sl := h.World.Slack
	sl.SetLimits(sbslack.Limits{On: true, Speed: 10})
	fresh := map[string]string{}
	for _, s := range secrets {
		fresh[s] = demo.FineGrainedToken()
		h.World.GitHub.AddToken(sbgithub.TokenSpec{Value: fresh[s], Login: h.Login, Expires: now.Add(90 * 24 * time.Hour),
			Repos: []string{"raxx-app/TradeMasterAPI"}, Note: "rotation day's new token of " + s})
		h.Track(fresh[s])
	}
	must(t, h.StartBot(context.Background(), func(ctx context.Context, getenv func(string) string, log *slog.Logger) (demo.Bot, error) {
		b, err := demoBot(ctx, getenv, log)
		if err == nil {
			h.srv = b.(*server)
		}
		return b, err
	}))
	t.Cleanup(func() {
		h.StopBot()
		if !t.Failed() {
			h.assertLeakFree(t, sl.AllText(), h.Logs.String(), h.dbBytes(t))
		}
		h.Close()
	})

	return h, secrets, fresh
}

// Rotation day: ten runs start at once in one channel with Slack's limits on, are
// approved, wait for revoke and complete. Every card ends right, every run's notes
// and audit post are there, and no call was made before its Retry-After.
func TestRotationDayTenRunsInsideSlacksLimits(t *testing.T) {
	t.Parallel()
	h, secrets, fresh := startRotationDay(t)
	sl := h.World.Slack
	each := func(step func(secret string) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(secrets))
		for _, s := range secrets {
			wg.Go(func() {
				if err := step(s); err != nil {
					errs <- fmt.Errorf("%s: %w", s, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	start := time.Now()
	each(func(s string) error { return h.Slash(demo.Alice, demo.OpsChannel, s) })
	// Alice pastes the ten new tokens one after another (one person, one modal
	// at a time) while the runs go on; Bob approves each as it is ready.
	for _, s := range secrets {
		card, err := waitCardOf(sl, s, "Waiting for token")
		must(t, err)
		ack, err := h.SubmitToken(demo.Alice, card, fresh[s])
		must(t, err)
		if strings.Contains(string(ack), "errors") {
			t.Fatalf("%s: token refused: %s", s, ack)
		}
	}
	each(func(s string) error {
		card, err := waitCardOf(sl, s, "Waiting for approval")
		if err != nil {
			return fmt.Errorf("%w; the card shows:\n%s", err, demo.CardText(card))
		}
		if err := h.Click(demo.Bob, card, handlers.LabelApprove); err != nil {
			return err
		}
		_, err = waitCardOf(sl, s, "Waiting for revoke")
		return err
	})
	// The operator presses Done in each DM.
	var dms []sbslack.Message
	must(t, demo.WaitFor("ten DMs to the operator", func() bool {
		dms = sl.DMs(demo.Operator)
		return len(dms) >= len(secrets)
	}))
	for _, dm := range dms {
		must(t, h.Click(demo.Operator, dm, handlers.LabelDone))
	}
	each(func(s string) error {
		if err := demo.WaitFor(s+"'s Done on the card", func() bool {
			m, _ := cardOf(sl, s)
			return strings.Contains(demo.CardText(m), "confirmed by <@"+demo.Operator+">")
		}); err != nil {
			return err
		}
		card, _ := cardOf(sl, s)
		if err := h.Click(demo.Alice, card, handlers.LabelRevokeAPI); err != nil {
			return err
		}
		_, err := waitCardOf(sl, s, "Completed")
		return err
	})
	wall := time.Since(start)

	must(t, demo.WaitFor("ten audit posts", func() bool { return len(sl.Messages(demo.AuditChannel)) == len(secrets) }))
	audits := ""
	for _, m := range sl.Messages(demo.AuditChannel) {
		audits += m.Text + "\n"
	}
	// The threads may be behind their cards: once Slack has limited the channel,
	// its posts go one a second for every card in it, so the last notes of ten
	// cards take about ten seconds (a card's waiting notes go in one post).
	last := "Completed: " + string(rotation.ActionCompleted) + " written"
	behind := func() []string {
		var left []string
		for _, s := range secrets {
			if card, _ := cardOf(sl, s); !strings.Contains(threadText(sl, card), last) {
				left = append(left, s)
			}
		}
		return left
	}
	if err := demo.WaitWithin("every thread's last note", 15*time.Second+3*rotationDaySecrets*time.Second, func() bool { return len(behind()) == 0 }); err != nil {
		t.Errorf("%v: %v still lack %q", err, behind(), last)
	}
	caughtUp := time.Since(start) - wall
	for _, s := range secrets {
		checkRotationDayRun(t, h, s, fresh[s], audits)
	}
	st := sl.LimitStats()
	if st.Violations != 0 {
		t.Errorf("%d calls made before their Retry-After: %v", st.Violations, st.ViolationsBy)
	}
	t.Logf("ten runs in %s, threads complete %s later; Slack answered %d 429s %v; chat.update %d, chat.postMessage %d", wall.Round(time.Millisecond),
		caughtUp.Round(time.Millisecond), st.Answered429(), st.Limited, sl.Count("POST /api/chat.update", true), sl.Count("POST /api/chat.postMessage", true))
}

// threadText is the text of card's thread, a reply a line.
func threadText(s *sbslack.Slack, card sbslack.Message) string {
	var b strings.Builder
	for _, m := range s.Thread(demo.OpsChannel, card.TS) {
		b.WriteString(m.Text + "\n")
	}
	return b.String()
}

// checkRotationDayRun checks one secret's end: its audit post once, a finished
// card, every note in order, the new token on every destination.
func checkRotationDayRun(t *testing.T, h *harness, s, fresh, audits string) {
	t.Helper()
	sl := h.World.Slack
	if strings.Count(audits, "secret: "+s+" ") != 1 {
		t.Errorf("%s's audit post is missing or doubled", s)
	}
	card, _ := cardOf(sl, s)
	if len(card.Buttons()) != 0 {
		t.Errorf("%s's finished card has buttons", s)
	}
	last := "Completed: " + string(rotation.ActionCompleted) + " written"
	// Every note of the run is there, in order (some joined into one reply).
	n := strings.TrimSuffix(strings.TrimPrefix(s, "DAY_"), "_TOKEN")
	at, text := 0, threadText(sl, card)
	for _, want := range []string{"<@U0ALICE> started a rotation of " + s, "Pre-check: ", "<@U0ALICE> submitted a new token",
		"<@U0BOB> approved", "Stored in Infisical", "Propagated to every destination", "Verified: every destination holds the new value",
		"<@U0OPERATOR> updated their shell rc", "Revoke confirmed", last} {
		i := strings.Index(text[at:], want)
		if i < 0 {
			t.Errorf("%s's thread lacks %q after what came before:\n%s", s, want, text)
			break
		}
		at += i + len(want)
	}
	for _, app := range []string{"web", "worker", "api"} {
		if !strings.Contains(text, "Heroku day-"+n+"-"+app+" runs release v2") {
			t.Errorf("%s's thread lacks day-%s-%s's release", s, n, app)
		}
	}
	dests := h.destValues(s)
	if len(dests) != 5 { // three apps, the Actions secret, Infisical
		t.Errorf("%s has %d destinations: %v", s, len(dests), dests)
	}
	for dest, v := range dests {
		if v != fresh {
			t.Errorf("%s: %s does not hold the new token", s, dest)
		}
	}
}
