package handlers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// Command handles /rotate. It runs after the envelope was acked; every answer is
// ephemeral except the run card itself.
func (h *Handlers) Command(ctx context.Context, cmd slack.SlashCommand) {
	r := h.replier(cmd.ResponseURL, cmd.ChannelID, cmd.UserID)
	defer h.recoverAnswer(ctx, r)
	ops, opsErr := h.isOps(ctx, cmd.UserID)
	if !ops {
		h.outsider(ctx, r, cmd.Text, opsErr)
		return
	}
	c, err := ParseCommand(cmd.Text, h.Matrix.Names())
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			r.say(ctx, pe.Msg+"\n\n"+h.usage())
			return
		}
		r.fail(ctx, err)
		return
	}
	if c.Kind == CmdHelp {
		r.say(ctx, h.usage())
		return
	}
	switch c.Kind {
	case CmdStart:
		h.start(ctx, r, cmd.ChannelID, cmd.UserID, c.Secret)
	case CmdDryRun:
		h.dryRun(ctx, r, c.Secret)
	case CmdStatus:
		h.status(ctx, r, c.RunID)
	case CmdList:
		h.list(ctx, r)
	case CmdHistory:
		h.history(ctx, r, c.Secret)
	case CmdExpiring:
		h.expiring(ctx, r)
	case CmdWhere:
		h.where(ctx, r, c.Secret)
	case CmdAbandon:
		h.abandonCommand(ctx, r, cmd.UserID, c.RunID, c.Reason)
	case CmdDrift:
		h.drift(ctx, r)
	}
}

// outsider answers someone outside the ops group (or anyone while the group cannot
// be read): who may use rotabot, the commands, and nothing that names a secret or
// says whether a name is one.
func (h *Handlers) outsider(ctx context.Context, r replier, text string, opsErr error) {
	group := "<!subteam^" + h.Matrix.OpsUsergroup + ">"
	who := "Only members of the ops user group " + group + " may do this. Ask an ops member."
	if opsErr != nil {
		h.Log.Error("cannot read the ops user group", "group", h.Matrix.OpsUsergroup, "err", opsErr)
		who = rotation.ErrorMessage(opsErr)
	}
	switch c, err := ParseCommand(text, nil); {
	case looksSecret(text):
		// The warning to rotate a pasted token is for everyone.
		var pe *ParseError
		if errors.As(err, &pe) {
			r.say(ctx, pe.Msg+"\n\n"+who)
			return
		}
	case err == nil && c.Kind == CmdHelp:
		if opsErr == nil {
			who = "rotabot rotates the ops team's credentials. Only members of the ops user group " + group + " may use it: ask one of them."
		}
		r.say(ctx, who+"\n\n"+h.commands())
		return
	}
	r.say(ctx, who)
}

// usage is the help an ops member gets: the commands and the secrets' names.
func (h *Handlers) usage() string {
	return h.commands() + "\n" + "Secrets: " + strings.Join(h.Matrix.Names(), ", ")
}

// commands lists /rotate's forms; it names no secret.
func (h *Handlers) commands() string {
	return "*Usage*\n" +
		"• `/rotate SECRET` — start a rotation (in <#" + h.Matrix.Channel + "> only)\n" +
		"• `/rotate SECRET --dry-run` — show what a rotation would touch; changes nothing\n" +
		"• `/rotate status [RUN_ID]` — a run's state (or every open run's)\n" +
		"• `/rotate list` — open runs\n" +
		"• `/rotate history SECRET` — past runs of a secret\n" +
		"• `/rotate expiring` — every secret's expiry, soonest first\n" +
		"• `/rotate where SECRET` — every Heroku app and variable holding its current value, in the routing matrix or not\n" +
		"• `/rotate abandon RUN_ID REASON` — give up a run that failed or waits for a person; it writes nothing, records why, and frees the secret\n" +
		"• `/rotate drift` — compare every destination with Infisical now; drift is posted in <#" + h.Matrix.Channel + ">\n" +
		"• `/rotate help` — this"
}

// start is /rotate SECRET: only in the ops channel, one open run per secret.
func (h *Handlers) start(ctx context.Context, r replier, channel, user, secret string) {
	if channel != h.Matrix.Channel {
		r.say(ctx, fmt.Sprintf("Rotations start in <#%s> only, so the team sees them. Run `/rotate %s` there. (Read-only commands like `--dry-run`, `status` and `expiring` work anywhere.)", h.Matrix.Channel, secret))
		return
	}
	run, err := h.Engine.Start(ctx, rotation.StartRequest{Secret: secret, Requester: user, Channel: channel})
	if err != nil {
		if rotation.ErrorCode(err) == rotation.ECONFLICT && run != nil {
			r.say(ctx, fmt.Sprintf("%s already has an open run, *%s* (%s): %s", secret, run.ID, run.State.Word(), h.permalink(ctx, run)))
			return
		}
		r.fail(ctx, err)
		return
	}
	h.Engine.Go(h.Work, run.ID)
}

func (h *Handlers) permalink(ctx context.Context, run *rotation.Run) string {
	if run.Card.Channel == "" || run.Card.TS == "" {
		return "its card is in <#" + h.Matrix.Channel + ">"
	}
	link, err := h.Slack.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: run.Card.Channel, Ts: run.Card.TS})
	if err != nil || link == "" {
		return "its card is in <#" + run.Card.Channel + ">"
	}
	return "<" + link + "|open its card>"
}

func (h *Handlers) dryRun(ctx context.Context, r replier, secret string) {
	dr, err := h.Engine.DryRun(ctx, secret, rotation.Overrides{})
	if err != nil {
		r.fail(ctx, err)
		return
	}
	var b strings.Builder
	b.WriteString("*Dry run — nothing was changed.*\n```")
	// The plan is a code block, where a mention shows as an id: people by name.
	b.WriteString(strings.Join(dr.Plan.LinesNamed(PeopleNames(ctx, h.Slack, ShellRCTargets(dr.Plan.Destinations))), "\n"))
	if u := unknownText(dr.Unknown); u != "" {
		b.WriteString("\n" + u)
	}
	b.WriteString("```\n")
	if dr.Problem != "" {
		b.WriteString("⚠️ " + dr.Problem + "\n")
	} else {
		fmt.Fprintf(&b, "Current token: login *%s*, %s, %s\n", dr.Current.Login, dr.Current.Kind, rotation.ExpiryText(dr.Current.ExpiresAt))
	}
	r.say(ctx, b.String())
}

func (h *Handlers) status(ctx context.Context, r replier, id string) {
	if id == "" {
		h.list(ctx, r)
		return
	}
	run, err := h.Store.GetRun(ctx, id)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.say(ctx, fmt.Sprintf("%s: %s", run.ID, run.State.Word()), Card(run, nil)...)
}

func runLine(run *rotation.Run) string {
	return fmt.Sprintf("• *%s* %s — %s · started %s by <@%s>", run.ID, run.Secret, run.State.Word(),
		run.Created.UTC().Format("2006-01-02 15:04 UTC"), run.Requester)
}

func (h *Handlers) list(ctx context.Context, r replier) {
	runs, err := h.Store.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if err != nil {
		r.fail(ctx, err)
		return
	}
	if len(runs) == 0 {
		r.say(ctx, "No open runs.")
		return
	}
	lines := []string{fmt.Sprintf("*Open runs (%d)*", len(runs))}
	for _, run := range runs {
		lines = append(lines, runLine(run))
	}
	r.say(ctx, strings.Join(lines, "\n"))
}

// HistoryLimit is how many past runs /rotate history shows.
const HistoryLimit = 10

func (h *Handlers) history(ctx context.Context, r replier, secret string) {
	runs, err := h.Store.ListRuns(ctx, rotation.RunFilter{Secret: secret, Limit: HistoryLimit})
	if err != nil {
		r.fail(ctx, err)
		return
	}
	if len(runs) == 0 {
		r.say(ctx, "No runs of "+secret+" yet.")
		return
	}
	lines := []string{fmt.Sprintf("*Last %d runs of %s*", len(runs), secret)}
	for _, run := range runs {
		line := runLine(run)
		if run.NewFingerprint != "" {
			line += " · " + orNone(run.OldFingerprint) + " → " + run.NewFingerprint
		}
		lines = append(lines, line)
	}
	r.say(ctx, strings.Join(lines, "\n"))
}

// ExpiryRow is one secret in /rotate expiring and App Home.
type ExpiryRow struct {
	Secret  string
	Known   bool
	Never   bool
	At      time.Time
	Days    int // whole days left, rounded down; negative once expired
	Problem string
}

// ExpiryRows lists every configured secret with what is known of its expiry,
// soonest first: tokens with a problem (refused, missing, not checkable) lead,
// then by expiry date, then those that never expire, then those not checked yet.
func ExpiryRows(m *rotation.Matrix, recs []rotation.ExpiryRecord, now time.Time) []ExpiryRow {
	bySecret := make(map[string]rotation.ExpiryRecord, len(recs))
	for _, rec := range recs {
		bySecret[rec.Secret] = rec
	}
	rows := make([]ExpiryRow, 0, len(m.Secrets))
	for _, name := range m.Names() {
		row := ExpiryRow{Secret: name}
		if rec, ok := bySecret[name]; ok {
			row.Known, row.Problem = true, rec.Problem
			switch {
			case !rec.ExpiresAt.IsZero():
				row.At = rec.ExpiresAt
				row.Days = rotation.DaysLeft(rec.ExpiresAt, now)
			case rec.Login == "" && rec.Problem != "":
				// never checked successfully: its expiry is unknown, not "never"
			default:
				row.Never = true
			}
		}
		rows = append(rows, row)
	}
	rank := func(r ExpiryRow) int {
		switch {
		case r.Problem != "":
			return 0
		case !r.Known:
			return 3
		case r.Never:
			return 2
		}
		return 1
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rank(rows[i]) != rank(rows[j]) {
			return rank(rows[i]) < rank(rows[j])
		}
		return rows[i].At.Before(rows[j].At)
	})
	return rows
}

// Bar is a small text bar of days left out of 90.
func Bar(days int) string {
	const width = 10
	n := days * width / 90
	if n < 0 {
		n = 0
	}
	if n > width {
		n = width
	}
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}

func daysLeftText(days int) string {
	if days <= 0 {
		return "less than a day left"
	}
	return rotation.Plural(days, "day", "days") + " left"
}

// ExpiryLine renders one row.
func ExpiryLine(row ExpiryRow) string {
	icon := classOf(row).icon
	switch {
	case !row.Known:
		return fmt.Sprintf("`%s` %s %s — not checked yet", Bar(0), icon, row.Secret)
	case row.Problem != "" && !row.At.IsZero():
		return fmt.Sprintf("`%s` %s %s — %s (last known expiry %s)", Bar(row.Days), icon, row.Secret, row.Problem, rotation.DateText(row.At))
	case row.Problem != "":
		return fmt.Sprintf("`%s` %s %s — %s", Bar(0), icon, row.Secret, row.Problem)
	case row.Never:
		return fmt.Sprintf("`%s` %s %s — never expires (GitHub recommends an expiry)", Bar(90), icon, row.Secret)
	case row.Days < 0:
		return fmt.Sprintf("`%s` %s %s — EXPIRED on %s", Bar(0), icon, row.Secret, rotation.DateText(row.At))
	}
	return fmt.Sprintf("`%s` %s %s — %s, on %s", Bar(row.Days), icon, row.Secret, daysLeftText(row.Days), rotation.DateText(row.At))
}

// expiring is /rotate expiring: every configured secret, soonest first, in at
// most ExpiryMaxMessages ephemeral messages of mrkdwn text that each fit Slack's
// limits (see ExpiryTexts; past a few thousand secrets the furthest from
// expiring are summarised in the last line).
func (h *Handlers) expiring(ctx context.Context, r replier) {
	recs, err := h.Store.ListExpiry(ctx)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	texts := ExpiryTexts(ExpiryRows(h.Matrix, recs, h.now()), ExpiryMaxMessages)
	if drift := h.openDrift(ctx, expirySectionChars); drift != "" {
		texts[0] = drift + "\n\n" + texts[0]
	}
	for _, text := range texts {
		r.say(ctx, text)
	}
}
