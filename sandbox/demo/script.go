package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// Script is the story `rotabot demo` tells: one whole rotation (all eight steps)
// and a rolled-back one, played as real Socket Mode envelopes by the harness's
// people, printed as each person sees it. A card is printed whole the first
// time, then only the lines that changed.
type Script struct {
	H *Harness
	W io.Writer
	// Term renders Slack's formatting for the terminal (Names is filled in).
	Term Term

	cards   map[string][]string // each run's card as last printed
	first   []string            // the first card printed, whole
	firstID string
	steps   map[string][]string // the first run's card at each status word
}

func (d *Script) term() Term {
	if d.Term.Names == nil {
		names := map[string]string{d.H.Matrix.OpsUsergroup: "@ops"}
		for id, n := range Names {
			names[id] = "@" + n
		}
		for id, n := range map[string]string{OpsChannel: "ops", AuditChannel: "audit", OtherChannel: "random"} {
			names[id] = "#" + n
		}
		d.Term.Names = names
	}
	return d.Term
}

// say prints mrkdwn, rendered for the terminal and wrapped, each line after
// prefix.
func (d *Script) say(prefix, format string, args ...any) {
	for _, l := range d.term().Lines(prefix, fmt.Sprintf(format, args...)) {
		fmt.Fprintln(d.W, l)
	}
}

// Show prints mrkdwn text as say does, without formatting it first.
func (d *Script) Show(prefix, text string) {
	for _, l := range d.term().Lines(prefix, text) {
		fmt.Fprintln(d.W, l)
	}
}

func (d *Script) person(user, what string) { d.say("", "\n👤 *%s* %s", Names[user], what) }

// cardLines is the card as a person reads it, one line per element.
func cardLines(m sbslack.Message) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(CardText(m), "\n"), "\n") {
		if strings.HasPrefix(l, "== ") && strings.HasSuffix(l, " ==") {
			l = "*" + strings.TrimSuffix(strings.TrimPrefix(l, "== "), " ==") + "*"
		}
		out = append(out, l)
	}
	return out
}

func (d *Script) showCard(id, word string) (msg cardMsg, err error) {
	m, err := d.H.WaitCard(id, word)
	if err != nil {
		return cardMsg{}, err
	}
	if d.cards == nil {
		d.cards = map[string][]string{}
	}
	lines := cardLines(m)
	prev, seen := d.cards[id]
	d.cards[id] = lines
	if d.steps == nil {
		d.steps = map[string][]string{}
	}
	if d.first == nil || id == d.firstID {
		d.steps[word] = lines
	} else if step, ok := d.steps[word]; ok && seen {
		// A later run at a step the first one showed: only what differs from it.
		d.say("   ", "┌─ the card of run %s, updated in place — what changed, from %s's at this step:", id, d.firstID)
		return cardMsg{m}, d.showDiff(step, lines)
	}
	switch {
	case d.first == nil:
		// The first card is printed whole; every later one only where it differs.
		d.first, d.firstID = lines, id
		d.say("   ", "┌─ the card of run %s in #ops", id)
		for _, l := range lines {
			d.say("   │ ", "%s", l)
		}
		d.say("   ", "└─")
		return cardMsg{m}, nil
	case !seen:
		prev = d.first
		d.say("   ", "┌─ the card of run %s in #ops — as %s's first card, except:", id, d.firstID)
	default:
		d.say("   ", "┌─ the card of run %s, updated in place — what changed:", id)
	}
	return cardMsg{m}, d.showDiff(prev, lines)
}

// showDiff prints the lines of a card that prev does not have, and closes the box.
func (d *Script) showDiff(prev, lines []string) error {
	old := map[string]int{}
	for _, l := range prev {
		old[l]++
	}
	buttons := false
	for _, l := range lines {
		if strings.HasPrefix(l, "[") {
			buttons = true
		}
		if old[l] > 0 {
			old[l]--
			continue
		}
		d.say("   │ ", "%s", l)
	}
	if !buttons {
		d.say("   │ ", "_(no buttons left)_")
	}
	d.say("   ", "└─")
	return nil
}

func (d *Script) showEphemeral(user string, n int) error {
	text, err := d.H.WaitEphemeral(user, n)
	if err != nil {
		return err
	}
	d.say("   ", "🔒 only %s sees: %s", Names[user], firstLines(text, 3))
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n      ")
}

// play is the scripted session: a whole rotation, then a rolled-back one.
func (d *Script) Play() error {
	h := d.H
	s := h.World.Slack
	if err := d.intro(); err != nil {
		return err
	}

	// Run 1: the whole SOP.
	d.person(Alice, "types /rotate GITHUB_API_READONLY_TOKEN in #ops")
	if err := h.Slash(Alice, OpsChannel, "GITHUB_API_READONLY_TOKEN"); err != nil {
		return err
	}
	card, err := d.showCard("r1", "Waiting for token")
	if err != nil {
		return err
	}
	d.person(Alice, "makes the token on GitHub, presses Submit new token and pastes it in the form")
	ack, err := h.SubmitToken(Alice, card.Message, h.Fresh[0]+"\n")
	if err != nil {
		return err
	}
	d.say("   ", "form: %s", ackText(ack))
	card, err = d.showCard("r1", "Waiting for approval")
	if err != nil {
		return err
	}
	d.say("", "ℹ️ Until approved, the new token is only the *pending value*: in Infisical under %s, nowhere else.", h.Matrix.Vault.PendingPath)
	if err := d.refusedApprovals(card); err != nil {
		return err
	}
	// raxx-console-prod has a release phase: Heroku's release for the new
	// config var stays pending a moment, and verify waits for it.
	h.World.Heroku.SetReleasePhase("raxx-console-prod", sbheroku.ReleasePhase{Delay: time.Second})
	d.person(Bob, "presses Approve (and confirms); ⏳ verify waits for raxx-console-prod's release v2")
	if err := h.Click(Bob, card.Message, handlers.LabelApprove); err != nil {
		return err
	}
	if err := WaitFor("the release wait on the card", func() bool {
		m, _ := h.Card("r1")
		return strings.Contains(CardText(m), "raxx-console-prod — written · releasing · release v2 pending")
	}); err != nil {
		return err
	}
	h.World.Heroku.SetReleasePhase("raxx-console-prod", sbheroku.ReleasePhase{})
	if err := h.logsWatched("r1"); err != nil {
		return err
	}
	if card, err = d.showCard("r1", "Waiting for revoke"); err != nil {
		return err
	}
	d.say("", "ℹ️ *workload probe*: the GitHub call the token's workload makes (probe: in the routing matrix), tried with the new token.")
	d.say("", "ℹ️ *watching logs until … · clean*: rotabot reads each Heroku app's log for a minute after it runs the new token; no GitHub auth error so far.")
	d.person(Bob, "reads the warning: the cron job is retired; he unsets GH_TOKEN on "+LegacyApp)
	h.World.Heroku.SetConfigByHand(LegacyApp, map[string]*string{"GH_TOKEN": nil}, "bob@raxx.example")
	var dm cardMsg
	if err := WaitFor("olga's DM", func() bool {
		dms := s.DMs(Operator)
		if len(dms) > 0 {
			dm = cardMsg{dms[len(dms)-1]}
			return true
		}
		return false
	}); err != nil {
		return err
	}
	d.say("", "\n📨 olga's DM: %s", firstLines(dm.Text, 4))
	d.person(Operator, "updates her ~/.zshrc from Infisical and presses Done")
	if err := h.Click(Operator, dm.Message, handlers.LabelDone); err != nil {
		return err
	}
	if err := WaitFor("olga's Done on the card", func() bool {
		m, _ := h.Card("r1")
		return strings.Contains(CardText(m), "confirmed by <@"+Operator+">")
	}); err != nil {
		return err
	}
	card.Message, _ = h.Card("r1")
	d.person(Bob, "presses Revoke old token now; the confirm dialog repeats the warning:")
	revoke, _ := card.Button(handlers.LabelRevokeAPI)
	d.say("   ", "“%s”", sentenceWith(revoke.Confirm, LegacyApp))
	if err := h.Click(Bob, card.Message, handlers.LabelRevokeAPI); err != nil {
		return err
	}
	if _, err := d.showCard("r1", "Completed"); err != nil {
		return err
	}
	if err := WaitFor("the audit post", func() bool { return len(s.Messages(AuditChannel)) >= 1 }); err != nil {
		return err
	}
	d.say("", "\n📒 #audit:\n   %s", strings.ReplaceAll(firstLines(s.Messages(AuditChannel)[0].Text, 4), "\n      ", "\n   "))
	if err := d.drift(); err != nil {
		return err
	}

	if err := d.rolledBackRun(); err != nil {
		return err
	}
	return d.herokuKeyRun()
}

// herokuKeyRun is the story's last run, told in a few lines: a Heroku key that
// rotabot makes itself, so one Approve carries it and nobody pastes anything.
func (d *Script) herokuKeyRun() error {
	h := d.H
	if _, ok := h.Matrix.Secrets[HerokuKeySecret]; !ok {
		return nil // a matrix of the user's own, without the example's Heroku key
	}
	d.say("", "\n──── a Heroku key: rotabot makes the new one, nobody pastes ────")
	d.person(Alice, "types /rotate "+HerokuKeySecret)
	if err := h.Slash(Alice, OpsChannel, HerokuKeySecret); err != nil {
		return err
	}
	card, err := h.WaitCard("r3", "Waiting for approval")
	if err != nil {
		return err
	}
	minted := ""
	for _, l := range cardLines(card) {
		if strings.HasPrefix(strings.TrimSpace(l), "authorization ") && strings.Contains(l, "(run r3)") {
			minted = strings.TrimSpace(l)
			break
		}
	}
	d.say("   ", "card: *Waiting for approval* — rotabot made the new key at Heroku (%s), checked it answers as %s, and holds it pending", minted, h.World.Heroku.Email())
	d.person(Bob, "presses Approve, then *Revoke old token now*, the one revoke button: rotabot deletes the old key's authorization")
	if err := h.Click(Bob, card, handlers.LabelApprove); err != nil {
		return err
	}
	if card, err = h.WaitCard("r3", "Waiting for revoke"); err != nil {
		return err
	}
	if err := h.Click(Bob, card, handlers.LabelRevokeAPI); err != nil {
		return err
	}
	if _, err := h.WaitCard("r3", "Completed"); err != nil {
		return err
	}
	var old, made string
	for _, a := range h.World.Heroku.Authorizations() {
		switch {
		case strings.HasPrefix(a.Description, "deploys: ") && !a.Deleted.IsZero():
			old = "old `" + a.Fingerprint + "` deleted (it answers 401)"
		case strings.Contains(a.Description, "(run r3)"):
			made = "new `" + a.Fingerprint + "` live"
		}
	}
	d.say("   ", "card: *Completed*. Heroku's keys, by fingerprint: %s, %s", old, made)
	return nil
}

// rolledBackRun is the story's second run: approved, propagated, then rolled
// back before the old token is revoked.
func (d *Script) rolledBackRun() error {
	h := d.H
	s := h.World.Slack
	d.say("", "\n──── a second run, rolled back ────")
	d.person(Alice, "types /rotate GITHUB_API_READONLY_TOKEN again")
	if err := h.Slash(Alice, OpsChannel, "GITHUB_API_READONLY_TOKEN"); err != nil {
		return err
	}
	card, err := d.showCard("r2", "Waiting for token")
	if err != nil {
		return err
	}
	d.person(Alice, "submits another new token")
	if _, err := h.SubmitToken(Alice, card.Message, h.Fresh[1]); err != nil {
		return err
	}
	if card, err = d.showCard("r2", "Waiting for approval"); err != nil {
		return err
	}
	d.person(Bob, "approves")
	if err := h.Click(Bob, card.Message, handlers.LabelApprove); err != nil {
		return err
	}
	if err := h.logsWatched("r2"); err != nil {
		return err
	}
	if card, err = d.showCard("r2", "Waiting for revoke"); err != nil {
		return err
	}
	d.person(Bob, "decides the new token is wrong and presses Rollback (and confirms)")
	if err := h.Click(Bob, card.Message, handlers.LabelRollback); err != nil {
		return err
	}
	if _, err := d.showCard("r2", "Rolled back"); err != nil {
		return err
	}
	if err := WaitFor("olga's revert DM", func() bool {
		dms := s.DMs(Operator)
		return len(dms) > 0 && strings.Contains(dms[len(dms)-1].Text, "rolled back")
	}); err != nil {
		return err
	}
	dms := s.DMs(Operator)
	d.say("", "\n📨 olga's DM: %s", firstLines(dms[len(dms)-1].Text, 2))
	if err := WaitFor("the rollback audit post", func() bool { return len(s.Messages(AuditChannel)) >= 3 }); err != nil {
		return err
	}
	d.say("", "\n📒 #audit: %s", firstLines(s.Messages(AuditChannel)[2].Text, 2))
	return nil
}

// refusedApprovals is alice approving her own run and mallory, outside the ops
// group, approving it: each is refused, in words only they see.
func (d *Script) refusedApprovals(card cardMsg) error {
	h := d.H
	n := h.EphemeralCount(Alice)
	d.person(Alice, "presses Approve on her own run")
	if err := h.Click(Alice, card.Message, handlers.LabelApprove); err != nil {
		return err
	}
	if err := d.showEphemeral(Alice, n+1); err != nil {
		return err
	}
	d.person(Mallory, "(not in the ops group) presses Approve")
	if err := h.Click(Mallory, card.Message, handlers.LabelApprove); err != nil {
		return err
	}
	if err := d.showEphemeral(Mallory, 1); err != nil {
		return err
	}
	return nil
}

// intro says who and what the story is about, and shows the expiry reminder the
// bot posts at start-up.
func (d *Script) intro() error {
	h := d.H
	s := h.World.Slack
	d.say("", "*rotabot demo* — the real bot, on local stand-ins of Slack, GitHub, Infisical and Heroku")
	d.say("", "ℹ️ A token is only ever shown by its *fingerprint*: 8 hex digits of its SHA-256, like `%s`.", rotation.Fingerprint(h.OldToken))
	d.say("", "People: alice and bob (ops) · olga (ops; the token is in her shell's rc file)")
	d.say("", "   · owen (the secret's owner, who gets expiry reminders) · mallory (not in ops)")
	d.say("", "Secret: *GITHUB_API_READONLY_TOKEN*, on two Heroku apps, in a GitHub Actions secret and in olga's shell rc file")
	// A consumer nobody listed: rotabot finds it before the old token is revoked.
	h.World.Heroku.AddApp(LegacyApp, map[string]string{"GH_TOKEN": h.OldToken})
	d.say("", "Not in the routing matrix: the Heroku app *%s* reads the same token as GH_TOKEN", LegacyApp)

	// At start-up the bot checks every secret's expiry: the current token expires soon.
	var reminder string
	if err := WaitFor("the expiry reminder", func() bool {
		for _, m := range s.Messages(OpsChannel) {
			if strings.Contains(m.Text, "expires in") {
				reminder = m.Text
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	d.say("", "\n⏰ At start-up, in #ops and by DM to owen: %s", firstLines(reminder, 2))
	return nil
}

// LegacyApp is the demo's Heroku app outside the routing matrix that reads the
// rotated token under a name of its own.
const LegacyApp = "raxx-legacy-cron"

// drift is the story's drift: a config var changed by hand after run 1, found by
// /rotate drift, posted once, and set from Infisical by the post's button.
func (d *Script) drift() error {
	h := d.H
	s := h.World.Slack
	d.say("", "\n👤 *someone* pastes the old token back into raxx-console-staging by hand (heroku config:set);\n   later *alice* types /rotate drift")
	old := h.OldToken
	h.World.Heroku.SetConfigByHand("raxx-console-staging", map[string]*string{"GITHUB_API_READONLY_TOKEN": &old}, "someone@raxx.example")
	n := h.EphemeralCount(Alice)
	if err := h.Slash(Alice, OtherChannel, "drift"); err != nil {
		return err
	}
	if _, err := h.WaitEphemeral(Alice, n+2); err != nil {
		return err
	}
	var post sbslack.Message
	if err := WaitFor("the drift post", func() bool {
		for _, m := range s.Messages(OpsChannel) {
			if strings.HasPrefix(m.Text, "Drift:") {
				post = m
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	d.say("", "\n📣 #ops: %s", headLines(CardText(post), 2))
	d.person(Bob, "presses Set it from Infisical (and confirms)")
	if err := h.Click(Bob, post, handlers.LabelDriftRepair); err != nil {
		return err
	}
	if err := WaitFor("the repaired post", func() bool {
		for _, m := range s.Messages(OpsChannel) {
			if m.TS == post.TS && strings.HasPrefix(m.Text, "Drift repaired") {
				post = m
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	d.say("", "\n📣 #ops, updated: %s", headLines(CardText(post), 1))
	if err := WaitFor("the drift's audit post", func() bool { return len(s.Messages(AuditChannel)) >= 2 }); err != nil {
		return err
	}
	d.say("", "\n📒 #audit: %s", headLines(s.Messages(AuditChannel)[1].Text, 2))
	return nil
}

// headLines is the first n lines of s, indented as firstLines does, without a
// mark for what is left out.
func headLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n      ")
}

// sentenceWith is the sentence of text that names what.
func sentenceWith(text, what string) string {
	for _, s := range strings.SplitAfter(text, ". ") {
		if strings.Contains(s, what) {
			return strings.TrimSpace(s)
		}
	}
	return text
}

type cardMsg struct{ sbslack.Message }

// logsWatched waits until run id's card shows both apps' logs read (a card
// shown before would change by that alone).
func (h *Harness) logsWatched(id string) error {
	return WaitFor("the logs of "+id+"'s apps to be watched", func() bool {
		m, _ := h.Card(id)
		return strings.Count(CardText(m), "watching logs until ") == 2 && strings.Count(CardText(m), " UTC · clean") == 2
	})
}

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
func (d *Script) Summary() bool {
	h := d.H
	w := h.World
	want := h.Fresh[0] // run 1 completed, run 2 rolled back
	ok := true
	check := func(what string, good bool, detail string) {
		mark := "✓"
		if !good {
			mark, ok = "✗", false
		}
		d.say("  ", "%s %s%s", mark, what, detail)
	}
	fp := func(v string) string { return " holds " + rotation.Fingerprint(v) }
	d.say("", "\n*SUMMARY* — every destination of GITHUB_API_READONLY_TOKEN should hold run r1's token `%s`", rotation.Fingerprint(want))
	v, ver, _ := w.Infisical.Value(h.Matrix.Vault.Environment, h.Matrix.Vault.Path, "GITHUB_API_READONLY_TOKEN")
	check("Infisical "+h.Matrix.Vault.Path+"GITHUB_API_READONLY_TOKEN", v == want, fp(v)+fmt.Sprintf(", version %d: r2 wrote its token as 3, its rollback r1's back as 4", ver))
	_, _, pending := w.Infisical.Value(h.Matrix.Vault.Environment, h.Matrix.Vault.PendingPath, "GITHUB_API_READONLY_TOKEN")
	check("no pending value left in "+h.Matrix.Vault.PendingPath, !pending, "")
	plan, _ := h.Matrix.Plan("GITHUB_API_READONLY_TOKEN", rotation.Overrides{}, rotation.WallNow())
	var ghHeld []string // the GitHub kinds whose copy holds want
	for _, d := range plan.Destinations {
		switch d.Kind {
		case rotation.DestHeroku:
			v, _ := w.Heroku.ConfigVar(d.Target, d.VarName(plan.Secret))
			check(d.Label(), v == want, fp(v))
		case rotation.DestGitHubSecret, rotation.DestGitHubEnvSecret, rotation.DestGitHubOrgSecret, rotation.DestDependabotSecret:
			// GitHub's copies are read back on one line; one that differs gets its own.
			if v, _ := GHCopy(w.GitHub, d, plan.Secret); v != want {
				check(d.Label()+", decrypted with the stand-in's key", false, fp(v))
				continue
			}
			ghHeld = append(ghHeld, strings.TrimPrefix(d.Kind.Word(), "GitHub "))
		case rotation.DestShellRC:
			dms := w.Slack.DMs(d.Target)
			check(d.Label()+": DMs to update (r1, r2), then to revert (r2)", len(dms) == 3 && strings.Contains(dms[2].Text, "rolled back"), "")
		}
	}
	if len(ghHeld) > 0 {
		check("GitHub's "+andWords(ghHeld)+" secrets (decrypted with its key) hold "+rotation.Fingerprint(want), true, "")
	}
	check("the first old token is revoked at GitHub", w.GitHub.Revoked(h.OldToken), "")
	check("run r2's token was never revoked (rolled back before step 7)", !w.GitHub.Revoked(h.Fresh[1]), "")
	if old, ok := h.Current[HerokuKeySecret]; ok {
		v, _ := GHCopy(w.GitHub, rotation.Destination{Kind: rotation.DestGitHubSecret, Target: "raxx-app/TradeMasterAPI", Name: "HEROKU_API_KEY"}, HerokuKeySecret)
		check(HerokuKeySecret+": the Actions secret holds the key rotabot made ("+rotation.Fingerprint(v)+"); the old one is deleted", v != old && w.Heroku.KeyAlive(v) && !w.Heroku.KeyAlive(old), "")
	}
	everything := w.Slack.AllText() + "\n" + h.Logs.String()
	leak := Leaks(everything, h.Secrets())
	check(fmt.Sprintf("no token or credential in %d Slack payloads or %d log lines", len(w.Slack.Payloads()), strings.Count(h.Logs.String(), "\n")), leak == "", leakDetail(leak))
	return ok
}

// andWords joins words as a sentence lists them: "a", "a and b", "a, b and c".
func andWords(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func leakDetail(l string) string {
	if l == "" {
		return ""
	}
	return ": " + l
}
