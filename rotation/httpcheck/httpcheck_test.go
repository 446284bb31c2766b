package httpcheck_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/httpcheck"
	"github.com/raxx-app/rotabot/sandbox"
)

const cookie = "session=ops-cookie-value-8f2a"

func verifier() *httpcheck.Checker {
	return &httpcheck.Checker{
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

// A verify URL's user part — which rotabot check refuses — is never shown in a
// failed check's message (nor in the plan: rotation's
// TestPlanShowsVerifyURLsWithoutAUserPart).
func TestVerifyURLsAreShownWithoutAUserPart(t *testing.T) {
	console := sandbox.NewConsole(cookie)
	t.Cleanup(console.Close)
	console.Guard("/api/status/builds", http.StatusServiceUnavailable)
	withUser := strings.Replace(console.URL, "http://", "http://ops:S3cret@", 1) + "/api/status/builds"
	err := verifier().CheckHTTP(context.Background(), rotation.VerifyCheck{Name: "console", URL: withUser, ExpectStatus: 200})
	if msg := rotation.ErrorMessage(err); msg != `verify "console": GET `+console.URL+`/api/status/builds answered 503, expected 200` {
		t.Errorf("message = %q", msg)
	}
}
