// Package demo is the seeded world of rotabot's sandbox: the people, channels,
// tokens, repositories, Heroku apps and Infisical secrets of the example routing
// matrix on the stand-ins of package sandbox, the helpers that act as those people
// over Socket Mode (type a command, click a button, submit the token form), and the
// scripted story `rotabot demo` prints. The command's demo, its end-to-end tests and
// the bench drive the bot through it.
//
// It must not know how the bot is built: the command hands it a StartBot that
// builds the real bot from an environment, exactly as `rotabot serve` does. No
// package of the product (rotation, bot, handlers, store, config) may import it.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/slack-go/slack"
)

// ExampleMatrix is rotabot.example.yaml, the routing matrix the world is seeded
// for. The copy here is kept equal to the repository's top-level file by a test
// (go:embed cannot reach outside the package's folder).
//
//go:embed rotabot.example.yaml
var ExampleMatrix []byte

// People and places of the sandbox workspace.
const (
	Alice        = "U0ALICE"    // ops
	Bob          = "U0BOB"      // ops
	Mallory      = "U0MALLORY"  // not ops
	Operator     = "U0OPERATOR" // ops, keeps the token in their shell rc
	Owner        = "U0OWNER"
	OpsChannel   = "C0OPS"
	AuditChannel = "C0AUDIT"
	OtherChannel = "C0ELSEWHERE"
	// ConsoleEnv holds the console's ops session cookie for the verify check.
	ConsoleEnv = "CONSOLE_OPS_COOKIE"
)

// Names are the people's display names.
var Names = map[string]string{Alice: "alice", Bob: "bob", Mallory: "mallory", Operator: "olga", Owner: "owen"}

// Bot is a running bot, as the command builds it.
type Bot interface {
	// Run serves until ctx ends, then stops as on SIGTERM; the error is a Slack
	// connection that ended for good.
	Run(ctx context.Context) error
}

// StartBot builds the real bot from an environment (getenv) and connects it;
// its log lines go to log.
type StartBot func(ctx context.Context, getenv func(string) string, log *slog.Logger) (Bot, error)

// Harness is the stand-ins seeded for the example routing matrix and, once
// started, the bot on them.
type Harness struct {
	World   *sandbox.World
	Console *sandbox.Console
	Matrix  *rotation.Matrix
	Env     map[string]string
	Dir     string
	Logs    *SyncBuffer
	Bot     Bot

	// Tokens of the GitHub stand-in, by role.
	OldToken, DispatchToken string
	Fresh                   []string // valid new tokens for GITHUB_API_READONLY_TOKEN, in order of use
	OtherLogin              string   // a valid token of another login
	Expired, Revoked        string   // tokens of the right login that GitHub refuses
	Blind                   string   // a token of the right login that cannot see the probe's repository

	// tracked are more token-like values a test typed, for the leak guard.
	tracked []string

	cancel context.CancelFunc
	done   chan error
}

// Track adds values the leak guard must not find anywhere the bot wrote.
func (h *Harness) Track(values ...string) { h.tracked = append(h.tracked, values...) }

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FineGrainedToken makes up a token shaped like GitHub's fine-grained ones.
func FineGrainedToken() string {
	return "github_pat_11" + strings.ToUpper(sandbox.RandomHex(10)) + "_" + sandbox.RandomHex(29)
}

// NewWorld starts the stand-ins and seeds them for the example matrix; the bot is
// not started. Close the harness when done.
func NewWorld(now time.Time) (*Harness, error) {
	w := sandbox.NewWorld()
	cookie := "session=" + sandbox.RandomHex(12)
	console := sandbox.NewConsole(cookie)
	// The example's verify entry points at the real console: aim it at the stand-in.
	yaml := bytes.ReplaceAll(ExampleMatrix, []byte("https://console.raxx.app"), []byte(console.URL))
	m, probs := config.Parse("rotabot.example.yaml", yaml)
	if len(probs) > 0 {
		w.Close()
		console.Close()
		return nil, fmt.Errorf("the example matrix has problems: %v", probs)
	}
	h := &Harness{World: w, Console: console, Matrix: m, OldToken: FineGrainedToken(), DispatchToken: "ghp_" + sandbox.RandomHex(18),
		Fresh: []string{FineGrainedToken(), FineGrainedToken(), FineGrainedToken()}, OtherLogin: FineGrainedToken(),
		Expired: FineGrainedToken(), Revoked: FineGrainedToken(), Blind: FineGrainedToken()}

	for id, name := range Names {
		w.Slack.AddUser(id, name)
	}
	w.Slack.AddUsergroup(m.OpsUsergroup, Alice, Bob, Operator)
	w.Slack.AddChannel(OpsChannel, "ops")
	w.Slack.AddChannel(AuditChannel, "audit")
	w.Slack.AddChannel(OtherChannel, "random")

	w.GitHub.AddRepo("raxx-app/TradeMasterAPI")
	w.GitHub.AddRepo("raxx-app/elsewhere")
	repos := []string{"raxx-app/TradeMasterAPI"}
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.OldToken, Login: "raxx-bot", Expires: now.Add(5 * 24 * time.Hour), Repos: repos})
	for _, t := range h.Fresh {
		w.GitHub.AddToken(sandbox.TokenSpec{Value: t, Login: "raxx-bot", Expires: now.Add(90 * 24 * time.Hour), Repos: repos})
	}
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.OtherLogin, Login: "someone-else", Expires: now.Add(90 * 24 * time.Hour), Repos: repos})
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.Expired, Login: "raxx-bot", Expires: now.Add(-time.Hour), Repos: repos})
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.Revoked, Login: "raxx-bot", Expires: now.Add(90 * 24 * time.Hour), Repos: repos})
	w.GitHub.Revoke(h.Revoked)
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.Blind, Login: "raxx-bot", Expires: now.Add(90 * 24 * time.Hour), Repos: []string{"raxx-app/elsewhere"}})
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.DispatchToken, Login: "raxx-bot", Expires: now.Add(40 * 24 * time.Hour),
		Scopes: []string{"read:org", "repo:status", "workflow"}, Repos: repos})

	w.Infisical.Mkdir(m.Vault.Environment, m.Vault.PendingPath)
	w.Infisical.Set(m.Vault.Environment, m.Vault.Path, "GITHUB_API_READONLY_TOKEN", h.OldToken)
	w.Infisical.Set(m.Vault.Environment, m.Vault.Path, "GITHUB_API_DISPATCH_TOKEN", h.DispatchToken)
	for _, app := range []string{"raxx-console-prod", "raxx-console-staging"} {
		w.Heroku.AddApp(app, map[string]string{
			"GITHUB_API_READONLY_TOKEN": h.OldToken, "GITHUB_API_DISPATCH_TOKEN": h.DispatchToken,
			"DATABASE_URL": "postgres://u:" + sandbox.RandomHex(8) + "@db/raxx",
		})
	}
	env := w.Env()
	env[ConsoleEnv] = cookie
	env["ROTABOT_CONFIG"] = string(yaml)
	h.Env = env
	return h, nil
}

// Getenv reads the harness's environment, as the bot's process would.
func (h *Harness) Getenv(k string) string { return h.Env[k] }

// Start starts the stand-ins and the bot (built by start from the sandbox's
// environment), connected over Socket Mode; its database lives in dir.
func Start(ctx context.Context, dir string, now time.Time, start StartBot) (*Harness, error) {
	h, err := NewWorld(now)
	if err != nil {
		return nil, err
	}
	h.Dir = dir
	h.Env["ROTABOT_DB"] = filepath.Join(dir, "rotabot.db")
	h.Logs = &SyncBuffer{}
	if err := h.StartBot(ctx, start); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// StartBot starts (or, after StopBot, restarts) the bot on the harness's world.
func (h *Harness) StartBot(ctx context.Context, start StartBot) error {
	if h.Logs == nil {
		h.Logs = &SyncBuffer{}
	}
	connects := h.World.Slack.Connects()
	b, err := start(ctx, h.Getenv, slog.New(slog.NewJSONHandler(h.Logs, nil)))
	if err != nil {
		return err
	}
	h.Bot = b
	sctx, cancel := context.WithCancel(ctx)
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- b.Run(sctx) }()
	if err := h.World.Slack.WaitConnects(connects+1, 10*time.Second); err != nil {
		h.StopBot()
		return fmt.Errorf("the bot did not connect to the Slack stand-in: %w", err)
	}
	return nil
}

// StopBot stops the bot as SIGTERM would, and returns what its Run returned.
func (h *Harness) StopBot() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	return <-h.done
}

// Close stops the bot and the stand-ins.
func (h *Harness) Close() {
	h.StopBot()
	if h.World != nil {
		h.World.Close()
	}
	if h.Console != nil {
		h.Console.Close()
	}
}

// WaitFor polls cond until it holds or 15 s pass.
func WaitFor(what string, cond func() bool) error {
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// Slash is user typing /rotate text in channel; it waits for the ack.
func (h *Harness) Slash(user, channel, text string) error {
	id, err := h.World.Slack.SendSlashCommand(sandbox.SlashCommand{User: user, Channel: channel, Command: "/rotate", Text: text})
	if err != nil {
		return err
	}
	_, err = h.World.Slack.WaitAck(id, 5*time.Second)
	return err
}

// Card returns the card of the newest run in the ops channel whose header names id
// ("" for the newest card).
func (h *Harness) Card(id string) (sandbox.Message, bool) {
	msgs := h.World.Slack.Messages(OpsChannel)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			continue
		}
		if strings.Contains(m.Text, "Rotation ") && (id == "" || strings.Contains(m.Text, "Rotation "+id+" ")) {
			return m, true
		}
	}
	return sandbox.Message{}, false
}

// WaitCard waits until the card of run id shows the state word.
func (h *Harness) WaitCard(id, word string) (sandbox.Message, error) {
	var m sandbox.Message
	err := WaitFor(fmt.Sprintf("card %s to show %q", id, word), func() bool {
		var ok bool
		m, ok = h.Card(id)
		return ok && strings.Contains(m.Text, ": "+word)
	})
	return m, err
}

// EphemeralCount is how many ephemeral answers user has had.
func (h *Harness) EphemeralCount(user string) int { return len(h.World.Slack.Ephemerals(user)) }

// WaitEphemeral waits for user's ephemeral answer number n (1-based) and returns its text.
func (h *Harness) WaitEphemeral(user string, n int) (string, error) {
	var text string
	err := WaitFor("an answer to "+Names[user], func() bool {
		es := h.World.Slack.Ephemerals(user)
		if len(es) >= n {
			text = es[n-1].Text
			return true
		}
		return false
	})
	return text, err
}

// Click is user pressing label on message m; it waits for the ack.
func (h *Harness) Click(user string, m sandbox.Message, label string) error {
	id, err := h.World.Slack.Click(user, m, label)
	if err != nil {
		return err
	}
	_, err = h.World.Slack.WaitAck(id, 5*time.Second)
	return err
}

// SubmitToken is user opening the token form from the card and submitting value;
// it returns the ack's payload.
func (h *Harness) SubmitToken(user string, card sandbox.Message, value string) (json.RawMessage, error) {
	before := len(h.World.Slack.Views())
	if err := h.Click(user, card, handlers.LabelSubmit); err != nil {
		return nil, err
	}
	var view sandbox.View
	if err := WaitFor("the token form", func() bool {
		vs := h.World.Slack.Views()
		if len(vs) > before {
			view = vs[len(vs)-1]
			return true
		}
		return false
	}); err != nil {
		return nil, err
	}
	id, err := h.World.Slack.SendViewSubmission(sandbox.ViewSubmission{User: user, ViewID: view.ID,
		Values: map[string]map[string]string{handlers.BlockToken: {handlers.ActionToken: value}}})
	if err != nil {
		return nil, err
	}
	return h.World.Slack.WaitAck(id, 5*time.Second)
}

// CardText renders a card as a person reads it.
func CardText(m sandbox.Message) string {
	raw, _ := json.Marshal(m.Blocks)
	var bl slack.Blocks
	if err := json.Unmarshal(raw, &bl); err != nil {
		return m.Content()
	}
	return handlers.BlocksText(bl.BlockSet)
}

// Leaks returns a description of every token (whole, or any 8 characters after its
// prefix) found in text, or "" when there is none.
func Leaks(text string, tokens []string) string {
	var found []string
	for _, tok := range tokens {
		rest := tok
		for _, p := range []string{"github_pat_", "ghp_", "xoxb-", "xapp-", "xoxp-"} {
			rest = strings.TrimPrefix(rest, p)
		}
		for i := 0; i+8 <= len(rest); i++ {
			if strings.Contains(text, rest[i:i+8]) {
				found = append(found, fmt.Sprintf("part of a token (%s…)", rotation.Fingerprint(tok)))
				break
			}
		}
	}
	return strings.Join(found, ", ")
}

// Secrets lists every token and credential of the harness, for leak checks.
func (h *Harness) Secrets() []string {
	out := append([]string{h.OldToken, h.DispatchToken, h.OtherLogin, h.Expired, h.Revoked, h.Blind}, h.Fresh...)
	out = append(out, h.tracked...)
	return append(out, h.World.Credentials()...)
}
