package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// The Socket Mode half of the Slack stand-in: apps.connections.open hands out a
// single-use ws:// URL; the link sends `hello` first, PINGs every PingInterval, spreads
// envelopes round-robin over the open links and queues them while none is open (Slack
// keeps retrying). Acks come back as `{"envelope_id":…,"payload":…}` frames.

// Envelope is one Socket Mode envelope, as it travels on the link.
type Envelope struct {
	Type                   string          `json:"type"` // slash_commands | interactive | events_api
	EnvelopeID             string          `json:"envelope_id"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	Payload                json.RawMessage `json:"payload"`
}

// SlashCommand is a person typing a slash command.
type SlashCommand struct {
	User    string // user id; must be added with AddUser
	Channel string // channel id (AddChannel) or a DM id
	Command string // e.g. "/rotate"
	Text    string
	// Left empty, these are made up (and the trigger_id works with views.open).
	TriggerID, ResponseURL, EnvelopeID string
}

// BlockAction is a person clicking a button on a message (MessageTS) or in a view (ViewID).
type BlockAction struct {
	User      string
	Channel   string
	MessageTS string
	ViewID    string
	ActionID  string
	BlockID   string // required by slack-go to see a block action; made up if empty
	Value     string
	Text      string // the button's label
	// Left empty, these are made up.
	TriggerID, ResponseURL, EnvelopeID string
}

// ViewSubmission is a person pressing Submit on an open modal.
type ViewSubmission struct {
	User   string
	ViewID string // a modal opened with views.open; its callback_id and metadata are sent
	// Values by block_id then action_id. Text inputs take the value as typed; selects take
	// the option value; checkboxes and multi-selects take values separated by "\n".
	Values                map[string]map[string]string
	TriggerID, EnvelopeID string
}

var slackUpgrader = websocket.Upgrader{
	// slack-go dials with Origin: https://api.slack.com.
	CheckOrigin: func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == "https://api.slack.com"
	},
}

type slackLink struct {
	id   int
	conn *websocket.Conn
	wmu  sync.Mutex // gorilla allows one writer at a time
	done chan struct{}
	once sync.Once
}

func (l *slackLink) writeLocked(b []byte) error {
	_ = l.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return l.conn.WriteMessage(websocket.TextMessage, b)
}

func (l *slackLink) write(b []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.writeLocked(b)
}

func (l *slackLink) close() {
	l.once.Do(func() {
		close(l.done)
		_ = l.conn.Close()
	})
}

// SetPingInterval sets how often each new link is PINGed (default 10 s; slack-go gives
// up on a link after 30 s without one). d must be positive.
func (s *Slack) SetPingInterval(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	s.pingEvery = d
	s.mu.Unlock()
}

func (s *Slack) connectionsOpen(_ *http.Request, _ slackInput) slackReply {
	s.mu.Lock()
	ticket := slackRandID()
	s.tickets[ticket] = true
	s.mu.Unlock()
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + s.AppID
	return slackReply{body: slackOK(map[string]any{"url": u})}
}

func (s *Slack) link(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok, closed := s.tickets[ticket], s.closed
	delete(s.tickets, ticket)
	if !closed {
		s.wg.Add(1) // Close waits for this handler: the hijacked link outlives the HTTP server's tracking
	}
	s.mu.Unlock()
	if !closed {
		defer s.wg.Done()
	}
	if !ok || closed {
		standin.WriteJSON(w, http.StatusUnauthorized, map[string]any{"ok": false, "error": "invalid_ticket"})
		return
	}
	conn, err := slackUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	l := &slackLink{conn: conn, done: make(chan struct{})}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	s.mu.Lock()
	s.linkSeq++
	l.id = s.linkSeq
	hello, _ := json.Marshal(map[string]any{
		"type": "hello", "num_connections": len(s.links) + 1,
		"debug_info":      map[string]any{"host": fmt.Sprintf("applink-sandbox-%d", l.id), "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": s.AppID},
	})
	every := s.pingEvery
	s.mu.Unlock()
	if err := l.writeLocked(hello); err != nil {
		l.close()
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.close()
		return
	}
	s.links = append(s.links, l)
	s.connects++
	queued := s.pending
	s.pending = nil
	s.wg.Add(2)
	s.notifyLocked()
	s.mu.Unlock()
	go s.readLoop(l)
	go s.pingLoop(l, every)
	for i, b := range queued {
		if err := l.writeLocked(b); err != nil {
			s.mu.Lock()
			s.pending = append(append([][]byte(nil), queued[i:]...), s.pending...)
			s.mu.Unlock()
			l.close()
			return
		}
		s.markDelivered(b)
	}
}

func (s *Slack) readLoop(l *slackLink) {
	defer s.wg.Done()
	defer s.removeLink(l)
	l.conn.SetPongHandler(func(string) error {
		s.mu.Lock()
		s.pongs++
		s.notifyLocked()
		s.mu.Unlock()
		return nil
	})
	for {
		_, data, err := l.conn.ReadMessage()
		if err != nil {
			return
		}
		s.onFrame(data)
	}
}

func (s *Slack) pingLoop(l *slackLink, every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-l.done:
			return
		case <-t.C:
			if err := l.conn.WriteControl(websocket.PingMessage, []byte(strconv.Itoa(n)), time.Now().Add(5*time.Second)); err != nil {
				l.close()
				return
			}
		}
	}
}

func (s *Slack) removeLink(l *slackLink) {
	l.close()
	s.mu.Lock()
	for i, x := range s.links {
		if x == l {
			s.links = append(s.links[:i:i], s.links[i+1:]...)
			break
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
}

// onFrame applies what an ack's payload asks for, then records the ack (so a test that
// waited for the ack sees its effects).
func (s *Slack) onFrame(data []byte) {
	var ack struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	_ = json.Unmarshal(data, &ack)
	if len(ack.Payload) == 0 || string(ack.Payload) == "null" {
		ack.Payload = nil
	}
	s.mu.Lock()
	s.wsIn = append(s.wsIn, append([]byte(nil), data...))
	var env Envelope
	if sent := s.sent[ack.EnvelopeID]; ack.EnvelopeID != "" && len(sent) > 0 {
		env = sent[len(sent)-1]
	}
	kind := env.Type
	if kind == "interactive" {
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(env.Payload, &p)
		kind = p.Type
	}
	if at, ok := s.delivered[ack.EnvelopeID]; ok && (kind == "slash_commands" || kind == "view_submission") {
		if after := time.Since(at); after > s.ackWithin {
			// Too late: Slack already told the person it failed, and drops the
			// ack and whatever it asked for.
			s.lateAcks = append(s.lateAcks, LateAck{EnvelopeID: ack.EnvelopeID, Type: kind, After: after})
			s.notifyLocked()
			s.mu.Unlock()
			return
		}
	}
	s.mu.Unlock()
	switch env.Type {
	case "slash_commands":
		// An ack payload with a message answers the command (ephemeral unless in_channel).
		var msg slackResponseMessage
		if ack.Payload != nil && json.Unmarshal(ack.Payload, &msg) == nil && (msg.Text != "" || len(msg.Blocks) > 0) {
			var p struct {
				ChannelID string `json:"channel_id"`
				UserID    string `json:"user_id"`
			}
			_ = json.Unmarshal(env.Payload, &p)
			msg.ReplaceOriginal, msg.DeleteOriginal = false, false
			s.applyResponse(p.ChannelID, p.UserID, "", msg, "ack")
		}
	case "interactive":
		var p struct {
			Type string `json:"type"`
			View struct {
				ID string `json:"id"`
			} `json:"view"`
		}
		_ = json.Unmarshal(env.Payload, &p)
		if p.Type == "view_submission" {
			s.applyViewAck(p.View.ID, ack.Payload)
		}
	}
	if ack.EnvelopeID == "" {
		return
	}
	s.mu.Lock()
	s.acks[ack.EnvelopeID] = append(s.acks[ack.EnvelopeID], ack.Payload)
	s.notifyLocked()
	s.mu.Unlock()
}

// applyViewAck does what a view_submission ack asks: close the modal (no payload,
// "clear"), show field errors ("errors"), replace it ("update") or stack a new one
// ("push").
func (s *Slack) applyViewAck(viewID string, payload json.RawMessage) {
	var r struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           json.RawMessage   `json:"view"`
	}
	if payload != nil {
		_ = json.Unmarshal(payload, &r)
	}
	var nv *View
	if r.ResponseAction == "update" || r.ResponseAction == "push" {
		if v, rep := s.parseView(r.View, "modal"); rep.code == "" {
			nv = v
		} else {
			return // Slack shows the person an error and keeps the modal as it was.
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.viewByID[viewID]
	if cur == nil {
		return
	}
	switch r.ResponseAction {
	case "errors":
		cur.Errors = r.Errors
	case "update":
		s.replaceViewLocked(cur, nv)
	case "push":
		nv.ID = s.nextIDLocked("V")
		nv.RootViewID = cur.RootViewID
		nv.User = cur.User
		nv.Hash = s.newHashLocked()
		s.views = append(s.views, nv)
		s.viewByID[nv.ID] = nv
	case "clear":
		for _, v := range s.views {
			if v.RootViewID == cur.RootViewID {
				v.Closed = true
			}
		}
	default:
		cur.Closed = true
		cur.Errors = nil
	}
	s.notifyLocked()
}

// deliver sends a frame on the next open link, or queues it until one opens.
func (s *Slack) deliver(b []byte) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errors.New("sandbox: slack stand-in closed")
		}
		if len(s.links) == 0 {
			s.pending = append(s.pending, b)
			s.notifyLocked()
			s.mu.Unlock()
			return nil
		}
		l := s.links[s.rr%len(s.links)]
		s.rr++
		s.mu.Unlock()
		if err := l.write(b); err == nil {
			s.markDelivered(b)
			return nil
		}
		s.removeLink(l)
	}
}

// SlackAckDeadline is how long Slack waits for the ack of a slash command or a view
// submission, from when it delivered the envelope; it is also a trigger_id's life.
const SlackAckDeadline = 3 * time.Second

// SetAckDeadline changes the ack deadline and trigger_id life (SlackAckDeadline).
func (s *Slack) SetAckDeadline(d time.Duration) {
	s.mu.Lock()
	s.ackWithin = d
	s.mu.Unlock()
}

// LateAcks returns the acks that came after the deadline and were discarded.
func (s *Slack) LateAcks() []LateAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LateAck(nil), s.lateAcks...)
}

// markDelivered notes when the envelope in frame b went out: the ack deadline and
// its trigger_id's life count from then.
func (s *Slack) markDelivered(b []byte) {
	var env struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(b, &env) != nil || env.EnvelopeID == "" {
		return
	}
	var p struct {
		TriggerID string `json:"trigger_id"`
	}
	_ = json.Unmarshal(env.Payload, &p)
	now := time.Now()
	s.mu.Lock()
	s.delivered[env.EnvelopeID] = now
	if tr := s.triggers[p.TriggerID]; tr != nil && !tr.used {
		tr.at = now
	}
	s.mu.Unlock()
}

// SendEnvelope delivers env as is (an empty EnvelopeID is made up). Sending an envelope
// id again with RetryAttempt > 0 is how Slack redelivers one it thinks was not acked.
// A trigger_id in its payload becomes usable with views.open.
func (s *Slack) SendEnvelope(env Envelope) (string, error) {
	if env.EnvelopeID == "" {
		env.EnvelopeID = slackRandID()
	}
	if len(env.Payload) == 0 {
		env.Payload = json.RawMessage("{}")
	}
	var p struct {
		TriggerID string `json:"trigger_id"`
		UserID    string `json:"user_id"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	_ = json.Unmarshal(env.Payload, &p)
	b, err := json.Marshal(env)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if p.TriggerID != "" {
		if _, ok := s.triggers[p.TriggerID]; !ok {
			user := p.UserID
			if user == "" {
				user = p.User.ID
			}
			s.triggers[p.TriggerID] = &slackTrigger{user: user, at: time.Now()}
		}
	}
	s.sent[env.EnvelopeID] = append(s.sent[env.EnvelopeID], env)
	s.mu.Unlock()
	return env.EnvelopeID, s.deliver(b)
}

// Redeliver sends an envelope again with the next retry_attempt, as Slack does when an
// ack did not arrive in time (reason: "timeout").
func (s *Slack) Redeliver(envelopeID, reason string) error {
	s.mu.Lock()
	sent := s.sent[envelopeID]
	s.mu.Unlock()
	if len(sent) == 0 {
		return fmt.Errorf("sandbox: no envelope %q was sent", envelopeID)
	}
	env := sent[len(sent)-1]
	env.RetryAttempt++
	env.RetryReason = reason
	_, err := s.SendEnvelope(env)
	return err
}

// Envelope returns the envelope last sent with that id.
func (s *Slack) Envelope(envelopeID string) (Envelope, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := s.sent[envelopeID]
	if len(sent) == 0 {
		return Envelope{}, false
	}
	return sent[len(sent)-1], true
}

// TriggerID returns the trigger_id an envelope carried ("" if none).
func (s *Slack) TriggerID(envelopeID string) string {
	env, _ := s.Envelope(envelopeID)
	var p struct {
		TriggerID string `json:"trigger_id"`
	}
	_ = json.Unmarshal(env.Payload, &p)
	return p.TriggerID
}

func (s *Slack) newTriggerIDLocked() string {
	s.idSeq++
	return fmt.Sprintf("%d.%d.%s", s.tsBase, s.idSeq, strings.ReplaceAll(slackRandID(), "-", ""))
}

func (s *Slack) wireUserLocked(id string) map[string]any {
	u := s.users[id]
	return map[string]any{"id": id, "username": u.name, "name": u.name, "team_id": s.TeamID}
}

func (s *Slack) lookupLocked(user, channel string) (*slackChannel, error) {
	if _, ok := s.users[user]; !ok {
		return nil, fmt.Errorf("sandbox: unknown user %q (AddUser it first)", user)
	}
	if channel == "" {
		return nil, nil
	}
	c := s.channels[channel]
	if c == nil {
		return nil, fmt.Errorf("sandbox: unknown channel %q (AddChannel it first)", channel)
	}
	return c, nil
}

// SendSlashCommand delivers a `slash_commands` envelope and returns its envelope id.
func (s *Slack) SendSlashCommand(cmd SlashCommand) (string, error) {
	if !strings.HasPrefix(cmd.Command, "/") {
		return "", fmt.Errorf("sandbox: command %q must start with /", cmd.Command)
	}
	s.mu.Lock()
	c, err := s.lookupLocked(cmd.User, cmd.Channel)
	if err == nil && c == nil {
		err = errors.New("sandbox: a slash command needs a channel")
	}
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	if cmd.TriggerID == "" {
		cmd.TriggerID = s.newTriggerIDLocked()
	}
	if cmd.ResponseURL == "" {
		cmd.ResponseURL = s.newResponseURLLocked(c.id, cmd.User, "")
	}
	payload := map[string]any{
		"token": "sandbox-verification-token", "team_id": s.TeamID, "team_domain": s.TeamDomain,
		"channel_id": c.id, "channel_name": c.name, "user_id": cmd.User, "user_name": s.users[cmd.User].name,
		"command": cmd.Command, "text": cmd.Text, "api_app_id": s.AppID,
		"is_enterprise_install": "false", // a string on the wire; slack-go copes
		"response_url":          cmd.ResponseURL, "trigger_id": cmd.TriggerID,
	}
	s.mu.Unlock()
	b, _ := json.Marshal(payload)
	return s.SendEnvelope(Envelope{Type: "slash_commands", EnvelopeID: cmd.EnvelopeID, AcceptsResponsePayload: true, Payload: b})
}

// SendBlockAction delivers an `interactive` envelope with a `block_actions` payload.
func (s *Slack) SendBlockAction(a BlockAction) (string, error) {
	s.mu.Lock()
	c, err := s.lookupLocked(a.User, a.Channel)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	if a.TriggerID == "" {
		a.TriggerID = s.newTriggerIDLocked()
	}
	if a.BlockID == "" {
		a.BlockID = slackShortID()
	}
	actionTS := s.nextTSLocked()
	payload := map[string]any{
		"type": "block_actions", "user": s.wireUserLocked(a.User), "api_app_id": s.AppID,
		"token": "sandbox-verification-token", "trigger_id": a.TriggerID,
		"team": map[string]any{"id": s.TeamID, "domain": s.TeamDomain}, "enterprise": nil,
		"is_enterprise_install": false, "state": map[string]any{"values": map[string]any{}},
	}
	switch {
	case a.ViewID != "":
		v := s.viewByID[a.ViewID]
		if v == nil {
			s.mu.Unlock()
			return "", fmt.Errorf("sandbox: no view %q", a.ViewID)
		}
		payload["container"] = map[string]any{"type": "view", "view_id": v.ID}
		payload["view"] = s.wireView(v)
	case c != nil && a.MessageTS != "":
		m := s.findMessageLocked(c.id, a.MessageTS)
		if m == nil {
			m = s.findEphemeralLocked(c.id, a.MessageTS)
			if m == nil || m.User != a.User {
				s.mu.Unlock()
				return "", fmt.Errorf("sandbox: no message %s in %s that %s can see", a.MessageTS, c.id, a.User)
			}
		}
		if a.ResponseURL == "" {
			a.ResponseURL = s.newResponseURLLocked(c.id, a.User, m.TS)
		}
		payload["container"] = map[string]any{"type": "message", "message_ts": m.TS, "channel_id": c.id, "is_ephemeral": m.Ephemeral}
		payload["channel"] = map[string]any{"id": c.id, "name": c.name}
		if !m.Ephemeral { // Slack does not send ephemeral messages back
			payload["message"] = s.wireMessage(m)
		}
		payload["response_url"] = a.ResponseURL
	default:
		s.mu.Unlock()
		return "", errors.New("sandbox: a block action needs Channel and MessageTS, or ViewID")
	}
	action := map[string]any{"action_id": a.ActionID, "block_id": a.BlockID, "value": a.Value, "type": "button", "action_ts": actionTS}
	if a.Text != "" {
		action["text"] = map[string]any{"type": "plain_text", "text": a.Text, "emoji": true}
	}
	payload["actions"] = []any{action}
	s.mu.Unlock()
	b, _ := json.Marshal(payload)
	return s.SendEnvelope(Envelope{Type: "interactive", EnvelopeID: a.EnvelopeID, Payload: b})
}

// Click is user pressing the button labelled label on message m.
func (s *Slack) Click(user string, m Message, label string) (string, error) {
	b, ok := m.Button(label)
	if !ok {
		var labels []string
		for _, x := range m.Buttons() {
			labels = append(labels, x.Text)
		}
		return "", fmt.Errorf("sandbox: no button %q on message %s (buttons: %q)", label, m.TS, labels)
	}
	return s.SendBlockAction(BlockAction{User: user, Channel: m.Channel, MessageTS: m.TS,
		ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value, Text: b.Text})
}

// ClickInView is user pressing a button in a view (a modal or their App Home).
func (s *Slack) ClickInView(user string, v View, label string) (string, error) {
	b, ok := v.Button(label)
	if !ok {
		return "", fmt.Errorf("sandbox: no button %q in view %s", label, v.ID)
	}
	return s.SendBlockAction(BlockAction{User: user, ViewID: v.ID,
		ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value, Text: b.Text})
}

// SendViewSubmission delivers an `interactive` envelope with a `view_submission` payload
// for an open modal. Every input block of the view appears in state.values, as Slack
// sends them; a required input left empty is refused, as the Slack client would.
// The ack then closes the modal, or records its errors, or updates it (see View).
func (s *Slack) SendViewSubmission(sub ViewSubmission) (string, error) {
	s.mu.Lock()
	if _, err := s.lookupLocked(sub.User, ""); err != nil {
		s.mu.Unlock()
		return "", err
	}
	v := s.viewByID[sub.ViewID]
	if v == nil || v.Type != "modal" {
		s.mu.Unlock()
		return "", fmt.Errorf("sandbox: no modal %q", sub.ViewID)
	}
	if v.Closed {
		s.mu.Unlock()
		return "", fmt.Errorf("sandbox: modal %s is closed", v.ID)
	}
	values, err := slackStateValues(v.Blocks, sub.Values)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	if sub.TriggerID == "" {
		sub.TriggerID = s.newTriggerIDLocked()
	}
	wv := s.wireView(v)
	wv["state"] = map[string]any{"values": values}
	payload := map[string]any{
		"type": "view_submission", "team": map[string]any{"id": s.TeamID, "domain": s.TeamDomain},
		"user": s.wireUserLocked(sub.User), "api_app_id": s.AppID, "token": "sandbox-verification-token",
		"trigger_id": sub.TriggerID, "view": wv, "response_urls": []any{},
		"is_enterprise_install": false, "enterprise": nil,
	}
	s.mu.Unlock()
	b, _ := json.Marshal(payload)
	return s.SendEnvelope(Envelope{Type: "interactive", EnvelopeID: sub.EnvelopeID, AcceptsResponsePayload: true, Payload: b})
}

// CloseView is user closing a modal with its close button or ✕: Slack closes
// the whole stack of views and, if the view asked for notify_on_close, sends the
// app a `view_closed` envelope, whose id is returned ("" when none was sent).
func (s *Slack) CloseView(user, viewID string) (string, error) {
	s.mu.Lock()
	v := s.viewByID[viewID]
	if v == nil || v.Type != "modal" || v.User != user {
		s.mu.Unlock()
		return "", fmt.Errorf("sandbox: %s has no modal %q", user, viewID)
	}
	if v.Closed {
		s.mu.Unlock()
		return "", nil
	}
	for _, x := range s.views {
		if x.RootViewID == v.RootViewID {
			x.Closed = true
		}
	}
	var opts struct {
		NotifyOnClose bool `json:"notify_on_close"`
	}
	_ = json.Unmarshal(v.Raw, &opts)
	var payload map[string]any
	if opts.NotifyOnClose {
		payload = map[string]any{
			"type": "view_closed", "team": map[string]any{"id": s.TeamID, "domain": s.TeamDomain},
			"user": s.wireUserLocked(user), "api_app_id": s.AppID, "token": "sandbox-verification-token",
			"view": s.wireView(v), "is_cleared": false, "is_enterprise_install": false, "enterprise": nil,
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
	if payload == nil {
		return "", nil
	}
	b, _ := json.Marshal(payload)
	return s.SendEnvelope(Envelope{Type: "interactive", Payload: b})
}

func slackStateValues(blocks []map[string]any, given map[string]map[string]string) (map[string]any, error) {
	used := 0
	values := map[string]any{}
	for _, b := range blocks {
		if b["type"] != "input" {
			continue
		}
		blockID, _ := b["block_id"].(string)
		el, _ := b["element"].(map[string]any)
		actionID, _ := el["action_id"].(string)
		typ, _ := el["type"].(string)
		val, ok := given[blockID][actionID]
		if ok {
			used++
		}
		optional, _ := b["optional"].(bool)
		if !optional && val == "" {
			return nil, fmt.Errorf("sandbox: required input %s/%s is empty; Slack would not submit", blockID, actionID)
		}
		st := map[string]any{"type": typ}
		option := func(v string) any {
			return map[string]any{"text": map[string]any{"type": "plain_text", "text": v}, "value": v}
		}
		switch typ {
		case "static_select", "external_select", "radio_buttons":
			st["selected_option"] = nil
			if val != "" {
				st["selected_option"] = option(val)
			}
		case "checkboxes", "multi_static_select", "multi_external_select":
			opts := []any{}
			for _, x := range strings.Split(val, "\n") {
				if x != "" {
					opts = append(opts, option(x))
				}
			}
			st["selected_options"] = opts
		case "users_select":
			st["selected_user"] = slackNullable(val)
		case "conversations_select":
			st["selected_conversation"] = slackNullable(val)
		case "channels_select":
			st["selected_channel"] = slackNullable(val)
		case "datepicker":
			st["selected_date"] = slackNullable(val)
		case "timepicker":
			st["selected_time"] = slackNullable(val)
		default: // plain_text_input, number_input, email_text_input, url_text_input …
			st["value"] = slackNullable(val)
		}
		values[blockID] = map[string]any{actionID: st}
	}
	n := 0
	for _, m := range given {
		n += len(m)
	}
	if used != n {
		return nil, fmt.Errorf("sandbox: some submitted values match no input block of the view")
	}
	return values, nil
}

func slackNullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// SendEvent delivers an `events_api` envelope whose payload is an event_callback around
// event (which must marshal to an object with a "type").
func (s *Slack) SendEvent(event any) (string, error) {
	inner, err := json.Marshal(event)
	if err != nil {
		return "", err
	}
	var probe struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(inner, &probe) != nil || probe.Type == "" {
		return "", errors.New("sandbox: an event must be an object with a type")
	}
	s.mu.Lock()
	eventID := s.nextIDLocked("Ev")
	payload := map[string]any{
		"token": "sandbox-verification-token", "team_id": s.TeamID, "api_app_id": s.AppID,
		"event": json.RawMessage(inner), "type": "event_callback", "event_id": eventID,
		"event_time": standin.WallNow().Unix(), "is_ext_shared_channel": false,
		"authorizations": []any{map[string]any{"enterprise_id": nil, "team_id": s.TeamID,
			"user_id": s.BotUserID, "is_bot": true, "is_enterprise_install": false}},
		"event_context": "4-" + eventID,
	}
	s.mu.Unlock()
	b, _ := json.Marshal(payload)
	return s.SendEnvelope(Envelope{Type: "events_api", Payload: b})
}

// SendAppHomeOpened is user opening the bot's Home tab (an `app_home_opened` event).
func (s *Slack) SendAppHomeOpened(user string) (string, error) {
	s.mu.Lock()
	if _, err := s.lookupLocked(user, ""); err != nil {
		s.mu.Unlock()
		return "", err
	}
	ev := map[string]any{"type": "app_home_opened", "user": user, "channel": s.dmLocked(user),
		"tab": "home", "event_ts": s.nextTSLocked()}
	if v := s.homes[user]; v != nil {
		ev["view"] = s.wireView(v)
	}
	s.mu.Unlock()
	return s.SendEvent(ev)
}

// WaitAck waits for the next ack of envelopeID not yet returned (a redelivered envelope
// is acked again) and returns its payload (nil when the ack had none).
func (s *Slack) WaitAck(envelopeID string, timeout time.Duration) (json.RawMessage, error) {
	var payload json.RawMessage
	err := s.waitFor(timeout, "an ack of envelope "+envelopeID, func() bool {
		i := s.ackRead[envelopeID]
		if i >= len(s.acks[envelopeID]) {
			return false
		}
		payload = s.acks[envelopeID][i]
		s.ackRead[envelopeID] = i + 1
		return true
	})
	if string(payload) == "null" {
		payload = nil
	}
	return payload, err
}

// Acks counts the acks received for envelopeID.
func (s *Slack) Acks(envelopeID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acks[envelopeID])
}

// Connections is the number of open Socket Mode links.
func (s *Slack) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.links)
}

// Connects is how many links have been opened (and said hello) so far.
func (s *Slack) Connects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

// Pending is the number of envelopes queued for want of an open link.
func (s *Slack) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Pongs counts the PONGs received (answers to the stand-in's PINGs).
func (s *Slack) Pongs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pongs
}

// WaitConnected waits until at least n links are open.
func (s *Slack) WaitConnected(n int, timeout time.Duration) error {
	return s.waitFor(timeout, fmt.Sprintf("%d open Socket Mode links", n), func() bool { return len(s.links) >= n })
}

// WaitConnects waits until total links have been opened since the start (reconnects
// included).
func (s *Slack) WaitConnects(total int, timeout time.Duration) error {
	return s.waitFor(timeout, fmt.Sprintf("%d Socket Mode connects", total), func() bool { return s.connects >= total })
}

// WaitPongs waits until n PONGs have arrived.
func (s *Slack) WaitPongs(n int, timeout time.Duration) error {
	return s.waitFor(timeout, fmt.Sprintf("%d pongs", n), func() bool { return s.pongs >= n })
}

// Disconnect sends `{"type":"disconnect","reason":reason}` on every open link (Slack's
// reasons: "refresh_requested", "warning", "too_many_websockets"). The client is expected
// to close the link and open a new one.
func (s *Slack) Disconnect(reason string) error {
	s.mu.Lock()
	links := append([]*slackLink(nil), s.links...)
	s.mu.Unlock()
	if len(links) == 0 {
		return errors.New("sandbox: no open Socket Mode link")
	}
	for _, l := range links {
		b, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason,
			"debug_info": map[string]any{"host": fmt.Sprintf("applink-sandbox-%d", l.id)}})
		if err := l.write(b); err != nil {
			s.removeLink(l)
		}
	}
	return nil
}

// DropLink closes every open link abruptly (no close frame), like a network failure. It
// returns how many were dropped.
func (s *Slack) DropLink() int {
	s.mu.Lock()
	links := append([]*slackLink(nil), s.links...)
	s.mu.Unlock()
	for _, l := range links {
		s.removeLink(l)
	}
	return len(links)
}
