package main

import (
	"context"
	"io"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/store"
	"github.com/raxx-app/rotabot/store/postgres"
)

// storeCloser is the store a process works on: what the engine, the handlers and
// the bot's dedupe need, and Close at shutdown.
type storeCloser interface {
	rotation.Store
	io.Closer
}

// openStore opens the store the environment names: PostgreSQL when DATABASE_URL
// is set (several bot processes may share it; see the README, "Which store"),
// else the bbolt file at ROTABOT_DB, which one process at a time may hold.
func openStore(ctx context.Context, env config.Env) (storeCloser, error) {
	if env.DatabaseURL != "" {
		st, err := postgres.Open(ctx, env.DatabaseURL)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	st, err := store.Open(env.DBPath, time.Second)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// storeName says which store a process uses, for its start-up log line; it never
// shows DATABASE_URL, only the database's host and port.
func storeName(st storeCloser) string {
	switch s := st.(type) {
	case *postgres.Store:
		return "PostgreSQL at " + s.Addr()
	case *store.Store:
		return "bbolt file " + s.Path()
	}
	return "unknown"
}
