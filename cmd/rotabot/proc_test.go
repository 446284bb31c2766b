package main

// Helpers for tests that run rotabot as real processes — crash tests, several bot
// processes on one database: build the binary once, start `rotabot …` with an
// environment of the test's choosing, kill it without warning (SIGKILL) or stop it
// as Heroku does (SIGTERM), and read what it printed.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/sandbox"
)

var bin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain removes the binary built for process tests, if any was.
func TestMain(m *testing.M) {
	code := m.Run()
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// rotabotBinary builds the rotabot binary once per test run, on the first call
// (tests that need no process pay nothing), with -race when the tests run with it:
// the race detector then watches the processes too, and the build reuses the
// packages the test build compiled.
func rotabotBinary(t testing.TB) string {
	t.Helper()
	bin.once.Do(func() {
		bin.dir, bin.err = os.MkdirTemp("", "rotabot-proc-")
		if bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "rotabot")
		args := []string{"build", "-buildvcs=false", "-o", bin.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		if clockShiftBuild {
			args = append(args, "-tags", "clockshift")
		}
		start := time.Now()
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			bin.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		t.Logf("built %s in %s", bin.path, time.Since(start).Round(time.Millisecond))
	})
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.path
}

// proc is one rotabot process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout sandbox.SyncBuffer
	stderr sandbox.SyncBuffer
	done   chan struct{}
	err    error // what Wait returned; read after done
}

// procEnv is the process's whole environment: env, and from the test's own only
// what finding programs and a temporary folder needs, so that nothing set in the
// shell running the tests (DATABASE_URL, ROTABOT_*) reaches the bot.
func procEnv(env map[string]string) []string {
	var out []string
	// ROTABOT_CLOCK_SHIFT moves the clock of a clockshift build (the tests'
	// second pass in CI): the process runs on the tests' clock.
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "ROTABOT_CLOCK_SHIFT"} {
		if v, ok := os.LookupEnv(k); ok {
			if _, set := env[k]; !set {
				out = append(out, k+"="+v)
			}
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// startProc starts `rotabot args…` with env. When the test ends, a process still
// running is stopped (SIGTERM, then SIGKILL), and a data race it reported fails
// the test.
func startProc(t *testing.T, name string, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(rotabotBinary(t), args...)
	p.cmd.Env = procEnv(env)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		if strings.Contains(p.output(), "WARNING: DATA RACE") {
			t.Errorf("process %s reported a data race:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// pid is the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill ends the process at once, as a crash or an out-of-memory kill would: no
// shutdown, no step finished, no claim released. It waits until it is gone.
func (p *proc) kill() {
	if p.running() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// stop sends SIGTERM (what Heroku sends at a restart), waits up to grace for the
// process to exit, then kills it. It returns the exit code (-1: killed by a signal).
func (p *proc) stop(grace time.Duration) int {
	if p.running() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			p.kill()
		}
	}
	<-p.done
	return p.exitCode()
}

// exitCode is the exit code of an exited process (-1 when a signal ended it).
func (p *proc) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// output is everything the process printed: stdout (its JSON log), then stderr.
func (p *proc) output() string { return p.stdout.String() + p.stderr.String() }
