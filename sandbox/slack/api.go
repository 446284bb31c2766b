package slack

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// The Web API half of the Slack stand-in. slack-go sends chat.*, conversations.open,
// usergroups.users.list, users.info and auth.test form-encoded with the token in a
// `token` field; views.* and apps.connections.open as JSON with `Authorization: Bearer`;
// chat.getPermalink as a GET with the query in the URL and a Bearer header. Like Slack,
// the stand-in takes the token from any of those places and answers errors with HTTP 200
// and `{"ok":false,"error":"…"}`.

type slackTokenKind int

const (
	slackBotToken slackTokenKind = iota
	slackAppToken
)

// slackInput is a method's arguments, from a form (and query) or a JSON body.
type slackInput struct {
	form url.Values
	js   map[string]json.RawMessage
}

func (in slackInput) has(k string) bool {
	if _, ok := in.form[k]; ok {
		return true
	}
	_, ok := in.js[k]
	return ok
}

// str reads a scalar argument; JSON strings are unquoted, other JSON values kept as text.
func (in slackInput) str(k string) string {
	if v, ok := in.form[k]; ok && len(v) > 0 {
		return v[0]
	}
	raw, ok := in.js[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// raw reads a JSON argument: a form field holding JSON text, or a JSON body member
// (which may itself be a string holding JSON, as Slack also accepts).
func (in slackInput) raw(k string) (json.RawMessage, bool) {
	if v, ok := in.form[k]; ok && len(v) > 0 {
		return json.RawMessage(v[0]), true
	}
	raw, ok := in.js[k]
	if !ok {
		return nil, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return json.RawMessage(s), true
	}
	return raw, true
}

func parseSlackInput(r *http.Request) (slackInput, string) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		in := slackInput{form: r.URL.Query(), js: map[string]json.RawMessage{}}
		if len(bytes.TrimSpace(buf.Bytes())) == 0 {
			return in, ""
		}
		if err := json.Unmarshal(buf.Bytes(), &in.js); err != nil {
			return in, "invalid_json"
		}
		return in, ""
	}
	if err := r.ParseForm(); err != nil {
		return slackInput{}, "invalid_form_data"
	}
	return slackInput{form: r.Form}, ""
}

func slackOK(fields map[string]any) map[string]any {
	out := map[string]any{"ok": true}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// slackReply is a method's answer: a body, or an error code with optional details.
type slackReply struct {
	body   any
	code   string
	detail []string
}

func slackFail(code string, detail ...string) slackReply {
	return slackReply{code: code, detail: detail}
}

func (s *Slack) method(name string, kind slackTokenKind, fn func(r *http.Request, in slackInput) slackReply, methods ...string) {
	if len(methods) == 0 {
		methods = []string{http.MethodPost}
	}
	for _, m := range methods {
		route := m + " /api/" + name
		s.Handle(route, func(w http.ResponseWriter, r *http.Request) {
			in, code := parseSlackInput(r)
			if code == "" {
				code = s.takeFailure(route)
			}
			if code == "" {
				code = s.checkToken(r, in, kind)
			}
			if code != "" {
				standin.WriteJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
				return
			}
			if wait, ok := s.admit(name, in); !ok {
				writeRateLimited(w, wait)
				return
			}
			rep := fn(r, in)
			if rep.code != "" {
				body := map[string]any{"ok": false, "error": rep.code}
				if len(rep.detail) > 0 {
					body["errors"] = rep.detail
					body["response_metadata"] = map[string]any{"messages": rep.detail}
				}
				standin.WriteJSON(w, http.StatusOK, body)
				return
			}
			standin.WriteJSON(w, http.StatusOK, rep.body)
		})
	}
}

func (s *Slack) checkToken(r *http.Request, in slackInput, kind slackTokenKind) string {
	tok := in.form.Get("token")
	if tok == "" {
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			tok = strings.TrimPrefix(h, "Bearer ")
		}
	}
	s.mu.Lock()
	bot, app := s.botToken, s.appToken
	s.mu.Unlock()
	want, other := bot, app
	if kind == slackAppToken {
		want, other = app, bot
	}
	switch {
	case tok == "":
		return "not_authed"
	case tok == want:
		return ""
	case tok == other:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

func (s *Slack) routes() {
	s.method("auth.test", slackBotToken, s.authTest)
	s.method("chat.postMessage", slackBotToken, s.postMessage)
	s.method("chat.update", slackBotToken, s.chatUpdate)
	s.method("chat.postEphemeral", slackBotToken, s.postEphemeral)
	s.method("chat.getPermalink", slackBotToken, s.getPermalink, http.MethodGet, http.MethodPost)
	s.method("conversations.open", slackBotToken, s.conversationsOpen)
	s.method("usergroups.users.list", slackBotToken, s.usergroupUsers)
	s.method("users.info", slackBotToken, s.usersInfo)
	s.method("views.open", slackBotToken, s.viewsOpen)
	s.method("views.update", slackBotToken, s.viewsUpdate)
	s.method("views.publish", slackBotToken, s.viewsPublish)
	s.method("apps.connections.open", slackAppToken, s.connectionsOpen)
	s.Handle("POST /response/{id}", s.responseURL)
	s.Handle("GET /link/", s.link)
}

func (s *Slack) authTest(_ *http.Request, _ slackInput) slackReply {
	return slackReply{body: slackOK(map[string]any{
		"url": "https://" + s.TeamDomain + ".slack.com/", "team": "Sandbox", "user": s.BotName,
		"team_id": s.TeamID, "user_id": s.BotUserID, "bot_id": s.BotID, "is_enterprise_install": false,
	})}
}

func (s *Slack) wireMessage(m *Message) map[string]any {
	w := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "team": s.TeamID}
	if !m.Ephemeral {
		w["user"], w["bot_id"], w["app_id"] = s.BotUserID, s.BotID, s.AppID
	}
	if m.ThreadTS != "" {
		w["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		w["blocks"] = m.Blocks
	}
	return w
}

// messageArgs reads text and blocks; blocksSet tells whether blocks were given at all.
func (s *Slack) messageArgs(in slackInput) (text string, blocks []map[string]any, blocksSet bool, rep slackReply) {
	text = in.str("text")
	raw, ok := in.raw("blocks")
	if ok && len(bytes.TrimSpace(raw)) > 0 && string(raw) != "null" {
		var code string
		var detail []string
		blocks, code, detail = s.parseBlocks(raw, 50)
		if code != "" {
			return "", nil, false, slackFail(code, detail...)
		}
		blocksSet = true
	}
	if utf8.RuneCountInString(text) > 40000 {
		return "", nil, false, slackFail("msg_too_long")
	}
	return text, blocks, blocksSet, slackReply{}
}

func (s *Slack) postMessage(_ *http.Request, in slackInput) slackReply {
	text, blocks, blocksSet, rep := s.messageArgs(in)
	if rep.code != "" {
		return rep
	}
	if text == "" && len(blocks) == 0 && in.str("attachments") == "" {
		return slackFail("no_text")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelLocked(in.str("channel"))
	if c == nil {
		return slackFail("channel_not_found")
	}
	m := &Message{Channel: c.id, TS: s.nextTSLocked(), User: s.BotUserID, Text: text, Method: "chat.postMessage"}
	if blocksSet {
		m.Blocks = blocks
	}
	if th := in.str("thread_ts"); th != "" {
		m.ThreadTS = th
		// A reply to a reply joins the parent's thread, as in Slack.
		for _, p := range c.msgs {
			if p.TS == th && p.ThreadTS != "" {
				m.ThreadTS = p.ThreadTS
			}
		}
	}
	c.msgs = append(c.msgs, m)
	s.notifyLocked()
	return slackReply{body: slackOK(map[string]any{"channel": c.id, "ts": m.TS, "message": s.wireMessage(m)})}
}

func (s *Slack) chatUpdate(_ *http.Request, in slackInput) slackReply {
	text, blocks, blocksSet, rep := s.messageArgs(in)
	if rep.code != "" {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelLocked(in.str("channel"))
	if c == nil {
		return slackFail("channel_not_found")
	}
	m := s.findMessageLocked(c.id, in.str("ts"))
	if m == nil {
		return slackFail("message_not_found")
	}
	if m.User != s.BotUserID {
		return slackFail("cant_update_message")
	}
	var tp *string
	if in.has("text") {
		tp = &text
	}
	if tp == nil && !blocksSet && !in.has("blocks") {
		return slackFail("no_text")
	}
	if in.has("blocks") && !blocksSet { // "blocks":"" or "[]": clear them
		blocks, blocksSet = []map[string]any{}, true
	}
	// Blocks left out keep the message's blocks, as chat.update documents.
	m.update(tp, blocks, blocksSet, "")
	s.notifyLocked()
	return slackReply{body: slackOK(map[string]any{"channel": c.id, "ts": m.TS, "text": m.Text, "message": s.wireMessage(m)})}
}

func (s *Slack) postEphemeral(_ *http.Request, in slackInput) slackReply {
	text, blocks, _, rep := s.messageArgs(in)
	if rep.code != "" {
		return rep
	}
	if text == "" && len(blocks) == 0 && in.str("attachments") == "" {
		return slackFail("no_text")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	user := in.str("user")
	if _, ok := s.users[user]; !ok {
		return slackFail("user_not_found")
	}
	c := s.channelLocked(in.str("channel"))
	if c == nil {
		return slackFail("channel_not_found")
	}
	m := &Message{Channel: c.id, TS: s.nextTSLocked(), ThreadTS: in.str("thread_ts"), User: user,
		Text: text, Blocks: blocks, Ephemeral: true, Method: "chat.postEphemeral"}
	s.ephemeral = append(s.ephemeral, m)
	s.notifyLocked()
	return slackReply{body: slackOK(map[string]any{"message_ts": m.TS})}
}

func (s *Slack) getPermalink(_ *http.Request, in slackInput) slackReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelLocked(in.str("channel"))
	if c == nil {
		return slackFail("channel_not_found")
	}
	m := s.findMessageLocked(c.id, in.str("message_ts"))
	if m == nil {
		return slackFail("message_not_found")
	}
	link := "https://" + s.TeamDomain + ".slack.com/archives/" + c.id + "/p" + strings.ReplaceAll(m.TS, ".", "")
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + c.id
	}
	return slackReply{body: slackOK(map[string]any{"channel": c.id, "permalink": link})}
}

func (s *Slack) conversationsOpen(_ *http.Request, in slackInput) slackReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := in.str("channel"); ch != "" {
		c := s.channelLocked(ch)
		if c == nil {
			return slackFail("channel_not_found")
		}
		return slackReply{body: slackOK(map[string]any{"no_op": true, "already_open": true, "channel": map[string]any{"id": c.id}})}
	}
	users := strings.Split(in.str("users"), ",")
	if len(users) != 1 || users[0] == "" {
		// Group DMs (G…) are not modelled: rotabot only DMs one person at a time.
		return slackFail("invalid_arguments", "the sandbox only opens one-person DMs")
	}
	u := strings.TrimSpace(users[0])
	if _, ok := s.users[u]; !ok {
		return slackFail("user_not_found")
	}
	_, existed := s.dmByUser[u]
	id := s.dmLocked(u)
	return slackReply{body: slackOK(map[string]any{"no_op": existed, "already_open": existed,
		"channel": map[string]any{"id": id, "is_im": true, "user": u, "created": s.tsBase}})}
}

func (s *Slack) usergroupUsers(_ *http.Request, in slackInput) slackReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	members, ok := s.groups[in.str("usergroup")]
	if !ok {
		return slackFail("no_such_subteam")
	}
	if members == nil {
		members = []string{}
	}
	return slackReply{body: slackOK(map[string]any{"users": members})}
}

func (s *Slack) usersInfo(_ *http.Request, in slackInput) slackReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[in.str("user")]
	if !ok {
		return slackFail("user_not_found")
	}
	return slackReply{body: slackOK(map[string]any{"user": map[string]any{
		"id": u.id, "team_id": s.TeamID, "name": u.name, "real_name": u.name, "deleted": false,
		"is_bot": u.bot, "is_admin": false, "tz": "UTC",
		"profile": map[string]any{"real_name": u.name, "display_name": u.name, "real_name_normalized": u.name},
	}})}
}

// ---- views ----

// parseView decodes and checks a view object; kind is "modal" or "home".
func (s *Slack) parseView(raw json.RawMessage, kind string) (*View, slackReply) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, slackFail("invalid_arguments", "view must be a JSON object")
	}
	if t, _ := obj["type"].(string); t != kind {
		return nil, slackFail("invalid_arguments", "view.type must be "+kind)
	}
	v := &View{Type: kind, Raw: append(json.RawMessage(nil), raw...)}
	v.CallbackID, _ = obj["callback_id"].(string)
	v.PrivateMetadata, _ = obj["private_metadata"].(string)
	v.ExternalID, _ = obj["external_id"].(string)
	var errs []string
	if utf8.RuneCountInString(v.CallbackID) > 255 {
		errs = append(errs, "must be less than 256 characters [json-pointer:/view/callback_id]")
	}
	if utf8.RuneCountInString(v.PrivateMetadata) > 3000 {
		errs = append(errs, "must be less than 3001 characters [json-pointer:/view/private_metadata]")
	}
	if kind == "modal" {
		var ok bool
		v.Title, ok = slackCheckText(obj["title"], "/view/title", 24, true, &errs)
		if !ok && obj["title"] == nil {
			errs = append(errs, "missing required field: title [json-pointer:/view/title]")
		}
		v.Submit, _ = slackCheckText(obj["submit"], "/view/submit", 24, true, &errs)
		if obj["close"] != nil {
			slackCheckText(obj["close"], "/view/close", 24, true, &errs)
		}
	}
	rawBlocks, _ := json.Marshal(obj["blocks"])
	if obj["blocks"] == nil {
		errs = append(errs, "missing required field: blocks [json-pointer:/view/blocks]")
	} else {
		blocks, code, detail := s.parseBlocks(rawBlocks, 100)
		if code != "" {
			errs = append(errs, detail...)
			if len(detail) == 0 {
				errs = append(errs, code)
			}
		}
		v.Blocks = blocks
		if kind == "modal" && v.Submit == "" {
			for _, b := range blocks {
				if b["type"] == "input" {
					errs = append(errs, "submit is required when an input block is within the blocks array [json-pointer:/view/submit]")
					break
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, slackFail("invalid_arguments", errs...)
	}
	return v, slackReply{}
}

func (s *Slack) wireView(v *View) map[string]any {
	state := map[string]any{"values": map[string]any{}}
	w := map[string]any{
		"id": v.ID, "team_id": s.TeamID, "type": v.Type, "blocks": v.Blocks,
		"private_metadata": v.PrivateMetadata, "callback_id": v.CallbackID, "state": state,
		"hash": v.Hash, "clear_on_close": false, "notify_on_close": false,
		"root_view_id": v.RootViewID, "app_id": s.AppID, "external_id": v.ExternalID,
		"app_installed_team_id": s.TeamID, "bot_id": s.BotID, "previous_view_id": nil,
	}
	if v.Type == "modal" {
		w["title"] = map[string]any{"type": "plain_text", "text": v.Title}
		if v.Submit != "" {
			w["submit"] = map[string]any{"type": "plain_text", "text": v.Submit}
		}
	}
	return w
}

func (s *Slack) newHashLocked() string {
	return s.nextTSLocked() + "." + strings.ToLower(s.nextIDLocked("h"))
}

func (s *Slack) viewsOpen(_ *http.Request, in slackInput) slackReply {
	raw, ok := in.raw("view")
	if !ok {
		return slackFail("invalid_arguments", "missing required field: view")
	}
	v, rep := s.parseView(raw, "modal")
	if rep.code != "" {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tr, ok := s.triggers[in.str("trigger_id")]
	switch {
	case !ok:
		return slackFail("invalid_trigger_id")
	case tr.used:
		return slackFail("exchanged_trigger_id")
	case time.Since(tr.at) > s.ackWithin:
		// A trigger_id lives 3 seconds from the interaction that made it.
		return slackFail("expired_trigger_id")
	}
	tr.used = true
	v.ID = s.nextIDLocked("V")
	v.RootViewID = v.ID
	v.User = tr.user
	v.Hash = s.newHashLocked()
	s.views = append(s.views, v)
	s.viewByID[v.ID] = v
	s.notifyLocked()
	return slackReply{body: slackOK(map[string]any{"view": s.wireView(v)})}
}

func (s *Slack) viewsUpdate(_ *http.Request, in slackInput) slackReply {
	raw, ok := in.raw("view")
	if !ok {
		return slackFail("invalid_arguments", "missing required field: view")
	}
	s.mu.Lock()
	var cur *View
	if id := in.str("view_id"); id != "" {
		cur = s.viewByID[id]
	} else if ext := in.str("external_id"); ext != "" {
		for _, v := range s.viewByID {
			if v.ExternalID == ext {
				cur = v
			}
		}
	}
	kind := "modal"
	if cur != nil {
		kind = cur.Type
	}
	s.mu.Unlock()
	if cur == nil {
		return slackFail("not_found")
	}
	nv, rep := s.parseView(raw, kind)
	if rep.code != "" {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := in.str("hash"); h != "" && h != cur.Hash {
		return slackFail("hash_conflict")
	}
	s.replaceViewLocked(cur, nv)
	return slackReply{body: slackOK(map[string]any{"view": s.wireView(cur)})}
}

// replaceViewLocked makes nv the current version of cur, keeping the old one.
func (s *Slack) replaceViewLocked(cur, nv *View) {
	old := *cur
	old.History = nil
	history := append(cur.History, old)
	id, root, user, ext := cur.ID, cur.RootViewID, cur.User, cur.ExternalID
	*cur = *nv
	cur.ID, cur.RootViewID, cur.User, cur.History = id, root, user, history
	if cur.ExternalID == "" {
		cur.ExternalID = ext
	}
	cur.Hash = s.newHashLocked()
	s.notifyLocked()
}

func (s *Slack) viewsPublish(_ *http.Request, in slackInput) slackReply {
	raw, ok := in.raw("view")
	if !ok {
		return slackFail("invalid_arguments", "missing required field: view")
	}
	nv, rep := s.parseView(raw, "home")
	if rep.code != "" {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	user := in.str("user_id")
	if _, ok := s.users[user]; !ok {
		return slackFail("user_not_found")
	}
	cur, ok := s.homes[user]
	if ok {
		if h := in.str("hash"); h != "" && h != cur.Hash {
			return slackFail("hash_conflict")
		}
		s.replaceViewLocked(cur, nv)
	} else {
		cur = nv
		cur.ID = s.nextIDLocked("V")
		cur.RootViewID = cur.ID
		cur.User = user
		cur.Hash = s.newHashLocked()
		s.homes[user] = cur
		s.viewByID[cur.ID] = cur
		s.notifyLocked()
	}
	return slackReply{body: slackOK(map[string]any{"view": s.wireView(cur)})}
}

// ---- response_url ----

// newResponseURLLocked makes a response_url for an interaction by user in channel
// (messageTS: the message a button sat on, for replace_original).
func (s *Slack) newResponseURLLocked(channel, user, messageTS string) string {
	id := slackRandID()
	s.responses[id] = &slackResponseURL{id: id, channel: channel, user: user, messageTS: messageTS}
	return s.URL + "/response/" + id
}

// responseMessage is what a response_url (or a slash command's ack payload) carries.
type slackResponseMessage struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

func (s *Slack) responseURL(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var msg slackResponseMessage
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	if err := json.Unmarshal(buf.Bytes(), &msg); err != nil {
		standin.WriteJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "invalid_payload"})
		return
	}
	s.mu.Lock()
	ru, ok := s.responses[id]
	if ok {
		ru.uses++
	}
	s.mu.Unlock()
	switch {
	case !ok:
		// Error strings for response_url are not documented; these are the stand-in's.
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "expired_url"})
		return
	case ru.uses > 5: // Slack allows five uses (within 30 minutes).
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "used_url"})
		return
	}
	if rep := s.applyResponse(ru.channel, ru.user, ru.messageTS, msg, "response_url"); rep.code != "" {
		body := map[string]any{"ok": false, "error": rep.code}
		if len(rep.detail) > 0 {
			body["errors"] = rep.detail
		}
		standin.WriteJSON(w, http.StatusOK, body)
		return
	}
	standin.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// applyResponse writes a response_url-style message: it replaces or deletes the original
// message, posts in the channel (response_type in_channel) or shows an ephemeral.
func (s *Slack) applyResponse(channel, user, messageTS string, msg slackResponseMessage, method string) slackReply {
	var blocks []map[string]any
	blocksSet := false
	if len(bytes.TrimSpace(msg.Blocks)) > 0 && string(msg.Blocks) != "null" {
		var code string
		var detail []string
		blocks, code, detail = s.parseBlocks(msg.Blocks, 50)
		if code != "" {
			return slackFail(code, detail...)
		}
		blocksSet = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	if (msg.DeleteOriginal || msg.ReplaceOriginal) && messageTS != "" {
		orig := s.findMessageLocked(channel, messageTS)
		if orig == nil {
			orig = s.findEphemeralLocked(channel, messageTS)
		}
		if orig == nil {
			return slackFail("message_not_found")
		}
		if msg.DeleteOriginal {
			orig.update(nil, nil, false, method)
			orig.Deleted = true
			return slackReply{}
		}
		orig.update(&msg.Text, blocks, true, method)
		return slackReply{}
	}
	if msg.Text == "" && !blocksSet {
		return slackFail("no_text")
	}
	m := &Message{Channel: channel, TS: s.nextTSLocked(), ThreadTS: msg.ThreadTS, Text: msg.Text, Blocks: blocks, Method: method}
	if msg.ResponseType == "in_channel" {
		c := s.channelLocked(channel)
		if c == nil {
			return slackFail("channel_not_found")
		}
		m.User = s.BotUserID
		c.msgs = append(c.msgs, m)
		return slackReply{}
	}
	m.User, m.Ephemeral = user, true
	s.ephemeral = append(s.ephemeral, m)
	return slackReply{}
}
