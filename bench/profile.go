package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiler reads `rotabot serve`'s Go profiles while a phase runs, when the
// bench was given --profile DIR: the bot is then built with the pprof tag
// (cmd/rotabot/pprof.go), which serves them on ROTABOT_PPROF, a loopback port.
// Read them with `go tool pprof -top DIR/runs.cpu.pprof`.
type profiler struct {
	dir  string
	addr string
}

// newProfiler returns nil when dir is "" (no profiles).
func newProfiler(dir string) (*profiler, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &profiler{dir: dir}, nil
}

// attach gives the bot of w a free loopback port to serve its profiles on.
func (p *profiler) attach(w *world) error {
	if p == nil {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p.addr = ln.Addr().String()
	ln.Close()
	w.env["ROTABOT_PPROF"] = p.addr
	return nil
}

// cpuStart starts the bot's CPU profile; the function it returns stops it and
// saves it as name.cpu.pprof (once, however often it is called).
func (p *profiler) cpuStart(name string) func() {
	if p == nil {
		return func() {}
	}
	if err := p.save("/cpu/start", "", 10*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "bench: CPU profile:", err)
		return func() {}
	}
	return sync.OnceFunc(func() {
		if err := p.save("/cpu/stop", name+".cpu.pprof", 30*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "bench: CPU profile:", err)
		}
	})
}

// snapshot saves the bot's heap profile and goroutine counts now, as
// name.heap.pprof and name.goroutines.txt.
func (p *profiler) snapshot(name string) {
	if p == nil {
		return
	}
	for path, file := range map[string]string{"/debug/pprof/heap": name + ".heap.pprof", "/debug/pprof/goroutine?debug=1": name + ".goroutines.txt"} {
		if err := p.save(path, file, 30*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile:", err)
		}
	}
}

func (p *profiler) save(path, file string, timeout time.Duration) error {
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get("http://" + p.addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", path, resp.Status)
	}
	if file == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: wrote", filepath.Join(p.dir, file))
	return f.Close()
}
