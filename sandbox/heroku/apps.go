package heroku

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// ReleasePhase says how an app's new releases behave, like an app whose Procfile
// has a release process: a release stays pending while it runs, then succeeds or
// fails. The zero value is an app without one: every release succeeds at once.
type ReleasePhase struct {
	// Delay is how long a new release stays pending.
	Delay time.Duration
	// Hold keeps new releases pending until FinishRelease or SetReleasePhase.
	Hold bool
	// Fail makes the release phase fail: the release ends failed, and the dynos
	// keep running the release before it.
	Fail bool
}

// Boot says how an app's dynos start on a new release.
type Boot struct {
	// Delay is how long a dyno stays starting before it is up.
	Delay time.Duration
	// Crash makes the dynos crash instead of coming up.
	Crash bool
	// Lines are logged by each dyno as it comes up (its app's own output, e.g.
	// "GitHub API answered 401 Bad credentials"), as app[web.1] and so on.
	Lines []string
}

// HerokuRelease is one release of an app, for assertions.
type HerokuRelease struct {
	Version     int
	Status      string
	Description string
	User        string
	Current     bool
}

// HerokuDyno is one dyno of an app, for assertions.
type HerokuDyno struct {
	Name, Type, State string
	Release           int
}

func newUUID() string {
	h := standin.RandomHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// AddApp creates an app with the given config vars, one web dyno up and its
// first release; called again for the same app it replaces the config.
func (h *Heroku) AddApp(name string, vars map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cp := maps.Clone(vars)
	if cp == nil {
		cp = map[string]string{}
	}
	if a, ok := h.apps[name]; ok {
		a.vars = cp
		return
	}
	h.nextID++
	now := h.now().UTC()
	a := &herokuApp{
		id:        fmt.Sprintf("00000000-0000-4000-8000-%012d", h.nextID),
		name:      name,
		vars:      cp,
		created:   now,
		updated:   now,
		formation: map[string]int{"web": 1},
	}
	first := &herokuRelease{id: newUUID(), version: 1, status: "succeeded", description: "Initial release", user: h.email, created: now, updated: now}
	a.releases = []*herokuRelease{first}
	a.dynos = []*herokuDyno{{id: newUUID(), name: "web.1", typ: "web", state: "up", release: first, created: now, updated: now}}
	h.apps[name] = a
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

// SetConfigByHand changes an app's config as `heroku config:set` (or the
// dashboard) would, outside rotabot: a string sets, nil removes. Like any config
// change it makes a release, by user by (an email), and restarts the dynos onto
// it. It returns the release's version, or 0 when there is no such app.
func (h *Heroku) SetConfigByHand(app string, vars map[string]*string, by string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return 0
	}
	return h.applyConfig(a, vars, by).version
}

// SetReleasePhase sets how app's next releases behave. Releases held pending
// before stay so until FinishRelease, unless p no longer holds them.
func (h *Heroku) SetReleasePhase(app string, p ReleasePhase) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return
	}
	a.phase = p
}

// FinishRelease ends app's pending releases: succeeded, or failed.
func (h *Heroku) FinishRelease(app string, succeeded bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return
	}
	for _, r := range a.releases {
		if r.status == "pending" {
			h.settle(a, r, succeeded)
		}
	}
}

// SetBoot sets how app's dynos start on later releases.
func (h *Heroku) SetBoot(app string, b Boot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a := h.lookup(app); a != nil {
		a.boot = b
		a.boot.Lines = slices.Clone(b.Lines)
	}
}

// Scale sets how many dynos of process type app runs (`heroku ps:scale`); 0
// stops them all. New dynos start on the current release.
func (h *Heroku) Scale(app, process string, quantity int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return
	}
	a.formation[process] = max(quantity, 0)
	var keep []*herokuDyno
	for _, d := range a.dynos {
		if d.typ == process {
			if n, _ := strconv.Atoi(strings.TrimPrefix(d.name, process+".")); n > quantity {
				h.logf(a, "heroku["+d.name+"]", "Scaled down: stopping")
				continue
			}
		}
		keep = append(keep, d)
	}
	a.dynos = keep
	if cur := a.current(); cur != nil {
		h.boot(a, cur)
	}
}

// Releases lists app's releases, oldest first, for assertions.
func (h *Heroku) Releases(app string) []HerokuRelease {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return nil
	}
	cur := a.current()
	var out []HerokuRelease
	for _, r := range a.releases {
		out = append(out, HerokuRelease{Version: r.version, Status: r.status, Description: r.description, User: r.user, Current: r == cur})
	}
	return out
}

// Dynos lists app's dynos, for assertions.
func (h *Heroku) Dynos(app string) []HerokuDyno {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return nil
	}
	var out []HerokuDyno
	for _, d := range a.dynos {
		out = append(out, HerokuDyno{Name: d.name, Type: d.typ, State: d.state, Release: d.release.version})
	}
	return out
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

// current is the release the app runs: its newest succeeded one.
func (a *herokuApp) current() *herokuRelease {
	for i := len(a.releases) - 1; i >= 0; i-- {
		if a.releases[i].status == "succeeded" {
			return a.releases[i]
		}
	}
	return nil
}

// after runs fn under h.mu after d, unless the stand-in closed meanwhile.
// h.mu is held.
func (h *Heroku) after(d time.Duration, fn func()) {
	if h.closed {
		return
	}
	h.timers = append(h.timers, time.AfterFunc(d, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.closed {
			fn()
		}
	}))
}

// applyConfig changes the config and makes the release a config change makes.
// h.mu is held.
func (h *Heroku) applyConfig(a *herokuApp, patch map[string]*string, user string) *herokuRelease {
	var set, removed []string
	for k, v := range patch {
		if v == nil {
			delete(a.vars, k)
			removed = append(removed, k)
		} else {
			a.vars[k] = *v
			set = append(set, k)
		}
	}
	slices.Sort(set)
	slices.Sort(removed)
	desc := "Set " + strings.Join(set, ", ") + " config vars"
	if len(set) == 0 {
		desc = "Remove " + strings.Join(removed, ", ") + " config vars"
	}
	return h.newRelease(a, desc, user)
}

// newRelease makes a release; without a release phase it succeeds at once and
// the dynos restart onto it. h.mu is held.
func (h *Heroku) newRelease(a *herokuApp, desc, user string) *herokuRelease {
	now := h.now().UTC()
	r := &herokuRelease{id: newUUID(), version: a.releases[len(a.releases)-1].version + 1, status: "pending",
		description: desc, user: user, created: now, updated: now}
	a.releases = append(a.releases, r)
	a.updated = now
	h.logf(a, "app[api]", "%s by user %s", desc, user)
	h.logf(a, "app[api]", "Release v%d created by user %s", r.version, user)
	p := a.phase
	if !p.Hold && p.Delay <= 0 && !p.Fail {
		h.settle(a, r, true)
		return r
	}
	// The release phase runs in a one-off dyno of type release.
	rd := &herokuDyno{id: newUUID(), name: fmt.Sprintf("release.%04d", 1000+r.version), typ: "release", state: "up", release: r, created: now, updated: now}
	a.dynos = append(a.dynos, rd)
	h.logf(a, "heroku["+rd.name+"]", "Starting process with command `/bin/sh -c 'if [[ -f bin/release ]]; then bin/release; fi'`")
	if !p.Hold {
		h.after(p.Delay, func() {
			if r.status == "pending" {
				h.settle(a, r, !p.Fail)
			}
		})
	}
	return r
}

// settle ends a pending release. h.mu is held.
func (h *Heroku) settle(a *herokuApp, r *herokuRelease, ok bool) {
	now := h.now().UTC()
	r.updated = now
	var keep []*herokuDyno
	for _, d := range a.dynos {
		if d.typ == "release" && d.release == r {
			status := 0
			if !ok {
				status = 1
			}
			h.logf(a, "heroku["+d.name+"]", "Process exited with status %d", status)
			continue
		}
		keep = append(keep, d)
	}
	a.dynos = keep
	if !ok {
		r.status = "failed"
		h.logf(a, "app[api]", "Release v%d command failed by user %s", r.version, r.user)
		return
	}
	r.status = "succeeded"
	if a.current() == r {
		h.restart(a, r)
	}
}

// restart cycles every dyno of the formation onto release r. h.mu is held.
func (h *Heroku) restart(a *herokuApp, r *herokuRelease) {
	now := h.now().UTC()
	for _, d := range a.dynos {
		if d.typ == "release" || d.typ == "run" {
			continue
		}
		h.logf(a, "heroku["+d.name+"]", "Restarting")
		h.logf(a, "heroku["+d.name+"]", "State changed from %s to starting", d.state)
		d.state, d.release, d.updated = "starting", r, now
	}
	h.boot(a, r)
}

// boot brings the formation's dynos up on r: missing ones are created, starting
// ones come up (or crash) after the app's boot delay. h.mu is held.
func (h *Heroku) boot(a *herokuApp, r *herokuRelease) {
	now := h.now().UTC()
	types := slices.Sorted(maps.Keys(a.formation))
	for _, typ := range types {
		for i := 1; i <= a.formation[typ]; i++ {
			name := fmt.Sprintf("%s.%d", typ, i)
			if slices.ContainsFunc(a.dynos, func(d *herokuDyno) bool { return d.name == name }) {
				continue
			}
			a.dynos = append(a.dynos, &herokuDyno{id: newUUID(), name: name, typ: typ, state: "starting", release: r, created: now, updated: now})
		}
	}
	up := func() {
		for _, d := range a.dynos {
			if d.release != r || d.state != "starting" {
				continue
			}
			d.updated = h.now().UTC()
			if a.boot.Crash {
				d.state = "crashed"
				h.logf(a, "heroku["+d.name+"]", "Process exited with status 1")
				h.logf(a, "heroku["+d.name+"]", "State changed from starting to crashed")
				continue
			}
			d.state = "up"
			h.logf(a, "heroku["+d.name+"]", "State changed from starting to up")
			for _, l := range a.boot.Lines {
				h.logf(a, "app["+d.name+"]", "%s", l)
			}
		}
	}
	if a.boot.Delay <= 0 {
		up()
		return
	}
	h.after(a.boot.Delay, up)
}

// account is GET /account: the account of the key that asks.
func (h *Heroku) account(w http.ResponseWriter, r *http.Request) {
	who := caller(r)
	h.mu.Lock()
	body := map[string]any{"email": who.email, "id": h.accounts[who.email], "verified": true}
	h.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, body)
}

// appBody is an app as the API serializes it. h.mu is held.
func (h *Heroku) appBody(a *herokuApp) map[string]any {
	released := a.updated
	if cur := a.current(); cur != nil {
		released = cur.created
	}
	return map[string]any{
		"acm":                            false,
		"archived_at":                    nil,
		"build_stack":                    map[string]any{"id": "69bee368-352b-4bd0-9b7c-819a6fbc0c6b", "name": "heroku-24"},
		"buildpack_provided_description": "Go",
		"created_at":                     a.created.Format(time.RFC3339),
		"git_url":                        "https://git.heroku.com/" + a.name + ".git",
		"id":                             a.id,
		"internal_routing":               nil,
		"maintenance":                    false,
		"name":                           a.name,
		"organization":                   nil,
		"owner":                          map[string]any{"email": h.email, "id": h.accountID},
		"region":                         map[string]any{"id": "59accabd-516d-4f0e-83e6-6e3757701145", "name": "us"},
		"released_at":                    released.Format(time.RFC3339),
		"repo_size":                      nil,
		"slug_size":                      nil,
		"space":                          nil,
		"stack":                          map[string]any{"id": "69bee368-352b-4bd0-9b7c-819a6fbc0c6b", "name": "heroku-24"},
		"team":                           nil,
		"updated_at":                     a.updated.Format(time.RFC3339),
		"web_url":                        "https://" + a.name + ".herokuapp.com/",
	}
}

func (h *Heroku) app(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var body map[string]any
	if a != nil {
		body = h.appBody(a)
	}
	h.mu.Unlock()
	if body == nil {
		standin.WriteJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	standin.WriteJSON(w, http.StatusOK, body)
}

// appList is GET /apps: every app the key can see, paged by id, name or
// updated_at.
func (h *Heroku) appList(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	items := make([]rangeItem, 0, len(h.apps))
	for _, a := range h.apps {
		items = append(items, rangeItem{
			keys: map[string]string{"id": a.id, "name": a.name, "updated_at": a.updated.Format(time.RFC3339)},
			body: h.appBody(a),
		})
	}
	h.mu.Unlock()
	page(w, r, []string{"id", "name", "updated_at"}, items)
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
		standin.WriteJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	standin.WriteJSON(w, http.StatusOK, vars)
}

// updateConfigVars applies a PATCH: string values set, null deletes. Like the real
// API it answers with the app's whole config, and every change makes a release
// that restarts the app.
func (h *Heroku) updateConfigVars(w http.ResponseWriter, r *http.Request) {
	var patch map[string]*string
	if err := json.NewDecoder(r.Body).Decode(&patch); err != nil || patch == nil {
		// Never echo the body or the decoder's error: either can hold a value.
		standin.WriteJSON(w, http.StatusUnprocessableEntity, herokuErrorMsg("invalid_params",
			"Config vars must be a JSON object of strings (or null to remove a var)."))
		return
	}
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var vars map[string]string
	if a != nil {
		h.applyConfig(a, patch, h.email)
		vars = maps.Clone(a.vars)
	}
	h.mu.Unlock()
	if a == nil {
		standin.WriteJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	standin.WriteJSON(w, http.StatusOK, vars)
}

// releaseBody is a release as the API serializes it. h.mu is held.
func (h *Heroku) releaseBody(a *herokuApp, r *herokuRelease) map[string]any {
	return map[string]any{
		"addon_plan_names":      []string{},
		"app":                   map[string]any{"id": a.id, "name": a.name},
		"artifacts":             []any{},
		"created_at":            r.created.Format(time.RFC3339),
		"current":               a.current() == r,
		"description":           r.description,
		"eligible_for_rollback": r.status == "succeeded",
		"id":                    r.id,
		"output_stream_url":     nil,
		"slug":                  nil,
		"status":                r.status,
		"updated_at":            r.updated.Format(time.RFC3339),
		"user":                  map[string]any{"email": r.user, "id": h.accountID},
		"version":               r.version,
	}
}

// releaseList is GET /apps/{app}/releases, paged by version or id: the CLI asks
// `Range: version ..; max=15, order=desc` for the newest.
func (h *Heroku) releaseList(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var items []rangeItem
	if a != nil {
		for _, rel := range a.releases {
			items = append(items, rangeItem{
				keys: map[string]string{"version": strconv.Itoa(rel.version), "id": rel.id},
				num:  map[string]bool{"version": true},
				body: h.releaseBody(a, rel),
			})
		}
	}
	h.mu.Unlock()
	if a == nil {
		standin.WriteJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	page(w, r, []string{"version", "id"}, items)
}

// releaseInfo is GET /apps/{app}/releases/{id_or_version}.
func (h *Heroku) releaseInfo(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var body map[string]any
	if a != nil {
		ident := r.PathValue("release")
		for _, rel := range a.releases {
			if rel.id == ident || strconv.Itoa(rel.version) == ident {
				body = h.releaseBody(a, rel)
			}
		}
	}
	h.mu.Unlock()
	switch {
	case a == nil:
		standin.WriteJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
	case body == nil:
		standin.WriteJSON(w, http.StatusNotFound, herokuErrorMsg("not_found", "Couldn't find that release."))
	default:
		standin.WriteJSON(w, http.StatusOK, body)
	}
}

// dynoList is GET /apps/{app}/dynos: the formation's dynos and any one-off or
// release dyno, each with the release it runs.
func (h *Heroku) dynoList(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	a := h.lookup(r.PathValue("app"))
	var items []rangeItem
	if a != nil {
		for _, d := range a.dynos {
			cmd := "bin/" + a.name
			if d.typ == "release" {
				cmd = "/bin/sh -c 'if [[ -f bin/release ]]; then bin/release; fi'"
			}
			items = append(items, rangeItem{
				keys: map[string]string{"id": d.id, "name": d.name},
				body: map[string]any{
					"app":        map[string]any{"id": a.id, "name": a.name},
					"attach_url": nil,
					"command":    cmd,
					"created_at": d.created.Format(time.RFC3339),
					"id":         d.id,
					"name":       d.name,
					"release":    map[string]any{"id": d.release.id, "version": d.release.version},
					"size":       "Basic",
					"state":      d.state,
					"type":       d.typ,
					"updated_at": d.updated.Format(time.RFC3339),
				},
			})
		}
	}
	h.mu.Unlock()
	if a == nil {
		standin.WriteJSON(w, http.StatusNotFound, herokuError(http.StatusNotFound))
		return
	}
	page(w, r, []string{"id", "name"}, items)
}
