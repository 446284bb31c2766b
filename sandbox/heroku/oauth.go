package heroku

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// Heroku's OAuth scopes (Dev Center, "OAuth": Scopes). global is the whole
// account, the API key's equivalent; identity reads the account only; read and
// write reach apps and other resources but not config vars, which the
// -protected ones add.
var Scopes = []string{"global", "identity", "read", "write", "read-protected", "write-protected"}

// scopeNeed is what a route asks of a key's scope.
type scopeNeed int

const (
	scopeIdentity scopeNeed = iota // any scope reads its own account
	scopeRead
	scopeReadProtected
	scopeWriteProtected
	scopeGlobal // the account's keys themselves (OAuth authorizations)
)

// scopeRefusal is the stand-in's answer to a key whose scope does not reach a
// route: the authorization endpoints need global, as making or reading the
// account's other keys gives all of its access. (Heroku's own wording is not
// documented; the status and id are its.)
const scopeRefusal = "This OAuth authorization's scope does not allow this request."

// allowedBy reports whether a key of scope may make a request that needs n.
func (n scopeNeed) allowedBy(scope []string) bool {
	if slices.Contains(scope, "global") || n == scopeIdentity {
		return true
	}
	ok := map[scopeNeed][]string{
		scopeRead:           {"read", "write", "read-protected", "write-protected"},
		scopeReadProtected:  {"read-protected", "write-protected"},
		scopeWriteProtected: {"write-protected"},
	}[n]
	for _, s := range scope {
		if slices.Contains(ok, s) {
			return true
		}
	}
	return false
}

// authorization is one API key: an OAuth authorization of an account.
type authorization struct {
	id, tokenID, key string
	email            string
	scope            []string
	description      string
	expiresIn        *int
	created, updated time.Time
	deletedAt        time.Time
}

type whoKey struct{}

// caller is the authorization whose key made the request.
func caller(r *http.Request) *authorization {
	a, _ := r.Context().Value(whoKey{}).(*authorization)
	return a
}

// authByKey is the live authorization whose key is key (nil: none, or deleted).
func (h *Heroku) authByKey(key string) *authorization {
	if key == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.auths {
		if a.key == key {
			return a
		}
	}
	return nil
}

// addAuth makes an authorization of email's account (made if new). h.mu is
// held, or h is not shared yet.
func (h *Heroku) addAuth(email, key string, scope []string, desc string, expiresIn *int) *authorization {
	if _, ok := h.accounts[email]; !ok {
		h.accounts[email] = newUUID()
	}
	now := h.now().UTC()
	a := &authorization{id: newUUID(), tokenID: newUUID(), key: key, email: email, scope: slices.Clone(scope),
		description: desc, expiresIn: expiresIn, created: now, updated: now}
	h.auths = append(h.auths, a)
	return a
}

// NewKey makes up a key shaped as Heroku's: HRKU- and random characters. Not a
// UUID's layout: an authorization's id is a UUID, and a key sharing its fixed
// "-4…-8" parts would meet the id's text in the tests' leak checks by chance.
func NewKey() string { return "HRKU-AA" + standin.RandomHex(30) }

// AddKey makes an API key of email's account (the account is made if new) with
// scope, as `heroku authorizations:create -s SCOPE -d DESC` would, and returns it.
func (h *Heroku) AddKey(email string, scope []string, desc string) string {
	key := NewKey()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addAuth(email, key, scope, desc, nil)
	return key
}

// Keys are every key the stand-in made or was given, live or deleted: what a
// leak check looks for.
func (h *Heroku) Keys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range append(slices.Clone(h.auths), h.deleted...) {
		out = append(out, a.key)
	}
	return out
}

// Email is the stand-in's first account: the one every app belongs to.
func (h *Heroku) Email() string { return h.email }

// KeyAlive reports whether key is a live authorization's (a deleted one's
// answers 401 everywhere).
func (h *Heroku) KeyAlive(key string) bool { return h.authByKey(key) != nil }

// Authorization is one API key as the sandbox page and tests see it: never the
// key, only its fingerprint (the first 8 hex of its SHA-256).
type Authorization struct {
	ID, Email, Description, Fingerprint string
	Scope                               []string
	Created, Deleted                    time.Time
}

// Authorizations lists every key, live ones first in the order made, then the
// deleted ones.
func (h *Heroku) Authorizations() []Authorization {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Authorization
	for _, a := range append(slices.Clone(h.auths), h.deleted...) {
		sum := sha256.Sum256([]byte(a.key))
		out = append(out, Authorization{ID: a.id, Email: a.email, Description: a.description, Scope: slices.Clone(a.scope),
			Fingerprint: hex.EncodeToString(sum[:4]), Created: a.created, Deleted: a.deletedAt})
	}
	return out
}

// authBody is an authorization as the API serializes it (heroku-go's
// OAuthAuthorization): with its key, which is only ever sent to its own account.
func (h *Heroku) authBody(a *authorization) map[string]any {
	return map[string]any{
		"id":            a.id,
		"scope":         a.scope,
		"description":   a.description,
		"created_at":    a.created.Format(time.RFC3339),
		"updated_at":    a.updated.Format(time.RFC3339),
		"access_token":  map[string]any{"expires_in": a.expiresIn, "id": a.tokenID, "token": a.key},
		"refresh_token": nil,
		"client":        nil,
		"grant":         nil,
		"session":       nil,
		"user":          map[string]any{"id": h.accounts[a.email], "email": a.email, "full_name": nil},
	}
}

// authList is GET /oauth/authorizations: the asking key's account's keys, paged by id.
func (h *Heroku) authList(w http.ResponseWriter, r *http.Request) {
	who := caller(r)
	h.mu.Lock()
	var items []rangeItem
	for _, a := range h.auths {
		if a.email == who.email {
			items = append(items, rangeItem{keys: map[string]string{"id": a.id}, body: h.authBody(a)})
		}
	}
	h.mu.Unlock()
	page(w, r, []string{"id"}, items)
}

// authCreate is POST /oauth/authorizations: a new key of the asking key's
// account. scope is required and each must be one of Heroku's.
func (h *Heroku) authCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Scope       *[]string `json:"scope"`
		Description string    `json:"description"`
		ExpiresIn   *int      `json:"expires_in"`
		Client      *string   `json:"client"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Scope == nil || len(*in.Scope) == 0 {
		standin.WriteJSON(w, http.StatusUnprocessableEntity, herokuErrorMsg("invalid_params", "Require array: scope."))
		return
	}
	for _, s := range *in.Scope {
		if !slices.Contains(Scopes, s) {
			standin.WriteJSON(w, http.StatusUnprocessableEntity, herokuErrorMsg("invalid_params",
				fmt.Sprintf("Invalid scope: %s. Valid scopes: %s.", s, strings.Join(Scopes, ", "))))
			return
		}
	}
	if in.Client != nil {
		standin.WriteJSON(w, http.StatusUnprocessableEntity, herokuErrorMsg("invalid_params", "Couldn't find that OAuth client."))
		return
	}
	who := caller(r)
	h.mu.Lock()
	a := h.addAuth(who.email, NewKey(), *in.Scope, in.Description, in.ExpiresIn)
	body := h.authBody(a)
	h.mu.Unlock()
	standin.WriteJSON(w, http.StatusCreated, body)
}

// ownAuth is the asking key's account's authorization named by the path's id;
// h.mu is held.
func (h *Heroku) ownAuth(r *http.Request) (int, *authorization) {
	who := caller(r)
	for i, a := range h.auths {
		if a.id == r.PathValue("id") && a.email == who.email {
			return i, a
		}
	}
	return -1, nil
}

var authNotFound = herokuErrorMsg("not_found", "Couldn't find that OAuth authorization.")

// authInfo is GET /oauth/authorizations/{id}.
func (h *Heroku) authInfo(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	_, a := h.ownAuth(r)
	var body map[string]any
	if a != nil {
		body = h.authBody(a)
	}
	h.mu.Unlock()
	if body == nil {
		standin.WriteJSON(w, http.StatusNotFound, authNotFound)
		return
	}
	standin.WriteJSON(w, http.StatusOK, body)
}

// authDelete is DELETE /oauth/authorizations/{id}: the key dies at once — it
// answers 401 everywhere — and the answer is the authorization as it was.
func (h *Heroku) authDelete(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	i, a := h.ownAuth(r)
	var body map[string]any
	if a != nil {
		body = h.authBody(a)
		h.auths = slices.Delete(h.auths, i, i+1)
		a.deletedAt = h.now().UTC()
		h.deleted = append(h.deleted, a)
	}
	h.mu.Unlock()
	if body == nil {
		standin.WriteJSON(w, http.StatusNotFound, authNotFound)
		return
	}
	standin.WriteJSON(w, http.StatusOK, body)
}
