// Package heroku is a local stand-in of the Heroku Platform API (v3) as rotabot
// meets it: accounts and their API keys (OAuth authorizations, each with its scope:
// listed, made and deleted as Heroku does), apps with Range paging, config vars,
// releases and dynos that follow a config change, log sessions streamed from a
// logplex stand-in on a port of its own, and the rate-limit bucket. It speaks Heroku's real wire format (versioned
// Accept header, bearer key, {"id","message"} errors) so heroku-go talks to it
// unchanged. It must not know rotabot's packages: it is the outside world, reached
// only through the SDK.
package heroku

import (
	"context"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// Heroku rate limit: each account has a bucket of about 4500 request tokens that
// refills at roughly 75 a minute; every request takes one.
const (
	herokuRateLimitMax    = 4500
	herokuRateLimitPerMin = 75
)

// Heroku is a local stand-in of the Heroku Platform API (v3): the account, apps
// (listed with Heroku's Range paging), their config vars, releases, dynos and log
// sessions, and the rate-limit bucket. It checks the bearer key and the versioned
// Accept header as the real API does, and answers errors with Heroku's
// {"id","message"} body. It never prints a config value.
//
// Like Heroku, every config change makes a release and restarts the app's dynos
// onto it: a release is pending while the app's release phase runs (see
// SetReleasePhase), then succeeded or failed; once it succeeds each dyno goes
// starting, then up (or crashed, see SetBoot) on it. An app scaled to zero has no
// dynos. Log sessions answer a logplex_url on another server (another port, as
// logplex.heroku.com is another host), which streams the app's log lines in
// Heroku's format.
type Heroku struct {
	*standin.Server
	logs *Logplex

	mu sync.Mutex
	// auths are the live API keys of every account; deleted the ones deleted
	// (their keys answer 401), kept for the sandbox page.
	auths     []*authorization
	deleted   []*authorization
	accounts  map[string]string // email → account id
	apps      map[string]*herokuApp
	nextID    int
	now       func() time.Time
	tokens    float64   // rate-limit tokens left
	refilled  time.Time // when tokens was last brought up to date
	accountID string
	email     string
	sessions  map[string]*logSession
	subs      []*logSub
	sse       bool // new log sessions stream text/event-stream
	timers    []*time.Timer
	closed    bool
}

type herokuApp struct {
	id       string
	name     string
	vars     map[string]string
	created  time.Time
	updated  time.Time
	releases []*herokuRelease
	// formation is how many dynos of each process type the app runs.
	formation map[string]int
	dynos     []*herokuDyno
	phase     ReleasePhase
	boot      Boot
	log       []LogLine
}

type herokuRelease struct {
	id          string
	version     int
	status      string // pending | succeeded | failed
	description string
	user        string
	created     time.Time
	updated     time.Time
}

type herokuDyno struct {
	id      string
	name    string // web.1
	typ     string // web
	state   string // starting | up | crashed | down
	release *herokuRelease
	created time.Time
	updated time.Time
}

// herokuErrors are the ids and messages Heroku answers for each status.
var herokuErrors = map[int][2]string{
	http.StatusBadRequest:          {"bad_request", "The request could not be understood."},
	http.StatusUnauthorized:        {"unauthorized", "Invalid credentials provided."},
	http.StatusForbidden:           {"forbidden", "You do not have access to the app."},
	http.StatusNotFound:            {"not_found", "Couldn't find that app."},
	http.StatusUnprocessableEntity: {"invalid_params", "Invalid params."},
	http.StatusTooManyRequests:     {"rate_limit", "Your account reached the API rate limit\nPlease wait a few minutes before making new requests"},
	http.StatusInternalServerError: {"internal_server_error", "Internal server error."},
	http.StatusServiceUnavailable:  {"service_unavailable", "API is temporarily unavailable."},
}

func herokuError(status int) any {
	e, ok := herokuErrors[status]
	if !ok {
		e = [2]string{"error", http.StatusText(status)}
	}
	return map[string]string{"id": e[0], "message": e[1]}
}

func herokuErrorMsg(id, message string) any {
	return map[string]string{"id": id, "message": message}
}

// New starts a Heroku stand-in, and the logplex server its log sessions point
// at. apiKey is the first key of its account (ops@raxx.example, the owner of
// every app), of global scope as `heroku authorizations:create` makes one;
// AddKey makes more.
func New(apiKey string) *Heroku {
	h := &Heroku{
		Server:    standin.NewServer(herokuError),
		accounts:  map[string]string{},
		apps:      map[string]*herokuApp{},
		sessions:  map[string]*logSession{},
		now:       standin.WallNow,
		tokens:    herokuRateLimitMax,
		accountID: "01234567-89ab-4cde-8f01-23456789abcd",
		email:     "ops@raxx.example",
	}
	h.refilled = h.now()
	h.accounts[h.email] = h.accountID
	if apiKey != "" {
		h.addAuth(h.email, apiKey, []string{"global"}, "rotabot", nil)
	}
	h.logs = newLogplex(h)
	h.route("GET /account", scopeIdentity, h.account)
	h.route("GET /apps", scopeRead, h.appList)
	h.route("GET /apps/{app}", scopeRead, h.app)
	h.route("GET /apps/{app}/config-vars", scopeReadProtected, h.configVars)
	h.route("PATCH /apps/{app}/config-vars", scopeWriteProtected, h.updateConfigVars)
	h.route("GET /apps/{app}/releases", scopeRead, h.releaseList)
	h.route("GET /apps/{app}/releases/{release}", scopeRead, h.releaseInfo)
	h.route("GET /apps/{app}/dynos", scopeRead, h.dynoList)
	h.route("POST /apps/{app}/log-sessions", scopeRead, h.logSessionCreate)
	h.route("GET /oauth/authorizations", scopeGlobal, h.authList)
	h.route("POST /oauth/authorizations", scopeGlobal, h.authCreate)
	h.route("GET /oauth/authorizations/{id}", scopeGlobal, h.authInfo)
	h.route("DELETE /oauth/authorizations/{id}", scopeGlobal, h.authDelete)
	return h
}

// Close stops the API and the logplex server, and the releases and restarts
// still under way.
func (h *Heroku) Close() {
	h.mu.Lock()
	h.closed = true
	for _, t := range h.timers {
		t.Stop()
	}
	h.timers = nil
	h.mu.Unlock()
	h.logs.Close()
	h.Server.Close()
}

// Logplex is the log server the stand-in's log sessions point at.
func (h *Heroku) Logplex() *Logplex { return h.logs }

// route registers a logged, fault-injectable route behind the checks every Heroku
// request goes through: the rate limit, the versioned Accept header, the key (a
// live authorization's, whose scope must allow need), and for an app's routes
// that the key's account is the one that owns the apps.
func (h *Heroku) route(pattern string, need scopeNeed, fn http.HandlerFunc) {
	h.Handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		remaining, limited := h.take()
		w.Header().Set("RateLimit-Remaining", strconv.Itoa(remaining))
		w.Header().Set("Request-Id", r.Header.Get("Request-Id"))
		if !acceptsHerokuV3(r.Header.Get("Accept")) {
			standin.WriteJSON(w, http.StatusBadRequest, herokuErrorMsg("missing_version",
				"Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`."))
			return
		}
		key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		who := h.authByKey(key)
		if who == nil {
			standin.WriteJSON(w, http.StatusUnauthorized, herokuError(http.StatusUnauthorized))
			return
		}
		if limited {
			standin.WriteJSON(w, http.StatusTooManyRequests, herokuError(http.StatusTooManyRequests))
			return
		}
		if !need.allowedBy(who.scope) {
			standin.WriteJSON(w, http.StatusForbidden, herokuErrorMsg("forbidden", scopeRefusal))
			return
		}
		if r.PathValue("app") != "" && who.email != h.email {
			standin.WriteJSON(w, http.StatusForbidden, herokuErrorMsg("forbidden", "You do not have access to the app "+r.PathValue("app")+"."))
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), whoKey{}, who)))
	})
}

func acceptsHerokuV3(accept string) bool {
	mt, params, err := mime.ParseMediaType(accept)
	return err == nil && mt == "application/vnd.heroku+json" && params["version"] == "3"
}

// take spends one rate-limit token, refilling the bucket for the time passed, and
// returns what is left and whether the request is over the limit.
func (h *Heroku) take() (remaining int, limited bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if elapsed := now.Sub(h.refilled); elapsed > 0 {
		h.tokens = math.Min(herokuRateLimitMax, h.tokens+elapsed.Minutes()*herokuRateLimitPerMin)
	}
	h.refilled = now
	if h.tokens < 1 {
		return 0, true
	}
	h.tokens--
	return int(h.tokens), false
}

// SetRateLimitRemaining sets how many requests the account may still make before
// the bucket refills (4500 at start).
func (h *Heroku) SetRateLimitRemaining(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens = float64(n)
	h.refilled = h.now()
}

// SetClock replaces the clock the rate-limit refill is computed with, so a test
// can hold time still.
func (h *Heroku) SetClock(now func() time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = now
	h.refilled = now()
}
