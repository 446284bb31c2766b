package rotation

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are stable words: handlers map them to how a refusal looks.
const (
	EINVALID      = "invalid"      // the input is wrong; the person can fix it
	EFORBIDDEN    = "forbidden"    // this person may not do this
	ECONFLICT     = "conflict"     // the run moved on, or another run is open
	ENOTFOUND     = "not_found"    // no such run, secret or destination
	EUNAUTHORIZED = "unauthorized" // a credential was refused (401)
	EUNAVAILABLE  = "unavailable"  // an outside service is down or rate limited; retry later
	EINTERNAL     = "internal"     // a bug or something unexpected; see logs
)

// Error is the one error type whose message is fit to show a person. Its Message
// never holds a token or internal detail; Err keeps the cause for logs (and must
// not hold a token either: adapters build it from status codes and API messages).
type Error struct {
	Code    string
	Message string
	// RetryAfter is how long an outside service asked us to wait (EUNAVAILABLE).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a message for people.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with a message for people and err kept as the cause.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns what a person may be shown for err: the Message of the first
// *Error in its chain, or a generic line for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if err == nil {
		return ""
	}
	return "internal error, see the bot's logs"
}

// RetryAfter returns the wait an outside service asked for, if err carries one.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Sentinel errors: decisions read these with errors.Is, never a message's text.
// An *Error carries one as its Err when the refusal has a meaning of its own.
var (
	// ErrRevokeSent: a revoke of the old token was attempted (either revoke
	// button: the old token may have gone to GitHub's revoke endpoint, or been
	// deleted by hand), so rollback is impossible.
	ErrRevokeSent = errors.New("a revoke of the old token was attempted")
	// ErrOldTokenDead: GitHub answers 401 for the old token, so rolling back would
	// put a dead token on every consumer.
	ErrOldTokenDead = errors.New("the old token is dead")
	// ErrClaimLost: this process no longer holds the run's claim (another took the
	// run over, or renewing failed): it must stop writing.
	ErrClaimLost = errors.New("the claim on the run was lost")
	// ErrSelfApproval: the requester or the submitter tried to approve their own run.
	ErrSelfApproval = errors.New("self-approval")
	// ErrProbe: the workload probe did not pass with the token, for a reason the
	// error's message names, probe included (TokenChecker.Probe).
	ErrProbe = errors.New("workload probe")
	// ErrMovedOn: the transition table has no such move from the run's state
	// now — the gesture's moment has passed (Next).
	ErrMovedOn = errors.New("the run has moved on")
	// ErrWatchMatched: a log watch saw a GitHub authentication failure, so the run
	// failed verify and what was asked (a revoke) was not done.
	ErrWatchMatched = errors.New("a log watch matched")
	// ErrOpenRunDiffers: the secret's open run is not the one a CLI invocation
	// would carry on (a Slack run, another value, another vault folder, or past
	// the point where its destinations may change); abandon it to start afresh.
	ErrOpenRunDiffers = errors.New("the secret's open run means something else")
)
