package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/raxx-app/rotabot/config"
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
}

func newCheckCmd(c *cli, runF func(context.Context, *checkOptions) error) *command {
	cmd := newCommand("check", "", "check the routing matrix and print every mistake",
		"Checks the routing matrix and prints every mistake as FILE:LINE: what is wrong — how to fix it,\nthen how many there are. Exit 0 only when there is none.")
	opts := &checkOptions{}
	addConfigFlag(cmd, &opts.Config)
	cmd.run = noArgs(cmd, func(ctx context.Context) error {
		opts.Config.given(cmd.flags)
		if runF != nil {
			return runF(ctx, opts)
		}
		return c.runCheck(opts)
	})
	return cmd
}

func (c *cli) runCheck(opts *checkOptions) error {
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
		return saysNext(fmt.Errorf("%s in %s: fix %s and check again", rotation.Plural(n, "problem", "problems"), probs[0].File, them))
	}
	fmt.Fprintf(c.stdout, "%s: ok — %s\n", src.Name(), config.Summary(m))
	return nil
}
