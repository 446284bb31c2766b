package main

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

//go:embed rotabot.example.yaml
var exampleMatrix []byte

// People of the sandbox workspace.
const (
	userAlice    = "U0ALICE"    // ops
	userBob      = "U0BOB"      // ops
	userMallory  = "U0MALLORY"  // not ops
	userOperator = "U0OPERATOR" // ops, keeps the token in their shell rc
	userOwner    = "U0OWNER"
	opsChannel   = "C0OPS"
	auditChannel = "C0AUDIT"
	consoleEnv   = "CONSOLE_OPS_COOKIE"
)

var names = map[string]string{userAlice: "alice", userBob: "bob", userMallory: "mallory", userOperator: "olga", userOwner: "owen"}

// harness is a running bot on the sandbox stand-ins, seeded for the example
// routing matrix. `rotabot demo` and the end-to-end tests drive it.
type harness struct {
	world   *sandbox.World
	console *sandbox.Console
	matrix  *rotation.Matrix
	env     map[string]string
	dir     string
	logs    *syncBuffer
	srv     *server

	// Tokens of the GitHub stand-in, by role.
	oldToken, dispatchToken string
	fresh                   []string // valid new tokens for GITHUB_API_READONLY_TOKEN, in order of use
	otherLogin              string   // a valid token of another login
	expired, revoked        string   // tokens of the right login that GitHub refuses
	blind                   string   // a token of the right login that cannot see the probe's repository

	// tracked are more token-like values a test typed, for the leak guard.
	tracked []string

	cancel context.CancelFunc
	done   chan int
}

// track adds values the leak guard must not find anywhere the bot wrote.
func (h *harness) track(values ...string) { h.tracked = append(h.tracked, values...) }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func fineGrained() string {
	return "github_pat_11" + strings.ToUpper(sandbox.RandomHex(10)) + "_" + sandbox.RandomHex(29)
}

// newWorld starts the stand-ins and seeds them for the example matrix; the bot is
// not started. Close the harness when done.
func newWorld(now time.Time) (*harness, error) {
	w := sandbox.NewWorld()
	cookie := "session=" + sandbox.RandomHex(12)
	console := sandbox.NewConsole(cookie)
	// The example's verify entry points at the real console: aim it at the stand-in.
	yaml := bytes.ReplaceAll(exampleMatrix, []byte("https://console.raxx.app"), []byte(console.URL))
	m, probs := config.Parse("rotabot.example.yaml", yaml)
	if len(probs) > 0 {
		w.Close()
		console.Close()
		return nil, fmt.Errorf("the example matrix has problems: %v", probs)
	}
	h := &harness{world: w, console: console, matrix: m, oldToken: fineGrained(), dispatchToken: "ghp_" + sandbox.RandomHex(18),
		fresh: []string{fineGrained(), fineGrained(), fineGrained()}, otherLogin: fineGrained(),
		expired: fineGrained(), revoked: fineGrained(), blind: fineGrained()}

	for id, name := range names {
		w.Slack.AddUser(id, name)
	}
	w.Slack.AddUsergroup(m.OpsUsergroup, userAlice, userBob, userOperator)
	w.Slack.AddChannel(opsChannel, "ops")
	w.Slack.AddChannel(auditChannel, "audit")
	w.Slack.AddChannel("C0ELSEWHERE", "random")

	w.GitHub.AddRepo("raxx-app/TradeMasterAPI")
	w.GitHub.AddRepo("raxx-app/elsewhere")
	repos := []string{"raxx-app/TradeMasterAPI"}
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.oldToken, Login: "raxx-bot", Expires: now.Add(5 * 24 * time.Hour), Repos: repos})
	for _, t := range h.fresh {
		w.GitHub.AddToken(sandbox.TokenSpec{Value: t, Login: "raxx-bot", Expires: now.Add(90 * 24 * time.Hour), Repos: repos})
	}
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.otherLogin, Login: "someone-else", Expires: now.Add(90 * 24 * time.Hour), Repos: repos})
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.expired, Login: "raxx-bot", Expires: now.Add(-time.Hour), Repos: repos})
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.revoked, Login: "raxx-bot", Expires: now.Add(90 * 24 * time.Hour), Repos: repos})
	w.GitHub.Revoke(h.revoked)
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.blind, Login: "raxx-bot", Expires: now.Add(90 * 24 * time.Hour), Repos: []string{"raxx-app/elsewhere"}})
	w.GitHub.AddToken(sandbox.TokenSpec{Value: h.dispatchToken, Login: "raxx-bot", Expires: now.Add(40 * 24 * time.Hour),
		Scopes: []string{"read:org", "repo:status", "workflow"}, Repos: repos})

	w.Infisical.Mkdir(m.Vault.Environment, m.Vault.PendingPath)
	w.Infisical.Set(m.Vault.Environment, m.Vault.Path, "GITHUB_API_READONLY_TOKEN", h.oldToken)
	w.Infisical.Set(m.Vault.Environment, m.Vault.Path, "GITHUB_API_DISPATCH_TOKEN", h.dispatchToken)
	for _, app := range []string{"raxx-console-prod", "raxx-console-staging"} {
		w.Heroku.AddApp(app, map[string]string{
			"GITHUB_API_READONLY_TOKEN": h.oldToken, "GITHUB_API_DISPATCH_TOKEN": h.dispatchToken,
			"DATABASE_URL": "postgres://u:" + sandbox.RandomHex(8) + "@db/raxx",
		})
	}
	env := w.Env()
	env[consoleEnv] = cookie
	env["ROTABOT_CONFIG"] = string(yaml)
	h.env = env
	return h, nil
}

// startHarness starts the stand-ins and the bot, connected over Socket Mode.
func startHarness(ctx context.Context, dir string, now time.Time) (*harness, error) {
	h, err := newWorld(now)
	if err != nil {
		return nil, err
	}
	w, m, env := h.world, h.matrix, h.env
	h.dir = dir
	env["ROTABOT_DB"] = filepath.Join(dir, "rotabot.db")
	h.logs = &syncBuffer{}
	cfg, probs := config.LoadEnv(func(k string) string { return env[k] })
	if len(probs) > 0 {
		h.close()
		return nil, fmt.Errorf("sandbox environment: %v", probs)
	}
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	srv, err := startServer(ctx, cfg, m, func(k string) string { return env[k] }, log)
	if err != nil {
		h.close()
		return nil, err
	}
	h.srv = srv
	sctx, cancel := context.WithCancel(ctx)
	h.cancel, h.done = cancel, make(chan int, 1)
	go func() { h.done <- srv.run(sctx) }()
	if err := w.Slack.WaitConnected(1, 10*time.Second); err != nil {
		h.close()
		return nil, fmt.Errorf("the bot did not connect to the Slack stand-in: %w", err)
	}
	return h, nil
}

// stop stops the bot as SIGTERM would, and returns its exit code.
func (h *harness) stop() int {
	if h.cancel == nil {
		return 0
	}
	h.cancel()
	h.cancel = nil
	return <-h.done
}

func (h *harness) close() {
	h.stop()
	if h.world != nil {
		h.world.Close()
	}
	if h.console != nil {
		h.console.Close()
	}
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(what string, cond func() bool) error {
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// slash is user typing /rotate text in channel; it waits for the ack.
func (h *harness) slash(user, channel, text string) error {
	id, err := h.world.Slack.SendSlashCommand(sandbox.SlashCommand{User: user, Channel: channel, Command: "/rotate", Text: text})
	if err != nil {
		return err
	}
	_, err = h.world.Slack.WaitAck(id, 5*time.Second)
	return err
}

// card returns the card of the newest run in the ops channel whose header names id
// ("" for the newest card).
func (h *harness) card(id string) (sandbox.Message, bool) {
	msgs := h.world.Slack.Messages(opsChannel)
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

// waitCard waits until the card of run id shows the state word.
func (h *harness) waitCard(id, word string) (sandbox.Message, error) {
	var m sandbox.Message
	err := waitFor(fmt.Sprintf("card %s to show %q", id, word), func() bool {
		var ok bool
		m, ok = h.card(id)
		return ok && strings.Contains(m.Text, ": "+word)
	})
	return m, err
}

// ephemeralCount is how many ephemeral answers user has had.
func (h *harness) ephemeralCount(user string) int { return len(h.world.Slack.Ephemerals(user)) }

// waitEphemeral waits for user's ephemeral answer number n (1-based) and returns its text.
func (h *harness) waitEphemeral(user string, n int) (string, error) {
	var text string
	err := waitFor("an answer to "+names[user], func() bool {
		es := h.world.Slack.Ephemerals(user)
		if len(es) >= n {
			text = es[n-1].Text
			return true
		}
		return false
	})
	return text, err
}

// click is user pressing label on message m; it waits for the ack.
func (h *harness) click(user string, m sandbox.Message, label string) error {
	id, err := h.world.Slack.Click(user, m, label)
	if err != nil {
		return err
	}
	_, err = h.world.Slack.WaitAck(id, 5*time.Second)
	return err
}

// submitToken is user opening the token form from the card and submitting value;
// it returns the ack's payload.
func (h *harness) submitToken(user string, card sandbox.Message, value string) (json.RawMessage, error) {
	before := len(h.world.Slack.Views())
	if err := h.click(user, card, handlers.LabelSubmit); err != nil {
		return nil, err
	}
	var view sandbox.View
	if err := waitFor("the token form", func() bool {
		vs := h.world.Slack.Views()
		if len(vs) > before {
			view = vs[len(vs)-1]
			return true
		}
		return false
	}); err != nil {
		return nil, err
	}
	id, err := h.world.Slack.SendViewSubmission(sandbox.ViewSubmission{User: user, ViewID: view.ID,
		Values: map[string]map[string]string{handlers.BlockToken: {handlers.ActionToken: value}}})
	if err != nil {
		return nil, err
	}
	return h.world.Slack.WaitAck(id, 5*time.Second)
}

// cardText renders a card as a person reads it.
func cardText(m sandbox.Message) string {
	raw, _ := json.Marshal(m.Blocks)
	var bl slack.Blocks
	if err := json.Unmarshal(raw, &bl); err != nil {
		return m.Content()
	}
	return handlers.BlocksText(bl.BlockSet)
}

// leaks returns a description of every token (whole, or any 8 characters after its
// prefix) found in text, or "" when there is none.
func leaks(text string, tokens []string) string {
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

// secrets lists every token and credential of the harness, for leak checks.
func (h *harness) secrets() []string {
	out := append([]string{h.oldToken, h.dispatchToken, h.otherLogin, h.expired, h.revoked, h.blind}, h.fresh...)
	out = append(out, h.tracked...)
	return append(out, h.world.Credentials()...)
}
