package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	sbslack "github.com/raxx-app/rotabot/sandbox/slack"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox/demo"
	"github.com/raxx-app/rotabot/sandbox/web"
)

// demoOptions are `rotabot demo`'s.
type demoOptions struct {
	// Web serves the stand-in workspace as a page, with the bot running on it.
	Web bool
	// Addr is where the page listens (127.0.0.1:0: a free port).
	Addr string
	// Sandbox, when set, starts only the stand-ins and writes their environment
	// to this file.
	Sandbox string
	// Config seeds --web or --sandbox from this routing matrix instead of the
	// example.
	Config string
}

func newDemoCmd(c *cli, runF func(context.Context, *demoOptions) error) *command {
	cmd := newCommand("demo", "", "a whole rotation on local stand-ins of Slack, GitHub, Infisical and Heroku",
		"Runs a whole rotation — all eight steps and a rollback — against local stand-ins of Slack, GitHub,\n"+
			"Infisical and Heroku started in this process, and prints what each person sees. No credential, no network.\n\n"+
			"With --web it starts the stand-ins, the real bot on them, and a page on 127.0.0.1 that shows the\n"+
			"stand-in Slack workspace: switch between people, type /rotate, press the buttons, paste tokens made\n"+
			"in the GitHub panel, watch Heroku and Infisical, make services fail and restart the bot. Ctrl-C ends it.\n\n"+
			"With --sandbox FILE it only starts the stand-ins, with a new token already in Infisical, writes the\n"+
			"environment that points rotabot at them to FILE, and waits for Ctrl-C: then, in another shell,\n"+
			"`set -a; . FILE; set +a` and try `rotabot rotate SECRET --dry-run` or `rotabot rotate SECRET`.\n\n"+
			"--config FILE seeds the stand-ins of --web or --sandbox from your own routing matrix instead of\n"+
			"rotabot.example.yaml: its apps, repositories, owners and operators become sandbox apps and people.")
	opts := &demoOptions{}
	cmd.flags.BoolVar(&opts.Web, "web", false, "serve the stand-in workspace as a page on 127.0.0.1, with the bot running on it")
	cmd.flags.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "where --web serves the page, `HOST:PORT` (port 0: a free one, printed)")
	cmd.flags.StringVar(&opts.Sandbox, "sandbox", "", "start the stand-ins only, write their environment to `FILE`, and wait")
	cmd.flags.StringVar(&opts.Config, "config", "", "seed --web or --sandbox from this routing matrix (default: rotabot.example.yaml)")
	cmd.run = noArgs(cmd, func(ctx context.Context) error {
		if runF != nil {
			return runF(ctx, opts)
		}
		return c.runDemo(ctx, opts)
	})
	return cmd
}

// runDemo runs `rotabot demo` with its options.
func (c *cli) runDemo(ctx context.Context, opts *demoOptions) error {
	switch {
	case opts.Web && opts.Sandbox != "":
		return &usageError{msg: "--web and --sandbox are two ways to use the stand-ins: choose one", hint: "rotabot demo --web"}
	case opts.Config != "" && !opts.Web && opts.Sandbox == "":
		return &usageError{msg: "--config seeds the sandbox of --web or --sandbox; the scripted story plays rotabot.example.yaml",
			hint: "rotabot demo --web --config " + opts.Config}
	case opts.Web:
		return c.runWeb(ctx, opts.Addr, opts.Config)
	case opts.Sandbox != "":
		return c.runSandbox(ctx, opts.Sandbox, opts.Config)
	}
	return c.playDemo(ctx, c.stdout, c.colorful(c.stdout))
}

// playDemo is `rotabot demo`: the stand-ins and the real bot in one process, and
// a scripted session played as real Socket Mode envelopes, shown on w with ANSI
// styles and hyperlinks when color is on.
func (c *cli) playDemo(ctx context.Context, w io.Writer, color bool) error {
	dir, err := os.MkdirTemp("", "rotabot-demo-")
	if err != nil {
		return fmt.Errorf("cannot make a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	h, err := demo.Start(ctx, dir, rotation.WallNow(), demoBot)
	if err != nil {
		return err
	}
	defer h.Close()
	d := &demo.Script{H: h, W: w, Term: demo.Term{Color: color, Width: c.width(w)}}
	if err := d.Play(); err != nil {
		d.Show("", fmt.Sprintf("\n✗ the demo stopped: %v", err))
		if m, ok := h.Card(""); ok {
			d.Show("", "the newest card shows:")
			d.Show("   │ ", demo.CardText(m))
		}
		lines := strings.Split(strings.TrimSpace(h.Logs.String()), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(w, "the bot's last log lines:\n%s\n", strings.Join(lines, "\n"))
		return withNext(fmt.Errorf("the demo stopped: %w", err), "run rotabot demo again; if it stops at the same place, report it with the lines above")
	}
	ok := d.Summary()
	fmt.Fprintf(w, "\nDemo finished in %.1f s.\n", time.Since(start).Seconds())
	if !ok {
		return withNext(errors.New("the demo finished, but the SUMMARY above shows a check that failed"), "report it with the whole output above: the demo's checks pass on a healthy build")
	}
	return nil
}

// colorful reports whether w is a terminal that should get ANSI styles and
// hyperlinks: not a file or a pipe, and neither NO_COLOR nor TERM=dumb set.
func (c *cli) colorful(w io.Writer) bool {
	if c.getenv("NO_COLOR") != "" || c.getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// runSandbox is `rotabot demo --sandbox FILE`: the stand-ins alone, for trying
// the other commands against them.
func (c *cli) runSandbox(ctx context.Context, file, configFile string) error {
	h, err := seededWorld(configFile, rotation.WallNow())
	if err != nil {
		return err
	}
	defer h.Close()
	// The SOP's step 4 done by hand: the new token is in Infisical, for `rotate`.
	h.World.Infisical.Set(h.Matrix.Vault.Environment, h.Matrix.Vault.Path, h.First, h.Fresh[0])
	dir, err := os.MkdirTemp("", "rotabot-sandbox-")
	if err != nil {
		return fmt.Errorf("cannot make a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	h.Env["ROTABOT_DB"] = dir + "/rotabot.db"
	// One line per variable: the routing matrix travels as base64, as on Heroku.
	h.Env["ROTABOT_CONFIG"] = base64.StdEncoding.EncodeToString([]byte(h.Env["ROTABOT_CONFIG"]))
	var b strings.Builder
	b.WriteString("# rotabot demo --sandbox: made-up credentials of local stand-ins, valid while it runs\n")
	for _, k := range sortedKeys(h.Env) {
		fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(h.Env[k]))
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("cannot write %s: %w", file, err)
	}
	fmt.Fprintf(c.stdout, "Stand-ins of Slack, GitHub, Infisical and Heroku are running; their environment is in %s.\n", file)
	fmt.Fprintf(c.stdout, "In another shell:\n  set -a; . %s; set +a\n  rotabot rotate %s --dry-run\n  rotabot rotate %s\n", shellWord(file), h.First, h.First)
	fmt.Fprintf(c.stdout, "(rotabot is this command: in the clone, go install ./cmd/rotabot puts it on your PATH.)\n")
	fmt.Fprintf(c.stdout, "Ctrl-C stops the stand-ins. No bot runs on them, so /rotate has no one to answer it:\n"+
		"rotabot demo --web starts stand-ins of its own with the bot, and a page to play in.\n")
	<-ctx.Done()
	return nil
}

// shellQuote quotes v for a POSIX shell.
func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'"'"'`) + "'" }

// demoBot builds the bot for the demo exactly as serve does, from the sandbox's
// environment — except that its verify checks reach this machine only.
func demoBot(ctx context.Context, getenv func(string) string, log *slog.Logger) (demo.Bot, error) {
	return sandboxBot(egress.LoopbackDialer{})(ctx, getenv, log)
}

// sandboxBot is demoBot whose verify checks connect through d, which refuses
// any address that is not loopback, after resolution: the sandbox points every
// check at its stand-in, and this holds if a check ever escaped that. Tests give
// d hooks to see and steer what is dialled.
func sandboxBot(d egress.LoopbackDialer) demo.StartBot {
	return func(ctx context.Context, getenv func(string) string, log *slog.Logger) (demo.Bot, error) {
		env, probs := config.LoadEnv(getenv)
		if len(probs) > 0 {
			return nil, fmt.Errorf("sandbox environment: %v", probs)
		}
		m, mprobs, err := config.SourceOf("", false, func(k string) (string, bool) { v := getenv(k); return v, v != "" }).Load()
		if err != nil {
			return nil, err
		}
		if len(mprobs) > 0 {
			return nil, fmt.Errorf("sandbox routing matrix: %v", mprobs)
		}
		return startServer(ctx, env, m, getenv, log, nil, egress.LoopbackOnly(d, verifyTimeout))
	}
}

// seededWorld starts the stand-ins seeded for the routing matrix in file, or for
// the example when file is "".
func seededWorld(file string, now time.Time) (*demo.Harness, error) {
	if file == "" {
		return demo.NewWorld(now)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the routing matrix: %w", err)
	}
	return demo.NewWorldFor(file, data, now)
}

// runWeb is `rotabot demo --web`: the stand-ins, the real bot on them and the
// page that shows the stand-in workspace, until Ctrl-C.
func (c *cli) runWeb(ctx context.Context, addr, configFile string) error {
	ws, err := startWebSandbox(ctx, addr, configFile, rotation.WallNow())
	if err != nil {
		return err
	}
	defer ws.Close()
	var people []string
	for _, p := range ws.h.People {
		people = append(people, p.Name+" ("+p.Role+")")
	}
	var secrets []string
	for _, s := range ws.secrets {
		secrets = append(secrets, s.Name)
	}
	fmt.Fprintf(c.stdout, "rotabot sandbox: the real bot on local stand-ins of Slack, GitHub, Infisical and Heroku.\n\n")
	fmt.Fprintf(c.stdout, "  Open %s in your browser.\n\n", ws.URL)
	fmt.Fprintf(c.stdout, "People: %s.\nSecrets: %s.\n", strings.Join(people, ", "), strings.Join(secrets, ", "))
	fmt.Fprintf(c.stdout, "Nothing leaves this machine and nothing is kept: Ctrl-C stops it all.\n")
	<-ctx.Done()
	return nil
}

// webSandbox is the stand-ins, the bot and the page's server.
type webSandbox struct {
	URL     string
	h       *demo.Harness
	page    *web.Server
	secrets []web.Secret
	srv     *http.Server
	dir     string
	ctx     context.Context

	mu     sync.Mutex // restarts and Close take turns
	closed bool
}

func startWebSandbox(ctx context.Context, addr, configFile string, now time.Time) (*webSandbox, error) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, &usageError{msg: fmt.Sprintf("--addr %q: the page must listen on this machine only: it acts as anyone in the sandbox and shows the tokens it makes", addr),
			hint: "rotabot demo --web --addr 127.0.0.1:8080"}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, saysNext(fmt.Errorf("cannot serve the page on %s: %w — choose another port with --addr 127.0.0.1:PORT", addr, err))
	}
	h, err := seededWorld(configFile, now)
	if err != nil {
		ln.Close()
		return nil, err
	}
	h.World.Slack.SetLimits(sbslack.SlackLimits()) // a person's pace: Slack's own limits
	ws := &webSandbox{h: h, ctx: ctx}
	if ws.dir, err = os.MkdirTemp("", "rotabot-sandbox-"); err != nil {
		ln.Close()
		h.Close()
		return nil, fmt.Errorf("cannot make a temporary folder: %w", err)
	}
	h.Dir = ws.dir
	h.Env["ROTABOT_DB"] = filepath.Join(ws.dir, "rotabot.db")
	if err := h.StartBot(ctx, demoBot); err != nil {
		ln.Close()
		h.Close()
		os.RemoveAll(ws.dir)
		return nil, err
	}
	m := h.Matrix
	names := make([]string, 0, len(m.Secrets))
	for name := range m.Secrets {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return m.Secrets[names[i]].Line < m.Secrets[names[j]].Line })
	for _, name := range names {
		sc := m.Secrets[name]
		ws.secrets = append(ws.secrets, web.Secret{Name: name, Kind: string(sc.Kind), Login: h.Login, Repos: sc.Repositories,
			Scopes: sc.Scopes, ExpiresInDays: sc.ExpiresInDays})
	}
	cfg := web.Config{World: h.World, Console: h.Console, AuditChannel: m.AuditChannel, Secrets: ws.secrets,
		Groups: map[string]string{m.OpsUsergroup: "ops"}, Restart: ws.restart}
	for _, p := range h.People {
		cfg.People = append(cfg.People, web.Person{ID: p.ID, Name: p.Name, Role: p.Role})
	}
	for _, ch := range h.Channels {
		cfg.Channels = append(cfg.Channels, web.Channel{ID: ch.ID, Name: ch.Name})
	}
	ws.page = web.New(cfg)
	ws.srv = &http.Server{Handler: ws.page, ReadHeaderTimeout: 10 * time.Second}
	ws.URL = "http://" + ln.Addr().String() + "/"
	go ws.srv.Serve(ln)
	return ws, nil
}

// restart stops the bot as Heroku stops a dyno and starts it again on the same
// database: open runs resume.
func (ws *webSandbox) restart() error {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return errors.New("the sandbox is stopping")
	}
	ws.h.StopBot()
	return ws.h.StartBot(ws.ctx, demoBot)
}

// Close stops the page, the bot and the stand-ins, and deletes the database.
func (ws *webSandbox) Close() {
	ws.srv.Close()
	ws.mu.Lock()
	ws.closed = true
	ws.mu.Unlock()
	ws.h.Close()
	os.RemoveAll(ws.dir)
}
