package egress_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/egress"
)

// A loopback-only client connects to loopback addresses only, after resolving a
// name itself: a name that resolves elsewhere, or a literal address elsewhere,
// is refused before anything is dialled; a name with a loopback answer among
// others is dialled at that answer only.
func TestLoopbackOnlyRefusesAddressesOffTheMachine(t *testing.T) {
	here := newRecorder(t, nil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(here.URL, "http://"))
	answers := map[string][]string{
		"console.raxx.app":  {"203.0.113.7"},
		"console.localhost": {"198.51.100.4"},
		"both.raxx.app":     {"203.0.113.8", "127.0.0.1"},
		"localhost":         {"127.0.0.1"},
	}
	var mu sync.Mutex
	var looked, dialled []string
	d := egress.LoopbackDialer{
		Lookup: func(_ context.Context, host string) ([]net.IPAddr, error) {
			mu.Lock()
			looked = append(looked, host)
			mu.Unlock()
			var out []net.IPAddr
			for _, a := range answers[host] {
				out = append(out, net.IPAddr{IP: net.ParseIP(a)})
			}
			if len(out) == 0 {
				return nil, errors.New("no such host")
			}
			return out, nil
		},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, addr)
			mu.Unlock()
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	c := egress.LoopbackOnly(d, 5*time.Second)
	get := func(raw string) error {
		resp, err := c.Get(raw)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for raw, host := range map[string]string{
		"https://console.raxx.app:" + port + "/api":  "console.raxx.app (203.0.113.7)",
		"https://console.localhost:" + port + "/api": "console.localhost (198.51.100.4)",
		"https://203.0.113.9/api":                    "203.0.113.9",
		"https://[2001:db8::1]:" + port + "/api":     "2001:db8::1",
	} {
		err := get(raw)
		var le *egress.LoopbackError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), "refused to connect to "+host+": only this machine (a loopback address) may be reached") {
			t.Errorf("GET %s: %v", raw, err)
		}
	}
	// A loopback answer among others is the one dialled (the https handshake
	// with a plain-http server then fails, after the dial).
	if err := get("https://both.raxx.app:" + port + "/api"); err == nil || errors.As(err, new(*egress.LoopbackError)) {
		t.Errorf("both.raxx.app: %v", err)
	}
	if err := get("http://localhost:" + port + "/ok"); err != nil {
		t.Errorf("localhost: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(looked, " ") == "" || strings.Contains(strings.Join(looked, " "), "203.0.113.9") {
		t.Errorf("looked up %v", looked)
	}
	if len(dialled) != 2 {
		t.Errorf("dialled %v, want both.raxx.app's and localhost's loopback answer", dialled)
	}
	for _, a := range dialled {
		host, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("dialled %s, off this machine", a)
		}
	}
	if here.count() != 1 {
		t.Errorf("the local server received %d requests, want the one to localhost", here.count())
	}
}

// A loopback-only client takes no proxy from the environment: a proxy on this
// machine would carry the request on to wherever it names.
func TestLoopbackOnlyUsesNoProxy(t *testing.T) {
	tr := egress.TransportOf(egress.LoopbackOnly(egress.LoopbackDialer{}, time.Second))
	if tr == nil || tr.Proxy != nil || tr.DialContext == nil || tr.DialTLSContext != nil {
		t.Fatalf("the transport under a loopback-only client: %+v", tr)
	}
}
