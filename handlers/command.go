package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/handlers/card"
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
func (h *Handlers) usage() string { return card.Usage(h.Matrix.Channel, h.Matrix.Names()) }

// commands lists /rotate's forms; it names no secret.
func (h *Handlers) commands() string { return card.Commands(h.Matrix.Channel) }

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
	// The plan is a code block, where a mention shows as an id: people by name.
	r.say(ctx, card.DryRunText(dr, PeopleNames(ctx, h.users, ShellRCTargets(dr.Plan.Destinations))))
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
	r.say(ctx, fmt.Sprintf("%s: %s", run.ID, run.State.Word()), card.Run(run, nil, CardButtons())...)
}

func (h *Handlers) list(ctx context.Context, r replier) {
	runs, err := h.Store.ListRuns(ctx, rotation.RunFilter{OpenOnly: true})
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.say(ctx, card.OpenRunsText(runs))
}

// HistoryLimit is how many past runs /rotate history shows.
const HistoryLimit = 10

func (h *Handlers) history(ctx context.Context, r replier, secret string) {
	runs, err := h.Store.ListRuns(ctx, rotation.RunFilter{Secret: secret, Limit: HistoryLimit})
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.say(ctx, card.HistoryText(secret, runs))
}

// ExpiryMaxMessages is how many ephemeral messages /rotate expiring answers with
// at most; secrets that do not fit are summarised in its last line.
const ExpiryMaxMessages = 5

// expiring is /rotate expiring: every configured secret, soonest first, in at
// most ExpiryMaxMessages ephemeral messages of mrkdwn text that each fit Slack's
// limits (see card.ExpiryTexts; past a few thousand secrets the furthest from
// expiring are summarised in the last line).
func (h *Handlers) expiring(ctx context.Context, r replier) {
	recs, err := h.Store.ListExpiry(ctx)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	for _, text := range card.ExpiringTexts(card.ExpiryRows(h.Matrix, recs, h.now()), h.openDrifts(ctx), ExpiryMaxMessages) {
		r.say(ctx, text)
	}
}

// where is /rotate where SECRET: every Heroku app and variable holding the
// secret's current value, in the routing matrix or not, every destination of
// the matrix that does not hold it, and every GitHub secret of the names it
// uses. It reads Infisical, every app's config and GitHub's lists, writes
// nothing, and shows names only.
func (h *Handlers) where(ctx context.Context, r replier, secret string) {
	var places []string
	if len(h.Where.Scanners) > 0 {
		places = append(places, "every Heroku app HEROKU_API_KEY can see")
	}
	if h.Where.GitHub != nil {
		places = append(places, "the GitHub secrets of its names")
	}
	if len(places) == 0 {
		places = append(places, "every Heroku app HEROKU_API_KEY can see")
	}
	r.say(ctx, fmt.Sprintf("⏳ Looking for the current value of %s in %s…", secret, strings.Join(places, " and ")))
	rep, err := h.Where.Where(ctx, secret)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.say(ctx, card.WhereText(rep))
}
