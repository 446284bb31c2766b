package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/raxx-app/rotabot/sandbox/web"
)

// startWeb starts `rotabot demo -web` as the command does, on a free port.
func startWeb(t *testing.T) *webSandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ws, err := startWebSandbox(ctx, "127.0.0.1:0", "", rotation.WallNow())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		ws.Close()
	})
	return ws
}

// assertWebLeakFree greps everything the bot and the page wrote for every token
// and credential of the sandbox.
func assertWebLeakFree(t *testing.T, p *page) {
	t.Helper()
	texts := append(p.pageTexts(), p.ws.h.World.Slack.AllText(), p.ws.h.Logs.String())
	if l := demo.Leaks(strings.Join(texts, "\n"), p.ws.h.Secrets()); l != "" {
		t.Fatalf("leaked: %s", l)
	}
}

// A whole rotation, typed and clicked in the browser by alice, bob, olga (the
// shell-rc operator) and mallory (not in ops), each seeing only what Slack would
// show them, and the answer to each gesture in view, at both window sizes.
func TestWebWholeRotation(t *testing.T) { eachSize(t, webWholeRotation) }

func webWholeRotation(t *testing.T, sz size) {
	ws := startWeb(t)
	p := openPage(t, ws, sz)
	const secret = "GITHUB_API_READONLY_TOKEN"
	oldFP := web.Fingerprint(ws.h.OldToken)

	p.as("alice")
	p.open("ops")
	p.see("#messages", "GITHUB_API_READONLY_TOKEN expires in 4 days") // the start-up reminder
	p.command("/rotate " + secret)
	p.answer("Rotation r1 · "+secret, "Status: Waiting for token", "Submit new token")
	p.snap("card-waiting-for-token")

	// A token made while signed in as someone else is refused under the input.
	wrong := p.mint(secret, "fine-grained", web.VariantWrongUser)
	p.press("Submit new token")
	p.run("open the token form", chromedp.WaitVisible(chromedp.CSS(`#modal input`)))
	p.see("#modal", "Submit new token", "New token for "+secret)
	p.run("paste the wrong token", chromedp.SendKeys(chromedp.CSS(`#modal input`), wrong), chromedp.Click(chromedp.CSS(`#modal .submit`)))
	p.see("#modal .bk-error", "This token belongs to someone-else, not raxx-bot")
	p.snap("modal-error-under-the-input")

	// The right one passes; the modal closes and the card asks for approval.
	right := p.mint(secret, "fine-grained", web.VariantRight)
	p.snap("github-panel-minted-token")
	p.run("paste the right token",
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#modal input").value = ""`),
		chromedp.SendKeys(chromedp.CSS(`#modal input`), right),
		chromedp.Click(chromedp.CSS(`#modal .submit`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#modal-layer`)))
	p.run("hide the token", chromedp.Click(chromedp.CSS(`#forget`)), chromedp.WaitNotPresent(chromedp.CSS(`#minted-token`)))
	newFP := web.Fingerprint(right)
	p.answer("Status: Waiting for approval", "new "+newFP, "Approve")

	// alice may not approve her own run: the refusal is hers alone.
	p.press("Approve")
	p.confirm("Approve this rotation?")
	p.answer("Only visible to you", "You started this run, so you may not approve it")
	p.snap("self-approval-refused")

	// mallory sees the card but not alice's answer; her own refusal says why.
	p.as("mallory")
	p.see("#messages", "Status: Waiting for approval")
	p.notSee("#messages", "You started this run")
	p.press("Approve")
	p.confirm("Approve this rotation?")
	p.answer("Only members of the ops user group @ops may do this")

	// bob sees neither refusal, and approves.
	p.as("bob")
	p.see("#messages", "Status: Waiting for approval")
	p.notSee("#messages", "You started this run", "Only members of the ops user group")
	p.press("Approve")
	p.confirm("Approve this rotation?")
	p.answer("Status: Waiting for revoke", "shell rc of @olga — DM sent, waiting for Done", "Revoke old token now")
	p.tab("heroku")
	p.see("#panel", newFP)
	p.snap("card-waiting-for-revoke")

	// The step details open under the card as a thread.
	p.run("open the card's thread", chromedp.Click(`(//div[@id="messages"]//button[@data-thread])[last()]`))
	p.see("#messages .thread", "Infisical")
	p.inView("the card's thread", `const m = document.querySelector('#messages .thread');`)

	// olga has a DM with a Done button; only she sees it.
	p.open("rotabot")
	p.notSee("#messages", "was rotated")
	p.as("olga")
	p.see("#nav", "rotabot")
	p.open("rotabot")
	p.run("open the Messages tab", chromedp.Click(chromedp.CSS(`#home-tabs button[data-apptab=messages]`)))
	p.see("#messages", secret+" was rotated", "new token "+newFP, "infisical secrets get "+secret, "Done")
	p.snap("olga-dm-with-done")
	p.press("Done")
	p.answer("Thanks — recorded that your shell rc has the new value")
	p.open("ops")
	p.see("#messages", "shell rc of @olga — confirmed by @olga")

	// bob revokes; the run completes and the audit trail has its record.
	p.as("bob")
	p.open("ops")
	p.press("Revoke old token now")
	p.confirm("Revoke the old token?")
	p.answer("Status: Completed", "rollback is impossible")
	p.notSee("#messages", "Revoke old token now")
	p.snap("card-completed")
	p.open("audit")
	p.see("#messages", "secret.rotate.completed", "@alice", "@bob", oldFP, newFP)

	// The outside world, by fingerprint: Heroku, Infisical, GitHub.
	p.tab("heroku")
	p.see("#panel", "raxx-console-prod", "raxx-console-staging", newFP)
	// The account's API keys too, by fingerprint: the example's Heroku key, and rotabot's.
	p.see("#panel", "API keys", web.Fingerprint(ws.h.Current["HEROKU_DEPLOY_KEY"]), "rotabot's HEROKU_API_KEY")
	p.tab("infisical")
	p.see("#panel", "/MooseQuest/github/GITHUB_API_READONLY_TOKEN", "v1 "+oldFP, "v2 "+newFP)
	p.notSee("#panel", "/rotabot/pending")
	p.tab("github")
	p.see("#live", oldFP, "revoked", "GH_API_READONLY_TOKEN")
	// Every GitHub secret by scope, with what it holds (by fingerprint) and
	// its date; an organisation's with who may read it (one a team set by
	// hand, as rotabot never creates one).
	g := ws.h.World.GitHub
	g.SetGHSecret(sbgithub.GHOrg, "raxx-app", "GH_API_READONLY_TOKEN", right, "selected", "raxx-app/TradeMasterAPI")
	g.SetGHSecret(sbgithub.GHDependabotOrg, "raxx-app", "GH_API_READONLY_TOKEN", right, "private")
	for _, c := range []struct {
		scope, title, target string
		gs                   sbgithub.GHScope
		more                 []string
	}{
		{"actions", "Repository Actions secrets", "raxx-app/TradeMasterAPI", sbgithub.GHActions, nil},
		{"environment", "Environment secrets", "raxx-app/TradeMasterAPI/production", sbgithub.GHEnvironment, nil},
		{"org", "Organisation Actions secrets", "raxx-app", sbgithub.GHOrg, []string{"selected: raxx-app/TradeMasterAPI"}},
		{"dependabot", "Dependabot secrets of a repository", "raxx-app/TradeMasterAPI", sbgithub.GHDependabot, nil},
		{"dependabot_org", "Dependabot secrets of an organisation", "raxx-app", sbgithub.GHDependabotOrg, []string{"private"}},
	} {
		_, at, _, _, ok := g.GHSecret(c.gs, c.target, "GH_API_READONLY_TOKEN")
		if !ok {
			t.Fatalf("no %s secret at %s", c.scope, c.target)
		}
		p.see(`#live [data-scope="`+c.scope+`"]`, append([]string{c.title, c.target + " · GH_API_READONLY_TOKEN", newFP,
			"updated " + at.UTC().Format("2006-01-02 15:04:05 UTC")}, c.more...)...)
	}
	p.snap("outside-world-after-the-run")
	if !ws.h.World.GitHub.Revoked(ws.h.OldToken) {
		t.Error("the old token was not revoked at GitHub")
	}
	for dest, v := range destinations(ws, secret) {
		if v != right {
			t.Errorf("%s holds %s, want the new token %s", dest, rotation.Fingerprint(v), newFP)
		}
	}

	// App Home shows every secret's expiry; alice sees hers.
	p.as("alice")
	p.open("rotabot")
	p.run("open App Home", chromedp.Click(chromedp.CSS(`#home-tabs button[data-apptab=home]`)))
	p.see("#home", secret, "GITHUB_API_DISPATCH_TOKEN")
	p.snap("app-home")
	assertWebLeakFree(t, p)
}

// destinations reads what every destination of secret holds now.
func destinations(ws *webSandbox, secret string) map[string]string {
	h := &harness{Harness: ws.h}
	return h.destValues(secret)
}

// A rollback rehearsed after a fault: one Heroku app is down while the new token
// propagates, the card says so, the bot is restarted with one click and comes
// back to the run where it stood, the app comes back, and bob rolls the run back
// from the browser; every destination holds the old token again, and the card
// says the step failed, without offering a Retry that is gone. At both sizes.
func TestWebRollbackAfterAFault(t *testing.T) { eachSize(t, webRollbackAfterAFault) }

func webRollbackAfterAFault(t *testing.T, sz size) {
	ws := startWeb(t)
	p := openPage(t, ws, sz)
	const secret = "GITHUB_API_READONLY_TOKEN"
	oldFP := web.Fingerprint(ws.h.OldToken)

	p.as("alice")
	p.command("/rotate " + secret)
	p.answer("Status: Waiting for token")
	token := p.mint(secret, "fine-grained", web.VariantRight)
	p.press("Submit new token")
	// GitHub is slow to answer: the bot acks the form with "checking…" and then
	// updates it (views.update) with the result, in place.
	ws.h.World.GitHub.Fail("GET /user", &sandbox.Fault{Latency: 2700 * time.Millisecond, Times: 1})
	p.run("paste the token", chromedp.WaitVisible(chromedp.CSS(`#modal input`)), chromedp.SendKeys(chromedp.CSS(`#modal input`), token+kb.Enter))
	p.see("#modal", "Checking the token with GitHub")
	p.see("#modal", "The token is valid and held as the pending value")
	p.snap("modal-updated-in-place")
	p.run("close the form", chromedp.Click(chromedp.CSS(`#modal .cancel`)), chromedp.WaitNotVisible(chromedp.CSS(`#modal-layer`)))
	p.run("hide the token", chromedp.Click(chromedp.CSS(`#forget`)))
	p.see("#messages", "Status: Waiting for approval")

	// raxx-console-staging goes down.
	p.tab("faults")
	p.fault("heroku/raxx-console-staging", "down")
	p.snap("fault-heroku-app-down")

	p.as("bob")
	p.press("Approve")
	p.confirm("Approve this rotation?")
	p.answer("Status: Failed", "Heroku raxx-console-staging — failed", "Retry", "Rollback")
	p.snap("card-failed-on-a-down-app")

	// One click restarts the bot; it comes back and the run is where it was.
	connects := ws.h.World.Slack.Connects()
	p.run("restart the bot", chromedp.Click(chromedp.CSS(`#restart`)))
	p.toastClearOfTheBox()
	must(t, demo.WaitFor("the bot to reconnect", func() bool { return ws.h.World.Slack.Connects() > connects }))
	p.see("#bot-state", "running")
	p.see("#live", "restarted: open runs resume where they stopped")
	p.see("#messages", "Status: Failed", "Rollback")

	// staging is back; the rollback restores every destination that was or may
	// have been written.
	p.fault("heroku/raxx-console-staging", "")
	p.press("Rollback")
	p.confirm("Roll back?")
	p.answer("Status: Rolled back", "5. Propagate — failed", "Rolled back instead of retried", "8. Audit — done")
	p.notSee("#messages", "Retry sets only the failed ones", "5. Propagate — skipped")
	p.snap("card-rolled-back")
	p.as("olga")
	p.open("rotabot")
	p.run("open the Messages tab", chromedp.Click(chromedp.CSS(`#home-tabs button[data-apptab=messages]`)))
	p.see("#messages", "was rolled back")
	p.open("audit")
	p.see("#messages", "secret.rotate.rolled_back")

	// Every destination holds the old token again; Infisical's newest version is it.
	p.tab("infisical")
	p.see("#panel", "v3 "+oldFP)
	p.tab("heroku")
	p.see("#panel", oldFP)
	p.notSee("#panel", web.Fingerprint(token))
	for dest, v := range destinations(ws, secret) {
		if v != ws.h.OldToken {
			t.Errorf("%s holds %s after the rollback, want the old token %s", dest, rotation.Fingerprint(v), oldFP)
		}
	}
	if ws.h.World.GitHub.Revoked(token) || ws.h.World.GitHub.Revoked(ws.h.OldToken) {
		t.Error("a token was revoked in a rolled-back run")
	}
	assertWebLeakFree(t, p)
}

// `rotabot demo -web` prints where the page is, serves it with everything it
// needs from the binary, and refuses an address other machines could reach.
func TestDemoWebCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb sandbox.SyncBuffer
	done := make(chan int, 1)
	go func() {
		c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		done <- c.run(ctx, []string{"demo", "-web", "-addr", "127.0.0.1:0"})
	}()
	var url string
	must(t, demo.WaitFor("the page's address", func() bool {
		url = regexp.MustCompile(`http://127\.0\.0\.1:\d+/`).FindString(out.String())
		return url != ""
	}))
	for _, path := range []string{"", "app.js", "app.css"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) < 500 {
			t.Fatalf("GET /%s: %d, %d bytes", path, resp.StatusCode, len(b))
		}
		// Nothing is fetched from anywhere else.
		if m := regexp.MustCompile(`(src|href)=["']?(https?:)?//`).Find(b); m != nil {
			t.Errorf("/%s loads something from elsewhere: %s", path, m)
		}
	}
	// Another site open in the browser cannot act on the sandbox.
	req, _ := http.NewRequest(http.MethodPost, url+"api/command", strings.NewReader(`{"user":"U0ALICE","channel":"C0OPS","text":"/rotate list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://example.com")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-origin POST was not refused: %v %v", resp, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo -web exited %d: %s %s", code, out.String(), errb.String())
	}
	code, _, stderr := runCLI(t, nil, "demo", "-web", "-addr", "0.0.0.0:0")
	if code != 2 || !strings.Contains(stderr, "must listen on this machine only") {
		t.Errorf("-addr 0.0.0.0: exit %d, %q", code, stderr)
	}
}

// `rotabot demo -web -config FILE` seeds the sandbox from a team's own routing
// matrix: its ops group, channels, apps, repositories, operators (one named by a
// DM channel) and verify checks exist, and a whole run works through the page's
// own API, as the page's buttons drive it.
func TestDemoWebWithYourOwnMatrix(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	ws, err := startWebSandbox(ctx, "127.0.0.1:0", "testdata/own-matrix.yaml", rotation.WallNow())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		ws.Close()
	})
	h, sl := ws.h, ws.h.World.Slack
	var names []string
	for _, p := range h.People {
		names = append(names, p.Name+" ("+p.Role+")")
	}
	if got := strings.Join(names, ", "); got != "alice (ops), bob (ops), operator1 (ops · shell rc), operator2 (ops · shell rc), owner1 (owner), mallory (not in ops)" {
		t.Errorf("people: %s", got)
	}
	if dm, ok := sl.DMOf("U0FRANK01"); !ok || dm != "D0FRANK01" {
		t.Errorf("the operator named by a DM channel has DM %q", dm)
	}
	if apps := h.World.Heroku.Apps(); strings.Join(apps, " ") != "acme-web acme-worker" {
		t.Errorf("apps: %v", apps)
	}
	if v, ok := h.World.Heroku.ConfigVar("acme-web", "GITHUB_TOKEN"); !ok || v != h.Current["ACME_CI_TOKEN"] || !strings.HasPrefix(v, "ghp_") {
		t.Errorf("acme-web's GITHUB_TOKEN is not the current classic token")
	}

	post := func(path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(ws.URL+strings.TrimPrefix(path, "/"), "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s %s: %d %v", path, b, resp.StatusCode, out)
		}
		return out
	}
	card := func(word string) sbslack.Message {
		t.Helper()
		var m sbslack.Message
		must(t, demo.WaitFor("the card to show "+word, func() bool {
			for _, x := range sl.Messages("C0PLATFORM") {
				if strings.Contains(x.Text, "Rotation r1 ") && strings.Contains(x.Text, ": "+word) {
					m = x
					return true
				}
			}
			return false
		}))
		return m
	}
	click := func(user string, m sbslack.Message, label string) {
		t.Helper()
		b, ok := m.Button(label)
		if !ok {
			t.Fatalf("no %s button on %s", label, demo.CardText(m))
		}
		post("/api/click", map[string]string{"user": user, "channel": m.Channel, "ts": m.TS, "action_id": b.ActionID, "block_id": b.BlockID})
	}

	post("/api/command", map[string]string{"user": demo.Alice, "channel": "C0PLATFORM", "text": "/rotate ACME_CI_TOKEN"})
	m := card("Waiting for token")
	minted := post("/api/mint", map[string]string{"secret": "ACME_CI_TOKEN", "kind": "classic", "variant": web.VariantRight})
	token := minted["token"].(string)
	h.Track(token)
	click(demo.Alice, m, "Submit new token")
	var modal sbslack.View
	must(t, demo.WaitFor("the token form", func() bool {
		for _, v := range sl.Views() {
			if v.User == demo.Alice && !v.Closed {
				modal = v
				return true
			}
		}
		return false
	}))
	post("/api/submit", map[string]any{"user": demo.Alice, "view": modal.ID, "values": map[string]map[string]string{"token": {"token_input": token}}})
	m = card("Waiting for approval")
	click(demo.Bob, m, "Approve")
	m = card("Waiting for revoke")
	text := demo.CardText(m)
	for _, want := range []string{"Heroku acme-web (GITHUB_TOKEN) — verified", "Heroku acme-worker — verified", "GitHub Actions acme/web (CI_TOKEN) — verified", "deploy dashboard ok"} {
		if !strings.Contains(text, want) {
			t.Errorf("the card does not say %q:\n%s", want, text)
		}
	}
	if len(sl.Messages("D0FRANK01")) != 1 || len(sl.DMs("U0ERIN")) != 1 {
		t.Errorf("the operators' DMs: %d in D0FRANK01, %d to U0ERIN", len(sl.Messages("D0FRANK01")), len(sl.DMs("U0ERIN")))
	}
	if ws.h.Console.Count("GET /api/health", true) == 0 {
		t.Error("the verify check did not reach the stand-in")
	}
	for dest, v := range destinations(ws, "ACME_CI_TOKEN") {
		if v != token {
			t.Errorf("%s does not hold the new token", dest)
		}
	}
	assertLeakFreeAll(t, ws)
}

// assertLeakFreeAll greps the bot's Slack traffic and logs, and every person's
// page state, for every token of the sandbox.
func assertLeakFreeAll(t *testing.T, ws *webSandbox) {
	t.Helper()
	texts := []string{ws.h.World.Slack.AllText(), ws.h.Logs.String()}
	for _, p := range ws.h.People {
		resp, err := http.Get(ws.URL + "api/state?user=" + p.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		texts = append(texts, string(b))
	}
	if l := demo.Leaks(strings.Join(texts, "\n"), ws.h.Secrets()); l != "" {
		t.Fatalf("leaked: %s", l)
	}
}
