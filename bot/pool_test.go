package bot_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/raxx-app/rotabot/bot"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// gate holds every handler until it is opened, and counts how many run at once.
type gate struct {
	open    chan struct{}
	mu      sync.Mutex
	running int
	most    int
	order   []string // what was handled, in the order the handlers started
	done    chan string
}

func (g *gate) run(key string) {
	g.mu.Lock()
	g.running++
	g.most = max(g.most, g.running)
	g.order = append(g.order, key)
	g.mu.Unlock()
	<-g.open
	g.mu.Lock()
	g.running--
	g.mu.Unlock()
	g.done <- key
}

func (g *gate) Command(_ context.Context, cmd slack.SlashCommand) { g.run("command " + cmd.Text) }

func (g *gate) Action(_ context.Context, cb slack.InteractionCallback) {
	g.run("action " + cb.ActionCallback.BlockActions[0].Value)
}

func (g *gate) ViewSubmission(context.Context, slack.InteractionCallback) *slack.ViewSubmissionResponse {
	return nil
}

func (g *gate) HomeOpened(_ context.Context, u string) { g.run("home " + u) }

// Forty commands at once, with two workers: every one is acked while the
// handlers are still held, no more than two handlers run at once, a button
// pressed after them is handled before the commands still waiting, and every
// envelope is handled once (nothing is lost), the queued ones too when the bot
// is stopped while they wait.
func TestHandlersAreBoundedAndNothingIsLost(t *testing.T) {
	const n, workers = 40, 2
	s := sbslack.New(botToken, appToken)
	t.Cleanup(s.Close)
	s.AddUser(user, "alice")
	s.AddChannel(channel, "ops")
	st, err := bbolt.Open(filepath.Join(t.TempDir(), "rotabot.db"), time.Second)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	g := &gate{open: make(chan struct{}), done: make(chan string, n+1)}
	api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(appToken))
	b := bot.New(bot.Config{Client: socketmode.New(api), Handler: g, Dedupe: st, Workers: workers})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx, context.Background()) }()
	must(t, s.WaitConnected(1, wait))

	var envs []string
	for i := range n {
		env, err := s.SendSlashCommand(sbslack.SlashCommand{User: user, Channel: channel, Command: "/rotate", Text: fmt.Sprint(i)})
		must(t, err)
		envs = append(envs, env)
	}
	w := &world{slack: s}
	press := w.click(t, "press")
	for _, env := range append(envs, press) {
		if _, err := s.WaitAck(env, wait); err != nil {
			t.Fatalf("an envelope was not acked while the handlers were held: %v", err)
		}
	}
	// Two workers take commands; the button may run beside them, on the
	// lane for gestures only (Config.Workers).
	g.mu.Lock()
	most, started, commands := g.most, len(g.order), 0
	for _, k := range g.order {
		if strings.HasPrefix(k, "command ") {
			commands++
		}
	}
	g.mu.Unlock()
	if commands > workers || most > workers+1 || started > workers+1 {
		t.Fatalf("%d handlers ran at once (%d started, %d of them commands), want at most %d commands and the button", most, started, commands, workers)
	}

	// Stopping now waits for every envelope in hand, the queued ones too.
	cancel()
	select {
	case err := <-ran:
		t.Fatalf("Run returned (%v) with %d envelopes still waiting", err, n+1-started)
	case <-time.After(100 * time.Millisecond):
	}
	close(g.open)
	seen := map[string]int{}
	for range n + 1 {
		select {
		case k := <-g.done:
			seen[k]++
		case <-time.After(wait):
			t.Fatalf("handled %d of %d envelopes", len(seen), n+1)
		}
	}
	for i := range n {
		if seen[fmt.Sprintf("command %d", i)] != 1 {
			t.Errorf("command %d handled %d times", i, seen[fmt.Sprintf("command %d", i)])
		}
	}
	if seen["action press"] != 1 {
		t.Errorf("the button handled %d times", seen["action press"])
	}
	g.mu.Lock()
	at := -1
	for i, k := range g.order {
		if k == "action press" {
			at = i
		}
	}
	g.mu.Unlock()
	// The button came after forty commands; at most the ones already running
	// and one a freed worker took before the press was queued went first.
	if at < 0 || at > workers+1 {
		t.Errorf("the button was handled %d-th, after commands that came before it but were still waiting", at+1)
	}
	select {
	case err := <-ran:
		must(t, err)
	case <-time.After(wait):
		t.Fatal("the bot did not stop")
	}
}

// holdCommands holds every slash command's handler until its channel is
// closed, saying on started when one has begun to wait; gestures run at once.
type holdCommands struct {
	gate
	release, started chan struct{}
}

func (h *holdCommands) Command(_ context.Context, cmd slack.SlashCommand) {
	h.started <- struct{}{}
	<-h.release
	h.done <- "command " + cmd.Text
}

func (h *holdCommands) Action(_ context.Context, cb slack.InteractionCallback) {
	h.done <- "action " + cb.ActionCallback.BlockActions[0].Value
}

// Slow commands on every worker (a dry run waiting on a paced service) do not
// hold a person's button back: it is handled while they still wait.
func TestAButtonIsHandledWhileSlowCommandsHoldEveryWorker(t *testing.T) {
	const workers = 2
	s := sbslack.New(botToken, appToken)
	t.Cleanup(s.Close)
	s.AddUser(user, "alice")
	s.AddChannel(channel, "ops")
	h := &holdCommands{gate: gate{done: make(chan string, 10)}, release: make(chan struct{}), started: make(chan struct{}, 10)}
	api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(appToken))
	b := bot.New(bot.Config{Client: socketmode.New(api), Handler: h, Workers: workers})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx, context.Background()) }()
	var once sync.Once
	release := func() { once.Do(func() { close(h.release) }) }
	t.Cleanup(func() {
		release() // a failing test does not leave the commands waiting
		cancel()
		<-ran
	})
	must(t, s.WaitConnected(1, wait))
	for i := range workers + 2 {
		_, err := s.SendSlashCommand(sbslack.SlashCommand{User: user, Channel: channel, Command: "/rotate", Text: fmt.Sprint(i)})
		must(t, err)
	}
	for range workers { // every worker holds a command; the other two wait in the queue
		select {
		case <-h.started:
		case <-time.After(wait):
			t.Fatal("the commands did not reach the workers")
		}
	}
	w := &world{slack: s}
	w.click(t, "press")
	select {
	case k := <-h.done:
		if k != "action press" {
			t.Fatalf("handled %q first, want the button", k)
		}
	case <-time.After(wait):
		t.Fatal("the button waited behind the slow commands")
	}
	release()
	for range workers + 2 {
		select {
		case <-h.done:
		case <-time.After(wait):
			t.Fatal("a command was lost")
		}
	}
}
