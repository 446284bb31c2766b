package rotation

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
)

// HTTPVerifier performs the routing matrix's verify: entries with plain net/http.
// Header values come from the environment through Getenv and are never shown. It
// follows no redirect: the first answer's status is the result, so a redirect to a
// login page that answers 200 is not a pass, and the check's headers (a session
// cookie) never reach the host a redirect names.
type HTTPVerifier struct {
	// Client makes the requests; main.go gives it one that speaks https only
	// (loopback excepted) and has a deadline (package egress). Its redirect policy
	// is replaced: no redirect is followed.
	Client *http.Client
	Getenv func(string) string
	// Reserved are the variables rotabot itself reads: a check naming one is
	// refused, whatever the matrix says (rotabot check refuses it too).
	Reserved []string
}

var _ HTTPChecker = (*HTTPVerifier)(nil)

// CheckHTTP makes the GET and wants the expected status.
func (v *HTTPVerifier) CheckHTTP(ctx context.Context, c VerifyCheck) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return Wrap(EINVALID, err, "verify %q: the url is not valid", c.Name)
	}
	for h, env := range c.HeadersEnv {
		if slices.Contains(v.Reserved, env) {
			return Errorf(EINVALID, "verify %q may not send %s, one of rotabot's own variables, in its %s header: give the check its own variable", c.Name, env, h)
		}
		val := ""
		if v.Getenv != nil {
			val = v.Getenv(env)
		}
		if val == "" {
			return Errorf(EINVALID, "verify %q needs %s set for its %s header", c.Name, env, h)
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
			return Errorf(EUNAVAILABLE, "verify %q: %s did not answer in time", c.Name, req.URL.Host)
		}
		var ue *url.Error
		if ue, _ = err.(*url.Error); ue != nil && ue.Timeout() {
			return Errorf(EUNAVAILABLE, "verify %q: %s did not answer in time", c.Name, req.URL.Host)
		}
		return Wrap(EUNAVAILABLE, withoutURL(err), "verify %q: %s could not be reached", c.Name, req.URL.Host)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	want := c.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		if loc, lerr := resp.Location(); lerr == nil && resp.StatusCode/100 == 3 {
			return Errorf(EINVALID, "verify %q: GET %s answered %d, a redirect to %s, expected %d: rotabot follows no redirect — point url at the final address",
				c.Name, withoutUser(req.URL.String()), resp.StatusCode, origin(loc), want)
		}
		return Errorf(EINVALID, "verify %q: GET %s answered %d, expected %d", c.Name, withoutUser(req.URL.String()), resp.StatusCode, want)
	}
	return nil
}

// userPart is a URL's scheme and user part (scheme://user:password@), found
// also in a URL that does not parse.
var userPart = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@`)

// withoutUser is a verify URL as it may be shown: without its user part, name
// and password both (rotabot check refuses one; a matrix that did not pass
// through it still never shows it).
func withoutUser(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.User = nil
		return u.String()
	}
	return userPart.ReplaceAllString(raw, "${1}")
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
