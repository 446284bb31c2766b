package heroku_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/heroku"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
	"github.com/raxx-app/rotabot/store/bbolt"
)

// BenchmarkPropagate20Apps200ms measures the propagation target: the wall time
// of the propagate step of a real rotation.Engine (a CLI run, as `rotabot rotate`
// makes) whose destinations are Heroku apps on the stand-in, each request delayed
// by 200 ms, through the real adapter. The engine sets every app at once, so the
// step should take about one request's latency, not one per app: the ratio
// reported is propagate wall time / 200 ms. Verify (one read-back per app) is
// timed apart. The 100-app case also reports the requests made and the rate-limit
// tokens Heroku says are left (about 4500 at start, refilling ~75 a minute).
//
// It prints figures and asserts nothing about time; it fails only if the run does
// not complete or an app does not end up holding the value.
//
//	go test -run x -bench Propagate -benchtime 1x ./rotation/heroku/
func BenchmarkPropagate20Apps200ms(b *testing.B) {
	for _, n := range []int{20, 100} {
		b.Run(fmt.Sprintf("apps=%d", n), func(b *testing.B) { benchPropagate(b, n, 200*time.Millisecond) })
	}
}

func benchPropagate(b *testing.B, apps int, latency time.Duration) {
	const secret = "GITHUB_API_READONLY_TOKEN"
	h := sbheroku.New(apiKey)
	b.Cleanup(h.Close)
	names := make([]string, apps)
	for i := range names {
		names[i] = fmt.Sprintf("raxx-bench-%03d", i)
		h.AddApp(names[i], map[string]string{"OTHER_SECRET": other, secret: oldToken})
	}
	h.SetLatency(latency)

	st, err := bbolt.Open(filepath.Join(b.TempDir(), "rotabot.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })

	rl := &rateLimitSeen{base: http.DefaultTransport.(*http.Transport).Clone()}
	b.Cleanup(rl.base.CloseIdleConnections)
	token := rotation.NewSecret(newToken)
	marks := &stateMarks{}
	eng := rotation.NewEngine(rotation.EngineConfig{
		Matrix: &rotation.Matrix{
			Vault: rotation.VaultSettings{Environment: "prod", Path: "/MooseQuest/github/", PendingPath: rotation.DefaultPendingPath},
			Secrets: map[string]*rotation.SecretConfig{secret: {
				Name: secret, Kind: rotation.FineGrained, Consumers: rotation.Consumers{HerokuApps: names},
			}},
		},
		Vault:     benchVault{value: token},
		Checker:   benchChecker{},
		Consumers: map[rotation.DestKind]rotation.Consumer{rotation.DestHeroku: heroku.New(heroku.Config{BaseURL: h.URL, APIKey: apiKey, HTTPClient: &http.Client{Transport: rl}})},
		Notifier:  marks,
		Store:     st,
		Owner:     "bench",
	})

	var propagate, verify, total, lastPatch time.Duration
	var requests, patches, reads, limited int
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h.ResetLog()
		marks.reset()
		run, err := eng.StartCLI(ctx, rotation.CLIRequest{Secret: secret, Actor: "bench"})
		if err != nil {
			b.Fatalf("StartCLI: %s", rotation.ErrorMessage(err))
		}
		b.StartTimer()

		start := time.Now()
		run, err = eng.Advance(ctx, run.ID)
		end := time.Now()

		b.StopTimer()
		if err != nil {
			b.Fatalf("Advance: %s", rotation.ErrorMessage(err))
		}
		if run.State != rotation.StateCompleted {
			b.Fatalf("the run ended %s: %s", run.State, run.Notice)
		}
		propagated, verified := marks.times()
		if propagated.IsZero() || verified.IsZero() {
			b.Fatal("the notifier did not see the run reach verifying and then auditing")
		}
		propagate += propagated.Sub(start)
		verify += verified.Sub(propagated)
		total += end.Sub(start)
		var last time.Time
		for _, r := range h.Requests() {
			requests++
			switch r.Route {
			case patch:
				patches++
				if r.Time.After(last) {
					last = r.Time
				}
			case read:
				reads++
			}
			if r.Status == http.StatusTooManyRequests {
				limited++
			}
		}
		lastPatch += last.Sub(start)
		b.StartTimer()
	}
	b.StopTimer()
	for _, a := range names {
		if v, _ := h.ConfigVar(a, secret); v != newToken {
			b.Fatalf("%s does not hold the new token", a)
		}
	}

	n := float64(b.N)
	perIter := func(d time.Duration) float64 { return d.Seconds() / n }
	b.ReportMetric(perIter(propagate), "propagate-s")
	b.ReportMetric(perIter(propagate)/latency.Seconds(), "propagate/200ms")
	b.ReportMetric(perIter(lastPatch), "last-patch-s")
	b.ReportMetric(perIter(verify), "verify-s")
	b.ReportMetric(perIter(total), "run-s")
	b.ReportMetric(float64(requests)/n, "requests")
	remaining := rl.min()
	if apps >= 100 {
		b.ReportMetric(float64(remaining), "ratelimit-remaining")
	}
	b.Logf("%d Heroku apps, %v latency each: propagate %v (%.2f× one request; the last PATCH was answered at %v), "+
		"verify %v, whole run %v; %d requests (%d PATCH, %d GET config-vars), %d answered 429; "+
		"RateLimit-Remaining afterwards %d of ~4500",
		apps, latency, (propagate / time.Duration(b.N)).Round(time.Millisecond), perIter(propagate)/latency.Seconds(),
		(lastPatch / time.Duration(b.N)).Round(time.Millisecond),
		(verify / time.Duration(b.N)).Round(time.Millisecond), (total / time.Duration(b.N)).Round(time.Millisecond),
		requests/b.N, patches/b.N, reads/b.N, limited, remaining)
}

// stateMarks is the Notifier of the benchmark: it notes when the run is first
// seen verifying (propagate is over) and then auditing (verify is over).
type stateMarks struct {
	mu                   sync.Mutex
	propagated, verified time.Time
}

func (m *stateMarks) reset() {
	m.mu.Lock()
	m.propagated, m.verified = time.Time{}, time.Time{}
	m.mu.Unlock()
}

func (m *stateMarks) times() (propagated, verified time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.propagated, m.verified
}

func (m *stateMarks) RunChanged(_ context.Context, r *rotation.Run, _ string) (rotation.CardRef, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	switch r.State {
	case rotation.StateVerifying:
		if m.propagated.IsZero() {
			m.propagated = now
		}
	case rotation.StateAuditing, rotation.StateCompleted:
		if m.verified.IsZero() {
			m.verified = now
		}
	}
	return r.Card, nil
}

func (m *stateMarks) AskOperator(context.Context, *rotation.Run, string, rotation.OperatorAction) error {
	return nil
}

func (m *stateMarks) Audited(context.Context, *rotation.Run, rotation.AuditEntry) error { return nil }

// benchVault holds the new value as version 1 of every secret (so the CLI run
// reads no older version).
type benchVault struct{ value rotation.Secret }

func (v benchVault) Read(context.Context, rotation.VaultRef) (rotation.VaultValue, error) {
	return rotation.VaultValue{Value: v.value, Version: 1}, nil
}

func (v benchVault) ReadVersion(_ context.Context, _ rotation.VaultRef, n int) (rotation.Secret, error) {
	if n == 1 {
		return v.value, nil
	}
	return rotation.Secret{}, rotation.Errorf(rotation.ENOTFOUND, "no version %d", n)
}

func (v benchVault) Write(context.Context, rotation.VaultRef, rotation.Secret) (int, error) {
	return 0, rotation.Errorf(rotation.EINTERNAL, "the benchmark's vault is read-only")
}

func (v benchVault) Delete(context.Context, rotation.VaultRef) error { return nil }

type benchChecker struct{}

func (benchChecker) Check(context.Context, rotation.Secret) (rotation.TokenInfo, error) {
	return rotation.TokenInfo{Login: "raxx-bot", Kind: rotation.FineGrained, ExpiresAt: time.Now().Add(90 * 24 * time.Hour), Repos: 1}, nil
}

func (benchChecker) Probe(context.Context, rotation.Secret, string) error { return nil }

// rateLimitSeen sits under the adapter and keeps the lowest RateLimit-Remaining
// Heroku answered with.
type rateLimitSeen struct {
	base *http.Transport
	mu   sync.Mutex
	low  int
	seen bool
}

func (rl *rateLimitSeen) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rl.base.RoundTrip(req)
	if resp != nil {
		if n, perr := strconv.Atoi(resp.Header.Get("RateLimit-Remaining")); perr == nil {
			rl.mu.Lock()
			if !rl.seen || n < rl.low {
				rl.low, rl.seen = n, true
			}
			rl.mu.Unlock()
		}
	}
	return resp, err
}

func (rl *rateLimitSeen) min() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if !rl.seen {
		return -1
	}
	return rl.low
}
