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
