package bot_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/bot"
	"github.com/raxx-app/rotabot/sandbox"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/raxx-app/rotabot/store/bbolt"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// These tests run the bot over a real Socket Mode websocket: the Slack stand-in
// of package sandbox hands out the link, sends envelopes as Slack does and
// records the acks it gets back. The handler is the test's own; de-duplication
// is the real bbolt store.

const (
	botToken = "xoxb-bot-test-0000"
	appToken = "xapp-1-bot-test-0000"
	wait     = 5 * time.Second // an upper bound for what happens at once
	user     = "U0ALICE"
	channel  = "C0OPS"
)

// call is one call the bot made to the handler.
type call struct {
	kind, key string // "command" and the command's text; "action" and the action's value; "home" and the user
}

// handler records the bot's calls; a call whose key is in hold waits until
// released.
type handler struct {
	calls   chan call
	mu      sync.Mutex
	hold    map[string]chan struct{}
	entered map[string]chan struct{}
	done    map[string]chan struct{}
}

func newHandler() *handler {
	return &handler{calls: make(chan call, 100), hold: map[string]chan struct{}{},
		entered: map[string]chan struct{}{}, done: map[string]chan struct{}{}}
}

// slow makes the call with key wait until release is called; entered is
// closed once it started, done once it returned.
func (h *handler) slow(key string) (entered, done <-chan struct{}, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, e, d := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h.hold[key], h.entered[key], h.done[key] = r, e, d
	var once sync.Once
	return e, d, func() { once.Do(func() { close(r) }) }
}

func (h *handler) run(c call) {
	h.mu.Lock()
	r, e, d := h.hold[c.key], h.entered[c.key], h.done[c.key]
	h.mu.Unlock()
	if e != nil {
		close(e)
		<-r
		defer close(d)
	}
	h.calls <- c
}

func (h *handler) Command(_ context.Context, cmd slack.SlashCommand) {
	h.run(call{"command", cmd.Text})
}

func (h *handler) Action(_ context.Context, cb slack.InteractionCallback) {
	for _, a := range cb.ActionCallback.BlockActions {
		h.run(call{"action", a.Value})
	}
}

func (h *handler) ViewSubmission(context.Context, slack.InteractionCallback) *slack.ViewSubmissionResponse {
	return nil
}

func (h *handler) HomeOpened(_ context.Context, u string) { h.run(call{"home", u}) }

// next returns the next call, or fails.
func (h *handler) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-h.calls:
		return c
	case <-time.After(wait):
		t.Fatal("the handler was not called")
		return call{}
	}
}

// dedupe is the real store, with what each mark answered kept for the test:
// once a mark answered, the bot has decided whether to drop the envelope.
type dedupe struct {
	st      *bbolt.Store
	mu      sync.Mutex
	answers map[string][]bool
	changed chan struct{}
}

func (d *dedupe) MarkEnvelope(ctx context.Context, id, key string, at time.Time) (bool, bool, error) {
	seen, keySeen, err := d.st.MarkEnvelope(ctx, id, key, at)
	d.mu.Lock()
	d.answers[id] = append(d.answers[id], seen)
	if key != "" && !seen {
		d.answers[key] = append(d.answers[key], keySeen)
	}
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
	return seen, keySeen, err
}

// waitAnswer waits for the n-th answer (1-based) to a mark of id and returns it.
func (d *dedupe) waitAnswer(t *testing.T, id string, n int) bool {
	t.Helper()
	deadline := time.After(wait)
	for {
		d.mu.Lock()
		a := d.answers[id]
		d.mu.Unlock()
		if len(a) >= n {
			return a[n-1]
		}
		select {
		case <-d.changed:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no mark %d of %s", n, id)
		}
	}
}

type world struct {
	slack   *sbslack.Slack
	handler *handler
	dedupe  *dedupe
	logs    *sandbox.SyncBuffer
}

// start runs the bot, connected to a Slack stand-in, until the test ends.
func start(t *testing.T) *world {
	t.Helper()
	s := sbslack.New(botToken, appToken)
	s.AddUser(user, "alice")
	s.AddChannel(channel, "ops")
	s.SetPingInterval(50 * time.Millisecond)
	st, err := bbolt.Open(filepath.Join(t.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{slack: s, handler: newHandler(), dedupe: &dedupe{st: st, answers: map[string][]bool{}, changed: make(chan struct{}, 1)},
		logs: &sandbox.SyncBuffer{}}
	api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(appToken))
	b := bot.New(bot.Config{Client: socketmode.New(api), Handler: w.handler, Dedupe: w.dedupe,
		Log: slog.New(slog.NewJSONHandler(w.logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, context.Background()) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(wait):
			t.Error("the bot did not stop")
		}
		st.Close()
		s.Close()
	})
	if err := s.WaitConnected(1, wait); err != nil {
		t.Fatal(err)
	}
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// command types /rotate text and returns its envelope id.
func (w *world) command(t *testing.T, text string) string {
	t.Helper()
	env, err := w.slack.SendSlashCommand(sbslack.SlashCommand{User: user, Channel: channel, Command: "/rotate", Text: text})
	must(t, err)
	return env
}

// click presses a button carrying value on a message of the channel.
func (w *world) click(t *testing.T, value string) string {
	t.Helper()
	post := slack.New(botToken, slack.OptionAPIURL(w.slack.APIURL()))
	_, ts, err := post.PostMessage(channel, slack.MsgOptionBlocks(slack.NewActionBlock("b",
		slack.NewButtonBlockElement("act", value, slack.NewTextBlockObject(slack.PlainTextType, "Press", false, false)))))
	must(t, err)
	m, _ := w.slack.Message(channel, ts)
	env, err := w.slack.Click(user, m, "Press")
	must(t, err)
	return env
}

// Slack wants the ack within 3 seconds: it goes before the work, so a slow
// handler never delays it — for a command, a button and an event alike.
func TestAckBeforeWork(t *testing.T) {
	w := start(t)
	for _, c := range []struct {
		key  string
		send func() string
	}{
		{"slow command", func() string { return w.command(t, "slow command") }},
		{"slow button", func() string { return w.click(t, "slow button") }},
		{user, func() string { env, err := w.slack.SendAppHomeOpened(user); must(t, err); return env }},
	} {
		entered, done, release := w.handler.slow(c.key)
		t.Cleanup(release) // a failing test does not leave the handler waiting
		env := c.send()
		if _, err := w.slack.WaitAck(env, wait); err != nil {
			t.Fatalf("%s: %v", c.key, err)
		}
		select {
		case <-done:
			t.Fatalf("%s: the handler finished before the ack was seen", c.key)
		default:
		}
		select {
		case <-entered: // the work runs after the ack
		case <-time.After(wait):
			t.Fatalf("%s: the handler never ran", c.key)
		}
		release()
		<-done
		if got := w.handler.next(t); got.key != c.key {
			t.Errorf("handled %+v, want %s", got, c.key)
		}
		if n := w.slack.Acks(env); n != 1 {
			t.Errorf("%s: %d acks", c.key, n)
		}
	}
}

// A redelivered envelope (the same envelope_id again, or a retry_attempt > 0
// of content already handled under another envelope_id) is acked and dropped:
// the handler runs once.
func TestRedeliveredEnvelopesAreDropped(t *testing.T) {
	w := start(t)

	// The same envelope_id, redelivered.
	env := w.command(t, "first")
	if got := w.handler.next(t); got != (call{"command", "first"}) {
		t.Fatalf("handled %+v", got)
	}
	_, err := w.slack.WaitAck(env, wait)
	must(t, err)
	must(t, w.slack.Redeliver(env, "timeout"))
	_, err = w.slack.WaitAck(env, wait)
	must(t, err)
	if !w.dedupe.waitAnswer(t, "env:"+env, 2) {
		t.Fatal("the redelivered envelope was not recognised")
	}
	// The same envelope_id once more, even without a retry_attempt (delivered
	// twice, say on two links).
	dup, _ := w.slack.Envelope(env)
	dup.RetryAttempt, dup.RetryReason = 0, ""
	_, err = w.slack.SendEnvelope(dup)
	must(t, err)
	_, err = w.slack.WaitAck(env, wait)
	must(t, err)
	if !w.dedupe.waitAnswer(t, "env:"+env, 3) {
		t.Fatal("the envelope delivered twice was not recognised")
	}

	// The same button press under a new envelope_id, as a retry.
	click := w.click(t, "press")
	if got := w.handler.next(t); got != (call{"action", "press"}) {
		t.Fatalf("handled %+v", got)
	}
	orig, _ := w.slack.Envelope(click)
	orig.EnvelopeID, orig.RetryAttempt, orig.RetryReason = "", 1, "timeout"
	retry, err := w.slack.SendEnvelope(orig)
	must(t, err)
	_, err = w.slack.WaitAck(retry, wait)
	must(t, err)
	var p struct {
		TriggerID string `json:"trigger_id"`
		Actions   []struct {
			ActionTS string `json:"action_ts"`
		} `json:"actions"`
	}
	must(t, json.Unmarshal(orig.Payload, &p))
	if !w.dedupe.waitAnswer(t, "action:"+p.TriggerID+":"+p.Actions[0].ActionTS, 2) {
		t.Fatal("the retried press was not recognised")
	}

	// The same event under a new envelope_id, as a retry.
	home, err := w.slack.SendAppHomeOpened(user)
	must(t, err)
	if got := w.handler.next(t); got != (call{"home", user}) {
		t.Fatalf("handled %+v", got)
	}
	ev, _ := w.slack.Envelope(home)
	ev.EnvelopeID, ev.RetryAttempt, ev.RetryReason = "", 1, "http_timeout"
	again, err := w.slack.SendEnvelope(ev)
	must(t, err)
	_, err = w.slack.WaitAck(again, wait)
	must(t, err)
	var e struct {
		EventID string `json:"event_id"`
	}
	must(t, json.Unmarshal(ev.Payload, &e))
	if !w.dedupe.waitAnswer(t, "event:"+e.EventID, 2) {
		t.Fatal("the retried event was not recognised")
	}

	// Every drop was decided; a new command is the next thing handled.
	w.command(t, "second")
	if got := w.handler.next(t); got != (call{"command", "second"}) {
		t.Fatalf("handled %+v after the redeliveries, want only the new command", got)
	}
	select {
	case c := <-w.handler.calls:
		t.Fatalf("a redelivery was handled again: %+v", c)
	case <-time.After(100 * time.Millisecond):
	}
	if n := strings.Count(w.logs.String(), "dropped a redelivered envelope"); n != 4 {
		t.Errorf("%d drops logged, want 4:\n%s", n, w.logs.String())
	}
}

// After Slack asks the bot to reconnect (a disconnect message), and after the
// link drops, the bot opens a new link and goes on acking and handling.
func TestReconnects(t *testing.T) {
	w := start(t)
	roundTrip := func(text string) {
		t.Helper()
		env := w.command(t, text)
		if _, err := w.slack.WaitAck(env, wait); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if got := w.handler.next(t); got != (call{"command", text}) {
			t.Fatalf("handled %+v, want %s", got, text)
		}
	}
	roundTrip("before")

	must(t, w.slack.Disconnect("refresh_requested"))
	must(t, w.slack.WaitConnects(2, wait))
	roundTrip("after a disconnect message")

	// Wait for the old link to close before dropping the new one.
	deadline := time.Now().Add(wait)
	for w.slack.Connections() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := w.slack.DropLink(); n != 1 {
		t.Fatalf("dropped %d links, want 1", n)
	}
	// Slack queues what it sends while no link is open; it arrives on the next.
	queued := w.command(t, "while the link was down")
	must(t, w.slack.WaitConnects(3, wait))
	if _, err := w.slack.WaitAck(queued, wait); err != nil {
		t.Fatal(err)
	}
	if got := w.handler.next(t); got.key != "while the link was down" {
		t.Fatalf("handled %+v", got)
	}
	roundTrip("after a dropped link")
}
