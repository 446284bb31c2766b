// Package heroku is the rotation.Consumer that sets a secret as a config var on
// Heroku apps and reads it back to verify, through heroku-go (the Platform API v3);
// the rotation.Releaser that follows the release each write makes and the dynos'
// restart onto it; the rotation.LogTailer that reads an app's log stream; and the
// rotation.ConfigScanner (Scanner) that lists every app the key sees and hashes
// each config value as it is decoded, paced by the rate limit it has seen.
// It turns every Heroku answer into a *rotation.Error a person can act on, bounds
// its own retries, and never logs, keeps or returns a config value: neither the one
// it writes nor the rest of the app's config, which Heroku sends back in full on
// every update. A log session's URL is used once and kept nowhere, and the stream
// is read without a credential. It must not know about Slack, GitHub, Infisical or
// the store; it knows one app, one var name and one value at a time, and a scan
// hands out names and digests only.
package heroku

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	heroku "github.com/heroku/heroku-go/v5"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

var _ rotation.Consumer = (*Consumer)(nil)

const (
	// maxTries bounds every call: the first try and two retries.
	maxTries = 3
	// maxWait is the longest Retry-After we sit through; a longer one is handed
	// to the caller in the error's RetryAfter instead.
	maxWait = 30 * time.Second
	// rateLimitWait is what a 429 without Retry-After tells the caller to wait:
	// Heroku refills its bucket by about 75 requests a minute.
	rateLimitWait = time.Minute
	// defaultTimeout bounds one request when the Config gives none.
	defaultTimeout = 30 * time.Second
)

// Config says how to reach Heroku.
type Config struct {
	// BaseURL is the Platform API (HEROKU_API_URL), with or without a trailing
	// slash; "" means https://api.heroku.com.
	BaseURL string
	// APIKey is HEROKU_API_KEY, sent as a bearer token.
	APIKey string
	// HTTPClient supplies the transport requests go through (nil: the default
	// transport) and, when Timeout is 0, the per-request timeout.
	HTTPClient *http.Client
	// Timeout bounds each request to Heroku (default 30 s); the caller's context
	// bounds the whole call, retries included.
	Timeout time.Duration
	// Logger receives a line for each retry (never a value); nil logs nothing.
	Logger *slog.Logger
}

// Consumer sets config vars on Heroku apps. It is safe for concurrent use.
type Consumer struct {
	svc *heroku.Service
	// logs reads log streams: a client of its own, without heroku.Transport, so
	// no credential is ever sent to logplex's host.
	logs    *http.Client
	timeout time.Duration
	log     *slog.Logger
	// backoff is the wait between tries when Heroku gives no Retry-After.
	backoff func() *backoff.ExponentialBackOff
	// bad is why BaseURL cannot be used; every call answers it.
	bad error
	// keyed makes a service that sends another key (a heroku-api-key secret's)
	// the same way, to the same host; own is HEROKU_API_KEY, and api the base.
	keyed func(key string) *heroku.Service
	own   rotation.Secret
	api   *url.URL
}

// New returns a Consumer for cfg. Its requests go to BaseURL's host only (package
// egress): HEROKU_API_KEY reaches no other host, first request or redirect. A
// BaseURL that is not https (plain http is for a loopback host only) makes every
// call fail with the reason.
func New(cfg Config) *Consumer {
	timeout := cfg.Timeout
	if cfg.HTTPClient != nil && timeout == 0 {
		timeout = cfg.HTTPClient.Timeout
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	rawBase := strings.TrimRight(cfg.BaseURL, "/")
	if rawBase == "" {
		rawBase = heroku.DefaultURL
	}
	var bad error
	u, err := egress.Base("HEROKU_API_URL", rawBase)
	if err != nil {
		bad = rotation.Wrap(rotation.EINVALID, err, "%s", err.Error())
		u = &url.URL{Scheme: "https", Host: "invalid.invalid"}
	}
	raw := egress.Transport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		raw = cfg.HTTPClient.Transport
	}
	bound := egress.Bind(u, cfg.HTTPClient, timeout)
	base := bound.Transport
	// heroku.Transport sets the bearer key and the versioned Accept header and
	// turns non-2xx replies into heroku.Error. Its inner Transport is set here:
	// left nil, RoundTrip would assign it on first use, a data race under
	// concurrent calls. heroku-go's RoundTripWithRetryBackoff is deliberately
	// not used: it retries 429s forever and resends a body already read.
	// The client has no Timeout: heroku.Transport cannot cancel the old way, so
	// deadlines travel in each request's context. heroku.Transport turns every
	// non-2xx, redirects included, into an error, so no redirect is followed;
	// egress refuses one off the host all the same.
	keyed := func(key string) *heroku.Service {
		s := heroku.NewService(&http.Client{CheckRedirect: bound.CheckRedirect, Transport: &heroku.Transport{
			BearerToken: key, UserAgent: "rotabot " + heroku.DefaultUserAgent, Transport: recorder{base: base}}})
		s.URL = rawBase
		return s
	}
	svc := keyed(cfg.APIKey)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// A log stream carries no credential (the session URL is its own key): a
	// client of its own, without heroku.Transport, https only unless loopback, no
	// redirect off the host, and no deadline of a whole request (a stream lasts
	// its window; readLogs bounds the wait for it to start).
	logs := egress.Open(&http.Client{Transport: raw}, 0)
	return &Consumer{svc: svc, keyed: keyed, own: rotation.NewSecret(cfg.APIKey), api: u, logs: logs, timeout: timeout, log: log, bad: bad, backoff: func() *backoff.ExponentialBackOff {
		return &backoff.ExponentialBackOff{
			InitialInterval:     250 * time.Millisecond,
			RandomizationFactor: 0.3,
			Multiplier:          2,
			MaxInterval:         5 * time.Second,
		}
	}}
}

// Set writes value under name on app. Heroku restarts the app with a new release.
// Setting the same value twice is harmless, so a try whose answer was lost is
// simply sent again.
func (c *Consumer) Set(ctx context.Context, app, name string, value rotation.Secret) error {
	if err := checkArgs(app, name); err != nil {
		return err
	}
	if value.Empty() {
		return rotation.Errorf(rotation.EINVALID, "Refusing to set an empty %s on Heroku app %s", name, app)
	}
	path := configVarsPath(app)
	return c.call(ctx, app, "change", value, func(ctx context.Context) error {
		v := value.Reveal()
		// The reply is the app's whole config. Handing heroku-go an io.Writer
		// makes it copy the body there instead of decoding it: io.Discard drops
		// it unread, while non-2xx replies still become heroku.Error.
		return c.svc.Patch(ctx, io.Discard, path, map[string]*string{name: &v})
	})
}

// Verify reads app's config back and checks that name holds value, comparing
// SHA-256 digests in memory. Heroku keeps no per-var timestamp, so since is not
// checked: the digest says whether the write landed.
func (c *Consumer) Verify(ctx context.Context, app, name string, value rotation.Secret, since time.Time) error {
	if err := checkArgs(app, name); err != nil {
		return err
	}
	path := configVarsPath(app)
	var got varDigest
	err := c.call(ctx, app, "read", value, func(ctx context.Context) error {
		got = varDigest{name: name}
		return c.svc.Get(ctx, &got, path, nil, nil)
	})
	if err != nil {
		return err
	}
	if !got.found {
		return rotation.Errorf(rotation.EINVALID, "Heroku app %s has no %s config var", app, name)
	}
	want := sha256.Sum256([]byte(value.Reveal()))
	if subtle.ConstantTimeCompare(got.sum[:], want[:]) != 1 {
		return rotation.Errorf(rotation.EINVALID, "Heroku app %s holds a different %s", app, name)
	}
	return nil
}

// Account returns the email of the account HEROKU_API_KEY belongs to; start-up
// checks call it to fail early on a bad key.
func (c *Consumer) Account(ctx context.Context) (string, error) {
	var email string
	err := c.call(ctx, "", "read", rotation.Secret{}, func(ctx context.Context) error {
		a, err := c.svc.AccountInfo(ctx)
		if err == nil {
			email = a.Email
		}
		return err
	})
	return email, err
}

// CheckApp checks that app exists and the key can see it, without reading its
// config (dry runs and `rotabot check`).
func (c *Consumer) CheckApp(ctx context.Context, app string) error {
	if app == "" {
		return checkArgs(app, "")
	}
	return c.call(ctx, app, "read", rotation.Secret{}, func(ctx context.Context) error {
		return c.svc.Get(ctx, io.Discard, "/apps/"+url.PathEscape(app), nil, nil)
	})
}

func checkApp(app string) error {
	if app == "" {
		return checkArgs(app, "")
	}
	return nil
}

func checkArgs(app, name string) error {
	switch {
	case app == "":
		return rotation.Errorf(rotation.EINVALID, "No Heroku app named: check heroku_apps in the routing matrix")
	case name == "":
		return rotation.Errorf(rotation.EINVALID, "No config var name given for Heroku app %s", app)
	}
	return nil
}

func configVarsPath(app string) string {
	return "/apps/" + url.PathEscape(app) + "/config-vars"
}

// call runs try at most maxTries times. It retries rate limits, 5xx answers and
// requests that got no answer, waiting what Heroku's Retry-After asks or a short
// exponential backoff, and never waits past ctx's deadline. value is only used to
// make sure no error cause repeats it.
func (c *Consumer) call(ctx context.Context, app, verb string, value rotation.Secret, try func(context.Context) error) error {
	return c.callTries(ctx, maxTries, app, verb, value, try)
}

// callTries is call with at most most tries (1: a request that must not be
// sent twice, such as one that makes a key).
func (c *Consumer) callTries(ctx context.Context, most int, app, verb string, value rotation.Secret, try func(context.Context) error) error {
	var (
		last  *rotation.Error
		asked time.Duration // Retry-After of the last answer
		tries int
	)
	if c.bad != nil {
		return c.bad
	}
	b := &waitPolicy{ctx: ctx, asked: &asked, exp: c.backoff()}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		tries++
		meta := &answer{}
		tctx, cancel := context.WithTimeout(context.WithValue(ctx, answerKey{}, meta), c.timeout)
		defer cancel()
		err := try(tctx)
		if err == nil {
			return struct{}{}, nil
		}
		e, retry := classify(ctx, app, verb, err, meta)
		scrub(e, value)
		last, asked = e, meta.retryAfter
		if !retry || ctx.Err() != nil {
			return struct{}{}, backoff.Permanent(e)
		}
		return struct{}{}, e
	},
		backoff.WithBackOff(b),
		backoff.WithMaxTries(uint(most)),
		backoff.WithMaxElapsedTime(0), // ctx bounds the call
		backoff.WithNotify(func(err error, wait time.Duration) {
			c.log.LogAttrs(ctx, slog.LevelWarn, "heroku: retrying",
				slog.String("app", app), slog.Int("try", tries), slog.Duration("wait", wait),
				slog.Int("status", statusOf(err)), slog.String("error", err.Error()))
		}),
	)
	if err == nil {
		return nil
	}
	if last != nil {
		// Retry gives back ctx's error when ctx ends during a wait; the last
		// answer says more.
		return last
	}
	return classifyCtx(ctx, app, err)
}

// waitPolicy waits what Heroku asked for, else backs off exponentially, and
// stops rather than wait past the deadline or longer than maxWait.
type waitPolicy struct {
	ctx   context.Context
	asked *time.Duration
	exp   *backoff.ExponentialBackOff
}

func (w *waitPolicy) Reset() { w.exp.Reset() }

func (w *waitPolicy) NextBackOff() time.Duration {
	d := *w.asked
	if d <= 0 {
		d = w.exp.NextBackOff()
	}
	if d > maxWait {
		return backoff.Stop
	}
	if dl, ok := w.ctx.Deadline(); ok && time.Until(dl) < d {
		return backoff.Stop
	}
	return d
}

// answer is what recorder saw of the last HTTP reply: heroku-go drops the
// response (and its headers) when it turns a non-2xx into an error.
type answer struct {
	status     int
	retryAfter time.Duration
	nextRange  string // Next-Range of a 206 Partial Content
	// from and to are the origins of a redirect Heroku answered (3xx).
	from, to egress.Origin
	// remaining is the account's RateLimit-Remaining (-1: not sent).
	remaining int
}

type answerKey struct{}

// recorder sits under heroku.Transport and notes the status and Retry-After of
// each reply in the request's answer. RoundTrip runs on the caller's goroutine.
type recorder struct{ base http.RoundTripper }

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if resp != nil {
		if a, ok := req.Context().Value(answerKey{}).(*answer); ok {
			a.status = resp.StatusCode
			a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), rotation.WallNow())
			if resp.StatusCode == http.StatusPartialContent {
				a.nextRange = resp.Header.Get("Next-Range")
			}
			if loc, lerr := resp.Location(); lerr == nil && resp.StatusCode/100 == 3 {
				a.from, a.to = egress.OriginOf(req.URL), egress.OriginOf(loc)
			}
			a.remaining = -1
			if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("RateLimit-Remaining"))); err == nil {
				a.remaining = n
			}
		}
	}
	return resp, err
}

func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// statusErr is the cause kept for logs: status, Heroku's error id and message.
type statusErr struct {
	status  int
	id, msg string
}

func (e *statusErr) Error() string {
	s := "heroku: " + strconv.Itoa(e.status)
	if e.id != "" {
		s += " " + e.id
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

func statusOf(err error) int {
	var se *statusErr
	if errors.As(err, &se) {
		return se.status
	}
	return 0
}

// classify turns the error of one try into a *rotation.Error and says whether
// another try may help. ctx is the caller's context, not the try's.
func classify(ctx context.Context, app, verb string, err error, a *answer) (*rotation.Error, bool) {
	forApp := ""
	if app != "" {
		forApp = " for app " + app
	}
	var done *rotation.Error
	if errors.As(err, &done) {
		return done, false // decided already (a scan's rate-limit budget)
	}
	status, cause := 0, error(nil)
	if from, to, ok := egress.Refusal(err); ok {
		// Checked first: the refusal travels in a *url.Error, which is a net.Error.
		return rotation.Wrap(rotation.EINVALID, err,
			"Heroku's answer%s pointed from %s to %s: rotabot sends HEROKU_API_KEY to HEROKU_API_URL's host only and did not follow it; check HEROKU_API_URL", forApp, from, to), false
	}
	if a.status/100 == 3 {
		// heroku-go never follows a redirect: it turns it into an error.
		to := "another address"
		if a.to != (egress.Origin{}) {
			to = a.to.String()
		}
		return rotation.Wrap(rotation.EINVALID, &statusErr{status: a.status},
			"Heroku's answer%s pointed from %s to %s (%d): rotabot sends HEROKU_API_KEY to HEROKU_API_URL's host only and did not follow it; check HEROKU_API_URL", forApp, a.from, to, a.status), false
	}
	var he heroku.Error
	switch {
	case errors.As(err, &he):
		status = he.StatusCode
		cause = &statusErr{status: status, id: he.ID, msg: he.Error()}
	case a.status != 0 && a.status/100 != 2:
		// A non-2xx whose body was not Heroku's JSON (a proxy's HTML page):
		// heroku-go then returns a plain error without the status.
		status = a.status
		cause = &statusErr{status: status}
	case a.status/100 == 2 && unreadable(err):
		// The answer arrived but could not be decoded. The decoder's text is
		// left out: it could quote a piece of the config.
		return rotation.Wrap(rotation.EUNAVAILABLE, fmt.Errorf("heroku: unreadable %d reply (%T)", a.status, err),
			"Heroku sent an answer rotabot cannot read%s: retry later", forApp), false
	}
	switch {
	case status == http.StatusUnauthorized:
		return rotation.Wrap(rotation.EUNAUTHORIZED, cause, "Heroku refused HEROKU_API_KEY%s (401): check the key", forApp), false
	case status == http.StatusForbidden:
		if app == "" {
			return rotation.Wrap(rotation.EFORBIDDEN, cause, "HEROKU_API_KEY may not do this (403): check the key's account"), false
		}
		return rotation.Wrap(rotation.EFORBIDDEN, cause,
			"HEROKU_API_KEY may not %s app %s (403): give the key's account access to the app (deploy permission), or use a key that has it", verb, app), false
	case status == http.StatusNotFound && app != "":
		return rotation.Wrap(rotation.ENOTFOUND, cause, "Heroku has no app %s (404): check the app's name, and that HEROKU_API_KEY's account can see it", app), false
	case status == http.StatusTooManyRequests:
		wait := a.retryAfter
		if wait <= 0 {
			wait = rateLimitWait
		}
		e := rotation.Wrap(rotation.EUNAVAILABLE, cause, "Heroku rate limit reached%s (429): retry in %s", forApp, words.HumanDuration(wait))
		e.RetryAfter = wait
		return e, true
	case status >= 500:
		e := rotation.Wrap(rotation.EUNAVAILABLE, cause, "Heroku is unavailable%s (%d): retry later", forApp, status)
		e.RetryAfter = a.retryAfter
		return e, true
	case status == http.StatusUnprocessableEntity:
		return rotation.Wrap(rotation.EINVALID, cause, "Heroku refused the request%s (422): see the bot's logs", forApp), false
	case status != 0:
		return rotation.Wrap(rotation.EINTERNAL, cause, "Heroku refused the request%s (%d): see the bot's logs", forApp, status), false
	}
	// No answer at all.
	if ctx.Err() != nil {
		return classifyCtx(ctx, app, err), false
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		// This try's own timeout: another may get through.
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "Heroku did not answer in time%s", forApp), true
	}
	return rotation.Wrap(rotation.EUNAVAILABLE, err, "Could not reach Heroku%s: retry later, or check HEROKU_API_URL", forApp), true
}

func unreadable(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, errNotObject)
}

var errNotObject = errors.New("heroku: config vars are not a JSON object")

// classifyCtx reports a call the caller's context ended.
func classifyCtx(ctx context.Context, app string, err error) *rotation.Error {
	forApp := ""
	if app != "" {
		forApp = " for app " + app
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return rotation.Wrap(rotation.EUNAVAILABLE, err, "Stopped waiting for Heroku%s: the step was cancelled", forApp)
	}
	return rotation.Wrap(rotation.EUNAVAILABLE, err, "Heroku did not answer in time%s", forApp)
}

// scrub drops the cause of e if it repeats any 8 characters of value in a row
// (a server echoing what it was sent). Messages are built from names only.
func scrub(e *rotation.Error, value rotation.Secret) {
	v := value.Reveal()
	if v == "" || e.Err == nil {
		return
	}
	text := e.Err.Error()
	if leaks(text, v) {
		e.Err = errors.New("heroku: cause withheld: it repeated the value")
	}
}

func leaks(text, v string) bool {
	const n = 8
	if len(v) <= n {
		return strings.Contains(text, v)
	}
	for i := 0; i+n <= len(v); i++ {
		if strings.Contains(text, v[i:i+n]) {
			return true
		}
	}
	return false
}

// varDigest decodes a config-vars object keeping only the SHA-256 of one var: the
// other vars, every one of them a possible secret, are skipped as they are read.
type varDigest struct {
	name  string
	found bool
	sum   [sha256.Size]byte
}

func (d *varDigest) UnmarshalJSON(b []byte) error {
	return decodeVarDigests(b, func(name string) bool { return name == d.name }, func(_ string, sum rotation.Digest) {
		d.found, d.sum = true, sum
	})
}
