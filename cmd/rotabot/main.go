// Command rotabot rotates credentials for an ops team: a Slack chatops bot (serve),
// the bridge script's job on the same engine (rotate), a check of the routing
// matrix (check), and a whole rotation on local stand-ins (demo).
//
// main is the only package that knows every part: it reads the environment and
// the routing matrix, builds the adapters, the store and the engine, and hands them
// to the Slack layer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// cli is one invocation: its arguments, environment and output. Tests build one.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

const usage = `rotabot rotates GitHub personal access tokens for an ops team.

Usage:
  rotabot serve                     run the Slack bot (Socket Mode)
  rotabot rotate SECRET [flags]     propagate the value in Infisical to every consumer and verify (the SOP's bridge script)
  rotabot check [-config FILE]      check the routing matrix and print every mistake
  rotabot demo                      run a whole rotation on local stand-ins of Slack, GitHub, Infisical and Heroku

Run "rotabot COMMAND --help" for a command's flags. The environment is described in README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(c.run(ctx, os.Args[1:]))
}

// run dispatches a subcommand and returns the process's exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return c.check(rest)
	case "rotate":
		return c.rotate(ctx, rest)
	case "serve":
		return c.serve(ctx, rest)
	case "demo":
		return c.demo(ctx, rest)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(c.stdout, usage)
		return 0
	}
	fmt.Fprintf(c.stderr, "rotabot: unknown command %q — use serve, rotate, check or demo (rotabot --help)\n", cmd)
	return 2
}

// parse parses flags that may come before or after positional arguments
// ("rotate SECRET --dry-run"). It returns the positional arguments, or an exit
// code when parsing ended the command (--help: 0, a bad flag: 2).
func parse(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseNoArgs parses the flags of a command that takes no other argument.
func parseNoArgs(fs *flag.FlagSet, args []string) (int, bool) {
	pos, code, ok := parse(fs, args)
	if ok && len(pos) > 0 {
		fs.Usage()
		return 2, false
	}
	return code, ok
}

func newFlagSet(c *cli, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// splitList splits "a,b" into its trimmed, non-empty parts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
