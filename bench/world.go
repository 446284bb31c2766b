package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/sandbox"
	"github.com/raxx-app/rotabot/sandbox/demo"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// People and places of the bench's workspace: the demo's, as in the example matrix.
const (
	userAlice    = demo.Alice
	userBob      = demo.Bob
	userOperator = demo.Operator
	userOwner    = demo.Owner
	opsGroup     = "S0OPS"
	opsChannel   = demo.OpsChannel
	auditChannel = demo.AuditChannel
	repo         = "raxx-app/TradeMasterAPI"
	vaultEnv     = "prod"
	vaultPath    = "/MooseQuest/github/"
	pendingPath  = "/rotabot/pending/"
	consoleEnv   = demo.ConsoleEnv
)

// secretSpec is one secret of a generated routing matrix.
type secretSpec struct {
	Name       string
	HerokuApps []string
	GitHub     bool // an Actions secret on repo
	ShellRC    bool // U0OPERATOR keeps it in a shell rc
	Verify     bool // the console check
	Expires    time.Duration
}

// matrixYAML writes a routing matrix shaped like rotabot.example.yaml's
// fine-grained secret, once per spec.
func matrixYAML(specs []secretSpec, consoleURL string) string {
	var b strings.Builder
	b.WriteString("ops_usergroup: " + opsGroup + "\nchannel: " + opsChannel + "\naudit_channel: " + auditChannel + "\n")
	b.WriteString("reminders:\n  days_before: [14, 7, 3, 1]\n")
	b.WriteString("vault:\n  environment: " + vaultEnv + "\n  path: " + vaultPath + "\n  pending_path: " + pendingPath + "\n")
	b.WriteString("secrets:\n")
	for _, s := range specs {
		fmt.Fprintf(&b, "  %s:\n    kind: fine-grained\n    owners: [%s]\n    expires_in_days: 90\n", s.Name, userOwner)
		b.WriteString("    resource_owner: " + strings.Split(repo, "/")[0] + "\n    repositories: [" + repo + "]\n")
		b.WriteString("    permissions: {actions: read, metadata: read, contents: read}\n")
		b.WriteString("    probe: /repos/" + repo + "/actions/runs?per_page=1\n    consumers:\n")
		if len(s.HerokuApps) > 0 {
			b.WriteString("      heroku_apps: [" + strings.Join(s.HerokuApps, ", ") + "]\n")
		}
		if s.GitHub {
			fmt.Fprintf(&b, "      github_secrets: [%s:GH_%s]\n", repo, s.Name)
		}
		if s.ShellRC {
			b.WriteString("      shell_rc_operators: [" + userOperator + "]\n")
		}
		if s.Verify && consoleURL != "" {
			b.WriteString("    verify:\n      - name: console build status\n        url: " + consoleURL + "/api/status/builds\n")
			b.WriteString("        headers_env: {Cookie: " + consoleEnv + "}\n")
		}
	}
	return b.String()
}

// world is the stand-ins of one bench phase, seeded for a generated matrix, the
// Slack watch in front of the Web API, and the bot subprocess once started.
type world struct {
	sb      *sandbox.World
	console *sandbox.Console
	watch   *watch
	specs   []secretSpec
	env     map[string]string
	dir     string
	bot     *bot
	// wait bounds each wait of rotate for a card, a form or a DM (default 60 s).
	wait time.Duration

	mu      sync.Mutex
	current map[string]string // secret → its current token
}

// newWorld starts the stand-ins and seeds them for specs; each secret's token
// expires after its spec's Expires (default 60 days).
func newWorld(dir string, specs []secretSpec) *world {
	w := &world{sb: sandbox.NewWorld(), specs: specs, dir: dir, current: map[string]string{}}
	cookie := "session=" + sandbox.RandomHex(12)
	w.console = sandbox.NewConsole(cookie)
	w.watch = newWatch(w.sb.Slack.URL)
	sl := w.sb.Slack
	for id, name := range map[string]string{userAlice: "alice", userBob: "bob", userOperator: "olga", userOwner: "owen"} {
		sl.AddUser(id, name)
	}
	sl.AddUsergroup(opsGroup, userAlice, userBob, userOperator)
	sl.AddChannel(opsChannel, "ops")
	sl.AddChannel(auditChannel, "audit")
	w.sb.GitHub.AddRepo(repo)
	w.sb.Infisical.Mkdir(vaultEnv, pendingPath)
	now := time.Now()
	apps := map[string]map[string]string{}
	for _, s := range specs {
		tok := demo.FineGrainedToken()
		exp := s.Expires
		if exp == 0 {
			exp = 60 * 24 * time.Hour
		}
		w.sb.GitHub.AddToken(sbgithub.TokenSpec{Value: tok, Login: "raxx-bot", Expires: now.Add(exp), Repos: []string{repo}})
		w.sb.Infisical.Set(vaultEnv, vaultPath, s.Name, tok)
		w.current[s.Name] = tok
		for _, a := range s.HerokuApps {
			if apps[a] == nil {
				apps[a] = map[string]string{"DATABASE_URL": "postgres://u:" + sandbox.RandomHex(8) + "@db/raxx"}
			}
			apps[a][s.Name] = tok
		}
	}
	for a, vars := range apps {
		w.sb.Heroku.AddApp(a, vars)
	}
	w.env = w.sb.Env()
	w.env["SLACK_API_URL"] = w.watch.URL + "/api/"
	w.env[consoleEnv] = cookie
	// A file: a thousand secrets do not fit in one environment variable.
	matrix := filepath.Join(dir, "rotabot.yaml")
	if err := os.WriteFile(matrix, []byte(matrixYAML(specs, w.console.URL)), 0o600); err != nil {
		panic(err)
	}
	w.env["ROTABOT_CONFIG"] = matrix
	w.env["ROTABOT_DB"] = filepath.Join(dir, "rotabot.db")
	return w
}

// start starts the bot and waits for its Socket Mode link.
func (w *world) start(bin string) error {
	b, err := startBot(bin, w.env, filepath.Join(w.dir, "rotabot.log"))
	if err != nil {
		return err
	}
	w.bot = b
	if err := w.sb.Slack.WaitConnected(1, 60*time.Second); err != nil {
		b.stop(5 * time.Second)
		return fmt.Errorf("%v (see %s)", err, filepath.Join(w.dir, "rotabot.log"))
	}
	return nil
}

func (w *world) close() {
	if w.bot != nil {
		w.bot.stop(25 * time.Second)
	}
	w.watch.Close()
	w.sb.Close()
	w.console.Close()
}

// slash is user typing /rotate text in channel; it returns when the bot acked.
func (w *world) slash(user, channel, text string) error {
	id, err := w.sb.Slack.SendSlashCommand(sbslack.SlashCommand{User: user, Channel: channel, Command: "/rotate", Text: text})
	if err != nil {
		return err
	}
	_, err = w.sb.Slack.WaitAck(id, 10*time.Second)
	return err
}

// click is user pressing label on a posted message; it returns when acked.
func (w *world) click(user string, p posted, label string) error {
	b, ok := p.button(label)
	if !ok {
		return fmt.Errorf("no button %q on the message (%d buttons)", label, len(p.Buttons))
	}
	id, err := w.sb.Slack.SendBlockAction(sbslack.BlockAction{User: user, Channel: p.Channel, MessageTS: p.TS,
		ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value, Text: b.Text})
	if err != nil {
		return err
	}
	_, err = w.sb.Slack.WaitAck(id, 10*time.Second)
	return err
}

// rotate plays one whole run of secret as the ops team would: alice starts it and
// submits a new token, bob approves, the operator presses Done in the DM, alice
// revokes the old token through GitHub's API. It returns the run id when the card
// shows Completed. until, when not "", stops the run early at that state word.
func (w *world) rotate(secret, until string) (string, error) {
	wait := w.wait
	if wait == 0 {
		wait = 60 * time.Second
	}
	sb := w.sb
	before := w.watch.newestRun(secret)
	if err := w.slash(userAlice, opsChannel, secret); err != nil {
		return "", err
	}
	c, err := w.watch.waitNewCard(secret, before, "Waiting for token", wait)
	if err != nil {
		return "", err
	}
	id := c.ID
	tok := demo.FineGrainedToken()
	sb.GitHub.AddToken(sbgithub.TokenSpec{Value: tok, Login: "raxx-bot", Expires: time.Now().Add(90 * 24 * time.Hour), Repos: []string{repo}})
	if err := w.click(userAlice, c.posted, handlers.LabelSubmit); err != nil {
		return id, err
	}
	view, err := w.watch.waitView(id, wait)
	if err != nil {
		return id, err
	}
	env, err := sb.Slack.SendViewSubmission(sbslack.ViewSubmission{User: userAlice, ViewID: view,
		Values: map[string]map[string]string{handlers.BlockToken: {handlers.ActionToken: tok}}})
	if err != nil {
		return id, err
	}
	ack, err := sb.Slack.WaitAck(env, wait)
	if err != nil {
		return id, err
	}
	if strings.Contains(string(ack), `"errors"`) {
		return id, fmt.Errorf("the token form refused the token: %s", ack)
	}
	if c, err = w.watch.waitCard(id, "Waiting for approval", wait); err != nil {
		return id, err
	}
	if err := w.click(userBob, c.posted, handlers.LabelApprove); err != nil {
		return id, err
	}
	if c, err = w.watch.waitCard(id, "Waiting for revoke", wait); err != nil {
		return id, err
	}
	w.mu.Lock()
	w.current[secret] = tok
	w.mu.Unlock()
	if until == "Waiting for revoke" {
		return id, nil
	}
	if w.hasShellRC(secret) {
		dm, err := w.watch.waitDM(id, wait)
		if err != nil {
			return id, err
		}
		if err := w.click(userOperator, dm, handlers.LabelDone); err != nil {
			return id, err
		}
	}
	if err := w.click(userAlice, c.posted, handlers.LabelRevokeAPI); err != nil {
		return id, err
	}
	_, err = w.watch.waitCard(id, "Completed", wait)
	return id, err
}

func (w *world) hasShellRC(secret string) bool {
	for _, s := range w.specs {
		if s.Name == secret {
			return s.ShellRC
		}
	}
	return false
}
