// Package httpcheck is rotabot's adapter for the routing matrix's verify:
// entries: a plain net/http GET whose status must be the expected one, its
// headers filled from the environment. It implements the engine's HTTPChecker
// port and nothing more: it must not know about runs, Slack or the other
// services, and it never shows a header's value, a URL's user part or the
// address a redirect pointed to beyond its origin.
package httpcheck

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"

	"github.com/raxx-app/rotabot/rotation"
)

// Checker performs the routing matrix's verify: entries with plain net/http.
// Header values come from the environment through Getenv and are never shown. It
// follows no redirect: the first answer's status is the result, so a redirect to a
// login page that answers 200 is not a pass, and the check's headers (a session
// cookie) never reach the host a redirect names.
type Checker struct {
	// Client makes the requests; main.go gives it one that speaks https only
	// (loopback excepted) and has a deadline (package egress). Its redirect policy
	// is replaced: no redirect is followed.
	Client *http.Client
	Getenv func(string) string
	// Reserved are the variables rotabot itself reads: a check naming one is
	// refused, whatever the matrix says (rotabot check refuses it too).
	Reserved []string
}

var _ rotation.HTTPChecker = (*Checker)(nil)

// CheckHTTP makes the GET and wants the expected status.
func (v *Checker) CheckHTTP(ctx context.Context, c rotation.VerifyCheck) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return rotation.Wrap(rotation.EINVALID, err, "verify %q: the url is not valid", c.Name)
	}
	for h, env := range c.HeadersEnv {
		if slices.Contains(v.Reserved, env) {
			return rotation.Errorf(rotation.EINVALID, "verify %q may not send %s, one of rotabot's own variables, in its %s header: give the check its own variable", c.Name, env, h)
		}
		val := ""
		if v.Getenv != nil {
			val = v.Getenv(env)
		}
		if val == "" {
			return rotation.Errorf(rotation.EINVALID, "verify %q needs %s set for its %s header", c.Name, env, h)
		}
		req.Header.Set(h, val)
	}
	client := &http.Client{}
	if v.Client != nil {
		*client = *v.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return rotation.Errorf(rotation.EUNAVAILABLE, "verify %q: %s did not answer in time", c.Name, req.URL.Host)
		}
		var ue *url.Error
		if ue, _ = err.(*url.Error); ue != nil && ue.Timeout() {
			return rotation.Errorf(rotation.EUNAVAILABLE, "verify %q: %s did not answer in time", c.Name, req.URL.Host)
		}
		return rotation.Wrap(rotation.EUNAVAILABLE, withoutURL(err), "verify %q: %s could not be reached", c.Name, req.URL.Host)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	want := c.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		if loc, lerr := resp.Location(); lerr == nil && resp.StatusCode/100 == 3 {
			return rotation.Errorf(rotation.EINVALID, "verify %q: GET %s answered %d, a redirect to %s, expected %d: rotabot follows no redirect — point url at the final address",
				c.Name, rotation.URLWithoutUser(req.URL.String()), resp.StatusCode, origin(loc), want)
		}
		return rotation.Errorf(rotation.EINVALID, "verify %q: GET %s answered %d, expected %d", c.Name, rotation.URLWithoutUser(req.URL.String()), resp.StatusCode, want)
	}
	return nil
}

// origin is scheme://host[:port] of u: where a redirect pointed, without its path
// or query (which may hold a one-time code).
func origin(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// withoutURL keeps the cause of a failed request without the URL, whose query may
// hold something the matrix's author did not mean to log.
func withoutURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
