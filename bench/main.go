// Command bench measures rotabot against its performance targets: the
// real `rotabot serve` binary, built into a temporary folder, runs as a
// subprocess against the sandbox stand-ins of Slack, GitHub, Infisical and
// Heroku started in this process, so its CPU time and memory are its own and
// every call goes through the real SDK clients.
//
//	go run ./bench                 # every figure (about 15 minutes on 2 cores)
//	go run ./bench --quick         # fewer runs and repetitions (a few minutes)
//	go run ./bench --only ack,propagate
//	go run ./bench --only cpu --profile DIR   # and the bot's pprof profiles
//
// Figures: ack (ack latency of 200 slash commands at once, and its p99 as a
// ratio of a bare slack-go client's, bench/floor, on the same stand-in),
// propagate (wall time of the propagate step to 20 and 100 Heroku apps at 200 ms
// a call), cpu (CPU time of a whole run, its log watch included, with Slack's
// limits off), memory (resident memory idle, after 1,000 runs with their log
// watches open, and once they are over), rotationday (ten runs at once in one
// channel with Slack's limits at Slack's pace: calls, 429s, violations, wall
// time, card lag),
// scale (/rotate expiring with 1,000 secrets, /rotate history with 10,000 runs),
// reminders (the bot's reminder pass over 1,000 secrets when nothing changed:
// CPU time and bbolt writes), discovery (/rotate where over 200 Heroku apps at
// 200 ms a call: wall time, 429s, rate-limit tokens left), drift (a drift pass
// over 1,000 secrets on 300 apps: wall time, config reads per app).
// It prints each figure and, where there is a target, figure ÷ target: a ratio
// above 1 misses. It asserts nothing and exits 0 unless a phase could not run.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

type figure struct {
	name, value, target string
	ratio               float64 // figure ÷ target; 0 when there is no target, -1 for a yes/no target met, -2 missed
	note                string
}

type report struct{ figs []figure }

func (r *report) add(name, value, target string, ratio float64, note string) {
	f := figure{name: name, value: value, target: target, ratio: ratio, note: note}
	r.figs = append(r.figs, f)
	line := fmt.Sprintf("  %s: %s", name, value)
	if target != "" && ratio != 0 {
		line += fmt.Sprintf("  (target %s; %s)", target, ratioText(ratio))
	}
	if note != "" {
		line += "\n      " + note
	}
	fmt.Fprintln(os.Stderr, line)
}

func ratioText(ratio float64) string {
	switch {
	case ratio == -1:
		return "met"
	case ratio == -2:
		return "MISSES"
	case ratio > 1:
		return fmt.Sprintf("%.2f, MISSES", ratio)
	}
	return fmt.Sprintf("%.2f", ratio)
}

func (r *report) print() {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "| figure\t| value\t| target\t| ÷ target\t|")
	fmt.Fprintln(tw, "| ---\t| ---\t| ---\t| ---\t|")
	for _, f := range r.figs {
		ratio := ""
		if f.ratio != 0 {
			ratio = ratioText(f.ratio)
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t|\n", f.name, f.value, f.target, ratio)
	}
	tw.Flush()
	fmt.Println()
	for _, f := range r.figs {
		if f.note != "" {
			fmt.Printf("- %s: %s\n", f.name, f.note)
		}
	}
}

func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%s/%s, %d cores (%s)%s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, mem, runtime.Version())
}

func main() {
	only := flag.String("only", "ack,propagate,cpu,memory,rotationday,scale,reminders,discovery,drift", "figures to run, comma-separated: ack, propagate, cpu, memory, rotationday, scale, reminders, discovery, drift")
	quick := flag.Bool("quick", false, "fewer runs and repetitions: 100 runs instead of 1,000 for cpu and memory, 3 sets of 2 bursts of 200 commands instead of 7 of 3 for ack, 3 repetitions instead of 10")
	runs := flag.Int("runs", 0, "finished runs before the second memory figure (default 1,000; 100 with --quick)")
	keep := flag.Bool("keep", false, "keep the temporary folder (bot logs, databases) and print its path")
	profDir := flag.String("profile", "", "build the bot with the pprof tag and save its CPU and heap profiles of the cpu/memory phase into this folder")
	flag.Parse()
	want := figures(*only)
	nRuns, reps, sets, rounds := 1000, 10, 7, 3
	if *quick {
		nRuns, reps, sets, rounds = 100, 3, 3, 2
	}
	if *runs > 0 {
		nRuns = *runs
	}
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	if _, err := os.Stat(root + "/go.mod"); err != nil {
		fail(fmt.Errorf("run the bench from the module's root (go run ./bench): %v", err))
	}
	tmp, err := os.MkdirTemp("", "rotabot-bench-")
	if err != nil {
		fail(err)
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "bench: working in", tmp)
	}
	start, loadBefore := time.Now(), loadavg()
	fmt.Fprintln(os.Stderr, "bench: building rotabot")
	prof, err := newProfiler(*profDir)
	if err != nil {
		fail(err)
	}
	bin, err := buildBot(root, tmp, prof != nil)
	if err != nil {
		fail(err)
	}
	r := &report{}
	failed := false
	step := func(name string, fn func() error) {
		fmt.Fprintf(os.Stderr, "bench: %s\n", name)
		if err := fn(); err != nil {
			// Keep going: the other figures are still worth having.
			failed = true
			r.add(name, "could not run", "", 0, err.Error())
		}
	}
	if want["ack"] {
		step("ack latency, against the floor", func() error {
			floor, err := buildFloor(root, tmp)
			if err != nil {
				return err
			}
			return benchAck(r, bin, floor, phaseDir(tmp, "ack"), 200, sets, rounds)
		})
	}
	if want["propagate"] {
		for _, n := range []int{20, 100} {
			step(fmt.Sprintf("propagation to %d Heroku apps", n), func() error {
				return benchPropagate(r, bin, phaseDir(tmp, fmt.Sprintf("propagate-%d", n)), n, 200*time.Millisecond)
			})
		}
	}
	if want["cpu"] || want["memory"] {
		step("machine time and memory", func() error {
			return benchRuns(r, bin, phaseDir(tmp, "runs"), nRuns, want["cpu"], want["memory"], prof)
		})
	}
	if want["rotationday"] {
		step("rotation day: ten runs at once in one channel, Slack's limits at Slack's pace", func() error {
			return benchRotationDay(r, bin, phaseDir(tmp, "rotationday"))
		})
	}
	if want["scale"] {
		step("scale", func() error { return benchScale(r, bin, phaseDir(tmp, "scale"), 1000, 10000, reps) })
	}
	if want["reminders"] {
		step("reminders", func() error { return benchReminders(r, root, bin, phaseDir(tmp, "reminders"), 1000, max(reps/2, 2)) })
	}
	if want["discovery"] {
		step("discovery over 200 Heroku apps", func() error { return benchDiscovery(r, bin, phaseDir(tmp, "discovery"), 200, 200*time.Millisecond) })
	}
	if want["drift"] {
		step("drift pass over 1,000 secrets on 300 apps", func() error { return benchDrift(r, bin, phaseDir(tmp, "drift"), 1000, 300, max(reps/2, 3)) })
	}
	fmt.Printf("rotabot bench — %s — %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine())
	fmt.Printf("command: go run ./bench %s (took %s; load average before %s, after %s)\n\n",
		strings.Join(os.Args[1:], " "), time.Since(start).Round(time.Second), loadBefore, loadavg())
	r.print()
	if failed {
		fmt.Fprintln(os.Stderr, "bench: some figures could not be taken; bot logs kept in", tmp)
		os.Exit(1)
	}
	if !*keep {
		os.RemoveAll(tmp)
	}
}

// figures reads --only; an unknown figure ends the bench with its name.
func figures(only string) map[string]bool {
	want := map[string]bool{}
	for _, f := range strings.Split(only, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "ack", "propagate", "cpu", "memory", "rotationday", "scale", "reminders", "discovery", "drift":
			want[f] = true
		case "":
		default:
			fmt.Fprintf(os.Stderr, "bench: unknown figure %q (ack, propagate, cpu, memory, rotationday, scale, reminders, discovery, drift)\n", f)
			os.Exit(2)
		}
	}
	return want
}

// loadavg is the 1-minute load average: other work on the machine skews every
// latency figure, so the report says how busy it was.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
