package postgres

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/store/postgres/pgtest"
)

// Without a database, plain `go test` (no -v) of this package says once that the
// PostgreSQL tests skipped, and how to run them.
func TestSkipNoticeShowsWithoutVerbose(t *testing.T) {
	if os.Getenv("ROTABOT_SKIPNOTICE_INNER") != "" {
		t.Skip("the inner go test")
	}
	args := []string{"test", "-count=1", "-run", "TestContract|TestConcurrentOpenMigratesOnce", "."}
	if raceEnabled {
		args = append(args, "-race") // the packages are built already
	}
	cmd := exec.Command("go", args...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != pgtest.EnvVar && k != "CI" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ROTABOT_SKIPNOTICE_INNER=1")
	out, err := cmd.CombinedOutput() // a pipe, as a terminal or `| tee` would be
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "NOTE: 2 PostgreSQL tests were skipped"); n != 1 || !strings.Contains(string(out), pgtest.HowTo) {
		t.Errorf("the notice shows %d times:\n%s", n, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Errorf("the inner go test ran with -v:\n%s", out)
	}
}
