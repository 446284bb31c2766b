package main

// The command line as a person meets it: the real binary, its exit code, and
// what it writes to stdout and stderr, each to its own file.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runBinary runs `rotabot args…` in dir with exactly env (nothing of the test's
// own environment), stdout and stderr each to a file, and returns the exit code
// and the two files' contents.
func runBinary(t *testing.T, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	files := t.TempDir()
	stdout, err := os.Create(filepath.Join(files, "stdout"))
	must(t, err)
	stderr, err := os.Create(filepath.Join(files, "stderr"))
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rotabotBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	stdout.Close()
	stderr.Close()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	o, err := os.ReadFile(filepath.Join(files, "stdout"))
	must(t, err)
	e, err := os.ReadFile(filepath.Join(files, "stderr"))
	must(t, err)
	return code, string(o), string(e)
}

// `env -i PATH=$PATH HOME=$(mktemp -d) rotabot serve` in an empty folder prints
// the missing matrix and every missing credential, counted, and exits non-zero.
func TestServeInAnEmptyFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runBinary(t, dir, map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}, "serve")
	lines := problemLines(stderr)
	want := []string{
		"there is no routing matrix: no rotabot.yaml in " + dir + ", and neither --config nor ROTABOT_CONFIG names one",
		"SLACK_APP_TOKEN is not set", "SLACK_BOT_TOKEN is not set",
		"INFISICAL_CLIENT_ID is not set", "INFISICAL_CLIENT_SECRET is not set", "INFISICAL_PROJECT_ID is not set",
		"GITHUB_TOKEN and HEROKU_API_KEY: each is needed",
		"rotabot serve: 7 start-up problems: fix them and start again",
	}
	if code == 0 || stdout != "" || len(lines) != len(want) {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want %q…", i+1, lines[i], w)
		}
	}
	// serve logs its version first, as JSON (stderr is a file).
	var rec map[string]any
	first, _, _ := strings.Cut(stderr, "\n")
	if err := json.Unmarshal([]byte(first), &rec); err != nil || rec["msg"] != "rotabot starting" || rec["version"] == "" || rec["go"] == "" {
		t.Errorf("the first line is not the version log line: %q", first)
	}
}

// `rotabot version` prints a version; `rotabot rotate SECRET --dry-run` with only
// the Infisical variables exits 0; `rotabot rotate …` with stdout and stderr to
// files has no JSON on stdout, and its log lines on stderr.
func TestBinaryOutputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errs := runBinary(t, dir, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "rotabot ") || !strings.Contains(out, "go1.") || errs != "" {
		t.Errorf("version: %d %q %q", code, out, errs)
	}

	h, full := cliWorld(t)
	// Only the Infisical variables, and GITHUB_API_URL (no credential) so the
	// GET /user goes to the stand-in.
	infisicalOnly := map[string]string{"GITHUB_API_URL": full["GITHUB_API_URL"]}
	for k, v := range full {
		if strings.HasPrefix(k, "INFISICAL_") {
			infisicalOnly[k] = v
		}
	}
	// The routing matrix as a file in the folder: the default place.
	must(t, os.WriteFile(filepath.Join(dir, "rotabot.yaml"), []byte(full["ROTABOT_CONFIG"]), 0o600))
	code, out, errs = runBinary(t, dir, infisicalOnly, "rotate", "GITHUB_API_READONLY_TOKEN", "--dry-run")
	if code != 0 || !strings.Contains(out, "DRY RUN — nothing is written.") || !strings.Contains(out, "⚠ HEROKU_API_KEY is not set") {
		t.Fatalf("dry run with only the Infisical variables: %d\n%s\n%s", code, out, errs)
	}

	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", h.Fresh[0])
	code, out, errs = runBinary(t, dir, full, "rotate", "GITHUB_API_READONLY_TOKEN")
	if code != 0 || !strings.Contains(out, "SUMMARY — GITHUB_API_READONLY_TOKEN, run r1: Completed") {
		t.Fatalf("rotate: %d\n%s\n%s", code, out, errs)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "{") {
			t.Errorf("JSON on stdout: %q", l)
		}
	}
	logs := 0
	for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("a stderr line is not a JSON log line: %q", l)
		}
		logs++
	}
	if logs < 3 {
		t.Errorf("only %d log lines on stderr:\n%s", logs, errs)
	}
	h.assertLeakFree(t, out, errs, h.dbBytes(t))
}
