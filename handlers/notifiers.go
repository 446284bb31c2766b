package handlers

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/raxx-app/rotabot/rotation/expiry"
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
	dms     dms
}

// RunReader reads a run as stored (the store).
type RunReader interface {
	GetRun(ctx context.Context, id string) (*rotation.Run, error)
}

// NotifierConfig is what a Notifier needs. Slack, Matrix and Runs are required.
type NotifierConfig struct {
	Slack  Slack
	Matrix *rotation.Matrix
	// Runs reads a run to draw its card when the card's update goes out, and
	// again to redraw a card whose update failed.
	Runs RunReader
	Log  *slog.Logger // default: discard
	// Work is the context card redraws run under; it outlives a single change
	// (default: context.Background()).
	Work context.Context
}

// CardEvery, the least time between two updates of one card, lets a run's changes of one moment (a step ending, the next
// starting, each destination's outcome) reach its card as one update instead of
// one each; a card still shows its run's state within a fraction of a second.
const CardEvery = 250 * time.Millisecond

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
// that it tells the card's outbox (outbox.go) that the card is to be drawn again
// and hands it the note: the outbox updates the card and posts in its thread as
// fast as Slack allows, drawing the card from the run as stored when the update's
// turn comes (the latest state wins, and a change that is overtaken before its
// turn is never drawn). It returns an error only when the card could not be posted.
func (n *Notifier) RunChanged(ctx context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	ref := r.Card
	if ref.Channel == "" {
		return ref, nil // a CLI run: nobody in Slack to show it to
	}
	if ref.TS == "" {
		fallback, blocks := n.drawn(r)
		_, ts, err := n.slack.PostMessageContext(ctx, ref.Channel, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			return ref, rotation.Wrap(rotation.EUNAVAILABLE, err, "could not post the card of %s", r.ID)
		}
		ref.TS = ts
		n.enqueue(ref, "", note)
		return ref, nil
	}
	n.enqueue(ref, r.ID, note)
	return ref, nil
}

// draw is the card of the run as stored now: its fallback text and its blocks.
func (n *Notifier) draw(ctx context.Context, id string) (string, []slack.Block, error) {
	r, err := n.runs.GetRun(ctx, id)
	if err != nil {
		return "", nil, rotation.Wrap(rotation.ErrorCode(err), err, "could not read run %s to draw its card", id)
	}
	fallback, blocks := n.drawn(r)
	return fallback, blocks, nil
}

// drawn is r's card: its fallback text and its blocks.
func (n *Notifier) drawn(r *rotation.Run) (string, []slack.Block) {
	return card.RunText(r), card.Run(r, n.plan(r), CardButtons())
}

// updateCard updates the card in place; an update is idempotent, so a failure
// (Slack 5xx, or 429s past the queue's own waits) is retried a few times here.
func (n *Notifier) updateCard(ctx context.Context, id string, ref rotation.CardRef, fallback string, blocks []slack.Block) error {
	var err error
	wait := 500 * time.Millisecond
	for try := 1; try <= 3; try++ {
		_, _, _, err = n.slack.UpdateMessageContext(ctx, ref.Channel, ref.TS, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
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
			fallback, blocks := n.drawn(r)
			if err := n.updateCard(ctx, id, r.Card, fallback, blocks); err == nil {
				n.log.Info("card redrawn after Slack failed", "run", id)
				return
			}
		}
		n.log.Error("the card could not be redrawn: Slack keeps refusing; /rotate status shows the run", "run", id)
	}()
}

// dms are the DM channels Slack opened with people (conversations.open). Slack
// answers the same channel every time for the same person, so a run's DMs, and
// a morning of reminders, open each person's once. A post that fails forgets
// the person's channel: the next DM opens it again.
type dms struct {
	mu sync.Mutex
	by map[string]string // user id → DM channel id
}

// dmsKept bounds the channels remembered: an ops team's people, many times over.
const dmsKept = 1000

// open opens a DM with user (a user id), or uses a DM channel id as is.
func (d *dms) open(ctx context.Context, api Slack, user string) (string, error) {
	if strings.HasPrefix(user, "D") {
		return user, nil
	}
	d.mu.Lock()
	ch, ok := d.by[user]
	d.mu.Unlock()
	if ok {
		return ch, nil
	}
	c, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", rotation.Wrap(rotation.EUNAVAILABLE, err, "could not open a DM with <@%s>", user)
	}
	d.mu.Lock()
	if d.by == nil || len(d.by) >= dmsKept {
		d.by = map[string]string{}
	}
	d.by[user] = c.ID
	d.mu.Unlock()
	return c.ID, nil
}

// forget drops user's DM channel, after a post to it failed.
func (d *dms) forget(user string) {
	d.mu.Lock()
	delete(d.by, user)
	d.mu.Unlock()
}

// AskOperator DMs a shell-rc operator what to do. The DM never holds the token:
// it says how to pull it from Infisical.
func (n *Notifier) AskOperator(ctx context.Context, r *rotation.Run, op string, action rotation.OperatorAction) error {
	ch, err := n.dms.open(ctx, n.slack, op)
	if err != nil {
		return err
	}
	cur, _ := n.matrix.Refs(r.Secret)
	if r.VaultPath != "" {
		cur.Path = r.VaultPath
	}
	text, blocks := card.OperatorDM(r, action, cur)
	_, _, err = n.slack.PostMessageContext(ctx, ch, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		n.dms.forget(op)
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not DM <@%s>", op)
	}
	return nil
}

// Audited posts the entry to the audit channel, or to the run's thread when the
// routing matrix names no audit channel.
func (n *Notifier) Audited(ctx context.Context, r *rotation.Run, e rotation.AuditEntry) error {
	ch, opts := n.matrix.AuditChannel, []slack.MsgOption{slack.MsgOptionText(card.AuditText(e), false)}
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

// ReminderNotifier shows expiry reminders in Slack: a DM to each owner
// (conversations.open, then chat.postMessage) and one post in the ops channel,
// each with a Start rotation button. It implements expiry.Notifier. A
// reminder carries a fingerprint, never a token.
type ReminderNotifier struct {
	Slack Slack
	// Channel is the ops channel: reminders are posted there, and runs start there.
	Channel string
	dms     dms
}

var _ expiry.Notifier = (*ReminderNotifier)(nil)

// RemindOwner DMs one owner.
func (n *ReminderNotifier) RemindOwner(ctx context.Context, owner string, rem expiry.Reminder) error {
	ch, err := n.dms.open(ctx, n.Slack, owner)
	if err != nil {
		return err
	}
	text, blocks := card.ReminderMessage(rem, false, n.Channel)
	if _, _, err := n.Slack.PostMessageContext(ctx, ch, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		n.dms.forget(owner)
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not DM <@%s> the reminder of %s", owner, rem.Secret)
	}
	return nil
}

// RemindChannel posts the reminder in the ops channel, naming the owners.
func (n *ReminderNotifier) RemindChannel(ctx context.Context, rem expiry.Reminder) error {
	ch := n.Channel
	text, blocks := card.ReminderMessage(rem, true, ch)
	if _, _, err := n.Slack.PostMessageContext(ctx, ch, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not post the reminder of %s in <#%s>", rem.Secret, ch)
	}
	return nil
}

// DriftNotifier shows drift in the ops channel: one post per drift, updated in
// place (chat.update) when the drift resolves by itself or is repaired, and a
// repair's audit entry in the audit channel. It implements drift.Notifier;
// a drift carries names, versions and Infisical's fingerprint, never a value.
type DriftNotifier struct {
	Slack Slack
	// Channel is the ops channel; AuditChannel the audit channel ("": the
	// drift post's thread).
	Channel, AuditChannel string
}

var _ drift.Notifier = (*DriftNotifier)(nil)

// ShowDrift posts the drift, or updates its post.
func (n *DriftNotifier) ShowDrift(ctx context.Context, d drift.Record) (rotation.CardRef, error) {
	text, blocks := card.DriftMessage(d)
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
func (n *DriftNotifier) DriftAudited(ctx context.Context, d drift.Record, e rotation.AuditEntry) error {
	ch, opts := n.AuditChannel, []slack.MsgOption{slack.MsgOptionText(card.AuditText(e), false)}
	if ch == "" {
		if d.Post.TS == "" {
			return nil
		}
		ch = d.Post.Channel
		opts = append(opts, slack.MsgOptionTS(d.Post.TS))
	}
	return postAudit(ctx, n.Slack, ch, opts...)
}
