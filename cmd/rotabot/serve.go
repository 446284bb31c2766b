package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/raxx-app/rotabot/bot/slackq"

	"github.com/raxx-app/rotabot/bot"
	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// ShutdownGrace is how long a stopping bot gives the step in hand (Heroku sends
// SIGKILL 30 s after SIGTERM).
const ShutdownGrace = 20 * time.Second

// serveOptions are `rotabot serve`'s.
type serveOptions struct {
	Config configOption
}

func newServeCmd(c *cli, runF func(context.Context, *serveOptions) error) *command {
	cmd := newCommand("serve", "", "run the Slack bot over Socket Mode (the Heroku worker)",
		"Runs the Slack bot: /rotate, its buttons and its form, over a Socket Mode connection (no public\nURL). Before connecting it checks the routing matrix, the environment and every credential that\nis set, and reports every problem at once. Logs go to stderr: JSON lines, or short text lines\nwhen stderr is a terminal (ROTABOT_LOG_FORMAT chooses).")
	opts := &serveOptions{}
	addConfigFlag(cmd, &opts.Config)
	cmd.more = printEnvironment
	cmd.run = noArgs(cmd, func(ctx context.Context) error {
		opts.Config.given(cmd.flags)
		if runF != nil {
			return runF(ctx, opts)
		}
		return c.runServe(ctx, opts)
	})
	return cmd
}

// printEnvironment is serve's help about the environment: every variable, one
// line each, from the one table (config.EnvVars) docs/configuration.md and app.json follow.
func printEnvironment(w io.Writer) {
	fmt.Fprintln(w, "Environment (every variable rotabot reads; docs/configuration.md's environment table and app.json say the same):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range config.EnvVars() {
		fmt.Fprintf(tw, "  %s\t%s — %s\n", v.Name, config.Plain(v.Summary), config.Plain(v.When()))
	}
	tw.Flush()
	fmt.Fprintln(w, "and each variable a verify check's headers_env names in the routing matrix (e.g. CONSOLE_OPS_COOKIE).")
}

func (c *cli) runServe(ctx context.Context, opts *serveOptions) error {
	su, problems := c.loadSetup(opts.Config)
	log := c.logger(su.env)
	log.Info("rotabot starting", c.version().attrs()...)
	problems = append(problems, su.env.Require(su.m, true)...)
	if su.m == nil && (!su.env.HasGitHub() || su.env.HerokuAPIKey == "") {
		problems = append(problems, "GITHUB_TOKEN and HEROKU_API_KEY: each is needed if the routing matrix has github_secrets or heroku_apps, which cannot be told until it reads")
	}
	s, err := startServer(ctx, su.env, su.m, c.getenv, log, problems, nil)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// server is a running bot: everything serve and demo share.
type server struct {
	env      config.Env
	log      *slog.Logger
	store    storeCloser
	adapters *adapters
	engine   *rotation.Engine
	handlers *handlers.Handlers
	drift    *drift.Loop
	bot      *bot.Bot
	api      *slackq.Client
	// work outlives the Slack connection so the step in hand can finish.
	work       context.Context
	cancelWork context.CancelFunc
	notifier   *handlers.Notifier
}

// startServer builds the bot. First it checks every credential that is set
// (those that are not are among problems already), and reports them together with
// the problems found before (the environment, the routing matrix): all at once,
// before connecting, each on its line. verify, when set, makes the verify checks'
// requests instead of the default client (the sandbox's reaches this machine only).
func startServer(ctx context.Context, env config.Env, m *rotation.Matrix, getenv func(string) string, log *slog.Logger, problems []string, verify *http.Client) (*server, error) {
	ad, err := buildAdapters(ctx, env, m, getenv, log)
	if ad == nil {
		return nil, err
	}
	if verify != nil {
		ad.httpChk.Client = verify
	}
	if err != nil {
		problems = append(problems, rotation.ErrorMessage(err))
	}
	api, err := slackAPI(env)
	if err != nil {
		ad.Close()
		return nil, err
	}
	problems = append(problems, preflight(ctx, env, m, ad, api)...)
	if len(problems) > 0 {
		ad.Close()
		return nil, &problemsError{lines: problems, what: "start-up problem", fix: "fix %s and start again"}
	}
	st, err := openStore(ctx, env)
	if err != nil {
		ad.Close()
		return nil, err
	}
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	log.Info("store opened", "store", st.Describe())
	// Built once each, in the direction changes flow: notifier → engine → handlers.
	q := paced(api)
	n := handlers.NewNotifier(handlers.NotifierConfig{Slack: q, Matrix: m, Runs: st, Log: log, Work: work})
	eng := ad.engine(m, st, n, log, env.ClaimTTL)
	dl := ad.driftLoop(m, st, eng, &handlers.DriftNotifier{Slack: q, Channel: m.Channel, AuditChannel: m.AuditChannel}, log, env.DriftInterval)
	h := handlers.New(handlers.Config{Engine: eng, Matrix: m, Store: st, Slack: q, HTTP: answerClient(), Log: log, Work: work, Drift: dl, Where: ad.discover(m)})
	client := socketClient(api)
	b := bot.New(bot.Config{Client: client, Handler: h, Dedupe: st, Log: log})
	return &server{env: env, log: log, store: st, adapters: ad, engine: eng, handlers: h, drift: dl, bot: b, api: q, work: work, cancelWork: cancelWork, notifier: n}, nil
}

// Run serves until ctx ends (SIGTERM), then stops taking new work, lets the step
// in hand finish within ShutdownGrace, closes the store and returns. The error is
// a Slack connection that ended for good.
func (s *server) Run(ctx context.Context) error {
	stopBackground := s.startBackground()
	if resumed, err := s.engine.Resume(s.work); err != nil {
		s.log.Error("could not resume open runs", "err", err)
	} else if len(resumed) > 0 {
		s.log.Info("resumed open runs", "count", len(resumed))
	}
	// Another process on the same database may die mid-run: take its runs over.
	s.engine.StartResumer(s.work, 0)
	err := s.bot.Run(ctx, s.work)
	if err != nil {
		s.log.Error("the Slack connection ended", "err", err)
		err = fmt.Errorf("the Slack connection ended: %s", message(err))
	}
	stopBackground()
	s.shutdown()
	return err
}

func (s *server) shutdown() {
	s.log.Info("stopping: finishing the step in hand")
	s.engine.Drain()
	done := make(chan struct{})
	go func() {
		s.bot.Wait()
		s.engine.Wait()
		// The cards' last updates and notes leave before the process does.
		_ = s.notifier.Wait(s.work)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(ShutdownGrace):
		s.log.Warn("the step in hand did not finish in time; it resumes at the next start")
		s.cancelWork()
		<-done
	}
	s.cancelWork()
	s.adapters.Close()
	if err := s.store.Close(); err != nil {
		s.log.Error("could not close the store", "err", err)
	}
	s.log.Info("stopped")
}
