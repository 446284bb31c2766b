package github

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// The GitHub stand-in's secrets beyond repository Actions secrets, as GitHub keeps
// them: Actions environment secrets (served on both go-github v62's
// /repositories/{id}/environments/{env}/… and GitHub's documented
// /repos/{owner}/{repo}/environments/{env}/…), organisation Actions secrets with
// their visibility and selected repositories, and Dependabot secrets of a
// repository or an organisation. Each scope has its own key pair; values are
// sealed boxes the stand-in opens only to check them and to show a fingerprint.

// GHScope names where a GitHub secret lives.
type GHScope string

const (
	GHActions       GHScope = "actions"        // a repository's Actions secret: target owner/repo
	GHEnvironment   GHScope = "environment"    // an environment's secret: target owner/repo/ENV
	GHOrg           GHScope = "org"            // an organisation's Actions secret: target org
	GHDependabot    GHScope = "dependabot"     // a repository's Dependabot secret: target owner/repo
	GHDependabotOrg GHScope = "dependabot_org" // an organisation's Dependabot secret: target org
)

// Fine-grained permissions the stand-in checks, as GitHub names them in
// X-Accepted-GitHub-Permissions.
const (
	GHPermSecrets           = "secrets"              // repository: Secrets
	GHPermEnvironments      = "environments"         // repository: Environments
	GHPermOrgSecrets        = "organization_secrets" // organisation: Secrets
	GHPermDependabotSecrets = "dependabot_secrets"   // repository: Dependabot secrets
	GHPermActions           = "actions"              // repository: Actions (listing environments)
	// GHPermOrgDependabotSecrets is the organisation's Dependabot secrets
	// permission (GitHub's REST reference: organization_dependabot_secrets).
	GHPermOrgDependabotSecrets = "organization_dependabot_secrets"
)

// ghKeyed is one scope's key pair and its secrets.
type ghKeyed struct {
	keyID   string
	pub     *[32]byte
	priv    *[32]byte
	secrets map[string]*ghSecret
}

type ghOrgState struct {
	login      string
	actions    *ghKeyed
	dependabot *ghKeyed
}

type ghEnv struct {
	name string
	keys *ghKeyed
}

// newKeyedLocked makes a scope with a fresh Curve25519 key pair. Call with gmu held.
func (g *GitHub) newKeyedLocked() *ghKeyed {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		panic("sandbox: cannot generate a Curve25519 key pair: " + err.Error())
	}
	g.nextID++
	return &ghKeyed{keyID: strconv.FormatInt(568250167242549743+g.nextID, 10), pub: pub, priv: priv, secrets: map[string]*ghSecret{}}
}

// orgLocked is the organisation login, made on first use. Call with gmu held.
func (g *GitHub) orgLocked(login string) *ghOrgState {
	if g.orgs == nil {
		g.orgs = map[string]*ghOrgState{}
	}
	key := strings.ToLower(login)
	if o := g.orgs[key]; o != nil {
		return o
	}
	o := &ghOrgState{login: login, actions: g.newKeyedLocked(), dependabot: g.newKeyedLocked()}
	g.orgs[key] = o
	return o
}

// ownsRepoLocked reports whether login owns a known repository (an
// organisation the stand-in knows). Call with gmu held.
func (g *GitHub) ownsRepoLocked(login string) bool {
	for _, r := range g.repos {
		if strings.EqualFold(r.owner, login) {
			return true
		}
	}
	return false
}

// AddEnvironment adds an environment to a repository (added if unknown), as a
// repository admin does in its settings. Its name may hold spaces and slashes.
func (g *GitHub) AddEnvironment(repo, env string) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	r := g.addRepoLocked(repo)
	if r.envs == nil {
		r.envs = map[string]*ghEnv{}
	}
	if r.envs[strings.ToLower(env)] == nil {
		r.envs[strings.ToLower(env)] = &ghEnv{name: env, keys: g.newKeyedLocked()}
	}
}

// AddOrg makes the organisation known (repositories' owners are known already).
func (g *GitHub) AddOrg(login string) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	g.orgLocked(login)
}

// DenyAdmin makes the admin token lack a fine-grained permission (GHPerm…):
// GitHub then answers 403 with X-Accepted-GitHub-Permissions naming it.
func (g *GitHub) DenyAdmin(permission string) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	if g.denied == nil {
		g.denied = map[string]bool{}
	}
	g.denied[permission] = true
}

// keyedLocked finds the scope of target. Call with gmu held.
func (g *GitHub) keyedLocked(scope GHScope, target string) *ghKeyed {
	switch scope {
	case GHOrg:
		return g.orgLocked(target).actions
	case GHDependabotOrg:
		return g.orgLocked(target).dependabot
	}
	owner, rest, _ := strings.Cut(target, "/")
	name, env, _ := strings.Cut(rest, "/")
	r := g.repos[strings.ToLower(owner+"/"+name)]
	if r == nil {
		return nil
	}
	switch scope {
	case GHActions:
		return &ghKeyed{keyID: r.keyID, pub: r.pub, priv: r.priv, secrets: r.secrets}
	case GHDependabot:
		return g.dependabotLocked(r)
	case GHEnvironment:
		if e := r.envs[strings.ToLower(env)]; e != nil {
			return e.keys
		}
	}
	return nil
}

func (g *GitHub) dependabotLocked(r *ghRepo) *ghKeyed {
	if r.dependabot == nil {
		r.dependabot = g.newKeyedLocked()
	}
	return r.dependabot
}

// GHSecret opens a secret of any scope with its private key, as a workflow or
// Dependabot would see it, with its date and (organisation secrets) its
// visibility and selected repositories' ids.
func (g *GitHub) GHSecret(scope GHScope, target, name string) (plaintext string, updatedAt time.Time, visibility string, selected []int64, ok bool) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	k := g.keyedLocked(scope, target)
	if k == nil {
		return "", time.Time{}, "", nil, false
	}
	s := k.secrets[strings.ToUpper(name)]
	if s == nil {
		return "", time.Time{}, "", nil, false
	}
	out, opened := box.OpenAnonymous(nil, s.sealed, k.pub, k.priv)
	if !opened {
		return "", time.Time{}, "", nil, false
	}
	return string(out), s.updated, s.visibility, append([]int64(nil), s.selected...), true
}

// SetGHSecret writes a secret of any scope as a person with gh secret set would
// (creating it; an organisation secret keeps its visibility unless one is
// given): its updated_at moves to the stand-in's now. repos are the selected
// repositories ("owner/repo") of an organisation secret of visibility selected.
func (g *GitHub) SetGHSecret(scope GHScope, target, name, value, visibility string, repos ...string) {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	if scope == GHActions || scope == GHDependabot {
		g.addRepoLocked(target)
	}
	k := g.keyedLocked(scope, target)
	if k == nil {
		panic("sandbox: no GitHub scope " + string(scope) + " " + target + " (AddEnvironment first)")
	}
	sealed, err := box.SealAnonymous(nil, []byte(value), k.pub, rand.Reader)
	if err != nil {
		panic("sandbox: cannot seal: " + err.Error())
	}
	var ids []int64
	for _, r := range repos {
		ids = append(ids, g.addRepoLocked(r).id)
	}
	now := g.now().UTC().Truncate(time.Second)
	name = strings.ToUpper(name)
	s := k.secrets[name]
	if s == nil {
		s = &ghSecret{created: now}
		k.secrets[name] = s
		if scope == GHOrg || scope == GHDependabotOrg {
			s.visibility = "private"
		}
	}
	s.sealed, s.updated = sealed, now
	if visibility != "" {
		s.visibility, s.selected = visibility, ids
	}
}

// scopeRoutes registers the routes of every scope beyond repository Actions
// secrets.
func (g *GitHub) scopeRoutes() {
	g.authed("GET /repos/{owner}/{repo}", g.getRepo)
	g.authed("GET /repos/{owner}/{repo}/environments", g.listEnvs)
	g.authed("GET /orgs/{org}/repos", g.listOrgRepos)
	for _, base := range []string{"/repositories/{id}/environments/{env}/secrets", "/repos/{owner}/{repo}/environments/{env}/secrets"} {
		g.scopeRoute(base, GHEnvironment)
	}
	g.scopeRoute("/orgs/{org}/actions/secrets", GHOrg)
	g.scopeRoute("/repos/{owner}/{repo}/dependabot/secrets", GHDependabot)
	g.scopeRoute("/orgs/{org}/dependabot/secrets", GHDependabotOrg)
	g.authed("GET /repos/{owner}/{repo}/actions/secrets", func(w http.ResponseWriter, r *http.Request, t *ghToken) { g.listSecrets(w, r, t, GHActions) })
	g.authed("GET /orgs/{org}/actions/secrets/{name}/repositories", func(w http.ResponseWriter, r *http.Request, t *ghToken) { g.selectedRepos(w, r, t, GHOrg) })
	g.authed("GET /orgs/{org}/dependabot/secrets/{name}/repositories", func(w http.ResponseWriter, r *http.Request, t *ghToken) { g.selectedRepos(w, r, t, GHDependabotOrg) })
}

func (g *GitHub) scopeRoute(base string, scope GHScope) {
	g.authed("GET "+base+"/public-key", func(w http.ResponseWriter, r *http.Request, t *ghToken) { g.scopeKey(w, r, t, scope) })
	g.authed("GET "+base, func(w http.ResponseWriter, r *http.Request, t *ghToken) { g.listSecrets(w, r, t, scope) })
	g.authed("GET "+base+"/{name}", func(w http.ResponseWriter, r *http.Request, t *ghToken) { g.scopeGet(w, r, t, scope) })
	g.authed("PUT "+base+"/{name}", func(w http.ResponseWriter, r *http.Request, t *ghToken) { g.scopePut(w, r, t, scope) })
}

// permissionOf is the fine-grained permission a scope's secrets need.
func permissionOf(scope GHScope) string {
	switch scope {
	case GHEnvironment:
		return GHPermEnvironments
	case GHOrg:
		return GHPermOrgSecrets
	case GHDependabot:
		return GHPermDependabotSecrets
	case GHDependabotOrg:
		return GHPermOrgDependabotSecrets
	}
	return GHPermSecrets
}

// scopeFor authorises a call on a scope's secrets and finds the scope: 401
// without a good token, 404 for what the token cannot see or what does not
// exist (an unknown environment or organisation), 403 for a token that sees it
// but may not manage its secrets. Call with gmu held and the request's token
// (the routes are authed: authentication is done once, before).
func (g *GitHub) scopeFor(w http.ResponseWriter, r *http.Request, t *ghToken, scope GHScope) (*ghKeyed, bool) {
	var k *ghKeyed
	owner := r.PathValue("org")
	switch scope {
	case GHOrg, GHDependabotOrg:
		o := g.orgs[strings.ToLower(r.PathValue("org"))]
		if o == nil && g.ownsRepoLocked(r.PathValue("org")) {
			o = g.orgLocked(r.PathValue("org"))
		}
		if o == nil {
			ghError(w, http.StatusNotFound, "Not Found")
			return nil, false
		}
		k = o.actions
		if scope == GHDependabotOrg {
			k = o.dependabot
		}
	default:
		repo := g.repoOf(r)
		if repo == nil || !g.sees(t, repo) {
			ghError(w, http.StatusNotFound, "Not Found")
			return nil, false
		}
		owner = repo.owner
		switch scope {
		case GHActions:
			k = &ghKeyed{keyID: repo.keyID, pub: repo.pub, priv: repo.priv, secrets: repo.secrets}
		case GHDependabot:
			k = g.dependabotLocked(repo)
		default:
			if e := repo.envs[strings.ToLower(r.PathValue("env"))]; e != nil {
				k = e.keys
			}
		}
		if k == nil {
			ghError(w, http.StatusNotFound, "Not Found")
			return nil, false
		}
	}
	perm, write := permissionOf(scope), r.Method != http.MethodGet
	if !g.allowed(t, perm, write, owner) {
		forbid(w, t, perm, write)
		return nil, false
	}
	return k, true
}

// repoOf is the repository a request names by owner/repo or by id. Call with
// gmu held.
func (g *GitHub) repoOf(r *http.Request) *ghRepo {
	if id := r.PathValue("id"); id != "" {
		for _, repo := range g.repos {
			if strconv.FormatInt(repo.id, 10) == id {
				return repo
			}
		}
		return nil
	}
	return g.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
}

func (g *GitHub) getRepo(w http.ResponseWriter, r *http.Request, t *ghToken) {
	repo, ok := g.repoFor(w, r, t)
	if !ok {
		return
	}
	standin.WriteJSON(w, http.StatusOK, g.repoJSON(repo))
}

// listEnvs is GET /repos/{owner}/{repo}/environments: anyone who sees the
// repository, with the fine-grained Actions permission (read) — a GitHub App's
// installation too (actions:read) — as GitHub's reference says.
func (g *GitHub) listEnvs(w http.ResponseWriter, r *http.Request, t *ghToken) {
	repo, ok := g.repoFor(w, r, t)
	if !ok {
		return
	}
	if (g.isAdmin(t) || t.inst != nil) && !g.allowed(t, GHPermActions, false, repo.owner) {
		forbid(w, t, GHPermActions, false)
		return
	}
	var names []string
	for _, e := range repo.envs {
		names = append(names, e.name)
	}
	sort.Strings(names)
	lo, hi := g.ghPage(w, r, len(names))
	envs := []map[string]any{}
	for _, name := range names[lo:hi] {
		envs = append(envs, map[string]any{"name": name, "url": g.URL + "/repos/" + repo.fullName + "/environments/" + url.PathEscape(name)})
	}
	standin.WriteJSON(w, http.StatusOK, map[string]any{"total_count": len(names), "environments": envs})
}

// listOrgRepos is GET /orgs/{org}/repos: the organisation's repositories the
// token can see, a page at a time; 404 for an organisation GitHub does not know.
func (g *GitHub) listOrgRepos(w http.ResponseWriter, r *http.Request, t *ghToken) {
	org := r.PathValue("org")
	if g.orgs[strings.ToLower(org)] == nil && !g.ownsRepoLocked(org) {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	var visible []*ghRepo
	for _, repo := range g.repos {
		if strings.EqualFold(repo.owner, org) && g.sees(t, repo) {
			visible = append(visible, repo)
		}
	}
	g.writeRepos(w, r, visible)
}

func (g *GitHub) scopeKey(w http.ResponseWriter, r *http.Request, t *ghToken, scope GHScope) {
	k, ok := g.scopeFor(w, r, t, scope)
	if !ok {
		return
	}
	standin.WriteJSON(w, http.StatusOK, map[string]string{"key_id": k.keyID, "key": base64.StdEncoding.EncodeToString(k.pub[:])})
}

// secretJSON is a secret as GitHub shows it (never its value); path is the
// secret's own REST path, escaped.
func (g *GitHub) secretJSON(path string, scope GHScope, name string, s *ghSecret) map[string]any {
	out := map[string]any{
		"name":       name,
		"created_at": s.created.UTC().Format(time.RFC3339),
		"updated_at": s.updated.UTC().Format(time.RFC3339),
	}
	if scope == GHOrg || scope == GHDependabotOrg {
		out["visibility"] = s.visibility
		if s.visibility == "selected" {
			out["selected_repositories_url"] = g.URL + strings.TrimSuffix(path, "/") + "/repositories"
		}
	}
	return out
}

func (g *GitHub) scopeGet(w http.ResponseWriter, r *http.Request, t *ghToken, scope GHScope) {
	k, ok := g.scopeFor(w, r, t, scope)
	if !ok {
		return
	}
	name := strings.ToUpper(r.PathValue("name"))
	s := k.secrets[name]
	if s == nil {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	standin.WriteJSON(w, http.StatusOK, g.secretJSON(r.URL.EscapedPath(), scope, name, s))
}

func (g *GitHub) listSecrets(w http.ResponseWriter, r *http.Request, t *ghToken, scope GHScope) {
	k, ok := g.scopeFor(w, r, t, scope)
	if !ok {
		return
	}
	names := make([]string, 0, len(k.secrets))
	for n := range k.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	lo, hi := g.ghPage(w, r, len(names))
	out := []map[string]any{}
	for _, name := range names[lo:hi] {
		out = append(out, g.secretJSON(strings.TrimSuffix(r.URL.EscapedPath(), "/")+"/"+name, scope, name, k.secrets[name]))
	}
	standin.WriteJSON(w, http.StatusOK, map[string]any{"total_count": len(names), "secrets": out})
}

func (g *GitHub) selectedRepos(w http.ResponseWriter, r *http.Request, t *ghToken, scope GHScope) {
	k, ok := g.scopeFor(w, r, t, scope)
	if !ok {
		return
	}
	s := k.secrets[strings.ToUpper(r.PathValue("name"))]
	if s == nil {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	if s.visibility != "selected" {
		ghError(w, http.StatusConflict, "The visibility of this secret is not 'selected'")
		return
	}
	var selected []*ghRepo
	for _, id := range s.selected {
		for _, repo := range g.repos {
			if repo.id == id {
				selected = append(selected, repo)
			}
		}
	}
	lo, hi := g.ghPage(w, r, len(selected))
	repos := []map[string]any{}
	for _, repo := range selected[lo:hi] {
		repos = append(repos, g.repoJSON(repo))
	}
	standin.WriteJSON(w, http.StatusOK, map[string]any{"total_count": len(selected), "repositories": repos})
}

// scopePut creates or updates a secret: 201 created, 204 updated. An
// organisation secret needs its visibility (all, private, selected); selected
// repository ids are integers for Actions and strings for Dependabot, as
// GitHub's reference has them, and only with visibility selected; without any,
// a selected secret keeps its repositories.
func (g *GitHub) scopePut(w http.ResponseWriter, r *http.Request, t *ghToken, scope GHScope) {
	k, ok := g.scopeFor(w, r, t, scope)
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
		EncryptedValue *string         `json:"encrypted_value"`
		KeyID          *string         `json:"key_id"`
		Visibility     string          `json:"visibility"`
		Selected       json.RawMessage `json:"selected_repository_ids"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if body.EncryptedValue == nil || body.KeyID == nil {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"encrypted_value\" and \"key_id\" are required.")
		return
	}
	org := scope == GHOrg || scope == GHDependabotOrg
	ids, problem := g.putVisibility(org, scope, body.Visibility, body.Selected)
	if problem != "" {
		ghError(w, http.StatusUnprocessableEntity, problem)
		return
	}
	sealed, ok := openSealed(w, *body.KeyID, *body.EncryptedValue, k.keyID, k.pub, k.priv, "this scope's")
	if !ok {
		return
	}
	now := g.now().UTC().Truncate(time.Second)
	s, existed := k.secrets[name]
	if !existed {
		s = &ghSecret{created: now}
		k.secrets[name] = s
	}
	s.sealed, s.updated, s.writer = sealed, now, t.kind
	if org {
		if body.Visibility != "selected" || ids != nil {
			s.selected = ids
		}
		s.visibility = body.Visibility
	}
	if existed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// putVisibility checks a PUT's visibility and selected repositories; it
// returns the ids (nil when none were sent) or GitHub's 422 message.
func (g *GitHub) putVisibility(org bool, scope GHScope, visibility string, raw json.RawMessage) ([]int64, string) {
	if !org {
		return nil, ""
	}
	switch visibility {
	case "all", "private", "selected":
	case "":
		return nil, "Invalid request.\n\n\"visibility\" wasn't supplied."
	default:
		return nil, "Invalid request.\n\n" + strconv.Quote(visibility) + " is not a member of [\"all\", \"private\", \"selected\"]."
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	if visibility != "selected" {
		return nil, "Invalid request.\n\nselected_repository_ids can only be provided when visibility is selected."
	}
	var ids []int64
	if scope == GHDependabotOrg {
		var strs []string
		if err := json.Unmarshal(raw, &strs); err != nil {
			return nil, "Invalid request.\n\nFor 'items', " + string(raw) + " is not a string."
		}
		for _, s := range strs {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, "Invalid request.\n\n" + strconv.Quote(s) + " is not a repository id."
			}
			ids = append(ids, id)
		}
	} else if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, "Invalid request.\n\nFor 'items', " + string(raw) + " is not an integer."
	}
	if ids == nil {
		ids = []int64{}
	}
	return ids, ""
}
