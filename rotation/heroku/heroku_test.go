package heroku_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/heroku"
	"github.com/raxx-app/rotabot/sandbox"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
)

const (
	apiKey   = "hrku-sandbox-key-7c1d2e3f4a5b"
	app      = "raxx-console-prod"
	varName  = "GITHUB_API_READONLY_TOKEN"
	newToken = "github_pat_11AAAAAAA0newTokenValueXYZ0123456789abcdef"
	oldToken = "github_pat_11AAAAAAA0oldTokenValueQRS9876543210fedcba"
	other    = "otherSecretValue-Zq8Wm3Rt6Yp1"
	patch    = "PATCH /apps/{app}/config-vars"
	read     = "GET /apps/{app}/config-vars"
)

type fixture struct {
	h    *sbheroku.Heroku
	c    *heroku.Consumer
	logs *sandbox.SyncBuffer
}

func setup(t *testing.T, key string) fixture {
	t.Helper()
	h := sbheroku.New(apiKey)
	t.Cleanup(h.Close)
	h.AddApp(app, map[string]string{"OTHER_SECRET": other, varName: oldToken})
	logs := &sandbox.SyncBuffer{}
	c := heroku.New(heroku.Config{
		BaseURL: h.URL + "/",
		APIKey:  key,
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return fixture{h: h, c: c, logs: logs}
}

// noLeak fails if text holds any 8 characters in a row of a value (what counts as a leak).
func noLeak(t *testing.T, where, text string) {
	t.Helper()
	for _, v := range []string{newToken, oldToken, other} {
		for i := 0; i+8 <= len(v); i++ {
			if strings.Contains(text, v[i:i+8]) {
				t.Fatalf("%s holds part of a config value (%q)", where, v[i:i+8])
			}
		}
	}
}

// wantErr checks the code, the exact message a person sees and that no value leaks.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", code, msg)
	}
	noLeak(t, "the error", err.Error())
	noLeak(t, "the error, formatted", fmt.Sprintf("%+v %#v", err, err))
	if got := rotation.ErrorCode(err); got != code {
		t.Errorf("code = %q, want %q (%v)", got, code, err)
	}
	if got := rotation.ErrorMessage(err); got != msg {
		t.Errorf("message = %q\n          want %q", got, msg)
	}
}

func TestSetAndVerify(t *testing.T) {
	f := setup(t, apiKey)
	ctx := context.Background()
	since := time.Now()

	if err := f.c.Set(ctx, app, varName, rotation.NewSecret(newToken)); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.h.ConfigVar(app, varName); v != newToken {
		t.Error("the config var does not hold the new token")
	}
	if v, _ := f.h.ConfigVar(app, "OTHER_SECRET"); v != other {
		t.Error("Set touched another config var")
	}
	if rs := f.h.Releases(app); len(rs) != 2 || rs[1].Description != "Set "+varName+" config vars" {
		t.Errorf("releases = %+v, want the app's first and the change's", rs)
	}
	if err := f.c.Verify(ctx, app, varName, rotation.NewSecret(newToken), since); err != nil {
		t.Fatal(err)
	}

	reqs := f.h.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer "+apiKey {
			t.Errorf("%s: Authorization is not the bearer key", r.Route)
		}
		if got := r.Header.Get("Accept"); got != "application/vnd.heroku+json; version=3" {
			t.Errorf("%s: Accept = %q", r.Route, got)
		}
	}
	// The PATCH carries the one var and nothing of the rest of the config.
	var sent map[string]*string
	if err := json.Unmarshal(reqs[0].Body, &sent); err != nil || len(sent) != 1 || sent[varName] == nil || *sent[varName] != newToken {
		t.Errorf("PATCH body is not {%q: the new token} (%d keys, %v)", varName, len(sent), err)
	}
}

func TestVerifyMismatch(t *testing.T) {
	f := setup(t, apiKey)
	ctx := context.Background()

	err := f.c.Verify(ctx, app, varName, rotation.NewSecret(newToken), time.Now())
	wantErr(t, err, rotation.EINVALID, "Heroku app raxx-console-prod holds a different GITHUB_API_READONLY_TOKEN")

	err = f.c.Verify(ctx, app, "GITHUB_API_DISPATCH_TOKEN", rotation.NewSecret(newToken), time.Now())
	wantErr(t, err, rotation.EINVALID, "Heroku app raxx-console-prod has no GITHUB_API_DISPATCH_TOKEN config var")
}

func TestRefusals(t *testing.T) {
	t.Run("401", func(t *testing.T) {
		f := setup(t, "hrku-wrong-key")
		err := f.c.Set(context.Background(), app, varName, rotation.NewSecret(newToken))
		wantErr(t, err, rotation.EUNAUTHORIZED, "Heroku refused HEROKU_API_KEY for app raxx-console-prod (401): check the key")
		if n := f.h.Count(patch, false); n != 1 {
			t.Errorf("%d PATCHes, want 1: a refused key is not retried", n)
		}
		_, err = f.c.Account(context.Background())
		wantErr(t, err, rotation.EUNAUTHORIZED, "Heroku refused HEROKU_API_KEY (401): check the key")
	})
	t.Run("403", func(t *testing.T) {
		f := setup(t, apiKey)
		f.h.Fail(patch, &sandbox.Fault{Status: 403})
		err := f.c.Set(context.Background(), app, varName, rotation.NewSecret(newToken))
		wantErr(t, err, rotation.EFORBIDDEN, "HEROKU_API_KEY may not change app raxx-console-prod (403): give the key's account access to the app (deploy permission), or use a key that has it")
		if n := f.h.Count(patch, false); n != 1 {
			t.Errorf("%d PATCHes, want 1", n)
		}
	})
	t.Run("404", func(t *testing.T) {
		f := setup(t, apiKey)
		err := f.c.Set(context.Background(), "raxx-console-typo", varName, rotation.NewSecret(newToken))
		wantErr(t, err, rotation.ENOTFOUND, "Heroku has no app raxx-console-typo (404): check the app's name, and that HEROKU_API_KEY's account can see it")
		err = f.c.Verify(context.Background(), "raxx-console-typo", varName, rotation.NewSecret(newToken), time.Now())
		wantErr(t, err, rotation.ENOTFOUND, "Heroku has no app raxx-console-typo (404): check the app's name, and that HEROKU_API_KEY's account can see it")
		err = f.c.CheckApp(context.Background(), "raxx-console-typo")
		wantErr(t, err, rotation.ENOTFOUND, "Heroku has no app raxx-console-typo (404): check the app's name, and that HEROKU_API_KEY's account can see it")
		if err := f.c.CheckApp(context.Background(), app); err != nil {
			t.Errorf("CheckApp(%s) = %v", app, err)
		}
	})
	t.Run("empty value", func(t *testing.T) {
		f := setup(t, apiKey)
		err := f.c.Set(context.Background(), app, varName, rotation.NewSecret(""))
		wantErr(t, err, rotation.EINVALID, "Refusing to set an empty GITHUB_API_READONLY_TOKEN on Heroku app raxx-console-prod")
		if n := len(f.h.Requests()); n != 0 {
			t.Errorf("%d requests, want none", n)
		}
	})
}

// The retry cases each sit through Retry-After: 1 up to twice, so they run at
// once: t.Run from goroutines, which -parallel (GOMAXPROCS) does not throttle.
func TestRetries(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	defer wg.Wait()
	run := func(name string, f func(t *testing.T)) {
		wg.Go(func() { t.Run(name, f) })
	}
	for _, tc := range []struct {
		status int
		msg    string
	}{
		{429, "Heroku rate limit reached for app raxx-console-prod (429): retry in 1s"},
		{503, "Heroku is unavailable for app raxx-console-prod (503): retry later"},
	} {
		run(fmt.Sprintf("%d once", tc.status), func(t *testing.T) {
			f := setup(t, apiKey)
			f.h.Fail(patch, &sandbox.Fault{Status: tc.status, RetryAfter: "1", Times: 1})
			if err := f.c.Set(context.Background(), app, varName, rotation.NewSecret(newToken)); err != nil {
				t.Fatalf("Set after one %d: %v", tc.status, err)
			}
			if n := f.h.Count(patch, false); n != 2 {
				t.Errorf("%d PATCHes, want 2", n)
			}
			if v, _ := f.h.ConfigVar(app, varName); v != newToken {
				t.Error("the retried PATCH did not land")
			}
			noLeak(t, "the logs", f.logs.String())
			if !strings.Contains(f.logs.String(), "heroku: retrying") {
				t.Error("the retry was not logged")
			}
		})
		run(fmt.Sprintf("%d persistent", tc.status), func(t *testing.T) {
			f := setup(t, apiKey)
			f.h.Fail(patch, &sandbox.Fault{Status: tc.status, RetryAfter: "1"})
			err := f.c.Set(context.Background(), app, varName, rotation.NewSecret(newToken))
			wantErr(t, err, rotation.EUNAVAILABLE, tc.msg)
			if got := rotation.RetryAfter(err); got != time.Second {
				t.Errorf("RetryAfter = %v, want 1s", got)
			}
			if n := f.h.Count(patch, false); n != 3 {
				t.Errorf("%d PATCHes, want 3", n)
			}
			noLeak(t, "the logs", f.logs.String())
		})
	}
	run("500 without Retry-After", func(t *testing.T) {
		f := setup(t, apiKey)
		f.h.Fail(read, &sandbox.Fault{Status: 500})
		err := f.c.Verify(context.Background(), app, varName, rotation.NewSecret(oldToken), time.Now())
		wantErr(t, err, rotation.EUNAVAILABLE, "Heroku is unavailable for app raxx-console-prod (500): retry later")
		if n := f.h.Count(read, false); n != 3 {
			t.Errorf("%d reads, want 3", n)
		}
	})
	run("Retry-After past the deadline", func(t *testing.T) {
		f := setup(t, apiKey)
		f.h.Fail(patch, &sandbox.Fault{Status: 429, RetryAfter: "10"})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := f.c.Set(ctx, app, varName, rotation.NewSecret(newToken))
		wantErr(t, err, rotation.EUNAVAILABLE, "Heroku rate limit reached for app raxx-console-prod (429): retry in 10s")
		if got := rotation.RetryAfter(err); got != 10*time.Second {
			t.Errorf("RetryAfter = %v, want 10s", got)
		}
		if n := f.h.Count(patch, false); n != 1 {
			t.Errorf("%d PATCHes, want 1: waiting 10 s would pass the deadline", n)
		}
	})
	run("rate limit bucket empty", func(t *testing.T) {
		f := setup(t, apiKey)
		f.h.SetClock(func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
		f.h.SetRateLimitRemaining(0)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		err := f.c.Set(ctx, app, varName, rotation.NewSecret(newToken))
		// Heroku sends no Retry-After: the error says a minute (its refill rate).
		wantErr(t, err, rotation.EUNAVAILABLE, "Heroku rate limit reached for app raxx-console-prod (429): retry in 1m")
		if got := rotation.RetryAfter(err); got != time.Minute {
			t.Errorf("RetryAfter = %v, want 1m", got)
		}
		if n := f.h.Count(patch, false); n != 3 {
			t.Errorf("%d PATCHes, want 3", n)
		}
	})
}

func TestHangPastDeadline(t *testing.T) {
	t.Parallel()
	f := setup(t, apiKey)
	f.h.Fail(patch, &sandbox.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := f.c.Set(ctx, app, varName, rotation.NewSecret(newToken))
	wantErr(t, err, rotation.EUNAVAILABLE, "Heroku did not answer in time for app raxx-console-prod")
}

func TestTryTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	h := sbheroku.New(apiKey)
	t.Cleanup(h.Close)
	h.AddApp(app, nil)
	c := heroku.New(heroku.Config{BaseURL: h.URL, APIKey: apiKey, Timeout: 200 * time.Millisecond})
	h.Fail(patch, &sandbox.Fault{Hang: true, Times: 1})
	if err := c.Set(context.Background(), app, varName, rotation.NewSecret(newToken)); err != nil {
		t.Fatalf("Set after one hung try: %v", err)
	}
	if n := h.Count(patch, false); n != 2 {
		t.Errorf("%d PATCHes, want 2", n)
	}
}

func TestAccount(t *testing.T) {
	f := setup(t, apiKey)
	email, err := f.c.Account(context.Background())
	if err != nil || email == "" {
		t.Fatalf("Account = %q, %v", email, err)
	}
}

// Heroku answers an update with the app's whole config, and reads return it all:
// none of the other vars may show up in anything the adapter returns or logs.
func TestOtherVarsNeverSurface(t *testing.T) {
	t.Parallel()
	f := setup(t, apiKey)
	ctx := context.Background()
	var out []string
	note := func(err error) {
		if err != nil {
			out = append(out, err.Error(), fmt.Sprintf("%+v|%#v", err, err), rotation.ErrorMessage(err))
		}
	}
	note(f.c.Set(ctx, app, varName, rotation.NewSecret(newToken)))
	note(f.c.Verify(ctx, app, varName, rotation.NewSecret(newToken), time.Now()))
	note(f.c.Verify(ctx, app, varName, rotation.NewSecret(oldToken), time.Now()))
	f.h.Fail(patch, &sandbox.Fault{Status: 503, Times: 1})
	note(f.c.Set(ctx, app, varName, rotation.NewSecret(oldToken)))
	f.h.Fail(read, &sandbox.Fault{Status: 429, RetryAfter: "0", Times: 1})
	note(f.c.Verify(ctx, app, varName, rotation.NewSecret(oldToken), time.Now()))
	_, err := f.c.Account(ctx)
	note(err)
	out = append(out, f.logs.String(), fmt.Sprintf("%+v", f.c))
	if len(out) < 3 || !strings.Contains(f.logs.String(), "heroku: retrying") {
		t.Fatalf("the test did not exercise the error and retry paths: %q", out)
	}
	for _, s := range out {
		noLeak(t, "adapter output", s)
	}
}

func TestParallelApps(t *testing.T) {
	t.Parallel()
	h := sbheroku.New(apiKey)
	t.Cleanup(h.Close)
	const n = 20
	for i := range n {
		h.AddApp(fmt.Sprintf("app-%02d", i), map[string]string{"OTHER_SECRET": other})
	}
	h.SetLatency(200 * time.Millisecond)
	c := heroku.New(heroku.Config{BaseURL: h.URL, APIKey: apiKey})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := fmt.Sprintf("app-%02d", i)
			v := rotation.NewSecret(fmt.Sprintf("%s%02d", newToken, i))
			if err := c.Set(ctx, a, varName, v); err != nil {
				errs[i] = err
				return
			}
			errs[i] = c.Verify(ctx, a, varName, v, time.Time{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		a := fmt.Sprintf("app-%02d", i)
		if err != nil {
			t.Errorf("%s: %v", a, err)
		}
		if v, _ := h.ConfigVar(a, varName); v != fmt.Sprintf("%s%02d", newToken, i) {
			t.Errorf("%s holds another app's value", a)
		}
		if r := h.Releases(a); len(r) != 2 {
			t.Errorf("%s: %d releases, want the first and the change's", a, len(r))
		}
	}
}
