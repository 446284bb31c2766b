package postgres

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/store/postgres/pgtest"
	"github.com/raxx-app/rotabot/store/storetest"
)

// TestMain says once, where go test ./... shows it, when the PostgreSQL tests
// skipped and how to run them.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.SkipNotice()
	os.Exit(code)
}

func open(t *testing.T, url string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs the store contract suite, each test in a schema of its own.
func TestContract(t *testing.T) {
	pgtest.URL(t) // skip (or, in CI, fail) before the subtests when there is no database
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t, pgtest.URL(t)) })
}

// Two processes starting at once on an empty database: the schema is made once,
// and both work on it.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	db := pgtest.URL(t)
	ctx := context.Background()
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, db)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	var versions []int
	rows, err := stores[0].pool.Query(ctx, `SELECT version FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || len(versions) != SchemaVersion() || versions[len(versions)-1] != SchemaVersion() {
		t.Fatalf("schema_version holds %v (%v), want 1..%d once each", versions, err, SchemaVersion())
	}
	// What one process writes, the other reads.
	r, err := stores[1].CreateRun(ctx, storetest.NewRun("A_TOKEN", rotation.StateWaitingToken))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := stores[2].GetRun(ctx, r.ID); err != nil || got.Secret != "A_TOKEN" {
		t.Fatalf("the other process reads %v %v", got, err)
	}
	// Opening again migrates nothing and keeps the data.
	again := open(t, db)
	if got, err := again.GetRun(ctx, r.ID); err != nil || got.ID != r.ID {
		t.Fatalf("after reopening: %v %v", got, err)
	}
}

// The start-up log line names the database by host and port, never by the whole
// DATABASE_URL: it holds the password.
func TestDescribe(t *testing.T) {
	db := pgtest.URL(t)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	got := open(t, db).Describe()
	if want := "PostgreSQL at " + u.Host; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	if pw, ok := u.User.Password(); ok && strings.Contains(got, pw) {
		t.Errorf("Describe() shows the password: %q", got)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	db := pgtest.URL(t)
	s := open(t, db)
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO schema_version (version) VALUES ($1)`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), db)
	want := fmt.Sprintf("has rotabot's schema version %d, newer than this rotabot's %d: deploy the newer rotabot", SchemaVersion()+1, SchemaVersion())
	if rotation.ErrorCode(err) != rotation.EINVALID || !strings.Contains(rotation.ErrorMessage(err), want) {
		t.Fatalf("got %v", err)
	}
}

// What a person deploying sees when DATABASE_URL is wrong: what to check, and
// never the password.
func TestOpenErrorsSayWhatToDo(t *testing.T) {
	const password = "s3cr3t-pa55word"
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cases := []struct {
		url, code, msg string
	}{
		{"postgres://rotabot:" + password + "@" + closed + "/rotabot?sslmode=disable", rotation.EUNAVAILABLE,
			"PostgreSQL at " + closed + " is not reachable: check DATABASE_URL"},
		{"postgres://rotabot:" + password + "@127.0.0.1:notaport/rotabot", rotation.EINVALID,
			"DATABASE_URL is not a PostgreSQL URL: it looks like postgres://USER:PASSWORD@HOST:5432/DATABASE"},
		{"host=127.0.0.1 password=" + password + " sslmode=bogus", rotation.EINVALID,
			"DATABASE_URL is not a PostgreSQL URL: it looks like postgres://USER:PASSWORD@HOST:5432/DATABASE"},
	}
	if base := os.Getenv(pgtest.EnvVar); base != "" {
		// A reachable server that refuses the password.
		if u, err := url.Parse(base); err == nil {
			u.User = url.UserPassword("rotabot_no_such_user", password)
			cases = append(cases, struct{ url, code, msg string }{u.String(), rotation.EUNAUTHORIZED,
				"refused the user name or password of DATABASE_URL: check DATABASE_URL"})
		}
	}
	for _, c := range cases {
		_, err := Open(ctx, c.url)
		if rotation.ErrorCode(err) != c.code || !strings.Contains(rotation.ErrorMessage(err), c.msg) {
			t.Errorf("%s…: got %s %q, want %s %q", c.url[:12], rotation.ErrorCode(err), rotation.ErrorMessage(err), c.code, c.msg)
		}
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
