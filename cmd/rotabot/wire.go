package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/bot/slackq"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/bykind"
	"github.com/raxx-app/rotabot/rotation/discover"
	"github.com/raxx-app/rotabot/rotation/drift"
	rgithub "github.com/raxx-app/rotabot/rotation/github"
	rheroku "github.com/raxx-app/rotabot/rotation/heroku"
	"github.com/raxx-app/rotabot/rotation/httpcheck"
	rinfisical "github.com/raxx-app/rotabot/rotation/infisical"
	"github.com/raxx-app/rotabot/rotation/logwatch"
	"github.com/raxx-app/rotabot/rotation/mask"
	"github.com/raxx-app/rotabot/rotation/release"
)

// newLogger writes log lines to w: JSON lines, or short text lines when format
// says so — by default when w is a terminal, where a person reads them.
func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "" {
		format = config.LogJSON
		if isTerminal(w) {
			format = config.LogText
		}
	}
	if format == config.LogText {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05"))
			}
			return a
		}}))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// logger is the command's logger: on stderr, in the format ROTABOT_LOG_FORMAT
// names, else JSON or, on a terminal, text.
func (c *cli) logger(env config.Env) *slog.Logger { return newLogger(c.stderr, env.LogFormat) }

// setup is what a command reads before it works: the environment and the
// routing matrix.
type setup struct {
	env config.Env
	src config.Source
	m   *rotation.Matrix // nil when the matrix has a problem
}

// loadSetup reads the environment and the routing matrix, and returns every
// problem with either, one line each: a person fixes them in one go.
func (c *cli) loadSetup(o configOption) (setup, []string) {
	env, problems := config.LoadEnv(c.getenv)
	su := setup{env: env, src: c.source(o)}
	m, mprobs, err := su.src.Load()
	if err != nil {
		return su, append(problems, message(err))
	}
	for _, p := range mprobs {
		problems = append(problems, p.String())
	}
	if m != nil {
		m.GitHubWeb = env.GitHubWebURL()
	}
	su.m = m
	return su, problems
}

// verifyTimeout bounds a verify check's request.
const verifyTimeout = 30 * time.Second

// adapters are the outside world as the engine sees it.
type adapters struct {
	vault  *rinfisical.Vault
	github *rgithub.Client
	heroku *rheroku.Consumer
	// keys checks, mints and deletes heroku-api-key secrets' keys (with
	// HEROKU_API_KEY); tokens sends each value to its own service's adapter.
	keys    *rheroku.Keys
	tokens  bykind.Router
	httpChk *httpcheck.Checker
	// scanners read every Heroku app's config (where a value is held, drift);
	// none without HEROKU_API_KEY. One per process: it paces every scan by the
	// rate limit it has seen.
	scanners map[rotation.DestKind]rotation.ConfigScanner
	// dates tell when an Actions secret was last written; none without
	// GITHUB_TOKEN or the GitHub App.
	dates map[rotation.DestKind]drift.WriteDater
	// lister lists GitHub's secrets by name and date for the look for copies
	// nobody listed; nil without GitHub access. One per process: it paces
	// every look by the rate limit it has seen.
	lister *rgithub.Lister
}

func (a *adapters) Close() {
	if a.vault != nil {
		a.vault.Close()
	}
}

// openAdapters is buildAdapters for a command that needs every adapter working:
// on any problem it closes what was built and returns the error.
func openAdapters(ctx context.Context, env config.Env, m *rotation.Matrix, getenv func(string) string, log *slog.Logger) (*adapters, error) {
	ad, err := buildAdapters(ctx, env, m, getenv, log)
	if err != nil && ad != nil {
		ad.Close()
	}
	if err != nil {
		return nil, err
	}
	return ad, nil
}

// buildAdapters prepares the GitHub and Heroku clients and logs in to Infisical
// (when its identity is set). GitHub's secrets are written with GITHUB_TOKEN, or
// as the GitHub App, whose installation is found on m's GitHub account
// (githubapp.go). When the login fails it still returns the other adapters,
// with the error, so start-up can report every problem at once.
func buildAdapters(ctx context.Context, env config.Env, m *rotation.Matrix, getenv func(string) string, log *slog.Logger) (*adapters, error) {
	gh, err := githubClient(env, m, log)
	if err != nil {
		return nil, err
	}
	a := &adapters{github: gh,
		heroku: rheroku.New(rheroku.Config{BaseURL: env.HerokuAPIURL, APIKey: env.HerokuAPIKey, Logger: log}),
		// A verify check carries no credential of rotabot's: https only (loopback
		// excepted), never one of rotabot's own variables, no redirect followed.
		httpChk: &httpcheck.Checker{Client: egress.Open(nil, verifyTimeout), Getenv: getenv, Reserved: config.Vars()}}
	a.keys = a.heroku.Keys()
	a.tokens = bykind.Router{rotation.FineGrained: gh, rotation.Classic: gh, rotation.HerokuAPIKey: a.keys}
	if env.HerokuAPIKey != "" {
		a.scanners = map[rotation.DestKind]rotation.ConfigScanner{rotation.DestHeroku: a.heroku.Scanner()}
	}
	if env.HasGitHub() {
		a.lister = gh.Lister()
		a.dates = map[rotation.DestKind]drift.WriteDater{rotation.DestGitHubSecret: gh.ActionsSecrets(),
			rotation.DestGitHubEnvSecret: gh.EnvSecrets(), rotation.DestGitHubOrgSecret: gh.OrgSecrets(),
			rotation.DestDependabotSecret: gh.DependabotSecrets()}
	}
	if env.InfisicalClientID == "" || env.InfisicalClientSecret == "" || env.InfisicalProjectID == "" {
		return a, nil // what is missing is reported with the environment; no login to try
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a.vault, err = rinfisical.New(lctx, rinfisical.Config{SiteURL: env.InfisicalSiteURL, ClientID: env.InfisicalClientID,
		ClientSecret: env.InfisicalClientSecret, ProjectID: env.InfisicalProjectID})
	return a, err
}

// githubClient is the GitHub adapter with rotabot's own GitHub access
// (GITHUB_TOKEN), as every command builds it.
func githubClient(env config.Env, m *rotation.Matrix, log *slog.Logger) (*rgithub.Client, error) {
	return rgithub.New(githubConfig(env, m, log))
}

// engine builds the engine on the adapters, then attaches its log watch.
func (a *adapters) engine(m *rotation.Matrix, st rotation.Store, n rotation.Notifier, log *slog.Logger, claimTTL time.Duration) *rotation.Engine {
	eng := rotation.NewEngine(rotation.EngineConfig{
		Matrix: m, Vault: a.vault, Checker: a.tokens, Revoker: a.tokens, HTTP: a.httpChk, Notifier: n, Store: st, Log: log,
		// A Heroku key is made by rotabot, not pasted.
		Minters: map[rotation.TokenKind]rotation.Minter{rotation.HerokuAPIKey: a.keys},
		Consumers: map[rotation.DestKind]rotation.Consumer{
			rotation.DestHeroku:       a.heroku,
			rotation.DestGitHubSecret: a.github.ActionsSecrets(),
			// Every place GitHub keeps a copy beyond the repository.
			rotation.DestGitHubEnvSecret:  a.github.EnvSecrets(),
			rotation.DestGitHubOrgSecret:  a.github.OrgSecrets(),
			rotation.DestDependabotSecret: a.github.DependabotSecrets(),
		},
		Holders: a.holders(m),
		// A Heroku config change restarts the app: verify waits for it, then
		// the app's log is watched (the watcher below).
		Releasers: map[rotation.DestKind]rotation.Releaser{rotation.DestHeroku: a.heroku},
		// A matched log line is shown masked, never as the app wrote it.
		Masker:   mask.Lines{},
		ClaimTTL: claimTTL,
	})
	eng.Restarts = release.New(eng)
	eng.Watcher = logwatch.New(eng, map[rotation.DestKind]rotation.LogTailer{rotation.DestHeroku: a.heroku})
	return eng
}

// discover builds the scan for where a value is held, on the adapters'
// scanners (none without HEROKU_API_KEY) and GitHub lister (none without
// GitHub access); with neither, its Where says so.
func (a *adapters) discover(m *rotation.Matrix) *discover.Scanner {
	c := discover.Config{Matrix: m, Vault: a.vault, Scanners: a.scanners}
	if a.lister != nil {
		c.GitHub = a.lister
	}
	return discover.New(c)
}

// holders is the engine's scan for other holders of a value: none without
// HEROKU_API_KEY and GitHub access.
func (a *adapters) holders(m *rotation.Matrix) rotation.HolderFinder {
	if len(a.scanners) == 0 && a.lister == nil {
		return nil
	}
	return a.discover(m)
}

// driftLoop builds the drift check on the adapters: Heroku configs through the
// scanner (none without HEROKU_API_KEY), GitHub Actions secrets' dates, repairs
// through the engine's guarded write path, as a run writes.
func (a *adapters) driftLoop(m *rotation.Matrix, st drift.Store, eng *rotation.Engine, n drift.Notifier, log *slog.Logger, every time.Duration) *drift.Loop {
	return drift.New(drift.Config{
		Matrix: m, Vault: a.vault, Store: st, Engine: eng, Notifier: n, Log: log.With("loop", "drift"), Interval: every,
		Scanners: a.scanners,
		Dates:    a.dates,
	})
}

// readNeeds lists what is missing to read the secret from Infisical, which every
// rotate needs, dry run or not.
func readNeeds(env config.Env) []string {
	var out []string
	for _, v := range []struct{ name, val string }{
		{"INFISICAL_CLIENT_ID", env.InfisicalClientID}, {"INFISICAL_CLIENT_SECRET", env.InfisicalClientSecret},
		{"INFISICAL_PROJECT_ID", env.InfisicalProjectID},
	} {
		if v.val == "" {
			out = append(out, v.name+" is not set: rotabot reads the secret from Infisical with this machine identity")
		}
	}
	return out
}

// writeNeeds lists the credentials missing to write plan's destinations, one
// line per variable naming every destination that needs it.
func writeNeeds(env config.Env, dests []rotation.Destination) []string {
	var apps, repos []string
	for _, d := range dests {
		switch {
		case d.Kind == rotation.DestHeroku && env.HerokuAPIKey == "":
			apps = append(apps, d.Target)
		case d.Kind.IsGitHub() && !env.HasGitHub():
			target := d.Target
			if d.Kind == rotation.DestGitHubEnvSecret {
				target, _ = rotation.SplitEnvTarget(target)
			}
			if !slices.Contains(repos, target) {
				repos = append(repos, target)
			}
		}
	}
	var out []string
	if len(apps) > 0 {
		out = append(out, "HEROKU_API_KEY is not set: it is needed to set config vars on "+strings.Join(apps, ", "))
	}
	if len(repos) > 0 {
		out = append(out, "GITHUB_TOKEN is not set: a token with secrets:write on "+strings.Join(repos, ", ")+" is needed to set its GitHub secrets")
	}
	return out
}

// SlackTimeout bounds one Slack Web API request (slack-go's client has none).
const SlackTimeout = 30 * time.Second

// slackAPI is the Slack Web API client: the bot and app tokens go to SLACK_API_URL's
// host only (package egress), every request has a deadline, and slack-go retries a
// call whose connection failed before an answer. It does not retry a 429 itself:
// one caller waiting out a Retry-After inside slack-go would leave every other
// caller of that method free to call Slack while it is limited. The process
// calls Slack through slackq (paced), which holds the method back for everyone.
// The message Slack echoes back from a post or an update is dropped unread
// (slackq.WithoutEcho): slack-go's decoding of its blocks cost more than the rest
// of a card update.
func slackAPI(env config.Env) (*slack.Client, error) {
	u, err := egress.Base("SLACK_API_URL", env.SlackAPIURL)
	if err != nil {
		return nil, rotation.Wrap(rotation.EINVALID, err, "%s", err.Error())
	}
	retry := slack.DefaultRetryConfig()
	retry.Handlers = slack.ConnectionOnlyRetryHandlers()
	return slack.New(env.SlackBotToken, slack.OptionAPIURL(env.SlackAPIURL), slack.OptionAppLevelToken(env.SlackAppToken),
		slack.OptionRetryConfig(retry), slack.OptionHTTPClient(egress.Bind(u, &http.Client{Transport: slackq.WithoutEcho(egress.Transport)}, SlackTimeout))), nil
}

// paced is the one door the process's Web API calls go through (package slackq):
// a 429 holds its method (its channel, for posting) back for every caller until
// its Retry-After has passed.
func paced(api *slack.Client) *slackq.Client { return slackq.New(slackq.Config{API: api}) }

// socketClient is the Socket Mode client on api. Its websocket goes to the URL
// Slack hands out (apps.connections.open), over wss only unless the host is
// loopback, and the handshake has a deadline.
func socketClient(api *slack.Client) *socketmode.Client {
	return socketmode.New(api, socketmode.OptionDialer(&websocket.Dialer{
		Proxy:            egress.WebsocketProxy,
		HandshakeTimeout: SlackTimeout,
	}))
}

// answerClient posts to a command's or a button's response_url (hooks.slack.com):
// it carries no credential, but speaks https only (loopback excepted), follows no
// redirect off the host and has a deadline.
func answerClient() *http.Client { return egress.Open(nil, 10*time.Second) }
