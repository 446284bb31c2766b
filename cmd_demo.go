package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
)

// demo is `rotabot demo`: the stand-ins and the real bot in one process, and a
// scripted session played as real Socket Mode envelopes.
func (c *cli) demo(ctx context.Context, args []string) int {
	fs := newFlagSet(c, "demo", "rotabot demo [-sandbox FILE]\n\nRuns a whole rotation — all eight steps and a rollback — against local stand-ins of Slack, GitHub,\nInfisical and Heroku started in this process, and prints what each person sees. No credential, no network.\n\nWith -sandbox FILE it only starts the stand-ins, seeded for rotabot.example.yaml with a new token\nalready in Infisical, writes the environment that points rotabot at them to FILE, and waits for\nCtrl-C: then, in another shell, `set -a; . FILE; set +a` and try `rotabot rotate SECRET --dry-run`,\n`rotabot rotate SECRET` or `rotabot serve`.")
	sandboxFile := fs.String("sandbox", "", "start the stand-ins only, write their environment to this file, and wait")
	if code, ok := parseNoArgs(fs, args); !ok {
		return code
	}
	if *sandboxFile != "" {
		return c.sandbox(ctx, *sandboxFile)
	}
	dir, err := os.MkdirTemp("", "rotabot-demo-")
	if err != nil {
		fmt.Fprintln(c.stderr, "rotabot demo: cannot make a temporary folder:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	h, err := startHarness(ctx, dir, time.Now())
	if err != nil {
		fmt.Fprintln(c.stderr, "rotabot demo:", err)
		return 1
	}
	defer h.close()
	d := &demoScript{h: h, w: c.stdout}
	if err := d.play(); err != nil {
		fmt.Fprintf(c.stdout, "\n✗ the demo stopped: %v\n", err)
		if m, ok := h.card(""); ok {
			fmt.Fprintf(c.stdout, "the newest card shows:\n%s", cardText(m))
		}
		lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(c.stdout, "the bot's last log lines:\n%s\n", strings.Join(lines, "\n"))
		return 1
	}
	ok := d.summary()
	fmt.Fprintf(c.stdout, "\nDemo finished in %.1f s.\n", time.Since(start).Seconds())
	if !ok {
		return 1
	}
	return 0
}

type demoScript struct {
	h *harness
	w io.Writer
}

// say prints a line, with Slack's mentions shown as a person sees them.
func (d *demoScript) say(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	for id, name := range names {
		line = strings.ReplaceAll(line, "<@"+id+">", "@"+name)
	}
	line = strings.ReplaceAll(line, "<!subteam^S0OPS>", "@ops")
	line = strings.ReplaceAll(line, "<#C0OPS>", "#ops")
	fmt.Fprintln(d.w, line)
}

func (d *demoScript) person(user, what string) { d.say("\n👤 %s %s", names[user], what) }

func (d *demoScript) showCard(id, word string) (msg cardMsg, err error) {
	m, err := d.h.waitCard(id, word)
	if err != nil {
		return cardMsg{}, err
	}
	d.say("   ┌─ card in #ops ─────────────────────────────")
	for _, line := range strings.Split(strings.TrimRight(cardText(m), "\n"), "\n") {
		d.say("   │ %s", line)
	}
	d.say("   └────────────────────────────────────────────")
	return cardMsg{m}, nil
}

func (d *demoScript) showEphemeral(user string, n int) error {
	text, err := d.h.waitEphemeral(user, n)
	if err != nil {
		return err
	}
	d.say("   🔒 only %s sees: %s", names[user], firstLines(text, 3))
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n      ")
}

// play is the scripted session of SPEC §8.
func (d *demoScript) play() error {
	h := d.h
	s := h.world.Slack
	d.say("rotabot demo — stand-ins of Slack %s, GitHub %s, Infisical %s and Heroku %s", s.URL, h.world.GitHub.URL, h.world.Infisical.URL, h.world.Heroku.URL)
	d.say("ops group: alice, bob, olga (shell-rc operator) · not ops: mallory · secret: GITHUB_API_READONLY_TOKEN")

	// At start-up the bot checks every secret's expiry: the current token expires soon.
	var reminder string
	if err := waitFor("the expiry reminder", func() bool {
		for _, m := range s.Messages(opsChannel) {
			if strings.Contains(m.Text, "expires in") {
				reminder = m.Text
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	d.say("\n⏰ at start-up, in #ops and by DM to owen (the owner): %s", firstLines(reminder, 2))

	// Run 1: the whole SOP.
	d.person(userAlice, "types /rotate GITHUB_API_READONLY_TOKEN in #ops")
	if err := h.slash(userAlice, opsChannel, "GITHUB_API_READONLY_TOKEN"); err != nil {
		return err
	}
	card, err := d.showCard("r1", "Waiting for token")
	if err != nil {
		return err
	}
	d.person(userAlice, "makes the token on GitHub, presses Submit new token and pastes it in the form")
	ack, err := h.submitToken(userAlice, card.Message, h.fresh[0]+"\n")
	if err != nil {
		return err
	}
	d.say("   form: %s", ackText(ack))
	card, err = d.showCard("r1", "Waiting for approval")
	if err != nil {
		return err
	}
	n := h.ephemeralCount(userAlice)
	d.person(userAlice, "presses Approve on her own run")
	if err := h.click(userAlice, card.Message, handlers.LabelApprove); err != nil {
		return err
	}
	if err := d.showEphemeral(userAlice, n+1); err != nil {
		return err
	}
	d.person(userMallory, "(not in the ops group) presses Approve")
	if err := h.click(userMallory, card.Message, handlers.LabelApprove); err != nil {
		return err
	}
	if err := d.showEphemeral(userMallory, 1); err != nil {
		return err
	}
	d.person(userBob, "presses Approve (and confirms the dialog)")
	if err := h.click(userBob, card.Message, handlers.LabelApprove); err != nil {
		return err
	}
	if card, err = d.showCard("r1", "Waiting for revoke"); err != nil {
		return err
	}
	var dm cardMsg
	if err := waitFor("olga's DM", func() bool {
		dms := s.DMs(userOperator)
		if len(dms) > 0 {
			dm = cardMsg{dms[len(dms)-1]}
			return true
		}
		return false
	}); err != nil {
		return err
	}
	d.say("\n📨 olga's DM: %s", firstLines(dm.Text, 4))
	d.person(userOperator, "updates her ~/.zshrc from Infisical and presses Done")
	if err := h.click(userOperator, dm.Message, handlers.LabelDone); err != nil {
		return err
	}
	if err := waitFor("olga's Done on the card", func() bool {
		m, _ := h.card("r1")
		return strings.Contains(cardText(m), "confirmed by <@"+userOperator+">")
	}); err != nil {
		return err
	}
	card.Message, _ = h.card("r1")
	d.person(userBob, "presses Revoke old token now (and confirms)")
	if err := h.click(userBob, card.Message, handlers.LabelRevokeAPI); err != nil {
		return err
	}
	if _, err := d.showCard("r1", "Completed"); err != nil {
		return err
	}
	if err := waitFor("the audit post", func() bool { return len(s.Messages(auditChannel)) >= 1 }); err != nil {
		return err
	}
	d.say("\n📒 #audit:\n   %s", strings.ReplaceAll(s.Messages(auditChannel)[0].Text, "\n", "\n   "))

	// Run 2: rolled back after propagation.
	d.say("\n──── a second run, rolled back ────")
	d.person(userAlice, "types /rotate GITHUB_API_READONLY_TOKEN again")
	if err := h.slash(userAlice, opsChannel, "GITHUB_API_READONLY_TOKEN"); err != nil {
		return err
	}
	if card, err = d.showCard("r2", "Waiting for token"); err != nil {
		return err
	}
	d.person(userAlice, "submits another new token")
	if _, err := h.submitToken(userAlice, card.Message, h.fresh[1]); err != nil {
		return err
	}
	if card, err = d.showCard("r2", "Waiting for approval"); err != nil {
		return err
	}
	d.person(userBob, "approves")
	if err := h.click(userBob, card.Message, handlers.LabelApprove); err != nil {
		return err
	}
	if card, err = d.showCard("r2", "Waiting for revoke"); err != nil {
		return err
	}
	d.person(userBob, "decides the new token is wrong and presses Rollback (and confirms)")
	if err := h.click(userBob, card.Message, handlers.LabelRollback); err != nil {
		return err
	}
	if _, err := d.showCard("r2", "Rolled back"); err != nil {
		return err
	}
	if err := waitFor("olga's revert DM", func() bool {
		dms := s.DMs(userOperator)
		return len(dms) > 0 && strings.Contains(dms[len(dms)-1].Text, "rolled back")
	}); err != nil {
		return err
	}
	dms := s.DMs(userOperator)
	d.say("\n📨 olga's DM: %s", firstLines(dms[len(dms)-1].Text, 2))
	if err := waitFor("the rollback audit post", func() bool { return len(s.Messages(auditChannel)) >= 2 }); err != nil {
		return err
	}
	d.say("\n📒 #audit: %s", firstLines(s.Messages(auditChannel)[1].Text, 2))
	return nil
}

type cardMsg struct{ sandbox.Message }

func ackText(raw json.RawMessage) string {
	var a struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	_ = json.Unmarshal(raw, &a)
	switch {
	case len(a.Errors) > 0:
		return "error under the input: " + a.Errors[handlers.BlockToken]
	case a.ResponseAction == "update":
		return "still checking…"
	}
	return "accepted, the form closes"
}

// summary checks every destination's final value and that no token leaked.
func (d *demoScript) summary() bool {
	h := d.h
	w := h.world
	want := h.fresh[0] // run 1 completed, run 2 rolled back
	ok := true
	check := func(what string, good bool, detail string) {
		mark := "✓"
		if !good {
			mark, ok = "✗", false
		}
		d.say("  %s %s%s", mark, what, detail)
	}
	fp := func(v string) string { return " (" + rotation.Fingerprint(v) + ")" }
	d.say("\nSUMMARY — every destination of GITHUB_API_READONLY_TOKEN should hold run r1's token %s", rotation.Fingerprint(want))
	v, ver, _ := w.Infisical.Value(h.matrix.Vault.Environment, h.matrix.Vault.Path, "GITHUB_API_READONLY_TOKEN")
	check(fmt.Sprintf("Infisical %s (version %d)", h.matrix.Vault.Path+"GITHUB_API_READONLY_TOKEN", ver), v == want, fp(v))
	_, _, pending := w.Infisical.Value(h.matrix.Vault.Environment, h.matrix.Vault.PendingPath, "GITHUB_API_READONLY_TOKEN")
	check("no pending value left in "+h.matrix.Vault.PendingPath, !pending, "")
	plan, _ := h.matrix.Plan("GITHUB_API_READONLY_TOKEN", rotation.Overrides{}, time.Now())
	for _, d := range plan.Destinations {
		switch d.Kind {
		case rotation.DestHeroku:
			v, _ := w.Heroku.ConfigVar(d.Target, d.VarName(plan.Secret))
			check(d.Label(), v == want, fp(v))
		case rotation.DestGitHubSecret:
			v, _, _ := w.GitHub.ActionsSecret(d.Target, d.VarName(plan.Secret))
			check(d.Label()+", decrypted with the stand-in's key", v == want, fp(v))
		case rotation.DestShellRC:
			dms := w.Slack.DMs(d.Target)
			check(d.Label()+": DMs to update (r1, r2), then to revert (r2)", len(dms) == 3 && strings.Contains(dms[2].Text, "rolled back"), "")
		}
	}
	check("the first old token is revoked at GitHub", w.GitHub.Revoked(h.oldToken), "")
	check("run r2's token was never revoked (rolled back before step 7)", !w.GitHub.Revoked(h.fresh[1]), "")
	everything := w.Slack.AllText() + "\n" + h.logs.String()
	leak := leaks(everything, h.secrets())
	check(fmt.Sprintf("no token or credential in %d Slack payloads or %d log lines", len(w.Slack.Payloads()), strings.Count(h.logs.String(), "\n")), leak == "", leakDetail(leak))
	return ok
}

func leakDetail(l string) string {
	if l == "" {
		return ""
	}
	return ": " + l
}

// sandbox is `rotabot demo -sandbox FILE`: the stand-ins alone, for trying the
// other commands against them.
func (c *cli) sandbox(ctx context.Context, file string) int {
	h, err := newWorld(time.Now())
	if err != nil {
		fmt.Fprintln(c.stderr, "rotabot demo:", err)
		return 1
	}
	defer h.close()
	// The SOP's step 4 done by hand: the new token is in Infisical, for `rotate`.
	h.world.Infisical.Set(h.matrix.Vault.Environment, h.matrix.Vault.Path, "GITHUB_API_READONLY_TOKEN", h.fresh[0])
	dir, err := os.MkdirTemp("", "rotabot-sandbox-")
	if err != nil {
		fmt.Fprintln(c.stderr, "rotabot demo: cannot make a temporary folder:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	h.env["ROTABOT_DB"] = dir + "/rotabot.db"
	// One line per variable: the routing matrix travels as base64, as on Heroku.
	h.env["ROTABOT_CONFIG"] = base64.StdEncoding.EncodeToString([]byte(h.env["ROTABOT_CONFIG"]))
	var b strings.Builder
	b.WriteString("# rotabot demo -sandbox: made-up credentials of local stand-ins, valid while it runs\n")
	for _, k := range sortedKeys(h.env) {
		fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(h.env[k]))
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		fmt.Fprintln(c.stderr, "rotabot demo: cannot write", file+":", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Stand-ins of Slack, GitHub, Infisical and Heroku are running; their environment is in %s.\n", file)
	fmt.Fprintf(c.stdout, "In another shell:\n  set -a; . %s; set +a\n  go run . rotate GITHUB_API_READONLY_TOKEN --dry-run\n  go run . rotate GITHUB_API_READONLY_TOKEN\nCtrl-C stops the stand-ins.\n", file)
	<-ctx.Done()
	return 0
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// shellQuote quotes v for a POSIX shell.
func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'"'"'`) + "'" }
