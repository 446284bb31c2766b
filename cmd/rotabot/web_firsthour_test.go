package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// A newcomer's first hour on the sandbox page, at both window sizes: with #ops
// already holding messages, the answer to each command they type is in view
// (help, list, a dry run, a secret that does not exist); every person's name
// fits the top bar; Heroku's variable names are not broken mid-word; the GitHub
// tab says why its ready-made tokens are there; App Home's legend counts a token
// 4 days from expiry as the red it is drawn; the toast of a restart leaves Send
// free. The console shows no error and no failed request (openPage checks it):
// no state asked for before a person is chosen, no favicon missing.
func TestWebFirstHour(t *testing.T) { eachSize(t, webFirstHour) }

func webFirstHour(t *testing.T, sz size) {
	ws := startWeb(t)
	p := openPage(t, ws, sz)
	p.as("alice")
	p.open("ops")
	p.see("#messages", "GITHUB_API_READONLY_TOKEN expires in 4 days")
	p.snap("first-look")

	// Every name is whole in the top bar, whatever the width.
	p.waitJS("every person's name to fit the top bar", `(() => {
  const bar = document.querySelector('#people').getBoundingClientRect();
  for (const b of document.querySelectorAll('#people .person')) {
    const r = b.getBoundingClientRect();
    if (r.left < bar.left - 0.5 || r.right > bar.right + 0.5 || r.right > window.innerWidth) return b.innerText + ' is clipped';
  }
  return '';
})()`)

	for _, c := range []struct{ typed, answer string }{
		{"/rotate help", "/rotate expiring — every secret's expiry, soonest first"},
		{"/rotate list", "No open runs."},
		{"/rotate GITHUB_API_READONLY_TOKEN --dry-run", "Dry run — nothing was changed."},
		{"/rotate NOPE", "NOPE” is not a secret in the routing matrix."},
		{"/rotate help", "/rotate list — open runs"},
	} {
		p.command(c.typed)
		p.answer(c.answer)
		p.snap("answer-to-" + map[bool]string{true: "dry-run", false: "command"}[len(c.typed) > 20])
	}
	// The dry run names the shell-rc operator by name, in its plan.
	p.see("#messages", "shell rc of @olga")

	// Heroku's variable names are whole, each on one line, and the panel does
	// not scroll sideways.
	p.tab("heroku")
	p.see("#panel", "GITHUB_API_READONLY_TOKEN")
	p.waitJS("Heroku's variable names to be whole", `(() => {
  const panel = document.querySelector('#panel');
  if (panel.scrollWidth > panel.clientWidth + 1) return 'the panel scrolls sideways';
  for (const td of document.querySelectorAll('#live .card > table.kv:not(.releases) td:first-child')) {
    const range = document.createRange();
    range.selectNodeContents(td);
    if (range.getClientRects().length > 1) return td.innerText + ' is broken over ' + range.getClientRects().length + ' lines';
  }
  return '';
})()`)
	p.snap("heroku-panel")

	// The GitHub tab says why the ready-made tokens are there.
	p.tab("github")
	p.see("#live", "ready-made for rehearsals", "made by another account: the form refuses it", "already expired: the form refuses it", "revoked: the form refuses it")
	p.snap("github-panel")

	// App Home: the token 4 days from expiry is red in its row and in the legend.
	p.open("rotabot")
	p.run("open App Home", chromedp.Click(chromedp.CSS(`#home-tabs button[data-apptab=home]`)))
	p.see("#home", "🔴 1 within 7 days", "🔴 GITHUB_API_READONLY_TOKEN — 4 days left")
	p.notSee("#home", "🟠 1 within 14 days")
	p.snap("app-home")

	// A restart's toast leaves the message box and Send free.
	p.open("ops")
	p.run("restart the bot", chromedp.Click(chromedp.CSS(`#restart`)))
	p.toastClearOfTheBox()
	p.see("#bot-state", "running")
	assertWebLeakFree(t, p)
}
