package sandbox_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
)

// The console stand-in answers each verify check as the matrix expects it.
func TestConsoleGuards(t *testing.T) {
	c := sandbox.NewConsole("session=abc")
	t.Cleanup(c.Close)
	c.Guard("/health", http.StatusNoContent)
	c.Guard("/api/deploys", http.StatusOK, "X-Ops-Token", "Cookie")
	get := func(path string, headers ...string) int {
		req, _ := http.NewRequest(http.MethodGet, c.URL+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path    string
		headers []string
		want    int
	}{
		{"/api/status/builds", nil, 401},
		{"/api/status/builds", []string{"Cookie", "session=abc"}, 200},
		{"/health", nil, 204},
		{"/api/deploys", []string{"Cookie", "session=abc"}, 401},
		{"/api/deploys", []string{"Cookie", "session=abc", "X-Ops-Token", "session=abc"}, 200},
		{"/elsewhere", []string{"Cookie", "session=abc"}, 404},
	} {
		if got := get(c.path, c.headers...); got != c.want {
			t.Errorf("GET %s %v: %d, want %d", c.path, c.headers, got, c.want)
		}
	}
}

// TestTheStandInsKeepTheBotsTime: the stand-ins' clock and the bot's move together
// (both by ROTABOT_CLOCK_SHIFT in a clockshift build), so a token the stand-ins
// date is judged on the same day by the bot.
func TestTheStandInsKeepTheBotsTime(t *testing.T) {
	before := rotation.WallNow()
	got := sandbox.WallNow()
	after := rotation.WallNow()
	if got.Before(before) || got.After(after) {
		t.Errorf("sandbox.WallNow() = %v, rotation.WallNow() read %v and %v around it", got, before, after)
	}
}
