package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
)

// firstHour is one message of the issue "The first hour": where it shows, the
// words a newcomer read there, and what they read now.
type firstHour struct {
	what string
	out  func(t *testing.T) string // everything printed where it shows
	old  string                    // the words the issue quotes (gone now; "…$": what it used to end with)
	now  []string                  // what it says instead
}

// Each message a newcomer met in the demo, the CLI and Slack in their first
// hour, with its old wording (which must be gone) and its new one. The sandbox
// page's part is in the browser tests (TestWebFirstHour and the two whole-run
// tests, at 1280×800 and 1024×768).
func TestFirstHourMessages(t *testing.T) {
	t.Parallel()
	h, env := cliWorld(t)
	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", h.Fresh[0])
	noSlack := map[string]string{}
	for k, v := range env {
		if !strings.HasPrefix(k, "SLACK_") {
			noSlack[k] = v
		}
	}
	stderr := func(args ...string) func(*testing.T) string {
		return func(t *testing.T) string { _, _, errs := runCLI(t, env, args...); return errs }
	}
	stdout := func(env map[string]string, args ...string) func(*testing.T) string {
		return func(t *testing.T) string { _, out, _ := runCLI(t, env, args...); return out }
	}
	matrix := badMatrix(t)
	var rotated, demoText string
	cases := []firstHour{
		{"a secret's name in another case keeps --dry-run", stderr("rotate", "github_api_readonly_token", "--dry-run"),
			"Try: rotabot rotate GITHUB_API_DISPATCH_TOKEN\n",
			[]string{"secret names are written as in the routing matrix: GITHUB_API_READONLY_TOKEN\nTry: rotabot rotate GITHUB_API_READONLY_TOKEN --dry-run\n"}},
		{"an unknown command gets a did-you-mean", stderr("rotat", "GITHUB_API_READONLY_TOKEN", "--dry-run"),
			`unknown command "rotat" — the commands are`,
			[]string{`unknown command "rotat" — did you mean rotate?`, "Try: rotabot rotate GITHUB_API_READONLY_TOKEN --dry-run\n"}},
		{"an unknown flag gets a did-you-mean", stderr("rotate", "GITHUB_API_READONLY_TOKEN", "--dryrun"),
			"unknown flag --dryrun\nTry: rotabot help rotate",
			[]string{"unknown flag --dryrun — did you mean --dry-run?\nTry: rotabot rotate GITHUB_API_READONLY_TOKEN --dry-run\n"}},
		{"abandon of a run that does not exist says what next", stderr("abandon", "r9", "--reason", "test"),
			"There is no run r9\n$",
			[]string{"rotabot abandon: There is no run r9\nNext: find the run's id on its card in Slack, or with /rotate list (open runs) or /rotate history SECRET (past runs)"}},
		{"check: a space for the colon is one problem, fixed right", stdout(nil, "check", "--config", matrix),
			"TradeMasterAPI GH_API_READONLY_TOKEN:GH_",
			[]string{`github_secrets "raxx-app/TradeMasterAPI GH_API_READONLY_TOKEN" has a space where the colon goes — write raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN` + "\n"}},
		{"check: expires_in_days of a classic token", stdout(nil, "check", "--config", matrix),
			"366 is the most a fine-grained token allows",
			[]string{"GITHUB_API_DISPATCH_TOKEN: expires_in_days 900 is out of range — use 1 to 366 days (a classic token may be set to never expire, but rotabot keeps it within a year"}},
		{"the dry run names the shell-rc operator (SLACK_BOT_TOKEN set)", stdout(env, "rotate", "GITHUB_API_READONLY_TOKEN", "--dry-run"),
			"the shell rc of U0OPERATOR ",
			[]string{"  not written by the CLI: the shell rc of @olga (it cannot DM them: the SUMMARY says whom to tell)\n"}},
		{"the dry run without SLACK_BOT_TOKEN", stdout(noSlack, "rotate", "GITHUB_API_READONLY_TOKEN", "--dry-run"),
			"the shell rc of U0OPERATOR ",
			[]string{"  not written by the CLI: the shell rc of Slack user U0OPERATOR (it cannot DM them"}},
		{"where names the operator of a DM channel", stdout(env, "where", "GITHUB_API_DISPATCH_TOKEN"),
			"  shell rc of D0AJ7K184TV\n",
			[]string{"  shell rc of the operator of DM D0AJ7K184TV\n"}},
		{"rotate's progress lines and SUMMARY", func(t *testing.T) string {
			_, rotated, _ = runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
			return rotated
		},
			"· Propagate started: it ends by",
			[]string{"  · Propagate… (if a service stops answering, it gives up at ", "  · Propagate done in ", "  · Verify done in ",
				"  3. Tell the shell-rc operators (@olga) to pull the new value from Infisical"}},
		{"demo --sandbox names the command as the README does", sandboxText,
			"go run ./cmd/rotabot rotate",
			[]string{"  rotabot rotate GITHUB_API_READONLY_TOKEN --dry-run\n", "No bot runs on them, so /rotate has no one to answer it:\nrotabot demo --web starts stand-ins of its own with the bot"}},
		{"the demo explains fingerprints at the top", func(t *testing.T) string { demoText = playedDemo(t); return firstLines(demoText, 3) },
			"", []string{"ℹ️ A token is only ever shown by its fingerprint: 8 hex digits of its SHA-256, like "}},
		{"the demo's rolled-back card", func(*testing.T) string { return demoText },
			"⏭️ 8. Audit — skipped", []string{"✅ 8. Audit — done · ", "secret.rotate.rolled_back"}},
		{"the demo's SUMMARY", func(*testing.T) string { return demoText },
			"(version 4) (", []string{"✓ Infisical /MooseQuest/github/GITHUB_API_READONLY_TOKEN holds "}},
		{"the demo's explanations", func(*testing.T) string { return demoText },
			"", []string{"pending value: in Infisical under /rotabot/pending/", "ℹ️ workload probe: ", "ℹ️ watching logs until … · clean: "}},
		{"App Home's legend counts a token 4 days from expiry as red", func(*testing.T) string {
			return card.ExpirySummary([]card.ExpiryRow{{Secret: "GITHUB_API_READONLY_TOKEN", Known: true, Days: 4, At: time.Now().Add(108 * time.Hour)}})
		}, "🟠 1 within 14 days", []string{"🔴 1 within 7 days"}},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			got := c.out(t)
			if end, ok := strings.CutSuffix(c.old, "$"); ok && strings.HasSuffix(got, end) || !ok && c.old != "" && strings.Contains(got, c.old) {
				t.Errorf("still says %q:\n%s", c.old, got)
			}
			for _, want := range c.now {
				if !strings.Contains(got, want) {
					t.Errorf("does not say %q:\n%s", want, got)
				}
			}
			t.Logf("was: %q\nnow: %q", c.old, c.now)
		})
	}
	// The rest of the demo's text: the old token's date reads as 4 days away,
	// and every progress line of rotate fits 100 columns.
	if m := regexp.MustCompile(`expires in 4 days, on\s+(\d{4}-\d\d-\d\d \d\d:\d\d) UTC`).FindStringSubmatch(demoText); m == nil {
		t.Error("the demo's reminder does not say when the token expires")
	} else if at, err := time.Parse("2006-01-02 15:04", m[1]); err != nil || at.Sub(rotation.WallNow()) < 4*24*time.Hour || at.Sub(rotation.WallNow()) > 4*24*time.Hour+23*time.Hour {
		t.Errorf("the demo says the token expires in 4 days, on %s: %v from now", m[1], at.Sub(rotation.WallNow()).Round(time.Hour))
	}
	for _, l := range strings.Split(rotated, "\n") {
		if strings.HasPrefix(l, "  · ") || strings.HasPrefix(l, "    ") {
			if n := len([]rune(l)); n > DefaultWidth {
				t.Errorf("a progress line of %d columns: %q", n, l)
			}
		}
	}
	h.assertLeakFree(t, rotated, demoText)
}

// badMatrix is the example routing matrix with the two mistakes of the issue: a
// space for a colon, and 900 days on a classic token.
func badMatrix(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../rotabot.example.yaml")
	must(t, err)
	y := strings.Replace(string(b), "github_secrets: [raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN]", "github_secrets: [raxx-app/TradeMasterAPI GH_API_READONLY_TOKEN]", 1)
	i := strings.Index(y, "GITHUB_API_DISPATCH_TOKEN:")
	y = y[:i] + strings.Replace(y[i:], "expires_in_days: 90", "expires_in_days: 900", 1)
	f := filepath.Join(t.TempDir(), "rotabot.yaml")
	must(t, os.WriteFile(f, []byte(y), 0o600))
	return f
}

// sandboxText is what `rotabot demo --sandbox FILE` prints before it waits.
func sandboxText(t *testing.T) string {
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // it prints, then waits for this
	if code := c.run(ctx, []string{"demo", "--sandbox", filepath.Join(t.TempDir(), "sandbox.env")}); code != 0 {
		t.Fatalf("demo --sandbox: exit %d\n%s", code, out.String())
	}
	return out.String()
}

// playedDemo is the demo's text at 100 columns, without escapes.
func playedDemo(t *testing.T) string {
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.playDemo(ctx, &out, false); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	return demo.StripANSI(out.String())
}

func firstLines(s string, n int) string {
	return strings.Join(strings.SplitN(s, "\n", n+1)[:n], "\n")
}
