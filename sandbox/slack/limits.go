package slack

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// Slack's Web API rate limits, as its "Rate limits" page states them: every method
// is limited per app per workspace by tier (Tier 2 about 20 calls a minute, Tier 3
// about 50, Tier 4 about 100), and chat.postMessage about one message a second per
// channel after a short burst. Past a limit Slack answers HTTP 429, a
// `Retry-After: <seconds>` header and `{"ok":false,"error":"ratelimited"}` —
// slack-go turns that into *slack.RateLimitedError{RetryAfter} — and it warns that
// an app which keeps calling while limited may lose its token. The stand-in answers
// exactly so, and counts every call that came before a Retry-After it gave had
// passed: a violation, which a test expects to stay 0.
//
// apps.connections.open (Tier 1) and auth.test (special) are not limited here:
// Socket Mode reconnects are the socket's business, and tests reconnect on purpose.

// slackTiers is each limited method's calls per minute.
var slackTiers = map[string]int{
	"usergroups.users.list": 20,  // Tier 2
	"chat.update":           50,  // Tier 3
	"conversations.open":    50,  // Tier 3
	"users.info":            100, // Tier 4
	"chat.postEphemeral":    100, // Tier 4
	"chat.getPermalink":     100, // Tier 4
	"views.open":            100, // Tier 4
	"views.update":          100, // Tier 4
	"views.publish":         100, // Tier 4
}

// PostBurst is how many messages a channel takes at once before chat.postMessage
// falls to one a second in it.
const PostBurst = 5

// Limits is how the stand-in rate-limits the Web API. The zero value is off; New
// starts with SlackLimits() (Slack's own).
type Limits struct {
	// On turns limiting on.
	On bool
	// Speed multiplies every refill rate (1: Slack's; 10: ten times as many calls
	// a minute, for a test that wants 429s without minutes of waiting). Burst
	// sizes stay Slack's. 0 means 1.
	Speed float64
	// Now is the limiter's clock (default standin.WallNow); a test that sets it
	// decides when a Retry-After has passed.
	Now func() time.Time
}

// SlackLimits are Slack's own limits, on.
func SlackLimits() Limits { return Limits{On: true, Speed: 1} }

// LimitStats is what the limiter did.
type LimitStats struct {
	// Limited is how many calls were answered 429, by method.
	Limited map[string]int
	// Violations counts the calls made on a key (a method, or chat.postMessage in
	// one channel) before the Retry-After last answered on it had passed.
	Violations int
	// ViolationsBy names them by key ("chat.update", "chat.postMessage C0OPS").
	ViolationsBy map[string]int
}

// Answered429 is the total of Limited.
func (st LimitStats) Answered429() int {
	n := 0
	for _, v := range st.Limited {
		n += v
	}
	return n
}

// bucket is one key's allowance: up to burst calls at once, refilled at rate a second.
type bucket struct {
	tokens float64
	at     time.Time
	// until is when the last Retry-After answered on this key passes.
	until time.Time
}

type slackLimiter struct {
	limits     Limits
	buckets    map[string]*bucket
	limited    map[string]int
	violations map[string]int
}

func newSlackLimiter() *slackLimiter {
	return &slackLimiter{limits: SlackLimits(), buckets: map[string]*bucket{}, limited: map[string]int{}, violations: map[string]int{}}
}

// SetLimits replaces how the stand-in limits (Limits{} turns limiting off). The
// allowances start full again; the counts are kept.
func (s *Slack) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Speed <= 0 {
		l.Speed = 1
	}
	s.limiter.limits = l
	s.limiter.buckets = map[string]*bucket{}
}

// LimitStats returns the 429s answered and the violations counted so far.
func (s *Slack) LimitStats() LimitStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := LimitStats{Limited: map[string]int{}, ViolationsBy: map[string]int{}}
	for k, v := range s.limiter.limited {
		st.Limited[k] = v
	}
	for k, v := range s.limiter.violations {
		st.ViolationsBy[k] = v
		st.Violations += v
	}
	return st
}

// limitKey is what a call counts against: the method, or the method and the
// channel for chat.postMessage; "" when the method is not limited.
func limitKey(method string, in slackInput) (key string, burst int, perMinute float64) {
	if method == "chat.postMessage" {
		return method + " " + in.str("channel"), PostBurst, 60
	}
	n, ok := slackTiers[method]
	if !ok {
		return "", 0, 0
	}
	return method, n, float64(n)
}

// admit takes one call from its key's allowance; when none is left it returns the
// whole seconds to wait (Slack's Retry-After) and false.
func (s *Slack) admit(method string, in slackInput) (retryAfter int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.limiter.limits
	if !l.On {
		return 0, true
	}
	key, burst, perMinute := limitKey(method, in)
	if key == "" {
		return 0, true
	}
	now := standin.WallNow()
	if l.Now != nil {
		now = l.Now()
	}
	rate := perMinute / 60 * l.Speed
	b := s.limiter.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(burst), at: now}
		s.limiter.buckets[key] = b
	}
	if now.Before(b.until) {
		// Called while limited: Slack answers 429 again, and counts it against the app.
		s.limiter.violations[key]++
		s.limiter.limited[method]++
		return max(1, int(math.Ceil(b.until.Sub(now).Seconds()))), false
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+dt*rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	wait := int(math.Ceil((1 - b.tokens) / rate))
	if wait < 1 {
		wait = 1
	}
	if u := now.Add(time.Duration(wait) * time.Second); u.After(b.until) {
		b.until = u
	}
	s.limiter.limited[method]++
	return wait, false
}

// writeRateLimited answers as Slack does past a limit.
func writeRateLimited(w http.ResponseWriter, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	standin.WriteJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
}
