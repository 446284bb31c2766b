// Package slackq is what leaves for Slack's Web API, paced by its limits. Slack
// limits every method per app per workspace (by tier), and chat.postMessage per
// channel; past a limit it answers 429 with Retry-After in seconds and warns that
// an app which keeps calling while limited may lose its token. A Client here is
// the one door every part of the process calls Slack through, so that:
//
//   - a 429 holds back the same method (for chat.postMessage, the same channel)
//     until its Retry-After has passed — for every caller in the process, not only
//     the one that got it — and the call is then made again;
//   - one call at a time goes out per method (per channel for posting): a call is
//     never sent while another on its key might be coming back with a 429;
//   - once Slack has limited a method (a channel), its calls keep to Slack's
//     documented pace for a minute (one post a second; Tier 3 about 50 calls a
//     minute), instead of meeting a 429 at every other call;
//   - methods are separate lanes: a person's ephemeral answer or modal
//     (chat.postEphemeral, views.*) never waits behind card updates (chat.update)
//     or thread notes (chat.postMessage in the run's channel).
//
// It knows nothing of runs or cards: coalescing what to say is the notifier's job
// (package handlers). It must not retry anything but a 429, nor log what it sends.
package slackq

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
)

// API is the part of slack-go's *slack.Client that goes through the queue.
type API interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	UpdateViewContext(ctx context.Context, view slack.ModalViewRequest, externalID, hash, viewID string) (*slack.ViewResponse, error)
	PublishViewContext(ctx context.Context, req slack.PublishViewContextRequest) (*slack.ViewResponse, error)
	OpenConversationContext(ctx context.Context, params *slack.OpenConversationParameters) (*slack.Channel, bool, bool, error)
	GetUserGroupMembersContext(ctx context.Context, userGroup string, options ...slack.GetUserGroupMembersOption) ([]string, error)
	GetPermalinkContext(ctx context.Context, params *slack.PermalinkParameters) (string, error)
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
}

var _ API = (*slack.Client)(nil)

// MaxLimited is how many 429s in a row one call takes before it gives up with
// the last one (a person's gesture should not wait minutes; a caller that must
// not lose its message — an audit post — calls again).
const MaxLimited = 8

// Client paces calls to Slack. Build it once per process with New.
type Client struct {
	api API
	// Now and Sleep are the clock (defaults: time.Now and a timer that ends with ctx).
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	keys map[string]*lane

	limited atomic.Int64
}

// lane is one key's turn-taking: one call in flight, and when it may go again.
type lane struct {
	turn  chan struct{} // holds a token while a call is in flight
	until time.Time     // not before: the last Retry-After on this key
	// limited is when Slack last answered 429 on this key, last when a call
	// last went out: within paceFor of a 429, calls go at Slack's pace.
	limited, last time.Time
}

// paceFor is how long after its last 429 a lane keeps to Slack's pace.
const paceFor = time.Minute

// pace is a key's documented pace, the least time between two calls once Slack
// has limited it: one post a second in a channel; Tier 2 about 20 calls a
// minute, Tier 3 about 50, Tier 4 about 100. Until a key is limited its calls
// go as they come (Slack allows bursts); once it is, they are spaced so, and
// the queue stops meeting a 429 at every other call.
func pace(key string) time.Duration {
	method, _, _ := strings.Cut(key, " ")
	switch method {
	case "chat.postMessage":
		return time.Second
	case "usergroups.users.list":
		return 3 * time.Second
	case "chat.update", "conversations.open":
		return 1200 * time.Millisecond
	}
	return 600 * time.Millisecond
}

// Config is what New needs; API is required.
type Config struct {
	API   API
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Client over c.API.
func New(c Config) *Client {
	q := &Client{api: c.API, now: c.Now, sleep: c.Sleep, keys: map[string]*lane{}}
	if q.now == nil {
		q.now = time.Now
	}
	if q.sleep == nil {
		q.sleep = sleepCtx
	}
	return q
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Limited is how many 429s Slack answered this process.
func (q *Client) Limited() int64 { return q.limited.Load() }

func (q *Client) lane(key string) *lane {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.keys[key]
	if l == nil {
		l = &lane{turn: make(chan struct{}, 1)}
		q.keys[key] = l
	}
	return l
}

// do makes one call on key: it waits for the key's turn and for its Retry-After,
// and makes the call again after a 429, up to MaxLimited times.
func (q *Client) do(ctx context.Context, key string, call func() error) error {
	l := q.lane(key)
	var err error
	for range MaxLimited {
		select {
		case l.turn <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
		now := q.now()
		wait := l.until.Sub(now)
		if !l.limited.IsZero() && now.Sub(l.limited) < paceFor {
			wait = max(wait, l.last.Add(pace(key)).Sub(now))
		}
		q.mu.Unlock()
		if wait > 0 {
			if serr := q.sleep(ctx, wait); serr != nil {
				<-l.turn
				return serr
			}
		}
		q.mu.Lock()
		l.last = q.now()
		q.mu.Unlock()
		err = call()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			<-l.turn
			return err
		}
		q.limited.Add(1)
		q.mu.Lock()
		l.limited = q.now()
		if u := l.limited.Add(max(rl.RetryAfter, time.Second)); u.After(l.until) {
			l.until = u
		}
		q.mu.Unlock()
		<-l.turn
	}
	return err
}

// PostMessageContext posts, in turn with every post to that channel.
func (q *Client) PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (ch, ts string, err error) {
	err = q.do(ctx, "chat.postMessage "+channelID, func() error {
		var e error
		ch, ts, e = q.api.PostMessageContext(ctx, channelID, options...)
		return e
	})
	return ch, ts, err
}

// PostMessageWhenDue posts in channelID, in turn with every post to that
// channel, what build returns at the moment the post goes out: after the posts
// ahead of it and any Retry-After, and again before each call made again after
// a 429. A caller whose message grows while it waits (a card's thread notes,
// joined) so sends everything it has by then in one post instead of what it had
// when it started waiting.
func (q *Client) PostMessageWhenDue(ctx context.Context, channelID string, build func() []slack.MsgOption) (ch, ts string, err error) {
	err = q.do(ctx, "chat.postMessage "+channelID, func() error {
		var e error
		ch, ts, e = q.api.PostMessageContext(ctx, channelID, build()...)
		return e
	})
	return ch, ts, err
}

// UpdateMessageContext updates a message (Tier 3, one lane for the workspace).
func (q *Client) UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (ch, ts, text string, err error) {
	err = q.do(ctx, "chat.update", func() error {
		var e error
		ch, ts, text, e = q.api.UpdateMessageContext(ctx, channelID, timestamp, options...)
		return e
	})
	return ch, ts, text, err
}

// PostEphemeralContext answers one person (Tier 4, a lane of its own).
func (q *Client) PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (ts string, err error) {
	err = q.do(ctx, "chat.postEphemeral", func() error {
		var e error
		ts, e = q.api.PostEphemeralContext(ctx, channelID, userID, options...)
		return e
	})
	return ts, err
}

// OpenViewContext opens a modal (Tier 4).
func (q *Client) OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (v *slack.ViewResponse, err error) {
	err = q.do(ctx, "views.open", func() error {
		var e error
		v, e = q.api.OpenViewContext(ctx, triggerID, view)
		return e
	})
	return v, err
}

// UpdateViewContext updates a modal (Tier 4).
func (q *Client) UpdateViewContext(ctx context.Context, view slack.ModalViewRequest, externalID, hash, viewID string) (v *slack.ViewResponse, err error) {
	err = q.do(ctx, "views.update", func() error {
		var e error
		v, e = q.api.UpdateViewContext(ctx, view, externalID, hash, viewID)
		return e
	})
	return v, err
}

// PublishViewContext publishes an App Home (Tier 4).
func (q *Client) PublishViewContext(ctx context.Context, req slack.PublishViewContextRequest) (v *slack.ViewResponse, err error) {
	err = q.do(ctx, "views.publish", func() error {
		var e error
		v, e = q.api.PublishViewContext(ctx, req)
		return e
	})
	return v, err
}

// OpenConversationContext opens a DM (Tier 3).
func (q *Client) OpenConversationContext(ctx context.Context, params *slack.OpenConversationParameters) (c *slack.Channel, noOp, already bool, err error) {
	err = q.do(ctx, "conversations.open", func() error {
		var e error
		c, noOp, already, e = q.api.OpenConversationContext(ctx, params)
		return e
	})
	return c, noOp, already, err
}

// GetUserGroupMembersContext lists a user group (Tier 2).
func (q *Client) GetUserGroupMembersContext(ctx context.Context, userGroup string, options ...slack.GetUserGroupMembersOption) (ids []string, err error) {
	err = q.do(ctx, "usergroups.users.list", func() error {
		var e error
		ids, e = q.api.GetUserGroupMembersContext(ctx, userGroup, options...)
		return e
	})
	return ids, err
}

// GetPermalinkContext asks for a message's link (Tier 4).
func (q *Client) GetPermalinkContext(ctx context.Context, params *slack.PermalinkParameters) (link string, err error) {
	err = q.do(ctx, "chat.getPermalink", func() error {
		var e error
		link, e = q.api.GetPermalinkContext(ctx, params)
		return e
	})
	return link, err
}

// GetUserInfoContext reads a person's profile (Tier 4).
func (q *Client) GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (u *slack.User, err error) {
	err = q.do(ctx, "users.info", func() error {
		var e error
		u, e = q.api.GetUserInfoContext(ctx, user, options...)
		return e
	})
	return u, err
}
