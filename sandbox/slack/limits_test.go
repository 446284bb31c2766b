package slack_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func retryAfter(err error) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}

// chat.postMessage takes a burst in one channel, then about one a second; past it
// Slack answers 429, Retry-After in seconds and {"ok":false,"error":"ratelimited"},
// and a call before that Retry-After passed is a violation. Another channel has
// its own allowance.
func TestSlackLimitsPostingPerChannel(t *testing.T) {
	s := newSlackSandbox(t)
	s.AddChannel("C0OTHER", "other")
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	s.SetLimits(sbslack.Limits{On: true, Now: clock.Now})
	api := slackClient(s, slackTestBot, slackTestApp)

	for i := range sbslack.PostBurst {
		if _, _, err := api.PostMessage("C0OPS", slack.MsgOptionText("burst", false)); err != nil {
			t.Fatalf("post %d of the burst: %v", i+1, err)
		}
	}
	_, _, err := api.PostMessage("C0OPS", slack.MsgOptionText("one too many", false))
	if d, ok := retryAfter(err); !ok || d != time.Second {
		t.Fatalf("past the burst: %v, want a 429 with Retry-After 1", err)
	}
	// The wire, exactly: status, header, body.
	last := s.Requests()[len(s.Requests())-1]
	if last.Status != http.StatusTooManyRequests {
		t.Errorf("status %d, want 429", last.Status)
	}
	if _, _, err := api.PostMessage("C0OTHER", slack.MsgOptionText("another channel", false)); err != nil {
		t.Errorf("another channel is limited too: %v", err)
	}
	if st := s.LimitStats(); st.Violations != 0 || st.Limited["chat.postMessage"] != 1 {
		t.Fatalf("stats after one 429: %+v", st)
	}
	// Calling again before the Retry-After passed: 429 again, and a violation. On
	// the wire, exactly as Slack: status, header, body.
	clock.Add(500 * time.Millisecond)
	resp, err := http.PostForm(s.APIURL()+"chat.postMessage", url.Values{"token": {slackTestBot}, "channel": {"C0OPS"}, "text": {"too soon"}})
	slackMust(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" ||
		strings.TrimSpace(string(body)) != `{"error":"ratelimited","ok":false}` {
		t.Fatalf("inside the Retry-After: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if st := s.LimitStats(); st.Violations != 1 || st.ViolationsBy["chat.postMessage C0OPS"] != 1 {
		t.Fatalf("the early call was not counted: %+v", st)
	}
	clock.Add(time.Second)
	if _, _, err := api.PostMessage("C0OPS", slack.MsgOptionText("after the wait", false)); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
	if st := s.LimitStats(); st.Violations != 1 || st.Answered429() != 2 {
		t.Errorf("stats: %+v", st)
	}
}

// A Tier 3 method takes its minute's allowance at once, then refills at its rate;
// Speed makes the refill faster, and a stand-in set off never limits.
func TestSlackLimitsByTier(t *testing.T) {
	s := newSlackSandbox(t)
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	s.SetLimits(sbslack.Limits{On: true, Now: clock.Now})
	api := slackClient(s, slackTestBot, slackTestApp)
	_, ts, err := api.PostMessage("C0OPS", slack.MsgOptionText("card", false))
	slackMust(t, err)
	for i := range 50 {
		if _, _, _, err := api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("v", false)); err != nil {
			t.Fatalf("update %d of Tier 3's 50: %v", i+1, err)
		}
	}
	_, _, _, err = api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("51", false))
	if d, ok := retryAfter(err); !ok || d != 2*time.Second {
		t.Fatalf("the 51st update: %v, want a 429 with Retry-After 2 (50 a minute: 1.2 s, in whole seconds)", err)
	}
	// Tiers are per method: Tier 4's views and ephemerals are not held by chat.update's limit.
	if _, err := api.PostEphemeral("C0OPS", "U1", slack.MsgOptionText("still prompt", false)); err != nil {
		t.Errorf("chat.postEphemeral limited by chat.update: %v", err)
	}
	clock.Add(2 * time.Second)
	if _, _, _, err := api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("52", false)); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}

	s.SetLimits(sbslack.Limits{On: true, Speed: 60, Now: clock.Now})
	for range 50 {
		slackMust(t, func() error {
			_, _, _, err := api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("v", false))
			return err
		}())
	}
	_, _, _, err = api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("fast", false))
	if d, ok := retryAfter(err); !ok || d != time.Second {
		t.Fatalf("at Speed 60: %v, want Retry-After 1", err)
	}

	s.SetLimits(sbslack.Limits{})
	for range 200 {
		slackMust(t, func() error {
			_, _, _, err := api.UpdateMessage("C0OPS", ts, slack.MsgOptionText("v", false))
			return err
		}())
	}
	if st := s.LimitStats(); st.Violations != 0 || st.Limited["chat.update"] != 2 {
		t.Errorf("stats: %+v", st)
	}
}
