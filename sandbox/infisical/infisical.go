// Package infisical is a local stand-in of the Infisical API as rotabot meets it:
// universal-auth login and token renewal, and the versioned secret routes, with the
// real API's checks in its order and its error bodies, so Infisical's go-sdk talks to
// it unchanged. It must not know rotabot's packages: it is the outside world, reached
// only through the SDK.
package infisical

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

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
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
// the identity's membership, the environment and folder, and the permission in the
// real API's order, and answers errors with its {"reqId","statusCode","message",
// "error"} body and words — always as application/json, since the SDK silently
// decodes anything else as an empty secret.
//
// Checked against Infisical's server source (github.com/Infisical/infisical):
// backend/src/server/plugins/error-handler.ts (status and "error" per error
// class; an expired JWT is 403 "TokenError"), backend/src/lib/errors/index.ts
// (class names), backend/src/services/identity-access-token/
// identity-access-token-service.ts (a revoked token is 401 "No identity access token
// found"; tokens are JWTs that expire after their TTL),
// backend/src/services/project-bot/project-bot-fns.ts (an unknown project),
// backend/src/ee/services/permission/permission-service.ts (an identity that is not
// a member: 403 "ProjectMembershipNotFound"), and
// backend/src/services/secret-v2-bridge/secret-v2-bridge-service.ts (a missing
// folder — or environment: both are found by one lookup — is 404 "Folder with path
// '…' in environment with slug '…' not found", named after the operation; a missing
// secret's words differ per route).
//
// One project holds the environments dev, staging and prod, each with only the
// root folder; Set and Mkdir create folders (the real API refuses to create a
// secret in a folder that does not exist). It never prints a secret value.
type Infisical struct {
	*standin.Server

	clientID, clientSecret, projectID string

	mu          sync.Mutex
	envs        map[string]map[string]bool // environment slug → folder paths
	secrets     map[infisicalRef][]string  // every version's value; [0] is version 1
	ids         map[infisicalRef]string
	denied      map[string]bool // environment + folder the identity may not touch
	outsider    bool            // the identity is not a member of the project
	tokens      map[string]*infisicalToken
	ttl, maxTTL time.Duration
	retryAfter  string // the Retry-After of the last 429 fault, for its message
	seq         int
	now         func() time.Time
}

type infisicalRef struct{ env, path, key string }

type infisicalToken struct {
	issued, expires time.Time
	revoked         bool
}

// New starts an Infisical stand-in that accepts one machine identity
// (universal auth) and holds one project.
func New(clientID, clientSecret, projectID string) *Infisical {
	i := &Infisical{
		clientID: clientID, clientSecret: clientSecret, projectID: projectID,
		envs:    map[string]map[string]bool{},
		secrets: map[infisicalRef][]string{},
		ids:     map[infisicalRef]string{},
		denied:  map[string]bool{},
		tokens:  map[string]*infisicalToken{},
		ttl:     infisicalTokenTTL, maxTTL: infisicalTokenMaxTTL,
		now: standin.WallNow,
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		i.envs[env] = map[string]bool{"/": true}
	}
	i.Server = standin.NewServer(i.errorBody)
	i.Handle(InfisicalLogin, i.login)
	i.Handle(InfisicalRenew, i.renew)
	i.secretRoute(InfisicalGetSecret, "GetSecretByName", i.getSecret)
	i.secretRoute(InfisicalCreateSecret, "CreateSecret", i.createSecret)
	i.secretRoute(InfisicalUpdateSecret, "UpdateSecret", i.updateSecret)
	i.secretRoute(InfisicalDeleteSecret, "DeleteSecret", i.deleteSecret)
	// Fastify answers unknown routes with a JSON 404; so does the stand-in.
	i.Handle("/", func(w http.ResponseWriter, r *http.Request) {
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Route %s:%s not found", r.Method, r.URL.Path))
	})
	return i
}

// Fail makes route misbehave (see standin.Server.Fail). A 429 fault's message says "Please
// try again in N seconds" with its RetryAfter as N, as the real API's does.
func (i *Infisical) Fail(route string, f *standin.Fault) {
	if f != nil && f.Status == http.StatusTooManyRequests {
		i.mu.Lock()
		i.retryAfter = f.RetryAfter
		i.mu.Unlock()
	}
	i.Server.Fail(route, f)
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

// SetNow replaces the stand-in's clock, which decides when its access tokens
// expire, so a test can move time without sleeping (nil: the wall clock).
func (i *Infisical) SetNow(now func() time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if now == nil {
		now = standin.WallNow
	}
	i.now = now
}

// clock is the stand-in's time; the caller holds i.mu.
func (i *Infisical) clock() time.Time { return i.now() }

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
	for _, t := range i.tokens {
		t.revoked = true
	}
}

// ExpireTokens makes every access token issued so far reach the end of its TTL now:
// the next request with one answers 403 TokenError, as the real API does for an
// expired JWT.
func (i *Infisical) ExpireTokens() {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.clock()
	for _, t := range i.tokens {
		t.expires = now
	}
}

// SetMember says whether the machine identity is a member of the project; one that
// is not gets 403 ProjectMembershipNotFound on every secret route.
func (i *Infisical) SetMember(member bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.outsider = !member
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
	standin.WriteJSON(w, status, i.body(status, message))
}

// failAs answers status with an "error" name other than the status's usual one: the
// real API names some errors after the operation ("GetSecretByName") or the case
// ("TokenError", "ProjectMembershipNotFound").
func (i *Infisical) failAs(w http.ResponseWriter, status int, name, message string) {
	b := i.body(status, message).(map[string]any)
	b["error"] = name
	standin.WriteJSON(w, status, b)
}

func (i *Infisical) issue(w http.ResponseWriter, token string) {
	i.mu.Lock()
	t := i.tokens[token]
	now := i.clock()
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
	standin.WriteJSON(w, http.StatusOK, map[string]any{
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
	var expired, maxed, revoked bool
	if ok {
		now := i.clock()
		expired = !now.Before(t.expires)
		maxed = !now.Before(t.issued.Add(i.maxTTL))
		revoked = t.revoked
	}
	i.mu.Unlock()
	switch {
	case !ok:
		i.failAs(w, http.StatusForbidden, "TokenError", tokenMalformed)
	case expired:
		// The token is a JWT that expires with its TTL: jwt.verify refuses it first.
		i.failAs(w, http.StatusForbidden, "TokenError", tokenExpired)
	case revoked:
		i.fail(w, http.StatusUnauthorized, "No identity access token found")
	case maxed:
		i.fail(w, http.StatusUnauthorized, "Failed to renew MI access token due to Max TTL expiration")
	default:
		i.issue(w, in.AccessToken)
	}
}

// The real API's words for a token jwt.verify refuses (error-handler.ts).
const (
	tokenExpired   = "Your token has expired. Please re-authenticate."
	tokenMalformed = "The provided access token is malformed. Please use a valid token or generate a new one and try again."
)

// authorize checks the bearer token as the real API does for every secret route.
func (i *Infisical) authorize(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		i.fail(w, http.StatusUnauthorized, "Token missing")
		return false
	}
	i.mu.Lock()
	t, known := i.tokens[token]
	expired := known && !i.clock().Before(t.expires)
	revoked := known && t.revoked
	i.mu.Unlock()
	switch {
	case !known:
		i.failAs(w, http.StatusForbidden, "TokenError", tokenMalformed)
	case expired:
		i.failAs(w, http.StatusForbidden, "TokenError", tokenExpired)
	case revoked:
		i.fail(w, http.StatusUnauthorized, "No identity access token found")
	default:
		return true
	}
	return false
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

// locate runs the checks the real API makes before it looks at a secret, in its
// order: token, project (project-bot-fns.ts), membership (permission-service.ts),
// then the folder, found by environment and path in one lookup
// (secret-v2-bridge-service.ts: an unknown environment reads as a missing folder).
// op names the operation as the real API's "error" does for a missing folder. It
// holds i.mu when it returns true; the caller checks the secret, then the
// permission (denied), in that order.
func (i *Infisical) locate(w http.ResponseWriter, r *http.Request, op string) (infisicalRef, secretArgs, bool) {
	if !i.authorize(w, r) {
		return infisicalRef{}, secretArgs{}, false
	}
	a, ok := i.args(w, r)
	if !ok {
		return infisicalRef{}, a, false
	}
	if a.WorkspaceID != i.projectID {
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Project with ID '%s' not found during bot lookup. Are you sure you are using the correct project ID?", a.WorkspaceID))
		return infisicalRef{}, a, false
	}
	ref := infisicalRef{a.Environment, a.SecretPath, r.PathValue("secretName")}
	i.mu.Lock()
	outsider := i.outsider
	folders, envOK := i.envs[ref.env]
	i.mu.Unlock()
	switch {
	case outsider:
		i.failAs(w, http.StatusForbidden, "ProjectMembershipNotFound", fmt.Sprintf(
			"You are not a member of this project with ID %s. Please assign this identity to the project with the appropriate permissions, then try again.", a.WorkspaceID))
	case !envOK || !folders[ref.path]:
		i.failAs(w, http.StatusNotFound, op, fmt.Sprintf("Folder with path '%s' in environment with slug '%s' not found", ref.path, ref.env))
	default:
		i.mu.Lock()
		return ref, a, true
	}
	return infisicalRef{}, a, false
}

// secretHandler answers a secret route once locate has passed: it runs with i.mu
// held and releases it before it answers.
type secretHandler func(w http.ResponseWriter, ref infisicalRef, a secretArgs)

// secretRoute registers a secret route whose checks — token, project, membership,
// folder — run once, in locate, before h; op names the operation for a missing
// folder's "error".
func (i *Infisical) secretRoute(pattern, op string, h secretHandler) {
	i.Handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		ref, a, ok := i.locate(w, r, op)
		if !ok {
			return
		}
		h(w, ref, a)
	})
}

// deniedLocked reports whether the identity may not touch ref's folder (i.mu held).
func (i *Infisical) deniedLocked(ref infisicalRef) bool {
	for p := ref.path; ; p = path.Dir(p) {
		if i.denied[ref.env+":"+p] {
			return true
		}
		if p == "/" {
			return false
		}
	}
}

// refuse answers the permission error the real API gives for action on secrets
// (error-handler.ts, ForbiddenError), releasing i.mu.
func (i *Infisical) refuse(w http.ResponseWriter, action string) {
	i.mu.Unlock()
	i.failAs(w, http.StatusForbidden, "PermissionDenied", fmt.Sprintf("You are not allowed to %s on secrets", action))
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

func (i *Infisical) getSecret(w http.ResponseWriter, ref infisicalRef, a secretArgs) {
	vs := i.secrets[ref]
	version := len(vs)
	if a.version != "" {
		n, err := strconv.Atoi(a.version)
		if err != nil || n < 1 {
			i.mu.Unlock()
			i.fail(w, http.StatusBadRequest, "version must be a positive integer")
			return
		}
		version = n
	}
	if len(vs) == 0 || version > len(vs) {
		// The same words for a missing secret and a missing version: both are a
		// lookup that found nothing.
		i.mu.Unlock()
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Secret with name '%s' not found", ref.key))
		return
	}
	if i.deniedLocked(ref) {
		i.refuse(w, "readValue")
		return
	}
	out := i.secretJSONLocked(ref, version)
	i.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, map[string]any{"secret": out})
}

func (i *Infisical) createSecret(w http.ResponseWriter, ref infisicalRef, a secretArgs) {
	if len(i.secrets[ref]) > 0 {
		i.mu.Unlock()
		i.fail(w, http.StatusBadRequest, "Secret already exists")
		return
	}
	if i.deniedLocked(ref) {
		i.refuse(w, "create")
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
	standin.WriteJSON(w, http.StatusOK, map[string]any{"secret": out})
}

func (i *Infisical) updateSecret(w http.ResponseWriter, ref infisicalRef, a secretArgs) {
	vs := i.secrets[ref]
	if len(vs) == 0 {
		i.mu.Unlock()
		i.fail(w, http.StatusNotFound, fmt.Sprintf("Secret with name %s not found", ref.key))
		return
	}
	if i.deniedLocked(ref) {
		i.refuse(w, "edit")
		return
	}
	if a.SecretValue != nil {
		i.secrets[ref] = append(vs, *a.SecretValue)
	}
	out := i.secretJSONLocked(ref, len(i.secrets[ref]))
	i.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, map[string]any{"secret": out})
}

func (i *Infisical) deleteSecret(w http.ResponseWriter, ref infisicalRef, _ secretArgs) {
	vs := i.secrets[ref]
	if len(vs) == 0 {
		i.mu.Unlock()
		i.fail(w, http.StatusNotFound, "Secret not found")
		return
	}
	if i.deniedLocked(ref) {
		i.refuse(w, "delete")
		return
	}
	out := i.secretJSONLocked(ref, len(vs))
	delete(i.secrets, ref)
	delete(i.ids, ref)
	i.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, map[string]any{"secret": out})
}
