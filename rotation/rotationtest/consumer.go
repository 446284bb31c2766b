package rotationtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// ConsumerHarness is what the Consumer suite needs from one implementation. The
// suite calls its newHarness once per case, so each case has a stand-in of its own.
type ConsumerHarness struct {
	// Consumer is the implementation under test, speaking to the stand-in.
	Consumer rotation.Consumer
	// BadCredentials returns the same kind of Consumer, on the same stand-in,
	// with a credential the stand-in refuses.
	BadCredentials func() rotation.Consumer
	// Fail makes the stand-in misbehave on the requests of op: OpSet (the
	// write) or OpVerify (the read-back).
	Fail func(op Op, f Fault)
	// Held returns what the stand-in holds under name on target, as whoever
	// consumes it would read it (an Actions secret decrypted with the
	// repository's private key).
	Held func(target, name string) (value string, ok bool)
	// Target exists on the stand-in; Missing does not.
	Target, Missing string
	// Name is the variable the suite writes.
	Name string
	// RetryAfter is the wait the 429 cases ask for (DefaultRetryAfter when 0);
	// a persistent 429 must hand it back as the error's RetryAfter.
	RetryAfter time.Duration
	// Secrets are the credentials the harness uses: no error may repeat them.
	Secrets []string
	// Set and Verify are the messages each call must give. Every field is used.
	Set, Verify Messages
	// Now is the stand-in's clock, which a Verify's since is read from (default
	// rotation.WallNow): a stand-in held at a fixed time dates its writes by it.
	Now func() time.Time
}

func (h ConsumerHarness) now() time.Time {
	if h.Now == nil {
		return rotation.WallNow()
	}
	return h.Now()
}

// Consumer runs the contract suite of rotation.Consumer.
func Consumer(t *testing.T, newHarness func(t *testing.T) ConsumerHarness) {
	t.Helper()
	type call struct {
		name string
		op   Op
		msgs func(h ConsumerHarness) Messages
		// do makes the call on target with value. Before a Verify, the suite has
		// set value on h.Target.
		do func(ctx context.Context, c rotation.Consumer, h ConsumerHarness, target, value string, since time.Time) error
	}
	calls := []call{
		{"Set", OpSet, func(h ConsumerHarness) Messages { return h.Set },
			func(ctx context.Context, c rotation.Consumer, h ConsumerHarness, target, value string, _ time.Time) error {
				return c.Set(ctx, target, h.Name, rotation.NewSecret(value))
			}},
		{"Verify", OpVerify, func(h ConsumerHarness) Messages { return h.Verify },
			func(ctx context.Context, c rotation.Consumer, h ConsumerHarness, target, value string, since time.Time) error {
				return c.Verify(ctx, target, h.Name, rotation.NewSecret(value), since)
			}},
	}
	// prepare makes a harness and a value, and for a Verify sets the value first,
	// with no fault yet.
	prepare := func(t *testing.T, c call) (h ConsumerHarness, value string, since time.Time, secrets []string) {
		t.Helper()
		h = newHarness(t)
		value = NewToken()
		secrets = withSecrets(h.Secrets, value)
		since = h.now()
		if c.op == OpVerify {
			noErr(t, "Set before Verify", h.Consumer.Set(context.Background(), h.Target, h.Name, rotation.NewSecret(value)), secrets)
		}
		return h, value, since, secrets
	}

	cases := []tcase{{"success", func(t *testing.T) {
		h := newHarness(t)
		ctx := context.Background()
		for i, v := range []string{NewToken(), NewToken()} { // the second overwrites the first
			secrets := withSecrets(h.Secrets, v)
			since := h.now()
			noErr(t, "Set", h.Consumer.Set(ctx, h.Target, h.Name, rotation.NewSecret(v)), secrets)
			if got, ok := h.Held(h.Target, h.Name); !ok || got != v {
				t.Fatalf("write %d: the stand-in holds the value written: %v (held: %v)", i+1, got == v, ok)
			}
			noErr(t, "Verify", h.Consumer.Verify(ctx, h.Target, h.Name, rotation.NewSecret(v), since), secrets)
		}
	}}}

	for _, c := range calls {
		cases = append(cases,
			tcase{"401/" + c.name, func(t *testing.T) {
				h, value, since, secrets := prepare(t, c)
				err := c.do(context.Background(), h.BadCredentials(), h, h.Target, value, since)
				wantErr(t, c.name, err, rotation.EUNAUTHORIZED, c.msgs(h).Unauthorized, secrets)
				if got, _ := h.Held(h.Target, h.Name); c.op == OpSet && got == value {
					t.Error("a Set with a refused credential wrote the value")
				}
			}},
			tcase{"404/" + c.name, func(t *testing.T) {
				h, value, since, secrets := prepare(t, c)
				err := c.do(context.Background(), h.Consumer, h, h.Missing, value, since)
				wantErr(t, c.name, err, rotation.ENOTFOUND, c.msgs(h).NotFound, secrets)
				if _, ok := h.Held(h.Missing, h.Name); ok {
					t.Errorf("the stand-in holds %s on the missing target", h.Name)
				}
			}},
			tcase{"429 once/" + c.name, func(t *testing.T) {
				h, value, since, secrets := prepare(t, c)
				h.Fail(c.op, Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfterOr(h.RetryAfter), Times: 1})
				noErr(t, c.name+" after one 429", c.do(context.Background(), h.Consumer, h, h.Target, value, since), secrets)
				if got, ok := h.Held(h.Target, h.Name); !ok || got != value {
					t.Errorf("the stand-in holds the value written: %v (held: %v)", got == value, ok)
				}
			}},
			tcase{"429 persistent/" + c.name, func(t *testing.T) {
				h, value, since, secrets := prepare(t, c)
				wait := retryAfterOr(h.RetryAfter)
				h.Fail(c.op, Fault{Status: http.StatusTooManyRequests, RetryAfter: wait})
				err := c.do(context.Background(), h.Consumer, h, h.Target, value, since)
				wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).RateLimited, secrets)
				wantRetryAfter(t, c.name, err, wait)
			}},
			tcase{"5xx persistent/" + c.name, func(t *testing.T) {
				h, value, since, secrets := prepare(t, c)
				h.Fail(c.op, Fault{Status: ServerError})
				err := c.do(context.Background(), h.Consumer, h, h.Target, value, since)
				wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).Unavailable, secrets)
			}},
			tcase{"hang/" + c.name, func(t *testing.T) {
				h, value, since, secrets := prepare(t, c)
				h.Fail(c.op, Fault{Hang: true})
				err := timed(t, c.name, func(ctx context.Context) error {
					return c.do(ctx, h.Consumer, h, h.Target, value, since)
				})
				wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).Timeout, secrets)
			}},
		)
	}
	runAll(t, cases)
}
