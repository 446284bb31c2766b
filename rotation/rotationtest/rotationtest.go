// Package rotationtest holds the contract suites of rotation's ports: one suite per
// interface (Consumer, Vault, TokenChecker, Revoker), run by the test of every
// implementation against its stand-in (litestream's replica_client_test.go). Each
// suite takes a harness the implementation's test fills in — the implementation,
// ways to make its stand-in misbehave, a way to read back what the stand-in holds,
// and the exact message a person must be shown in each case — and checks the same
// cases everywhere: success, a refused credential (401), a missing target (404), a
// 429 with Retry-After once (retried, then success) and on every try, a 5xx on every
// try, and a hang past the deadline. Every error must carry the expected code and
// message and must not repeat any token. Beside the suites are MemVault and
// MemGitHub, the small in-memory fakes of the vault and of GitHub that the
// engine's tests and the background services' share (fakes.go).
//
// It must not know about any adapter, SDK or stand-in: it imports rotation, testing
// and the standard library only, so that every implementation can be held to it and
// none can bend it.
package rotationtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// Op names the requests of one kind of call, for a harness's Fail.
type Op string

const (
	OpSet    Op = "set"    // Consumer.Set: the write
	OpVerify Op = "verify" // Consumer.Verify: the read-back
	OpRead   Op = "read"   // Vault.Read and Vault.ReadVersion
	OpWrite  Op = "write"  // Vault.Write (updating an existing secret)
	OpDelete Op = "delete" // Vault.Delete
	OpCheck  Op = "check"  // TokenChecker.Check: "who is this token" (GET /user)
	OpProbe  Op = "probe"  // TokenChecker.Probe: the workload probe
	OpRevoke Op = "revoke" // Revoker.Revoke
)

// Fault is how a stand-in must misbehave on the requests of one Op. A harness turns
// it into its stand-in's own fault; it applies until the test ends unless Times says
// otherwise.
type Fault struct {
	// Status, when not 0, is answered instead of the real reply, in the API's
	// error shape.
	Status int
	// RetryAfter, when > 0, is the wait the reply asks for, the way the API says
	// it (a Retry-After header, or the words of its message).
	RetryAfter time.Duration
	// Hang leaves every request unanswered until the client gives up.
	Hang bool
	// Times is how many requests the fault applies to; 0 means every one.
	Times int
}

// Messages are the exact texts a person is shown (rotation.ErrorMessage) when one
// call fails in each case. They differ per API and per call; the harness spells
// them out and the suite asserts equality. Which fields a suite reads is said on
// its harness.
type Messages struct {
	Unauthorized string // the credential was refused (401): EUNAUTHORIZED
	NotFound     string // the target does not exist (404): ENOTFOUND
	RateLimited  string // 429 with Retry-After on every try: EUNAVAILABLE
	Unavailable  string // ServerError on every try: EUNAVAILABLE
	Timeout      string // no answer before the deadline: EUNAVAILABLE
}

const (
	// ServerError is the 5xx the suites inject.
	ServerError = 503
	// Deadline is the context deadline of the hang cases.
	Deadline = 300 * time.Millisecond
	// Margin is how long past Deadline a call in a hang case may take to return.
	// It is generous on purpose: the check is that the call gives up, not how
	// fast; the time taken is logged.
	Margin = 2 * time.Second
	// DefaultRetryAfter is the wait the 429 cases ask for when a harness sets
	// none: the shortest a Retry-After in whole seconds can say.
	DefaultRetryAfter = time.Second
)

// publicPrefixes are token prefixes every token of a kind shares: a window of
// characters lying wholly inside one says nothing about the token.
var publicPrefixes = rotation.PublicPrefixes

// NoLeak fails t if text holds any 8 characters in a row of any of tokens (what
// counts as a leak). A window lying wholly inside a token's public prefix (github_pat_,
// ghp_, xoxb-, …) is not counted: a message may name the kind of token. Tokens
// shorter than 8 characters must not appear whole.
func NoLeak(t testing.TB, text string, tokens ...string) {
	t.Helper()
	const n = 8
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		if len(tok) <= n {
			if strings.Contains(text, tok) {
				t.Fatalf("the text holds a whole token of %d characters", len(tok))
			}
			continue
		}
		skip := 0
		for _, p := range publicPrefixes {
			if strings.HasPrefix(tok, p) {
				skip = len(p)
				break
			}
		}
		for i := 0; i+n <= len(tok); i++ {
			if i+n <= skip {
				continue
			}
			if strings.Contains(text, tok[i:i+n]) {
				t.Fatalf("the text holds part of a token (characters %d to %d of %d)", i, i+n, len(tok))
			}
		}
	}
}

// NewToken returns a fresh value shaped like a fine-grained GitHub token, unique to
// the call, for a suite to write and then look for in what comes back.
func NewToken() string {
	b := make([]byte, 36)
	_, _ = rand.Read(b)
	return rotation.PrefixFineGrained + "11RTEST" + hex.EncodeToString(b)
}

// wantErr checks err's code, the exact message a person sees, and that neither its
// text nor its formatted forms hold any of secrets. It logs the message, so that
// `go test -v` shows what a person would read.
func wantErr(t *testing.T, call string, err error, code, msg string, secrets []string) {
	t.Helper()
	if msg == "" {
		t.Fatalf("%s: the harness gives no expected message for this case", call)
	}
	if err == nil {
		t.Fatalf("%s: no error, want %s %q", call, code, msg)
	}
	NoLeak(t, err.Error(), secrets...)
	NoLeak(t, fmt.Sprintf("%v|%+v|%#v", err, err, err), secrets...)
	if got := rotation.ErrorCode(err); got != code {
		t.Errorf("%s: code = %q, want %q (%v)", call, got, code, err)
	}
	got := rotation.ErrorMessage(err)
	if got != msg {
		t.Errorf("%s: a person sees\n  %q\nwant\n  %q", call, got, msg)
	}
	t.Logf("%s: %s: a person sees %q", call, rotation.ErrorCode(err), got)
}

// wantRetryAfter checks the wait a persistent 429 hands back.
func wantRetryAfter(t *testing.T, call string, err error, want time.Duration) {
	t.Helper()
	if got := rotation.RetryAfter(err); got != want {
		t.Errorf("%s: RetryAfter = %v, want %v (what the service asked for)", call, got, want)
	}
}

// noErr fails t when a call that must succeed did not, showing only what a person
// would see and checking that no secret leaks through it.
func noErr(t *testing.T, call string, err error, secrets []string) {
	t.Helper()
	if err != nil {
		NoLeak(t, err.Error(), secrets...)
		t.Fatalf("%s: %s %q", call, rotation.ErrorCode(err), rotation.ErrorMessage(err))
	}
}

// timed runs call with a context whose deadline is Deadline away and checks that
// it returns within Deadline+Margin.
func timed(t *testing.T, what string, call func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	start := time.Now()
	err := call(ctx)
	took := time.Since(start)
	t.Logf("%s: returned %v after the call began (deadline %v)", what, took.Round(time.Millisecond), Deadline)
	if took > Deadline+Margin {
		t.Errorf("%s: returned after %v: it does not give up at the deadline (%v)", what, took.Round(time.Millisecond), Deadline)
	}
	return err
}

// tcase is one case of a suite.
type tcase struct {
	name string
	run  func(t *testing.T)
}

// runAll runs the cases at once: most sit through a Retry-After or a deadline.
// t.Run is called from goroutines rather than with t.Parallel, which -parallel
// (GOMAXPROCS, which can be 2) would queue.
func runAll(t *testing.T, cases []tcase) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Go(func() { t.Run(c.name, c.run) })
	}
	wg.Wait()
}

func retryAfterOr(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultRetryAfter
}

func withSecrets(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}
