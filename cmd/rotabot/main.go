// Command rotabot rotates credentials for an ops team: a Slack chatops bot (serve),
// the bridge script's job on the same engine (rotate), a check of the routing
// matrix (check), and a whole rotation on local stand-ins (demo).
//
// main is the only package that knows every part: it reads the environment and
// the routing matrix, builds the adapters, the store and the engine, and hands them
// to the Slack layer. Each subcommand parses its arguments into an options value
// apart from running it (newXCmd / runX), and returns an error; one place, exit,
// turns errors into what the person sees and the process's exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
)

// cli is one invocation: its environment and output. Tests build one.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// lookupEnv tells a variable set to nothing from one not set (nil: a
	// variable is set when getenv returns something).
	lookupEnv func(string) (string, bool)
	// buildInfo is the binary's build information (nil: runtime/debug's).
	buildInfo func() (*debug.BuildInfo, bool)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv}
	os.Exit(c.run(ctx, os.Args[1:]))
}

func (c *cli) lookup(name string) (string, bool) {
	if c.lookupEnv != nil {
		return c.lookupEnv(name)
	}
	v := c.getenv(name)
	return v, v != ""
}

// command is one subcommand: its help, its flags, and what runs it once the
// flags are parsed. newXCmd builds one around an options value; the run function
// it calls takes those options alone, so tests can call it without flags, or pass
// their own to see what the flags made (cli/cli's NewCmdX / runF).
type command struct {
	name    string
	args    string // the positional arguments in the synopsis, e.g. "SECRET"
	summary string // one line in `rotabot help`
	help    string // what it does, after the synopsis
	flags   *flag.FlagSet
	// run runs the command with the positional arguments left after the flags.
	run func(ctx context.Context, args []string) error
	// more adds to the help after the flags (serve: the environment).
	more func(w io.Writer)
	// typed is the command line after the command's name, as typed, and
	// flagArgs the flags in it with their values: a Try: line repeats them with
	// the one mistake put right.
	typed, flagArgs []string
}

func newCommand(name, args, summary, help string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{name: name, args: args, summary: summary, help: help, flags: fs}
}

// commands are rotabot's subcommands, in the order help lists them.
func (c *cli) commands() []*command {
	return []*command{newServeCmd(c, nil), newRotateCmd(c, nil), newAbandonCmd(c, nil), newWhereCmd(c, nil), newCheckCmd(c, nil),
		newDemoCmd(c, nil), newVersionCmd(c, nil)}
}

func (c *cli) command(name string) *command {
	for _, cmd := range c.commands() {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

// run runs one invocation and returns the process's exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	name, err := c.dispatch(ctx, args)
	return c.exit(name, err)
}

// dispatch finds the subcommand and runs it; it returns the command's name (for
// messages) and its error.
func (c *cli) dispatch(ctx context.Context, args []string) (string, error) {
	if len(args) == 0 {
		c.printUsage(c.stderr)
		return "", &usageError{msg: "name a command", hint: "rotabot help"}
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "--help", "-help":
		return c.help(rest)
	case "--version", "-version":
		name = "version"
	}
	cmd := c.command(name)
	if cmd == nil {
		return "", c.unknownCommand(name, rest)
	}
	return cmd.name, cmd.execute(ctx, c.stdout, rest)
}

func (c *cli) names() []string {
	var out []string
	for _, cmd := range c.commands() {
		out = append(out, cmd.name)
	}
	return out
}

// help is `rotabot help [COMMAND]`.
func (c *cli) help(args []string) (string, error) {
	switch len(args) {
	case 0:
		c.printUsage(c.stdout)
		return "", nil
	case 1:
		if cmd := c.command(args[0]); cmd != nil {
			cmd.printHelp(c.stdout)
			return "", nil
		}
		hint := "rotabot help"
		if g := config.Suggest(args[0], c.names()); g != "" {
			hint = "rotabot help " + g
		}
		return "", &usageError{msg: fmt.Sprintf("no help for %q: there is no such command — the commands are %s", args[0], strings.Join(c.names(), ", ")), hint: hint}
	}
	return "", &usageError{msg: fmt.Sprintf("unexpected argument %q: help takes one command", args[1]), hint: "rotabot help " + args[0]}
}

// printUsage is the top-level help.
func (c *cli) printUsage(w io.Writer) {
	fmt.Fprint(w, "rotabot rotates the ops team's GitHub personal access tokens by its procedure, with a second\nperson's approval; Slack is where it runs, the command line its fallback.\n\nUsage: rotabot COMMAND [ARGUMENTS] [FLAGS]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, cmd := range c.commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.summary)
		if cmd.name == "demo" {
			fmt.Fprintf(tw, "  demo --web\tthe stand-ins and the bot as a Slack workspace in your browser, on 127.0.0.1\n")
			fmt.Fprintf(tw, "  demo --sandbox FILE\tonly the stand-ins, for trying the other commands against them\n")
		}
	}
	fmt.Fprintf(tw, "  help [COMMAND]\ta command's flags; rotabot help serve lists the environment\n")
	tw.Flush()
	fmt.Fprint(w, "\nFlags are written --flag (-flag works too) and may come before or after the arguments.\n")
}

// printHelp is `rotabot help COMMAND` and `rotabot COMMAND --help`.
func (cmd *command) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", cmd.synopsis(), cmd.help)
	var rows [][2]string
	cmd.flags.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if arg != "" {
			name += " " + argName(f.Name, arg)
		}
		rows = append(rows, [2]string{name, usage})
	})
	if len(rows) > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		for _, r := range rows {
			fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1])
		}
		tw.Flush()
	}
	if cmd.more != nil {
		fmt.Fprintln(w)
		cmd.more(w)
	}
}

// synopsis is the command's one-line usage, its flags written as everywhere else
// (--flag).
func (cmd *command) synopsis() string {
	parts := []string{"rotabot", cmd.name}
	if cmd.args != "" {
		parts = append(parts, cmd.args)
	}
	cmd.flags.VisitAll(func(f *flag.Flag) {
		arg, _ := flag.UnquoteUsage(f)
		if arg == "" {
			parts = append(parts, "[--"+f.Name+"]")
		} else {
			parts = append(parts, "[--"+f.Name+" "+argName(f.Name, arg)+"]")
		}
	})
	return strings.Join(parts, " ")
}

// argName is what a flag's value is called in help: the `NAME` its usage quotes,
// else the flag's own name in capitals.
func argName(flagName, arg string) string {
	if arg == "value" || arg == "string" {
		return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
	}
	return arg
}

// execute parses the flags (before or after the positional arguments) and runs
// the command. --help prints the help to out and runs nothing.
func (cmd *command) execute(ctx context.Context, out io.Writer, args []string) error {
	cmd.typed, cmd.flagArgs = append([]string(nil), args...), nil
	var pos []string
	for {
		err := cmd.flags.Parse(args)
		if err == nil {
			cmd.flagArgs = append(cmd.flagArgs, args[:len(args)-cmd.flags.NArg()]...)
		}
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cmd.printHelp(out)
				return nil
			}
			return cmd.flagError(err)
		}
		if cmd.flags.NArg() == 0 {
			break
		}
		pos = append(pos, cmd.flags.Arg(0))
		args = cmd.flags.Args()[1:]
	}
	return cmd.run(ctx, pos)
}

// flagMessage writes the flag package's parse error with flags as --flag.
func flagMessage(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + strings.TrimLeft(name, "-")
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + strings.TrimLeft(name, "-") + " needs a value"
	}
	return strings.NewReplacer(" for -", " for --", ": -", ": --").Replace(msg)
}

// noArgs is the run of a command that takes no positional argument: the first
// one is named, with what was probably meant.
func noArgs(cmd *command, run func(context.Context) error) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return unexpectedArg(cmd, args[0])
		}
		return run(ctx)
	}
}

func unexpectedArg(cmd *command, arg string) error {
	hint := "rotabot help " + cmd.name
	if cmd.flags.Lookup("config") != nil && (strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")) {
		hint = retyped(append([]string{cmd.name, "--config", arg}, withoutFlag(cmd.flagArgs, "config")...)...)
	}
	return &usageError{msg: fmt.Sprintf("unexpected argument %q: %s takes %s", arg, cmd.name, takes(cmd)), hint: hint}
}

func takes(cmd *command) string {
	if cmd.args == "" {
		return "no arguments, only flags"
	}
	return cmd.args + " and flags"
}

// usageError is a command line that cannot run: exit code 2, the message and a
// line saying what to try.
type usageError struct {
	msg  string
	hint string
}

func (e *usageError) Error() string { return e.msg }

// oneSecret is the one secret name the command (rotate, where) takes, or the
// usage error that says what is wrong with args.
func (cmd *command) oneSecret(args []string) (string, error) {
	switch {
	case len(args) == 0:
		return "", &usageError{msg: "name one secret", hint: cmd.tryWith("SECRET") + ", e.g. " + cmd.tryWith("GITHUB_API_READONLY_TOKEN")}
	case len(args) > 1:
		return "", &usageError{msg: fmt.Sprintf("unexpected argument %q: %s takes one secret", args[1], cmd.name), hint: cmd.tryWith(args[0])}
	}
	return args[0], nil
}

// tryWith is the command line with positional arguments args and the flags
// that were typed.
func (cmd *command) tryWith(args ...string) string {
	return retyped(append(append([]string{cmd.name}, args...), cmd.flagArgs...)...)
}

// problemsError is several problems found at once (start-up checks, a missing
// environment): each is a line, and the last line counts them.
type problemsError struct {
	lines []string
	what  string // "start-up problem"
	fix   string // "fix %s and start again": %s is "it" or "them"
}

func (e *problemsError) Error() string {
	noun, them := e.what, "it"
	if len(e.lines) != 1 {
		noun, them = noun+"s", "them"
	}
	return fmt.Sprintf("%d %s: %s", len(e.lines), noun, fmt.Sprintf(e.fix, them))
}

// exit prints err once, on stderr, and returns the exit code: 0 for none, 2 for a
// usage error (followed by a "Try:" line), 1 for anything else (followed by a
// "Next:" line, unless its own last line says what to do).
func (c *cli) exit(cmd string, err error) int {
	if err == nil {
		return 0
	}
	prefix := "rotabot: "
	if cmd != "" {
		prefix = "rotabot " + cmd + ": "
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(c.stderr, prefix+ue.msg)
		if ue.hint != "" {
			fmt.Fprintln(c.stderr, "Try: "+ue.hint)
		}
		return 2
	}
	var pe *problemsError
	if errors.As(err, &pe) {
		for _, l := range pe.lines {
			fmt.Fprintln(c.stderr, l)
		}
	}
	fmt.Fprintln(c.stderr, prefix+message(err))
	if n := next(cmd, err); n != "" && pe == nil {
		fmt.Fprintln(c.stderr, "Next: "+n)
	}
	return 1
}

// message is what a person is shown for err: the message of rotabot's error
// type, or the error itself (the CLI's own errors hold no secret).
func message(err error) string {
	var re *rotation.Error
	if errors.As(err, &re) {
		return re.Message
	}
	return err.Error()
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
