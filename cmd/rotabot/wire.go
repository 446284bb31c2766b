package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
	rgithub "github.com/raxx-app/rotabot/rotation/github"
	rheroku "github.com/raxx-app/rotabot/rotation/heroku"
	rinfisical "github.com/raxx-app/rotabot/rotation/infisical"
)

// newLogger logs JSON lines, or text when w is a terminal.
func newLogger(w io.Writer) *slog.Logger {
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, nil))
		}
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// loadSetup reads the environment and the routing matrix. Every problem is
// printed, one line each; ok is false when any stands.
func (c *cli) loadSetup(configFlag string) (config.Env, *rotation.Matrix, bool) {
	env, probs := config.LoadEnv(c.getenv)
	for _, p := range probs {
		fmt.Fprintln(c.stderr, p)
	}
	src := env.ConfigPath
	if configFlag != "" {
		src = configFlag
	}
	m, mprobs, err := config.LoadFromEnv(src)
	if err != nil {
		fmt.Fprintln(c.stderr, rotation.ErrorMessage(err))
		return env, nil, false
	}
	for _, p := range mprobs {
		fmt.Fprintln(c.stderr, p.String())
	}
	if len(mprobs) > 0 {
		fmt.Fprintf(c.stderr, "the routing matrix has %d problems: fix them (rotabot check shows them too)\n", len(mprobs))
		return env, nil, false
	}
	return env, m, len(probs) == 0
}

// adapters are the outside world as the engine sees it.
type adapters struct {
	vault   *rinfisical.Vault
	github  *rgithub.Client
	heroku  *rheroku.Consumer
	httpChk *rotation.HTTPVerifier
}

func (a *adapters) Close() {
	if a.vault != nil {
		a.vault.Close()
	}
}

// buildAdapters prepares the GitHub and Heroku clients and logs in to Infisical.
// When the login fails it still returns the other adapters, with the error, so
// start-up can report every problem at once.
func buildAdapters(ctx context.Context, env config.Env, getenv func(string) string, log *slog.Logger) (*adapters, error) {
	gh, err := rgithub.New(rgithub.Config{BaseURL: env.GitHubAPIURL, AdminToken: rotation.NewSecret(env.GitHubToken)})
	if err != nil {
		return nil, err
	}
	a := &adapters{github: gh,
		heroku: rheroku.New(rheroku.Config{BaseURL: env.HerokuAPIURL, APIKey: env.HerokuAPIKey, Logger: log}),
		// A verify check carries no credential of rotabot's: https only (loopback
		// excepted), never one of rotabot's own variables, no redirect followed.
		httpChk: &rotation.HTTPVerifier{Client: egress.Open(nil, 30*time.Second), Getenv: getenv, Reserved: config.Vars()}}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a.vault, err = rinfisical.New(lctx, rinfisical.Config{SiteURL: env.InfisicalSiteURL, ClientID: env.InfisicalClientID,
		ClientSecret: env.InfisicalClientSecret, ProjectID: env.InfisicalProjectID})
	return a, err
}

// engine builds the engine on the adapters.
func (a *adapters) engine(m *rotation.Matrix, st rotation.Store, n rotation.Notifier, log *slog.Logger, claimTTL time.Duration) *rotation.Engine {
	return rotation.NewEngine(rotation.EngineConfig{
		Matrix: m, Vault: a.vault, Checker: a.github, Revoker: a.github, HTTP: a.httpChk, Notifier: n, Store: st, Log: log,
		Consumers: map[rotation.DestKind]rotation.Consumer{
			rotation.DestHeroku:       a.heroku,
			rotation.DestGitHubSecret: a.github.ActionsSecrets(),
		},
		ClaimTTL: claimTTL,
	})
}

// need lists the environment a run of plan needs, as lines for people.
func need(env config.Env, plan rotation.Plan) []string {
	var out []string
	for _, v := range []struct{ name, val string }{
		{"INFISICAL_CLIENT_ID", env.InfisicalClientID}, {"INFISICAL_CLIENT_SECRET", env.InfisicalClientSecret},
		{"INFISICAL_PROJECT_ID", env.InfisicalProjectID},
	} {
		if v.val == "" {
			out = append(out, v.name+" is not set: rotabot reads the secret from Infisical with this machine identity")
		}
	}
	for _, d := range plan.Destinations {
		switch {
		case d.Kind == rotation.DestHeroku && env.HerokuAPIKey == "":
			out = append(out, "HEROKU_API_KEY is not set: it is needed to set config vars on "+d.Target)
		case d.Kind == rotation.DestGitHubSecret && env.GitHubToken == "":
			out = append(out, "GITHUB_TOKEN is not set: a token with secrets:write on "+d.Target+" is needed to set its Actions secret")
		}
	}
	return dedupe(out)
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		k, _, _ := strings.Cut(x, ":")
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

// SlackTimeout bounds one Slack Web API request (slack-go's client has none).
const SlackTimeout = 30 * time.Second

// slackAPI is the Slack Web API client: the bot and app tokens go to SLACK_API_URL's
// host only (package egress), every request has a deadline, and slack-go retries a
// 429 after its Retry-After and a call whose connection failed before an answer
// (the card's updates retry more: handlers.Notifier).
func slackAPI(env config.Env) (*slack.Client, error) {
	u, err := egress.Base("SLACK_API_URL", env.SlackAPIURL)
	if err != nil {
		return nil, rotation.Wrap(rotation.EINVALID, err, "%s", err.Error())
	}
	retry := slack.DefaultRetryConfig()
	retry.RetryAfterDuration = 5 * time.Second
	retry.Handlers = slack.AllBuiltinRetryHandlers(retry)
	return slack.New(env.SlackBotToken, slack.OptionAPIURL(env.SlackAPIURL), slack.OptionAppLevelToken(env.SlackAppToken),
		slack.OptionRetryConfig(retry), slack.OptionHTTPClient(egress.Bind(u, nil, SlackTimeout))), nil
}

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
