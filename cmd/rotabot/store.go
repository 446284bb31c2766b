package main

import (
	"context"
	"io"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/raxx-app/rotabot/store/bbolt"
	"github.com/raxx-app/rotabot/store/postgres"
)

// storeCloser is the store a process works on: what the engine, the handlers and
// the bot's dedupe need, Close at shutdown, and Describe for the start-up log
// line ("bbolt file PATH", "PostgreSQL at HOST:PORT": never DATABASE_URL, which
// holds a password).
type storeCloser interface {
	rotation.Store
	drift.RecordStore
	io.Closer
	Describe() string
}

// openStore opens the store the environment names: PostgreSQL when DATABASE_URL
// is set (several bot processes may share it; see docs/configuration.md, "Which store"),
// else the bbolt file at ROTABOT_DB, which one process at a time may hold.
func openStore(ctx context.Context, env config.Env) (storeCloser, error) {
	if env.DatabaseURL != "" {
		st, err := postgres.Open(ctx, env.DatabaseURL)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	st, err := bbolt.Open(env.DBPath, time.Second)
	if err != nil {
		return nil, err
	}
	return st, nil
}
