package rotationtest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// ValidToken is a token the stand-in accepts and what Check must find out about it.
type ValidToken struct {
	Token string
	// Want is compared on Login, Kind and ExpiresAt (zero: never expires), and
	// on Scopes and Repos when they are set (Repos 0 is not compared).
	Want rotation.TokenInfo
}

// TokenCheckerHarness is what the TokenChecker suite needs from one
// implementation. The suite calls its newHarness once per case.
type TokenCheckerHarness struct {
	// Checker is the implementation under test, speaking to the stand-in.
	Checker rotation.TokenChecker
	// Fail makes the stand-in misbehave on the requests of op: OpCheck (the
	// "who is this token" request) or OpProbe (the probe path's requests).
	Fail func(op Op, f Fault)
	// Valid are tokens the stand-in accepts; the fault cases use the first.
	// The token is the credential here: a refused one is the 401 case.
	Valid []ValidToken
	// Refused is a well-formed token the stand-in refuses (unknown or revoked).
	Refused string
	// ProbePath is a workload probe the first valid token passes; MissingProbe
	// is one that answers 404 to it.
	ProbePath, MissingProbe string
	// ProbeMissingCode is the code Probe gives for MissingProbe (ENOTFOUND when
	// ""). An implementation may call it EINVALID: the routing matrix's probe is
	// what a person must fix.
	ProbeMissingCode string
	// RetryAfter is the wait the 429 cases ask for (DefaultRetryAfter when 0).
	RetryAfter time.Duration
	// Secrets are the credentials the harness uses: no error may repeat them.
	Secrets []string
	// Check's NotFound is its answer when the service has no such route (404 on
	// OpCheck: a wrong API URL); Probe's is for MissingProbe. Every field is used.
	Check, Probe Messages
}

// TokenChecker runs the contract suite of rotation.TokenChecker.
func TokenChecker(t *testing.T, newHarness func(t *testing.T) TokenCheckerHarness) {
	t.Helper()
	prepare := func(t *testing.T) (TokenCheckerHarness, []string) {
		t.Helper()
		h := newHarness(t)
		if len(h.Valid) == 0 {
			t.Fatal("the harness gives no valid token")
		}
		secrets := withSecrets(h.Secrets, h.Refused)
		for _, v := range h.Valid {
			secrets = append(secrets, v.Token)
		}
		return h, secrets
	}

	cases := []tcase{
		{"success", func(t *testing.T) {
			h, secrets := prepare(t)
			checkerSuccess(t, h, secrets)
		}},
		{"404/Check", func(t *testing.T) {
			h, secrets := prepare(t)
			h.Fail(OpCheck, Fault{Status: http.StatusNotFound})
			_, err := h.Checker.Check(context.Background(), rotation.NewSecret(h.Valid[0].Token))
			wantErr(t, "Check", err, rotation.ENOTFOUND, h.Check.NotFound, secrets)
		}},
		{"404/Probe", func(t *testing.T) {
			h, secrets := prepare(t)
			code := h.ProbeMissingCode
			if code == "" {
				code = rotation.ENOTFOUND
			}
			err := h.Checker.Probe(context.Background(), rotation.NewSecret(h.Valid[0].Token), h.MissingProbe)
			wantErr(t, "Probe", err, code, h.Probe.NotFound, secrets)
			if !errors.Is(err, rotation.ErrProbe) {
				t.Errorf("Probe's refusal does not carry rotation.ErrProbe: %v", err)
			}
		}},
	}
	for _, c := range checkerCalls() {
		cases = append(cases, checkerFaultCases(c, prepare)...)
	}
	runAll(t, cases)
}

// checkerCall is one call of the TokenChecker suite.
type checkerCall struct {
	name string
	op   Op
	msgs func(h TokenCheckerHarness) Messages
	do   func(ctx context.Context, h TokenCheckerHarness, token string) error
}

// checkerCalls are the calls each fault is tried on.
func checkerCalls() []checkerCall {
	return []checkerCall{
		{"Check", OpCheck, func(h TokenCheckerHarness) Messages { return h.Check },
			func(ctx context.Context, h TokenCheckerHarness, token string) error {
				_, err := h.Checker.Check(ctx, rotation.NewSecret(token))
				return err
			}},
		{"Probe", OpProbe, func(h TokenCheckerHarness) Messages { return h.Probe },
			func(ctx context.Context, h TokenCheckerHarness, token string) error {
				return h.Checker.Probe(ctx, rotation.NewSecret(token), h.ProbePath)
			}},
	}
}

// checkerSuccess checks every valid token and probes with the first.
func checkerSuccess(t *testing.T, h TokenCheckerHarness, secrets []string) {
	for _, v := range h.Valid {
		info, err := h.Checker.Check(context.Background(), rotation.NewSecret(v.Token))
		noErr(t, "Check", err, secrets)
		w := v.Want
		if info.Login != w.Login || info.Kind != w.Kind || !info.ExpiresAt.Equal(w.ExpiresAt) {
			t.Errorf("Check of a %s token: login %q kind %q expires %v; want %q %q %v",
				w.Kind, info.Login, info.Kind, info.ExpiresAt, w.Login, w.Kind, w.ExpiresAt)
		}
		if w.Scopes != nil && !slices.Equal(info.Scopes, w.Scopes) {
			t.Errorf("Check of a %s token: scopes %q, want %q", w.Kind, info.Scopes, w.Scopes)
		}
		if w.Repos != 0 && info.Repos != w.Repos {
			t.Errorf("Check of a %s token: repos %d, want %d", w.Kind, info.Repos, w.Repos)
		}
	}
	noErr(t, "Probe", h.Checker.Probe(context.Background(), rotation.NewSecret(h.Valid[0].Token), h.ProbePath), secrets)
}

// checkerFaultCases are c's cases under a refused token, 429s, 5xx and a hang.
func checkerFaultCases(c checkerCall, prepare func(t *testing.T) (TokenCheckerHarness, []string)) []tcase {
	return []tcase{
		tcase{"401/" + c.name, func(t *testing.T) {
			h, secrets := prepare(t)
			err := c.do(context.Background(), h, h.Refused)
			wantErr(t, c.name, err, rotation.EUNAUTHORIZED, c.msgs(h).Unauthorized, secrets)
			if c.op == OpProbe && !errors.Is(err, rotation.ErrProbe) {
				t.Errorf("Probe's refusal does not carry rotation.ErrProbe: %v", err)
			}
		}},
		tcase{"429 once/" + c.name, func(t *testing.T) {
			h, secrets := prepare(t)
			h.Fail(c.op, Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfterOr(h.RetryAfter), Times: 1})
			noErr(t, c.name+" after one 429", c.do(context.Background(), h, h.Valid[0].Token), secrets)
		}},
		tcase{"429 persistent/" + c.name, func(t *testing.T) {
			h, secrets := prepare(t)
			wait := retryAfterOr(h.RetryAfter)
			h.Fail(c.op, Fault{Status: http.StatusTooManyRequests, RetryAfter: wait})
			err := c.do(context.Background(), h, h.Valid[0].Token)
			wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).RateLimited, secrets)
			wantRetryAfter(t, c.name, err, wait)
		}},
		tcase{"5xx persistent/" + c.name, func(t *testing.T) {
			h, secrets := prepare(t)
			h.Fail(c.op, Fault{Status: ServerError})
			err := c.do(context.Background(), h, h.Valid[0].Token)
			wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).Unavailable, secrets)
		}},
		tcase{"hang/" + c.name, func(t *testing.T) {
			h, secrets := prepare(t)
			h.Fail(c.op, Fault{Hang: true})
			err := timed(t, c.name, func(ctx context.Context) error { return c.do(ctx, h, h.Valid[0].Token) })
			wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).Timeout, secrets)
		}},
	}
}

// RevokerHarness is what the Revoker suite needs from one implementation. The
// suite calls its newHarness once per case.
type RevokerHarness struct {
	// Revoker is the implementation under test, speaking to the stand-in.
	Revoker rotation.Revoker
	// Fail makes the stand-in misbehave on the requests of OpRevoke.
	Fail func(op Op, f Fault)
	// Token is a live token the stand-in accepts.
	Token string
	// Revoked reads back whether the stand-in has revoked token.
	Revoked func(token string) bool
	// Checker, when set, must answer EUNAUTHORIZED for Token once it is revoked:
	// that is how the engine confirms a revocation.
	Checker rotation.TokenChecker
	// RetryAfter is the wait the 429 cases ask for (DefaultRetryAfter when 0).
	RetryAfter time.Duration
	// Secrets are the credentials the harness uses: no error may repeat them.
	Secrets []string
	// Revoke are the messages Revoke must give. Unauthorized is not used: a
	// revocation carries no credential of the bot's (GitHub wants it
	// unauthenticated). NotFound is the answer when the service has no
	// revocation route (404 on OpRevoke).
	Revoke Messages
}

// Revoker runs the contract suite of rotation.Revoker.
func Revoker(t *testing.T, newHarness func(t *testing.T) RevokerHarness) {
	t.Helper()
	prepare := func(t *testing.T) (RevokerHarness, []string) {
		t.Helper()
		h := newHarness(t)
		if h.Revoked(h.Token) {
			t.Fatal("the harness's token is revoked already")
		}
		return h, withSecrets(h.Secrets, h.Token)
	}
	revoke := func(ctx context.Context, h RevokerHarness) error {
		return h.Revoker.Revoke(ctx, rotation.NewSecret(h.Token))
	}
	revoked := func(t *testing.T, h RevokerHarness, secrets []string) {
		t.Helper()
		if !h.Revoked(h.Token) {
			t.Fatal("the stand-in did not revoke the token")
		}
		if h.Checker != nil {
			_, err := h.Checker.Check(context.Background(), rotation.NewSecret(h.Token))
			if err != nil {
				NoLeak(t, err.Error(), secrets...)
			}
			if got := rotation.ErrorCode(err); got != rotation.EUNAUTHORIZED {
				t.Errorf("Check of the revoked token: %s %q, want %s", got, rotation.ErrorMessage(err), rotation.EUNAUTHORIZED)
			}
		}
	}
	notRevoked := func(t *testing.T, h RevokerHarness) {
		t.Helper()
		if h.Revoked(h.Token) {
			t.Error("the token was revoked although Revoke failed")
		}
	}
	runAll(t, []tcase{
		{"success", func(t *testing.T) {
			h, secrets := prepare(t)
			noErr(t, "Revoke", revoke(context.Background(), h), secrets)
			revoked(t, h, secrets)
		}},
		{"404", func(t *testing.T) {
			h, secrets := prepare(t)
			h.Fail(OpRevoke, Fault{Status: http.StatusNotFound})
			wantErr(t, "Revoke", revoke(context.Background(), h), rotation.ENOTFOUND, h.Revoke.NotFound, secrets)
			notRevoked(t, h)
		}},
		{"429 once", func(t *testing.T) {
			h, secrets := prepare(t)
			h.Fail(OpRevoke, Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfterOr(h.RetryAfter), Times: 1})
			noErr(t, "Revoke after one 429", revoke(context.Background(), h), secrets)
			revoked(t, h, secrets)
		}},
		{"429 persistent", func(t *testing.T) {
			h, secrets := prepare(t)
			wait := retryAfterOr(h.RetryAfter)
			h.Fail(OpRevoke, Fault{Status: http.StatusTooManyRequests, RetryAfter: wait})
			err := revoke(context.Background(), h)
			wantErr(t, "Revoke", err, rotation.EUNAVAILABLE, h.Revoke.RateLimited, secrets)
			wantRetryAfter(t, "Revoke", err, wait)
			notRevoked(t, h)
		}},
		{"5xx persistent", func(t *testing.T) {
			h, secrets := prepare(t)
			h.Fail(OpRevoke, Fault{Status: ServerError})
			wantErr(t, "Revoke", revoke(context.Background(), h), rotation.EUNAVAILABLE, h.Revoke.Unavailable, secrets)
			notRevoked(t, h)
		}},
		{"hang", func(t *testing.T) {
			h, secrets := prepare(t)
			h.Fail(OpRevoke, Fault{Hang: true})
			err := timed(t, "Revoke", func(ctx context.Context) error { return revoke(ctx, h) })
			wantErr(t, "Revoke", err, rotation.EUNAVAILABLE, h.Revoke.Timeout, secrets)
		}},
	})
}
