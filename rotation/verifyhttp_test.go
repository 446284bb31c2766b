package rotation_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
)

const cookie = "session=ops-cookie-value-8f2a"

func verifier() *rotation.HTTPVerifier {
	return &rotation.HTTPVerifier{
		Client: &http.Client{Timeout: 5 * time.Second},
		Getenv: func(k string) string {
			if k == "CONSOLE_OPS_COOKIE" {
				return cookie
			}
			return ""
		},
	}
}

// A verify check follows no redirect: the first answer's status is the result (a
// 302 to a login page answering 200 is not a pass), and the headers it carries — a
// session cookie — never reach the host the redirect names.
func TestVerifyCheckFollowsNoRedirect(t *testing.T) {
	console := sandbox.NewConsole(cookie)
	t.Cleanup(console.Close)
	sink := sandbox.NewSink()
	t.Cleanup(sink.Close)
	check := rotation.VerifyCheck{Name: "console build status", URL: console.URL + "/api/status/builds",
		ExpectStatus: 200, HeadersEnv: map[string]string{"Cookie": "CONSOLE_OPS_COOKIE"}}
	v := verifier()
	if err := v.CheckHTTP(context.Background(), check); err != nil {
		t.Fatalf("a plain 200: %v", err)
	}

	console.Fail("GET /api/status/builds", &sandbox.Fault{Status: http.StatusFound, Redirect: sink.URL + "/login"})
	err := v.CheckHTTP(context.Background(), check)
	if n := len(sink.Requests()); n != 0 {
		t.Fatalf("the redirect's host received %d requests", n)
	}
	if err == nil {
		t.Fatal("a redirect to a page answering 200 passed the check")
	}
	msg := rotation.ErrorMessage(err)
	want := `verify "console build status": GET ` + console.URL + `/api/status/builds answered 302, a redirect to ` + sink.URL +
		`, expected 200: rotabot follows no redirect — point url at the final address`
	if msg != want {
		t.Errorf("message = %q\n          want %q", msg, want)
	}
	if strings.Contains(err.Error(), "ops-cookie") {
		t.Error("the error holds the cookie")
	}

	// A check that expects the redirect passes on it.
	check.ExpectStatus = http.StatusFound
	if err := v.CheckHTTP(context.Background(), check); err != nil {
		t.Errorf("expect_status 302: %v", err)
	}
}

// The variables rotabot reads are not a verify check's to send, whatever the matrix says.
func TestVerifyCheckRefusesReservedVariables(t *testing.T) {
	sink := sandbox.NewSink()
	t.Cleanup(sink.Close)
	v := verifier()
	v.Reserved = []string{"GITHUB_TOKEN"}
	v.Getenv = func(string) string { return "ghp_" + strings.Repeat("a", 36) }
	err := v.CheckHTTP(context.Background(), rotation.VerifyCheck{Name: "c", URL: sink.URL, HeadersEnv: map[string]string{"Authorization": "GITHUB_TOKEN"}})
	if rotation.ErrorCode(err) != rotation.EINVALID || len(sink.Requests()) != 0 {
		t.Fatalf("err = %v, %d requests sent", err, len(sink.Requests()))
	}
}

// A verify URL's user part — which rotabot check refuses — is never shown: not
// in the plan a dry run prints (in Slack and in the CLI alike), not in a failed
// check's message.
func TestVerifyURLsAreShownWithoutAUserPart(t *testing.T) {
	console := sandbox.NewConsole(cookie)
	t.Cleanup(console.Close)
	m := testMatrix()
	m.Secrets[secretName].Verify = []rotation.VerifyCheck{
		{Name: "console", URL: "https://ops:S3cret@console.raxx.app/api/status/builds?deep=1", ExpectStatus: 200},
		{Name: "user only", URL: "HTTPS://ghp_0123456789abcdefABCDEF0123456789abcd@console.raxx.app:8443/x", ExpectStatus: 200},
		{Name: "unparsable", URL: "https://ops:S3 cret@console.raxx.app/", ExpectStatus: 200},
	}
	plan, err := m.Plan(secretName, rotation.Overrides{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Join(plan.Lines(), "\n")
	for _, want := range []string{
		"  verify: console (GET https://console.raxx.app/api/status/builds?deep=1, expect 200)",
		"  verify: user only (GET https://console.raxx.app:8443/x, expect 200)",
		"  verify: unparsable (GET https://console.raxx.app/, expect 200)",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("the plan lacks %q:\n%s", want, lines)
		}
	}
	for _, secret := range []string{"S3cret", "S3 cret", "ops:", "ghp_0123"} {
		if strings.Contains(lines, secret) {
			t.Errorf("the plan shows %q:\n%s", secret, lines)
		}
	}

	console.Guard("/api/status/builds", http.StatusServiceUnavailable)
	withUser := strings.Replace(console.URL, "http://", "http://ops:S3cret@", 1) + "/api/status/builds"
	err = verifier().CheckHTTP(context.Background(), rotation.VerifyCheck{Name: "console", URL: withUser, ExpectStatus: 200})
	if msg := rotation.ErrorMessage(err); msg != `verify "console": GET `+console.URL+`/api/status/builds answered 503, expected 200` {
		t.Errorf("message = %q", msg)
	}
}
