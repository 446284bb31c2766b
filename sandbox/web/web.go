// Package web serves the sandbox workspace in a browser: the Slack stand-in's
// workspace as each person sees it (channels, their DM with the bot, App Home,
// the ephemeral answers meant for them, modals and confirm dialogs, Block Kit
// drawn as Slack draws it), a message box that types slash commands, and beside
// it the outside world — a GitHub panel that mints tokens, each Heroku app's
// config vars and releases, Infisical's versions, the audit trail, the calls the
// bot made — with faults to rehearse with and a button that restarts the bot.
//
// It stands where Slack's own client and a person's browser stand. It acts on
// the workspace only as Slack does (envelopes on the stand-in's Socket Mode
// link), on GitHub as a person making a token on github.com, on Heroku through
// the Platform API, and otherwise only reads what the stand-ins recorded. It must
// not know the bot, the engine or any of rotabot's packages: the bot cannot tell
// a click here from a click in Slack, and restarting it is a function the
// command hands over. Token values appear on the page only as fingerprints,
// except a token someone has just minted and asked to see.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/sandbox"
)

//go:embed static
var static embed.FS

// Person is someone in the sandbox workspace.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is shown beside the name: "ops", "ops · shell rc", "owner", "not in ops".
	Role string `json:"role"`
}

// Channel is a channel of the workspace.
type Channel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Secret is a secret of the routing matrix, as the GitHub panel needs it to make
// new tokens for it.
type Secret struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`  // fine-grained | classic
	Login         string   `json:"login"` // the GitHub login its tokens belong to
	Repos         []string `json:"repos,omitempty"`
	Scopes        []string `json:"scopes,omitempty"`
	ExpiresInDays int      `json:"expires_in_days"`
}

// Config is what the page shows and acts on.
type Config struct {
	World *sandbox.World
	// Console is the stand-in of the matrix's verify checks (optional).
	Console *sandbox.Console
	People  []Person
	// Channels are the workspace's channels, in the sidebar's order.
	Channels     []Channel
	AuditChannel string
	// Groups names the user groups for mentions (id → handle).
	Groups  map[string]string
	Secrets []Secret
	// Restart stops the bot as Heroku stops a dyno and starts it again on the
	// same database (nil: no restart button).
	Restart func() error
	// Now is the clock (default sandbox.WallNow).
	Now func() time.Time
}

// Server is the page and its API.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu     sync.Mutex
	faults map[string]string // fault target → kind
	bot    BotStatus
}

// BotStatus is whether the bot runs, as the page shows it.
type BotStatus struct {
	State  string    `json:"state"` // running | restarting | stopped
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
}

// New builds the page's server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = sandbox.WallNow
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), faults: map[string]string{},
		bot: BotStatus{State: "running", Since: cfg.Now()}}
	files, _ := fs.Sub(static, "static")
	s.mux.Handle("GET /", http.FileServerFS(files))
	s.mux.HandleFunc("GET /api/people", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.cfg.People) })
	s.mux.HandleFunc("GET /api/state", s.getState)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.mux.HandleFunc("POST /api/command", s.command)
	s.mux.HandleFunc("POST /api/click", s.click)
	s.mux.HandleFunc("POST /api/submit", s.submit)
	s.mux.HandleFunc("POST /api/close", s.closeView)
	s.mux.HandleFunc("POST /api/home", s.home)
	s.mux.HandleFunc("POST /api/mint", s.mint)
	s.mux.HandleFunc("POST /api/drift", s.drift)
	s.mux.HandleFunc("POST /api/fault", s.fault)
	s.mux.HandleFunc("POST /api/restart", s.restart)
	return s
}

// ServeHTTP serves the page to this machine's browser only: another site open
// in the same browser, or a name that resolves to 127.0.0.1, is refused, since
// the page mints tokens and acts as anyone in the workspace.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !loopback(r.Host) {
		http.Error(w, "the sandbox page answers only on 127.0.0.1 or localhost", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodPost {
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			http.Error(w, "cross-origin requests are refused", http.StatusForbidden)
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			http.Error(w, "send JSON", http.StatusUnsupportedMediaType)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'")
	s.mux.ServeHTTP(w, r)
}

func loopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Fingerprint is how the page shows a value: the first 8 hex digits of its
// SHA-256, as the bot's cards and audit records do.
func Fingerprint(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:4])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// problem answers a request the page cannot do, in words for the person.
func problem(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v); err != nil {
		problem(w, http.StatusBadRequest, "the request is not the JSON the page sends")
		return false
	}
	return true
}

func (s *Server) person(id string) (Person, bool) {
	for _, p := range s.cfg.People {
		if p.ID == id {
			return p, true
		}
	}
	return Person{}, false
}

func (s *Server) setBot(state, detail string) {
	s.mu.Lock()
	s.bot = BotStatus{State: state, Detail: detail, Since: s.cfg.Now()}
	s.mu.Unlock()
}

var errUnknownPerson = errors.New("there is no such person in the sandbox workspace")
