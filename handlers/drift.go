package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// A drift post's buttons: Set it from Infisical, and the second ops member's
// Approve of a repair that writes every destination (labelled LabelApprove).
const (
	ActDriftRepair   = "rotabot_drift_repair"
	LabelDriftRepair = "Set it from Infisical"
	ActDriftApprove  = "rotabot_drift_approve"
)

// DriftNotifier shows drift in the ops channel: one post per drift, updated in
// place (chat.update) when the drift resolves by itself or is repaired, and a
// repair's audit entry in the audit channel. It implements rotation.DriftNotifier;
// a drift carries names, versions and Infisical's fingerprint, never a value.
type DriftNotifier struct {
	Slack Slack
	// Channel is the ops channel; AuditChannel the audit channel ("": the
	// drift post's thread).
	Channel, AuditChannel string
}

var _ rotation.DriftNotifier = (*DriftNotifier)(nil)

// ShowDrift posts the drift, or updates its post.
func (n *DriftNotifier) ShowDrift(ctx context.Context, d rotation.DriftRecord) (rotation.CardRef, error) {
	text, blocks := DriftMessage(d)
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	if d.Post.TS != "" {
		if _, _, _, err := n.Slack.UpdateMessageContext(ctx, d.Post.Channel, d.Post.TS, opts...); err != nil {
			return d.Post, rotation.Wrap(rotation.EUNAVAILABLE, err, "could not update the drift post of %s in <#%s>", d.Secret, d.Post.Channel)
		}
		return d.Post, nil
	}
	if !d.Open {
		return rotation.CardRef{}, nil // never posted, and over: nothing to say
	}
	ch, ts, err := n.Slack.PostMessageContext(ctx, n.Channel, opts...)
	if err != nil {
		return rotation.CardRef{}, rotation.Wrap(rotation.EUNAVAILABLE, err, "could not post the drift of %s in <#%s>", d.Secret, n.Channel)
	}
	return rotation.CardRef{Channel: ch, TS: ts}, nil
}

// DriftAudited posts the repair's audit entry.
func (n *DriftNotifier) DriftAudited(ctx context.Context, d rotation.DriftRecord, e rotation.AuditEntry) error {
	ch, opts := n.AuditChannel, []slack.MsgOption{slack.MsgOptionText(AuditText(e), false)}
	if ch == "" {
		if d.Post.TS == "" {
			return nil
		}
		ch = d.Post.Channel
		opts = append(opts, slack.MsgOptionTS(d.Post.TS))
	}
	return postAudit(ctx, n.Slack, ch, opts...)
}

// DriftLine is one drift in one line: App Home, /rotate expiring, /rotate drift.
func DriftLine(d rotation.DriftRecord) string {
	return fmt.Sprintf("🧭 *%s* · %s — %s (since %s)", d.Secret, driftPlace(d), d.Problem, rotation.DateText(d.Since))
}

func driftPlace(d rotation.DriftRecord) string {
	if d.Dest == "" {
		return "Infisical"
	}
	return d.Label()
}

// DriftMessage renders a drift post: the fallback text and the blocks.
func DriftMessage(d rotation.DriftRecord) (string, []slack.Block) {
	place := driftPlace(d)
	switch {
	case d.Open:
		return clip(fmt.Sprintf("Drift: %s on %s", d.Secret, place), 300), driftOpenBlocks(d)
	case d.RepairedBy != "":
		by := rotation.Mention(d.RepairedBy)
		if d.ApprovedBy != "" {
			by += ", approved by " + rotation.Mention(d.ApprovedBy) + ","
		}
		text := fmt.Sprintf("✅ *Drift repaired* · %s on %s\n%s set it from Infisical (version %d, `%s`) at %s, and it was verified.\n_Was: %s._",
			d.Secret, place, by, d.VaultVersion, d.Fingerprint, rotation.DateText(d.Resolved), d.Problem)
		return clip(fmt.Sprintf("Drift repaired: %s on %s", d.Secret, place), 300), []slack.Block{section(clip(text, 2900))}
	}
	text := fmt.Sprintf("✅ *Drift resolved* · %s on %s\nIt matches again (seen at %s).\n_Was: %s._", d.Secret, place, rotation.DateText(d.Resolved), d.Problem)
	return clip(fmt.Sprintf("Drift resolved: %s on %s", d.Secret, place), 300), []slack.Block{section(clip(text, 2900))}
}

// driftOpenBlocks is an open drift's post: the problem, what Set it from
// Infisical would do, and the one button that makes sense now — none when
// Infisical holds a retired token, Approve once a repair of every destination
// was asked for.
func driftOpenBlocks(d rotation.DriftRecord) []slack.Block {
	place := driftPlace(d)
	lines := []string{fmt.Sprintf("🧭 *Drift* · %s on %s", d.Secret, place), d.Problem + "."}
	seen := fmt.Sprintf("Seen at %s by the drift check. This post is updated when the drift ends; it is not repeated.", rotation.DateText(d.Since))
	value := fmt.Sprintf("%s|%s|%d", d.Key, d.Stamp(), d.VaultVersion)
	dest := "this destination only (" + place + ")"
	if d.Dest == "" {
		dest = "every Heroku and GitHub Actions destination of " + d.Secret
	}
	var b *slack.ButtonBlockElement
	switch {
	case d.Retired != nil:
		lines = append(lines, fmt.Sprintf("Nothing sets that token anywhere: `/rotate %s` starts a rotation with a brand-new one.", d.Secret), seen)
		return []slack.Block{section(clip(strings.Join(lines, "\n"), 2900))}
	case d.RequestedBy != "":
		lines = append(lines, fmt.Sprintf("%s asked at %s to set %s from Infisical's version %d (`%s`). Another ops member approves (not %s); nothing is written before.",
			rotation.Mention(d.RequestedBy), rotation.DateText(d.RequestedAt), dest, d.RequestedVersion, d.Fingerprint, rotation.Mention(d.RequestedBy)), seen)
		b = slack.NewButtonBlockElement(ActDriftApprove, fmt.Sprintf("%s|%s|%d", d.Key, d.Stamp(), d.RequestedVersion), ptxt(LabelApprove))
		b.Confirm = confirmDialog("Approve setting it from Infisical?", fmt.Sprintf("rotabot writes Infisical's %s (version %d, %s) to %s and verifies each. %s asked for it. Nothing else changes.",
			d.Secret, d.RequestedVersion, d.Fingerprint, dest, rotation.Mention(d.RequestedBy)), "Approve")
	case d.Dest == "":
		lines = append(lines, fmt.Sprintf("Set it from Infisical asks to write Infisical's current value (version %d, `%s`) to %s and verify each; a second ops member approves before anything is written. Shell-rc operators are not told.",
			d.VaultVersion, d.Fingerprint, dest), seen)
		b = slack.NewButtonBlockElement(ActDriftRepair, value, ptxt(LabelDriftRepair))
		b.Confirm = confirmDialog("Ask to set it from Infisical?", fmt.Sprintf("You ask a second ops member to approve writing Infisical's current %s (version %d, %s) to %s. Nothing is written before they approve.",
			d.Secret, d.VaultVersion, d.Fingerprint, dest), "Ask")
	default:
		lines = append(lines, fmt.Sprintf("Set it from Infisical writes Infisical's current value (version %d, `%s`) to this destination only and verifies it.", d.VaultVersion, d.Fingerprint), seen)
		b = slack.NewButtonBlockElement(ActDriftRepair, value, ptxt(LabelDriftRepair))
		b.Confirm = confirmDialog("Set it from Infisical?", fmt.Sprintf("rotabot writes Infisical's current %s (version %d, %s) to %s and verifies it. Nothing else changes.",
			d.Secret, d.VaultVersion, d.Fingerprint, dest), "Set it")
	}
	b.Style = slack.StylePrimary
	return []slack.Block{section(clip(strings.Join(lines, "\n"), 2900)), slack.NewActionBlock("drift_repair", b)}
}

// driftButton reads a drift button's value: key|stamp|version (a post made
// before versions were named has none: 0, the record's).
func driftButton(value string) (key, stamp string, version int) {
	parts := strings.SplitN(value, "|", 3)
	key = parts[0]
	if len(parts) > 1 {
		stamp = parts[1]
	}
	if len(parts) > 2 {
		version, _ = strconv.Atoi(parts[2])
	}
	return key, stamp, version
}

// repairDrift is Set it from Infisical: any ops member (the confirm dialog went
// before), the drift and the version the post showed. A repair of every
// destination is only asked for: the post shows Approve.
func (h *Handlers) repairDrift(ctx context.Context, c *click) {
	if !h.requireOps(ctx, c.reply, c.user) {
		return
	}
	if h.Drift == nil {
		c.reply.say(ctx, "The drift check is not running in this bot. Nothing was changed.")
		return
	}
	key, stamp, version := driftButton(c.action.Value)
	d, err := h.Drift.Repair(ctx, key, stamp, version, c.user)
	if !h.driftAnswer(ctx, c, err) {
		return
	}
	if d.Open {
		c.reply.say(ctx, fmt.Sprintf("Asked: another ops member approves setting every destination of %s from Infisical's version %d (`%s`) on the post. Nothing is written before.",
			d.Secret, d.RequestedVersion, d.Fingerprint))
		return
	}
	h.driftDone(ctx, c, d)
}

// approveDrift is Approve on a drift post: another ops member than the one
// who asked, for the version the request named.
func (h *Handlers) approveDrift(ctx context.Context, c *click) {
	if !h.requireOps(ctx, c.reply, c.user) {
		return
	}
	if h.Drift == nil {
		c.reply.say(ctx, "The drift check is not running in this bot. Nothing was changed.")
		return
	}
	key, stamp, version := driftButton(c.action.Value)
	d, err := h.Drift.ApproveRepair(ctx, key, stamp, version, c.user)
	if h.driftAnswer(ctx, c, err) {
		h.driftDone(ctx, c, d)
	}
}

// driftAnswer tells the person a refusal (ephemeral): false when there was one.
func (h *Handlers) driftAnswer(ctx context.Context, c *click, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, rotation.ErrDriftMovedOn) || rotation.ErrorCode(err) != rotation.EINTERNAL:
		c.reply.say(ctx, rotation.ErrorMessage(err))
	default:
		c.reply.fail(ctx, err)
	}
	return false
}

func (h *Handlers) driftDone(ctx context.Context, c *click, d rotation.DriftRecord) {
	c.reply.say(ctx, fmt.Sprintf("Done: %s on %s now holds Infisical's version %d (`%s`), verified. The audit entry is %s.",
		d.Secret, driftPlace(d), d.VaultVersion, d.Fingerprint, rotation.ActionDriftRepaired))
}

// drift is /rotate drift: a drift pass now, and what is open after it.
func (h *Handlers) drift(ctx context.Context, r replier) {
	if h.Drift == nil {
		r.say(ctx, "The drift check is not running in this bot.")
		return
	}
	r.say(ctx, "⏳ Comparing every destination with Infisical…")
	rep, err := h.Drift.Pass(ctx)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.say(ctx, clip(DriftReportText(rep), expiryTextChars))
}

// DriftReportText renders a pass's report.
func DriftReportText(rep rotation.DriftReport) string {
	var b strings.Builder
	if rep.Busy {
		b.WriteString("*Drift check* — another rotabot process is checking right now; this is what is known.\n")
	} else {
		fmt.Fprintf(&b, "*Drift check* — %s compared with Infisical: %s read, %s asked when they were written.",
			rotation.Plural(rep.Secrets, "secret", "secrets"), rotation.Plural(rep.Apps, "Heroku config", "Heroku configs"),
			rotation.Plural(rep.Dated, "GitHub Actions secret", "GitHub Actions secrets"))
		if len(rep.Skipped) > 0 {
			fmt.Fprintf(&b, " Skipped (an open run sets them): %s.", strings.Join(rep.Skipped, ", "))
		}
		b.WriteString("\n")
		if rep.New > 0 || rep.Resolved > 0 {
			fmt.Fprintf(&b, "%d new, %d resolved in this check.\n", rep.New, rep.Resolved)
		}
	}
	if len(rep.Open) == 0 {
		b.WriteString("✅ No drift: every destination holds what rotabot last set.\n")
	} else {
		fmt.Fprintf(&b, "*Open drift (%d)* — each has a post in the ops channel with *%s*:\n", len(rep.Open), LabelDriftRepair)
		for _, d := range rep.Open {
			b.WriteString("• " + DriftLine(d) + "\n")
		}
	}
	for _, p := range rep.Problems {
		b.WriteString("⚠️ not checked: " + p + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// driftSection is the open drift for App Home and /rotate expiring ("" when
// there is none), within max characters.
func driftSection(ds []rotation.DriftRecord, max int) string {
	if len(ds) == 0 {
		return ""
	}
	lines := []string{fmt.Sprintf("*Drift (%d)* — a destination no longer holds what rotabot set (`/rotate drift` checks now):", len(ds))}
	used := slackLen(lines[0])
	for i, d := range ds {
		l := "• " + DriftLine(d)
		if used+slackLen(l)+1 > max-80 {
			lines = append(lines, fmt.Sprintf("…and %d more", len(ds)-i))
			break
		}
		lines = append(lines, l)
		used += slackLen(l) + 1
	}
	return strings.Join(lines, "\n")
}

// openDrift is driftSection of what is stored ("" when there is none, or the
// drift check is off).
func (h *Handlers) openDrift(ctx context.Context, max int) string {
	if h.Drift == nil {
		return ""
	}
	ds, err := h.Drift.OpenDrifts(ctx)
	if err != nil {
		h.Log.Warn("could not read the open drift", "err", err)
		return ""
	}
	return driftSection(ds, max)
}
