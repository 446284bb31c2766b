package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// watch sits between the bot and the Slack stand-in's Web API (the bot's
// SLACK_API_URL points at it) and forwards every call unchanged. On the way it
// notes the run cards the bot posts and updates, the operator DMs and the token
// forms it opens, so the bench can press their buttons and wait for a card's
// state word without copying the stand-in's whole channel history on every poll.
// Socket Mode does not pass here: apps.connections.open hands out the stand-in's
// own websocket address, so acks are measured on the direct link.
type watch struct {
	*httptest.Server
	target string
	client *http.Client

	mu      sync.Mutex
	changed chan struct{}
	cards   map[string]*card   // run id → the card as last drawn
	newest  map[string]string  // secret → id of its newest card
	dms     map[string]*posted // run id → the operator DM with Done
	views   map[string]string  // run id → id of its open token form
	calls   map[string]int     // Web API method → calls that passed, answered 429 or not
	limited map[string]int     // Web API method → calls answered 429
}

type button struct{ ActionID, BlockID, Value, Text string }

type posted struct {
	Channel, TS string
	Buttons     []button
}

type card struct {
	posted
	ID, Secret, Word string
	At               time.Time
	// Watching is how many of its apps' logs the card shows watched now.
	Watching int
	// Shown is when the card first showed each state word.
	Shown map[string]time.Time
}

func (p *posted) button(label string) (button, bool) {
	for _, b := range p.Buttons {
		if b.Text == label {
			return b, true
		}
	}
	return button{}, false
}

// cardText is the card's fallback text: "Rotation r12 of SECRET: Waiting for token".
var cardText = regexp.MustCompile(`^Rotation (r\d+) of (\S+): (.+)$`)

func newWatch(target string) *watch {
	w := &watch{target: strings.TrimRight(target, "/"), changed: make(chan struct{}),
		cards: map[string]*card{}, newest: map[string]string{}, dms: map[string]*posted{}, views: map[string]string{},
		calls: map[string]int{}, limited: map[string]int{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	w.Server = httptest.NewServer(w)
	return w
}

func (w *watch) Close() {
	w.Server.Close()
	w.client.CloseIdleConnections()
}

func (w *watch) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, w.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := w.client.Do(req)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	rbody, _ := io.ReadAll(resp.Body)
	w.count(strings.TrimPrefix(r.URL.Path, "/api/"), resp.StatusCode)
	w.observe(r, body, rbody)
	for k, vs := range resp.Header {
		for _, v := range vs {
			rw.Header().Add(k, v)
		}
	}
	rw.WriteHeader(resp.StatusCode)
	_, _ = rw.Write(rbody)
}

// args reads a Web API call's arguments, form or JSON.
func args(r *http.Request, body []byte) map[string]string {
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) == nil {
			for k, v := range m {
				var s string
				if json.Unmarshal(v, &s) == nil {
					out[k] = s
				} else {
					out[k] = string(v)
				}
			}
		}
		return out
	}
	if v, err := url.ParseQuery(string(body)); err == nil {
		for k := range v {
			out[k] = v.Get(k)
		}
	}
	return out
}

func buttons(blocksJSON string) []button {
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string          `json:"type"`
			ActionID string          `json:"action_id"`
			Value    string          `json:"value"`
			Text     json.RawMessage `json:"text"` // a text object on a button, a string elsewhere
		} `json:"elements"`
	}
	if json.Unmarshal([]byte(blocksJSON), &blocks) != nil {
		return nil
	}
	var out []button
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			var text struct {
				Text string `json:"text"`
			}
			if e.Type == "button" && json.Unmarshal(e.Text, &text) == nil {
				out = append(out, button{ActionID: e.ActionID, BlockID: b.BlockID, Value: e.Value, Text: text.Text})
			}
		}
	}
	return out
}

func (w *watch) observe(r *http.Request, body, rbody []byte) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	switch method {
	case "chat.postMessage", "chat.update":
	case "views.open":
		var resp struct {
			OK   bool `json:"ok"`
			View struct {
				ID              string `json:"id"`
				PrivateMetadata string `json:"private_metadata"`
			} `json:"view"`
		}
		if json.Unmarshal(rbody, &resp) == nil && resp.OK {
			id, _, _ := strings.Cut(resp.View.PrivateMetadata, "|")
			w.mu.Lock()
			w.views[id] = resp.View.ID
			w.notifyLocked()
			w.mu.Unlock()
		}
		return
	default:
		return
	}
	a := args(r, body)
	if a["thread_ts"] != "" {
		return // a step's note in the card's thread
	}
	var resp struct {
		OK bool   `json:"ok"`
		TS string `json:"ts"`
	}
	if json.Unmarshal(rbody, &resp) != nil || !resp.OK {
		return
	}
	ts := a["ts"]
	if method == "chat.postMessage" {
		ts = resp.TS
	}
	p := posted{Channel: a["channel"], TS: ts, Buttons: buttons(a["blocks"])}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := cardText.FindStringSubmatch(a["text"]); m != nil {
		c := &card{posted: p, ID: m[1], Secret: m[2], Word: m[3], At: now,
			Watching: strings.Count(a["blocks"], "watching logs"), Shown: map[string]time.Time{}}
		if old := w.cards[c.ID]; old != nil {
			c.Shown = old.Shown
		}
		if _, ok := c.Shown[c.Word]; !ok {
			c.Shown[c.Word] = now
		}
		w.cards[c.ID] = c
		if old, ok := w.newest[c.Secret]; !ok || runNum(c.ID) > runNum(old) {
			w.newest[c.Secret] = c.ID
		}
		w.notifyLocked()
		return
	}
	for _, b := range p.Buttons {
		if b.ActionID == "rotabot_done" {
			id, _, _ := strings.Cut(b.Value, "|")
			w.dms[id] = &p
			w.notifyLocked()
		}
	}
}

func runNum(id string) int {
	n := 0
	fmt.Sscanf(id, "r%d", &n)
	return n
}

func (w *watch) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitFor blocks until cond (called with w.mu held) holds, or timeout passes.
func (w *watch) waitFor(timeout time.Duration, what string, cond func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if cond() {
			w.mu.Unlock()
			return nil
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// count notes one call of method and its answer's status.
func (w *watch) count(method string, status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[method]++
	if status == http.StatusTooManyRequests {
		w.limited[method]++
	}
}

// callCounts returns the calls counted so far by method, and the 429s.
func (w *watch) callCounts() (calls, limited map[string]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.calls), maps.Clone(w.limited)
}

// watching is how many log watches the cards show open now.
func (w *watch) watching() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.cards {
		n += c.Watching
	}
	return n
}

// shown is when run id's card first showed word (zero if it never did).
func (w *watch) shown(id, word string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.cards[id]; c != nil {
		return c.Shown[word]
	}
	return time.Time{}
}

// newestRun is the id of the newest card of secret ("" for none).
func (w *watch) newestRun(secret string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.newest[secret]
}

// waitNewCard waits for a card of secret other than run before, showing word.
func (w *watch) waitNewCard(secret, before, word string, timeout time.Duration) (card, error) {
	var out card
	err := w.waitFor(timeout, "a new card of "+secret, func() bool {
		id := w.newest[secret]
		if id == "" || id == before {
			return false
		}
		c := w.cards[id]
		if c.Word == word {
			out = *c
			return true
		}
		return false
	})
	return out, err
}

// waitCard waits until run id's card shows word. A card that shows Failed ends
// the wait with its state.
func (w *watch) waitCard(id, word string, timeout time.Duration) (card, error) {
	var out card
	var failed bool
	err := w.waitFor(timeout, fmt.Sprintf("card %s to show %q", id, word), func() bool {
		c := w.cards[id]
		if c == nil {
			return false
		}
		out = *c
		failed = c.Word == "Failed" || c.Word == "Rolled back" || c.Word == "Cancelled"
		return c.Word == word || failed
	})
	if err == nil && failed && out.Word != word {
		return out, fmt.Errorf("run %s ended %s while the bench waited for %q", id, out.Word, word)
	}
	return out, err
}

func (w *watch) waitView(id string, timeout time.Duration) (string, error) {
	var out string
	err := w.waitFor(timeout, "the token form of "+id, func() bool {
		out = w.views[id]
		return out != ""
	})
	return out, err
}

func (w *watch) waitDM(id string, timeout time.Duration) (posted, error) {
	var out posted
	err := w.waitFor(timeout, "the operator DM of "+id, func() bool {
		if p := w.dms[id]; p != nil {
			out = *p
			return true
		}
		return false
	})
	return out, err
}
