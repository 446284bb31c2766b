// Package github is a local stand-in of the GitHub REST API as rotabot meets it:
// personal access tokens and the headers GitHub answers them with, the repositories a
// token sees, workflow runs, Actions secrets sealed to each repository's key,
// credential revocation, and GitHub Apps (an App's RS256 JWT, its installations and
// the hour-long installation tokens they make, gated by their permissions). It speaks GitHub's real wire format (paths, status codes,
// rate-limit headers, error bodies) so go-github talks to it unchanged. It must not
// know rotabot's packages: it is the outside world, reached only through the SDK.
package github

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// GitHub is a stand-in of the GitHub REST API: personal access tokens (GET /user and
// its headers), the repositories a token can see, workflow runs (a workload probe),
// Actions repository secrets sealed with a real Curve25519 key pair per repository,
// and POST /credentials/revoke. It speaks the wire format go-github v62 expects; point
// a client at URL+"/".
//
// A token's value is the key of its record and is kept in memory only: nothing here
// prints it.
type GitHub struct {
	*standin.Server

	gmu       sync.Mutex
	now       func() time.Time
	tokens    map[string]*ghToken
	userIDs   map[string]int64
	repos     map[string]*ghRepo // by lower-case full name
	admin     string
	nextID    int64
	tokenSeq  int
	secondary map[string]*ghSecondary
	// orgs are the organisations' Actions and Dependabot secrets, by lower-case
	// login; denied the fine-grained permissions the admin token lacks.
	orgs   map[string]*ghOrgState
	denied map[string]bool
	// apps are the registered GitHub Apps by id, installs their installations
	// by id, instTokens the installation access tokens issued (apps.go).
	apps       map[int64]*ghApp
	installs   map[int64]*ghInstallation
	instTokens map[string]*ghToken
}

// TokenSpec describes a personal access token the stand-in accepts. Its kind comes
// from the value's prefix: github_pat_ fine-grained, ghp_ classic.
type TokenSpec struct {
	Value string
	Login string
	// Expires is when the token stops working; zero means never (no
	// GitHub-Authentication-Token-Expiration header).
	Expires time.Time
	// Scopes are a classic token's OAuth scopes (X-OAuth-Scopes).
	Scopes []string
	// Repos are the repositories ("owner/repo") the token can see; they are added
	// to the stand-in if unknown. A classic token with no Repos sees every
	// repository, as a classic token with the repo scope does.
	Repos []string
	// Note says, for people, why the token exists (the sandbox page shows it);
	// GitHub itself never sees it.
	Note string
}

type ghToken struct {
	spec    TokenSpec
	kind    string
	revoked bool
	used    int
	seq     int // order of AddToken
	// inst is set for an installation access token (kind "installation"):
	// the installation and the permissions the token was issued with.
	inst   *ghInstallation
	issued time.Time
}

type ghRepo struct {
	id       int64
	owner    string
	name     string
	fullName string
	keyID    string
	pub      *[32]byte
	priv     *[32]byte
	secrets  map[string]*ghSecret
	runs     int
	// envs are the repository's environments by lower-case name; dependabot its
	// Dependabot secrets (made on first use).
	envs       map[string]*ghEnv
	dependabot *ghKeyed
}

type ghSecret struct {
	sealed  []byte
	created time.Time
	updated time.Time
	// visibility and selected (repository ids) are an organisation secret's.
	visibility string
	selected   []int64
	// writer is the kind of token that last wrote it through the API
	// (WrittenWith).
	writer string
}

type ghSecondary struct {
	times      int
	retryAfter time.Duration
}

const (
	ghDocsURL      = "https://docs.github.com/rest"
	ghSecondaryURL = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	ghRateLimit    = 5000
)

var ghSecretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// New starts a GitHub stand-in with no tokens and no repositories.
func New() *GitHub {
	g := &GitHub{
		Server:    standin.NewServer(ghErrorBody),
		now:       standin.WallNow,
		tokens:    map[string]*ghToken{},
		userIDs:   map[string]int64{},
		repos:     map[string]*ghRepo{},
		secondary: map[string]*ghSecondary{},
	}
	g.authed("GET /user", g.getUser)
	g.authed("GET /user/repos", g.listUserRepos)
	g.authed("GET /repos/{owner}/{repo}/actions/runs", g.listRuns)
	g.authed("GET /repos/{owner}/{repo}/{rest...}", g.repoOther)
	g.authed("GET /repos/{owner}/{repo}/actions/secrets/public-key", g.getPublicKey)
	g.authed("GET /repos/{owner}/{repo}/actions/secrets/{name}", g.getSecret)
	g.authed("PUT /repos/{owner}/{repo}/actions/secrets/{name}", g.putSecret)
	g.route("POST /credentials/revoke", g.revoke)
	g.scopeRoutes()
	g.appRoutes()
	return g
}

// SetNow replaces the stand-in's clock (secret timestamps, rate-limit resets), so a
// test can move time without sleeping.
func (g *GitHub) SetNow(now func() time.Time) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	if now == nil {
		now = standin.WallNow
	}
	g.now = now
}

// AddToken makes the stand-in accept a token (replacing any token with that value).
func (g *GitHub) AddToken(spec TokenSpec) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	spec.Scopes = append([]string(nil), spec.Scopes...)
	spec.Repos = append([]string(nil), spec.Repos...)
	for _, r := range spec.Repos {
		g.addRepoLocked(r)
	}
	if _, ok := g.userIDs[spec.Login]; !ok {
		g.nextID++
		g.userIDs[spec.Login] = 1000 + g.nextID
	}
	g.tokenSeq++
	g.tokens[spec.Value] = &ghToken{spec: spec, kind: ghKind(spec.Value), seq: g.tokenSeq}
}

// SetAdminToken names the token that may manage Actions secrets on every repository
// (rotabot's GITHUB_TOKEN). If the stand-in does not know the value yet, it is added
// as a token of the user "rotabot-admin".
func (g *GitHub) SetAdminToken(value string) {
	g.gmu.Lock()
	known := g.tokens[value] != nil
	g.admin = value
	g.gmu.Unlock()
	if !known {
		g.AddToken(TokenSpec{Value: value, Login: "rotabot-admin", Scopes: []string{"repo"}})
	}
}

// AddRepo adds a repository ("owner/repo") with a fresh Actions key pair and two
// completed workflow runs. Adding a known repository changes nothing.
func (g *GitHub) AddRepo(fullName string) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	g.addRepoLocked(fullName)
}

func (g *GitHub) addRepoLocked(fullName string) *ghRepo {
	key := strings.ToLower(fullName)
	if r := g.repos[key]; r != nil {
		return r
	}
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		panic(fmt.Sprintf("sandbox: GitHub repository %q is not owner/repo", fullName))
	}
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		panic("sandbox: cannot generate a Curve25519 key pair: " + err.Error())
	}
	g.nextID++
	r := &ghRepo{
		id: 500000 + g.nextID, owner: owner, name: name, fullName: fullName,
		keyID: strconv.FormatInt(568250167242549743+g.nextID, 10),
		pub:   pub, priv: priv, secrets: map[string]*ghSecret{}, runs: 2,
	}
	g.repos[key] = r
	return r
}

// Revoke revokes a token as its owner would in GitHub's settings.
func (g *GitHub) Revoke(value string) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	if t := g.tokens[value]; t != nil {
		t.revoked = true
	}
}

// Revoked reports whether the token was revoked through POST /credentials/revoke.
func (g *GitHub) Revoked(value string) bool {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	t := g.tokens[value]
	return t != nil && t.revoked
}

// ActionsSecret opens the Actions secret name of repo with the repository's private
// key, as a workflow run would see it, and says when it was last written.
func (g *GitHub) ActionsSecret(repo, name string) (plaintext string, updatedAt time.Time, ok bool) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	r := g.repos[strings.ToLower(repo)]
	if r == nil {
		return "", time.Time{}, false
	}
	s := r.secrets[strings.ToUpper(name)]
	if s == nil {
		return "", time.Time{}, false
	}
	out, opened := box.OpenAnonymous(nil, s.sealed, r.pub, r.priv)
	if !opened {
		return "", time.Time{}, false
	}
	return string(out), s.updated, true
}

// SecondaryRateLimit makes the next times requests to route (a pattern such as
// "PUT /repos/{owner}/{repo}/actions/secrets/{name}", or "*" for every route) answer
// as GitHub's secondary rate limit does: 403, Retry-After in whole seconds, and a
// message saying "secondary rate limit" with the documentation URL go-github
// recognises (it returns *github.AbuseRateLimitError). times 0 clears it. A Fault set
// with Fail on the same route wins. (The 429 form needs no helper:
// Fail(route, &sandbox.Fault{Status: 429, RetryAfter: "1"}).)
func (g *GitHub) SecondaryRateLimit(route string, times int, retryAfter time.Duration) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	if times <= 0 {
		delete(g.secondary, route)
		return
	}
	g.secondary[route] = &ghSecondary{times: times, retryAfter: retryAfter}
}

// route registers a handler behind the shared logging and faults, then the
// secondary rate limit, if one is set.
func (g *GitHub) route(pattern string, h http.HandlerFunc) {
	g.Handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		if ra, limited := g.takeSecondary(pattern); limited {
			if ra > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.Seconds()))))
			}
			standin.WriteJSON(w, http.StatusForbidden, map[string]string{
				"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				"documentation_url": ghSecondaryURL,
			})
			return
		}
		h(w, r)
	})
}

// authedHandler answers a route that needs a token, with gmu held and the token the
// request authenticated with.
type authedHandler func(w http.ResponseWriter, r *http.Request, t *ghToken)

// authed registers a route that needs a token: behind route's logging, faults and
// secondary rate limit, it takes gmu, authenticates the request once (answering 401
// as GitHub does) and hands the token to h.
func (g *GitHub) authed(pattern string, h authedHandler) {
	g.route(pattern, func(w http.ResponseWriter, r *http.Request) {
		g.gmu.Lock()
		defer g.gmu.Unlock()
		t, ok := g.authenticate(w, r)
		if !ok {
			return
		}
		h(w, r, t)
	})
}

func (g *GitHub) takeSecondary(pattern string) (time.Duration, bool) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	key := pattern
	sl := g.secondary[key]
	if sl == nil {
		key = "*"
		sl = g.secondary[key]
	}
	if sl == nil {
		return 0, false
	}
	sl.times--
	if sl.times <= 0 {
		delete(g.secondary, key)
	}
	return sl.retryAfter, true
}

func ghErrorBody(status int) any {
	msg := http.StatusText(status)
	switch status {
	case http.StatusBadRequest:
		msg = "Problems parsing JSON"
	case http.StatusUnauthorized:
		msg = "Bad credentials"
	case http.StatusForbidden:
		msg = "Resource not accessible by personal access token"
	case http.StatusUnprocessableEntity:
		msg = "Validation Failed"
	case http.StatusTooManyRequests:
		msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	case http.StatusInternalServerError, http.StatusBadGateway:
		msg = "Server Error"
	}
	return map[string]string{"message": msg, "documentation_url": ghDocsURL}
}

func ghError(w http.ResponseWriter, status int, msg string) {
	standin.WriteJSON(w, status, map[string]string{"message": msg, "documentation_url": ghDocsURL})
}

func ghKind(value string) string {
	switch {
	case strings.HasPrefix(value, "github_pat_"):
		return "fine-grained"
	case strings.HasPrefix(value, "ghp_"):
		return "classic"
	}
	return "other"
}

// authenticate finds the request's token ("Bearer X" or "token X") and answers 401
// as GitHub does when there is none or it is unknown or revoked. Call with gmu held;
// authed calls it for every route that needs a token.
func (g *GitHub) authenticate(w http.ResponseWriter, r *http.Request) (*ghToken, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		ghError(w, http.StatusUnauthorized, "Requires authentication")
		return nil, false
	}
	scheme, value, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "token") {
		ghError(w, http.StatusUnauthorized, "Bad credentials")
		return nil, false
	}
	t := g.tokens[strings.TrimSpace(value)]
	if t == nil {
		t = g.instTokens[strings.TrimSpace(value)]
	}
	// GitHub answers an expired token as it answers a revoked or unknown one.
	if t == nil || t.revoked || !t.spec.Expires.IsZero() && !g.now().Before(t.spec.Expires) {
		ghError(w, http.StatusUnauthorized, "Bad credentials")
		return nil, false
	}
	t.used++
	reset := g.now().Add(time.Hour).Unix()
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(ghRateLimit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(ghRateLimit-t.used, 1)))
	w.Header().Set("X-RateLimit-Used", strconv.Itoa(t.used))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	w.Header().Set("X-RateLimit-Resource", "core")
	return t, true
}

func (g *GitHub) isAdmin(t *ghToken) bool { return g.admin != "" && t.spec.Value == g.admin }

// sees reports whether the token can see the repository. Call with gmu held.
func (g *GitHub) sees(t *ghToken, r *ghRepo) bool {
	if g.isAdmin(t) {
		return true
	}
	if t.inst != nil {
		return strings.EqualFold(t.inst.account, r.owner)
	}
	if t.kind == "classic" && len(t.spec.Repos) == 0 {
		return true
	}
	for _, name := range t.spec.Repos {
		if strings.EqualFold(name, r.fullName) {
			return true
		}
	}
	return false
}

func (g *GitHub) getUser(w http.ResponseWriter, r *http.Request, t *ghToken) {
	if t.inst != nil { // an installation is no user
		ghError(w, http.StatusForbidden, msgIntegration403)
		return
	}
	if !t.spec.Expires.IsZero() {
		w.Header().Set("GitHub-Authentication-Token-Expiration", t.spec.Expires.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if t.kind == "classic" {
		w.Header().Set("X-OAuth-Scopes", strings.Join(t.spec.Scopes, ", "))
		w.Header().Set("X-Accepted-OAuth-Scopes", "")
	}
	login := t.spec.Login
	standin.WriteJSON(w, http.StatusOK, map[string]any{
		"login":      login,
		"id":         g.userIDs[login],
		"node_id":    "U_" + strconv.FormatInt(g.userIDs[login], 10),
		"type":       "User",
		"site_admin": false,
		"url":        g.URL + "/users/" + login,
		"html_url":   "https://github.com/" + login,
	})
}

func (g *GitHub) repoJSON(r *ghRepo) map[string]any {
	return map[string]any{
		"id":        r.id,
		"node_id":   "R_" + strconv.FormatInt(r.id, 10),
		"name":      r.name,
		"full_name": r.fullName,
		"private":   true,
		"owner":     map[string]any{"login": r.owner, "type": "Organization"},
		"html_url":  "https://github.com/" + r.fullName,
		"url":       g.URL + "/repos/" + r.fullName,
	}
}

func ghPaging(q url.Values) (perPage, page int) {
	perPage, page = 30, 1
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	return perPage, page
}

// ghPage pages a list of n items as GitHub does: per_page (default 30, at most
// 100) and page from the query, and a Link header with the prev, next, last and
// first pages' URLs (the request's own, its path kept escaped) when there is
// more than one page. It returns the items' index range [lo, hi) for this page.
func (g *GitHub) ghPage(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	perPage, page := ghPaging(r.URL.Query())
	last := max((n+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		return "<" + g.URL + r.URL.EscapedPath() + "?" + q.Encode() + `>; rel="` + rel + `"`
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo = min((page-1)*perPage, n)
	return lo, min(lo+perPage, n)
}

func (g *GitHub) listUserRepos(w http.ResponseWriter, r *http.Request, t *ghToken) {
	if t.inst != nil {
		ghError(w, http.StatusForbidden, msgIntegration403)
		return
	}
	var visible []*ghRepo
	for _, repo := range g.repos {
		if g.sees(t, repo) {
			visible = append(visible, repo)
		}
	}
	g.writeRepos(w, r, visible)
}

// writeRepos answers a list of repositories by full name, a page of them.
func (g *GitHub) writeRepos(w http.ResponseWriter, r *http.Request, repos []*ghRepo) {
	sort.Slice(repos, func(i, j int) bool { return repos[i].fullName < repos[j].fullName })
	lo, hi := g.ghPage(w, r, len(repos))
	out := []map[string]any{}
	for _, repo := range repos[lo:hi] {
		out = append(out, g.repoJSON(repo))
	}
	standin.WriteJSON(w, http.StatusOK, out)
}

// repoFor answers 404 unless the repository exists and the token can see it. Call
// with gmu held.
func (g *GitHub) repoFor(w http.ResponseWriter, r *http.Request, t *ghToken) (*ghRepo, bool) {
	repo := g.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	if repo == nil || !g.sees(t, repo) {
		ghError(w, http.StatusNotFound, "Not Found")
		return nil, false
	}
	return repo, true
}

func (g *GitHub) listRuns(w http.ResponseWriter, r *http.Request, t *ghToken) {
	repo, ok := g.repoFor(w, r, t)
	if !ok {
		return
	}
	perPage, page := ghPaging(r.URL.Query())
	runs := []map[string]any{}
	created := g.now().UTC().Truncate(time.Second).Add(-time.Hour)
	for i := (page - 1) * perPage; i < repo.runs && i < page*perPage; i++ {
		id := repo.id*100 + int64(repo.runs-i)
		runs = append(runs, map[string]any{
			"id":          id,
			"name":        "CI",
			"head_branch": "main",
			"run_number":  repo.runs - i,
			"event":       "push",
			"status":      "completed",
			"conclusion":  "success",
			"created_at":  created.Add(-time.Duration(i) * time.Hour).Format(time.RFC3339),
			"url":         g.URL + "/repos/" + repo.fullName + "/actions/runs/" + strconv.FormatInt(id, 10),
		})
	}
	standin.WriteJSON(w, http.StatusOK, map[string]any{"total_count": repo.runs, "workflow_runs": runs})
}

// repoOther answers a GET under a repository that the stand-in does not model —
// a routing matrix's workload probe such as /repos/o/r/contents/README.md — with
// 200 and an empty object to a token that can see the repository, and 404 to one
// that cannot, as GitHub hides what a token cannot see.
func (g *GitHub) repoOther(w http.ResponseWriter, r *http.Request, t *ghToken) {
	if _, ok := g.repoFor(w, r, t); !ok {
		return
	}
	standin.WriteJSON(w, http.StatusOK, map[string]any{})
}

// secretsRepo authorises a call on a repository's Actions secrets: only the admin
// token, or an installation token with the secrets permission, may manage them.
// Another valid token gets 403 when it can see the repository and 404 when it
// cannot, as on GitHub. Call with gmu held.
func (g *GitHub) secretsRepo(w http.ResponseWriter, r *http.Request, t *ghToken) (*ghRepo, bool) {
	repo, ok := g.repoFor(w, r, t)
	if !ok {
		return nil, false
	}
	write := r.Method != http.MethodGet
	if !g.allowed(t, GHPermSecrets, write, repo.owner) {
		forbid(w, t, GHPermSecrets, write)
		return nil, false
	}
	return repo, true
}

func (g *GitHub) getPublicKey(w http.ResponseWriter, r *http.Request, t *ghToken) {
	repo, ok := g.secretsRepo(w, r, t)
	if !ok {
		return
	}
	standin.WriteJSON(w, http.StatusOK, map[string]string{
		"key_id": repo.keyID,
		"key":    base64.StdEncoding.EncodeToString(repo.pub[:]),
	})
}

func (g *GitHub) getSecret(w http.ResponseWriter, r *http.Request, t *ghToken) {
	repo, ok := g.secretsRepo(w, r, t)
	if !ok {
		return
	}
	name := strings.ToUpper(r.PathValue("name"))
	s := repo.secrets[name]
	if s == nil {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	standin.WriteJSON(w, http.StatusOK, map[string]string{
		"name":       name,
		"created_at": s.created.UTC().Format(time.RFC3339),
		"updated_at": s.updated.UTC().Format(time.RFC3339),
	})
}

func (g *GitHub) putSecret(w http.ResponseWriter, r *http.Request, t *ghToken) {
	repo, ok := g.secretsRepo(w, r, t)
	if !ok {
		return
	}
	name := strings.ToUpper(r.PathValue("name"))
	if !ghSecretName.MatchString(name) || strings.HasPrefix(name, "GITHUB_") {
		ghError(w, http.StatusUnprocessableEntity,
			"Secret names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_), must not start with a number or GITHUB_")
		return
	}
	var body struct {
		EncryptedValue *string `json:"encrypted_value"`
		KeyID          *string `json:"key_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if body.EncryptedValue == nil || body.KeyID == nil {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"encrypted_value\" and \"key_id\" are required.")
		return
	}
	sealed, ok := openSealed(w, *body.KeyID, *body.EncryptedValue, repo.keyID, repo.pub, repo.priv, "the repository's")
	if !ok {
		return
	}
	now := g.now().UTC().Truncate(time.Second)
	if s := repo.secrets[name]; s != nil {
		s.sealed, s.updated, s.writer = sealed, now, t.kind
		w.WriteHeader(http.StatusNoContent)
		return
	}
	repo.secrets[name] = &ghSecret{sealed: sealed, created: now, updated: now, writer: t.kind}
	w.WriteHeader(http.StatusCreated)
}

// revoke is POST /credentials/revoke: unauthenticated by design (GitHub answers 403
// to an authenticated call), it revokes every known token listed and ignores the
// rest, answering 202 either way.
func (g *GitHub) revoke(w http.ResponseWriter, r *http.Request) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	if r.Header.Get("Authorization") != "" {
		ghError(w, http.StatusForbidden, "This endpoint must be called without authentication")
		return
	}
	var body struct {
		Credentials []string `json:"credentials"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if len(body.Credentials) == 0 || len(body.Credentials) > 1000 {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"credentials\" must list 1 to 1000 tokens.")
		return
	}
	for _, v := range body.Credentials {
		if t := g.tokens[v]; t != nil {
			t.revoked = true
		}
	}
	standin.WriteJSON(w, http.StatusAccepted, struct{}{})
}

// openSealed checks a secret's PUT as GitHub does: the key id is the scope's
// current one (whose: "the repository's", "this scope's"), the value base64 of a
// sealed box its public key opens. It answers 422 and reports false otherwise.
func openSealed(w http.ResponseWriter, keyID, encrypted, wantKeyID string, pub, priv *[32]byte, whose string) ([]byte, bool) {
	if keyID != wantKeyID {
		ghError(w, http.StatusUnprocessableEntity, "Bad request - key_id is not "+whose+" current public key")
		return nil, false
	}
	sealed, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		ghError(w, http.StatusUnprocessableEntity, "Bad request - encrypted_value is not valid base64")
		return nil, false
	}
	if _, opened := box.OpenAnonymous(nil, sealed, pub, priv); !opened {
		ghError(w, http.StatusUnprocessableEntity, "Bad request - encrypted_value could not be decrypted with "+whose+" public key")
		return nil, false
	}
	return sealed, true
}
