package egress_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/egress"
)

// recorder is a host that keeps every request it receives.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Clone(req.Context()))
		r.mu.Unlock()
		if h != nil {
			h(w, req)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func mustParse(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestBase(t *testing.T) {
	for _, ok := range []string{"https://api.github.com", "https://api.github.com/", "http://127.0.0.1:8080/api/", "http://localhost:1/", "http://[::1]:9/", "https://ghe.example/api/v3"} {
		if _, err := egress.Base("X_URL", ok); err != nil {
			t.Errorf("Base(%q) = %v", ok, err)
		}
	}
	for raw, want := range map[string]string{
		"http://api.github.com":         "X_URL uses plain http to api.github.com: use https (plain http is only for a loopback host such as 127.0.0.1)",
		"http://10.0.0.1/":              "X_URL uses plain http to 10.0.0.1: use https (plain http is only for a loopback host such as 127.0.0.1)",
		"http://127.0.0.1.evil.example": "X_URL uses plain http to 127.0.0.1.evil.example: use https (plain http is only for a loopback host such as 127.0.0.1)",
		"ftp://x":                       "X_URL is not an http(s) URL",
		"api.github.com":                "X_URL is not an http(s) URL",
		"https://u:p@api.github.com":    "X_URL holds a user name or password",
	} {
		_, err := egress.Base("X_URL", raw)
		if err == nil || err.Error() != want {
			t.Errorf("Base(%q) = %v, want %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "u:p") {
			t.Errorf("the error repeats a password: %v", err)
		}
	}
}

func TestLoopback(t *testing.T) {
	for h, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true, "localhost": true, "LOCALHOST": true,
		"api.github.com": false, "10.0.0.1": false, "0.0.0.0": false, "127.0.0.1.nip.io": false, "": false,
		// A name under .localhost is looked up like any other: its answer may be anywhere.
		"console.localhost": false, "a.b.LOCALHOST": false, "localhost.": false, "localhost.evil.example": false,
	} {
		if got := egress.Loopback(h); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", h, got, want)
		}
	}
}

// A bound client follows a redirect within its origin and refuses one that changes
// scheme, host or port, before the other host receives anything; the error names
// both origins.
func TestBindRefusesRedirectsOffOrigin(t *testing.T) {
	other := newRecorder(t, nil)
	api := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/collect", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, "/there", http.StatusFound)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	c := egress.Bind(mustParse(t, api.URL), nil, 5*time.Second)
	resp, err := c.Get(api.URL + "/here")
	if err != nil {
		t.Fatalf("a redirect within the origin: %v", err)
	}
	resp.Body.Close()

	req, _ := http.NewRequest(http.MethodPost, api.URL+"/away", strings.NewReader("the body"))
	req.Header.Set("Authorization", "Bearer value")
	_, err = c.Do(req)
	var re *egress.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RedirectError", err)
	}
	from, to, ok := egress.Refusal(err)
	if !ok || from.String() != strings.TrimSuffix(api.URL, "/") || to.String() != other.URL {
		t.Errorf("Refusal = %s → %s, %v", from, to, ok)
	}
	if other.count() != 0 {
		t.Errorf("the other host received %d requests", other.count())
	}
	if strings.Contains(re.Error(), "value") || strings.Contains(re.Error(), "collect") {
		t.Errorf("the refusal says more than hosts: %v", re)
	}

	// A request built for another origin (a URL someone smuggled in) never leaves.
	_, err = c.Get(other.URL + "/direct")
	var he *egress.HostError
	if !errors.As(err, &he) || other.count() != 0 {
		t.Fatalf("err = %v, other received %d", err, other.count())
	}
}

// Bind keeps the caller's transport underneath, so whatever adds the credential
// above it (go-github, heroku-go) is checked on every request.
func TestBindWrapsTheCallersTransport(t *testing.T) {
	api := newRecorder(t, nil)
	seen := 0
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		seen++
		return http.DefaultTransport.RoundTrip(r)
	})
	c := egress.Bind(mustParse(t, api.URL), &http.Client{Transport: rt, Timeout: time.Second}, time.Minute)
	resp, err := c.Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen != 1 {
		t.Errorf("the caller's transport saw %d requests", seen)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOpenSpeaksHTTPSOnly(t *testing.T) {
	c := egress.Open(nil, time.Second)
	_, err := c.Get("http://example.com/status")
	if !errors.Is(err, egress.ErrInsecure) {
		t.Fatalf("err = %v, want ErrInsecure", err)
	}
	local := newRecorder(t, nil)
	resp, err := c.Get(local.URL)
	if err != nil {
		t.Fatalf("loopback: %v", err)
	}
	resp.Body.Close()
}

func TestWebsocketProxy(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://wss-primary.slack.com/link": true, "http://127.0.0.1:9/link": true, "http://wss-primary.slack.com/link": false,
	} {
		_, err := egress.WebsocketProxy(&http.Request{URL: mustParse(t, raw)})
		if (err == nil) != ok {
			t.Errorf("WebsocketProxy(%s) = %v", raw, err)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"/user", "/repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1", "/repos/o/r/contents/a%20b", "/search/code?q=a:b/c"} {
		if err := egress.CheckPath(ok); err != nil {
			t.Errorf("CheckPath(%q) = %v", ok, err)
		}
	}
	for ref, want := range map[string]string{
		"":                     "it is empty",
		"repos/x":              "it does not start with /",
		"https://evil/x":       "it does not start with /",
		"//evil.example/x":     "it starts with //, which names another host",
		"/https://evil/x":      "it starts like a URL (https:…), not a path",
		"/https:evil/x":        "it starts like a URL (https:…), not a path",
		"/%2F%2Fevil/x":        `it holds an encoded / or \ (%2F, %5C)`,
		"/%2fevil":             `it holds an encoded / or \ (%2F, %5C)`,
		"/%68ttps%3A//evil":    `it holds an encoded / or \ (%2F, %5C)`,
		"/%68ttps%3Aevil":      "it starts like a URL, not a path",
		"/\\evil/x":            `it holds a backslash (\), which some clients read as /`,
		"/a/%5Cevil":           `it holds an encoded / or \ (%2F, %5C)`,
		"/repos/../x":          "it holds a . or .. segment, which climbs out of the API's path",
		"/repos/%2e%2E/x":      "it holds a . or .. segment, which climbs out of the API's path",
		"/repos/.%2e":          "it holds a . or .. segment, which climbs out of the API's path",
		"/repos/./x":           "it holds a . or .. segment, which climbs out of the API's path",
		"/repos/x#y":           "it holds a fragment (#…)",
		"/repos/x y":           "it holds spaces or control characters",
		"/repos/%0ax":          "it holds an encoded control character",
		"/repos/%zz":           "it holds a malformed %-escape",
		"/repos/x?q=1\n/other": "it holds spaces or control characters",
	} {
		err := egress.CheckPath(ref)
		if err == nil || err.Error() != want {
			t.Errorf("CheckPath(%q) = %v, want %q", ref, err, want)
		}
	}
}

func TestUnder(t *testing.T) {
	for _, tc := range []struct{ base, ref, want string }{
		{"https://api.github.com", "/user", "https://api.github.com/user"},
		{"https://api.github.com/", "/repos/o/r/actions/runs?per_page=1", "https://api.github.com/repos/o/r/actions/runs?per_page=1"},
		{"https://ghe.example/api/v3/", "/repos/o/r", "https://ghe.example/api/v3/repos/o/r"},
		{"https://ghe.example/api/v3", "/repos/o/a%20b", "https://ghe.example/api/v3/repos/o/a%20b"},
	} {
		u, err := egress.Under(mustParse(t, tc.base), tc.ref)
		if err != nil || u.String() != tc.want {
			t.Errorf("Under(%s, %s) = %v, %v; want %s", tc.base, tc.ref, u, err, tc.want)
		}
	}
	if _, err := egress.Under(mustParse(t, "https://ghe.example/api/v3/"), "/../../user"); err == nil {
		t.Error("a path climbing out of /api/v3 was resolved")
	}
}

// Every request of a bound or open client has a deadline, the caller's Timeout
// when its client had one: a server that never answers, or stops in the middle
// of its answer's body, ends in a timeout error, not a wait for ever. The
// deadline travels in the request's context: the client's own Timeout is zero,
// so net/http starts no goroutine and timer of its own for each request.
func TestEveryRequestHasADeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("the first part"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	base := mustParse(t, srv.URL)
	for name, c := range map[string]*http.Client{
		"bound":                 egress.Bind(base, nil, 200*time.Millisecond),
		"bound, caller's limit": egress.Bind(base, &http.Client{Timeout: 200 * time.Millisecond}, time.Hour),
		"open":                  egress.Open(nil, 200*time.Millisecond),
	} {
		t.Run(name, func(t *testing.T) {
			if c.Timeout != 0 {
				t.Errorf("the client's Timeout is %s: net/http would cancel each request the old way", c.Timeout)
			}
			_, err := c.Get(srv.URL + "/headers")
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("no answer: err = %v, want a timeout", err)
			}
			resp, err := c.Get(srv.URL + "/body")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("a body that stops: err = %v, want the deadline", err)
			}
		})
	}
	// With no limit at all (a log stream), nothing is added.
	if c := egress.Open(nil, 0); c.Timeout != 0 {
		t.Errorf("Timeout = %s", c.Timeout)
	}
}

// A burst of calls to one service at once keeps its connections: the next
// burst reuses them, where net/http's default keeps two a host and opens a new
// connection (a TLS handshake, at a real service) for every call past them.
func TestABurstKeepsItsConnections(t *testing.T) {
	const burst = 8
	var (
		mu    sync.Mutex
		conns int
	)
	arrived := make(chan struct{}, burst)
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "{}")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	base, _ := url.Parse(srv.URL + "/")
	c := egress.Bind(base, nil, 5*time.Second)
	for round := range 3 {
		var wg sync.WaitGroup
		for range burst {
			wg.Go(func() {
				resp, err := c.Get(srv.URL + "/x")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		for range burst { // all of them at once, each on a connection
			<-arrived
		}
		for range burst {
			release <- struct{}{}
		}
		wg.Wait()
		mu.Lock()
		n := conns
		mu.Unlock()
		if n != burst {
			t.Fatalf("after burst %d of %d calls at once, %d connections opened; want %d, the first burst's, kept", round+1, burst, n, burst)
		}
	}
}
