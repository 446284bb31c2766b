package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// benchRuns measures, on one bot process with stand-ins answering at once: its
// resident memory after connecting and going idle; the CPU time of one whole
// run (everything but waiting for people); then runs more runs, several secrets
// at a time, and measures memory with their log watches open, the mean CPU time
// per run once the watches are over, and memory once it has settled.
//
// Slack's limits are off here: these figures are the bot's own cost of a run,
// every card drawing and note sent as it comes (the most work the bot can be
// given per run), and at Slack's pace 1,000 runs in one channel would take
// hours. The rotationday phase measures the bot inside Slack's limits.
func benchRuns(r *report, bin, dir string, runs int, doCPU, doMem bool, prof *profiler) error {
	specs := exampleSpecs(8)
	w := newWorld(dir, specs)
	defer w.close()
	w.sb.Slack.SetLimits(sbslack.Limits{})
	if err := prof.attach(w); err != nil {
		return err
	}
	if err := w.start(bin); err != nil {
		return err
	}
	b := &runBench{r: r, w: w, pid: w.bot.pid(), specs: specs, prof: prof}
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
	return b.moreRuns(runs-1, doCPU, doMem)
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
	prof   *profiler
	tx0    uint64 // the bbolt file's transaction id before the runs
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

// moreRuns runs n more runs, one worker per secret, then takes the figures
// after them (afterRuns).
func (b *runBench) moreRuns(n int, doCPU, doMem bool) error {
	left := int64(n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	c2, t2 := b.cpu(), time.Now()
	calls0, _ := b.w.watch.callCounts()
	b.tx0, _ = boltTxID(b.w.env["ROTABOT_DB"])
	stopProfile := b.prof.cpuStart("runs")
	defer stopProfile()
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
	return b.afterRuns(n, c2, t2, time.Since(t2), doCPU, doMem, stopProfile, calls0)
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

// afterRuns takes the figures after n more runs that started at CPU time c2 and
// time t2 and took wall: memory right after them, with the log watches of the
// last minute's runs still open; the mean CPU time per run, counted until those
// watches are over and the bot is idle again (a run's cost includes its watch);
// and memory once the watches are over and memory has settled (the 40 MB
// target: what the runs leave behind).
func (b *runBench) afterRuns(n int, c2 time.Duration, t2 time.Time, wall time.Duration, doCPU, doMem bool, stopProfile func(), calls0 map[string]int) error {
	runs := n + 1
	streams := func() int {
		k := 0
		for _, app := range specApps(b.specs) {
			k += b.w.sb.Heroku.OpenLogStreams(app)
		}
		return k
	}
	open, sessions := b.w.watch.watching(), streams()
	peak, err := memoryOf(b.pid)
	if err != nil {
		return err
	}
	b.prof.snapshot("peak")
	if doMem {
		perWatch := ""
		if open > 0 {
			perWatch = fmt.Sprintf("; %.1f KB anonymous per open watch above idle", float64(peak.anon-b.idle.anon)/float64(open)/1024)
		}
		target, ratio := "≤ 45 MB", float64(peak.rss)/(45<<20)
		if runs < 1000 {
			target, ratio = "(≤ 45 MB at 1,000)", 0
		}
		b.r.add(fmt.Sprintf("resident memory right after %d runs, %d log watches still open", runs, open), mbText(peak.rss), target, ratio,
			fmt.Sprintf("RssAnon %s + RssFile %s%s; %d log streams open at Heroku for them (%d apps)",
				mbText(peak.anon), mbText(peak.file), perWatch, sessions, len(specApps(b.specs))))
	}
	for t := time.Now(); streams() > 0 || b.w.watch.watching() > 0; time.Sleep(250 * time.Millisecond) {
		if time.Since(t) > 3*time.Minute {
			return fmt.Errorf("%d log watches (%d streams) were still open 3 minutes after the last run", b.w.watch.watching(), streams())
		}
	}
	if err := waitIdle(b.pid, 60*time.Second); err != nil {
		return err
	}
	c3, t4 := b.cpu(), time.Now()
	stopProfile() // the profile covers the runs and their watches, as the figure does
	if b.cpuErr != nil {
		return b.cpuErr
	}
	if doCPU {
		mean := b.busy(c2, c3, t2, t4) / time.Duration(n)
		calls, _ := b.w.watch.callCounts()
		writes := "?"
		if tx, err := boltTxID(b.w.env["ROTABOT_DB"]); err == nil && b.tx0 > 0 {
			writes = fmt.Sprintf("%.1f", float64(tx-b.tx0)/float64(n))
		}
		b.r.add(fmt.Sprintf("bot machine time per run, mean of %d more runs (%d secrets at a time, log watches included)", n, len(b.specs)),
			msText(mean), "≤ 40 ms", float64(mean)/float64(40*time.Millisecond),
			fmt.Sprintf("%d runs in %s of wall time; CPU counted until their log watches were over (%s later); bbolt write transactions a run: %s; Slack calls a run: %s", n,
				wall.Round(time.Millisecond), t4.Sub(t2.Add(wall)).Round(time.Second), writes, perRun(calls, calls0, n)))
	}
	if !doMem {
		return nil
	}
	after, settled, err := settledMemory(b.pid)
	if err != nil {
		return err
	}
	b.prof.snapshot("after")
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

// perRun is the calls made since before (by method), per run, busiest first.
func perRun(calls, before map[string]int, runs int) string {
	type m struct {
		name string
		n    int
	}
	var ms []m
	total := 0
	for k, v := range calls {
		if d := v - before[k]; d > 0 {
			ms = append(ms, m{k, d})
			total += d
		}
	}
	slices.SortFunc(ms, func(a, b m) int { return cmp.Or(b.n-a.n, strings.Compare(a.name, b.name)) })
	parts := []string{fmt.Sprintf("%.1f in all", float64(total)/float64(runs))}
	for _, x := range ms {
		parts = append(parts, fmt.Sprintf("%s %.1f", x.name, float64(x.n)/float64(runs)))
	}
	return strings.Join(parts, ", ")
}
