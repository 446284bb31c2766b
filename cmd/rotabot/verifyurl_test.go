package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
)

// exampleWithVerify is the example routing matrix with its verify check's url
// line replaced by url, and more checks (lines of YAML) after that check.
func exampleWithVerify(t *testing.T, url string, more ...string) string {
	t.Helper()
	data, err := os.ReadFile("../../rotabot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const line, last = "        url: https://console.raxx.app/api/status/builds\n", "        headers_env: {Cookie: CONSOLE_OPS_COOKIE}\n"
	doc := string(data)
	if !strings.Contains(doc, line) || !strings.Contains(doc, last) {
		t.Fatal("the example matrix has no console verify check to change")
	}
	doc = strings.Replace(doc, line, "        url: "+url+"\n", 1)
	if len(more) > 0 {
		doc = strings.Replace(doc, last, last+strings.Join(more, "\n")+"\n", 1)
	}
	return doc
}

// `rotabot check` refuses a verify URL with a user part, at its line, without
// repeating it, and says where a credential goes instead.
func TestCheckRefusesAVerifyURLWithAUserPart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rotabot.yaml")
	doc := exampleWithVerify(t, "https://ops:S3cret@console.raxx.app/api/status/builds")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(doc[:strings.Index(doc, "ops:S3cret")], "\n")
	code, out, errs := runCLI(t, nil, "check", "--config", file)
	want := file + ":" + strconv.Itoa(line) + `: GITHUB_API_READONLY_TOKEN: verify check "console build status": url "https://console.raxx.app/api/status/builds" has a user name or password in it (before the @) — `
	if code != 1 || !strings.HasPrefix(out, want) || !strings.Contains(out, "headers_env") || !strings.Contains(errs, "1 problem in ") {
		t.Fatalf("check: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, "S3cret") || strings.Contains(out+errs, "ops:") {
		t.Errorf("check repeats the user part:\n%s%s", out, errs)
	}
}

// The sandbox's verify checks stay on this machine. Seeded from a routing matrix
// whose checks name real hosts in the spellings a text search missed (an
// upper-case scheme with a user part and a port, an upper-case host with an
// explicit port, a quoted URL with a user name), a whole run is verified on the
// console stand-in: every address the bot's verify client dials is the
// stand-in's, no name is looked up, and the real hosts — which the resolver hook
// points at a listener of this test — receive nothing.
func TestSandboxVerifyChecksStayOnThisMachine(t *testing.T) {
	realHosts, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { realHosts.Close() })
	var reached atomic.Int32
	go func() {
		for {
			c, err := realHosts.Accept()
			if err != nil {
				return
			}
			reached.Add(1)
			c.Close()
		}
	}()
	const elsewhere = "127.0.0.42" // what the hook answers for any name: the listener's stand-in
	var mu sync.Mutex
	var looked, dialled []string
	d := egress.LoopbackDialer{
		Lookup: func(_ context.Context, host string) ([]net.IPAddr, error) {
			mu.Lock()
			looked = append(looked, host)
			mu.Unlock()
			return []net.IPAddr{{IP: net.ParseIP(elsewhere)}}, nil
		},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, addr)
			mu.Unlock()
			if host, _, _ := net.SplitHostPort(addr); host == elsewhere {
				addr = realHosts.Addr().String()
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	doc := exampleWithVerify(t, "HTTPS://ops:S3cret@console.raxx.app:8443/api/status/builds",
		`      - {name: console health, url: "https://CONSOLE.RAXX.APP:443/api/health?deep=1"}`,
		`      - name: status page`,
		`        url: 'Https://deploy-bot@status.raxx.app/api/v2/status.json'`)
	dh, err := demo.NewWorldFor("escaping.yaml", []byte(doc), rotation.WallNow())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{Harness: dh}
	h.Env["ROTABOT_DB"] = filepath.Join(t.TempDir(), "rotabot.db")
	t.Cleanup(func() {
		h.StopBot()
		if !t.Failed() {
			h.assertLeakFree(t, h.World.Slack.AllText(), h.Logs.String(), h.dbBytes(t))
		}
		h.Close()
	})
	must(t, h.StartBot(context.Background(), sandboxBot(d)))
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	text := demo.CardText(h.mustCard(t, "r1", "Waiting for revoke"))
	for _, want := range []string{"console build status ok", "console health ok", "status page ok"} {
		if !strings.Contains(text, want) {
			t.Errorf("the card does not say %q:\n%s", want, text)
		}
	}
	for _, route := range []string{"GET /api/status/builds", "GET /api/health", "GET /api/v2/status.json"} {
		if h.Console.Count(route, true) == 0 {
			t.Errorf("the console stand-in did not answer %s", route)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	console := strings.TrimPrefix(h.Console.URL, "http://")
	if len(dialled) == 0 {
		t.Error("the verify client dialled nothing")
	}
	for _, a := range dialled {
		if a != console {
			t.Errorf("the verify client dialled %s, not the stand-in at %s", a, console)
		}
	}
	if len(looked) > 0 || reached.Load() > 0 {
		t.Errorf("names looked up: %v; connections to the real hosts: %d", looked, reached.Load())
	}
}

// The bot of rotabot demo --web verifies through a client that reaches this
// machine only: a check that named an address elsewhere is refused before
// anything is sent.
func TestDemoWebBotVerifiesOnThisMachineOnly(t *testing.T) {
	ws := startWeb(t)
	s, ok := ws.h.Bot.(*server)
	if !ok {
		t.Fatalf("the sandbox's bot is a %T", ws.h.Bot)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.adapters.httpChk.CheckHTTP(ctx, rotation.VerifyCheck{Name: "escaped", URL: "https://203.0.113.7/api/status", ExpectStatus: 200})
	var le *egress.LoopbackError
	if !errors.As(err, &le) || le.Host != "203.0.113.7" {
		t.Fatalf("a verify check to 203.0.113.7: %v", err)
	}
}
