package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/slack-go/slack"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// Slack is the part of slack-go's *slack.Client the handlers use.
type Slack interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	UpdateViewContext(ctx context.Context, view slack.ModalViewRequest, externalID, hash, viewID string) (*slack.ViewResponse, error)
	PublishViewContext(ctx context.Context, req slack.PublishViewContextRequest) (*slack.ViewResponse, error)
	OpenConversationContext(ctx context.Context, params *slack.OpenConversationParameters) (*slack.Channel, bool, bool, error)
	GetUserGroupMembersContext(ctx context.Context, userGroup string, options ...slack.GetUserGroupMembersOption) ([]string, error)
	GetPermalinkContext(ctx context.Context, params *slack.PermalinkParameters) (string, error)
	UserInfo
}

var _ Slack = (*slack.Client)(nil)

// Store is what the handlers read: runs (status, list, history, a card drawn
// again) and expiry records (/rotate expiring, App Home).
type Store interface {
	rotation.RunStore
	rotation.ExpiryStore
}

// Config is what the handlers need, set by the command (or a test). New fills in
// the defaults; the config is not changed after.
type Config struct {
	Engine *rotation.Engine
	Matrix *rotation.Matrix
	Store  Store
	Slack  Slack
	// HTTP posts to Slack's response_url (slash commands and buttons); default
	// egress.Open: https only (loopback excepted), with a deadline.
	HTTP *http.Client
	Log  *slog.Logger     // default: discard
	Now  func() time.Time // default rotation.WallNow
	// Work is the context background work runs under (runs carried on after a
	// gesture); it outlives a single envelope (default context.Background()).
	Work context.Context
	// Drift is the drift check: /rotate drift, the posts' Set it from
	// Infisical, open drift in App Home and /rotate expiring (nil: none).
	Drift *drift.Loop
	// Where finds where a secret's value is held: /rotate where (default: a
	// scan with no platform key, which says HEROKU_API_KEY is needed).
	Where *discover.Scanner
	// GroupTTL is how long the ops group's members are cached (default 1 min).
	GroupTTL time.Duration
	// GroupStale is how long past GroupTTL the last list is still used while Slack
	// fails to give a new one (default 4 min); after it, actions are refused.
	GroupStale time.Duration
}

// Handlers holds what every gesture needs. Build it with New.
type Handlers struct {
	Config

	ops   opsGroup
	users *knownUsers // people's names, read once in NameTTL
}

// New returns the handlers on c, with c's defaults filled in once.
func New(c Config) *Handlers {
	if c.HTTP == nil {
		// A response_url carries no credential, but still: https only
		// (loopback excepted), no redirect off its host, a deadline.
		c.HTTP = egress.Open(nil, 10*time.Second)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = rotation.WallNow
	}
	if c.Work == nil {
		c.Work = context.Background()
	}
	if c.Where == nil {
		c.Where = discover.New(discover.Config{Matrix: c.Matrix})
	}
	if c.GroupTTL <= 0 {
		c.GroupTTL = time.Minute
	}
	if c.GroupStale <= 0 {
		c.GroupStale = 4 * time.Minute
	}
	return &Handlers{Config: c, users: &knownUsers{api: c.Slack, now: c.Now}}
}

// now is the clock in UTC.
func (h *Handlers) now() time.Time { return h.Now().UTC() }

// requireOps answers a refusal and returns false when user may not act.
func (h *Handlers) requireOps(ctx context.Context, r replier, user string) bool {
	ok, err := h.isOps(ctx, user)
	if err != nil {
		h.Log.Error("cannot read the ops user group", "group", h.Matrix.OpsUsergroup, "err", err)
		r.say(ctx, rotation.ErrorMessage(err))
		return false
	}
	if !ok {
		r.say(ctx, "Only members of the ops user group <!subteam^"+h.Matrix.OpsUsergroup+"> may do this. Ask an ops member.")
		return false
	}
	return true
}

// replier answers one person, ephemerally.
type replier struct {
	h           *Handlers
	responseURL string
	channel     string
	user        string
}

func (h *Handlers) replier(responseURL, channel, user string) replier {
	return replier{h: h, responseURL: responseURL, channel: channel, user: user}
}

// say answers with text (and optional blocks) that only the person sees.
func (r replier) say(ctx context.Context, text string, blocks ...slack.Block) {
	var err error
	if r.responseURL != "" {
		msg := &slack.WebhookMessage{Text: text, ResponseType: slack.ResponseTypeEphemeral}
		if len(blocks) > 0 {
			msg.Blocks = &slack.Blocks{BlockSet: blocks}
		}
		err = slack.PostWebhookCustomHTTPContext(ctx, r.responseURL, r.h.HTTP, msg)
	} else {
		opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
		if len(blocks) > 0 {
			opts = append(opts, slack.MsgOptionBlocks(blocks...))
		}
		_, err = r.h.Slack.PostEphemeralContext(ctx, r.channel, r.user, opts...)
	}
	if err != nil {
		r.h.Log.Warn("could not answer", "user", r.user, "err", withoutURL(err))
	}
}

// withoutURL drops the URL from a failed request's error: a response_url is a
// capability (anyone holding it may answer that person) and stays out of logs.
func withoutURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " (response_url): " + ue.Err.Error()
	}
	return err.Error()
}

// fail answers an engine error in a person's words.
func (r replier) fail(ctx context.Context, err error) {
	switch rotation.ErrorCode(err) {
	case rotation.EINTERNAL:
		r.h.Log.Error("internal error", "err", err)
	}
	r.say(ctx, rotation.ErrorMessage(err))
}

// logPanic logs a recovered panic with its type and the stack, never its value,
// which could hold whatever the gesture had in hand.
func (h *Handlers) logPanic(what string, p any) {
	h.Log.Error(what+" panicked", "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
}

// recoverAnswer stops a panic in a gesture: it is logged without its value, the
// person is told, and whatever the engine had not recorded stays as it was (a
// state change is one store transaction), so pressing again can carry on.
func (h *Handlers) recoverAnswer(ctx context.Context, r replier) {
	if p := recover(); p != nil {
		h.logPanic("gesture", p)
		r.say(ctx, "Something went wrong on rotabot's side and what you asked was not finished (its logs say what). Nothing half-done was kept: try again, or see /rotate status.")
	}
}
