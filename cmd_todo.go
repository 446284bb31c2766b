package main

import (
	"context"
	"fmt"
)

func (c *cli) rotate(ctx context.Context, args []string) int {
	fmt.Fprintln(c.stderr, "rotabot rotate: not there yet — the adapters issue builds it")
	return 2
}

func (c *cli) serve(ctx context.Context, args []string) int {
	fmt.Fprintln(c.stderr, "rotabot serve: not there yet — the Slack bot issue builds it")
	return 2
}

func (c *cli) demo(ctx context.Context, args []string) int {
	fmt.Fprintln(c.stderr, "rotabot demo: not there yet — the Slack bot issue builds it")
	return 2
}
