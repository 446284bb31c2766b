package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// ackContender is one Socket Mode client the ack figure times: `rotabot serve`,
// or the floor (bench/floor, a bare slack-go client that only acks).
type ackContender struct {
	name    string
	bin     string
	args    []string
	answers bool // it answers each command (response_url), as rotabot does
	lat     []time.Duration
	p99s    []time.Duration // each set's
	answer  []string        // how long each burst took to be answered
}

// benchAck sends n slash commands at once (back to back on the Socket Mode link)
// to `rotabot serve` and to the floor in turn, against the same Slack stand-in:
// sets sets, each starting both afresh, one after the other (the floor first in
// every other set), and sending each one burst not counted, then rounds bursts. Latency is from an
// envelope leaving the stand-in to the ack arriving there. The commands are the
// read-only ones a busy team types: help, list, expiring, history and a dry run.
// The figures pool every burst; rotabot's p99 is also read as a ratio of the
// floor's, pooled and set by set.
func benchAck(r *report, bin, floorBin, dir string, n, sets, rounds int) error {
	specs := exampleSpecs(2)
	w := newWorld(dir, specs)
	defer w.close()
	texts := []string{"help", "list", "expiring", "history " + specs[0].Name, specs[0].Name + " --dry-run"}
	bot := &ackContender{name: "rotabot", bin: bin, args: []string{"serve"}, answers: true}
	floor := &ackContender{name: "floor", bin: floorBin}
	var ratios []float64
	for set := range sets {
		order := []*ackContender{floor, bot}
		if set%2 == 1 {
			order = []*ackContender{bot, floor}
		}
		for _, c := range order {
			if err := c.runSet(w, set, n, rounds, texts); err != nil {
				return fmt.Errorf("%s, set %d: %w", c.name, set+1, err)
			}
		}
		ratios = append(ratios, float64(bot.p99s[set])/float64(floor.p99s[set]))
	}
	reportAck(r, bot, floor, ratios, n, sets, rounds)
	return nil
}

// runSet starts c, warms it, sends rounds bursts of n commands and stops it.
func (c *ackContender) runSet(w *world, set, n, rounds int, texts []string) error {
	// Each dry run looks for unknown holders on Heroku (an app list and a config
	// read an app): 160 dry runs a set would empty Heroku's rate-limit bucket
	// (4,500, about 75 a minute back) by the seventh set, and the bot then paces
	// its Heroku calls, as it must; this figure is about acks.
	w.sb.Heroku.SetRateLimitRemaining(4500)
	p, err := startProcess(c.bin, c.args, w.env, filepath.Join(w.dir, fmt.Sprintf("%s-%d.log", c.name, set+1)))
	if err != nil {
		return err
	}
	defer func() {
		p.stop(25 * time.Second)
		waitLinks(w, 0)
	}()
	if err := w.sb.Slack.WaitConnected(1, 60*time.Second); err != nil {
		return err
	}
	if err := waitIdle(p.pid(), 60*time.Second); err != nil {
		return err
	}
	// One command, then one burst not counted: a running bot has its ops-group
	// cache warm, its connections open and its heap grown to its working size;
	// a process just started has none of it (and the floor little to grow).
	if err := w.slash(userAlice, opsChannel, "list"); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	var pooled []time.Duration
	for round := range rounds + 1 {
		lat, answered, err := ackBurst(w, n, texts, fmt.Sprintf("bench-ack-%s-%d-%d-", c.name, set, round), c.answers)
		if err != nil {
			return err
		}
		if err := waitIdle(p.pid(), 60*time.Second); err != nil {
			return err
		}
		if round == 0 {
			continue
		}
		pooled = append(pooled, lat...)
		if c.answers {
			c.answer = append(c.answer, orTimeout(answered))
		}
	}
	slices.Sort(pooled)
	c.p99s = append(c.p99s, percentile(pooled, 0.99))
	c.lat = append(c.lat, pooled...)
	return nil
}

// waitLinks waits until the stand-in has n Socket Mode links open.
func waitLinks(w *world, n int) {
	for t := time.Now(); w.sb.Slack.Connections() != n && time.Since(t) < 10*time.Second; {
		time.Sleep(10 * time.Millisecond)
	}
}

// reportAck adds the ack figures.
func reportAck(r *report, bot, floor *ackContender, ratios []float64, n, sets, rounds int) {
	slices.Sort(bot.lat)
	slices.Sort(floor.lat)
	label := fmt.Sprintf("ack latency, %d slash commands at once", n)
	pooled := fmt.Sprintf("%d sets of %d bursts, each set on a fresh process after a burst not counted, pooled", sets, rounds)
	p99, fp99 := percentile(bot.lat, 0.99), percentile(floor.lat, 0.99)
	r.add(label+": p50", msText(percentile(bot.lat, 0.50)), "", 0, "")
	r.add(label+": p99", msText(p99), "≤ 20 ms", float64(p99)/float64(20*time.Millisecond),
		fmt.Sprintf("%s; p99 of each set: %s", pooled, durations(bot.p99s)))
	r.add(label+": max", msText(bot.lat[len(bot.lat)-1]), "", 0,
		fmt.Sprintf("every command answered (response_url) within %s of its burst's start", strings.Join(bot.answer, ", ")))
	r.add(label+": the floor's p99 (a bare slack-go client that only acks)", msText(fp99), "", 0,
		fmt.Sprintf("same stand-in, same bursts, alternating with rotabot; p50 %s, max %s; p99 of each set: %s",
			msText(percentile(floor.lat, 0.50)), msText(floor.lat[len(floor.lat)-1]), durations(floor.p99s)))
	sorted := slices.Clone(ratios)
	slices.Sort(sorted)
	var each []string
	for _, x := range ratios {
		each = append(each, fmt.Sprintf("%.2f", x))
	}
	// The median of the sets: a set the machine disturbed (other work on its 2
	// cores) moves a pooled p99 by itself.
	ratio := sorted[len(sorted)/2]
	r.add(label+": rotabot's p99 ÷ the floor's, median of the sets", fmt.Sprintf("%.2f×", ratio), "≤ 1.5×", ratio/1.5,
		fmt.Sprintf("set by set %s (%.2f–%.2f); pooled %.2f×", strings.Join(each, ", "), sorted[0], sorted[len(sorted)-1], float64(p99)/float64(fp99)))
}

func durations(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, msText(d))
	}
	return strings.Join(out, ", ")
}

// ackBurst sends one burst and returns each command's ack latency (sorted) and,
// when answers, the time until every command was answered.
func ackBurst(w *world, n int, texts []string, prefix string, answers bool) ([]time.Duration, time.Duration, error) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	sent := make([]time.Time, n)
	acked := make([]time.Time, n)
	w.sb.Slack.ResetLog()
	// One waiter takes the acks in sending order (slack-go acks in receive
	// order): an ack that came before the one waited for is timed when it is
	// reached, which can only overstate its latency.
	waited := make(chan error, 1)
	go func() {
		for i, id := range ids {
			if _, err := w.sb.Slack.WaitAck(id, 30*time.Second); err != nil {
				waited <- err
				return
			}
			acked[i] = time.Now()
		}
		waited <- nil
	}()
	// The stand-ins run in this process: collect its garbage now and not during
	// the burst, so a pause here is not taken for the bot's.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	start := time.Now()
	for i := range ids {
		sent[i] = time.Now()
		if _, err := w.sb.Slack.SendSlashCommand(sbslack.SlashCommand{User: userAlice, Channel: opsChannel, Command: "/rotate",
			Text: texts[i%len(texts)], EnvelopeID: ids[i]}); err != nil {
			return nil, 0, err
		}
	}
	if err := <-waited; err != nil {
		return nil, 0, err
	}
	lat := make([]time.Duration, n)
	for i := range lat {
		lat[i] = acked[i].Sub(sent[i])
	}
	slices.Sort(lat)
	if !answers {
		return lat, 0, nil
	}
	// Every command is answered too (response_url); not a target, shown for scale.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if w.sb.Slack.Count("POST /response/{id}", true) >= n {
			return lat, time.Since(start), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	calls := map[string]int{}
	for _, q := range w.sb.Slack.Requests() {
		calls[fmt.Sprintf("%s %d", q.Route, q.Status)]++
	}
	for _, q := range append(w.sb.GitHub.Requests(), w.sb.Infisical.Requests()...) {
		if q.Time.After(start) {
			calls[fmt.Sprintf("%s %d", q.Route, q.Status)]++
		}
	}
	fmt.Fprintf(os.Stderr, "bench: %s: %d of %d commands answered within 60 s; calls since the burst: %v; Slack limited: %v\n",
		prefix, w.sb.Slack.Count("POST /response/{id}", true), n, calls, w.sb.Slack.LimitStats().Limited)
	return lat, 0, nil
}

func orTimeout(d time.Duration) string {
	if d == 0 {
		return "not within 60 s"
	}
	return msText(d)
}
