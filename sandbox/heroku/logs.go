package heroku

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// Heroku's log sessions (Platform API "Log Session"): POST
// /apps/{app}/log-sessions with {"dyno","lines","source","tail"} answers 201 with
// a logplex_url on logplex's own host. A GET on that URL streams the app's last
// `lines` log lines (default 100, at most 1500: logplex keeps no more), then, with
// tail, every new line until the client goes. The URL is the capability: logplex
// asks for no credential. A session must be connected to within about five
// minutes of its creation, and a connection lasts about an hour. The classic
// session URL (…?srv=…) streams text/plain lines, one per line; the newer one
// (without srv, which the Heroku CLI reads with EventSource) streams
// text/event-stream with each line in a data: field.
const (
	logHistoryMax     = 1500
	logLinesDefault   = 100
	logSessionConnect = 5 * time.Minute
	logStreamMax      = time.Hour
	// logTimeLayout is how Heroku prints a log line's time:
	// 2026-11-29T19:05:17.123456+00:00.
	logTimeLayout = "2006-01-02T15:04:05.000000-07:00"
)

// LogLine is one line of an app's log.
type LogLine struct {
	Time time.Time
	// Source is the process that wrote it: app[web.1], heroku[router], app[api].
	Source string
	Text   string
}

// String is the line as Heroku streams it:
// "2026-11-29T19:05:17.123456+00:00 app[web.1]: text".
func (l LogLine) String() string {
	return l.Time.UTC().Format(logTimeLayout) + " " + l.Source + ": " + l.Text
}

type logSession struct {
	id        string
	app       string
	created   time.Time
	connected bool
	tail      bool
	lines     int
	dyno      string
	source    string
	sse       bool
}

// logSub is one open stream.
type logSub struct {
	app    string
	s      *logSession
	ch     chan LogLine
	closed chan struct{}
}

// Logplex is the stand-in's log Server: another port, as logplex.heroku.com is
// another host than api.heroku.com.
type Logplex struct {
	*standin.Server
	h *Heroku
}

func newLogplex(h *Heroku) *Logplex {
	l := &Logplex{h: h}
	l.Server = standin.NewServer(func(status int) any { return http.StatusText(status) })
	l.Handle("GET /sessions/{id}", l.stream)
	return l
}

// InjectLog appends a line to app's log (source like "app[web.1]"), as the app
// itself would print it; open streams receive it.
func (h *Heroku) InjectLog(app, source, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a := h.lookup(app); a != nil {
		h.logf(a, source, "%s", text)
	}
}

// LogLines returns app's log as logplex keeps it, for assertions.
func (h *Heroku) LogLines(app string) []LogLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a := h.lookup(app); a != nil {
		return append([]LogLine(nil), a.log...)
	}
	return nil
}

// SetLogStreamSSE makes later log sessions use the newer URL form, which
// streams text/event-stream instead of text/plain lines.
func (h *Heroku) SetLogStreamSSE(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sse = on
}

// DropLogStreams ends every open log stream of app, as logplex does when a
// connection has lasted its hour or a node restarts.
func (h *Heroku) DropLogStreams(app string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	keep := h.subs[:0]
	for _, s := range h.subs {
		if s.app == app {
			close(s.closed)
			continue
		}
		keep = append(keep, s)
	}
	h.subs = keep
}

// OpenLogStreams is how many log streams of app are open now.
func (h *Heroku) OpenLogStreams(app string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.subs {
		if s.app == app {
			n++
		}
	}
	return n
}

// logf appends a line to a's log and hands it to a's open streams. h.mu is held.
func (h *Heroku) logf(a *herokuApp, source, format string, args ...any) {
	l := LogLine{Time: h.now().UTC(), Source: source, Text: fmt.Sprintf(format, args...)}
	a.log = append(a.log, l)
	if len(a.log) > logHistoryMax {
		a.log = a.log[len(a.log)-logHistoryMax:]
	}
	for _, s := range h.subs {
		if s.app == a.name && s.s.matches(l) {
			select {
			case s.ch <- l:
			default: // a reader this far behind loses lines, as with logplex
			}
		}
	}
}

func (s *logSession) matches(l LogLine) bool {
	proc, _, _ := strings.Cut(l.Source, "[")
	if s.source != "" && proc != s.source {
		return false
	}
	if s.dyno != "" {
		_, d, _ := strings.Cut(strings.TrimSuffix(l.Source, "]"), "[")
		if d != s.dyno && !strings.HasPrefix(d, s.dyno+".") {
			return false
		}
	}
	return true
}

// logSessionCreate is POST /apps/{app}/log-sessions.
func (h *Heroku) logSessionCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Dyno     *string `json:"dyno"`
		DynoName *string `json:"dyno_name"`
		Lines    *int    `json:"lines"`
		Source   *string `json:"source"`
		Tail     *bool   `json:"tail"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			standin.WriteJSON(w, http.StatusBadRequest, herokuErrorMsg("bad_request", "Invalid JSON in the request body."))
			return
		}
	}
	if body.Lines != nil && (*body.Lines < 0 || *body.Lines > logHistoryMax) {
		standin.WriteJSON(w, http.StatusUnprocessableEntity, herokuErrorMsg("invalid_params", fmt.Sprintf("Lines must be between 0 and %d.", logHistoryMax)))
		return
	}
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var resp map[string]any
	if a != nil {
		now := h.now().UTC()
		s := &logSession{id: newUUID(), app: a.name, created: now, lines: logLinesDefault, sse: h.sse}
		if body.Lines != nil {
			s.lines = *body.Lines
		}
		if body.Tail != nil {
			s.tail = *body.Tail
		}
		if body.Source != nil {
			s.source = *body.Source
		}
		if body.Dyno != nil {
			s.dyno = *body.Dyno
		}
		if body.DynoName != nil {
			s.dyno = *body.DynoName
		}
		h.sessions[s.id] = s
		u := h.logs.URL + "/sessions/" + s.id
		if !s.sse {
			u += fmt.Sprintf("?srv=%d", now.Unix())
		}
		resp = map[string]any{"created_at": now.Format(time.RFC3339), "id": s.id, "logplex_url": u, "updated_at": now.Format(time.RFC3339)}
	}
	h.mu.Unlock()
	if a == nil {
		standin.WriteJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	standin.WriteJSON(w, http.StatusCreated, resp)
}

// stream is GET on a logplex_url.
func (l *Logplex) stream(w http.ResponseWriter, r *http.Request) {
	h := l.h
	h.mu.Lock()
	s := h.sessions[r.PathValue("id")]
	if s != nil && !s.connected && h.now().Sub(s.created) > logSessionConnect {
		delete(h.sessions, s.id)
		s = nil
	}
	if s == nil {
		h.mu.Unlock()
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	s.connected = true
	var history []LogLine
	if a := h.lookup(s.app); a != nil {
		for _, line := range a.log {
			if s.matches(line) {
				history = append(history, line)
			}
		}
	}
	if len(history) > s.lines {
		history = history[len(history)-s.lines:]
	}
	var sub *logSub
	if s.tail {
		sub = &logSub{app: s.app, s: s, ch: make(chan LogLine, 4096), closed: make(chan struct{})}
		h.subs = append(h.subs, sub)
	}
	h.mu.Unlock()
	if sub != nil {
		defer func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			for i, x := range h.subs {
				if x == sub {
					h.subs = append(h.subs[:i], h.subs[i+1:]...)
					break
				}
			}
		}()
	}

	seq := 0
	write := func(line LogLine) bool {
		var err error
		if s.sse {
			seq++
			_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", seq, line)
		} else {
			_, err = fmt.Fprintf(w, "%s\n", line)
		}
		return err == nil
	}
	if s.sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(http.StatusOK)
	for _, line := range history {
		if !write(line) {
			return
		}
	}
	flush(w)
	if sub == nil {
		return
	}
	limit := time.NewTimer(logStreamMax)
	defer limit.Stop()
	for {
		select {
		case line := <-sub.ch:
			if !write(line) {
				return
			}
			flush(w)
		case <-sub.closed:
			return
		case <-r.Context().Done():
			return
		case <-l.Closing():
			return
		case <-limit.C:
			return
		}
	}
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
