package sandbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Heroku rate limit: each account has a bucket of about 4500 request tokens that
// refills at roughly 75 a minute; every request takes one.
const (
	herokuRateLimitMax    = 4500
	herokuRateLimitPerMin = 75
)

// Heroku is a local stand-in of the Heroku Platform API (v3): the account, apps and
// their config vars, and the rate-limit bucket. It checks the bearer key and the
// versioned Accept header as the real API does, and answers errors with Heroku's
// {"id","message"} body. It never prints a config value.
type Heroku struct {
	*server

	apiKey string

	mu        sync.Mutex
	apps      map[string]*herokuApp
	nextID    int
	now       func() time.Time
	tokens    float64   // rate-limit tokens left
	refilled  time.Time // when tokens was last brought up to date
	accountID string
	email     string
}

type herokuApp struct {
	id       string
	name     string
	vars     map[string]string
	releases int
	created  time.Time
	updated  time.Time
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

// NewHeroku starts a Heroku stand-in that accepts apiKey as its only bearer key.
func NewHeroku(apiKey string) *Heroku {
	h := &Heroku{
		server:    newServer(herokuError),
		apiKey:    apiKey,
		apps:      map[string]*herokuApp{},
		now:       time.Now,
		tokens:    herokuRateLimitMax,
		accountID: "01234567-89ab-4cde-8f01-23456789abcd",
		email:     "ops@raxx.example",
	}
	h.refilled = h.now()
	h.route("GET /account", h.account)
	h.route("GET /apps/{app}", h.app)
	h.route("GET /apps/{app}/config-vars", h.configVars)
	h.route("PATCH /apps/{app}/config-vars", h.updateConfigVars)
	return h
}

// route registers a logged, fault-injectable route behind the checks every Heroku
// request goes through: the rate limit, the versioned Accept header and the key.
func (h *Heroku) route(pattern string, fn http.HandlerFunc) {
	h.handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		remaining, limited := h.take()
		w.Header().Set("RateLimit-Remaining", strconv.Itoa(remaining))
		w.Header().Set("Request-Id", r.Header.Get("Request-Id"))
		if !acceptsHerokuV3(r.Header.Get("Accept")) {
			writeJSON(w, http.StatusBadRequest, herokuErrorMsg("missing_version",
				"Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`."))
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+h.apiKey || h.apiKey == "" {
			writeJSON(w, http.StatusUnauthorized, herokuError(http.StatusUnauthorized))
			return
		}
		if limited {
			writeJSON(w, http.StatusTooManyRequests, herokuError(http.StatusTooManyRequests))
			return
		}
		fn(w, r)
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

// AddApp creates an app (or replaces its config) with the given config vars.
func (h *Heroku) AddApp(name string, vars map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cp := make(map[string]string, len(vars))
	for k, v := range vars {
		cp[k] = v
	}
	if a, ok := h.apps[name]; ok {
		a.vars = cp
		return
	}
	h.nextID++
	now := h.now().UTC()
	h.apps[name] = &herokuApp{
		id:      fmt.Sprintf("00000000-0000-4000-8000-%012d", h.nextID),
		name:    name,
		vars:    cp,
		created: now,
		updated: now,
	}
}

// ConfigVar returns an app's config var, for assertions.
func (h *Heroku) ConfigVar(app, key string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return "", false
	}
	v, ok := a.vars[key]
	return v, ok
}

// Releases returns how many releases config changes have made on app.
func (h *Heroku) Releases(app string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a := h.lookup(app); a != nil {
		return a.releases
	}
	return 0
}

// lookup finds an app by name or id, as the API's {app_id_or_name} does. h.mu is held.
func (h *Heroku) lookup(ident string) *herokuApp {
	if a, ok := h.apps[ident]; ok {
		return a
	}
	for _, a := range h.apps {
		if a.id == ident {
			return a
		}
	}
	return nil
}

func (h *Heroku) account(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	body := map[string]any{"email": h.email, "id": h.accountID, "verified": true}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (h *Heroku) app(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var body map[string]any
	if a != nil {
		body = map[string]any{
			"id":          a.id,
			"name":        a.name,
			"created_at":  a.created.Format(time.RFC3339),
			"updated_at":  a.updated.Format(time.RFC3339),
			"released_at": a.updated.Format(time.RFC3339),
			"web_url":     "https://" + a.name + ".herokuapp.com/",
		}
	}
	h.mu.Unlock()
	if body == nil {
		writeJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (h *Heroku) configVars(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var vars map[string]string
	if a != nil {
		vars = maps.Clone(a.vars)
	}
	h.mu.Unlock()
	if a == nil {
		writeJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	writeJSON(w, http.StatusOK, vars)
}

// updateConfigVars applies a PATCH: string values set, null deletes. Like the real
// API it answers with the app's whole config, and every change makes a release.
func (h *Heroku) updateConfigVars(w http.ResponseWriter, r *http.Request) {
	var patch map[string]*string
	if err := json.NewDecoder(r.Body).Decode(&patch); err != nil || patch == nil {
		// Never echo the body or the decoder's error: either can hold a value.
		writeJSON(w, http.StatusUnprocessableEntity, herokuErrorMsg("invalid_params",
			"Config vars must be a JSON object of strings (or null to remove a var)."))
		return
	}
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var vars map[string]string
	if a != nil {
		for k, v := range patch {
			if v == nil {
				delete(a.vars, k)
			} else {
				a.vars[k] = *v
			}
		}
		a.releases++
		a.updated = h.now().UTC()
		vars = maps.Clone(a.vars)
	}
	h.mu.Unlock()
	if a == nil {
		writeJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	writeJSON(w, http.StatusOK, vars)
}
