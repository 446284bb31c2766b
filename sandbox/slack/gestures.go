package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// A person's gestures, played by a test as Socket Mode envelopes: slash commands,
// button clicks, modal submissions and closes, and Events API events.

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
