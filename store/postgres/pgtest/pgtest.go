// Package pgtest gives tests a PostgreSQL database of their own: a fresh schema
// in the database named by ROTABOT_TEST_DATABASE_URL, dropped when the test ends,
// so tests that use PostgreSQL do not see each other's rows and may run in
// parallel. Without that variable they skip, saying how to run them, except in
// CI (CI=true), where a skipped PostgreSQL test would hide a broken store: there
// they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the test database: a PostgreSQL URL whose user may create schemas.
const EnvVar = "ROTABOT_TEST_DATABASE_URL"

// HowTo says how to run the PostgreSQL tests (also in the README).
const HowTo = EnvVar + " is not set: to run the PostgreSQL tests, point it at a database whose user may create schemas, " +
	"e.g. postgres://rotabot_test:rotabot_test@127.0.0.1:5432/rotabot_test?sslmode=disable " +
	"(`source .ci/postgres.sh` starts a local server and sets it; see the README, \"Which store\")"

// URL returns a URL of the test database whose search_path is a new, empty
// schema; the schema is dropped at the end of the test.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, but " + HowTo + ". In CI the PostgreSQL tests must run: .ci/run starts the server.")
		}
		t.Skip(HowTo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		// pgx's connect errors name host, user and database, not the password.
		t.Fatalf("%s is set, but its PostgreSQL does not answer: %v", EnvVar, err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "rotabot_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("cannot create a test schema in %s: %v", EnvVar, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(base, schema)
}

// WithSearchPath returns the connection string with search_path set to schema.
func WithSearchPath(conn, schema string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		if u, err := url.Parse(conn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return conn + " search_path=" + schema
}
