package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Routes of the Infisical stand-in, as the go-sdk calls them (for Fail and Count).
const (
	InfisicalLogin        = "POST /api/v1/auth/universal-auth/login"
	InfisicalRenew        = "POST /api/v1/auth/token/renew"
	InfisicalGetSecret    = "GET /api/v3/secrets/raw/{secretName}"
	InfisicalCreateSecret = "POST /api/v3/secrets/raw/{secretName}"
	InfisicalUpdateSecret = "PATCH /api/v3/secrets/raw/{secretName}"
	InfisicalDeleteSecret = "DELETE /api/v3/secrets/raw/{secretName}"
)

// Token lifetimes the real API gives a universal-auth machine identity by default.
const (
	infisicalTokenTTL    = 2 * time.Hour
	infisicalTokenMaxTTL = 30 * 24 * time.Hour
)

// Infisical is a local stand-in of the Infisical API as go-sdk v0.8.0 speaks it:
// universal-auth login and token renewal, and the v3 "raw" secret routes (read,
// read at a version, create, update, delete). It keeps every version of every
// secret per (environment, folder, key), checks the bearer token, the project id,
// the environment and the folder like the real API, and answers errors with its
// {"reqId","statusCode","message","error"} body — always as application/json, since
// the SDK silently decodes anything else as an empty secret.
//
// One project holds the environments dev, staging and prod, each with only the
// root folder; Set and Mkdir create folders (the real API refuses to create a
// secret in a folder that does not exist). It never prints a secret value.
type Infisical struct {
	*server

	clientID, clientSecret, projectID string

	mu          sync.Mutex
	envs        map[string]map[string]bool // environment slug → folder paths
	secrets     map[infisicalRef][]string  // every version's value; [0] is version 1
	ids         map[infisicalRef]string
	denied      map[string]bool // environment + folder the identity may not touch
	tokens      map[string]*infisicalToken
	ttl, maxTTL time.Duration
	retryAfter  string // the Retry-After of the last 429 fault, for its message
	seq         int
}

type infisicalRef struct{ env, path, key string }

type infisicalToken struct {
	issued, expires time.Time
}

// NewInfisical starts an Infisical stand-in that accepts one machine identity
// (universal auth) and holds one project.
func NewInfisical(clientID, clientSecret, projectID string) *Infisical {
	i := &Infisical{
		clientID: clientID, clientSecret: clientSecret, projectID: projectID,
		envs:    map[string]map[string]bool{},
		secrets: map[infisicalRef][]string{},
		ids:     map[infisicalRef]string{},
		denied:  map[string]bool{},
		tokens:  map[string]*infisicalToken{},
		ttl:     infisicalTokenTTL, maxTTL: infisicalTokenMaxTTL,
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		i.envs[env] = map[string]bool{"/": true}
	}
	i.server = newServer(i.errorBody)
	i.handle(InfisicalLogin, i.login)
	i.handle(InfisicalRenew, i.renew)
	i.handle(InfisicalGetSecret, i.getSecret)
	i.handle(InfisicalCreateSecret, i.createSecret)
	i.handle(InfisicalUpdateSecret, i.updateSecret)
	i.handle(InfisicalDeleteSecret, i.deleteSecret)
	// Fastify answers unknown routes with a JSON 404; so does the stand-in.
	i.handle("/", func(w http.ResponseWriter, r *http.Request) {
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Route %s:%s not found", r.Method, r.URL.Path))
	})
	return i
}

// Fail makes route misbehave (see server.Fail). A 429 fault's message says "Please
// try again in N seconds" with its RetryAfter as N, as the real API's does.
func (i *Infisical) Fail(route string, f *Fault) {
	if f != nil && f.Status == http.StatusTooManyRequests {
		i.mu.Lock()
		i.retryAfter = f.RetryAfter
		i.mu.Unlock()
	}
	i.server.Fail(route, f)
}

// Set writes value as the newest version of key, creating the environment, the
// folder and the secret as needed, and returns the version number.
func (i *Infisical) Set(env, secretPath, key, value string) (version int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	p := infisicalPath(secretPath)
	i.mkdirLocked(env, p)
	ref := infisicalRef{env, p, key}
	if _, ok := i.ids[ref]; !ok {
		i.ids[ref] = i.newIDLocked()
	}
	i.secrets[ref] = append(i.secrets[ref], value)
	return len(i.secrets[ref])
}

// Value returns the newest version of key.
func (i *Infisical) Value(env, secretPath, key string) (value string, version int, ok bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	vs := i.secrets[infisicalRef{env, infisicalPath(secretPath), key}]
	if len(vs) == 0 {
		return "", 0, false
	}
	return vs[len(vs)-1], len(vs), true
}

// Versions returns every version's value of key, oldest (version 1) first.
func (i *Infisical) Versions(env, secretPath, key string) []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]string(nil), i.secrets[infisicalRef{env, infisicalPath(secretPath), key}]...)
}

// Mkdir creates a folder (and its parents) in an environment, creating the
// environment if needed.
func (i *Infisical) Mkdir(env, secretPath string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.mkdirLocked(env, infisicalPath(secretPath))
}

// Deny takes the machine identity's access to a folder and everything below it in
// env away: every secret request there answers 403.
func (i *Infisical) Deny(env, secretPath string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.denied[env+":"+infisicalPath(secretPath)] = true
}

// SetTokenTTL sets the lifetime of access tokens issued or renewed from now on
// (whole seconds; the real default is two hours).
func (i *Infisical) SetTokenTTL(d time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.ttl = d
}

// RevokeTokens invalidates every access token issued so far, as an admin revoking
// the identity's tokens would: the next request with one answers 401.
func (i *Infisical) RevokeTokens() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.tokens = map[string]*infisicalToken{}
}

func (i *Infisical) mkdirLocked(env, p string) {
	folders, ok := i.envs[env]
	if !ok {
		folders = map[string]bool{"/": true}
		i.envs[env] = folders
	}
	for ; p != "/"; p = path.Dir(p) {
		folders[p] = true
	}
}

func (i *Infisical) newIDLocked() string {
	i.seq++
	return fmt.Sprintf("6f1c0000-0000-4000-8000-%012d", i.seq)
}

// infisicalPath normalises a secret path as the real API does: a leading slash,
// no trailing slash, "/" for the root.
func infisicalPath(p string) string {
	return path.Clean("/" + strings.TrimSpace(p))
}

// infisicalErrorNames are the "error" words the real API puts in its error bodies.
var infisicalErrorNames = map[int]string{
	http.StatusBadRequest:          "BadRequest",
	http.StatusUnauthorized:        "UnauthorizedError",
	http.StatusForbidden:           "PermissionDenied",
	http.StatusNotFound:            "NotFound",
	http.StatusUnprocessableEntity: "ValidationFailure",
	http.StatusTooManyRequests:     "RateLimitExceeded",
	http.StatusInternalServerError: "InternalServerError",
}

func (i *Infisical) body(status int, message string) any {
	i.mu.Lock()
	i.seq++
	reqID := fmt.Sprintf("req-%06d", i.seq)
	i.mu.Unlock()
	name, ok := infisicalErrorNames[status]
	if !ok {
		name = strings.ReplaceAll(http.StatusText(status), " ", "")
	}
	return map[string]any{"reqId": reqID, "statusCode": status, "message": message, "error": name}
}

// errorBody renders an injected fault in the real API's words.
func (i *Infisical) errorBody(status int) any {
	var msg string
	switch {
	case status == http.StatusUnauthorized:
		msg = "Invalid token"
	case status == http.StatusForbidden:
		msg = "You are not allowed to access this resource"
	case status == http.StatusNotFound:
		msg = "Not found"
	case status == http.StatusTooManyRequests:
		i.mu.Lock()
		wait := i.retryAfter
		i.mu.Unlock()
		if wait == "" {
			wait = "60"
		}
		msg = "Rate limit exceeded. Please try again in " + wait + " seconds"
	case status >= 500:
		msg = "Something went wrong"
	default:
		msg = http.StatusText(status)
	}
	return i.body(status, msg)
}

func (i *Infisical) fail(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, i.body(status, message))
}

func (i *Infisical) issue(w http.ResponseWriter, token string) {
	i.mu.Lock()
	t := i.tokens[token]
	now := time.Now()
	if t == nil {
		t = &infisicalToken{issued: now}
		i.tokens[token] = t
	}
	t.expires = now.Add(i.ttl)
	if t.expires.After(t.issued.Add(i.maxTTL)) {
		t.expires = t.issued.Add(i.maxTTL)
	}
	ttl, maxTTL := i.ttl, i.maxTTL
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"accessToken":       token,
		"expiresIn":         int64(ttl / time.Second),
		"accessTokenMaxTTL": int64(maxTTL / time.Second),
		"tokenType":         "Bearer",
	})
}

func (i *Infisical) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		i.fail(w, http.StatusBadRequest, "Invalid request body")
		return
	}
	if in.ClientID != i.clientID || in.ClientSecret != i.clientSecret || in.ClientID == "" {
		i.fail(w, http.StatusUnauthorized, "Invalid credentials")
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	i.issue(w, "infisical-at."+hex.EncodeToString(b))
}

func (i *Infisical) renew(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		i.fail(w, http.StatusBadRequest, "Invalid request body")
		return
	}
	i.mu.Lock()
	t, ok := i.tokens[in.AccessToken]
	var expired, maxed bool
	if ok {
		now := time.Now()
		expired = !now.Before(t.expires)
		maxed = !now.Before(t.issued.Add(i.maxTTL))
	}
	i.mu.Unlock()
	switch {
	case !ok:
		i.fail(w, http.StatusUnauthorized, "No identity with access token found")
	case maxed:
		i.fail(w, http.StatusUnauthorized, "Failed to renew MI access token due to Max TTL expiration")
	case expired:
		i.fail(w, http.StatusUnauthorized, "Failed to renew MI access token due to TTL expiration")
	default:
		i.issue(w, in.AccessToken)
	}
}

// authorize checks the bearer token as the real API does for every secret route.
func (i *Infisical) authorize(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		i.fail(w, http.StatusUnauthorized, "Token missing")
		return false
	}
	i.mu.Lock()
	t, known := i.tokens[token]
	live := known && time.Now().Before(t.expires)
	i.mu.Unlock()
	switch {
	case !known:
		i.fail(w, http.StatusUnauthorized, "Invalid token")
	case !live:
		i.fail(w, http.StatusUnauthorized, "Access token expired")
	}
	return live
}

// secretArgs are the fields every secret route takes, in the query string (GET) or
// the JSON body (the others).
type secretArgs struct {
	WorkspaceID string  `json:"workspaceId"`
	Environment string  `json:"environment"`
	SecretPath  string  `json:"secretPath"`
	Type        string  `json:"type"`
	SecretValue *string `json:"secretValue"`
	Comment     string  `json:"secretComment"`
	version     string
}

func (i *Infisical) args(w http.ResponseWriter, r *http.Request) (secretArgs, bool) {
	var a secretArgs
	if r.Method == http.MethodGet || r.ContentLength == 0 {
		q := r.URL.Query()
		a = secretArgs{WorkspaceID: q.Get("workspaceId"), Environment: q.Get("environment"),
			SecretPath: q.Get("secretPath"), Type: q.Get("type"), version: q.Get("version")}
	} else if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
		i.fail(w, http.StatusBadRequest, "Invalid request body")
		return a, false
	}
	switch {
	case a.WorkspaceID == "":
		i.fail(w, http.StatusBadRequest, "Missing workspaceId")
		return a, false
	case a.Environment == "":
		i.fail(w, http.StatusBadRequest, "Missing environment")
		return a, false
	case a.Type != "" && a.Type != "shared":
		i.fail(w, http.StatusBadRequest, fmt.Sprintf("Secret type '%s' is not supported here", a.Type))
		return a, false
	}
	a.SecretPath = infisicalPath(a.SecretPath)
	return a, true
}

// locate runs the checks the real API makes before it looks at a secret: token,
// project, environment, permission, folder. It holds i.mu when it returns true.
func (i *Infisical) locate(w http.ResponseWriter, r *http.Request, action string) (infisicalRef, secretArgs, bool) {
	if !i.authorize(w, r) {
		return infisicalRef{}, secretArgs{}, false
	}
	a, ok := i.args(w, r)
	if !ok {
		return infisicalRef{}, a, false
	}
	if a.WorkspaceID != i.projectID {
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Project with ID '%s' not found", a.WorkspaceID))
		return infisicalRef{}, a, false
	}
	ref := infisicalRef{a.Environment, a.SecretPath, r.PathValue("secretName")}
	i.mu.Lock()
	folders, envOK := i.envs[ref.env]
	denied := false
	for p := ref.path; ; p = path.Dir(p) {
		denied = denied || i.denied[ref.env+":"+p]
		if p == "/" {
			break
		}
	}
	i.mu.Unlock()
	switch {
	case !envOK:
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Environment with slug '%s' in project with ID '%s' not found", ref.env, i.projectID))
	case denied:
		i.fail(w, http.StatusForbidden, fmt.Sprintf("You are not allowed to %s on secrets", action))
	case !folders[ref.path]:
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Folder with path '%s' in environment with slug '%s' not found", ref.path, ref.env))
	default:
		i.mu.Lock()
		return ref, a, true
	}
	return infisicalRef{}, a, false
}

func (i *Infisical) secretJSONLocked(ref infisicalRef, version int) map[string]any {
	return map[string]any{
		"id":             i.ids[ref],
		"_id":            i.ids[ref],
		"workspace":      i.projectID,
		"environment":    ref.env,
		"version":        version,
		"type":           "shared",
		"secretKey":      ref.key,
		"secretValue":    i.secrets[ref][version-1],
		"secretComment":  "",
		"secretPath":     ref.path,
		"secretMetadata": []any{},
		"tags":           []any{},
	}
}

func (i *Infisical) getSecret(w http.ResponseWriter, r *http.Request) {
	ref, a, ok := i.locate(w, r, "readValue")
	if !ok {
		return
	}
	vs := i.secrets[ref]
	if len(vs) == 0 {
		i.mu.Unlock()
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Secret with name '%s' not found", ref.key))
		return
	}
	version := len(vs)
	if a.version != "" {
		n, err := strconv.Atoi(a.version)
		if err != nil || n < 1 {
			i.mu.Unlock()
			i.fail(w, http.StatusBadRequest, "version must be a positive integer")
			return
		}
		if n > len(vs) {
			i.mu.Unlock()
			i.fail(w, http.StatusNotFound, fmt.Sprintf("Secret version '%d' of '%s' not found", n, ref.key))
			return
		}
		version = n
	}
	out := i.secretJSONLocked(ref, version)
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"secret": out})
}

func (i *Infisical) createSecret(w http.ResponseWriter, r *http.Request) {
	ref, a, ok := i.locate(w, r, "create")
	if !ok {
		return
	}
	if len(i.secrets[ref]) > 0 {
		i.mu.Unlock()
		i.fail(w, http.StatusBadRequest, fmt.Sprintf("Secret with name '%s' already exists", ref.key))
		return
	}
	value := ""
	if a.SecretValue != nil {
		value = *a.SecretValue
	}
	i.ids[ref] = i.newIDLocked()
	i.secrets[ref] = []string{value}
	out := i.secretJSONLocked(ref, 1)
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"secret": out})
}

func (i *Infisical) updateSecret(w http.ResponseWriter, r *http.Request) {
	ref, a, ok := i.locate(w, r, "edit")
	if !ok {
		return
	}
	vs := i.secrets[ref]
	if len(vs) == 0 {
		i.mu.Unlock()
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Secret named '%s' not found", ref.key))
		return
	}
	if a.SecretValue != nil {
		i.secrets[ref] = append(vs, *a.SecretValue)
	}
	out := i.secretJSONLocked(ref, len(i.secrets[ref]))
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"secret": out})
}

func (i *Infisical) deleteSecret(w http.ResponseWriter, r *http.Request) {
	ref, _, ok := i.locate(w, r, "delete")
	if !ok {
		return
	}
	vs := i.secrets[ref]
	if len(vs) == 0 {
		i.mu.Unlock()
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Secret with name '%s' not found", ref.key))
		return
	}
	out := i.secretJSONLocked(ref, len(vs))
	delete(i.secrets, ref)
	delete(i.ids, ref)
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"secret": out})
}
