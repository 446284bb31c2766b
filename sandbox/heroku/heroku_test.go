package heroku

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	heroku "github.com/heroku/heroku-go/v5"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

const herokuTestKey = "hrku-test-key-0123456789"

// herokuHeaderTap records the response headers the heroku-go client saw.
type herokuHeaderTap struct {
	mu   sync.Mutex
	last http.Header
}

func (t *herokuHeaderTap) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if resp != nil {
		t.mu.Lock()
		t.last = resp.Header.Clone()
		t.mu.Unlock()
	}
	return resp, err
}

func (t *herokuHeaderTap) get(k string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last.Get(k)
}

func herokuClient(t *testing.T, base, key string) (*heroku.Service, *herokuHeaderTap) {
	t.Helper()
	tap := &herokuHeaderTap{}
	s := heroku.NewService(&http.Client{Transport: &heroku.Transport{BearerToken: key, Transport: tap}})
	s.URL = base
	return s, tap
}

func herokuErr(t *testing.T, err error) heroku.Error {
	t.Helper()
	var he heroku.Error
	if !errors.As(err, &he) {
		t.Fatalf("error %v is not a heroku.Error", err)
	}
	return he
}

func herokuPtr(s string) *string { return &s }

func TestHerokuAccountAndApp(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("raxx-console-prod", map[string]string{"A": "1"})
	s, tap := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()

	acct, err := s.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Email == "" || acct.ID == "" {
		t.Errorf("account = %+v, want email and id", acct)
	}
	if tap.get("RateLimit-Remaining") != "4499" {
		t.Errorf("RateLimit-Remaining = %q, want 4499", tap.get("RateLimit-Remaining"))
	}

	app, err := s.AppInfo(ctx, "raxx-console-prod")
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "raxx-console-prod" || app.ID == "" {
		t.Errorf("app = %q %q", app.Name, app.ID)
	}
	// The API takes an app's id wherever it takes its name.
	if byID, err := s.AppInfo(ctx, app.ID); err != nil || byID.Name != app.Name {
		t.Errorf("AppInfo(id) = %v, %v", byID, err)
	}

	_, err = s.AppInfo(ctx, "no-such-app")
	if he := herokuErr(t, err); he.StatusCode != 404 || he.ID != "not_found" || he.Error() != "Couldn't find that app." {
		t.Errorf("missing app: %d %q %q", he.StatusCode, he.ID, he.Error())
	}
}

func TestHerokuConfigVars(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("raxx-console-prod", map[string]string{"OTHER_SECRET": "sekrit-other", "OLD": "x"})
	s, _ := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()

	got, err := s.ConfigVarUpdate(ctx, "raxx-console-prod", map[string]*string{"GITHUB_TOKEN": herokuPtr("ghp_new"), "OLD": nil})
	if err != nil {
		t.Fatal(err)
	}
	// The reply is the whole config, as Heroku's is: that is why callers must drop it.
	if len(got) != 2 || got["OTHER_SECRET"] == nil || got["GITHUB_TOKEN"] == nil || *got["GITHUB_TOKEN"] != "ghp_new" {
		t.Errorf("update reply has %d vars, want the whole config (2)", len(got))
	}
	if v, ok := h.ConfigVar("raxx-console-prod", "GITHUB_TOKEN"); !ok || v != "ghp_new" {
		t.Error("GITHUB_TOKEN not set")
	}
	if _, ok := h.ConfigVar("raxx-console-prod", "OLD"); ok {
		t.Error("null did not delete OLD")
	}
	// One release for the app's creation, one for the change.
	if rs := h.Releases("raxx-console-prod"); len(rs) != 2 || rs[1].Description != "Set GITHUB_TOKEN config vars" || !rs[1].Current {
		t.Errorf("releases = %+v, want v2 \"Set GITHUB_TOKEN config vars\", current", rs)
	}

	read, err := s.ConfigVarInfoForApp(ctx, "raxx-console-prod")
	if err != nil {
		t.Fatal(err)
	}
	if read["GITHUB_TOKEN"] == nil || *read["GITHUB_TOKEN"] != "ghp_new" || len(read) != 2 {
		t.Errorf("read back %d vars", len(read))
	}

	if _, err := s.ConfigVarUpdate(ctx, "nope", map[string]*string{"A": herokuPtr("b")}); herokuErr(t, err).StatusCode != 404 {
		t.Errorf("update of a missing app: %v", err)
	}
	if n := h.Count("PATCH /apps/{app}/config-vars", true); n != 1 {
		t.Errorf("successful PATCHes = %d, want 1", n)
	}
	if n := h.Count("PATCH /apps/{app}/config-vars", false); n != 2 {
		t.Errorf("PATCHes = %d, want 2", n)
	}
}

func TestHerokuRefusesBadKeyAndMissingVersion(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", nil)
	ctx := context.Background()

	s, _ := herokuClient(t, h.URL, "wrong-key")
	_, err := s.ConfigVarInfoForApp(ctx, "app")
	if he := herokuErr(t, err); he.StatusCode != 401 || he.ID != "unauthorized" || he.Error() != "Invalid credentials provided." {
		t.Errorf("bad key: %d %q %q", he.StatusCode, he.ID, he.Error())
	}

	// A client without heroku.Transport sends Accept: application/json and no key.
	bare := heroku.NewService(&http.Client{})
	bare.URL = h.URL
	err = bare.Get(ctx, io.Discard, "/apps/app/config-vars", nil, nil)
	if err != nil {
		t.Fatalf("bare client: %v", err)
	}
	reqs := h.Requests()
	if last := reqs[len(reqs)-1]; last.Status != http.StatusBadRequest {
		t.Errorf("missing version: status %d, want 400", last.Status)
	}
	for _, r := range reqs {
		if r.Status == http.StatusOK {
			t.Errorf("%s answered 200 without a valid key and version", r.Route)
		}
	}
}

func TestHerokuRateLimit(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", nil)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	h.SetRateLimitRemaining(2)
	s, tap := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()

	for _, want := range []string{"1", "0"} {
		if _, err := s.ConfigVarInfoForApp(ctx, "app"); err != nil {
			t.Fatal(err)
		}
		if got := tap.get("RateLimit-Remaining"); got != want {
			t.Errorf("RateLimit-Remaining = %q, want %q", got, want)
		}
	}
	_, err := s.ConfigVarInfoForApp(ctx, "app")
	if he := herokuErr(t, err); he.StatusCode != 429 || he.ID != "rate_limit" {
		t.Errorf("over the limit: %d %q", he.StatusCode, he.ID)
	}
	if got := tap.get("RateLimit-Remaining"); got != "0" {
		t.Errorf("RateLimit-Remaining on 429 = %q, want 0", got)
	}

	// A minute later the bucket has refilled by 75.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, err := s.ConfigVarInfoForApp(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if got := tap.get("RateLimit-Remaining"); got != "74" {
		t.Errorf("after a minute RateLimit-Remaining = %q, want 74", got)
	}
}

func TestHerokuFaults(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", map[string]string{"A": "1"})
	s, tap := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()

	h.Fail("PATCH /apps/{app}/config-vars", &standin.Fault{Status: 429, RetryAfter: "1", Times: 1})
	_, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("2")})
	if he := herokuErr(t, err); he.StatusCode != 429 || he.ID != "rate_limit" {
		t.Errorf("fault: %d %q", he.StatusCode, he.ID)
	}
	if tap.get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", tap.get("Retry-After"))
	}
	if v, _ := h.ConfigVar("app", "A"); v != "1" {
		t.Error("a faulted PATCH changed the config")
	}
	if _, err := s.ConfigVarUpdate(ctx, "app", map[string]*string{"A": herokuPtr("2")}); err != nil {
		t.Fatalf("after the fault: %v", err)
	}

	h.Fail("GET /apps/{app}/config-vars", &standin.Fault{Status: 503})
	for range 2 {
		_, err = s.ConfigVarInfoForApp(ctx, "app")
		if he := herokuErr(t, err); he.StatusCode != 503 || he.ID != "service_unavailable" {
			t.Errorf("503 fault: %d %q", he.StatusCode, he.ID)
		}
	}
	h.Fail("GET /apps/{app}/config-vars", nil)

	h.Fail("GET /apps/{app}/config-vars", &standin.Fault{Hang: true})
	hctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.ConfigVarInfoForApp(hctx, "app"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v, want a deadline error", err)
	}
}

func TestHerokuRejectsMalformedPatch(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	h.AddApp("app", map[string]string{"A": "1"})
	s, _ := herokuClient(t, h.URL, herokuTestKey)

	err := s.Patch(context.Background(), nil, "/apps/app/config-vars", map[string]int{"A": 2})
	if he := herokuErr(t, err); he.StatusCode != 422 || he.ID != "invalid_params" {
		t.Errorf("malformed patch: %d %q", he.StatusCode, he.ID)
	}
	if len(h.Releases("app")) != 1 {
		t.Error("a refused PATCH made a release")
	}
}
