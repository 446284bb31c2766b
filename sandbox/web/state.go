package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/sandbox"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// State is everything one person's page shows: the workspace as Slack shows it
// to them, and the outside world. It holds no token value, only fingerprints.
type State struct {
	Me       string            `json:"me"`
	People   []Person          `json:"people"`
	Names    map[string]string `json:"names"` // ids → "@alice", "#ops", "@ops"
	BotID    string            `json:"bot_id"`
	Channels []ChannelState    `json:"channels"`
	DM       ChannelState      `json:"dm"`
	Audit    string            `json:"audit_channel,omitempty"`
	Home     *ViewState        `json:"home,omitempty"`
	Modal    *ViewState        `json:"modal,omitempty"`
	Bot      BotStatus         `json:"bot"`
	Secrets  []Secret          `json:"secrets"`
	GitHub   GitHubState       `json:"github"`
	Heroku   []AppState        `json:"heroku"`
	// HerokuKeys are the Heroku accounts' API keys (authorizations), by
	// fingerprint: the old and new keys of a rotation rotabot minted.
	HerokuKeys []HerokuKeyState `json:"heroku_keys"`
	Vault      []VaultSecret    `json:"infisical"`
	Faults     []FaultState     `json:"faults"`
	Activity   []Call           `json:"activity"`
}

// ChannelState is a channel (or the DM with the bot) with what the person sees
// in it: its messages, and the ephemeral ones meant for them.
type ChannelState struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Messages []Message `json:"messages"`
}

// Message is a message as the person sees it; replies hang under their parent.
type Message struct {
	TS        string           `json:"ts"`
	Author    string           `json:"author"`
	Text      string           `json:"text"`
	Blocks    []map[string]any `json:"blocks,omitempty"`
	Ephemeral bool             `json:"ephemeral,omitempty"`
	Edited    bool             `json:"edited,omitempty"`
	Replies   []Message        `json:"replies,omitempty"`
}

// ViewState is a modal or an App Home.
type ViewState struct {
	ID     string            `json:"id"`
	Hash   string            `json:"hash"`
	Title  string            `json:"title,omitempty"`
	Submit string            `json:"submit,omitempty"`
	Close  string            `json:"close,omitempty"`
	Blocks []map[string]any  `json:"blocks"`
	Errors map[string]string `json:"errors,omitempty"`
}

// GitHubState is what github.com would show the token's owner, by fingerprint.
type GitHubState struct {
	Tokens  []TokenState        `json:"tokens"`
	Secrets []GitHubSecretState `json:"secrets"`
}

// TokenState is one personal access token.
type TokenState struct {
	Fingerprint string   `json:"fingerprint"`
	Login       string   `json:"login"`
	Kind        string   `json:"kind"`
	Expires     string   `json:"expires"`
	Status      string   `json:"status"` // active | expired | revoked
	Repos       []string `json:"repos,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	// Use says what the token is: rotabot's GITHUB_TOKEN, or where it is the
	// current value.
	Use string `json:"use,omitempty"`
	// Note says why the token exists: ready-made for a rehearsal, or made here.
	Note string `json:"note,omitempty"`
}

// GitHubSecretState is one secret GitHub keeps, of any scope — a
// repository's Actions secret, an environment's, an organisation's, a
// repository's or an organisation's Dependabot secret — by the fingerprint of
// what a workflow run (or Dependabot) would read, and when it was last written.
type GitHubSecretState struct {
	Scope       string `json:"scope"` // actions, environment, org, dependabot, dependabot_org
	Target      string `json:"target"`
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
	Updated     string `json:"updated"`
	// Visibility and Selected (repositories) are an organisation secret's.
	Visibility string   `json:"visibility,omitempty"`
	Selected   []string `json:"selected,omitempty"`
}

// AppState is a Heroku app's settings, releases and dynos.
type AppState struct {
	Name     string         `json:"name"`
	Vars     []VarState     `json:"vars"`
	Releases []ReleaseState `json:"releases"` // newest first
	Dynos    []string       `json:"dynos"`    // "web.1 up (v3)"
}

// HerokuKeyState is one Heroku API key: an OAuth authorization, by fingerprint.
type HerokuKeyState struct {
	ID          string `json:"id"` // the authorization's id, short
	Account     string `json:"account"`
	Description string `json:"description"`
	Scope       string `json:"scope"`
	Fingerprint string `json:"fingerprint"`
	Created     string `json:"created"`
	Status      string `json:"status"` // live | deleted
	// Use says what the key is: rotabot's HEROKU_API_KEY, or where it is the
	// current value.
	Use string `json:"use,omitempty"`
}

// ReleaseState is one release of an app.
type ReleaseState struct {
	Version     int    `json:"version"`
	Status      string `json:"status"`
	Description string `json:"description"`
	User        string `json:"user"`
	Current     bool   `json:"current,omitempty"`
}

// VarState is one config var, by fingerprint.
type VarState struct {
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint"`
}

// VaultSecret is one Infisical secret with its history, newest version last.
type VaultSecret struct {
	Env      string   `json:"env"`
	Path     string   `json:"path"`
	Key      string   `json:"key"`
	Versions []string `json:"versions"` // fingerprints, version 1 first
}

// FaultState is one fault switch.
type FaultState struct {
	Target string   `json:"target"`
	Label  string   `json:"label"`
	Kinds  []string `json:"kinds"`
	Kind   string   `json:"kind"` // "" when healthy
}

// Call is one request a stand-in answered (no headers, no body).
type Call struct {
	Time    string `json:"time"`
	Service string `json:"service"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	Status  int    `json:"status"`
}

func (s *Server) getState(w http.ResponseWriter, r *http.Request) {
	me := r.URL.Query().Get("user")
	if _, ok := s.person(me); !ok {
		problem(w, http.StatusNotFound, errUnknownPerson.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.state(me))
}

// events pushes the person's state whenever it changes (server-sent events).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	me := r.URL.Query().Get("user")
	if _, ok := s.person(me); !ok {
		problem(w, http.StatusNotFound, errUnknownPerson.Error())
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		problem(w, http.StatusInternalServerError, "streaming is not supported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	var last []byte
	idle := 0
	for {
		b, _ := json.Marshal(s.state(me))
		switch {
		case string(b) != string(last):
			if _, err := w.Write([]byte("event: state\ndata: " + string(b) + "\n\n")); err != nil {
				return
			}
			flusher.Flush()
			last, idle = b, 0
		case idle > 100: // a comment every 15 s keeps proxies from closing the stream
			if _, err := w.Write([]byte(": still here\n\n")); err != nil {
				return
			}
			flusher.Flush()
			idle = 0
		}
		idle++
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Server) names() map[string]string {
	w := s.cfg.World
	names := map[string]string{w.Slack.BotUserID: "@" + w.Slack.BotName}
	for _, p := range s.cfg.People {
		names[p.ID] = "@" + p.Name
	}
	for _, c := range s.cfg.Channels {
		names[c.ID] = "#" + c.Name
	}
	for id, h := range s.cfg.Groups {
		names[id] = "@" + h
	}
	return names
}

// state builds what me sees now.
func (s *Server) state(me string) State {
	w := s.cfg.World
	st := State{Me: me, People: s.cfg.People, Names: s.names(), BotID: w.Slack.BotUserID, Audit: s.cfg.AuditChannel,
		Secrets: s.cfg.Secrets}
	mine := w.Slack.Ephemerals(me)
	for _, c := range s.cfg.Channels {
		st.Channels = append(st.Channels, ChannelState{ID: c.ID, Name: c.Name, Messages: s.thread(w.Slack.Messages(c.ID), mine, c.ID)})
	}
	st.DM = ChannelState{Name: w.Slack.BotName, Messages: []Message{}}
	if id, ok := w.Slack.DMOf(me); ok {
		st.DM.ID = id
		st.DM.Messages = s.thread(w.Slack.Messages(id), mine, id)
	}
	if v, ok := w.Slack.HomeView(me); ok {
		st.Home = viewState(v)
	}
	views := w.Slack.Views()
	for i := len(views) - 1; i >= 0; i-- {
		if v := views[i]; v.User == me && !v.Closed {
			st.Modal = viewState(v)
			break
		}
	}
	s.mu.Lock()
	st.Bot = s.bot
	s.mu.Unlock()
	s.outside(&st)
	return st
}

// thread merges a channel's messages with me's ephemeral ones there, in time
// order, and hangs replies under their parents.
func (s *Server) thread(msgs, mine []sbslack.Message, channel string) []Message {
	all := make([]sbslack.Message, 0, len(msgs))
	for _, m := range msgs {
		if !m.Deleted {
			all = append(all, m)
		}
	}
	for _, m := range mine {
		if m.Channel == channel && !m.Deleted {
			all = append(all, m)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return tsLess(all[i].TS, all[j].TS) })
	out := []Message{}
	index := map[string]int{}
	for _, m := range all {
		author := s.cfg.World.Slack.BotName
		msg := Message{TS: m.TS, Author: author, Text: m.Text, Blocks: m.Blocks, Ephemeral: m.Ephemeral, Edited: len(m.History) > 0}
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			if i, ok := index[m.ThreadTS]; ok {
				out[i].Replies = append(out[i].Replies, msg)
				continue
			}
		}
		index[m.TS] = len(out)
		out = append(out, msg)
	}
	return out
}

// tsLess orders Slack timestamps ("1712345678.000123").
func tsLess(a, b string) bool {
	ai, af, _ := strings.Cut(a, ".")
	bi, bf, _ := strings.Cut(b, ".")
	if len(ai) != len(bi) {
		return len(ai) < len(bi)
	}
	if ai != bi {
		return ai < bi
	}
	return af < bf
}

func viewState(v sbslack.View) *ViewState {
	var raw struct {
		Close struct {
			Text string `json:"text"`
		} `json:"close"`
	}
	_ = json.Unmarshal(v.Raw, &raw)
	return &ViewState{ID: v.ID, Hash: v.Hash, Title: v.Title, Submit: v.Submit, Close: raw.Close.Text, Blocks: v.Blocks, Errors: v.Errors}
}

// outside fills in GitHub, Heroku, Infisical, the faults and the calls made.
func (s *Server) outside(st *State) {
	w := s.cfg.World
	now := s.cfg.Now()
	// Where each value is current, to say what a token is.
	use := map[string][]string{}
	for _, ref := range w.Infisical.Secrets() {
		vs := w.Infisical.Versions(ref.Env, ref.Path, ref.Key)
		fps := make([]string, len(vs))
		for i, v := range vs {
			fps[i] = Fingerprint(v)
		}
		st.Vault = append(st.Vault, VaultSecret{Env: ref.Env, Path: ref.Path, Key: ref.Key, Versions: fps})
		if len(fps) > 0 {
			use[fps[len(fps)-1]] = append(use[fps[len(fps)-1]], "Infisical "+ref.Path+"/"+ref.Key)
		}
	}
	if st.Vault == nil {
		st.Vault = []VaultSecret{}
	}
	st.GitHub.Tokens = []TokenState{}
	for _, t := range w.GitHub.Tokens() {
		fp := Fingerprint(t.Value)
		ts := TokenState{Fingerprint: fp, Login: t.Login, Kind: t.Kind, Repos: t.Repos, Scopes: t.Scopes, Status: "active",
			Expires: "never", Use: strings.Join(use[fp], ", "), Note: t.Note}
		if !t.Expires.IsZero() {
			ts.Expires = t.Expires.UTC().Format("2006-01-02 15:04 UTC")
			if !now.Before(t.Expires) {
				ts.Status = "expired"
			}
		}
		if t.Revoked {
			ts.Status = "revoked"
		}
		if t.Admin {
			ts.Use = "rotabot's GITHUB_TOKEN (writes Actions secrets)"
		}
		st.GitHub.Tokens = append(st.GitHub.Tokens, ts)
	}
	// Newest first: a minted token shows at the top.
	for i, j := 0, len(st.GitHub.Tokens)-1; i < j; i, j = i+1, j-1 {
		st.GitHub.Tokens[i], st.GitHub.Tokens[j] = st.GitHub.Tokens[j], st.GitHub.Tokens[i]
	}
	st.GitHub.Secrets = []GitHubSecretState{}
	for _, ref := range w.GitHub.GHSecrets() {
		v, _, _, _, ok := w.GitHub.GHSecret(ref.Scope, ref.Target, ref.Name)
		fp := "(cannot open)"
		if ok {
			fp = Fingerprint(v)
		}
		st.GitHub.Secrets = append(st.GitHub.Secrets, GitHubSecretState{Scope: string(ref.Scope), Target: ref.Target, Name: ref.Name, Fingerprint: fp,
			Updated: ref.Updated.UTC().Format("2006-01-02 15:04:05 UTC"), Visibility: ref.Visibility, Selected: ref.Selected})
	}
	st.Heroku = []AppState{}
	for _, app := range w.Heroku.Apps() {
		a := AppState{Name: app, Vars: []VarState{}, Releases: []ReleaseState{}, Dynos: []string{}}
		rs := w.Heroku.Releases(app)
		for i := len(rs) - 1; i >= 0 && len(a.Releases) < 5; i-- {
			r := rs[i]
			a.Releases = append(a.Releases, ReleaseState{Version: r.Version, Status: r.Status, Description: r.Description, User: r.User, Current: r.Current})
		}
		for _, d := range w.Heroku.Dynos(app) {
			a.Dynos = append(a.Dynos, fmt.Sprintf("%s %s (v%d)", d.Name, d.State, d.Release))
		}
		vars := w.Heroku.ConfigVars(app)
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			a.Vars = append(a.Vars, VarState{Key: k, Fingerprint: Fingerprint(vars[k])})
		}
		st.Heroku = append(st.Heroku, a)
	}
	st.HerokuKeys = herokuKeys(w, use)
	st.Faults = s.faultStates()
	st.Activity = s.activity(60)
}

// herokuKeys are the Heroku stand-in's keys, live ones first, each with what
// it is used for: rotabot's own key, or where it is the current value (use).
func herokuKeys(w *sandbox.World, use map[string][]string) []HerokuKeyState {
	out := []HerokuKeyState{}
	for _, a := range w.Heroku.Authorizations() {
		k := HerokuKeyState{ID: a.ID[:min(8, len(a.ID))], Account: a.Email, Description: a.Description, Scope: strings.Join(a.Scope, ", "),
			Fingerprint: a.Fingerprint, Created: a.Created.UTC().Format("2006-01-02 15:04 UTC"), Status: "live", Use: strings.Join(use[a.Fingerprint], ", ")}
		if a.Fingerprint == Fingerprint(w.HerokuAPIKey) {
			k.Use = "rotabot's HEROKU_API_KEY"
		}
		if !a.Deleted.IsZero() {
			k.Status, k.Use = "deleted", ""
		}
		out = append(out, k)
	}
	return out
}

// activity is the newest n calls the stand-ins answered, newest first.
func (s *Server) activity(n int) []Call {
	type logged interface{ Requests() []sandbox.Request }
	w := s.cfg.World
	sources := []struct {
		name string
		srv  logged
	}{{"Slack", w.Slack}, {"GitHub", w.GitHub}, {"Infisical", w.Infisical}, {"Heroku", w.Heroku}}
	if s.cfg.Console != nil {
		sources = append(sources, struct {
			name string
			srv  logged
		}{"console", s.cfg.Console})
	}
	type entry struct {
		t time.Time
		c Call
	}
	var all []entry
	for _, src := range sources {
		reqs := src.srv.Requests()
		if len(reqs) > n {
			reqs = reqs[len(reqs)-n:]
		}
		for _, r := range reqs {
			path := r.Path
			if strings.HasPrefix(path, "/response/") {
				path = "/response/…" // a response_url is a credential of sorts
			}
			all = append(all, entry{r.Time, Call{Time: r.Time.UTC().Format("15:04:05.000"), Service: src.name, Method: r.Method,
				Path: path, Status: r.Status}})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].t.After(all[j].t) })
	if len(all) > n {
		all = all[:n]
	}
	out := make([]Call, len(all))
	for i, e := range all {
		out[i] = e.c
	}
	return out
}
