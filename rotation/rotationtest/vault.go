package rotationtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// VaultHarness is what the Vault suite needs from one implementation. The suite
// calls its newHarness once per case.
type VaultHarness struct {
	// Vault is the implementation under test, speaking to the stand-in.
	Vault rotation.Vault
	// BadCredentials returns a Vault on the same stand-in whose credential the
	// stand-in refuses. (An implementation that checks its credential when made
	// can return one made with a good credential that the stand-in then stops
	// accepting: a credential revoked while the bot runs.)
	BadCredentials func() rotation.Vault
	// Fail makes the stand-in misbehave on the requests of op: OpRead (Read and
	// ReadVersion), OpWrite (Write of an existing secret) or OpDelete.
	Fail func(op Op, f Fault)
	// Held returns the newest version the stand-in holds at ref.
	Held func(ref rotation.VaultRef) (value string, version int, ok bool)
	// Existing holds a value when the harness is made; Missing holds none, in a
	// place where a secret can be created.
	Existing, Missing rotation.VaultRef
	// RetryAfter is the wait the 429 cases ask for (DefaultRetryAfter when 0).
	RetryAfter time.Duration
	// Secrets are the credentials and values the harness uses (Existing's
	// value among them): no error may repeat them.
	Secrets []string
	// Messages each call must give. NotFound is read for Read (of Missing) and
	// ReadVersion (version 1 of Missing) only: Write creates a missing secret,
	// and Delete of a missing secret is not an error.
	Read, ReadVersion, Write, Delete Messages
}

// Vault runs the contract suite of rotation.Vault.
func Vault(t *testing.T, newHarness func(t *testing.T) VaultHarness) {
	t.Helper()
	// prepare makes a harness, reads Existing's version before any fault, and
	// makes a value for a Write.
	prepare := func(t *testing.T) (h VaultHarness, version int, value string, secrets []string) {
		t.Helper()
		h = newHarness(t)
		value = NewToken()
		secrets = withSecrets(h.Secrets, value)
		_, version, ok := h.Held(h.Existing)
		if !ok || version < 1 {
			t.Fatalf("the harness's Existing secret holds no value (version %d)", version)
		}
		return h, version, value, secrets
	}

	cases := []tcase{
		{"success", func(t *testing.T) {
			h, _, _, _ := prepare(t)
			vaultSuccess(t, h)
		}},
		{"404/Read", func(t *testing.T) {
			h, _, _, secrets := prepare(t)
			_, err := h.Vault.Read(context.Background(), h.Missing)
			wantErr(t, "Read", err, rotation.ENOTFOUND, h.Read.NotFound, secrets)
		}},
		{"404/ReadVersion", func(t *testing.T) {
			h, _, _, secrets := prepare(t)
			_, err := h.Vault.ReadVersion(context.Background(), h.Missing, 1)
			wantErr(t, "ReadVersion", err, rotation.ENOTFOUND, h.ReadVersion.NotFound, secrets)
		}},
	}
	for _, c := range vaultCalls() {
		cases = append(cases, vaultFaultCases(c, prepare)...)
	}
	runAll(t, cases)
}

// vaultCall is one call of the Vault suite, made on h.Existing.
type vaultCall struct {
	name string
	op   Op
	msgs func(h VaultHarness) Messages
	// do makes the call on h.Existing; version is its version before any fault.
	do func(ctx context.Context, v rotation.Vault, h VaultHarness, version int, value string) error
	// landed checks the stand-in after the call succeeded.
	landed func(t *testing.T, h VaultHarness, version int, value string)
}

// vaultCalls are the calls each fault is tried on.
func vaultCalls() []vaultCall {
	return []vaultCall{
		{"Read", OpRead, func(h VaultHarness) Messages { return h.Read },
			func(ctx context.Context, v rotation.Vault, h VaultHarness, version int, _ string) error {
				got, err := v.Read(ctx, h.Existing)
				if err == nil && got.Version != version {
					return rotation.Errorf(rotation.EINTERNAL, "Read gave version %d, want %d", got.Version, version)
				}
				return err
			}, nil},
		{"ReadVersion", OpRead, func(h VaultHarness) Messages { return h.ReadVersion },
			func(ctx context.Context, v rotation.Vault, h VaultHarness, version int, _ string) error {
				_, err := v.ReadVersion(ctx, h.Existing, version)
				return err
			}, nil},
		{"Write", OpWrite, func(h VaultHarness) Messages { return h.Write },
			func(ctx context.Context, v rotation.Vault, h VaultHarness, _ int, value string) error {
				_, err := v.Write(ctx, h.Existing, rotation.NewSecret(value))
				return err
			},
			func(t *testing.T, h VaultHarness, version int, value string) {
				if got, n, ok := h.Held(h.Existing); !ok || got != value || n <= version {
					t.Errorf("after Write: version %d (was %d), the stand-in holds the value written: %v", n, version, got == value)
				}
			}},
		{"Delete", OpDelete, func(h VaultHarness) Messages { return h.Delete },
			func(ctx context.Context, v rotation.Vault, h VaultHarness, _ int, _ string) error {
				return v.Delete(ctx, h.Existing)
			},
			func(t *testing.T, h VaultHarness, _ int, _ string) {
				if _, _, ok := h.Held(h.Existing); ok {
					t.Error("after Delete the stand-in still holds the secret")
				}
			}},
	}
}

// vaultSuccess reads, writes, reads back and reads by version; creates a missing
// secret and deletes it, twice.
func vaultSuccess(t *testing.T, h VaultHarness) {
	ctx := context.Background()
	v1, v2 := NewToken(), NewToken()
	secrets := withSecrets(h.Secrets, v1, v2)

	before, err := h.Vault.Read(ctx, h.Existing)
	noErr(t, "Read", err, secrets)
	if held, n, _ := h.Held(h.Existing); before.Value.Reveal() != held || before.Version != n {
		t.Fatalf("Read gave version %d (stand-in: %d), and the value the stand-in holds: %v", before.Version, n, before.Value.Reveal() == held)
	}
	n, err := h.Vault.Write(ctx, h.Existing, rotation.NewSecret(v1))
	noErr(t, "Write", err, secrets)
	if n <= before.Version {
		t.Errorf("Write gave version %d after version %d", n, before.Version)
	}
	if held, hn, _ := h.Held(h.Existing); held != v1 || hn != n {
		t.Errorf("after Write the stand-in holds version %d (Write said %d), the value written: %v", hn, n, held == v1)
	}
	now, err := h.Vault.Read(ctx, h.Existing)
	noErr(t, "Read after Write", err, secrets)
	if now.Value.Reveal() != v1 || now.Version != n {
		t.Errorf("Read after Write: version %d, want %d; the value written: %v", now.Version, n, now.Value.Reveal() == v1)
	}
	old, err := h.Vault.ReadVersion(ctx, h.Existing, before.Version)
	noErr(t, "ReadVersion of the old version", err, secrets)
	if !old.Equal(before.Value) {
		t.Errorf("ReadVersion(%d) is not the value Read gave before the Write", before.Version)
	}
	cur, err := h.Vault.ReadVersion(ctx, h.Existing, n)
	noErr(t, "ReadVersion of the new version", err, secrets)
	if cur.Reveal() != v1 {
		t.Errorf("ReadVersion(%d) is not the value written", n)
	}

	// Write creates a missing secret; Delete removes it, and again is no error.
	m, err := h.Vault.Write(ctx, h.Missing, rotation.NewSecret(v2))
	noErr(t, "Write of a missing secret", err, secrets)
	if got, err := h.Vault.Read(ctx, h.Missing); err != nil || got.Value.Reveal() != v2 || got.Version != m {
		t.Errorf("Read of the created secret: version %d (Write said %d), the value written: %v, err %v",
			got.Version, m, got.Value.Reveal() == v2, rotation.ErrorMessage(err))
	}
	noErr(t, "Delete", h.Vault.Delete(ctx, h.Missing), secrets)
	if _, _, ok := h.Held(h.Missing); ok {
		t.Error("after Delete the stand-in still holds the secret")
	}
	noErr(t, "Delete of a deleted secret", h.Vault.Delete(ctx, h.Missing), secrets)
}

// vaultFaultCases are c's cases under a refused credential, 429s, 5xx and a hang.
func vaultFaultCases(c vaultCall, prepare func(t *testing.T) (VaultHarness, int, string, []string)) []tcase {
	return []tcase{
		tcase{"401/" + c.name, func(t *testing.T) {
			h, version, value, secrets := prepare(t)
			held, _, _ := h.Held(h.Existing)
			err := c.do(context.Background(), h.BadCredentials(), h, version, value)
			wantErr(t, c.name, err, rotation.EUNAUTHORIZED, c.msgs(h).Unauthorized, secrets)
			if now, n, ok := h.Held(h.Existing); !ok || now != held || n != version {
				t.Errorf("a refused %s changed the secret", c.name)
			}
		}},
		tcase{"429 once/" + c.name, func(t *testing.T) {
			h, version, value, secrets := prepare(t)
			h.Fail(c.op, Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfterOr(h.RetryAfter), Times: 1})
			noErr(t, c.name+" after one 429", c.do(context.Background(), h.Vault, h, version, value), secrets)
			if c.landed != nil {
				c.landed(t, h, version, value)
			}
		}},
		tcase{"429 persistent/" + c.name, func(t *testing.T) {
			h, version, value, secrets := prepare(t)
			wait := retryAfterOr(h.RetryAfter)
			h.Fail(c.op, Fault{Status: http.StatusTooManyRequests, RetryAfter: wait})
			err := c.do(context.Background(), h.Vault, h, version, value)
			wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).RateLimited, secrets)
			wantRetryAfter(t, c.name, err, wait)
		}},
		tcase{"5xx persistent/" + c.name, func(t *testing.T) {
			h, version, value, secrets := prepare(t)
			h.Fail(c.op, Fault{Status: ServerError})
			err := c.do(context.Background(), h.Vault, h, version, value)
			wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).Unavailable, secrets)
		}},
		tcase{"hang/" + c.name, func(t *testing.T) {
			h, version, value, secrets := prepare(t)
			h.Fail(c.op, Fault{Hang: true})
			err := timed(t, c.name, func(ctx context.Context) error { return c.do(ctx, h.Vault, h, version, value) })
			wantErr(t, c.name, err, rotation.EUNAVAILABLE, c.msgs(h).Timeout, secrets)
		}},
	}
}
