package infisical

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	sdkerrors "github.com/infisical/go-sdk/packages/errors"

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
	apiMsg     string // Infisical's "message"
	retryAfter time.Duration
	timeout    bool // ctx's deadline passed before an answer
	canceled   bool // ctx was cancelled
	network    bool // the SDK could not complete the request (it already retried)
	text       string
}

func (f *failure) Error() string { return f.text }

// classify reads an SDK error. ctx is the call's context: an SDK call that ignores
// ctx is abandoned by await, which reports ctx's error.
func classify(ctx context.Context, err error, o op) *failure {
	text := err.Error()
	if v := o.value.Reveal(); v != "" {
		text = strings.ReplaceAll(text, v, "[redacted]")
	}
	f := &failure{text: "infisical: " + text}
	var api *sdkerrors.APIError
	var req *sdkerrors.RequestError
	switch {
	case errors.As(err, &api):
		f.status, f.apiMsg = api.StatusCode, api.ErrorMessage
		if f.status == 429 {
			f.retryAfter = waitIn(api.ErrorMessage)
		}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		f.timeout = true
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		f.canceled = true
	case errors.As(err, &req):
		f.network = true
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
	case f.status == 401:
		return wrap(rotation.EUNAUTHORIZED, "Infisical refused the machine identity's access token (401) while %s: check INFISICAL_CLIENT_ID/INFISICAL_CLIENT_SECRET", o.what())
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

// notFound words a 404 by what Infisical said was missing: the project, the
// environment, the folder, or the secret (or its version).
func (v *Vault) notFound(o op, f *failure) *rotation.Error {
	msg, ref := strings.ToLower(f.apiMsg), o.ref
	switch {
	case strings.Contains(msg, "folder"):
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no folder %s in %s: create it in the project", folderPath(ref.Path), ref.Environment)
	case strings.Contains(msg, "environment"):
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no environment %s in project %s: check the vault environment", ref.Environment, v.projectID)
	case strings.Contains(msg, "project"):
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no project %s: check INFISICAL_PROJECT_ID", v.projectID)
	case o.create: // a create cannot miss the secret itself: its folder is missing
		return rotation.Wrap(rotation.ENOTFOUND, f, "Infisical has no folder %s in %s: create it in the project", folderPath(ref.Path), ref.Environment)
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

// run makes one SDK call, retrying what may pass — 429 (after the wait Infisical
// names), 5xx, and a 401 once after logging in again — at most v.maxTries times in
// all, and never past ctx's deadline. Every error it returns is a *rotation.Error.
func run[T any](ctx context.Context, v *Vault, o op, fn func() (T, error)) (T, error) {
	var last *rotation.Error
	relogged := false
	attempt := func() (T, error) {
		res, err := await(ctx, fn)
		if err == nil {
			return res, nil
		}
		f := classify(ctx, err, o)
		last = v.fail(o, f)
		switch {
		case f.status == 401 && !o.login && !relogged:
			// The token was revoked, or expired without the SDK renewing it.
			relogged = true
			if lerr := v.login(ctx); lerr != nil {
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
		last = v.fail(o, classify(ctx, err, o))
	}
	return res, last
}

// await runs fn, which cannot be given ctx (the SDK builds its requests without
// one), and gives up when ctx ends. An abandoned call finishes on its own in the
// background and its result is dropped; a write it carried may still land.
func await[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		select {
		case r := <-done:
			return r.v, r.err
		default:
		}
		var zero T
		return zero, ctx.Err()
	}
}

// waitThen carries both the wait backoff.Retry honours and the error to report if
// the tries run out.
type waitThen struct {
	after *backoff.RetryAfterError
	err   *rotation.Error
}

func (w waitThen) Error() string   { return w.err.Error() }
func (w waitThen) Unwrap() []error { return []error{w.after, w.err} }
