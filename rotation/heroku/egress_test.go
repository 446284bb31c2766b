package heroku_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
)

// heroku-go's Transport sets the bearer key on every request, redirected ones
// included: a redirect off HEROKU_API_URL's host is refused before the other host
// receives anything (the key, or the value in a 307's resent body).
func TestRedirectOffHostCarriesNoCredential(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		route  string
		status int
		call   func(f fixture) error
	}{
		{patch, http.StatusTemporaryRedirect, func(f fixture) error {
			return f.c.Set(ctx, app, varName, rotation.NewSecret(newToken))
		}},
		{read, http.StatusFound, func(f fixture) error {
			return f.c.Verify(ctx, app, varName, rotation.NewSecret(newToken), time.Time{})
		}},
		{"GET /account", http.StatusMovedPermanently, func(f fixture) error { _, err := f.c.Account(ctx); return err }},
	} {
		t.Run(tc.route, func(t *testing.T) {
			f := setup(t, apiKey)
			sink := sandbox.NewSink()
			t.Cleanup(sink.Close)
			f.h.Fail(tc.route, &sandbox.Fault{Status: tc.status, Redirect: sink.URL + "/collect"})
			err := tc.call(f)
			if n := len(sink.Requests()); n != 0 {
				t.Fatalf("the other host received %d requests", n)
			}
			if rotation.ErrorCode(err) != rotation.EINVALID {
				t.Fatalf("err = %v (%s), want an invalid error that is not retried", err, rotation.ErrorCode(err))
			}
			msg := rotation.ErrorMessage(err)
			for _, raw := range []string{f.h.URL, sink.URL} {
				u, _ := url.Parse(raw)
				if !strings.Contains(msg, u.Host) {
					t.Errorf("message %q does not name %s", msg, u.Host)
				}
			}
			noLeak(t, "the error", err.Error())
			if strings.Contains(err.Error(), apiKey) {
				t.Error("the error holds HEROKU_API_KEY")
			}
		})
	}
}
