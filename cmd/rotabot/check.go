package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// configOption is the --config flag that serve, rotate, check and abandon share.
type configOption struct {
	Value string
	Given bool // set on the command line, even to nothing
}

func addConfigFlag(cmd *command, o *configOption) {
	cmd.flags.StringVar(&o.Value, "config", "", "the routing matrix: a `FILE`, or its YAML, or base64 of it (default: $ROTABOT_CONFIG, else ./rotabot.yaml)")
}

// given records which flags were set, once they are parsed.
func (o *configOption) given(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config" {
			o.Given = true
		}
	})
}

// source is where the routing matrix comes from: --config, else ROTABOT_CONFIG,
// else ./rotabot.yaml.
func (c *cli) source(o configOption) config.Source {
	return config.SourceOf(o.Value, o.Given, c.lookup)
}

// checkOptions are `rotabot check`'s.
type checkOptions struct {
	Config configOption
	// GitHub also reads every GitHub scope's public key with GITHUB_TOKEN, as
	// serve does at start-up. Off by default: check is an offline check of the
	// file (CI runs it without credentials, and a CI job's own GITHUB_TOKEN is
	// not rotabot's).
	GitHub bool
}

func newCheckCmd(c *cli, runF func(context.Context, *checkOptions) error) *command {
	cmd := newCommand("check", "", "check the routing matrix and print every mistake",
		"Checks the routing matrix and prints every mistake as FILE:LINE: what is wrong — how to fix it,\nthen how many there are. Exit 0 only when there is none. It reads only the file, unless --github:\n"+
			"then it also reads, with GITHUB_TOKEN, the public key of every GitHub scope the matrix writes to\n"+
			"(as rotabot serve does at start-up) and names each the token cannot reach and the permission to add.")
	opts := &checkOptions{}
	addConfigFlag(cmd, &opts.Config)
	cmd.flags.BoolVar(&opts.GitHub, "github", false, "also check that GITHUB_TOKEN reaches every GitHub scope the matrix writes to (reads each scope's public key; writes nothing)")
	cmd.run = noArgs(cmd, func(ctx context.Context) error {
		opts.Config.given(cmd.flags)
		if runF != nil {
			return runF(ctx, opts)
		}
		return c.runCheck(ctx, opts)
	})
	return cmd
}

func (c *cli) runCheck(ctx context.Context, opts *checkOptions) error {
	src := c.source(opts.Config)
	m, probs, err := src.Load()
	if err != nil {
		return saysNext(err) // it says how to name the file
	}
	for _, p := range probs {
		fmt.Fprintln(c.stdout, p.String())
	}
	if n := len(probs); n > 0 {
		them := "them"
		if n == 1 {
			them = "it"
		}
		return saysNext(fmt.Errorf("%s in %s: fix %s and check again", words.Plural(n, "problem", "problems"), probs[0].File, them))
	}
	fmt.Fprintf(c.stdout, "%s: ok — %s\n", src.Name(), config.Summary(m))
	if !opts.GitHub {
		return nil
	}
	return c.checkGitHub(ctx, m)
}

// checkGitHub is check --github: GITHUB_TOKEN's answer (GET /user), or the
// GitHub App's installation and its permissions, then every scope's public key.
func (c *cli) checkGitHub(ctx context.Context, m *rotation.Matrix) error {
	env, _ := config.LoadEnv(c.getenv)
	dests := githubDests(m)
	if len(dests) == 0 {
		fmt.Fprintln(c.stdout, "GitHub: the routing matrix writes no GitHub secret: nothing to check")
		return nil
	}
	if !env.HasGitHub() {
		return withNext(fmt.Errorf("neither GITHUB_TOKEN nor the GitHub App (GITHUB_APP_ID) is set: check --github reads each GitHub scope's public key with rotabot's GitHub access"),
			"set GITHUB_TOKEN to rotabot's GitHub token, or the GitHub App's variables (docs/setup.md#5-github-a-token-that-writes-actions-secrets), and run rotabot check --github again")
	}
	gh, err := githubClient(env, m, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	who := fmt.Sprintf("the GitHub App %d", env.GitHubAppID)
	if env.GitHubApp() {
		if lines := appPreflight(ctx, env, m, gh); len(lines) > 0 {
			return &problemsError{lines: lines, what: "GitHub App problem", fix: "fix %s (docs/setup.md lists each kind's permissions) and check again"}
		}
	} else {
		login, err := gh.CheckAdmin(ctx)
		if err != nil {
			return err
		}
		who = fmt.Sprintf("GITHUB_TOKEN (%s)", login)
	}
	if lines := githubAccess(ctx, gh, m); len(lines) > 0 {
		return &problemsError{lines: lines, what: "GitHub access problem", fix: "fix %s (docs/setup.md lists each kind's permissions) and check again"}
	}
	fmt.Fprintf(c.stdout, "GitHub: ok — %s reaches every scope of %s\n", who, words.Plural(len(dests), "GitHub destination", "GitHub destinations"))
	return nil
}
