package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/sandbox/demo"
)

// demoOptions are `rotabot demo`'s.
type demoOptions struct {
	// Sandbox, when set, starts only the stand-ins and writes their environment
	// to this file.
	Sandbox string
}

func newDemoCmd(c *cli, runF func(context.Context, *demoOptions) error) *command {
	cmd := newCommand("demo", "", "a whole rotation on local stand-ins of Slack, GitHub, Infisical and Heroku",
		"Runs a whole rotation — all eight steps and a rollback — against local stand-ins of Slack, GitHub,\n"+
			"Infisical and Heroku started in this process, and prints what each person sees. No credential, no network.\n\n"+
			"With --sandbox FILE it only starts the stand-ins, seeded for rotabot.example.yaml with a new token\n"+
			"already in Infisical, writes the environment that points rotabot at them to FILE, and waits for\n"+
			"Ctrl-C: then, in another shell, `set -a; . FILE; set +a` and try `rotabot rotate SECRET --dry-run`\n"+
			"or `rotabot rotate SECRET`.")
	opts := &demoOptions{}
	cmd.flags.StringVar(&opts.Sandbox, "sandbox", "", "start the stand-ins only, write their environment to `FILE`, and wait")
	cmd.run = noArgs(cmd, func(ctx context.Context) error {
		if runF != nil {
			return runF(ctx, opts)
		}
		if opts.Sandbox != "" {
			return c.runSandbox(ctx, opts.Sandbox)
		}
		return c.playDemo(ctx, c.stdout, c.colorful(c.stdout))
	})
	return cmd
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
	h, err := demo.Start(ctx, dir, time.Now(), demoBot)
	if err != nil {
		return err
	}
	defer h.Close()
	d := &demo.Script{H: h, W: w, Term: demo.Term{Color: color}}
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
		return fmt.Errorf("the demo stopped: %w", err)
	}
	ok := d.Summary()
	fmt.Fprintf(w, "\nDemo finished in %.1f s.\n", time.Since(start).Seconds())
	if !ok {
		return errors.New("the demo finished, but the SUMMARY above shows a check that failed")
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
func (c *cli) runSandbox(ctx context.Context, file string) error {
	h, err := demo.NewWorld(time.Now())
	if err != nil {
		return err
	}
	defer h.Close()
	// The SOP's step 4 done by hand: the new token is in Infisical, for `rotate`.
	h.World.Infisical.Set(h.Matrix.Vault.Environment, h.Matrix.Vault.Path, "GITHUB_API_READONLY_TOKEN", h.Fresh[0])
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
	fmt.Fprintf(c.stdout, "In another shell:\n  set -a; . %s; set +a\n  go run ./cmd/rotabot rotate GITHUB_API_READONLY_TOKEN --dry-run\n  go run ./cmd/rotabot rotate GITHUB_API_READONLY_TOKEN\nCtrl-C stops the stand-ins.\n", file)
	<-ctx.Done()
	return nil
}

// shellQuote quotes v for a POSIX shell.
func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'"'"'`) + "'" }

// demoBot builds the bot for the demo exactly as serve does, from the sandbox's
// environment.
func demoBot(ctx context.Context, getenv func(string) string, log *slog.Logger) (demo.Bot, error) {
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
	return startServer(ctx, env, m, getenv, log, nil)
}
