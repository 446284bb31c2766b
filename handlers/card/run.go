package card

import (
	"fmt"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// Run draws a run's card: its steps, destinations, warnings and notice, and the
// buttons of the gesture table (buttons) the run can take now. It reads only the
// run and the plan of its secret (for the generate step's instructions).
func Run(r *rotation.Run, plan *rotation.Plan, buttons []Button) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(ptxt(fmt.Sprintf("Rotation %s · %s", r.ID, r.Secret))),
		section(fmt.Sprintf("*Status:* %s\nRequested by %s%s%s · %s%s", r.State.Word(), words.Mention(r.Requester),
			who(" · token from ", r.Submitter), who(" · approved by ", r.Approver), methodText(r.Method), startedText(r))),
	}
	facts := []string{fmt.Sprintf("Token: *%s*", r.TokenKind)}
	if r.Login != "" {
		facts = append(facts, "login *"+r.Login+"*")
	}
	if r.OldFingerprint != "" {
		facts = append(facts, "old `"+r.OldFingerprint+"` "+words.ExpiryText(r.OldExpiry))
	}
	if r.NewFingerprint != "" {
		facts = append(facts, "new `"+r.NewFingerprint+"` *"+words.ExpiryText(r.NewExpiry)+"*")
	}
	blocks = append(blocks, slack.NewContextBlock("facts", txt(strings.Join(facts, " · "))))
	var steps []string
	for _, s := range r.Steps {
		steps = append(steps, stepLine(s))
	}
	blocks = append(blocks, sections(steps, len(steps), nil)...)
	if r.State == rotation.StateWaitingToken && plan != nil {
		blocks = append(blocks, section(clip(generateText(plan), cardSectionChars)))
	}
	if len(r.Warnings) > 0 && !r.State.Final() {
		ws := []string{"⚠️ *For the approver:*"}
		for _, w := range r.Warnings {
			ws = append(ws, "• "+w)
		}
		blocks = append(blocks, sections(ws, 3, func(n int) string { return fmt.Sprintf("…and %d more warnings", n) })...)
	}
	if len(r.Destinations) > 0 {
		ds := []string{"*Destinations*"}
		for _, d := range r.Destinations {
			ds = append(ds, destLine(d, r.TokenKind.Service()))
		}
		blocks = append(blocks, sections(ds, cardDestSections, func(n int) string {
			return fmt.Sprintf("…and %d more destinations (%s)", n, destCounts(r.Destinations[len(r.Destinations)-n:]))
		})...)
	}
	blocks = append(blocks, oldHolderBlocks(r)...)
	if r.Notice != "" {
		blocks = append(blocks, slack.NewContextBlock("notice", txt(clip(r.Notice, cardSectionChars))))
	}
	blocks = append(blocks, closing(r, plan)...)
	if bs := RunButtons(r, buttons); len(bs) > 0 {
		els := make([]slack.BlockElement, len(bs))
		for i, b := range bs {
			els[i] = b
		}
		blocks = append(blocks, slack.NewActionBlock("actions_"+r.ID, els...))
	}
	return blocks
}

// closing is the card's last word for a run waiting for its revoke or over.
func closing(r *rotation.Run, plan *rotation.Plan) []slack.Block {
	switch r.State {
	case rotation.StateWaitingRevoke:
		if r.TokenKind.Minted() && !r.RevokeSent {
			return []slack.Block{slack.NewContextBlock("revoke", txt("Revoke the old key: press *"+LabelRevokeAPI+"* — the bot deletes its authorization at "+
				r.TokenKind.Service()+", then checks that it answers 401. Until then rollback is possible, and deletes the new key."))}
		}
		settings := r.TokenKind.SettingsURL("")
		if plan != nil && plan.SettingsURL != "" {
			settings = plan.SettingsURL
		}
		return []slack.Block{slack.NewContextBlock("revoke", txt("Revoke the old token: press *"+LabelRevokeAPI+"*, or delete it at "+
			settings+" and press *"+LabelRevokeManual+"*. Until then rollback is possible."))}
	case rotation.StateCompleted:
		return []slack.Block{slack.NewContextBlock("over", txt("The old token is revoked: rollback is impossible. If the new token misbehaves, start a new run with `/rotate "+r.Secret+"` and a brand-new token."))}
	case rotation.StateAbandoned:
		return []slack.Block{slack.NewContextBlock("over", txt("Abandoned: rotabot no longer tracks this run, and wrote nothing when it was given up. Put right by hand what it left (the thread says what, and where); `/rotate "+r.Secret+"` starts a new run."))}
	}
	return nil
}

// RunText is a run card's fallback text (notifications, and clients without
// blocks).
func RunText(r *rotation.Run) string {
	return fmt.Sprintf("Rotation %s of %s: %s", r.ID, r.Secret, r.State.Word())
}

// StateText is the run's state in a person's words, in one line: its word and,
// for a failed step, which one and why.
func StateText(run *rotation.Run) string {
	s := run.State.Word()
	if !run.State.Failed() {
		return s
	}
	s += " at " + string(run.State.Step())
	if st := run.Step(run.State.Step()); st != nil && st.Message != "" {
		s += " (" + strings.Join(strings.Fields(clip(st.Message, 300)), " ") + ")"
	}
	return s
}

var stepIcon = map[rotation.StepState]string{
	rotation.StepPending: "⚪", rotation.StepRunning: "🔵", rotation.StepDone: "✅",
	rotation.StepFailed: "❌", rotation.StepSkipped: "⏭️",
}

var stepTitle = map[rotation.StepName]string{
	rotation.StepPrecheck: "1. Pre-check", rotation.StepGenerate: "2. Generate", rotation.StepValidate: "3. Validate",
	rotation.StepApproval: "Approval", rotation.StepStore: "4. Store", rotation.StepPropagate: "5. Propagate",
	rotation.StepVerify: "6. Verify", rotation.StepRevoke: "7. Revoke", rotation.StepAudit: "8. Audit",
}

func hhmm(t time.Time) string { return t.UTC().Format("15:04 UTC") }

// clock is a time of day to the second: "14:05:12 UTC".
func clock(t time.Time) string { return t.UTC().Format("15:04:05 UTC") }

func stepLine(s rotation.StepRecord) string {
	state := string(s.State)
	if s.State == rotation.StepRunning {
		state = "waiting"
		if s.Name == rotation.StepPrecheck || s.Name == rotation.StepStore || s.Name == rotation.StepPropagate ||
			s.Name == rotation.StepVerify || s.Name == rotation.StepAudit {
			state = "running"
		}
	}
	line := fmt.Sprintf("%s *%s* — %s", stepIcon[s.State], stepTitle[s.Name], state)
	if s.Actor != "" {
		line += " · <@" + s.Actor + ">"
	}
	if !s.Finished.IsZero() {
		line += " · " + hhmm(s.Finished)
	} else if !s.Started.IsZero() && s.State == rotation.StepRunning {
		line += " · since " + hhmm(s.Started)
		if !s.Until.IsZero() {
			line += ", ends by " + hhmm(s.Until)
		}
	}
	if s.Message != "" {
		line += "\n      " + s.Message
	}
	return line
}

var destIcon = map[rotation.DestState]string{
	rotation.DestPending: "⚪", rotation.DestWriting: "🔵", rotation.DestWritten: "🟢", rotation.DestWaiting: "⏳",
	rotation.DestDone: "✅", rotation.DestVerified: "✅", rotation.DestFailed: "❌", rotation.DestReverted: "↩️",
}

// destLine is one destination's line on the card; service is whose credential
// the run rotates (the log watch looks for its refusals).
func destLine(d rotation.Destination, service string) string {
	state := string(d.State)
	switch {
	case d.Kind == rotation.DestShellRC && d.State == rotation.DestWaiting:
		state = "DM sent, waiting for Done"
	case d.Kind == rotation.DestShellRC && d.State == rotation.DestDone:
		state = "confirmed by " + words.Mention(d.Actor)
	}
	line := fmt.Sprintf("%s %s — %s", destIcon[d.State], d.Label(), state)
	if d.Attempts > 1 {
		line += fmt.Sprintf(" (attempt %d)", d.Attempts)
	}
	if d.Restart != nil && d.State != rotation.DestReverted {
		if d.Restart.Phase == rotation.RestartUp && d.Watch != nil {
			// The watch says the app runs it; the release is enough.
			line += fmt.Sprintf(" · release v%d", d.Restart.Release)
		} else {
			line += " · " + restartText(d.Restart)
		}
	}
	if d.Watch != nil && d.State != rotation.DestReverted {
		line += " · " + watchText(d.Watch, service)
	}
	if d.LastError != "" && d.State == rotation.DestFailed {
		line += "\n      " + d.LastError
	}
	return line
}

// restartText says where a destination's release and restart stand:
// "restarting · release v124 · 1/2 dynos up".
func restartText(rs *rotation.Restart) string {
	switch rs.Phase {
	case rotation.RestartReleasing:
		if rs.Release == 0 {
			return "releasing · waiting for Heroku's release"
		}
		return fmt.Sprintf("releasing · release v%d pending", rs.Release)
	case rotation.RestartRestarting:
		s := fmt.Sprintf("restarting · release v%d", rs.Release)
		if rs.Dynos > 0 {
			s += fmt.Sprintf(" · %d/%d dynos up", rs.Up, rs.Dynos)
		}
		if len(rs.Crashed) > 0 {
			s += " · crashed: " + strings.Join(rs.Crashed, ", ")
		}
		return s
	case rotation.RestartUp:
		return fmt.Sprintf("running release v%d", rs.Release)
	case rotation.RestartNoDynos:
		return fmt.Sprintf("release v%d · scaled to zero: nothing to restart", rs.Release)
	case rotation.RestartFailed:
		return fmt.Sprintf("release v%d failed", rs.Release)
	}
	return rs.Phase
}

// watchText says where a destination's log watch stands:
// "watching logs until 14:05:12 UTC · clean". The card shows when the watch
// ends, not a countdown: a countdown would cost a card update every few
// seconds for each run watched, out of Slack's 50 a minute for the workspace.
func watchText(w *rotation.Watch, service string) string {
	switch w.State {
	case rotation.WatchWatching:
		s := "watching logs until " + clock(w.Until) + " · "
		if w.Warning != "" {
			return s + "⚠️ " + w.Warning + " (retrying)"
		}
		if !w.Read {
			return s + "opening"
		}
		return s + "clean"
	case rotation.WatchClean:
		return fmt.Sprintf("logs clean for %s", secondsLeft(w.Until.Sub(w.Since)))
	case rotation.WatchMatched:
		return service + " authentication failure in the logs"
	case rotation.WatchUnwatched:
		return "⚠️ logs not watched: " + w.Warning
	case rotation.WatchStopped:
		return "log watch stopped"
	}
	return w.State
}

// secondsLeft writes a short duration as people read it: "40 s", "2 min 5 s".
func secondsLeft(d time.Duration) string {
	n := int(d.Round(time.Second) / time.Second)
	if n < 60 {
		return fmt.Sprintf("%d s", n)
	}
	if n%60 == 0 {
		return fmt.Sprintf("%d min", n/60)
	}
	return fmt.Sprintf("%d min %d s", n/60, n%60)
}

// destCounts says how many destinations are in each state: "3 verified, 1 failed".
func destCounts(ds []rotation.Destination) string {
	counts := map[rotation.DestState]int{}
	var order []rotation.DestState
	for _, d := range ds {
		if counts[d.State] == 0 {
			order = append(order, d.State)
		}
		counts[d.State]++
	}
	var parts []string
	for _, st := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
	}
	return strings.Join(parts, ", ")
}

// startedText is why rotabot started the run by itself, on a line of its own
// ("" for a run a person started).
func startedText(r *rotation.Run) string {
	if r.StartReason == "" {
		return ""
	}
	return "\n🤖 rotabot started this run by itself: " + clip(r.StartReason, 600)
}

func who(prefix, user string) string {
	if user == "" {
		return ""
	}
	return prefix + "<@" + user + ">"
}

func methodText(m rotation.Method) string {
	if m == rotation.MethodCLI {
		return "from the CLI"
	}
	return "from Slack"
}

func generateText(p *rotation.Plan) string {
	var b strings.Builder
	if p.Kind.Minted() {
		fmt.Fprintf(&b, "*rotabot makes the new key* at %s: an authorization of the current key's account, ", p.Kind.Service())
		if len(p.Scopes) > 0 {
			fmt.Fprintf(&b, "scope %s", strings.Join(p.Scopes, ", "))
		} else {
			b.WriteString("with the current key's scope")
		}
		fmt.Fprintf(&b, ", described by the secret's name and the date. Nothing to paste: if making it failed (the notice says why), press *%s*.", LabelMint)
		return b.String()
	}
	fmt.Fprintf(&b, "*Make the new token* (<%s|open GitHub's page>):\n", p.NewTokenURL)
	fmt.Fprintf(&b, "• Name: `%s`\n• Expiration: %d days\n", p.TokenName, p.ExpiresInDays)
	if p.ResourceOwner != "" {
		fmt.Fprintf(&b, "• Resource owner: %s\n", p.ResourceOwner)
	}
	if len(p.Repositories) > 0 {
		fmt.Fprintf(&b, "• Repositories: %s\n", strings.Join(p.Repositories, ", "))
	}
	if len(p.Permissions) > 0 {
		fmt.Fprintf(&b, "• Permissions: %s\n", p.PermissionList())
	}
	if len(p.Scopes) > 0 {
		fmt.Fprintf(&b, "• Scopes: %s\n", strings.Join(p.Scopes, ", "))
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "⚠️ %s\n", w)
	}
	fmt.Fprintf(&b, "Then press *%s* and paste it in the form (never in a message).", LabelSubmit)
	return b.String()
}
