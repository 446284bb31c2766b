package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// benchReminders measures the reminder pass over secrets secrets when nothing
// has changed since the pass before (the hourly case), twice:
//
//   - the loop and the store alone: BenchmarkReminderPass/unchanged in rotation
//     (go test -bench), a pass on a real bbolt file with the vault and GitHub
//     answering at once in the process; the target is for this figure;
//   - the bot: `rotabot serve` with a short ROTABOT_REMINDER_INTERVAL, its first
//     pass recording every secret; each later pass is timed from its first
//     request to GitHub to its last, with the bot's CPU time (/proc) and the
//     bbolt file's write transactions (its transaction id) over that span. Every vault read and GitHub check goes through the real
//     SDKs to the stand-ins.
func benchReminders(r *report, root, bin, dir string, secrets, passes int) error {
	if err := benchReminderLoop(r, root, secrets); err != nil {
		return err
	}
	specs := make([]secretSpec, secrets)
	for i := range specs {
		// Expiries from 20 days to a year: none is due a reminder.
		specs[i] = secretSpec{Name: fmt.Sprintf("BENCH_TOKEN_%04d", i+1), HerokuApps: []string{"raxx-bench-shared"},
			Expires: time.Duration(20+(i*37)%340) * 24 * time.Hour}
	}
	w := newWorld(dir, specs)
	defer w.close()
	const interval = 6 * time.Second
	w.env["ROTABOT_REMINDER_INTERVAL"] = interval.String()
	if err := w.start(bin); err != nil {
		return err
	}
	db := w.env["ROTABOT_DB"]
	checks := func() int { return w.sb.GitHub.Count("GET /user", false) }
	// The first pass writes every record.
	t := time.Now()
	for checks() < secrets {
		if time.Since(t) > 300*time.Second {
			return fmt.Errorf("the first expiry pass did not check %d secrets within 300 s", secrets)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := waitIdle(w.bot.pid(), 60*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  the bot's first expiry pass over %d secrets took %s\n", secrets, time.Since(t).Round(time.Millisecond))
	var cpuSum, wallSum time.Duration
	var txSum uint64
	for p := 1; p <= passes; p++ {
		c, wall, txs, err := timePass(w.bot.pid(), db, w.sb.GitHub.Logged, checks, (p+1)*secrets, interval+30*time.Second)
		if err != nil {
			return err
		}
		cpuSum, wallSum, txSum = cpuSum+c, wallSum+wall, txSum+txs
	}
	n := time.Duration(passes)
	txs := float64(txSum) / float64(passes)
	// Each record rewritten would be one write transaction (the pass's claim is
	// kept in memory, as every claim in a bbolt file).
	r.add(fmt.Sprintf("the bot's reminder pass over %d secrets, nothing changed", secrets),
		fmt.Sprintf("CPU %s, wall %s, %.0f bbolt write transactions", msText(cpuSum/n), msText(wallSum/n), txs),
		"no record written", boolRatio(txs == 0),
		fmt.Sprintf("mean of %d passes of `rotabot serve` (CPU in %d ms ticks); each reads %d values from Infisical and checks %d tokens with GitHub over HTTP, "+
			"which is most of its CPU; each record written would be 1 write transaction (the pass's claim is kept in memory)",
			passes, 1000/clockTicks, secrets, secrets))
	return nil
}

// benchReminderLoop runs BenchmarkReminderPass/unchanged and reports its figures.
func benchReminderLoop(r *report, root string, secrets int) error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkReminderPass$/^unchanged$", "-benchtime", "30x", "./rotation/expiry/")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test -bench ReminderPass: %v\n%s", err, out)
	}
	// BenchmarkReminderPass/unchanged-2  30  6084002 ns/op  8.461 cpu-ms/pass  0 records-written/pass …
	got := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "BenchmarkReminderPass/unchanged") {
			continue
		}
		f := strings.Fields(line)
		for i := 3; i < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i-1], 64); err == nil {
				got[f[i]] = v
			}
		}
	}
	cpu, ok1 := got["cpu-ms/pass"]
	wall, ok2 := got["wall-ms/pass"]
	records, ok3 := got["records-written/pass"]
	txns, ok4 := got["write-txns/pass"]
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("go test -bench ReminderPass printed no figures:\n%s", out)
	}
	r.add(fmt.Sprintf("reminder pass over %d secrets, nothing changed: machine time", secrets),
		fmt.Sprintf("%.1f ms", cpu), "≤ 50 ms", cpu/50,
		fmt.Sprintf("BenchmarkReminderPass/unchanged (rotation/expiry), mean of 30: the loop on a bbolt file, vault and GitHub answering at once in the process; "+
			"user+sys of the process; wall %.1f ms a pass", wall))
	r.add("reminder pass, nothing changed: records written", fmt.Sprintf("%.0f (%.0f claim calls: taken and released; the bbolt store keeps claims in memory)", records, txns),
		"0", boolRatio(records == 0), "")
	return nil
}

// timePass waits for the next reminder pass and measures it: from the first
// request it makes to GitHub (calls counts them, cheaply) to the last, once
// GitHub has been asked about want tokens in all (checks) and no request has
// come for 300 ms, with the bot's CPU time over that span and the bbolt file's
// write transactions (a pass that changes nothing writes none: its claim is
// kept in memory; each record written would add one).
func timePass(pid int, db string, calls, checks func() int, want int, max time.Duration) (cpuUsed, wall time.Duration, txs uint64, err error) {
	deadline := time.Now().Add(max)
	tx0, err := boltTxID(db)
	if err != nil {
		return 0, 0, 0, err
	}
	n0 := calls()
	cpuBefore, err := cpu(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	for calls() == n0 {
		if time.Now().After(deadline) {
			return 0, 0, 0, errors.New("no reminder pass started")
		}
		if cpuBefore, err = cpu(pid); err != nil {
			return 0, 0, 0, err
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	last, lastAt, cpuAfter := n0, start, cpuBefore
	done, polled := false, time.Time{}
	for {
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("the reminder pass did not end within %s", max)
		}
		c, err := cpu(pid)
		if err != nil {
			return 0, 0, 0, err
		}
		if n := calls(); n != last {
			last, lastAt, cpuAfter = n, time.Now(), c
		}
		if !done && time.Since(polled) > 50*time.Millisecond {
			// The request log is copied to be counted: not every round.
			done, polled = checks() >= want, time.Now()
		} else if done && time.Since(lastAt) > 300*time.Millisecond {
			// What the pass does after its last request (noting its end) shows
			// in the CPU time until now.
			if cpuAfter, err = cpu(pid); err != nil {
				return 0, 0, 0, err
			}
			tx, err := boltTxID(db)
			if err != nil {
				return 0, 0, 0, err
			}
			return cpuAfter - cpuBefore, lastAt.Sub(start), tx - tx0, nil
		}
		time.Sleep(time.Millisecond)
	}
}

// boltTxID is the id of the last transaction committed to the bbolt file at
// path: the larger of its two meta pages' (bbolt writes them in turn, one per
// write transaction). Read from the file while the bot holds it; bbolt's lock
// is advisory.
func boltTxID(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// A page starts with a 16-byte header; the meta page then holds magic,
	// version, page size, flags (4 bytes each), the root bucket (16), the
	// freelist and high-water page ids (8 each) and the transaction id.
	const magic, hdr = 0xED0CDAED, 16
	meta := func(off int64) (uint64, uint32, error) {
		b := make([]byte, 72)
		if _, err := f.ReadAt(b, off); err != nil {
			return 0, 0, err
		}
		if binary.LittleEndian.Uint32(b[hdr:]) != magic {
			return 0, 0, fmt.Errorf("%s: no bbolt meta page at %d", path, off)
		}
		return binary.LittleEndian.Uint64(b[hdr+48:]), binary.LittleEndian.Uint32(b[hdr+8:]), nil
	}
	tx0, pageSize, err := meta(0)
	if err != nil {
		return 0, err
	}
	tx1, _, err := meta(int64(pageSize))
	if err != nil {
		return 0, err
	}
	return max(tx0, tx1), nil
}
