package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on
// every Linux the project runs on; `getconf CLK_TCK` says).
const clockTicks = 100

// buildFloor compiles the ack bench's floor (bench/floor) into dir.
func buildFloor(root, dir string) (string, error) {
	path := filepath.Join(dir, "floor")
	cmd := exec.Command("go", "build", "-o", path, "./bench/floor")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./bench/floor: %v\n%s", err, out)
	}
	return path, nil
}

// buildBot compiles the rotabot binary from the module at root into dir, with
// the pprof tag when profiled (its profiles served on ROTABOT_PPROF).
func buildBot(root, dir string, profiled bool) (string, error) {
	path := filepath.Join(dir, "rotabot")
	args := []string{"build", "-o", path}
	if profiled {
		args = append(args, "-tags", "pprof")
	}
	cmd := exec.Command("go", append(args, "./cmd/rotabot")...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return path, nil
}

// bot is one `rotabot serve` subprocess.
type bot struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// startBot starts `rotabot serve` with exactly env (plus PATH, HOME, TMPDIR and
// GODEBUG, so `GODEBUG=gctrace=1 go run ./bench --keep` traces the bot's garbage
// collector into its log), its output going to logPath.
func startBot(bin string, env map[string]string, logPath string) (*bot, error) {
	return startProcess(bin, []string{"serve"}, env, logPath)
}

// startProcess starts bin with args and exactly env (plus PATH, HOME, TMPDIR and
// GODEBUG), its output going to logPath.
func startProcess(bin string, args []string, env map[string]string, logPath string) (*bot, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GODEBUG"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	b := &bot{cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		b.err = cmd.Wait()
		f.Close()
		close(b.done)
	}()
	return b, nil
}

func (b *bot) pid() int { return b.cmd.Process.Pid }

func (b *bot) running() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits (then SIGKILL after grace).
func (b *bot) stop(grace time.Duration) {
	if b.running() {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(grace):
			_ = b.cmd.Process.Signal(syscall.SIGKILL)
			<-b.done
		}
	}
}

// cpu is the process's CPU time so far (user+sys, all threads), from /proc/PID/stat.
func cpu(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count
	// fields after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unreadable utime/stime")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// memory is a process's resident memory from /proc/PID/status: the whole
// (VmRSS) and its parts — anonymous (RssAnon: heap, stacks, the Go runtime's
// own), file-backed (RssFile: the binary's pages and shared libraries mapped
// in) and shared memory (RssShmem).
type memory struct{ rss, anon, file, shmem int64 }

func memoryOf(pid int) (memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	var m memory
	fields := map[string]*int64{"VmRSS:": &m.rss, "RssAnon:": &m.anon, "RssFile:": &m.file, "RssShmem:": &m.shmem}
	found := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if p, ok := fields[f[0]]; ok {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return memory{}, err
			}
			*p = kb * 1024
			found++
		}
	}
	if found < 3 {
		return memory{}, errors.New("no VmRSS, RssAnon or RssFile in /proc status")
	}
	return m, nil
}

// waitIdle waits until the process used at most one clock tick of CPU in each of
// two 250 ms windows in a row (or max passes), so that start-up work — the first
// expiry pass, resumed runs — is over before a figure is taken.
func waitIdle(pid int, max time.Duration) error {
	deadline := time.Now().Add(max)
	quiet := 0
	last, err := cpu(pid)
	if err != nil {
		return err
	}
	for quiet < 2 {
		if time.Now().After(deadline) {
			return fmt.Errorf("the bot did not go idle within %s", max)
		}
		time.Sleep(250 * time.Millisecond)
		now, err := cpu(pid)
		if err != nil {
			return err
		}
		if now-last <= time.Second/clockTicks {
			quiet++
		} else {
			quiet = 0
		}
		last = now
	}
	return nil
}

// idleRate measures the process's CPU use per second of wall time while nobody
// does anything (pings, timers), over d.
func idleRate(pid int, d time.Duration) (float64, error) {
	c0, err := cpu(pid)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	time.Sleep(d)
	c1, err := cpu(pid)
	if err != nil {
		return 0, err
	}
	return float64(c1-c0) / float64(time.Since(t0)), nil
}
