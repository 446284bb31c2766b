// Package bot is rotabot's Slack Socket Mode wiring: it connects with the app
// token, receives envelopes, acks each one first (Slack's deadline is 3 s), drops
// redelivered ones, and hands the rest to the handlers; slack-go reconnects after
// a disconnect or a dropped link. No ack waits for handler work: the handlers run
// on a bounded number of workers, a person's gesture ahead of slash commands, and
// start once the link is quiet for a moment, so two hundred commands at once are
// all acked before their handlers take the CPU. On shutdown it stops taking new
// envelopes and waits for the ones in hand, queued ones included.
//
// It must not decide policy — who may do what, what a button means — which is the
// handlers' job, and it knows nothing of GitHub, Infisical, Heroku or the engine.
package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/raxx-app/rotabot/rotation"
)

// Handler is what the bot dispatches to (package handlers implements it).
type Handler interface {
	Command(ctx context.Context, cmd slack.SlashCommand)
	Action(ctx context.Context, cb slack.InteractionCallback)
	// ViewSubmission runs before the ack: its answer is the ack's payload.
	ViewSubmission(ctx context.Context, cb slack.InteractionCallback) *slack.ViewSubmissionResponse
	HomeOpened(ctx context.Context, user string)
}

// Dedupe remembers handled envelopes (the store).
type Dedupe = rotation.EnvelopeStore

// Config is what a Bot needs, set by the command (or a test). New fills in the
// defaults; the config is not changed after.
type Config struct {
	Client  *socketmode.Client
	Handler Handler
	// Dedupe remembers handled envelopes; nil drops nothing.
	Dedupe Dedupe
	Log    *slog.Logger     // default: discard
	Now    func() time.Time // default rotation.WallNow
	// AckBudget is how long after a view submission's envelope arrived its answer
	// may take: the answer travels in the ack, which Slack wants within 3 s of
	// sending it (default DefaultAckBudget). The de-duplication write and the
	// handler (with its ops-group lookup) both spend it.
	AckBudget time.Duration
	// Workers is how many handlers run at once (default DefaultWorkers). The
	// envelopes past it wait, acked already and in order, a gesture (a button,
	// App Home) ahead of any slash command; a view submission, whose answer
	// travels in its ack, does not wait. While every worker is busy, as many
	// again may run gestures only: slow commands (a dry run waiting on a paced
	// service) never hold a person's button back.
	Workers int
}

// DefaultAckBudget leaves half a second of Slack's 3 s for the ack's own trip.
const DefaultAckBudget = 2500 * time.Millisecond

// DefaultWorkers bounds the handlers running at once: enough that a handler
// waiting on Slack, GitHub or the vault leaves others going, few enough that a
// burst of envelopes does not crowd out the loop that acks them.
const DefaultWorkers = 8

// Bot runs the Socket Mode loop. Build it with New.
type Bot struct {
	Config

	wg sync.WaitGroup // every envelope in hand: running, or waiting for a worker

	qmu      sync.Mutex
	gestures []func(context.Context) // waiting handlers of people's gestures
	commands []func(context.Context) // waiting handlers of slash commands
	running  int                     // workers running
	pressing int                     // workers running gestures only
	since    time.Time               // when the oldest waiting handler was queued
}

// New returns a bot on c, with c's defaults filled in once.
func New(c Config) *Bot {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = rotation.WallNow
	}
	if c.AckBudget <= 0 {
		c.AckBudget = DefaultAckBudget
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	return &Bot{Config: c}
}

// AckFirst is how long the link must be quiet before the handlers of the
// envelopes just acked start: while envelopes keep arriving, the CPU goes to
// acking them, and the work waits (at most HoldMax).
const (
	AckFirst = 3 * time.Millisecond
	HoldMax  = 100 * time.Millisecond
)

// Run connects and serves until ctx ends, then waits for the envelopes in hand
// (their handlers run under work, which outlives ctx so the step in hand can finish).
func (b *Bot) Run(ctx, work context.Context) error {
	runErr := make(chan error, 1)
	go func() { runErr <- b.Client.RunContext(ctx) }()
	quiet := time.NewTimer(time.Hour)
	defer quiet.Stop()
	defer func() {
		b.startWorkers(work)
		b.wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode stopped: %w", err)
		case evt, ok := <-b.Client.Events:
			if !ok {
				return nil
			}
			b.handle(ctx, work, evt)
			quiet.Reset(AckFirst)
		case <-quiet.C:
			b.startWorkers(work)
		}
	}
}

// Wait waits for handlers started by Run.
func (b *Bot) Wait() { b.wg.Wait() }

func (b *Bot) handle(ctx, work context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.Log.Info("connecting to Slack")
	case socketmode.EventTypeConnected:
		b.Log.Info("connected to Slack")
	case socketmode.EventTypeConnectionError:
		b.Log.Warn("Slack connection failed; retrying", "err", fmt.Sprint(evt.Data))
	case socketmode.EventTypeInvalidAuth:
		b.Log.Error("Slack refused SLACK_APP_TOKEN (invalid_auth): check the app-level token")
	case socketmode.EventTypeDisconnect:
		b.Log.Info("Slack asked to reconnect")
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		b.ack(evt.Request, nil)
		b.spawn(work, false, func(c context.Context) {
			if !b.seen(c, evt.Request, "slash:"+cmd.TriggerID) {
				b.Handler.Command(c, cmd)
			}
		})
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		switch cb.Type {
		case slack.InteractionTypeViewSubmission:
			key := "view:" + cb.View.ID + ":" + cb.View.Hash
			// The ack carries the answer (errors under the input), so validate first,
			// in this envelope's goroutine, within a budget that counts from now —
			// the envelope's arrival — so the de-duplication write and the handler's
			// own lookups cannot make the ack late.
			budget, cancel := context.WithTimeout(work, b.AckBudget)
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer cancel()
				// A panic leaves the envelope unacked: Slack shows the person an
				// error and keeps the form; the handler answers its own panics.
				defer b.recover("view submission")
				if b.seen(budget, evt.Request, key) {
					b.ack(evt.Request, nil)
					return
				}
				b.ack(evt.Request, b.Handler.ViewSubmission(budget, cb))
			}()
		case slack.InteractionTypeBlockActions:
			key := "action:" + cb.TriggerID
			if len(cb.ActionCallback.BlockActions) > 0 {
				key += ":" + cb.ActionCallback.BlockActions[0].ActionTs
			}
			b.ack(evt.Request, nil)
			b.spawn(work, true, func(c context.Context) {
				if !b.seen(c, evt.Request, key) {
					b.Handler.Action(c, cb)
				}
			})
		default:
			b.ack(evt.Request, nil)
		}
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			return
		}
		key := "event:"
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
			key += cb.EventID
		}
		b.ack(evt.Request, nil)
		if home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok && home.Tab == "home" {
			b.spawn(work, true, func(c context.Context) {
				if !b.seen(c, evt.Request, key) {
					b.Handler.HomeOpened(c, home.User)
				}
			})
		}
	}
}

// spawn queues fn (a gesture's ahead of slash commands). Its worker starts
// once the link is quiet (Run), or now when the oldest waiting handler has
// waited HoldMax; a worker ends when nothing waits.
func (b *Bot) spawn(work context.Context, gesture bool, fn func(context.Context)) {
	b.wg.Add(1)
	b.qmu.Lock()
	if len(b.gestures)+len(b.commands) == 0 {
		b.since = time.Now()
	}
	if gesture {
		b.gestures = append(b.gestures, fn)
	} else {
		b.commands = append(b.commands, fn)
	}
	late := time.Since(b.since) >= HoldMax
	b.qmu.Unlock()
	if late {
		b.startWorkers(work)
	}
}

// startWorkers starts workers for the waiting handlers, up to Workers running,
// and for the waiting gestures past them, up to Workers more.
func (b *Bot) startWorkers(work context.Context) {
	b.qmu.Lock()
	n := max(min(b.Workers-b.running, len(b.gestures)+len(b.commands)), 0)
	b.running += n
	g := max(min(b.Workers-b.pressing, len(b.gestures)-n), 0)
	b.pressing += g
	b.qmu.Unlock()
	for range n {
		go b.worker(work, false)
	}
	for range g {
		go b.worker(work, true)
	}
}

// worker runs waiting handlers (gestures only: only gestures) until none is left.
func (b *Bot) worker(work context.Context, gestures bool) {
	for {
		fn := b.next(gestures)
		if fn == nil {
			return
		}
		b.runHandler(work, fn)
	}
}

// next takes the next waiting handler, or ends the calling worker (nil).
func (b *Bot) next(gesturesOnly bool) func(context.Context) {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	q := &b.commands
	if len(b.gestures) > 0 || gesturesOnly {
		q = &b.gestures
	}
	if len(*q) == 0 {
		if gesturesOnly {
			b.pressing--
		} else {
			b.running--
		}
		return nil
	}
	fn := (*q)[0]
	(*q)[0] = nil
	*q = (*q)[1:]
	return fn
}

func (b *Bot) runHandler(work context.Context, fn func(context.Context)) {
	defer b.wg.Done()
	defer b.recover("handler")
	fn(work)
}

// recover stops a panic from ending the process. The log line has the panic's
// type and the stack, never its value, which could hold anything the handler had
// in hand.
func (b *Bot) recover(what string) {
	if p := recover(); p != nil {
		b.Log.Error(what+" panicked", "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
	}
}

func (b *Bot) ack(req *socketmode.Request, payload any) {
	var err error
	if payload == nil {
		err = b.Client.Ack(*req)
	} else {
		err = b.Client.Ack(*req, payload)
	}
	if err != nil {
		b.Log.Warn("could not ack an envelope", "envelope", req.EnvelopeID, "err", err)
	}
}

// seen reports whether the envelope was handled already: its envelope_id, or, for
// a redelivery (retry_attempt > 0), its content key (trigger id, event id).
func (b *Bot) seen(ctx context.Context, req *socketmode.Request, key string) bool {
	if b.Dedupe == nil {
		return false
	}
	// The content key is marked only by the process that wins the envelope id,
	// in the same transaction: two processes given the same envelope (the
	// original and a redelivery) cannot each win one of the two marks and both
	// drop it.
	if _, id, _ := strings.Cut(key, ":"); id == "" || strings.HasSuffix(key, ":") {
		key = ""
	}
	dup, dupKey, err := b.Dedupe.MarkEnvelope(ctx, "env:"+req.EnvelopeID, key, b.Now())
	if err != nil {
		b.Log.Warn("could not record an envelope", "envelope", req.EnvelopeID, "err", err)
		return false
	}
	if dupKey && req.RetryAttempt > 0 {
		dup = true
	}
	if dup {
		b.Log.Info("dropped a redelivered envelope", "envelope", req.EnvelopeID, "retry_attempt", req.RetryAttempt, "retry_reason", req.RetryReason)
	}
	return dup
}
