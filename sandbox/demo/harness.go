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
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
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
	// HerokuKeySecret is the example's Heroku API key, a kind rotabot mints.
	HerokuKeySecret = "HEROKU_DEPLOY_KEY"
)

// Names are the display names of the example's people; others get one from
// their role.
var Names = map[string]string{Alice: "alice", Bob: "bob", Mallory: "mallory", Operator: "olga", Owner: "owen"}

// Person is someone in the sandbox workspace.
type Person struct {
	ID, Name string
	// Role says why they are there: "ops", "ops · shell rc", "owner", "not in ops".
	Role string
}

// Channel is a channel of the sandbox workspace.
type Channel struct{ ID, Name string }

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
	Logs    *sandbox.SyncBuffer
	Bot     Bot

	// People and Channels of the workspace, in the order a person list shows them.
	People   []Person
	Channels []Channel
	// Login is the GitHub account every secret's tokens belong to.
	Login string
	// Current is each secret's token as seeded (in Infisical and on its consumers).
	Current map[string]string
	// First is the matrix's first secret (GITHUB_API_READONLY_TOKEN in the example).
	First string

	// Tokens of the GitHub stand-in for the first secret of the matrix
	// (GITHUB_API_READONLY_TOKEN in the example), by role.
	OldToken, DispatchToken string
	Fresh                   []string // valid new tokens, in order of use
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

// FineGrainedToken makes up a token shaped like GitHub's fine-grained ones.
func FineGrainedToken() string {
	return "github_pat_11" + strings.ToUpper(sandbox.RandomHex(10)) + "_" + sandbox.RandomHex(29)
}

// SlackSpeed is how much faster than Slack's the seeded world's Slack refills
// its rate limits: the limits are on, with Slack's bursts, tiers, 429s and
// Retry-After (a whole second at least, as Slack's), but the demo and the tests
// do not wait on them at every step; a test about the limits sets its own speed
// (the rotation-day test: 10), and the sandbox page puts Slack's own back (a
// person clicks at a person's pace).
const SlackSpeed = 60

// NewWorld starts the stand-ins and seeds them for the example matrix; the bot is
// not started. Close the harness when done.
func NewWorld(now time.Time) (*Harness, error) {
	return NewWorldFor("rotabot.example.yaml", ExampleMatrix, now)
}

// sandboxLogin is the GitHub account the sandbox's tokens belong to.
const sandboxLogin = "raxx-bot"

// NewWorldFor starts the stand-ins and seeds them for a routing matrix (name is
// its file, for messages): its ops group (alice and bob, and the shell-rc
// operators), owners and a non-member become people; its channels, Heroku apps,
// repositories and vault folders exist; each secret has a current token in
// Infisical and on every consumer, the first one expiring in five days so the
// reminders show; its verify checks answer from a local stand-in. The bot is not
// started. Close the harness when done.
func NewWorldFor(name string, yaml []byte, now time.Time) (*Harness, error) {
	cookie := "session=" + sandbox.RandomHex(12)
	console := sandbox.NewConsole(cookie)
	// Verify checks point at real services: aim them at the stand-in.
	yaml, m, err := aimedMatrix(name, yaml, console.URL)
	if err != nil {
		console.Close()
		return nil, err
	}
	w := sandbox.NewWorld()
	w.Slack.SetLimits(sbslack.Limits{On: true, Speed: SlackSpeed})
	h := &Harness{World: w, Console: console, Matrix: m, Login: sandboxLogin, Current: map[string]string{},
		Fresh: []string{FineGrainedToken(), FineGrainedToken(), FineGrainedToken()}, OtherLogin: FineGrainedToken(),
		Expired: FineGrainedToken(), Revoked: FineGrainedToken(), Blind: FineGrainedToken()}
	env := w.Env()
	h.seedPeople()

	secrets := make([]*rotation.SecretConfig, 0, len(m.Secrets))
	for _, sc := range m.Secrets {
		secrets = append(secrets, sc)
	}
	sort.Slice(secrets, func(i, j int) bool {
		if secrets[i].Line != secrets[j].Line {
			return secrets[i].Line < secrets[j].Line
		}
		return secrets[i].Name < secrets[j].Name
	})
	w.Infisical.Mkdir(m.Vault.Environment, m.Vault.PendingPath)
	apps := map[string]map[string]string{}
	for i, sc := range secrets {
		repos := append([]string(nil), sc.Repositories...)
		for _, gs := range sc.Consumers.GitHubSecrets {
			repo, _, _ := strings.Cut(gs, ":")
			repos = append(repos, repo)
		}
		if r := probeRepo(sc.Probe); r != "" {
			repos = append(repos, r)
		}
		for _, r := range repos {
			w.GitHub.AddRepo(r)
		}
		seedGitHubCopies(w.GitHub, sc)
		expires := now.Add(40 * 24 * time.Hour)
		if i == 0 {
			// Four and a half days: "expires in 4 days" (whole days, rounded
			// down) beside a date that reads as four days away, not five.
			expires = now.Add(4*24*time.Hour + 12*time.Hour)
		}
		cur := TokenOf(sc.Kind)
		spec := sbgithub.TokenSpec{Value: cur, Login: h.Login, Expires: expires, Repos: sc.Repositories, Scopes: sc.Scopes,
			Note: "the token of " + sc.Name + " when the sandbox started"}
		if sc.Kind == rotation.Classic {
			spec.Repos = nil // a classic token with the repo scope sees every repository
		}
		if sc.Kind == rotation.HerokuAPIKey {
			// A key of the account of rotabot's own: an authorization rotabot
			// may list, make and delete.
			cur = w.Heroku.AddKey(w.Heroku.Email(), orGlobal(sc.Scopes), "deploys: "+sc.Name)
		} else {
			w.GitHub.AddToken(spec)
		}
		h.Current[sc.Name] = cur
		w.Infisical.Set(m.Vault.Environment, m.Vault.Path, sc.Name, cur)
		for _, a := range sc.Consumers.HerokuApps {
			app, varName, _ := strings.Cut(a, ":")
			if varName == "" {
				varName = sc.Name
			}
			if apps[app] == nil {
				apps[app] = map[string]string{"DATABASE_URL": "postgres://u:" + sandbox.RandomHex(8) + "@db/" + app}
			}
			apps[app][varName] = cur
		}
		seedChecks(console, sc, env, cookie)
		if i == 0 {
			h.First, h.OldToken = sc.Name, cur
			h.seedFirstTokens(sc, ownerOf(repos), now)
		} else if h.DispatchToken == "" && sc.Kind == rotation.Classic {
			h.DispatchToken = cur
		}
	}
	for app, vars := range apps {
		w.Heroku.AddApp(app, vars)
	}
	env["ROTABOT_CONFIG"] = string(yaml)
	h.Env = env
	return h, nil
}

// seedGitHubCopies makes the places the matrix names beyond repository Actions
// secrets exist as a team that set them up with gh would have left them: the
// environments, and each organisation secret (rotabot never creates one),
// private until told otherwise.
func seedGitHubCopies(g *sbgithub.GitHub, sc *rotation.SecretConfig) {
	for _, d := range sc.Destinations() {
		switch d.Kind {
		case rotation.DestGitHubEnvSecret:
			repo, env := rotation.SplitEnvTarget(d.Target)
			g.AddEnvironment(repo, env)
		case rotation.DestGitHubOrgSecret:
			g.SetGHSecret(sbgithub.GHOrg, d.Target, d.Name, "placeholder set by hand", "private")
		case rotation.DestDependabotSecret:
			if !strings.Contains(d.Target, "/") {
				g.SetGHSecret(sbgithub.GHDependabotOrg, d.Target, d.Name, "placeholder set by hand", "private")
			}
		}
	}
}

// GHCopy opens the copy GitHub keeps at a destination of one of the GitHub
// kinds, as a workflow or Dependabot would see it.
func GHCopy(g *sbgithub.GitHub, d rotation.Destination, secret string) (string, bool) {
	name := d.VarName(secret)
	var v string
	var ok bool
	switch d.Kind {
	case rotation.DestGitHubSecret:
		v, _, ok = g.ActionsSecret(d.Target, name)
	case rotation.DestGitHubEnvSecret:
		v, _, _, _, ok = g.GHSecret(sbgithub.GHEnvironment, d.Target, name)
	case rotation.DestGitHubOrgSecret:
		v, _, _, _, ok = g.GHSecret(sbgithub.GHOrg, d.Target, name)
	case rotation.DestDependabotSecret:
		scope := sbgithub.GHDependabot
		if !strings.Contains(d.Target, "/") {
			scope = sbgithub.GHDependabotOrg
		}
		v, _, _, _, ok = g.GHSecret(scope, d.Target, name)
	}
	return v, ok
}

// seedChecks makes the console stand-in answer sc's verify checks (each aimed at
// it) with the status they expect, when the headers they name hold cookie — the
// value their environment variables get.
func seedChecks(console *sandbox.Console, sc *rotation.SecretConfig, env map[string]string, cookie string) {
	for _, v := range sc.Verify {
		status := v.ExpectStatus
		if status == 0 {
			status = http.StatusOK
		}
		var headers []string
		for header, envVar := range v.HeadersEnv {
			headers = append(headers, header)
			env[envVar] = cookie
		}
		if u, err := url.Parse(v.URL); err == nil {
			console.Guard(u.Path, status, headers...)
		}
	}
}

// seedFirstTokens adds the first secret's tokens for the tests and the scripted
// story: right ones, and one of each kind the token form refuses, so each
// refusal can be tried without making the token first (another login, expired,
// revoked, one that cannot see the secret's repositories, only owner's
// elsewhere). Each carries a note the sandbox page shows.
func (h *Harness) seedFirstTokens(sc *rotation.SecretConfig, owner string, now time.Time) {
	gh := h.World.GitHub
	const ready = "ready-made for rehearsals: "
	good := sbgithub.TokenSpec{Login: h.Login, Expires: now.Add(90 * 24 * time.Hour), Repos: sc.Repositories,
		Note: ready + "made as the card asks"}
	for _, t := range h.Fresh {
		good.Value = t
		gh.AddToken(good)
	}
	other := good
	other.Value, other.Login, other.Note = h.OtherLogin, "someone-else", ready+"made by another account: the form refuses it"
	gh.AddToken(other)
	expired := good
	expired.Value, expired.Expires, expired.Note = h.Expired, now.Add(-time.Hour), ready+"already expired: the form refuses it"
	gh.AddToken(expired)
	revoked := good
	revoked.Value, revoked.Note = h.Revoked, ready+"revoked: the form refuses it"
	gh.AddToken(revoked)
	gh.Revoke(h.Revoked)
	blind := good
	blind.Value, blind.Repos = h.Blind, []string{owner + "/elsewhere"}
	blind.Note = ready + "sees none of the secret's repositories: the form refuses it"
	gh.AddToken(blind)
}

// seedPeople adds the workspace's people, channels and ops group.
func (h *Harness) seedPeople() {
	m, sl := h.Matrix, h.World.Slack
	roles := map[string][]string{}
	var order []string
	add := func(id, role string) {
		if _, ok := roles[id]; !ok {
			order = append(order, id)
		}
		if !slices.Contains(roles[id], role) {
			roles[id] = append(roles[id], role)
		}
	}
	ops := []string{Alice, Bob}
	add(Alice, "ops")
	add(Bob, "ops")
	dms := map[string]string{} // person → the DM channel the matrix names
	secrets := make([]string, 0, len(m.Secrets))
	for name := range m.Secrets {
		secrets = append(secrets, name)
	}
	sort.Slice(secrets, func(i, j int) bool { return m.Secrets[secrets[i]].Line < m.Secrets[secrets[j]].Line })
	for _, name := range secrets {
		for _, op := range m.Secrets[name].Consumers.ShellRCOperators {
			id := op
			if strings.HasPrefix(op, "D") {
				id = "U" + op[1:] // the person at the other end of that DM
				dms[id] = op
			}
			if !slices.Contains(ops, id) {
				ops = append(ops, id)
			}
			add(id, "ops")
			add(id, "shell rc")
		}
	}
	for _, name := range secrets {
		for _, o := range m.Secrets[name].Owners {
			add(o, "owner")
		}
	}
	add(Mallory, "not in ops")
	counts := map[string]int{}
	for _, id := range order {
		name, ok := Names[id]
		if !ok {
			role := "owner"
			if slices.Contains(roles[id], "shell rc") {
				role = "operator"
			}
			counts[role]++
			name = fmt.Sprintf("%s%d", role, counts[role])
		}
		sl.AddUser(id, name)
		h.People = append(h.People, Person{ID: id, Name: name, Role: strings.Join(roles[id], " · ")})
		if dm, ok := dms[id]; ok {
			sl.AddDM(dm, id)
		}
	}
	sl.AddUsergroup(m.OpsUsergroup, ops...)
	h.Channels = []Channel{{m.Channel, "ops"}}
	if m.AuditChannel != "" && m.AuditChannel != m.Channel {
		h.Channels = append(h.Channels, Channel{m.AuditChannel, "audit"})
	}
	if OtherChannel != m.Channel && OtherChannel != m.AuditChannel {
		h.Channels = append(h.Channels, Channel{OtherChannel, "random"})
	}
	for _, c := range h.Channels {
		sl.AddChannel(c.ID, c.Name)
	}
}

// Name is a person's name in the workspace ("" for no one).
func (h *Harness) Name(id string) string {
	for _, p := range h.People {
		if p.ID == id {
			return p.Name
		}
	}
	return ""
}

// TokenOf makes up a token of a kind: github_pat_… fine-grained, ghp_… classic.
func TokenOf(k rotation.TokenKind) string {
	if k == rotation.Classic {
		return "ghp_" + sandbox.RandomHex(18)
	}
	return FineGrainedToken()
}

// probeRepo is the repository a probe path reads ("" for none).
func probeRepo(probe string) string {
	parts := strings.Split(strings.TrimPrefix(probe, "/"), "/")
	if len(parts) >= 3 && parts[0] == "repos" {
		return parts[1] + "/" + strings.SplitN(parts[2], "?", 2)[0]
	}
	return ""
}

func ownerOf(repos []string) string {
	for _, r := range repos {
		if o, _, ok := strings.Cut(r, "/"); ok {
			return o
		}
	}
	return "sandbox"
}

func matrixProblems(probs []config.Problem) error {
	lines := make([]string, len(probs))
	for i, p := range probs {
		lines[i] = p.String()
	}
	return fmt.Errorf("the routing matrix has problems (rotabot check shows them too):\n%s", strings.Join(lines, "\n"))
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
	h.Logs = &sandbox.SyncBuffer{}
	if err := h.StartBot(ctx, start); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// StartBot starts (or, after StopBot, restarts) the bot on the harness's world.
func (h *Harness) StartBot(ctx context.Context, start StartBot) error {
	if h.Logs == nil {
		h.Logs = &sandbox.SyncBuffer{}
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
func WaitFor(what string, cond func() bool) error { return WaitWithin(what, 15*time.Second, cond) }

// WaitWithin polls cond until it holds or d passes.
func WaitWithin(what string, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
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
	id, err := h.World.Slack.SendSlashCommand(sbslack.SlashCommand{User: user, Channel: channel, Command: "/rotate", Text: text})
	if err != nil {
		return err
	}
	_, err = h.World.Slack.WaitAck(id, 5*time.Second)
	return err
}

// Card returns the card of the newest run in the ops channel whose header names id
// ("" for the newest card).
func (h *Harness) Card(id string) (sbslack.Message, bool) {
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
	return sbslack.Message{}, false
}

// WaitCard waits until the card of run id shows the state word.
func (h *Harness) WaitCard(id, word string) (sbslack.Message, error) {
	var m sbslack.Message
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
func (h *Harness) Click(user string, m sbslack.Message, label string) error {
	id, err := h.World.Slack.Click(user, m, label)
	if err != nil {
		return err
	}
	_, err = h.World.Slack.WaitAck(id, 5*time.Second)
	return err
}

// SubmitToken is user opening the token form from the card and submitting value;
// it returns the ack's payload.
func (h *Harness) SubmitToken(user string, card sbslack.Message, value string) (json.RawMessage, error) {
	view, err := h.OpenForm(user, card, handlers.LabelSubmit)
	if err != nil {
		return nil, err
	}
	return h.SubmitForm(user, view, handlers.BlockToken, handlers.ActionToken, value)
}

// OpenForm is user pressing label on card, which opens a form; it returns the
// form as Slack shows it.
func (h *Harness) OpenForm(user string, card sbslack.Message, label string) (sbslack.View, error) {
	before := len(h.World.Slack.Views())
	if err := h.Click(user, card, label); err != nil {
		return sbslack.View{}, err
	}
	var view sbslack.View
	err := WaitFor("the form of "+label, func() bool {
		vs := h.World.Slack.Views()
		if len(vs) > before {
			view = vs[len(vs)-1]
			return true
		}
		return false
	})
	return view, err
}

// SubmitForm is user typing value in the input (block, action) of view and
// submitting it; it returns the ack's payload.
func (h *Harness) SubmitForm(user string, view sbslack.View, block, action, value string) (json.RawMessage, error) {
	id, err := h.World.Slack.SendViewSubmission(sbslack.ViewSubmission{User: user, ViewID: view.ID,
		Values: map[string]map[string]string{block: {action: value}}})
	if err != nil {
		return nil, err
	}
	return h.World.Slack.WaitAck(id, 5*time.Second)
}

// CardText renders a card as a person reads it.
func CardText(m sbslack.Message) string {
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
		for _, p := range rotation.PublicPrefixes {
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
	out = append(out, h.World.Heroku.Keys()...) // every Heroku key, the ones rotabot minted too
	return append(out, h.World.Credentials()...)
}

// orGlobal is scopes, or Heroku's global scope when there are none.
func orGlobal(scopes []string) []string {
	if len(scopes) == 0 {
		return []string{"global"}
	}
	return scopes
}
