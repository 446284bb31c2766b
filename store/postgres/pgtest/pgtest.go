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
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the test database: a PostgreSQL URL whose user may create schemas.
const EnvVar = "ROTABOT_TEST_DATABASE_URL"

// HowTo says how to run the PostgreSQL tests (also in docs/testing.md).
const HowTo = EnvVar + " is not set: to run the PostgreSQL tests, point it at a database whose user may create schemas, " +
	"e.g. postgres://rotabot_test:rotabot_test@127.0.0.1:5432/rotabot_test?sslmode=disable " +
	"(`source .ci/postgres.sh` starts a local server and sets it; see docs/testing.md)"

// URL returns a URL of the test database whose search_path is a new, empty
// schema; the schema is dropped at the end of the test.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, but " + HowTo + ". In CI the PostgreSQL tests must run: .ci/run starts the server.")
		}
		skipped.Add(1)
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

// skipped counts the tests of this test binary that URL skipped.
var skipped atomic.Int64

// SkipNotice is for a TestMain, after m.Run: when PostgreSQL tests skipped (no
// EnvVar, not CI), it says so once, with how to run them, where the person
// who ran `go test ./...` sees it. For a passing package go test shows only its
// "ok" line, not even -v's skip messages, so the line goes to the go command's
// own stderr (this binary's parent) when that is a terminal, a pipe or a file
// opened for appending — never one the go command would write over — else to
// the terminal, else to this binary's stderr (shown with -v).
func SkipNotice() {
	n := skipped.Load()
	if n == 0 {
		return
	}
	line := fmt.Sprintf("NOTE: %d PostgreSQL %s skipped (and cmd/rotabot's two-process test with them): %s\n", n, map[bool]string{true: "test was", false: "tests were"}[n == 1], HowTo)
	for _, open := range []func() (*os.File, error){parentStderr, func() (*os.File, error) { return os.OpenFile("/dev/tty", os.O_WRONLY, 0) }} {
		if f, err := open(); err == nil {
			_, werr := f.WriteString(line)
			f.Close()
			if werr == nil {
				return
			}
		}
	}
	os.Stderr.WriteString(line)
}

// parentStderr opens the parent process's stderr (Linux), when writing to it
// cannot overwrite what the parent writes: a terminal, a pipe, or a file it
// appends to.
func parentStderr() (*os.File, error) {
	fd := fmt.Sprintf("/proc/%d/fd/2", os.Getppid())
	fi, err := os.Stat(fd)
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() {
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/2", os.Getppid()))
		if err != nil {
			return nil, err
		}
		if !appending(string(info)) {
			return nil, errors.New("the parent's stderr is a file it does not append to")
		}
	}
	return os.OpenFile(fd, os.O_WRONLY|os.O_APPEND, 0)
}

// appending reads the flags line of /proc/PID/fdinfo/N for O_APPEND.
func appending(fdinfo string) bool {
	for _, l := range strings.Split(fdinfo, "\n") {
		if v, ok := strings.CutPrefix(l, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&uint64(os.O_APPEND) != 0
		}
	}
	return false
}
