package main

import (
	"github.com/raxx-app/rotabot/config"
)

// check is `rotabot check [-config FILE]`.
func (c *cli) check(args []string) int {
	fs := newFlagSet(c, "check", "rotabot check [-config FILE]\n\nChecks the routing matrix (default: $ROTABOT_CONFIG, else rotabot.yaml) and prints every mistake as FILE:LINE: what is wrong — how to fix it.")
	path := fs.String("config", "", "routing matrix: a path, or the YAML itself, or base64 of it (default $ROTABOT_CONFIG, else rotabot.yaml)")
	if code, ok := parseNoArgs(fs, args); !ok {
		return code
	}
	src := *path
	if src == "" {
		src = c.getenv("ROTABOT_CONFIG")
	}
	return config.Check(src, c.stdout)
}
