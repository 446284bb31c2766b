package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/sandbox"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// ackWait is how long Slack waits for the app's ack before it tells the person
// the app did not answer.
const ackWait = 3 * time.Second

// sent waits for the ack of an envelope the page put on the link, and says what
// Slack would say if none comes.
func (s *Server) sent(w http.ResponseWriter, what, envelopeID string, err error) {
	if err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	payload, err := s.cfg.World.Slack.WaitAck(envelopeID, ackWait)
	if err != nil {
		// Slack's words when an app does not acknowledge in time.
		problem(w, http.StatusGatewayTimeout, what+` failed with the error "operation_timeout"`)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "ack": json.RawMessage(orNull(payload))})
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// connected answers as Slack does when the app has no Socket Mode link open:
// the gesture goes nowhere.
func (s *Server) connected(w http.ResponseWriter, what string) bool {
	if s.cfg.World.Slack.Connections() == 0 {
		problem(w, http.StatusServiceUnavailable, what+` failed with the error "dispatch_failed" (rotabot is not connected)`)
		return false
	}
	return true
}

// command is the person typing in the message box.
func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	var in struct{ User, Channel, Text string }
	if !decode(w, r, &in) {
		return
	}
	if _, ok := s.person(in.User); !ok {
		problem(w, http.StatusBadRequest, errUnknownPerson.Error())
		return
	}
	text := strings.TrimSpace(in.Text)
	if !strings.HasPrefix(text, "/") {
		problem(w, http.StatusBadRequest, "Only slash commands reach rotabot here: try /rotate help")
		return
	}
	cmd, rest, _ := strings.Cut(text, " ")
	if cmd != "/rotate" {
		problem(w, http.StatusBadRequest, cmd+" is not a valid command. In this workspace the app's command is /rotate.")
		return
	}
	channel := in.Channel
	if channel == "dm" {
		channel = s.cfg.World.Slack.DMChannel(in.User)
	}
	if !s.connected(w, cmd) {
		return
	}
	id, err := s.cfg.World.Slack.SendSlashCommand(sbslack.SlashCommand{User: in.User, Channel: channel, Command: cmd, Text: strings.TrimSpace(rest)})
	s.sent(w, cmd, id, err)
}

// click is the person pressing a button (after its confirm dialog, if any).
func (s *Server) click(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User, Channel, TS, View string
		ActionID                string `json:"action_id"`
		BlockID                 string `json:"block_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	if _, ok := s.person(in.User); !ok {
		problem(w, http.StatusBadRequest, errUnknownPerson.Error())
		return
	}
	sl := s.cfg.World.Slack
	var buttons []sbslack.Button
	a := sbslack.BlockAction{User: in.User}
	if in.View != "" {
		v, ok := sl.ViewByID(in.View)
		if !ok || v.User != in.User {
			problem(w, http.StatusBadRequest, "that view is not open for you")
			return
		}
		buttons, a.ViewID = v.Buttons(), v.ID
	} else {
		m, ok := s.findMessage(in.User, in.Channel, in.TS)
		if !ok {
			problem(w, http.StatusBadRequest, "that message is gone")
			return
		}
		buttons, a.Channel, a.MessageTS = m.Buttons(), m.Channel, m.TS
	}
	i := slices.IndexFunc(buttons, func(b sbslack.Button) bool { return b.ActionID == in.ActionID && b.BlockID == in.BlockID })
	if i < 0 {
		problem(w, http.StatusBadRequest, "that button is no longer there")
		return
	}
	b := buttons[i]
	a.ActionID, a.BlockID, a.Value, a.Text = b.ActionID, b.BlockID, b.Value, b.Text
	if !s.connected(w, b.Text) {
		return
	}
	id, err := sl.SendBlockAction(a)
	s.sent(w, b.Text, id, err)
}

// findMessage finds a message user can see: in a channel, or ephemeral for them.
func (s *Server) findMessage(user, channel, ts string) (sbslack.Message, bool) {
	sl := s.cfg.World.Slack
	if m, ok := sl.Message(channel, ts); ok && !m.Deleted {
		return m, true
	}
	for _, m := range sl.Ephemerals(user) {
		if m.Channel == channel && m.TS == ts && !m.Deleted {
			return m, true
		}
	}
	return sbslack.Message{}, false
}

// submit is the person pressing a modal's submit button.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User, View string
		Values     map[string]map[string]string
	}
	if !decode(w, r, &in) {
		return
	}
	if !s.connected(w, "Submitting the form") {
		return
	}
	id, err := s.cfg.World.Slack.SendViewSubmission(sbslack.ViewSubmission{User: in.User, ViewID: in.View, Values: in.Values})
	s.sent(w, "Submitting the form", id, err)
}

// closeView is the person closing a modal.
func (s *Server) closeView(w http.ResponseWriter, r *http.Request) {
	var in struct{ User, View string }
	if !decode(w, r, &in) {
		return
	}
	if _, err := s.cfg.World.Slack.CloseView(in.User, in.View); err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// home is the person opening the bot's Home tab.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	var in struct{ User string }
	if !decode(w, r, &in) {
		return
	}
	if _, ok := s.person(in.User); !ok {
		problem(w, http.StatusBadRequest, errUnknownPerson.Error())
		return
	}
	if _, err := s.cfg.World.Slack.SendAppHomeOpened(in.User); err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// Token variants the GitHub panel makes.
const (
	VariantRight     = "right"       // what the card asks for
	VariantWrongUser = "wrong-login" // made under another account
	VariantExpired   = "expired"
	VariantNoAccess  = "no-access" // cannot see the secret's repositories
)

// mint is a person making a new token on github.com for a secret. The value is
// in the answer, once; the page shows it to be copied into the modal and never
// again (GitHub shows a token only when it is made).
func (s *Server) mint(w http.ResponseWriter, r *http.Request) {
	var in struct{ Secret, Kind, Variant string }
	if !decode(w, r, &in) {
		return
	}
	i := slices.IndexFunc(s.cfg.Secrets, func(x Secret) bool { return x.Name == in.Secret })
	if i < 0 {
		problem(w, http.StatusBadRequest, "there is no secret "+in.Secret+" in the routing matrix")
		return
	}
	sec := s.cfg.Secrets[i]
	kind := in.Kind
	if kind == "" {
		kind = sec.Kind
	}
	days := sec.ExpiresInDays
	if days <= 0 {
		days = 90
	}
	now := s.cfg.Now()
	spec := sbgithub.TokenSpec{Login: sec.Login, Expires: now.Add(time.Duration(days) * 24 * time.Hour)}
	switch kind {
	case "fine-grained":
		spec.Value = "github_pat_11" + strings.ToUpper(sandbox.RandomHex(10)) + "_" + sandbox.RandomHex(29)
		spec.Repos = sec.Repos
	case "classic":
		spec.Value = "ghp_" + sandbox.RandomHex(18)
		spec.Scopes = sec.Scopes
		if len(spec.Scopes) == 0 {
			spec.Scopes = []string{"repo"}
		}
	default:
		problem(w, http.StatusBadRequest, "a token is fine-grained or classic")
		return
	}
	note := "made as the card asks"
	switch in.Variant {
	case "", VariantRight:
	case VariantWrongUser:
		spec.Login = "someone-else"
		note = "made while signed in to GitHub as someone-else"
	case VariantExpired:
		spec.Expires = now.Add(-time.Hour)
		note = "already expired"
	case VariantNoAccess:
		spec.Repos = []string{ownerOf(sec.Repos) + "/elsewhere"}
		note = "reaches only " + spec.Repos[0] + ", not the secret's repositories"
	default:
		problem(w, http.StatusBadRequest, "unknown kind of token "+in.Variant)
		return
	}
	spec.Note = "made here: " + note
	s.cfg.World.GitHub.AddToken(spec)
	writeJSON(w, http.StatusOK, map[string]any{
		"token": spec.Value, "fingerprint": Fingerprint(spec.Value), "kind": kind, "login": spec.Login,
		"expires": spec.Expires.UTC().Format("2006-01-02 15:04 UTC"), "note": note, "secret": sec.Name,
	})
}

func ownerOf(repos []string) string {
	for _, r := range repos {
		if o, _, ok := strings.Cut(r, "/"); ok {
			return o
		}
	}
	return "sandbox"
}

// drift is a person changing a Heroku config var by hand (heroku config:set, or
// the dashboard) to a made-up token GitHub does not know: a release by them, and
// a value the bot's read-back will not find.
func (s *Server) drift(w http.ResponseWriter, r *http.Request) {
	var in struct{ User, App, Key string }
	if !decode(w, r, &in) {
		return
	}
	p, ok := s.person(in.User)
	if !ok {
		problem(w, http.StatusBadRequest, errUnknownPerson.Error())
		return
	}
	if _, ok := s.cfg.World.Heroku.ConfigVar(in.App, in.Key); !ok {
		problem(w, http.StatusBadRequest, in.App+" has no config var "+in.Key)
		return
	}
	value := "ghp_" + sandbox.RandomHex(18)
	version := s.cfg.World.Heroku.SetConfigByHand(in.App, map[string]*string{in.Key: &value}, p.Name+"@sandbox.example")
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "fingerprint": Fingerprint(value), "release": version})
}

// Fault kinds.
const (
	FaultSlow        = "slow"        // every answer 3 s late
	FaultDown        = "down"        // 503
	FaultRateLimited = "ratelimited" // 429, retry after 5 s
)

type faultable interface {
	Fail(route string, f *sandbox.Fault)
}

// faultTargets lists the switches: each service, and each Heroku app alone.
func (s *Server) faultTargets() []FaultState {
	w := s.cfg.World
	all := []string{FaultSlow, FaultDown, FaultRateLimited}
	out := []FaultState{
		{Target: "slack", Label: "Slack Web API", Kinds: all},
		{Target: "github", Label: "GitHub", Kinds: all},
		{Target: "infisical", Label: "Infisical", Kinds: all},
		{Target: "heroku", Label: "Heroku (every app)", Kinds: all},
	}
	for _, app := range w.Heroku.Apps() {
		out = append(out, FaultState{Target: "heroku/" + app, Label: "Heroku app " + app, Kinds: []string{FaultSlow, FaultDown}})
	}
	if s.cfg.Console != nil {
		out = append(out, FaultState{Target: "console", Label: "verify checks (console)", Kinds: []string{FaultSlow, FaultDown}})
	}
	return out
}

func (s *Server) faultStates() []FaultState {
	out := s.faultTargets()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range out {
		out[i].Kind = s.faults[out[i].Target]
	}
	return out
}

// fault switches a fault on or off.
func (s *Server) fault(w http.ResponseWriter, r *http.Request) {
	var in struct{ Target, Kind string }
	if !decode(w, r, &in) {
		return
	}
	var target *FaultState
	targets := s.faultTargets()
	for i := range targets {
		if targets[i].Target == in.Target {
			target = &targets[i]
		}
	}
	if target == nil || in.Kind != "" && !slices.Contains(target.Kinds, in.Kind) {
		problem(w, http.StatusBadRequest, "no such fault")
		return
	}
	var f *sandbox.Fault
	switch in.Kind {
	case FaultSlow:
		f = &sandbox.Fault{Latency: 3 * time.Second}
	case FaultDown:
		f = &sandbox.Fault{Status: http.StatusServiceUnavailable}
	case FaultRateLimited:
		f = &sandbox.Fault{Status: http.StatusTooManyRequests, RetryAfter: "5"}
	}
	world := s.cfg.World
	service, app, _ := strings.Cut(in.Target, "/")
	switch {
	case app != "":
		world.Heroku.FailPath("/apps/"+app, f)
	default:
		srv := map[string]faultable{"slack": world.Slack, "github": world.GitHub, "infisical": world.Infisical, "heroku": world.Heroku}[service]
		if service == "console" {
			srv = s.cfg.Console
		}
		srv.Fail("*", f)
	}
	s.mu.Lock()
	if in.Kind == "" {
		delete(s.faults, in.Target)
	} else {
		s.faults[in.Target] = in.Kind
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// restart stops the bot and starts it again; the page shows it restarting.
func (s *Server) restart(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Restart == nil {
		problem(w, http.StatusNotImplemented, "this sandbox cannot restart the bot")
		return
	}
	s.mu.Lock()
	busy := s.bot.State == "restarting"
	s.mu.Unlock()
	if busy {
		problem(w, http.StatusConflict, "the bot is already restarting")
		return
	}
	s.setBot("restarting", "stopping as Heroku stops a dyno (SIGTERM), then starting on the same database")
	go func() {
		if err := s.cfg.Restart(); err != nil {
			s.setBot("stopped", err.Error())
			return
		}
		s.setBot("running", "restarted: open runs resume where they stopped")
	}()
	writeJSON(w, http.StatusAccepted, map[string]any{"ok": true})
}
