// Package slack is a local stand-in of Slack as rotabot meets it: the Web API
// methods the bot calls (chat, conversations, users, user groups, views, response
// URLs) and the Socket Mode websocket that brings it envelopes, on one HTTP server on
// 127.0.0.1. It speaks Slack's real wire format — form or JSON bodies, tokens by kind,
// `{"ok":false,"error":…}` answers, Block Kit validation, envelope acks within the
// deadline — so slack-go talks to it unchanged, and a test plays the people. It must
// not know rotabot's packages: it is the outside world, reached only through the SDK.
package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// Slack is a local stand-in of the Slack Web API and of Socket Mode, on one HTTP server.
// Point slack-go at it with slack.OptionAPIURL(s.APIURL()); socketmode.New on that
// client then opens its websocket here too.
//
// It keeps a small workspace (users, user groups, channels, DMs), records every message,
// ephemeral message, modal and App Home view the bot produces, and lets a test play a
// person: Send* put Socket Mode envelopes on the link and WaitAck returns the bot's ack.
// Every HTTP call is logged and obeys Fail (routes are "POST /api/chat.postMessage",
// "POST /api/apps.connections.open", "GET /link/", "POST /response/{id}" …); FailWith
// makes a method answer Slack's own `{"ok":false,"error":…}` instead. The Web API is
// rate-limited as Slack limits it (SetLimits, LimitStats; on from the start).
//
// It never prints anything: messages can carry secrets by mistake, and a test that greps
// AllText for leaks must be the one to find them.
type Slack struct {
	*standin.Server

	// The workspace's fixed identity, as auth.test and the envelopes show it.
	TeamID, TeamDomain, AppID, BotUserID, BotID, BotName string

	mu       sync.Mutex
	botToken string
	appToken string
	failWith map[string]*slackFailure
	limiter  *slackLimiter
	changed  chan struct{} // closed and replaced on every state change
	closed   bool

	users     map[string]*slackUser
	groups    map[string][]string
	channels  map[string]*slackChannel
	dmByUser  map[string]string
	tsBase    int64
	tsSeq     int64
	idSeq     int
	ephemeral []*Message

	views    []*View // modals, in the order they were opened
	viewByID map[string]*View
	homes    map[string]*View

	triggers  map[string]*slackTrigger
	responses map[string]*slackResponseURL

	// Socket Mode.
	pingEvery time.Duration
	tickets   map[string]bool
	links     []*slackLink
	linkSeq   int
	rr        int
	connects  int
	pongs     int
	pending   [][]byte
	sent      map[string][]Envelope
	delivered map[string]time.Time // when each envelope last went out on a link
	ackWithin time.Duration        // Slack's ack deadline (3 s)
	lateAcks  []LateAck
	acks      map[string][]json.RawMessage
	ackRead   map[string]int
	wsIn      [][]byte
	wg        sync.WaitGroup
}

type slackUser struct {
	id, name string
	bot      bool
}

type slackChannel struct {
	id, name string
	imUser   string // for a DM, the person at the other end
	msgs     []*Message
}

type slackTrigger struct {
	user string
	used bool
	at   time.Time // when the envelope carrying it was delivered: it lives 3 s
}

// LateAck is an ack Slack discarded: it came after the deadline. Slack shows the
// person an error instead ("We had some trouble connecting" on a modal,
// "operation_timeout" for a command) and ignores the ack's payload.
type LateAck struct {
	EnvelopeID string
	Type       string        // "slash_commands" or "view_submission"
	After      time.Duration // from delivery to the ack
}

type slackResponseURL struct {
	id, channel, user, messageTS string
	uses                         int
}

type slackFailure struct {
	code  string
	times int
}

// Message is a message as Slack holds it: posted, updated, ephemeral, or written through
// a response_url.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // the parent's ts for a reply in a thread, else ""
	// User is the author (the bot) for channel messages, and the one person who sees it
	// for an ephemeral message.
	User      string
	Text      string
	Blocks    []map[string]any // decoded Block Kit, with Slack's block_id/action_id filled in
	Ephemeral bool
	Deleted   bool
	// Method is how it was written: "chat.postMessage", "chat.postEphemeral",
	// "response_url", "ack" (a slash command's ack payload).
	Method string
	// History holds the earlier versions, oldest first, when it was updated.
	History []Message
}

// View is a modal (views.open, or pushed by a view_submission ack) or a user's App Home.
type View struct {
	ID              string
	ExternalID      string
	Type            string // "modal" or "home"
	User            string
	CallbackID      string
	PrivateMetadata string
	Hash            string
	RootViewID      string
	Title           string
	Submit          string
	Blocks          []map[string]any
	// Errors are the field errors of the last `response_action: errors` ack, by block_id.
	Errors map[string]string
	// Closed is set once a submission was acked without errors (or with "clear").
	Closed bool
	// Raw is the view object the bot sent, as sent.
	Raw     json.RawMessage
	History []View
}

// Button is an interactive button found in a message's or a view's blocks.
type Button struct {
	Text, ActionID, BlockID, Value, Style, URL string
	// Confirm is the text of the button's confirm dialog ("" for none).
	Confirm string
}

// New starts a stand-in that accepts botToken (xoxb-…) for the Web API and appToken
// (xapp-…) for apps.connections.open. The bot user exists from the start.
func New(botToken, appToken string) *Slack {
	s := &Slack{
		Server:     standin.NewServer(slackErrorBody),
		TeamID:     "T0SANDBOX",
		TeamDomain: "sandbox",
		AppID:      "A0ROTABOT",
		BotUserID:  "U0ROTABOT",
		BotID:      "B0ROTABOT",
		BotName:    "rotabot",
		botToken:   botToken,
		appToken:   appToken,
		failWith:   map[string]*slackFailure{},
		limiter:    newSlackLimiter(),
		changed:    make(chan struct{}),
		users:      map[string]*slackUser{},
		groups:     map[string][]string{},
		channels:   map[string]*slackChannel{},
		dmByUser:   map[string]string{},
		tsBase:     standin.WallNow().Unix(),
		viewByID:   map[string]*View{},
		homes:      map[string]*View{},
		triggers:   map[string]*slackTrigger{},
		responses:  map[string]*slackResponseURL{},
		pingEvery:  10 * time.Second,
		tickets:    map[string]bool{},
		sent:       map[string][]Envelope{},
		delivered:  map[string]time.Time{},
		ackWithin:  SlackAckDeadline,
		acks:       map[string][]json.RawMessage{},
		ackRead:    map[string]int{},
	}
	s.users[s.BotUserID] = &slackUser{id: s.BotUserID, name: s.BotName, bot: true}
	s.routes()
	return s
}

// slackErrorBody is what a Fault's status answers with. Slack's own errors come with 200;
// these are for the transport-level faults a test injects.
func slackErrorBody(status int) any {
	code := "internal_error"
	switch {
	case status == http.StatusTooManyRequests:
		code = "ratelimited"
	case status == http.StatusUnauthorized:
		code = "invalid_auth"
	case status == http.StatusForbidden:
		code = "access_denied"
	case status == http.StatusNotFound:
		code = "unknown_method"
	case status == http.StatusOK:
		code = "fatal_error"
	case status < 500:
		code = "invalid_request"
	}
	return map[string]any{"ok": false, "error": code}
}

// APIURL is the value for slack.OptionAPIURL (it ends in "/").
func (s *Slack) APIURL() string { return s.URL + "/api/" }

// SetTokens replaces the accepted tokens (a revoked or rotated Slack token).
func (s *Slack) SetTokens(botToken, appToken string) {
	s.mu.Lock()
	s.botToken, s.appToken = botToken, appToken
	s.mu.Unlock()
}

// FailWith makes route (e.g. "POST /api/views.open") answer 200
// `{"ok":false,"error":code}` — Slack's way of failing — for the next times requests
// (0: until cleared). FailWith(route, "", 0) clears it.
func (s *Slack) FailWith(route, code string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.failWith, route)
		return
	}
	s.failWith[route] = &slackFailure{code: code, times: times}
}

func (s *Slack) takeFailure(route string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.failWith[route]
	if !ok {
		return ""
	}
	if f.times > 0 {
		f.times--
		if f.times == 0 {
			delete(s.failWith, route)
		}
	}
	return f.code
}

// AddUser adds (or renames) a workspace member.
func (s *Slack) AddUser(id, name string) {
	s.mu.Lock()
	s.users[id] = &slackUser{id: id, name: name}
	s.mu.Unlock()
}

// AddUsergroup sets a user group's members (replacing any earlier list).
func (s *Slack) AddUsergroup(id string, members ...string) {
	s.mu.Lock()
	s.groups[id] = slices.Clone(members)
	s.mu.Unlock()
}

// AddChannel adds a public channel the bot is a member of.
func (s *Slack) AddChannel(id, name string) {
	s.mu.Lock()
	if c, ok := s.channels[id]; ok {
		c.name = name
	} else {
		s.channels[id] = &slackChannel{id: id, name: name}
	}
	s.mu.Unlock()
}

// AddDM makes channel (a D… id) the bot's DM with user, as when a routing matrix
// names a person by their DM channel.
func (s *Slack) AddDM(channel, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.dmByUser[user]; ok && old != channel {
		delete(s.channels, old)
	}
	s.channels[channel] = &slackChannel{id: channel, name: "directmessage", imUser: user}
	s.dmByUser[user] = channel
}

// DMChannel returns the id of the bot's DM with user, opening it if needed.
func (s *Slack) DMChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked(user)
}

func (s *Slack) dmLocked(user string) string {
	if id, ok := s.dmByUser[user]; ok {
		return id
	}
	s.idSeq++
	id := fmt.Sprintf("D%08d", s.idSeq)
	s.channels[id] = &slackChannel{id: id, name: "directmessage", imUser: user}
	s.dmByUser[user] = id
	return id
}

// channelLocked resolves a channel id, a "#name", a name, or a user id (its DM).
func (s *Slack) channelLocked(ref string) *slackChannel {
	if ref == "" {
		return nil
	}
	if c, ok := s.channels[ref]; ok {
		return c
	}
	if _, ok := s.users[ref]; ok {
		return s.channels[s.dmLocked(ref)]
	}
	name := strings.TrimPrefix(ref, "#")
	for _, c := range s.channels {
		if c.imUser == "" && c.name == name {
			return c
		}
	}
	return nil
}

func (s *Slack) nextTSLocked() string {
	s.tsSeq++
	return fmt.Sprintf("%d.%06d", s.tsBase+s.tsSeq/1000000, s.tsSeq%1000000)
}

func (s *Slack) nextIDLocked(prefix string) string {
	s.idSeq++
	return fmt.Sprintf("%s%08d", prefix, s.idSeq)
}

func (s *Slack) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true, the timeout passes or the
// stand-in closes.
func (s *Slack) waitFor(timeout time.Duration, what string, cond func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return nil
		}
		if s.closed {
			s.mu.Unlock()
			return errors.New("sandbox: slack stand-in closed while waiting for " + what)
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("sandbox: timed out after %s waiting for %s", timeout, what)
		}
	}
}

// findMessageLocked finds a live channel message.
func (s *Slack) findMessageLocked(channel, ts string) *Message {
	c := s.channelLocked(channel)
	if c == nil {
		return nil
	}
	for _, m := range c.msgs {
		if m.TS == ts && !m.Deleted {
			return m
		}
	}
	return nil
}

// findEphemeralLocked finds an ephemeral message (they live outside the channel).
func (s *Slack) findEphemeralLocked(channel, ts string) *Message {
	for _, m := range s.ephemeral {
		if m.Channel == channel && m.TS == ts && !m.Deleted {
			return m
		}
	}
	return nil
}

func (m *Message) snapshot() Message {
	cp := *m
	cp.History = slices.Clone(m.History)
	return cp
}

func (v *View) snapshot() View {
	cp := *v
	cp.History = slices.Clone(v.History)
	return cp
}

// update applies a new version of m, keeping the old one in History.
func (m *Message) update(text *string, blocks []map[string]any, setBlocks bool, method string) {
	old := *m
	old.History = nil
	m.History = append(m.History, old)
	if text != nil {
		m.Text = *text
	}
	if setBlocks {
		m.Blocks = blocks
	}
	if method != "" {
		m.Method = method
	}
}

// ---- accessors for tests ----

// Messages returns every message posted in channel (an id, or a user id for the DM),
// replies included, in post order; updated ones in their latest version.
func (s *Slack) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channel]
	if c == nil {
		if id, ok := s.dmByUser[channel]; ok {
			c = s.channels[id]
		}
	}
	if c == nil {
		return nil
	}
	out := make([]Message, 0, len(c.msgs))
	for _, m := range c.msgs {
		out = append(out, m.snapshot())
	}
	return out
}

// Message returns one channel message by its ts.
func (s *Slack) Message(channel, ts string) (Message, bool) {
	for _, m := range s.Messages(channel) {
		if m.TS == ts {
			return m, true
		}
	}
	return Message{}, false
}

// Thread returns the replies to the message ts (not the parent), in order.
func (s *Slack) Thread(channel, ts string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.ThreadTS == ts && m.TS != ts {
			out = append(out, m)
		}
	}
	return out
}

// DMs returns the messages in the bot's DM with user.
func (s *Slack) DMs(user string) []Message {
	s.mu.Lock()
	id, ok := s.dmByUser[user]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.Messages(id)
}

// Ephemerals returns the ephemeral messages shown to user, in order.
func (s *Slack) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.ephemeral {
		if m.User == user {
			out = append(out, m.snapshot())
		}
	}
	return out
}

// Views returns every modal opened so far (latest versions), in opening order.
func (s *Slack) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.views))
	for _, v := range s.views {
		out = append(out, v.snapshot())
	}
	return out
}

// ViewByID returns a modal or home view by id.
func (s *Slack) ViewByID(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.viewByID[id]
	if !ok {
		return View{}, false
	}
	return v.snapshot(), true
}

// HomeView returns the App Home last published for user.
func (s *Slack) HomeView(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.homes[user]
	if !ok {
		return View{}, false
	}
	return v.snapshot(), true
}

// Payloads returns every body the bot sent: HTTP request bodies (Web API and
// response_url, in order) and then every websocket frame it wrote (acks). They include
// the Slack token form field.
func (s *Slack) Payloads() [][]byte {
	var out [][]byte
	for _, r := range s.Requests() {
		if len(r.Body) > 0 {
			out = append(out, slices.Clone(r.Body))
		}
	}
	s.mu.Lock()
	for _, f := range s.wsIn {
		out = append(out, slices.Clone(f))
	}
	s.mu.Unlock()
	return out
}

// AllText is everything the bot sent to Slack, for leak checks: form fields decoded (the
// `token` field, which is the bot's own Slack token, left out), JSON bodies as sent,
// query strings decoded, and the websocket acks. Headers are left out.
func (s *Slack) AllText() string {
	var b strings.Builder
	writeValues := func(v url.Values) {
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "token" {
				continue
			}
			for _, x := range v[k] {
				b.WriteString(k + "=" + x + "\n")
			}
		}
	}
	for _, r := range s.Requests() {
		if q, err := url.ParseQuery(r.Query); err == nil {
			writeValues(q)
		}
		if len(r.Body) == 0 {
			continue
		}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/x-www-form-urlencoded" {
			if v, err := url.ParseQuery(string(r.Body)); err == nil {
				writeValues(v)
				continue
			}
		}
		b.Write(r.Body)
		b.WriteString("\n")
	}
	s.mu.Lock()
	for _, f := range s.wsIn {
		b.Write(f)
		b.WriteString("\n")
	}
	s.mu.Unlock()
	return b.String()
}

// Close drops every Socket Mode link, waits for the stand-in's goroutines and stops
// the server.
func (s *Slack) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	links := s.links
	s.links = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, l := range links {
		l.close()
	}
	s.wg.Wait()
	s.Server.Close()
}

// ---- helpers on decoded blocks ----

// Buttons lists the buttons in the message's blocks (actions blocks and section
// accessories), in order.
func (m Message) Buttons() []Button { return slackButtons(m.Blocks) }

// Button finds a button by its label.
func (m Message) Button(label string) (Button, bool) { return slackFindButton(m.Blocks, label) }

// Content is the message's text and every text in its blocks, one per line: what a
// person can read.
func (m Message) Content() string { return slackContent(m.Text, m.Blocks) }

// Buttons lists the buttons in the view.
func (v View) Buttons() []Button { return slackButtons(v.Blocks) }

// Button finds a button in the view by its label.
func (v View) Button(label string) (Button, bool) { return slackFindButton(v.Blocks, label) }

// Content is the view's title and every text in its blocks.
func (v View) Content() string { return slackContent(v.Title, v.Blocks) }

func slackButtons(blocks []map[string]any) []Button {
	var out []Button
	add := func(blockID string, el any) {
		e, ok := el.(map[string]any)
		if !ok || e["type"] != "button" {
			return
		}
		b := Button{BlockID: blockID}
		b.ActionID, _ = e["action_id"].(string)
		b.Value, _ = e["value"].(string)
		b.Style, _ = e["style"].(string)
		b.URL, _ = e["url"].(string)
		if t, ok := e["text"].(map[string]any); ok {
			b.Text, _ = t["text"].(string)
		}
		if c, ok := e["confirm"].(map[string]any); ok {
			if t, ok := c["text"].(map[string]any); ok {
				b.Confirm, _ = t["text"].(string)
			}
		}
		out = append(out, b)
	}
	for _, blk := range blocks {
		id, _ := blk["block_id"].(string)
		if els, ok := blk["elements"].([]any); ok {
			for _, el := range els {
				add(id, el)
			}
		}
		if acc, ok := blk["accessory"]; ok {
			add(id, acc)
		}
	}
	return out
}

func slackFindButton(blocks []map[string]any, label string) (Button, bool) {
	for _, b := range slackButtons(blocks) {
		if b.Text == label {
			return b, true
		}
	}
	return Button{}, false
}

func slackContent(text string, blocks []map[string]any) string {
	var parts []string
	if text != "" {
		parts = append(parts, text)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["text"].(string); ok && t != "" {
				parts = append(parts, t)
			} else if t, ok := x["text"]; ok {
				walk(t)
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				if k != "text" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, b := range blocks {
		walk(b)
	}
	return strings.Join(parts, "\n")
}
