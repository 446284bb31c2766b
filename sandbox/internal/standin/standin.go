// Package standin is the plumbing every stand-in in sandbox/ shares: an HTTP server
// on 127.0.0.1 whose routes log each request and obey the faults a test sets (a
// status, a delay, a hang, a redirect, per route or per path prefix), the stand-ins'
// wall clock (WallNow, moved by a clockshift build), and small helpers for JSON
// answers and made-up credentials. It knows no service's wire format — each
// stand-in brings its own error body — and nothing of rotabot's packages. It is
// internal so that only sandbox/... builds on it; the types outsiders name (Fault,
// Request) are re-exported by package sandbox.
package standin

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fault makes requests to one route misbehave.
type Fault struct {
	// Status, when not 0, is answered instead of the real reply, with the API's
	// error body shape.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Header adds headers to the faulty reply.
	Header http.Header
	// Latency delays the request (the real reply follows unless Status is set).
	Latency time.Duration
	// Hang blocks the request until the client gives up or the server closes.
	Hang bool
	// Gate, when set, holds the request until it is closed (a test lets it
	// through when it is ready), then the rest of the fault, or the real
	// reply, follows.
	Gate <-chan struct{}
	// Times is how many requests the fault applies to; 0 means until cleared.
	Times int
	// Redirect, when set, answers with a redirect to this URL (Status, or 302 when
	// Status is 0) instead of the real reply, as a proxy or an API that moved would.
	Redirect string
}

// Request is one logged request. Body is kept in memory for assertions and is
// never printed: it can hold a token.
type Request struct {
	Time   time.Time
	Route  string // the route pattern, e.g. "PATCH /apps/{app}/config-vars"
	Method string
	Path   string
	Query  string
	Status int
	Header http.Header
	Body   []byte
}

// Server is the part every stand-in shares: a mux whose routes log and obey faults.
// A stand-in embeds it, so Fail, Count, Requests, URL and Close are the stand-in's.
type Server struct {
	*httptest.Server
	mux *http.ServeMux

	// errorBody renders the API's error shape for a status.
	errorBody func(status int) any

	mu       sync.Mutex
	inflight map[string]int
	faults   map[string]*Fault
	paths    map[string]*Fault // by path prefix (FailPath)
	latency  time.Duration
	log      []Request
	closing  chan struct{}
	once     sync.Once
}

// NewServer starts a server on 127.0.0.1 with no routes; errorBody renders the
// API's error shape for a status (the body of a Fault's answer).
func NewServer(errorBody func(int) any) *Server {
	s := &Server{mux: http.NewServeMux(), errorBody: errorBody, faults: map[string]*Fault{}, closing: make(chan struct{})}
	s.Server = httptest.NewServer(s.mux)
	return s
}

// Handle registers a logged, fault-injectable route; pattern is a Go ServeMux
// pattern like "GET /user" and is the route's name for Fail and Count.
func (s *Server) Handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.inflight == nil {
			s.inflight = map[string]int{}
		}
		s.inflight[pattern]++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inflight[pattern]--
			s.mu.Unlock()
		}()
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		// The request is logged as its answer starts, before the client can see it,
		// so a test that got an answer always finds the request in the log.
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		rec.onHeader = func(status int) {
			s.mu.Lock()
			s.log = append(s.log, Request{Time: time.Now(), Route: pattern, Method: r.Method,
				Path: r.URL.Path, Query: r.URL.RawQuery, Status: status, Header: r.Header.Clone(), Body: body})
			s.mu.Unlock()
		}
		defer func() { rec.header(rec.status) }()
		f, latency := s.fault(pattern, r.URL.Path)
		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
				return
			case <-s.closing:
				return
			}
		}
		if f != nil && f.Gate != nil {
			select {
			case <-f.Gate:
			case <-r.Context().Done():
				rec.status = 0
				return
			case <-s.closing:
				rec.status = 0
				return
			}
		}
		if f != nil {
			if f.Hang {
				select {
				case <-r.Context().Done():
				case <-s.closing:
				}
				rec.status = 0
				return
			}
			if f.Redirect != "" {
				status := f.Status
				if status == 0 {
					status = http.StatusFound
				}
				rec.Header().Set("Location", f.Redirect)
				rec.WriteHeader(status)
				return
			}
			if f.Status != 0 {
				for k, vs := range f.Header {
					for _, v := range vs {
						rec.Header().Add(k, v)
					}
				}
				if f.RetryAfter != "" {
					rec.Header().Set("Retry-After", f.RetryAfter)
				}
				WriteJSON(rec, f.Status, s.errorBody(f.Status))
				return
			}
		}
		h(rec, r)
	})
}

// fault returns the fault for a request (consuming one use) and the latency to
// add: its route's fault, else the fault of a path prefix it is under, else "*".
func (s *Server) fault(route, path string) (*Fault, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	latency := s.latency
	faults, key := s.faults, route
	f, ok := s.faults[route]
	if !ok {
		for prefix, pf := range s.paths {
			if path == prefix || strings.HasPrefix(path, strings.TrimSuffix(prefix, "/")+"/") {
				f, ok, faults, key = pf, true, s.paths, prefix
				break
			}
		}
	}
	if !ok {
		f, ok = s.faults["*"]
		faults, key = s.faults, "*"
	}
	if !ok {
		return nil, latency
	}
	cp := *f
	if f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			delete(faults, key)
		}
	}
	return &cp, latency + cp.Latency
}

// Fail makes route misbehave as f says ("*" for every route). Clear with Fail(route, nil).
func (s *Server) Fail(route string, f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == nil {
		delete(s.faults, route)
		return
	}
	cp := *f
	s.faults[route] = &cp
}

// FailPath makes every request whose path is prefix, or under it, misbehave as f
// says — one Heroku app ("/apps/raxx-console-prod"), one repository — unless its
// route has a fault of its own. Clear with FailPath(prefix, nil).
func (s *Server) FailPath(prefix string, f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paths == nil {
		s.paths = map[string]*Fault{}
	}
	if f == nil {
		delete(s.paths, prefix)
		return
	}
	cp := *f
	s.paths[prefix] = &cp
}

// SetLatency delays every request by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Logged is how many requests the log holds: cheap enough to poll, unlike a
// copy of the log.
func (s *Server) Logged() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// Count returns how many logged requests matched route (and answered 2xx when ok).
func (s *Server) Count(route string, okOnly bool) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Route == route && (!okOnly || r.Status >= 200 && r.Status < 300) {
			n++
		}
	}
	return n
}

// Inflight is how many requests to route are being answered now (a hanging
// request counts until it ends).
func (s *Server) Inflight(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight[route]
}

// ResetLog forgets logged requests.
func (s *Server) ResetLog() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// Closing is closed when Close starts: a handler that streams or blocks returns
// on it, so Close does not wait for the client to give up.
func (s *Server) Closing() <-chan struct{} { return s.closing }

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.Server.CloseClientConnections()
	s.Server.Close()
}

type statusRecorder struct {
	http.ResponseWriter
	status   int
	onHeader func(status int)
	once     sync.Once
}

// header runs onHeader once, with the status the answer starts with.
func (r *statusRecorder) header(status int) {
	r.once.Do(func() {
		if r.onHeader != nil {
			r.onHeader(status)
		}
	})
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.header(code)
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.header(r.status)
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack lets the Socket Mode stand-in upgrade a logged request to a websocket.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("standin: response writer cannot hijack")
	}
	r.status = http.StatusSwitchingProtocols
	r.header(r.status)
	return h.Hijack()
}

// WriteJSON answers status with v encoded as JSON (no body when v is nil).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// RandomHex returns n random bytes as hex: made-up credentials, tokens and ids.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
