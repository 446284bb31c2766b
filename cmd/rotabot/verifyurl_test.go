package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// exampleWithVerify is the example routing matrix with its verify check's url
// line replaced by lines (each indented as the check's keys are).
func exampleWithVerify(t *testing.T, lines ...string) string {
	t.Helper()
	data, err := os.ReadFile("../../rotabot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const url = "        url: https://console.raxx.app/api/status/builds\n"
	if !strings.Contains(string(data), url) {
		t.Fatal("the example matrix has no console verify check to change")
	}
	return strings.Replace(string(data), url, strings.Join(lines, "\n")+"\n", 1)
}

// `rotabot check` refuses a verify URL with a user part, at its line, without
// repeating it, and says where a credential goes instead.
func TestCheckRefusesAVerifyURLWithAUserPart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rotabot.yaml")
	doc := exampleWithVerify(t, "        url: https://ops:S3cret@console.raxx.app/api/status/builds")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(doc[:strings.Index(doc, "ops:S3cret")], "\n")
	code, out, errs := runCLI(t, nil, "check", "--config", file)
	want := file + ":" + strconv.Itoa(line) + `: GITHUB_API_READONLY_TOKEN: verify check "console build status": url "https://console.raxx.app/api/status/builds" has a user name or password in it (before the @) — `
	if code != 1 || !strings.HasPrefix(out, want) || !strings.Contains(out, "headers_env") || !strings.Contains(errs, "1 problem in ") {
		t.Fatalf("check: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, "S3cret") || strings.Contains(out+errs, "ops:") {
		t.Errorf("check repeats the user part:\n%s%s", out, errs)
	}
}
