package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// benchAck sends n slash commands at once (back to back on the Socket Mode link),
// bursts times, and measures for each the time from its envelope leaving the
// stand-in to the bot's ack arriving there. The commands are the read-only ones
// a busy team types: help, list, expiring, history and a dry run. The figures
// pool every burst.
func benchAck(r *report, bin, dir string, n, bursts int) error {
	specs := exampleSpecs(2)
	w := newWorld(dir, specs)
	defer w.close()
	if err := w.start(bin); err != nil {
		return err
	}
	if err := waitIdle(w.bot.pid(), 60*time.Second); err != nil {
		return err
	}
	if err := w.slash(userAlice, opsChannel, "list"); err != nil { // warm the ops-group cache, as a running bot has it
		return err
	}
	time.Sleep(300 * time.Millisecond)
	texts := []string{"help", "list", "expiring", "history " + specs[0].Name, specs[0].Name + " --dry-run"}
	var all, warm []time.Duration
	var p99s []string
	var answeredIn []string
	for b := range bursts {
		lat, answered, err := ackBurst(w, n, texts, fmt.Sprintf("bench-ack-%d-", b))
		if err != nil {
			return err
		}
		all = append(all, lat...)
		if b > 0 {
			warm = append(warm, lat...)
		}
		p99s = append(p99s, msText(percentile(lat, 0.99)))
		answeredIn = append(answeredIn, orTimeout(answered))
		if err := waitIdle(w.bot.pid(), 60*time.Second); err != nil {
			return err
		}
	}
	slices.Sort(all)
	slices.Sort(warm)
	label := fmt.Sprintf("ack latency, %d slash commands at once", n)
	p99 := percentile(all, 0.99)
	r.add(label+": p50", msText(percentile(all, 0.50)), "", 0, "")
	r.add(label+": p99", msText(p99), "≤ 20 ms", float64(p99)/float64(20*time.Millisecond),
		fmt.Sprintf("%d bursts pooled; p99 of each burst, the first one right after start-up: %s", bursts, strings.Join(p99s, ", ")))
	r.add(label+": max", msText(all[len(all)-1]), "", 0,
		fmt.Sprintf("every command answered (response_url) within %s of its burst's start", strings.Join(answeredIn, ", ")))
	if len(warm) > 0 {
		wp99 := percentile(warm, 0.99)
		r.add(label+": p99 of the bursts after the first", msText(wp99), "≤ 20 ms", float64(wp99)/float64(20*time.Millisecond),
			fmt.Sprintf("p50 %s, max %s", msText(percentile(warm, 0.50)), msText(warm[len(warm)-1])))
	}
	return nil
}

// ackBurst sends one burst and returns each command's ack latency (sorted) and
// the time until every command was answered.
func ackBurst(w *world, n int, texts []string, prefix string) ([]time.Duration, time.Duration, error) {
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
	// Every command is answered too (response_url); not a target, shown for scale.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if w.sb.Slack.Count("POST /response/{id}", true) >= n {
			return lat, time.Since(start), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return lat, 0, nil
}

func orTimeout(d time.Duration) string {
	if d == 0 {
		return "not within 60 s"
	}
	return msText(d)
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

// benchRuns measures, on one bot process with stand-ins answering at once: its
// resident memory after connecting and going idle; the CPU time of one whole
// run (everything but waiting for people); then runs more runs, several secrets
// at a time, and measures memory again and the mean CPU time per run.
func benchRuns(r *report, bin, dir string, runs int, doCPU, doMem bool) error {
	specs := exampleSpecs(8)
	w := newWorld(dir, specs)
	defer w.close()
	if err := w.start(bin); err != nil {
		return err
	}
	b := &runBench{r: r, w: w, pid: w.bot.pid(), specs: specs}
	if err := b.settleIdle(doMem); err != nil {
		return err
	}
	var err error
	if b.rate, err = idleRate(b.pid, 2*time.Second); err != nil {
		return err
	}
	if err := b.oneRun(doCPU); err != nil || runs <= 1 {
		return err
	}
	if err := b.moreRuns(runs-1, doCPU); err != nil {
		return err
	}
	if doMem {
		return b.memoryAfter(runs)
	}
	return nil
}

// runBench is benchRuns' state: the world, the bot's pid, its idle memory and
// idle CPU rate, and the first error reading its CPU time.
type runBench struct {
	r      *report
	w      *world
	pid    int
	specs  []secretSpec
	idle   memory
	rate   float64 // idle CPU seconds per second
	cpuErr error
}

// cpu is the bot's CPU time so far; the first error is kept in cpuErr.
func (b *runBench) cpu() time.Duration {
	c, err := cpu(b.pid)
	if err != nil && b.cpuErr == nil {
		b.cpuErr = err
	}
	return c
}

// busy is the CPU time the bot spent between c0 at t0 and c1 at t1, less what
// it spends idle in as long.
func (b *runBench) busy(c0, c1 time.Duration, t0, t1 time.Time) time.Duration {
	return c1 - c0 - time.Duration(b.rate*float64(t1.Sub(t0)))
}

// settleIdle waits for the bot's start-up passes (expiry, drift) to end and its
// CPU to go quiet, and records its idle memory.
func (b *runBench) settleIdle(doMem bool) error {
	if err := waitIdle(b.pid, 60*time.Second); err != nil {
		return err
	}
	time.Sleep(time.Second)
	// The drift check's start-up pass reads every app's config once: the figure
	// is taken after it too.
	for t := time.Now(); b.w.sb.Heroku.Count("GET /apps/{app}/config-vars", true) < 2; {
		if time.Since(t) > 120*time.Second {
			return fmt.Errorf("the drift check's start-up pass did not read the apps' configs within 120 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := waitIdle(b.pid, 60*time.Second); err != nil {
		return err
	}
	time.Sleep(time.Second)
	idle, err := memoryOf(b.pid)
	if err != nil {
		return err
	}
	b.idle = idle
	if doMem {
		b.r.add("resident memory after connect, idle", mbText(idle.rss), "≤ 28 MB", float64(idle.rss)/(28<<20),
			fmt.Sprintf("VmRSS of `rotabot serve` once its start-up passes (expiry, drift) are over; RssAnon %s + RssFile %s + RssShmem %s",
				mbText(idle.anon), mbText(idle.file), mbText(idle.shmem)))
		b.r.add("… of it anonymous (heap and stacks), idle", mbText(idle.anon), "≤ 6 MB", float64(idle.anon)/(6<<20), "RssAnon")
		b.r.add("… of it file-backed (the binary and libraries mapped in), idle", mbText(idle.file), "", 0, "RssFile")
	}
	return nil
}

// oneRun measures the CPU time of one whole run.
func (b *runBench) oneRun(doCPU bool) error {
	c0, t0 := b.cpu(), time.Now()
	if _, err := b.w.rotate(b.specs[0].Name, ""); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond) // the run's last card update and audit post
	c1, t1 := b.cpu(), time.Now()
	if b.cpuErr != nil {
		return b.cpuErr
	}
	one := b.busy(c0, c1, t0, t1)
	if doCPU {
		b.r.add("bot machine time of one whole run (CPU user+sys, minus idle)", msText(one), "≤ 1 s", float64(one)/float64(time.Second),
			fmt.Sprintf("the run took %s of wall time; idle use %.2f ms/s", msText(t1.Sub(t0)), b.rate*1000))
	}
	return nil
}

// moreRuns runs n more runs, one worker per secret, and measures the mean CPU
// time per run.
func (b *runBench) moreRuns(n int, doCPU bool) error {
	left := int64(n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	c2, t2 := b.cpu(), time.Now()
	for _, s := range b.specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&left, -1) >= 0 {
				if _, err := b.w.rotate(s.Name, ""); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					atomic.StoreInt64(&left, -1)
					return
				}
			}
		}()
	}
	stop := b.refreshStandIns()
	wg.Wait()
	close(stop)
	if firstErr != nil {
		return firstErr
	}
	t3 := time.Now()
	if err := waitIdle(b.pid, 60*time.Second); err != nil {
		return err
	}
	c3, t4 := b.cpu(), time.Now()
	if b.cpuErr != nil {
		return b.cpuErr
	}
	mean := b.busy(c2, c3, t2, t4) / time.Duration(n)
	if doCPU {
		b.r.add(fmt.Sprintf("bot machine time per run, mean of %d more runs (%d secrets at a time)", n, len(b.specs)), msText(mean), "≤ 1 s",
			float64(mean)/float64(time.Second), fmt.Sprintf("%d runs in %s of wall time", n, t3.Sub(t2).Round(time.Millisecond)))
	}
	return nil
}

// refreshStandIns makes the stand-ins forget their requests now and then, until
// the channel it returns is closed. Heroku's rate-limit bucket is filled again
// too: a run spends 15 or so requests (the writes, the release waits, the log
// sessions, the read-back, the scan for the old token), so 1,000 rotations in
// minutes would empty a real account's bucket many times over; this figure is
// about memory.
func (b *runBench) refreshStandIns() chan struct{} {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				for _, s := range []interface{ ResetLog() }{b.w.sb.Slack, b.w.sb.GitHub, b.w.sb.Heroku, b.w.sb.Infisical, b.w.console} {
					s.ResetLog()
				}
				b.w.sb.Heroku.SetRateLimitRemaining(4500)
			}
		}
	}()
	return stop
}

// memoryAfter measures memory right after the runs, with their log watches
// still open (the peak, reported apart), and once the watches are over and
// memory has settled (the 40 MB target: what the runs leave behind).
func (b *runBench) memoryAfter(runs int) error {
	streams := func() int {
		n := 0
		for _, app := range specApps(b.specs) {
			n += b.w.sb.Heroku.OpenLogStreams(app)
		}
		return n
	}
	open := streams()
	peak, err := memoryOf(b.pid)
	if err != nil {
		return err
	}
	perWatch := ""
	if open > 0 {
		perWatch = fmt.Sprintf("; about %.0f KB anonymous per open watch above idle", float64(peak.anon-b.idle.anon)/float64(open)/1024)
	}
	b.r.add(fmt.Sprintf("resident memory right after %d runs, %d log watches still open", runs, open), mbText(peak.rss), "", 0,
		fmt.Sprintf("RssAnon %s + RssFile %s%s", mbText(peak.anon), mbText(peak.file), perWatch))
	for t := time.Now(); streams() > 0; time.Sleep(250 * time.Millisecond) {
		if time.Since(t) > 3*time.Minute {
			return fmt.Errorf("%d log watches were still open 3 minutes after the last run", streams())
		}
	}
	if err := waitIdle(b.pid, 60*time.Second); err != nil {
		return err
	}
	after, settled, err := settledMemory(b.pid)
	if err != nil {
		return err
	}
	target, ratio := "≤ 40 MB", float64(after.rss)/(40<<20)
	if runs < 1000 {
		target, ratio = "(≤ 40 MB at 1,000)", 0
	}
	b.r.add(fmt.Sprintf("resident memory after %d finished runs, their log watches over", runs), mbText(after.rss), target, ratio,
		fmt.Sprintf("RssAnon %s + RssFile %s, settled %s after the last watch ended", mbText(after.anon), mbText(after.file), settled))
	return nil
}

// settledMemory reads pid's memory once it has settled: the Go runtime returns
// freed pages to the OS in the background, over a minute or two, so it waits
// until resident memory has not dropped by 0.5 MB or more for a minute, at most 4
// minutes; it returns how long that took.
func settledMemory(pid int) (memory, time.Duration, error) {
	start := time.Now()
	after, err := memoryOf(pid)
	if err != nil {
		return after, 0, err
	}
	for low, lowAt := after.rss, time.Now(); time.Since(lowAt) < time.Minute && time.Since(start) < 4*time.Minute; {
		time.Sleep(2 * time.Second)
		if after, err = memoryOf(pid); err != nil {
			return after, 0, err
		}
		if after.rss <= low-(1<<19) {
			low, lowAt = after.rss, time.Now()
		}
	}
	return after, time.Since(start).Round(time.Second), nil
}

// specApps lists the Heroku apps of specs, each once.
func specApps(specs []secretSpec) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range specs {
		for _, a := range s.HerokuApps {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
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
