package github_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/github"
	"github.com/raxx-app/rotabot/sandbox"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// A redirect off GITHUB_API_URL's host is refused before anything reaches the other
// host: go-github sets Authorization on every request, so Go's own rule of dropping
// it on a cross-host redirect never applies, and a followed redirect would hand the
// token (or GITHUB_TOKEN, or the revoked value in the body) to whoever answers.
func TestRedirectOffHostCarriesNoCredential(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		route  string
		status int
		call   func(f fixture) error
	}{
		{"GET /user", http.StatusFound, func(f fixture) error { _, err := f.client.Check(ctx, secret(fineTok)); return err }},
		{"GET /repos/{owner}/{repo}/actions/runs", http.StatusMovedPermanently, func(f fixture) error {
			return f.client.Probe(ctx, secret(fineTok), "/repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1")
		}},
		{"GET /repos/{owner}/{repo}/actions/secrets/public-key", http.StatusTemporaryRedirect, func(f fixture) error {
			return f.client.ActionsSecrets().Set(ctx, repo, "API_TOKEN", secret(classicTok))
		}},
		// 307 and 308 resend the body: here, the token being revoked.
		{"POST /credentials/revoke", http.StatusPermanentRedirect, func(f fixture) error { return f.client.Revoke(ctx, secret(classicTok)) }},
		{"GET /user", http.StatusSeeOther, func(f fixture) error { _, err := f.client.CheckAdmin(ctx); return err }},
	} {
		t.Run(tc.route, func(t *testing.T) {
			f := setup(t)
			sink := sandbox.NewSink()
			t.Cleanup(sink.Close)
			f.gh.Fail(tc.route, &sandbox.Fault{Status: tc.status, Redirect: sink.URL + "/collect"})
			err := tc.call(f)
			if n := len(sink.Requests()); n != 0 {
				t.Fatalf("the other host received %d requests", n)
			}
			if rotation.ErrorCode(err) != rotation.EINVALID {
				t.Fatalf("err = %v (%s), want an invalid error that is not retried", err, rotation.ErrorCode(err))
			}
			msg := rotation.ErrorMessage(err)
			for _, host := range []string{hostOf(t, f.gh.URL), hostOf(t, sink.URL)} {
				if !strings.Contains(msg, host) {
					t.Errorf("message %q does not name %s", msg, host)
				}
			}
			noLeak(t, err.Error())
		})
	}
}

// A probe is a path under GITHUB_API_URL: none of the disguises of an absolute URL
// reaches another host, and none reaches GitHub either.
func TestProbeRefusesDisguisedURLs(t *testing.T) {
	f := setup(t)
	sink := sandbox.NewSink()
	t.Cleanup(sink.Close)
	host := hostOf(t, sink.URL)
	ctx := context.Background()
	before := len(f.gh.Requests())
	for _, p := range []string{
		"/https://" + host + "/x",
		"/http://" + host + "/x",
		"//" + host + "/x",
		"/%2F%2F" + host + "/x",
		"/%2f%2f" + host + "/x",
		"/\\" + host + "/x",
		"/\\\\" + host + "/x",
		"/repos/..\\..\\x",
		"/repos/../../x",
		"/repos/%2e%2e/%2E%2E/x",
		"/repos/.%2e/x",
		"/repos/./x",
		"/https:" + host + "/x",
		"https:" + host,
		"/repos/x#fragment",
		"/repos/x\n/y",
		"/ repos",
	} {
		err := f.client.Probe(ctx, secret(fineTok), p)
		if rotation.ErrorCode(err) != rotation.EINVALID {
			t.Errorf("probe %q: err = %v, want it refused", p, err)
		}
	}
	if n := len(sink.Requests()); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}
	if n := len(f.gh.Requests()); n != before {
		t.Errorf("%d refused probes reached GitHub", n-before)
	}
}

// GITHUB_API_URL may be an Enterprise server under /api/v3: the probe stays under it.
func TestProbeStaysUnderTheBasePath(t *testing.T) {
	g := sbgithub.New()
	t.Cleanup(g.Close)
	c, err := github.New(github.Config{BaseURL: g.URL + "/api/v3"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Probe(context.Background(), secret(fineTok), "/repos/../../../user")
	if rotation.ErrorCode(err) != rotation.EINVALID {
		t.Fatalf("err = %v, want the probe refused", err)
	}
	if n := len(g.Requests()); n != 0 {
		t.Errorf("%d requests left the base path", n)
	}
}
