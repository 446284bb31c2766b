package github

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	gh "github.com/google/go-github/v62/github"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// opKind says what a request was for, which decides how its failure reads.
type opKind int

const (
	opCheck      opKind = iota // GET /user and /user/repos with the token under check
	opProbe                    // the workload probe with the token under check
	opSecret                   // Actions public key and secret write, with GITHUB_TOKEN
	opSecretRead               // Actions secret read-back, with GITHUB_TOKEN
	opRevoke                   // POST /credentials/revoke, unauthenticated
	opApp                      // the GitHub App's own: its installation, its tokens
	opList                     // a scan's list (repositories, environments, a scope's secrets), with GITHUB_TOKEN
)

// call names one request for the messages people see. None of its fields may hold a
// token: they are method, path, repository and secret name.
type call struct {
	kind  opKind
	route string // "GET /user", "PUT /repos/o/r/actions/secrets/NAME"
	repo  string // owner/repo, for Actions secrets
	name  string // the Actions secret's name
	// what and perm are set for the secrets beyond repository Actions
	// secrets: what names the secret for people ("the environment secret
	// NAME of o/r · production"), perm the permission GITHUB_TOKEN needs for it.
	what string
	perm string
	// cred names the credential secrets are written with (GITHUB_TOKEN or
	// the GitHub App); do sets it.
	cred string
}

// do runs one request, retrying what GitHub says may pass (429, 5xx, rate limits,
// a dropped connection) at most c.maxTries times in all, honouring Retry-After but
// never past ctx's deadline. Each try is bounded by c.timeout. Every error it returns
// is a *rotation.Error.
func (c *Client) do(ctx context.Context, op call, fn func(context.Context) (*gh.Response, error)) (*gh.Response, error) {
	var last *rotation.Error
	op.cred = c.cred
	attempt := func() (*gh.Response, error) {
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		resp, err := fn(actx)
		var accepted *gh.AcceptedError
		if err == nil || errors.As(err, &accepted) {
			return resp, nil
		}
		f := classify(err)
		last = op.fail(f)
		if !f.retryable() {
			return resp, backoff.Permanent(last)
		}
		if wait := f.retryAfter; wait > 0 {
			if !c.mayWait(ctx, wait) {
				return resp, backoff.Permanent(last)
			}
			return resp, waitThen{after: &backoff.RetryAfterError{Duration: wait}, err: last}
		}
		return resp, last
	}
	resp, err := backoff.Retry(ctx, attempt,
		backoff.WithMaxTries(c.maxTries),
		backoff.WithBackOff(c.newBackOff()),
		backoff.WithMaxElapsedTime(0))
	if err == nil {
		return resp, nil
	}
	if last == nil { // Retry always tries once, so this is only a guard: stay typed
		last = op.fail(classify(err))
	}
	return resp, last
}

// mayWait reports whether a wait of d fits before ctx's deadline, or under c.maxWait
// when ctx has none.
func (c *Client) mayWait(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl) > d
	}
	return d <= c.maxWait
}

// waitThen carries both the wait backoff.Retry honours and the error to report if
// the tries run out.
type waitThen struct {
	after *backoff.RetryAfterError
	err   *rotation.Error
}

func (w waitThen) Error() string   { return w.err.Error() }
func (w waitThen) Unwrap() []error { return []error{w.after, w.err} }

// failure is what went wrong with one request, read from go-github's error.
type failure struct {
	status      int    // the HTTP status; 0 when no answer came back
	apiMsg      string // GitHub's "message" (never holds a token)
	rateLimited bool
	retryAfter  time.Duration
	timeout     bool // no answer in time
	canceled    bool
	network     bool // no connection, or it broke
	// refused is set when package egress stopped the request: a redirect off
	// GITHUB_API_URL's host, or a URL on another host. from and to are origins.
	refused  bool
	from, to egress.Origin
	// appRoute is set when the GitHub App's own request failed (the
	// installation's lookup or its token) under the one made.
	appRoute string
	// appProblem is why the App could not even ask (its set-up).
	appProblem string
	err        error
}

func (f failure) retryable() bool {
	return !f.timeout && !f.canceled && (f.rateLimited || f.network || f.status >= 500 && f.status <= 599)
}

// secondaryWait is what GitHub asks for after a secondary rate limit without a
// Retry-After: "wait at least one minute".
const secondaryWait = time.Minute

func classify(err error) failure {
	f := failure{err: err}
	var (
		rl  *gh.RateLimitError
		ab  *gh.AbuseRateLimitError
		tfa *gh.TwoFactorAuthError
		er  *gh.ErrorResponse
		ne  net.Error
		ue  *url.Error
	)
	if from, to, ok := egress.Refusal(err); ok {
		// Checked first: the refusal travels in a *url.Error, which is a net.Error.
		f.refused, f.from, f.to = true, from, to
		return f
	}
	var ae *appError
	switch {
	case errors.As(err, &ae) && ae.problem != "":
		f.appProblem = ae.problem // nothing was asked: the set-up is wrong
		return f
	case ae != nil && ae.status != 0:
		// GitHub refused the App's own request under this one (its token).
		f.status, f.apiMsg, f.appRoute = ae.status, ae.message, ae.route
		return f
	}
	switch {
	case errors.As(err, &rl):
		f.status, f.apiMsg, f.rateLimited = statusOf(rl.Response, http.StatusForbidden), rl.Message, true
		f.retryAfter = max(ceilSecond(time.Until(rl.Rate.Reset.Time)), time.Second)
	case errors.As(err, &ab):
		f.status, f.apiMsg, f.rateLimited = statusOf(ab.Response, http.StatusForbidden), ab.Message, true
		if ab.RetryAfter != nil {
			f.retryAfter = ceilSecond(*ab.RetryAfter)
		}
		if f.retryAfter <= 0 {
			f.retryAfter = secondaryWait
		}
	case errors.As(err, &tfa):
		f.status, f.apiMsg = http.StatusUnauthorized, tfa.Message
	case errors.As(err, &er):
		f.status, f.apiMsg = statusOf(er.Response, 0), er.Message
		var h http.Header
		if er.Response != nil {
			h = er.Response.Header
		}
		f.retryAfter = retryAfter(h)
		limited := f.status == http.StatusTooManyRequests ||
			f.status == http.StatusForbidden && (h.Get("Retry-After") != "" || h.Get("X-RateLimit-Remaining") == "0" ||
				strings.Contains(strings.ToLower(er.Message), "rate limit"))
		if limited {
			f.rateLimited = true
			if f.retryAfter <= 0 {
				f.retryAfter = secondaryWait
			}
		}
	case errors.Is(err, context.DeadlineExceeded):
		f.timeout = true
	case errors.Is(err, context.Canceled):
		f.canceled = true
	case errors.As(err, &ne) && ne.Timeout():
		f.timeout = true
	case errors.As(err, &ne), errors.As(err, &ue):
		f.network = true
	}
	return f
}

func statusOf(r *http.Response, def int) int {
	if r == nil {
		return def
	}
	return r.StatusCode
}

// retryAfter reads Retry-After (seconds or an HTTP date), then X-RateLimit-Reset
// when the limit is spent.
func retryAfter(h http.Header) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return ceilSecond(time.Until(t))
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return ceilSecond(time.Until(time.Unix(s, 0)))
		}
	}
	return 0
}

func ceilSecond(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}

// human says a wait the way a person reads it: "1s", "45s", "3 min".
func human(d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(int(math.Ceil(d.Seconds()))) + "s"
	}
	return strconv.Itoa(int(math.Ceil(d.Minutes()))) + " min"
}

// fail turns a failure into the *rotation.Error people see. Its Message names the
// request (method and path, or repository and secret) and what to do; Err keeps
// go-github's error, whose text has method, URL, status and GitHub's message but
// never a header or a request body, so never a token.
func (c call) fail(f failure) *rotation.Error {
	e := &rotation.Error{Err: f.err}
	set := func(code, format string, args ...any) *rotation.Error {
		e.Code, e.Message = code, fmt.Sprintf(format, args...)
		return e
	}
	msg := f.apiMsg
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(f.status)
	}
	switch {
	case f.appProblem != "":
		return set(rotation.EINVALID, "%s", f.appProblem)
	case f.refused:
		return set(rotation.EINVALID,
			"GitHub's answer to %s pointed from %s to %s: rotabot sends GitHub credentials to GITHUB_API_URL's host only and did not follow it; check GITHUB_API_URL (a proxy?)",
			c.route, f.from, f.to)
	case f.timeout:
		return set(rotation.EUNAVAILABLE, "GitHub did not answer in time (%s): try again later", c.route)
	case f.canceled:
		return set(rotation.EUNAVAILABLE, "The request to GitHub was cancelled (%s)", c.route)
	case f.network:
		return set(rotation.EUNAVAILABLE, "GitHub could not be reached (%s): check GITHUB_API_URL, or try again later", c.route)
	case f.rateLimited:
		e.RetryAfter = f.retryAfter
		return set(rotation.EUNAVAILABLE, "GitHub is rate limiting %s (%d): try again in %s", c.route, f.status, human(f.retryAfter))
	case f.status >= 500:
		e.RetryAfter = f.retryAfter
		return set(rotation.EUNAVAILABLE, "GitHub failed on %s (%d %s): try again later", c.route, f.status, msg)
	case f.status == 0:
		return set(rotation.EINTERNAL, "GitHub's answer to %s could not be read: see the bot's logs", c.route)
	case f.appRoute != "":
		return appFail(f.appRoute, f.status, msg, set)
	case c.kind == opApp:
		return appFail(c.route, f.status, msg, set)
	}

	switch c.kind {
	case opCheck:
		switch f.status {
		case http.StatusUnauthorized:
			return set(rotation.EUNAUTHORIZED, "GitHub refused the token (401 %s)", msg)
		case http.StatusForbidden:
			return set(rotation.EFORBIDDEN, "GitHub refused the token on %s (403 %s)", c.route, msg)
		case http.StatusNotFound:
			return set(rotation.ENOTFOUND, "GitHub answered %s with 404: check GITHUB_API_URL", c.route)
		}
	case opProbe:
		e.Err = fmt.Errorf("%w: %w", rotation.ErrProbe, f.err)
		probe := "The workload probe " + c.route
		switch f.status {
		case http.StatusUnauthorized:
			return set(rotation.EUNAUTHORIZED, "%s answered 401: GitHub refused the token", probe)
		case http.StatusForbidden:
			return set(rotation.EINVALID, "%s answered 403: the token lacks a permission it needs (%s)", probe, msg)
		case http.StatusNotFound:
			if strings.HasPrefix(c.route, "GET /repos/") {
				return set(rotation.EINVALID, "%s answered 404: the token cannot see that repository", probe)
			}
			return set(rotation.EINVALID, "%s answered 404: the path does not exist or the token cannot see it", probe)
		}
		return set(rotation.EINVALID, "%s answered %d (%s)", probe, f.status, msg)
	case opSecret, opSecretRead:
		if c.what != "" {
			return c.scopedFail(f, msg, set)
		}
		switch f.status {
		case http.StatusUnauthorized:
			return set(rotation.EUNAUTHORIZED, "GitHub refused %s for %s (401): %s", c.cred, c.repo, c.check401())
		case http.StatusForbidden:
			return set(rotation.EFORBIDDEN,
				"GitHub refused %s for %s (403 %s): it needs the Secrets read and write permission on that repository", c.cred, c.repo, msg)
		case http.StatusNotFound:
			if c.kind == opSecretRead {
				return set(rotation.ENOTFOUND,
					"GitHub has no Actions secret %s on %s (404): it was not written, or %s cannot see the repository", c.name, c.repo, c.cred)
			}
			return set(rotation.ENOTFOUND,
				"GitHub cannot find %s with %s (404): check the repository name and that %s can see it", c.repo, c.cred, c.credIt())
		}
		return set(rotation.EINVALID, "GitHub refused the Actions secret %s for %s (%d %s)", c.name, c.repo, f.status, msg)
	case opList:
		return c.listFail(f, msg, set)
	case opRevoke:
		switch f.status {
		case http.StatusForbidden:
			return set(rotation.EFORBIDDEN, "GitHub refused to revoke the token (403 %s)", msg)
		case http.StatusNotFound:
			return set(rotation.ENOTFOUND,
				"GitHub answered %s with 404: this GitHub does not offer revocation; delete the token in its settings instead", c.route)
		}
		return set(rotation.EINVALID, "GitHub refused to revoke the token (%d %s)", f.status, msg)
	}
	return set(rotation.EINVALID, "GitHub refused %s (%d %s)", c.route, f.status, msg)
}

// listFail is fail for a scan's list (repositories, environments, a scope's
// secrets).
func (c call) listFail(f failure, msg string, set func(code, format string, args ...any) *rotation.Error) *rotation.Error {
	switch f.status {
	case http.StatusUnauthorized:
		return set(rotation.EUNAUTHORIZED, "GitHub refused %s listing %s (401): check it", c.cred, c.what)
	case http.StatusForbidden:
		return set(rotation.EFORBIDDEN, "GitHub refused %s listing %s (403 %s): give %s %s", c.cred, c.what, msg, c.credIt(), c.perm)
	case http.StatusNotFound:
		return set(rotation.ENOTFOUND, "GitHub answered 404 listing %s: it does not exist, or %s cannot see it", c.what, c.cred)
	}
	return set(rotation.EINVALID, "GitHub refused to list %s (%d %s)", c.what, f.status, msg)
}

// scopedFail is fail for a secret beyond repository Actions secrets.
func (c call) scopedFail(f failure, msg string, set func(code, format string, args ...any) *rotation.Error) *rotation.Error {
	switch f.status {
	case http.StatusUnauthorized:
		return set(rotation.EUNAUTHORIZED, "GitHub refused %s for %s (401): %s", c.cred, c.what, c.check401())
	case http.StatusForbidden:
		return set(rotation.EFORBIDDEN, "GitHub refused %s for %s (403 %s): give %s %s", c.cred, c.what, msg, c.credIt(), c.perm)
	case http.StatusNotFound:
		if c.kind == opSecretRead {
			return set(rotation.ENOTFOUND, "GitHub has no %s (404): it was not written, or %s cannot see it", c.what, c.cred)
		}
		return set(rotation.ENOTFOUND, "GitHub cannot find where %s lives with %s (404): check the name in the routing matrix and that %s can see it", c.what, c.cred, c.credIt())
	}
	return set(rotation.EINVALID, "GitHub refused %s (%d %s)", c.what, f.status, msg)
}

// credIt is how a fix names the credential: "the token", or "the GitHub App".
func (c call) credIt() string {
	if c.cred == credApp {
		return credApp
	}
	return "the token"
}

// check401 is what to do when GitHub refuses the credential secrets are
// written with.
func (c call) check401() string {
	if c.cred == credApp {
		return "its installation token was refused: check that the App is still installed on that account"
	}
	return "check the token"
}

// appFail says what a refusal of the GitHub App's own request (route) means.
func appFail(route string, status int, msg string, set func(code, format string, args ...any) *rotation.Error) *rotation.Error {
	switch {
	case status == http.StatusUnauthorized:
		return set(rotation.EUNAUTHORIZED,
			"GitHub refused the GitHub App's JWT (%s: 401 %s): check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (a key of that App: its settings → Private keys) and that this machine's clock is right", route, msg)
	case status == http.StatusNotFound && strings.Contains(route, " /app/"):
		return set(rotation.EINVALID,
			"GitHub has no such installation of the GitHub App (%s: 404): check GITHUB_APP_INSTALLATION_ID (the number at the end of the installation's settings page), or unset it to find the installation by the routing matrix's organisation", route)
	case status == http.StatusNotFound:
		return set(rotation.EINVALID,
			"The GitHub App is not installed where the routing matrix writes (%s: 404): install it there (the App's settings → Install App), or set GITHUB_APP_INSTALLATION_ID", route)
	case status == http.StatusForbidden:
		return set(rotation.EFORBIDDEN,
			"GitHub refused the GitHub App's request %s (403 %s): check that its installation is not suspended (the account's settings → GitHub Apps)", route, msg)
	}
	return set(rotation.EINVALID, "GitHub refused the GitHub App's request %s (%d %s)", route, status, msg)
}
