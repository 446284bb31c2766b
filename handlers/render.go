package handlers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// Action ids of the buttons. A button's value is "RUN_ID|STATE": the state the
// card showed when it was drawn, so a click from an older card is recognised.
const (
	ActSubmit       = "rotabot_submit"
	ActApprove      = "rotabot_approve"
	ActCancel       = "rotabot_cancel"
	ActRollback     = "rotabot_rollback"
	ActRetry        = "rotabot_retry"
	ActRevokeAPI    = "rotabot_revoke_api"
	ActRevokeManual = "rotabot_revoke_manual"
	ActDone         = "rotabot_done"
	ActStart        = "rotabot_start" // a reminder's Start rotation
	ActAbandon      = "rotabot_abandon"
)

// Button labels, exactly as people and tests find them.
const (
	LabelSubmit       = "Submit new token"
	LabelApprove      = "Approve"
	LabelCancel       = "Cancel"
	LabelRollback     = "Rollback"
	LabelRetry        = "Retry"
	LabelRevokeAPI    = "Revoke old token now"
	LabelRevokeManual = "I revoked the old token"
	LabelDone         = "Done"
	LabelStart        = "Start rotation"
	LabelAbandon      = "Abandon"
)

// Modal ids.
const (
	ViewSubmitToken = "rotabot_submit_token"
	BlockToken      = "token"
	ActionToken     = "token_input"
	ViewAbandon     = "rotabot_abandon"
	BlockReason     = "reason"
	ActionReason    = "reason_input"
)

func txt(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
func ptxt(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func section(s string) *slack.SectionBlock { return slack.NewSectionBlock(txt(s), nil, nil) }

// buttonValue is "RUN_ID|STATE|STAMP": the run, the state the card showed when it
// was drawn, and the run's creation time — run ids start again at r1 when a
// bbolt file is lost, and an old card's button must not act on a new r1.
func buttonValue(r *rotation.Run) string {
	return r.ID + "|" + string(r.State) + "|" + runStamp(r)
}

func runStamp(r *rotation.Run) string { return strconv.FormatInt(r.Created.UnixNano(), 36) }

// parseButtonValue splits "RUN_ID|STATE|STAMP".
func parseButtonValue(v string) (id string, state rotation.State, stamp string) {
	parts := strings.SplitN(v, "|", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parts[0], rotation.State(parts[1]), parts[2]
}

func button(action, label string, r *rotation.Run, style slack.Style, confirm *slack.ConfirmationBlockObject) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(action, buttonValue(r), ptxt(label))
	if style != "" {
		b.Style = style
	}
	if confirm != nil {
		b.Confirm = confirm
	}
	return b
}

func confirmDialog(title, text, yes string) *slack.ConfirmationBlockObject {
	return slack.NewConfirmationBlockObject(ptxt(title), txt(clip(text, confirmTextMax)), ptxt(yes), ptxt("Not now"))
}

// revokeWarning is what a revoke button's confirm dialog warns of.
func revokeWarning(r *rotation.Run) string {
	warn := "After this, rollback is impossible."
	warn += oldHolderWarning(r)
	if ops := r.PendingOperators(); len(ops) > 0 {
		warn += " " + mentions(ops) + " has not confirmed updating their shell rc yet."
	}
	if apps := r.Watching(); len(apps) > 0 {
		var left time.Duration
		for _, d := range r.Destinations {
			if d.Watch != nil && d.Watch.State == rotation.WatchWatching {
				left = max(left, d.Watch.Left())
			}
		}
		warn += fmt.Sprintf(" Still watching the logs of %s (%s left).", strings.Join(apps, ", "), secondsLeft(left))
	}
	return warn
}

func mentions(users []string) string {
	var out []string
	for _, u := range users {
		out = append(out, rotation.OperatorName(u))
	}
	return strings.Join(out, ", ")
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

func destLine(d rotation.Destination) string {
	state := string(d.State)
	switch {
	case d.Kind == rotation.DestShellRC && d.State == rotation.DestWaiting:
		state = "DM sent, waiting for Done"
	case d.Kind == rotation.DestShellRC && d.State == rotation.DestDone:
		state = "confirmed by " + rotation.Mention(d.Actor)
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
		line += " · " + watchText(d.Watch)
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
// "watching logs · 40 s left · clean".
func watchText(w *rotation.Watch) string {
	switch w.State {
	case rotation.WatchWatching:
		s := "watching logs · " + secondsLeft(w.Left()) + " left · "
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
		return "GitHub authentication failure in the logs"
	case rotation.WatchUnwatched:
		return "⚠️ logs not watched: " + w.Warning
	case rotation.WatchStopped:
		return "log watch stopped"
	}
	return w.State
}

// secondsLeft writes a short duration as people read a countdown: "40 s", "2 min 5 s".
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

// Card renders a run as Block Kit. It reads only the run and the plan of its
// secret (for the generate step's instructions).
func Card(r *rotation.Run, plan *rotation.Plan) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(ptxt(fmt.Sprintf("Rotation %s · %s", r.ID, r.Secret))),
		section(fmt.Sprintf("*Status:* %s\nRequested by <@%s>%s%s · %s", r.State.Word(), r.Requester,
			who(" · token from ", r.Submitter), who(" · approved by ", r.Approver), methodText(r.Method))),
	}
	facts := []string{fmt.Sprintf("Token: *%s*", r.TokenKind)}
	if r.Login != "" {
		facts = append(facts, "login *"+r.Login+"*")
	}
	if r.OldFingerprint != "" {
		facts = append(facts, "old `"+r.OldFingerprint+"` "+rotation.ExpiryText(r.OldExpiry))
	}
	if r.NewFingerprint != "" {
		facts = append(facts, "new `"+r.NewFingerprint+"` *"+rotation.ExpiryText(r.NewExpiry)+"*")
	}
	blocks = append(blocks, slack.NewContextBlock("facts", txt(strings.Join(facts, " · "))))
	var steps []string
	for _, s := range r.Steps {
		steps = append(steps, stepLine(s))
	}
	blocks = append(blocks, sections(steps, len(steps), nil)...)
	if r.State == rotation.StateWaitingToken && plan != nil {
		blocks = append(blocks, section(cardClip(generateText(plan))))
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
			ds = append(ds, destLine(d))
		}
		blocks = append(blocks, sections(ds, cardDestSections, func(n int) string {
			return fmt.Sprintf("…and %d more destinations (%s)", n, destCounts(r.Destinations[len(r.Destinations)-n:]))
		})...)
	}
	blocks = append(blocks, oldHolderBlocks(r)...)
	if r.Notice != "" {
		blocks = append(blocks, slack.NewContextBlock("notice", txt(cardClip(r.Notice))))
	}
	switch r.State {
	case rotation.StateWaitingRevoke:
		settings := r.TokenKind.SettingsURL("")
		if plan != nil && plan.SettingsURL != "" {
			settings = plan.SettingsURL
		}
		blocks = append(blocks, slack.NewContextBlock("revoke", txt("Revoke the old token: press *"+LabelRevokeAPI+"*, or delete it at "+
			settings+" and press *"+LabelRevokeManual+"*. Until then rollback is possible.")))
	case rotation.StateCompleted:
		blocks = append(blocks, slack.NewContextBlock("over", txt("The old token is revoked: rollback is impossible. If the new token misbehaves, start a new run with `/rotate "+r.Secret+"` and a brand-new token.")))
	case rotation.StateAbandoned:
		blocks = append(blocks, slack.NewContextBlock("over", txt("Abandoned: rotabot no longer tracks this run, and wrote nothing when it was given up. Put right by hand what it left (the thread says what, and where); `/rotate "+r.Secret+"` starts a new run.")))
	}
	if bs := Buttons(r); len(bs) > 0 {
		els := make([]slack.BlockElement, len(bs))
		for i, b := range bs {
			els[i] = b
		}
		blocks = append(blocks, slack.NewActionBlock("actions_"+r.ID, els...))
	}
	return blocks
}

// Slack refuses a message whose section or context text is over 3000 characters
// (UTF-16 code units) or that has over 50 blocks: a card for a secret set on a
// hundred apps, or one showing a long error, must still post.
const (
	cardSectionChars = 2900
	cardDestSections = 20 // at most 900 or so destinations are listed one by one
)

func cardLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// cardClip shortens s to fit one section.
func cardClip(s string) string {
	if cardLen(s) <= cardSectionChars {
		return s
	}
	used := 0
	for i, r := range s {
		if used+utf16.RuneLen(r) > cardSectionChars-1 {
			return s[:i] + "…"
		}
		used += utf16.RuneLen(r)
	}
	return s
}

// sections packs lines into section blocks of at most cardSectionChars each, at
// most max of them; when lines are left over, more(n) ends the last section (nil:
// they are dropped). A line longer than a section is clipped.
func sections(lines []string, max int, more func(n int) string) []slack.Block {
	const reserve = 200 // room for more's line
	var out []slack.Block
	var cur []string
	size := 0
	for i, l := range lines {
		l = cardClip(l)
		n := cardLen(l) + 1
		room := cardSectionChars
		if len(out) == max-1 && more != nil && i < len(lines)-1 {
			room -= reserve
		}
		if len(cur) > 0 && size+n > room {
			if len(out) == max-1 {
				if more != nil {
					cur = append(cur, more(len(lines)-i))
				}
				return append(out, section(strings.Join(cur, "\n")))
			}
			out = append(out, section(strings.Join(cur, "\n")))
			cur, size = nil, 0
		}
		cur = append(cur, l)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, section(strings.Join(cur, "\n")))
	}
	return out
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
	fmt.Fprintf(&b, "*Make the new token* (<%s|open GitHub's page>):\n", p.NewTokenURL)
	fmt.Fprintf(&b, "• Name: `%s`\n• Expiration: %d days\n", p.TokenName, p.ExpiresInDays)
	if p.ResourceOwner != "" {
		fmt.Fprintf(&b, "• Resource owner: %s\n", p.ResourceOwner)
	}
	if len(p.Repositories) > 0 {
		fmt.Fprintf(&b, "• Repositories: %s\n", strings.Join(p.Repositories, ", "))
	}
	if len(p.Permissions) > 0 {
		keys := make([]string, 0, len(p.Permissions))
		for k := range p.Permissions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ps []string
		for _, k := range keys {
			ps = append(ps, k+": "+p.Permissions[k])
		}
		fmt.Fprintf(&b, "• Permissions: %s\n", strings.Join(ps, ", "))
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

// TokenModal is the form for the new token.
func TokenModal(r *rotation.Run, channel string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(ptxt("github_pat_…"), ActionToken)
	block := slack.NewInputBlock(BlockToken, ptxt("New token for "+r.Secret),
		ptxt("Checked against GitHub, then kept only in Infisical. It is never shown again."), input)
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: ViewSubmitToken,
		Title:      ptxt("Submit new token"),
		Submit:     ptxt("Validate"),
		Close:      ptxt("Cancel"),
		// The run's creation stamp binds the form to this run, as it does buttons.
		PrivateMetadata: r.ID + "|" + channel + "|" + runStamp(r),
		ClearOnClose:    true,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section(fmt.Sprintf("Run *%s* · %s · expected login *%s*", r.ID, r.Secret, r.Login)),
			block,
		}},
	}
}

// BlocksText renders blocks as plain text: what a person would read. The demo
// prints cards with it, and tests read them.
func BlocksText(blocks []slack.Block) string {
	var b strings.Builder
	for _, bl := range blocks {
		switch x := bl.(type) {
		case *slack.HeaderBlock:
			fmt.Fprintf(&b, "== %s ==\n", x.Text.Text)
		case *slack.SectionBlock:
			if x.Text != nil {
				b.WriteString(x.Text.Text + "\n")
			}
		case *slack.ContextBlock:
			for _, el := range x.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					b.WriteString("  " + t.Text + "\n")
				}
			}
		case *slack.ActionBlock:
			var labels []string
			for _, el := range x.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					labels = append(labels, "["+btn.Text.Text+"]")
				}
			}
			b.WriteString(strings.Join(labels, " ") + "\n")
		case *slack.InputBlock:
			fmt.Fprintf(&b, "%s: [__________]\n", x.Label.Text)
		case *slack.DividerBlock:
			b.WriteString("---\n")
		}
	}
	return b.String()
}
