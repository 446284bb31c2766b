package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/bot"
	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// ShutdownGrace is how long a stopping bot gives the step in hand (Heroku sends
// SIGKILL 30 s after SIGTERM).
const ShutdownGrace = 20 * time.Second

// serve is `rotabot serve`.
func (c *cli) serve(ctx context.Context, args []string) int {
	fs := newFlagSet(c, "serve", "rotabot serve [-config FILE]\n\nRuns the Slack bot over Socket Mode. The environment is described in README.md.")
	cfg := fs.String("config", "", "routing matrix (default $ROTABOT_CONFIG, else rotabot.yaml)")
	if code, ok := parseNoArgs(fs, args); !ok {
		return code
	}
	env, m, ok := c.loadSetup(*cfg)
	if !ok {
		return 2
	}
	if missing := env.Require(m, true); len(missing) > 0 {
		for _, l := range missing {
			fmt.Fprintln(c.stderr, l)
		}
		return 2
	}
	log := newLogger(c.stdout)
	s, err := startServer(ctx, env, m, c.getenv, log)
	if err != nil {
		var se *startupError
		if errors.As(err, &se) {
			for _, p := range se.problems {
				fmt.Fprintln(c.stderr, p)
			}
			fmt.Fprintf(c.stderr, "rotabot serve: %s: fix them and start again\n", rotation.Plural(len(se.problems), "start-up problem", "start-up problems"))
			return 1
		}
		fmt.Fprintln(c.stderr, rotation.ErrorMessage(err))
		return 1
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
	bot      *bot.Bot
	api      *slack.Client
	// work outlives the Slack connection so the step in hand can finish.
	work       context.Context
	cancelWork context.CancelFunc
}

func startServer(ctx context.Context, env config.Env, m *rotation.Matrix, getenv func(string) string, log *slog.Logger) (*server, error) {
	// Start-up checks: every credential, each problem on one line, before connecting.
	ad, err := buildAdapters(ctx, env, getenv, log)
	if ad == nil {
		return nil, err
	}
	var problems []string
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
		return nil, &startupError{problems: problems}
	}
	st, err := openStore(ctx, env)
	if err != nil {
		ad.Close()
		return nil, err
	}
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	log.Info("store opened", "store", st.Describe())
	// Built once each, in the direction changes flow: notifier → engine → handlers.
	n := handlers.NewNotifier(handlers.NotifierConfig{Slack: api, Matrix: m, Runs: st, Log: log, Work: work})
	eng := ad.engine(m, st, n, log, env.ClaimTTL)
	h := handlers.New(handlers.Config{Engine: eng, Matrix: m, Store: st, Slack: api, HTTP: answerClient(), Log: log, Work: work})
	client := socketClient(api)
	b := bot.New(bot.Config{Client: client, Handler: h, Dedupe: st, Log: log})
	return &server{env: env, log: log, store: st, adapters: ad, engine: eng, handlers: h, bot: b, api: api, work: work, cancelWork: cancelWork}, nil
}

// run serves until ctx ends (SIGTERM), then stops taking new work, lets the step
// in hand finish within ShutdownGrace, closes the store and returns.
func (s *server) Run(ctx context.Context) int {
	stopBackground := s.startBackground()
	if resumed, err := s.engine.Resume(s.work); err != nil {
		s.log.Error("could not resume open runs", "err", err)
	} else if len(resumed) > 0 {
		s.log.Info("resumed open runs", "count", len(resumed))
	}
	// Another process on the same database may die mid-run: take its runs over.
	s.engine.StartResumer(s.work, 0)
	err := s.bot.Run(ctx, s.work)
	code := 0
	if err != nil {
		s.log.Error("the Slack connection ended", "err", err)
		code = 1
	}
	stopBackground()
	s.shutdown()
	return code
}

func (s *server) shutdown() {
	s.log.Info("stopping: finishing the step in hand")
	s.engine.Drain()
	done := make(chan struct{})
	go func() {
		s.bot.Wait()
		s.engine.Wait()
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

// startupError is every problem the start-up checks found.
type startupError struct{ problems []string }

func (e *startupError) Error() string { return strings.Join(e.problems, "; ") }
