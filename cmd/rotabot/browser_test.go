package main

// Helpers for the browser tests of `rotabot demo -web`: headless Chromium (Debian's
// chromium package; .ci/run installs it) driven with chromedp, acting as a person
// at the keyboard — click a person, type a command, press a button, confirm a
// dialog — and reading what the page shows them.

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
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

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
	shot int
}

// openPage starts headless Chromium (a fresh profile, nothing fetched from the
// network) on the sandbox's page.
func openPage(t *testing.T, ws *webSandbox) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	p := &page{t: t, ctx: ctx, ws: ws}
	// The first action starts the browser, which lives as long as its context:
	// no timeout on this one.
	if err := chromedp.Do(ctx, chromedp.Navigate(ws.URL)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// A laptop's browser window.
	p.run("open the page", chromedp.EmulateViewport(1440, 860), chromedp.WaitVisible(chromedp.CSS(`#people .person.me`)))
	return p
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
	file := filepath.Join(*screenshots, fmt.Sprintf("%s-%02d-%s.png", strings.TrimPrefix(p.t.Name(), "Test"), p.shot, name))
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
