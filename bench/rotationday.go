package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// rotationDaySecrets is how many tokens a team rotates on the same morning.
const rotationDaySecrets = 10

// benchRotationDay starts ten runs at once in one channel (ten secrets, each on
// three Heroku apps of its own, an Actions secret and a shell-rc operator's
// DM), with the Slack stand-in limiting as Slack does at its own pace (speed
// 1), and plays the people at once: each run's token pasted, approved, the
// operator's Done, the old token revoked through GitHub, to Completed. It
// reports the Slack calls a run by method, the 429s answered, the calls made
// before a Retry-After had passed, the wall time of the ten runs, and the
// longest a card stayed behind its run.
func benchRotationDay(r *report, bin, dir string) error {
	specs := make([]secretSpec, rotationDaySecrets)
	for i := range specs {
		n := i + 1
		specs[i] = secretSpec{Name: fmt.Sprintf("DAY_%02d_TOKEN", n), GitHub: true, ShellRC: true,
			HerokuApps: []string{fmt.Sprintf("day-%02d-web", n), fmt.Sprintf("day-%02d-worker", n), fmt.Sprintf("day-%02d-api", n)}}
	}
	w := newWorld(dir, specs)
	defer w.close()
	w.wait = 10 * time.Minute // at Slack's pace a card may wait its turn for long
	w.sb.Slack.SetLimits(sbslack.SlackLimits())
	if err := w.start(bin); err != nil {
		return err
	}
	if err := waitIdle(w.bot.pid(), 60*time.Second); err != nil {
		return err
	}
	calls0, limited0 := w.watch.callCounts()
	stats0 := w.sb.Slack.LimitStats()
	start := time.Now()
	ids := make([]string, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { ids[i], errs[i] = w.rotate(s.Name, "") })
	}
	wg.Wait()
	wall := time.Since(start)
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", specs[i].Name, err)
		}
	}
	// The notes go at the channel's pace, after the cards: every thread has its
	// last note once the day is done.
	if err := waitAudits(w, len(specs), 5*time.Minute); err != nil {
		return err
	}
	if err := waitThreads(w, ids, 10*time.Minute); err != nil {
		return err
	}
	threads := time.Since(start)
	calls, limited := w.watch.callCounts()
	stats := w.sb.Slack.LimitStats()
	w.bot.stop(25 * time.Second)
	lag, which, err := cardLag(w, ids)
	if err != nil {
		return err
	}
	reportRotationDay(r, callsSince(calls, calls0), callsSince(limited, limited0), stats.Violations-stats0.Violations, wall, threads, lag, which)
	return nil
}

// waitAudits waits for n audit posts.
func waitAudits(w *world, n int, max time.Duration) error {
	for t := time.Now(); len(w.sb.Slack.Messages(auditChannel)) < n; time.Sleep(100 * time.Millisecond) {
		if time.Since(t) > max {
			return fmt.Errorf("%d audit posts of %d after %s", len(w.sb.Slack.Messages(auditChannel)), n, max)
		}
	}
	return nil
}

// waitThreads waits until the thread of each run's card has the run's last note.
func waitThreads(w *world, ids []string, max time.Duration) error {
	const last = "Completed: secret.rotate.completed written"
	for _, id := range ids {
		c, err := w.watch.waitCard(id, "Completed", time.Second)
		if err != nil {
			return err
		}
		for t := time.Now(); ; time.Sleep(100 * time.Millisecond) {
			done := false
			for _, m := range w.sb.Slack.Thread(opsChannel, c.TS) {
				done = done || strings.Contains(m.Text, last)
			}
			if done {
				break
			}
			if time.Since(t) > max {
				return fmt.Errorf("run %s's thread lacks its last note after %s", id, max)
			}
		}
	}
	return nil
}

func callsSince(now, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range now {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// cardStates are the state words a run's card shows in order, each with when
// the run reached it (from the run's record).
var cardStates = []struct {
	word string
	at   func(r *rotation.Run) time.Time
}{
	{"Waiting for token", stepTime(rotation.StepPrecheck, true)},
	{"Waiting for approval", stepTime(rotation.StepValidate, true)},
	{"Propagating", stepTime(rotation.StepStore, false)},
	{"Verifying", stepTime(rotation.StepVerify, false)},
	{"Waiting for revoke", stepTime(rotation.StepVerify, true)},
	{"Auditing", stepTime(rotation.StepAudit, false)},
	{"Completed", stepTime(rotation.StepAudit, true)},
}

func stepTime(name rotation.StepName, finished bool) func(r *rotation.Run) time.Time {
	return func(r *rotation.Run) time.Time {
		s := r.Step(name)
		if s == nil {
			return time.Time{}
		}
		if finished {
			return s.Finished
		}
		return s.Started
	}
}

// cardLag reads the runs from the bot's store (the bot stopped) and returns the
// longest a card stayed behind its run: from the run reaching a state to its
// card first showing that state or a later one (a card may skip a state the
// run passed through quickly), and which run and state that was.
func cardLag(w *world, ids []string) (time.Duration, string, error) {
	st, err := bbolt.Open(w.env["ROTABOT_DB"], 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer st.Close()
	var worst time.Duration
	which := ""
	for _, id := range ids {
		run, err := st.GetRun(context.Background(), id)
		if err != nil {
			return 0, "", err
		}
		for k, s := range cardStates {
			reached := s.at(run)
			if reached.IsZero() {
				continue
			}
			var shown time.Time
			for _, later := range cardStates[k:] {
				if t := w.watch.shown(id, later.word); !t.IsZero() && (shown.IsZero() || t.Before(shown)) {
					shown = t
				}
			}
			if shown.IsZero() {
				return 0, "", fmt.Errorf("run %s's card never showed %q or a later state", id, s.word)
			}
			if lag := shown.Sub(reached); lag > worst {
				worst, which = lag, fmt.Sprintf("run %s, %q", id, s.word)
			}
		}
	}
	return worst, which, nil
}

// reportRotationDay adds the rotation day's figures.
func reportRotationDay(r *report, calls, limited map[string]int, violations int, wall, threads, lag time.Duration, which string) {
	runs := float64(rotationDaySecrets)
	total := 0
	var methods []string
	for m, n := range calls {
		total += n
		methods = append(methods, m)
	}
	sort.Slice(methods, func(i, j int) bool { return calls[methods[i]] > calls[methods[j]] })
	var each []string
	for _, m := range methods {
		each = append(each, fmt.Sprintf("%s %.1f", m, float64(calls[m])/runs))
	}
	label := fmt.Sprintf("rotation day, %d runs at once in one channel at Slack's pace", rotationDaySecrets)
	perRun := float64(total) / runs
	// Before the outbox, a run made 22 card updates and 16 posts (issue 21).
	r.add(label+": Slack calls a run", fmt.Sprintf("%.1f", perRun), "≤ 20", perRun/20, strings.Join(each, ", "))
	for _, m := range []string{"chat.update", "chat.postMessage"} {
		target := map[string]float64{"chat.update": 8, "chat.postMessage": 10}[m]
		x := float64(calls[m]) / runs
		r.add(fmt.Sprintf("… of them %s", m), fmt.Sprintf("%.1f", x), fmt.Sprintf("≤ %.0f", target), x/target, "")
	}
	n429 := 0
	var by []string
	for m, n := range limited {
		n429 += n
		by = append(by, fmt.Sprintf("%s %d", m, n))
	}
	sort.Strings(by)
	share := 0.0
	if total > 0 {
		share = float64(n429) / float64(total)
	}
	r.add(label+": calls answered 429 (each waited out, then made again)", fmt.Sprintf("%d of %d (%.0f%%)", n429, total, share*100),
		"≤ 5% of calls", share/0.05, strings.Join(by, ", "))
	r.add(label+": calls made before their Retry-After had passed", fmt.Sprint(violations), "0", boolRatio(violations == 0),
		"Slack may revoke the token of an app that keeps calling while limited")
	r.add(label+": wall time, the first /rotate to the tenth Completed", fmt.Sprintf("%.1f s", wall.Seconds()), "≤ 2 min",
		float64(wall)/float64(2*time.Minute), "the people answer at once: the time is the bot's and Slack's")
	r.add(label+": … to the last note in the threads", fmt.Sprintf("%.1f s", threads.Seconds()), "≤ 2 min",
		float64(threads)/float64(2*time.Minute), "the notes go at Slack's pace for posting, about one a second in a channel, joined when they wait")
	r.add(label+": the longest a card stayed behind its run", fmt.Sprintf("%.1f s", lag.Seconds()), "≤ 5 s",
		float64(lag)/float64(5*time.Second), "from the run reaching a state to its card showing it or a later one: "+which)
}
