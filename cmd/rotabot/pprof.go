//go:build pprof

package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	rpprof "runtime/pprof"
	"strings"
	"sync"
)

// A binary built with the pprof tag (the bench's --profile builds one) serves
// Go's profiles on ROTABOT_PPROF, a loopback address such as 127.0.0.1:6060, so
// the CPU time and memory of `rotabot serve` can be read while it works:
// /debug/pprof/ as net/http/pprof serves it, and /cpu/start, /cpu/stop for a
// CPU profile of exactly the stretch between the two. The product's binary has
// no such listener: this file is not in it.
func init() {
	addr := os.Getenv("ROTABOT_PPROF")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !(host == "127.0.0.1" || host == "localhost" || strings.HasPrefix(host, "::1")) {
		fmt.Fprintf(os.Stderr, "ROTABOT_PPROF=%q: give a loopback address such as 127.0.0.1:6060\n", addr)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	var mu sync.Mutex
	var buf bytes.Buffer
	mux.HandleFunc("/cpu/start", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		buf.Reset()
		if err := rpprof.StartCPUProfile(&buf); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	mux.HandleFunc("/cpu/stop", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		rpprof.StopCPUProfile()
		_, _ = w.Write(buf.Bytes())
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ROTABOT_PPROF: %v\n", err)
		os.Exit(2)
	}
	go func() { _ = http.Serve(ln, mux) }()
}
