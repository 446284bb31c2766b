package rotation

import (
	"context"
	"io"
	"net/http"
)

// HTTPVerifier performs the routing matrix's verify: entries with plain net/http.
// Header values come from the environment through Getenv and are never shown.
type HTTPVerifier struct {
	Client *http.Client
	Getenv func(string) string
}

var _ HTTPChecker = (*HTTPVerifier)(nil)

// CheckHTTP makes the GET and wants the expected status.
func (v *HTTPVerifier) CheckHTTP(ctx context.Context, c VerifyCheck) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return Wrap(EINVALID, err, "verify %q: the url is not valid", c.Name)
	}
	for h, env := range c.HeadersEnv {
		val := ""
		if v.Getenv != nil {
			val = v.Getenv(env)
		}
		if val == "" {
			return Errorf(EINVALID, "verify %q needs %s set for its %s header", c.Name, env, h)
		}
		req.Header.Set(h, val)
	}
	client := v.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Errorf(EUNAVAILABLE, "verify %q: %s did not answer in time", c.Name, req.URL.Host)
		}
		return Errorf(EUNAVAILABLE, "verify %q: %s could not be reached", c.Name, req.URL.Host)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	want := c.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return Errorf(EINVALID, "verify %q: GET %s answered %d, expected %d", c.Name, req.URL.Redacted(), resp.StatusCode, want)
	}
	return nil
}
