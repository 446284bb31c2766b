package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/raxx-app/rotabot/store/bbolt"
)

const ms = float64(time.Millisecond)

func msText(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/ms) }

func mbText(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

// exampleSpecs are n secrets shaped like the example matrix's first one: two
// Heroku apps, an Actions secret, a shell-rc operator and the console check.
func exampleSpecs(n int) []secretSpec {
	specs := make([]secretSpec, n)
	for i := range specs {
		specs[i] = secretSpec{Name: fmt.Sprintf("GITHUB_API_TOKEN_%02d", i+1),
			HerokuApps: []string{"raxx-console-prod", "raxx-console-staging"}, GitHub: true, ShellRC: true, Verify: true}
	}
	return specs
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// benchPropagate runs one rotation of a secret set on apps Heroku apps, every
// Heroku request answered after latency, and reads the propagate step's start
// and end from the run as the bot stored it.
func benchPropagate(r *report, bin, dir string, apps int, latency time.Duration) error {
	names := make([]string, apps)
	for i := range names {
		names[i] = fmt.Sprintf("raxx-bench-%03d", i+1)
	}
	const secret = "GITHUB_API_PROPAGATE_TOKEN"
	w := newWorld(dir, []secretSpec{{Name: secret, HerokuApps: names}})
	defer w.close()
	if err := w.start(bin); err != nil {
		return err
	}
	if err := waitIdle(w.bot.pid(), 60*time.Second); err != nil {
		return err
	}
	h := w.sb.Heroku
	h.ResetLog()
	h.SetLatency(latency)
	id, err := w.rotate(secret, "Waiting for revoke")
	h.SetLatency(0)
	if err != nil {
		return err
	}
	var patches, reads, restarts, sessions, limited int
	reqs := h.Requests()
	for _, q := range reqs {
		switch q.Route {
		case "PATCH /apps/{app}/config-vars":
			patches++
		case "GET /apps/{app}/config-vars":
			reads++
		case "GET /apps/{app}/releases", "GET /apps/{app}/releases/{release}", "GET /apps/{app}/dynos":
			restarts++
		case "POST /apps/{app}/log-sessions":
			sessions++
		}
		if q.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	remaining := herokuRemaining(w)
	w.bot.stop(25 * time.Second)
	st, err := bbolt.Open(w.env["ROTABOT_DB"], 5*time.Second)
	if err != nil {
		return err
	}
	run, err := st.GetRun(context.Background(), id)
	st.Close()
	if err != nil {
		return err
	}
	p, v := run.Step(rotation.StepPropagate), run.Step(rotation.StepVerify)
	if p == nil || v == nil || p.Finished.IsZero() || v.Finished.IsZero() {
		return fmt.Errorf("run %s has no finished propagate and verify steps", id)
	}
	prop, ver := p.Finished.Sub(p.Started), v.Finished.Sub(v.Started)
	label := fmt.Sprintf("propagate to %d Heroku apps at %s a call, ÷ %s", apps, msText(latency), msText(latency))
	target, ratio := "", 0.0
	if apps <= 20 {
		target, ratio = "≤ 1.25", float64(prop)/float64(latency)/1.25
	}
	r.add(label, fmt.Sprintf("%.2f (%s)", float64(prop)/float64(latency), msText(prop)), target, ratio,
		fmt.Sprintf("verify %s (with the wait for each app's release and restart); Heroku: %d requests (%d PATCH, %d GET config-vars, %d release and dyno reads, %d log sessions), %d answered 429, RateLimit-Remaining %s of 4500 after",
			msText(ver), len(reqs), patches, reads, restarts, sessions, limited, remaining))
	if apps > 20 {
		r.add(fmt.Sprintf("Heroku rate limit respected at %d apps", apps),
			fmt.Sprintf("%d requests, %d answered 429, RateLimit-Remaining %s", len(reqs), limited, remaining),
			"no 429", boolRatio(limited == 0), "")
	}
	return nil
}

func boolRatio(ok bool) float64 {
	if ok {
		return -1
	}
	return -2
}

// herokuRemaining asks the stand-in for the rate-limit tokens left (the ask
// itself takes one, added back).
func herokuRemaining(w *world) string {
	req, _ := http.NewRequest(http.MethodGet, w.sb.Heroku.URL+"/account", nil)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Authorization", "Bearer "+w.sb.HerokuAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "?"
	}
	resp.Body.Close()
	n, err := strconv.Atoi(resp.Header.Get("RateLimit-Remaining"))
	if err != nil {
		return "?"
	}
	return strconv.Itoa(n + 1)
}

// prefill writes runs finished runs with the bbolt store package, spread over the
// first ten secrets of specs, before the bot opens the file.
func prefill(path string, specs []secretSpec, runs int) error {
	st, err := bbolt.Open(path, 5*time.Second)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	base := time.Now().Add(-time.Duration(runs) * time.Hour)
	for i := 0; i < runs; i++ {
		s := specs[i%min(10, len(specs))]
		at := base.Add(time.Duration(i) * time.Hour)
		run := &rotation.Run{Secret: s.Name, Method: rotation.MethodSlack, State: rotation.StateCompleted,
			Requester: userAlice, Submitter: userAlice, Approver: userBob, Created: at, Updated: at.Add(7 * time.Minute),
			TokenKind: rotation.FineGrained, Login: "raxx-bot", OldExpiry: at.Add(5 * 24 * time.Hour), NewExpiry: at.Add(90 * 24 * time.Hour),
			OldFingerprint: sandbox.RandomHex(4), NewFingerprint: sandbox.RandomHex(4), VaultVersionBefore: i/10 + 1, NewVaultVersion: i/10 + 2,
			RevokeMethod: rotation.RevokeAPI, RevokeSent: true, Card: rotation.CardRef{Channel: opsChannel, TS: fmt.Sprintf("%d.%06d", at.Unix(), i%1000000)}}
		for k, name := range rotation.StepNames {
			run.Steps = append(run.Steps, rotation.StepRecord{Name: name, State: rotation.StepDone, Actor: userAlice,
				Started: at.Add(time.Duration(k) * time.Minute), Finished: at.Add(time.Duration(k)*time.Minute + 30*time.Second),
				Message: "step " + string(name) + " done"})
		}
		for _, a := range s.HerokuApps {
			run.Destinations = append(run.Destinations, rotation.Destination{Kind: rotation.DestHeroku, Target: a, State: rotation.DestVerified,
				Attempts: 1, Written: at.Add(5 * time.Minute), Finished: at.Add(6 * time.Minute)})
		}
		run.Destinations = append(run.Destinations, rotation.Destination{Kind: rotation.DestShellRC, Target: userOperator,
			State: rotation.DestDone, Attempts: 1, Actor: userOperator, Finished: at.Add(6 * time.Minute)})
		if _, err := st.CreateRun(ctx, run); err != nil {
			return err
		}
	}
	return nil
}

// timeAnswer sends /rotate text and returns the time from the envelope leaving
// the stand-in to the first and to the last part of the bot's answer reaching
// it (response_url), and how many parts there were.
func timeAnswer(w *world, text string) (first, last time.Duration, parts int, err error) {
	sl := w.sb.Slack
	sl.ResetLog()
	t0 := time.Now()
	if _, err := sl.SendSlashCommand(sbslack.SlashCommand{User: userAlice, Channel: opsChannel, Command: "/rotate", Text: text}); err != nil {
		return 0, 0, 0, err
	}
	deadline := t0.Add(30 * time.Second)
	var lastSeen time.Time
	for {
		n := 0
		var firstAt, lastAt time.Time
		for _, q := range sl.Requests() {
			if q.Route == "POST /response/{id}" {
				n++
				if firstAt.IsZero() || q.Time.Before(firstAt) {
					firstAt = q.Time
				}
				if q.Time.After(lastAt) {
					lastAt = q.Time
				}
			}
		}
		now := time.Now()
		if n > parts {
			parts, lastSeen = n, now
			first, last = firstAt.Sub(t0), lastAt.Sub(t0)
		}
		// The answer is complete once 300 ms pass without another part.
		if parts > 0 && now.Sub(lastSeen) > 300*time.Millisecond {
			return first, last, parts, nil
		}
		if now.After(deadline) {
			return 0, 0, 0, fmt.Errorf("no answer to /rotate %s within 30 s", text)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// benchScale starts the bot on a routing matrix of secrets secrets and a store
// already holding runs finished runs, waits for its first expiry pass to end,
// then times /rotate expiring and /rotate history.
func benchScale(r *report, bin, dir string, secrets, runs, reps int) error {
	specs := make([]secretSpec, secrets)
	for i := range specs {
		// Expiries from 20 days to a year: none is due a reminder.
		specs[i] = secretSpec{Name: fmt.Sprintf("BENCH_TOKEN_%04d", i+1), HerokuApps: []string{"raxx-bench-shared"},
			Expires: time.Duration(20+(i*37)%340) * 24 * time.Hour}
	}
	w := newWorld(dir, specs)
	defer w.close()
	t := time.Now()
	if err := prefill(w.env["ROTABOT_DB"], specs, runs); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  wrote %d finished runs in %s\n", runs, time.Since(t).Round(time.Millisecond))
	if err := w.start(bin); err != nil {
		return err
	}
	// The first expiry pass checks every secret with Infisical and GitHub.
	t = time.Now()
	for w.sb.GitHub.Count("GET /user", false) < secrets {
		if time.Since(t) > 300*time.Second {
			return fmt.Errorf("the first expiry pass did not check %d secrets within 300 s", secrets)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := waitIdle(w.bot.pid(), 300*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  first expiry pass over %d secrets took %s\n", secrets, time.Since(t).Round(time.Millisecond))
	if err := w.slash(userAlice, opsChannel, "list"); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	for _, c := range []struct{ text, label string }{
		{"expiring", fmt.Sprintf("/rotate expiring with %d secrets", secrets)},
		{"history " + specs[0].Name, fmt.Sprintf("/rotate history with %d runs in the store (%d of this secret)", runs, (runs+9)/10)},
	} {
		var lasts []time.Duration
		var firsts []time.Duration
		parts := 0
		for range reps {
			f, l, n, err := timeAnswer(w, c.text)
			if err != nil {
				return err
			}
			firsts, lasts, parts = append(firsts, f), append(lasts, l), n
		}
		slices.Sort(lasts)
		slices.Sort(firsts)
		med := lasts[len(lasts)/2]
		r.add(c.label, msText(med), "≤ 50 ms", float64(med)/float64(50*time.Millisecond),
			fmt.Sprintf("median of %d, envelope → last of %d answer messages; max %s; first message median %s",
				reps, parts, msText(lasts[len(lasts)-1]), msText(firsts[len(firsts)/2])))
	}
	return nil
}

// phaseDir makes a fresh directory for one phase.
func phaseDir(root, name string) string {
	d := filepath.Join(root, name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		fail(err)
	}
	return d
}
