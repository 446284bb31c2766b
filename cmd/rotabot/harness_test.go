package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/raxx-app/rotabot/sandbox/demo"
)

// harness is the demo's seeded world, and the bot this package built on it (for
// tests that reach into the engine).
type harness struct {
	*demo.Harness
	srv *server
}

// newWorld starts the stand-ins seeded for the example matrix, without a bot.
func newWorld(now time.Time) (*harness, error) {
	d, err := demo.NewWorld(now)
	if err != nil {
		return nil, err
	}
	return &harness{Harness: d}, nil
}

// startHarness starts the stand-ins and the bot on them, as `rotabot demo` does.
func startHarness(ctx context.Context, dir string, now time.Time) (*harness, error) {
	h := &harness{}
	d, err := demo.Start(ctx, dir, now, func(ctx context.Context, getenv func(string) string, log *slog.Logger) (demo.Bot, error) {
		b, err := demoBot(ctx, getenv, log)
		if err == nil {
			h.srv = b.(*server)
		}
		return b, err
	})
	if err != nil {
		return nil, err
	}
	h.Harness = d
	return h, nil
}
