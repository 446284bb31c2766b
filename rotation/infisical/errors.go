package infisical

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/go-resty/resty/v2"
	sdkerrors "github.com/infisical/go-sdk/packages/errors"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// op names one Vault call for the messages people see. Only value holds a secret,
// and only so that it can be scrubbed from causes; it is never printed.
type op struct {
	login   bool
	verb    string // "read", "write to", "delete from": what a 403 forbids
	doing   string // "reading", "writing", "deleting"
	ref     rotation.VaultRef
	version int  // a read of an old version
	create  bool // the write is creating the secret
	value   rotation.Secret
}

// where is "GH_TOKEN at /MooseQuest/github/ in prod".
func (o op) where() string {
	return fmt.Sprintf("%s at %s in %s", o.ref.Key, folderPath(o.ref.Path), o.ref.Environment)
}

// what is "reading GH_TOKEN at /MooseQuest/github/ in prod", or "logging in".
func (o op) what() string {
	switch {
	case o.login:
		return "logging in"
	case o.version > 0:
		return fmt.Sprintf("reading version %d of %s", o.version, o.where())
	}
	return o.doing + " " + o.where()
}

// failure is what went wrong with one SDK call. It is the cause kept in a
// *rotation.Error's Err, for logs: its text is the SDK's error with any value the
// call carried scrubbed out.
type failure struct {
	status     int    // the HTTP status; 0 when no answer came back
	apiName    string // Infisical's "error": a class or an operation name
	apiMsg     string // Infisical's "message"
	retryAfter time.Duration
	timeout    bool // ctx's deadline passed before an answer
	canceled   bool // ctx was cancelled
	network    bool // the request could not be completed
	refused    bool // package egress stopped it: a redirect or a URL off the site's host
	from, to   egress.Origin
	text       string
}

func (f *failure) Error() string { return f.text }

// tokenRefused reports whether Infisical refused the access token itself: 401, or
// 403 TokenError (an expired or malformed token: error-handler.ts answers jwt
// errors with 403). Logging in again may help.
func (f *failure) tokenRefused() bool {
	return f.status == 401 || f.status == 403 && f.apiName == "TokenError"
}

// notMember reports whether Infisical said the identity is not in the project:
// 403 ProjectMembershipNotFound (permission-service.ts), or, from older servers,
// 403 whose "error" is "Identity is not a member of the specified project…".
func (f *failure) notMember() bool {
	return f.status == 403 && (f.apiName == "ProjectMembershipNotFound" ||
		strings.HasPrefix(f.apiName, "Identity is not a member of the specified project"))
}

// read keeps the server's error structure: {"statusCode","error","message"}.
func (x *exchange) read(status int, body []byte) {
	x.status = status
	var e struct {
		Error   string          `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return
	}
	x.name = e.Error
	var msg string
	if json.Unmarshal(e.Message, &msg) == nil {
		x.message = msg
	}
}

// classify reads an SDK error and what the call met on the wire. ctx is the
// call's context.
func classify(ctx context.Context, err error, x *exchange, o op) *failure {
	text := err.Error()
	if v := o.value.Reveal(); v != "" {
		text = strings.ReplaceAll(text, v, "[redacted]")
	}
	f := &failure{text: "infisical: " + text}
	var api *sdkerrors.APIError
	var req *sdkerrors.RequestError
	if x != nil && x.refused != nil {
		f.refused = true
		f.from, f.to, _ = egress.Refusal(x.refused)
		return f
	}
	switch {
	case errors.As(err, &api):
		f.status, f.apiMsg = api.StatusCode, api.ErrorMessage
		if x != nil && x.status == api.StatusCode {
			f.apiName = x.name
			if x.message != "" {
				f.apiMsg = x.message
			}
		}
		if f.status == 429 {
			f.retryAfter = waitIn(f.apiMsg)
		}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		f.timeout = true
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		f.canceled = true
	case errors.As(err, &req):
		var ne net.Error
		if strings.Contains(text, "Client.Timeout exceeded") || errors.As(err, &ne) && ne.Timeout() {
			f.timeout = true
		} else {
			f.network = true
		}
	}
	return f
}

// retryIn finds the wait in Infisical's 429 message, "Rate limit exceeded. Please
// try again in 42 seconds". The SDK drops the reply's headers, Retry-After
// included, so the message is the only place the wait can be read.
var retryIn = regexp.MustCompile(`(?i)try again in (\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\b`)

func waitIn(msg string) time.Duration {
	m := retryIn.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil || n <= 0 {
		return 0
	}
	unit := time.Second
	switch u := strings.ToLower(m[2]); {
	case strings.HasPrefix(u, "ms") || strings.HasPrefix(u, "milli"):
		unit = time.Millisecond
	case strings.HasPrefix(u, "m"):
		unit = time.Minute
	}
	return time.Duration(n * float64(unit))
}

// fail turns a failure into the *rotation.Error people see.
func (v *Vault) fail(o op, f *failure) *rotation.Error {
	wrap := func(code, format string, args ...any) *rotation.Error {
		return rotation.Wrap(code, f, format, args...)
	}
	ref := o.ref
	switch {
	case f.refused:
		return wrap(rotation.EINVALID,
			"Infisical's answer while %s pointed from %s to %s: rotabot sends the machine identity's credentials to INFISICAL_SITE_URL's host only and did not follow it; check INFISICAL_SITE_URL (a proxy?)",
			o.what(), f.from, f.to)
	case f.timeout:
		return wrap(rotation.EUNAVAILABLE, "Infisical did not answer in time while %s: try again later", o.what())
	case f.canceled:
		return wrap(rotation.EUNAVAILABLE, "The bot stopped waiting for Infisical while %s: try again", o.what())
	case f.network:
		return wrap(rotation.EUNAVAILABLE, "Infisical at %s could not be reached while %s: check INFISICAL_SITE_URL, or try again later", v.site, o.what())
	case f.status == 0:
		return wrap(rotation.EINTERNAL, "Infisical's client failed while %s: see the bot's logs", o.what())
	case o.login && (f.status == 401 || f.status == 403):
		return wrap(rotation.EUNAUTHORIZED, "Infisical refused INFISICAL_CLIENT_ID/INFISICAL_CLIENT_SECRET (%d): check the machine identity", f.status)
	case o.login && f.status == 404:
		return wrap(rotation.EINVALID, "Infisical at %s has no universal-auth login (404): check INFISICAL_SITE_URL", v.site)
	case f.tokenRefused():
		return wrap(rotation.EUNAUTHORIZED, "Infisical refused the machine identity's access token (%d) while %s: check INFISICAL_CLIENT_ID/INFISICAL_CLIENT_SECRET", f.status, o.what())
	case f.notMember():
		return wrap(rotation.EFORBIDDEN, "The machine identity is not a member of Infisical project %s (403): add it to the project (Access Control → Machine Identities), or check INFISICAL_PROJECT_ID", v.projectID)
	case f.status == 403:
		return wrap(rotation.EFORBIDDEN, "The machine identity may not %s %s in %s (Infisical answered 403 for %s): grant it access there in Infisical",
			o.verb, folderPath(ref.Path), ref.Environment, ref.Key)
	case f.status == 404:
		return v.notFound(o, f)
	case f.status == 429:
		e := wrap(rotation.EUNAVAILABLE, "Infisical is rate limiting the bot (429) while %s: try again later", o.what())
		if f.retryAfter > 0 {
			e.Message = fmt.Sprintf("Infisical is rate limiting the bot (429) while %s: try again in %s", o.what(), f.retryAfter)
			e.RetryAfter = f.retryAfter
		}
		return e
	case f.status >= 500:
		return wrap(rotation.EUNAVAILABLE, "Infisical failed (%d) while %s: try again later", f.status, o.what())
	case o.login:
		return wrap(rotation.EINVALID, "Infisical refused the login (%d): see the bot's logs for its reason", f.status)
	}
	return wrap(rotation.EINVALID, "Infisical refused %s (%d): see the bot's logs for its reason", o.what(), f.status)
}

// The sentences Infisical's server builds for a 404 (secret-v2-bridge-service.ts,
// project-bot-fns.ts, permission-service.ts). Each is matched from its first
// word, so a quoted name inside one — a secret called GH_PROJECT_TOKEN — cannot
// make it read as another.
var (
	projectMissing = regexp.MustCompile(`^Project with (ID )?'?[^ ']*'? not found`)
	folderMissing  = regexp.MustCompile(`^(Folder with path '.*' (in|not found in) environment|Secret path with path '.*' not found in environment|Folder not found for the given environment)`)
	envMissing     = regexp.MustCompile(`^Environment with slug '[^']*' in project`)
	secretMissing  = regexp.MustCompile(`^(Secret with name |Secret not found$|Secret named )`)
)

// notFound words a 404 by what Infisical said was missing: the project, the folder
// (an unknown environment reads the same: the server finds both in one lookup),
// the environment, or the secret (or its version).
func (v *Vault) notFound(o op, f *failure) *rotation.Error {
	msg, ref := f.apiMsg, o.ref
	folder := func() *rotation.Error {
		return rotation.Wrap(rotation.ENOTFOUND, f,
			"Infisical has no folder %s in environment %s: check vault.environment (the environment's slug, e.g. prod) and that the folder exists there",
			folderPath(ref.Path), ref.Environment)
	}
	switch {
	case projectMissing.MatchString(msg):
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no project %s: check INFISICAL_PROJECT_ID", v.projectID)
	case folderMissing.MatchString(msg):
		return folder()
	case envMissing.MatchString(msg):
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no environment %s in project %s: check vault.environment (the environment's slug, e.g. prod)", ref.Environment, v.projectID)
	case secretMissing.MatchString(msg) && o.version > 0:
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no version %d of %s", o.version, o.where())
	case secretMissing.MatchString(msg):
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no secret %s", o.where())
	case o.create: // a create cannot miss the secret itself: its folder is missing
		return folder()
	case o.version > 0:
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no version %d of %s", o.version, o.where())
	}
	return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no secret %s", o.where())
}

// status returns the HTTP status behind err, 0 when there is none.
func status(err error) int {
	var f *failure
	if errors.As(err, &f) {
		return f.status
	}
	return 0
}

// run makes one SDK call through a resty client made for it (Vault.rest),
// retrying what may pass — 429 (after the wait Infisical names), 5xx, and a
// refused access token once after logging in again — at most v.maxTries times in
// all, and never past ctx's deadline. Every error it returns is a *rotation.Error.
func run[T any](ctx context.Context, v *Vault, o op, fn func(rc *resty.Client) (T, error)) (T, error) {
	var last *rotation.Error
	relogged := false
	attempt := func() (T, error) {
		x := &exchange{}
		var token rotation.Secret
		gen := 0
		if !o.login {
			token, gen = v.access()
		}
		var res T
		err := ctx.Err()
		if err == nil {
			res, err = fn(v.rest(ctx, x, token))
		}
		if err == nil {
			return res, nil
		}
		f := classify(ctx, err, x, o)
		last = v.fail(o, f)
		switch {
		case f.tokenRefused() && !o.login && !relogged:
			// The token was revoked, or expired (Infisical says 403 TokenError).
			relogged = true
			if lerr := v.login(ctx, gen); lerr != nil {
				errors.As(lerr, &last)
				return res, backoff.Permanent(lerr)
			}
			return res, waitThen{after: &backoff.RetryAfterError{}, err: last}
		case f.status == 429 && f.retryAfter > 0:
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= f.retryAfter {
				return res, backoff.Permanent(last)
			}
			return res, waitThen{after: &backoff.RetryAfterError{Duration: f.retryAfter}, err: last}
		case f.status == 429 || f.status >= 500:
			return res, last
		}
		return res, backoff.Permanent(last)
	}
	res, err := backoff.Retry(ctx, attempt,
		backoff.WithMaxTries(v.maxTries),
		backoff.WithBackOff(v.newBackOff()),
		backoff.WithMaxElapsedTime(0))
	if err == nil {
		return res, nil
	}
	if last == nil {
		last = v.fail(o, classify(ctx, err, nil, o))
	}
	return res, last
}

// waitThen carries both the wait backoff.Retry honours and the error to report if
// the tries run out.
type waitThen struct {
	after *backoff.RetryAfterError
	err   *rotation.Error
}

func (w waitThen) Error() string   { return w.err.Error() }
func (w waitThen) Unwrap() []error { return []error{w.after, w.err} }
