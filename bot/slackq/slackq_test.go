package slackq_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/raxx-app/rotabot/bot/slackq"
	"github.com/raxx-app/rotabot/sandbox"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

const (
	bot = "xoxb-slackq-test-0123456789"
	app = "xapp-slackq-test-0123456789"
)

// clock is shared by the stand-in's limiter and the queue: the queue's waits move
// it, so a Retry-After passes exactly when the queue has waited it out, and no
// test waits on the wall clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func world(t *testing.T) (*sbslack.Slack, *clock, *slackq.Client) {
	t.Helper()
	s := sbslack.New(bot, app)
	t.Cleanup(s.Close)
	s.AddUser("U1", "alice")
	s.AddChannel("C0OPS", "ops")
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.SetLimits(sbslack.Limits{On: true, Now: c.Now})
	api := slack.New(bot, slack.OptionAPIURL(s.APIURL()))
	return s, c, slackq.New(slackq.Config{API: api, Now: c.Now, Sleep: c.Sleep})
}

// Thirty posts to one channel at once, from thirty callers: Slack limits them
// past its burst, every one of them still lands, and none is sent before the
// Retry-After Slack gave — whichever caller it was given to.
func TestPostsToOneChannelWaitOutRetryAfterForEveryCaller(t *testing.T) {
	s, _, q := world(t)
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			if _, _, err := q.PostMessageContext(context.Background(), "C0OPS", slack.MsgOptionText(fmt.Sprintf("note %d", i), false)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a post was lost: %v", err)
	}
	if n := len(s.Messages("C0OPS")); n != 30 {
		t.Errorf("%d messages in the channel, want 30", n)
	}
	st := s.LimitStats()
	if st.Answered429() == 0 {
		t.Error("the stand-in never limited: the test shows nothing")
	}
	if st.Violations != 0 {
		t.Errorf("%d calls made before their Retry-After: %+v", st.Violations, st.ViolationsBy)
	}
	if q.Limited() != int64(st.Answered429()) {
		t.Errorf("the queue saw %d 429s, the stand-in answered %d", q.Limited(), st.Answered429())
	}
}

// A person's ephemeral answer does not wait behind a card update in flight: the
// methods are separate lanes.
func TestEphemeralsDoNotQueueBehindCardUpdates(t *testing.T) {
	s, _, q := world(t)
	ctx := context.Background()
	_, ts, err := q.PostMessageContext(ctx, "C0OPS", slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	s.Fail("POST /api/chat.update", &sandbox.Fault{Gate: gate, Times: 1})
	updated := make(chan error, 1)
	go func() {
		_, _, _, err := q.UpdateMessageContext(ctx, "C0OPS", ts, slack.MsgOptionText("card v2", false))
		updated <- err
	}()
	// Once the update is at Slack, an ephemeral answer goes through while it is held.
	for s.Inflight("POST /api/chat.update") == 0 {
		select {
		case err := <-updated:
			t.Fatalf("the update returned before its gate opened: %v", err)
		default:
		}
		time.Sleep(time.Millisecond) // polling the stand-in's state, not ordering events
	}
	if _, err := q.PostEphemeralContext(ctx, "C0OPS", "U1", slack.MsgOptionText("your answer", false)); err != nil {
		t.Fatalf("ephemeral: %v", err)
	}
	if s.Inflight("POST /api/chat.update") != 1 {
		t.Fatal("the update finished first: the test proves nothing")
	}
	close(gate)
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
}

// A call that Slack keeps limiting gives up after MaxLimited 429s with Slack's
// error, so its caller can decide; it never calls inside a Retry-After meanwhile.
func TestALimitedCallGivesUpWithTheRateLimitError(t *testing.T) {
	s, _, q := world(t)
	s.Fail("POST /api/views.publish", &sandbox.Fault{Status: 429, RetryAfter: "3"})
	_, err := q.PublishViewContext(context.Background(), slack.PublishViewContextRequest{UserID: "U1", View: slack.HomeTabViewRequest{Type: slack.VTHomeTab}})
	if _, ok := err.(*slack.RateLimitedError); !ok {
		t.Fatalf("err = %v, want *slack.RateLimitedError", err)
	}
	if n := s.Count("POST /api/views.publish", false); n != slackq.MaxLimited {
		t.Errorf("%d calls, want %d", n, slackq.MaxLimited)
	}
}

// Once Slack has limited a channel, the posts to it keep to one a second, as
// Slack's limit refills: sixty posts past the channel's burst meet one 429, not
// one at every other post as a queue that only waits out Retry-After does.
func TestALimitedChannelKeepsToSlacksPace(t *testing.T) {
	s, c, q := world(t)
	start := c.Now()
	for i := range 60 {
		if _, _, err := q.PostMessageContext(context.Background(), "C0OPS", slack.MsgOptionText(fmt.Sprintf("note %d", i), false)); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if n := len(s.Messages("C0OPS")); n != 60 {
		t.Errorf("%d messages in the channel, want 60", n)
	}
	st := s.LimitStats()
	if st.Answered429() != 1 || st.Violations != 0 {
		t.Errorf("Slack answered %d 429s (%d violations), want 1 (0)", st.Answered429(), st.Violations)
	}
	// Five at once, then one a second (the queue's waits move the clock).
	if took := c.Now().Sub(start); took < 54*time.Second || took > 57*time.Second {
		t.Errorf("sixty posts took %s of Slack's time, want about 55 s", took)
	}
}

// A post built when due takes what its caller has when the post's turn comes, not
// what it had when it started waiting: a card's notes that came while its post
// waited out the channel's pace go in that post.
func TestAPostWhenDueIsBuiltWhenItsTurnComes(t *testing.T) {
	s := sbslack.New(bot, app)
	t.Cleanup(s.Close)
	s.AddChannel("C0OPS", "ops")
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.SetLimits(sbslack.Limits{On: true, Now: c.Now})
	waiting, release := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	sleep := func(ctx context.Context, d time.Duration) error {
		if armed.CompareAndSwap(true, false) {
			close(waiting)
			<-release
		}
		return c.Sleep(ctx, d)
	}
	q := slackq.New(slackq.Config{API: slack.New(bot, slack.OptionAPIURL(s.APIURL())), Now: c.Now, Sleep: sleep})
	ctx := context.Background()
	// Past the channel's burst: Slack limits it, and its posts go at its pace.
	for i := 0; q.Limited() == 0; i++ {
		if _, _, err := q.PostMessageContext(ctx, "C0OPS", slack.MsgOptionText(fmt.Sprintf("burst %d", i), false)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	notes, builds := []string{"note 1"}, 0
	build := func() []slack.MsgOption {
		mu.Lock()
		defer mu.Unlock()
		builds++
		return []slack.MsgOption{slack.MsgOptionText(strings.Join(notes, "\n"), false)}
	}
	armed.Store(true)
	posted := make(chan error, 1)
	go func() {
		_, _, err := q.PostMessageWhenDue(ctx, "C0OPS", build)
		posted <- err
	}()
	<-waiting // the post waits out the channel's pace, built from nothing yet
	mu.Lock()
	notes = append(notes, "note 2")
	mu.Unlock()
	close(release)
	if err := <-posted; err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages("C0OPS")
	if got := msgs[len(msgs)-1].Text; got != "note 1\nnote 2" {
		t.Errorf("the post says %q, want both notes", got)
	}
	if builds != 1 {
		t.Errorf("built %d times for one call, want 1", builds)
	}
	if st := s.LimitStats(); st.Violations != 0 {
		t.Errorf("%d calls made before their Retry-After", st.Violations)
	}
}
