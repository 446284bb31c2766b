package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// Notifier shows the engine's changes in Slack: it posts a run's card once and
// updates it in place, puts each step's detail in the card's thread, DMs shell-rc
// operators and posts audit entries. It implements rotation.Notifier: it returns
// where it posted a card and the engine records it; it never changes a run.
type Notifier struct {
	slack  Slack
	matrix *rotation.Matrix
	runs   RunReader
	log    *slog.Logger
	work   context.Context
	// healing holds runs whose card is being redrawn after a failed update.
	healing sync.Map
	// boxes is each busy card's outbox (outbox.go); sending counts their senders.
	boxMu   sync.Mutex
	boxes   map[rotation.CardRef]*cardBox
	sending sync.WaitGroup
}

// RunReader reads a run as stored (the store).
type RunReader interface {
	GetRun(ctx context.Context, id string) (*rotation.Run, error)
}

// NotifierConfig is what a Notifier needs. Slack, Matrix and Runs are required.
type NotifierConfig struct {
	Slack  Slack
	Matrix *rotation.Matrix
	// Runs reads a run again to redraw a card whose update failed.
	Runs RunReader
	Log  *slog.Logger // default: discard
	// Work is the context card redraws run under; it outlives a single change
	// (default: context.Background()).
	Work context.Context
}

// NewNotifier returns a Notifier; defaults are applied here, once.
func NewNotifier(c NotifierConfig) *Notifier {
	n := &Notifier{slack: c.Slack, matrix: c.Matrix, runs: c.Runs, log: c.Log, work: c.Work}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.work == nil {
		n.work = context.Background()
	}
	return n
}

var _ rotation.Notifier = (*Notifier)(nil)

func (n *Notifier) plan(r *rotation.Run) *rotation.Plan {
	if r.State != rotation.StateWaitingToken {
		return nil
	}
	p, err := n.matrix.Plan(r.Secret, rotation.Overrides{}, r.Created)
	if err != nil {
		return nil
	}
	return &p
}

// RunChanged posts the run's card the first time and returns where it is; after
// that it hands the card's new drawing and note to the card's outbox (outbox.go),
// which updates the card and posts in its thread as fast as Slack allows, the
// latest drawing winning. It returns an error only when the card could not be posted.
func (n *Notifier) RunChanged(ctx context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	card := r.Card
	if card.Channel == "" {
		return card, nil // a CLI run: nobody in Slack to show it to
	}
	blocks := Card(r, n.plan(r))
	fallback := fmt.Sprintf("Rotation %s of %s: %s", r.ID, r.Secret, r.State.Word())
	if card.TS == "" {
		_, ts, err := n.slack.PostMessageContext(ctx, card.Channel, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			return card, rotation.Wrap(rotation.EUNAVAILABLE, err, "could not post the card of %s", r.ID)
		}
		card.TS = ts
		n.enqueue(card, nil, note)
		return card, nil
	}
	n.enqueue(card, &drawing{id: r.ID, fallback: fallback, blocks: blocks}, note)
	return card, nil
}

// updateCard updates the card in place; an update is idempotent, so a failure
// (Slack 5xx, or 429s past the queue's own waits) is retried a few times here.
func (n *Notifier) updateCard(ctx context.Context, id string, card rotation.CardRef, fallback string, blocks []slack.Block) error {
	var err error
	wait := 500 * time.Millisecond
	for try := 1; try <= 3; try++ {
		_, _, _, err = n.slack.UpdateMessageContext(ctx, card.Channel, card.TS, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
		if err == nil {
			return nil
		}
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) && rl.RetryAfter > wait {
			wait = rl.RetryAfter
		}
		if try < 3 && rotation.Sleep(ctx, wait) != nil {
			break
		}
		wait *= 2
	}
	return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not update the card of %s", id)
}

// healLater redraws a card whose update failed, from the run as stored then, a
// few times over the next minutes: a card never stays behind its run for good.
func (n *Notifier) healLater(id string) {
	if _, busy := n.healing.LoadOrStore(id, struct{}{}); busy {
		return
	}
	ctx := n.work
	go func() {
		defer n.healing.Delete(id)
		for _, d := range []time.Duration{15 * time.Second, time.Minute, 5 * time.Minute} {
			if rotation.Sleep(ctx, d) != nil {
				return
			}
			r, err := n.runs.GetRun(ctx, id)
			if err != nil {
				continue
			}
			blocks := Card(r, n.plan(r))
			fallback := fmt.Sprintf("Rotation %s of %s: %s", r.ID, r.Secret, r.State.Word())
			if err := n.updateCard(ctx, id, r.Card, fallback, blocks); err == nil {
				n.log.Info("card redrawn after Slack failed", "run", id)
				return
			}
		}
		n.log.Error("the card could not be redrawn: Slack keeps refusing; /rotate status shows the run", "run", id)
	}()
}

// openDM opens a DM with user (a user id), or uses a DM channel id as is.
func openDM(ctx context.Context, api Slack, user string) (string, error) {
	if strings.HasPrefix(user, "D") {
		return user, nil
	}
	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", rotation.Wrap(rotation.EUNAVAILABLE, err, "could not open a DM with <@%s>", user)
	}
	return ch.ID, nil
}

// AskOperator DMs a shell-rc operator what to do. The DM never holds the token:
// it says how to pull it from Infisical.
func (n *Notifier) AskOperator(ctx context.Context, r *rotation.Run, op string, action rotation.OperatorAction) error {
	ch, err := openDM(ctx, n.slack, op)
	if err != nil {
		return err
	}
	cur, _ := n.matrix.Refs(r.Secret)
	if r.VaultPath != "" {
		cur.Path = r.VaultPath
	}
	pull := fmt.Sprintf("```export %s=\"$(infisical secrets get %s --env=%s --path=%s --plain --projectId=$INFISICAL_PROJECT_ID)\"```",
		r.Secret, r.Secret, cur.Environment, cur.Path)
	var text string
	var blocks []slack.Block
	switch action {
	case rotation.OperatorRevert:
		text = fmt.Sprintf("↩️ Rotation %s of *%s* was rolled back: the old token is current again in Infisical. Put it back in your shell rc (e.g. ~/.zshrc):\n%s\nthen open a new shell.", r.ID, r.Secret, pull)
		blocks = []slack.Block{section(text)}
	default:
		text = fmt.Sprintf("🔄 *%s* was rotated (run %s, new token `%s`). Update your shell rc (e.g. ~/.zshrc) from Infisical:\n%s\nthen open a new shell and press *%s*.", r.Secret, r.ID, r.NewFingerprint, pull, LabelDone)
		done := slack.NewButtonBlockElement(ActDone, r.ID+"||"+runStamp(r), ptxt(LabelDone))
		done.Style = slack.StylePrimary
		blocks = []slack.Block{section(text), slack.NewActionBlock("done_"+r.ID, done)}
	}
	_, _, err = n.slack.PostMessageContext(ctx, ch, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not DM <@%s>", op)
	}
	return nil
}

// AuditText is the audit post its first line is the action.
func AuditText(e rotation.AuditEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", e.Action)
	if e.Action == rotation.ActionDriftRepaired {
		fmt.Fprintf(&b, "secret: %s · set from Infisical by %s", e.Secret, rotation.Mention(e.Actor))
		if e.Approver != "" {
			fmt.Fprintf(&b, " · approver: %s", rotation.Mention(e.Approver))
		}
		fmt.Fprintf(&b, " · new %s", orNone(e.NewFingerprint))
		for _, d := range e.Destinations {
			fmt.Fprintf(&b, "\n• %s: %s", d.Destination, d.Result)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "secret: %s · run %s\n", e.Secret, e.RunID)
	fmt.Fprintf(&b, "actor: %s", rotation.Mention(e.Actor))
	if e.Approver != "" {
		fmt.Fprintf(&b, " · approver: <@%s>", e.Approver)
	}
	fmt.Fprintf(&b, "\ntoken: %s · method: %s", e.TokenKind, e.Method)
	if e.RevokeMethod != "" {
		fmt.Fprintf(&b, " · revoke: %s", e.RevokeMethod)
	}
	fmt.Fprintf(&b, "\nfingerprints: old %s → new %s\n", orNone(e.OldFingerprint), orNone(e.NewFingerprint))
	fmt.Fprintf(&b, "expiry: old %s → new %s\n", rotation.ExpiryText(e.OldExpiry), rotation.ExpiryText(e.NewExpiry))
	b.WriteString("destinations:")
	for _, d := range e.Destinations {
		fmt.Fprintf(&b, "\n• %s: %s", d.Destination, d.Result)
	}
	if e.Action == rotation.ActionAbandoned {
		fmt.Fprintf(&b, "\nabandoned in: %s (%s)\nreason: %s\nleft:", e.FromState.Word(), e.FromState, e.Reason)
		for _, l := range e.Leaves {
			fmt.Fprintf(&b, "\n• %s", l)
		}
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Audited posts the entry to the audit channel, or to the run's thread when the
// routing matrix names no audit channel.
func (n *Notifier) Audited(ctx context.Context, r *rotation.Run, e rotation.AuditEntry) error {
	ch, opts := n.matrix.AuditChannel, []slack.MsgOption{slack.MsgOptionText(AuditText(e), false)}
	if ch == "" {
		if r.Card.Channel == "" {
			return nil
		}
		ch = r.Card.Channel
		opts = append(opts, slack.MsgOptionTS(r.Card.TS))
	}
	return postAudit(ctx, n.slack, ch, opts...)
}

// postAudit posts an audit entry. Slack limiting the channel never drops it: the
// post waits each Retry-After (the queue's) and is made again for as long as ctx
// lasts; any other failure is returned, and the run's audit step tries again
// (after a restart too: the run stays in its audit step until Slack takes it).
func postAudit(ctx context.Context, api Slack, ch string, opts ...slack.MsgOption) error {
	for {
		_, _, err := api.PostMessageContext(ctx, ch, opts...)
		var rl *slack.RateLimitedError
		if err == nil || !errors.As(err, &rl) || ctx.Err() != nil {
			if err != nil {
				return rotation.Wrap(rotation.EUNAVAILABLE, err, "Slack did not take the audit post")
			}
			return nil
		}
		if rotation.Sleep(ctx, rl.RetryAfter) != nil {
			return rotation.Wrap(rotation.EUNAVAILABLE, err, "Slack did not take the audit post")
		}
	}
}
