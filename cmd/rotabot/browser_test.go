package main

// Helpers for the browser tests of `rotabot demo -web`: headless Chromium (Debian's
// chromium package; .ci/run installs it) driven with chromedp, acting as a person
// at the keyboard — click a person, type a command, press a button, confirm a
// dialog — and reading what the page shows them, in the window sizes of a small
// laptop (1280×800) and an old screen (1024×768). The browser's console is
// watched through the DevTools protocol: an error, an exception or a failed
// request fails the test.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// size is a browser window the page is tried in.
type size struct{ w, h int64 }

func (s size) String() string { return fmt.Sprintf("%dx%d", s.w, s.h) }

// sizes are the windows every browser test runs in: a small laptop's and an
// old screen's.
var sizes = []size{{1280, 800}, {1024, 768}}

// eachSize runs test once per window size, as a subtest named after it.
func eachSize(t *testing.T, test func(t *testing.T, sz size)) {
	// Each size has its own stand-ins, bot and browser: they run beside the
	// package's other long tests, which wait on timers more than they use the
	// CPU.
	t.Parallel()
	for _, sz := range sizes {
		t.Run(sz.String(), func(t *testing.T) {
			t.Parallel()
			test(t, sz)
		})
	}
}

var screenshots = flag.String("screenshots", "", "save the browser tests' main moments as PNG files in this folder")

// chromium finds the browser: Debian's package, or another Chromium or Chrome.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium is not installed: apt-get install -y chromium (.ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipping the browser tests")
	return ""
}

// page is one browser tab on the sandbox page.
type page struct {
	t    *testing.T
	ctx  context.Context
	ws   *webSandbox
	size size
	shot int

	mu       sync.Mutex
	problems []string // what the console showed: errors, exceptions, failed requests
}

// openPage starts headless Chromium (a fresh profile, nothing fetched from the
// network) on the sandbox's page, in a window of sz, and checks at the end of
// the test that the browser's console showed no error and no failed request.
func openPage(t *testing.T, ws *webSandbox, sz size) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(sz.w), int(sz.h)),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	p := &page{t: t, ctx: ctx, ws: ws, size: sz}
	// Listening starts the browser, which lives as long as its context.
	if err := chromedp.Listen(ctx, p.console); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.problems) > 0 {
			t.Errorf("the browser's console at %s:\n%s", sz, strings.Join(p.problems, "\n"))
		}
	})
	p.run("open the page", chromedp.EmulateViewport(sz.w, sz.h), chromedp.Navigate(ws.URL), chromedp.WaitVisible(chromedp.CSS(`#people .person.me`)))
	return p
}

// console records what the browser's console would show in red: an error
// logged, an exception, a request that failed or was answered 4xx or 5xx. A
// request the page itself cancels (the event stream of a person it leaves) is
// no failure.
func (p *page) console(ev any) {
	var problem string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		problem = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			problem += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			problem = "console.error: " + strings.Join(args, " ")
		}
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError {
			problem = "console: " + e.Entry.Text + " " + e.Entry.URL
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			problem = fmt.Sprintf("request answered %d: %s", e.Response.Status, e.Response.URL)
		}
	case *network.EventLoadingFailed:
		if !e.Canceled {
			problem = "request failed: " + e.ErrorText
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

// run runs browser actions, failing the test with what was being done.
func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.snap("failed")
		p.t.Fatalf("%s: %v\nthe page shows:\n%s", what, err, p.text("body"))
	}
}

// text is what the person reads in the element (sel, a CSS selector).
func (p *page) text(sel string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel)))
	return s
}

// see waits until the element's text holds every one of want.
func (p *page) see(sel string, want ...string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := p.text(sel)
		missing := ""
		for _, w := range want {
			if !strings.Contains(got, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			p.snap("failed")
			p.t.Fatalf("%s does not show %q; it shows:\n%s", sel, missing, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answer waits until the newest message in the open channel holding every one of
// want is in the person's view — all of it when it fits in the message list,
// else its top — and not covered by anything: the answer to what they just
// typed or pressed.
func (p *page) answer(want ...string) {
	p.t.Helper()
	w, _ := json.Marshal(want)
	p.inView(fmt.Sprintf("the answer %s", w), fmt.Sprintf(`const want = %s;
  const msgs = [...document.querySelectorAll('#messages > .msg')].filter(m => want.every(w => m.innerText.includes(w)));
  const m = msgs[msgs.length - 1];`, w))
}

// inView waits until the element that find (JavaScript that declares m) picks
// is in the message list's view — all of it when it fits, else its top — and
// not covered by anything.
func (p *page) inView(what, find string) {
	p.t.Helper()
	p.waitJS(what+" to be in view", `(() => {
  `+find+`
  if (!m) return 'it is not there';
  const box = document.querySelector('#messages').getBoundingClientRect();
  const top = Math.max(box.top, 0), bottom = Math.min(box.bottom, window.innerHeight);
  const r = m.getBoundingClientRect();
  const fits = r.height <= bottom - top;
  if (r.top < top - 1 || r.top >= bottom || (fits && r.bottom > bottom + 1))
    return 'out of view: it spans ' + Math.round(r.top) + '–' + Math.round(r.bottom) + ' px, the message list shows ' + Math.round(top) + '–' + Math.round(bottom);
  const x = r.left + Math.min(r.width / 2, 60), y = r.top + Math.min(r.height, bottom - r.top) / 2;
  const at = document.elementFromPoint(x, y);
  if (!at || !m.contains(at)) return 'covered by ' + (at ? at.outerHTML.slice(0, 80) : 'nothing');
  return '';
})()`)
}

// waitJS waits until js (an expression) gives "", failing the test with what
// it last gave.
func (p *page) waitJS(what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		why, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		cancel()
		if err == nil && why == "" {
			return
		}
		if time.Now().After(deadline) {
			p.snap("failed")
			p.t.Fatalf("at %s, waiting for %s: %s %v\nthe page shows:\n%s", p.size, what, why, err, p.text("#messages"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// notSee checks the element's text holds none of unwanted.
func (p *page) notSee(sel string, unwanted ...string) {
	p.t.Helper()
	got := p.text(sel)
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			p.t.Fatalf("%s shows %q, which this person must not see:\n%s", sel, u, got)
		}
	}
}

// as switches to a person, by clicking their name.
func (p *page) as(name string) {
	p.t.Helper()
	p.run("switch to "+name, chromedp.Click(xp(`//div[@id="people"]/button[starts-with(normalize-space(.), %q)]`, name)))
	p.see("#people .person.me", name)
}

// open opens a channel ("ops") or the bot's page ("rotabot"), then its tab.
func (p *page) open(where string) {
	p.t.Helper()
	p.run("open "+where, chromedp.Click(xp(`//nav[@id="nav"]/a[contains(normalize-space(.), %q)]`, where)))
}

// command types a slash command in the message box and presses Enter.
func (p *page) command(text string) {
	p.t.Helper()
	p.run("type "+text, chromedp.SendKeys(chromedp.CSS(`#box`), text+kb.Enter))
}

// press clicks the newest button labelled label in the open channel.
func (p *page) press(label string) {
	p.t.Helper()
	p.run("press "+label, chromedp.Click(xp(`(//div[@id="messages"]//button[contains(@class,"bk-button") and normalize-space(.)=%q])[last()]`, label)))
}

// confirm answers the confirm dialog with its confirm button, after checking it
// says want.
func (p *page) confirm(want string) {
	p.t.Helper()
	p.run("see the confirm dialog", chromedp.WaitVisible(chromedp.CSS(`#confirm .yes`)))
	p.see("#confirm", want)
	p.run("confirm", chromedp.Click(chromedp.CSS(`#confirm .yes`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm-layer`)))
}

// tab opens a tab of the outside-world panel.
func (p *page) tab(name string) {
	p.t.Helper()
	p.run("open the "+name+" tab", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#tabs button[data-tab=%q]`, name))))
}

// fault sets a fault switch in the Faults tab ("" makes the target healthy).
func (p *page) fault(target, kind string) {
	p.t.Helper()
	p.tab("faults")
	sel := fmt.Sprintf(`select[data-fault=%q]`, target)
	p.run("set the fault of "+target,
		chromedp.SetValue(chromedp.CSS(sel), kind),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event("change", {bubbles: true}))`, sel)))
	// The row turns red once the server says the fault is on.
	p.until("the fault of "+target+" to be "+kind, fmt.Sprintf(`(document.querySelector(%q)||{}).className === %q`,
		fmt.Sprintf(`#live tr:has(%s)`, sel), map[bool]string{true: "on", false: ""}[kind != ""]))
}

// until waits for a JavaScript condition on the page.
func (p *page) until(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.snap("failed")
			p.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mint makes a token in the GitHub panel and returns it, as shown once.
func (p *page) mint(secret, kind, variant string) string {
	p.t.Helper()
	p.tab("github")
	p.run("mint a token",
		chromedp.SetValue(chromedp.CSS(`#mint-secret`), secret),
		chromedp.SetValue(chromedp.CSS(`#mint-kind`), kind),
		chromedp.SetValue(chromedp.CSS(`#mint-variant`), variant),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("minted-token") && document.getElementById("minted-token").remove()`),
		chromedp.Click(chromedp.CSS(`#mint button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#minted-token`)),
	)
	token := strings.TrimSpace(p.text("#minted-token"))
	p.ws.h.Track(token)
	return token
}

// snap saves a screenshot when -screenshots names a folder.
func (p *page) snap(name string) {
	if *screenshots == "" {
		return
	}
	p.shot++
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	test := strings.ReplaceAll(strings.TrimPrefix(p.t.Name(), "Test"), "/", "-")
	file := filepath.Join(*screenshots, fmt.Sprintf("%s-%02d-%s.png", test, p.shot, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
	}
}

// xp builds an XPath with quoted arguments.
func xp(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// pageTexts is everything the page's server gave each person (their state) and
// the page as last drawn, for the leak check.
func (p *page) pageTexts() []string {
	var out []string
	for _, person := range p.ws.h.People {
		resp, err := http.Get(p.ws.URL + "api/state?user=" + person.ID)
		if err != nil {
			p.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !json.Valid(b) {
			p.t.Fatalf("the state of %s is not JSON: %s", person.Name, b)
		}
		out = append(out, string(b))
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`html`)))
	if err != nil {
		p.t.Fatalf("read the page: %v", err)
	}
	return append(out, html)
}

// toastClearOfTheBox waits for the toast a gesture shows and checks it covers
// neither the message box nor Send.
func (p *page) toastClearOfTheBox() {
	p.t.Helper()
	p.waitJS("the toast, clear of the message box", `(() => {
  const t = document.querySelector('#toast');
  if (!t || t.hidden) return 'no toast';
  const a = t.getBoundingClientRect(), c = document.querySelector('#composer').getBoundingClientRect();
  if (a.left < c.right && c.left < a.right && a.top < c.bottom && c.top < a.bottom) return 'the toast overlaps the message box';
  for (const id of ['send', 'box']) {
    const r = document.getElementById(id).getBoundingClientRect();
    if (document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) !== document.getElementById(id)) return '#' + id + ' is covered';
  }
  return '';
})()`)
	p.snap("toast")
}
