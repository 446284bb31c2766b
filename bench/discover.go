package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/sandbox/demo"
	sbinfisical "github.com/raxx-app/rotabot/sandbox/infisical"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// benchDiscovery measures the scan for a value across every Heroku app the key
// sees: `/rotate where SECRET` on apps apps, every Heroku request answered after
// latency, from a full rate-limit bucket. It is timed from the command leaving
// the Slack stand-in to the bot's report reaching it; the stand-in counts the
// requests, the 429s and the tokens left.
func benchDiscovery(r *report, bin, dir string, apps int, latency time.Duration) error {
	names := make([]string, apps)
	for i := range names {
		names[i] = fmt.Sprintf("raxx-fleet-%03d", i+1)
	}
	const secret = "GITHUB_API_FLEET_TOKEN"
	// The secret is set on two apps of the matrix; the rest are the fleet the
	// key sees, three of them holding the same token under names of their own.
	w := newWorld(dir, []secretSpec{{Name: secret, HerokuApps: names[:2]}})
	defer w.close()
	w.env["ROTABOT_DRIFT_INTERVAL"] = "0" // no pass of its own during the figure
	tok := w.current[secret]
	for i, name := range names[2:] {
		vars := map[string]string{"DATABASE_URL": "postgres://u:" + fmt.Sprint(i) + "@db/fleet", "SENTRY_DSN": "https://k@sentry/" + fmt.Sprint(i)}
		if i%60 == 7 {
			vars["GH_TOKEN"] = tok
		}
		w.sb.Heroku.AddApp(name, vars)
	}
	if err := w.start(bin); err != nil {
		return err
	}
	if err := waitIdle(w.bot.pid(), 60*time.Second); err != nil {
		return err
	}
	h := w.sb.Heroku
	var walls []time.Duration
	var lists, reads, limited int
	remaining := "?"
	for rep := range 3 {
		h.SetRateLimitRemaining(4500)
		h.ResetLog()
		h.SetLatency(latency)
		last, err := timeParts(w, "where "+secret, 2)
		h.SetLatency(0)
		if err != nil {
			return err
		}
		if rep == 0 {
			remaining = herokuRemaining(w)
			for _, q := range h.Requests() {
				switch q.Route {
				case "GET /apps":
					lists++
				case "GET /apps/{app}/config-vars":
					reads++
				}
				if q.Status == http.StatusTooManyRequests {
					limited++
				}
			}
			if err := checkWhere(w, secret); err != nil {
				return err
			}
		}
		walls = append(walls, last)
	}
	slices.Sort(walls)
	med := walls[len(walls)/2]
	left := 0
	fmt.Sscan(remaining, &left)
	r.add(fmt.Sprintf("discovery over %d Heroku apps at %s a call (/rotate where)", apps, msText(latency)),
		fmt.Sprintf("%.2f s (median of %d; %.2f–%.2f s)", med.Seconds(), len(walls), walls[0].Seconds(), walls[len(walls)-1].Seconds()),
		"≤ 6 s", med.Seconds()/6,
		fmt.Sprintf("from the command to the report; Heroku: %d app list, %d config reads (10 at a time), %d answered 429", lists, reads, limited))
	r.add(fmt.Sprintf("Heroku rate limit after one discovery of %d apps", apps),
		fmt.Sprintf("%d × 429, %s of 4,500 tokens left", limited, remaining),
		"no 429, ≥ 4,000 left", boolRatio(limited == 0 && left >= 4000), "")
	return nil
}

// checkWhere makes sure the report named the four apps outside the matrix: a
// figure of a scan that found nothing would prove nothing.
func checkWhere(w *world, secret string) error {
	var text string
	for _, q := range w.sb.Slack.Requests() {
		if q.Route == "POST /response/{id}" && strings.Contains(string(q.Body), "Where is "+secret) {
			text = string(q.Body)
		}
	}
	for _, app := range []string{"raxx-fleet-010", "raxx-fleet-070", "raxx-fleet-130", "raxx-fleet-190"} {
		if !strings.Contains(text, app+" · GH_TOKEN") {
			return fmt.Errorf("the where report does not name %s", app)
		}
	}
	return nil
}

// benchDrift measures one drift pass (/rotate drift) over secrets secrets on
// apps Heroku apps, every stand-in answering at once: its wall time from the
// command to the report, the bot's CPU time over it, and the config reads per
// app the Heroku stand-in counted. A few config vars were changed by hand, so
// the pass has drift to post.
func benchDrift(r *report, bin, dir string, secrets, apps, reps int) error {
	specs := make([]secretSpec, secrets)
	for i := range specs {
		// Each secret on one to three apps, every app holding some.
		ha := []string{fmt.Sprintf("raxx-svc-%03d", i%apps+1)}
		for k := 1; k <= i%3; k++ {
			ha = append(ha, fmt.Sprintf("raxx-svc-%03d", (i+k*97)%apps+1))
		}
		slices.Sort(ha)
		ha = slices.Compact(ha)
		specs[i] = secretSpec{Name: fmt.Sprintf("BENCH_TOKEN_%04d", i+1), HerokuApps: ha, GitHub: i%10 == 0,
			Expires: time.Duration(20+(i*37)%340) * 24 * time.Hour}
	}
	w := newWorld(dir, specs)
	defer w.close()
	w.env["ROTABOT_DRIFT_INTERVAL"] = "0" // only the passes asked for
	const drifted = 5
	for i := range drifted {
		s := specs[i*97]
		other := demo.FineGrainedToken()
		w.sb.Heroku.SetConfigByHand(s.HerokuApps[0], map[string]*string{s.Name: &other}, "someone@raxx.example")
	}
	if err := w.start(bin); err != nil {
		return err
	}
	pid := w.bot.pid()
	if err := waitIdle(pid, 300*time.Second); err != nil { // the first expiry pass over every secret
		return err
	}
	h := w.sb.Heroku
	var walls, cpus []time.Duration
	maxReads, totalReads, vaultReads := 0, 0, 0
	for rep := range reps {
		h.ResetLog()
		w.sb.Infisical.ResetLog()
		c0, err := cpu(pid)
		if err != nil {
			return err
		}
		last, err := timeParts(w, "drift", 2)
		if err != nil {
			return err
		}
		c1, _ := cpu(pid)
		walls, cpus = append(walls, last), append(cpus, c1-c0)
		perApp := map[string]int{}
		for _, q := range h.Requests() {
			if q.Route == "GET /apps/{app}/config-vars" {
				perApp[q.Path]++
			}
		}
		if len(perApp) != apps {
			return fmt.Errorf("pass %d read %d apps' configs, want %d", rep+1, len(perApp), apps)
		}
		for _, n := range perApp {
			maxReads, totalReads = max(maxReads, n), totalReads+n
		}
		vaultReads = w.sb.Infisical.Count(sbinfisical.InfisicalGetSecret, true)
		if vaultReads != secrets {
			return fmt.Errorf("pass %d read %d values from Infisical, want %d", rep+1, vaultReads, secrets)
		}
		if rep == 0 {
			if n := len(driftPosts(w)); n != drifted {
				return fmt.Errorf("the first pass posted %d drifts, want %d", n, drifted)
			}
		}
		if err := waitIdle(pid, 60*time.Second); err != nil {
			return err
		}
	}
	if n := len(driftPosts(w)); n != drifted {
		return fmt.Errorf("%d drift posts after %d passes, want %d (once per drift)", n, reps, drifted)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	med := walls[len(walls)/2]
	r.add(fmt.Sprintf("drift pass over %d secrets on %d Heroku apps (/rotate drift)", secrets, apps),
		fmt.Sprintf("%.2f s wall (median of %d; %.2f–%.2f s), bot CPU %s", med.Seconds(), len(walls), walls[0].Seconds(), walls[len(walls)-1].Seconds(), msText(cpus[len(cpus)/2])),
		"≤ 2 s", med.Seconds()/2,
		fmt.Sprintf("stand-ins at 0 ms; each pass reads %d values from Infisical, %d app configs, and the %d secrets' runs from bbolt; %d drifts posted once over %d passes",
			secrets, apps, secrets, drifted, reps))
	r.add("config reads per app in one drift pass", fmt.Sprintf("at most %d (%d reads over %d passes of %d apps)", maxReads, totalReads, reps, apps),
		"1", boolRatio(maxReads == 1), "counted at the Heroku stand-in")
	return nil
}

// driftPosts are the drift posts in the ops channel.
func driftPosts(w *world) []string {
	var out []string
	for _, m := range w.sb.Slack.Messages(opsChannel) {
		if (m.ThreadTS == "" || m.ThreadTS == m.TS) && strings.HasPrefix(m.Text, "Drift") {
			out = append(out, m.TS)
		}
	}
	return out
}

// timeParts sends /rotate text and returns the time from the envelope leaving
// the stand-in to the bot's answer number parts reaching it (response_url): a
// notice first, then the report.
func timeParts(w *world, text string, parts int) (time.Duration, error) {
	sl := w.sb.Slack
	sl.ResetLog()
	t0 := time.Now()
	if _, err := sl.SendSlashCommand(sbslack.SlashCommand{User: userAlice, Channel: opsChannel, Command: "/rotate", Text: text}); err != nil {
		return 0, err
	}
	deadline := t0.Add(120 * time.Second)
	for time.Now().Before(deadline) {
		var at []time.Time
		for _, q := range sl.Requests() {
			if q.Route == "POST /response/{id}" {
				at = append(at, q.Time)
			}
		}
		if len(at) >= parts {
			slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
			return at[parts-1].Sub(t0), nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("no answer in %d parts to /rotate %s within 120 s", parts, text)
}
