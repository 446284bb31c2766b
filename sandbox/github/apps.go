package github

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// GitHub Apps on the stand-in, as GitHub has them: an App is registered with
// the public half of its key pair; it authenticates as itself with a JSON Web
// Token signed RS256 with its private key (iss its id, iat and exp whole
// seconds, exp at most ten minutes after iat, iat not in the future beyond a
// minute of clock drift), and as one of its installations with an installation
// access token (ghs_…) that it makes from that JWT and that works for an hour
// on the stand-in's clock. An installation token reaches the repositories and
// the organisation of the account the App is installed on, and its permissions
// gate the secrets endpoints as a fine-grained token's do: a missing one is a
// 403 naming it in X-Accepted-GitHub-Permissions.

// InstallationTokenTTL is how long an installation access token works, as on
// GitHub.
const InstallationTokenTTL = time.Hour

// jwtDrift is how far in the future an App JWT's iat may be (clock drift).
const jwtDrift = time.Minute

// jwtMaxLife is the longest an App JWT may live (exp - iat, and exp - now).
const jwtMaxLife = 10 * time.Minute

// GitHub's answers to an App JWT it cannot accept.
const (
	msgJWTUndecodable = "A JSON web token could not be decoded"
	msgJWTIat         = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	msgJWTExpired     = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	msgJWTTooLong     = "'Expiration time' claim ('exp') is too far in the future"
	msgJWTNoApp       = "Integration not found"
	msgIntegration403 = "Resource not accessible by integration"
)

type ghApp struct {
	id   int64
	slug string
	name string
	pub  *rsa.PublicKey
}

type ghInstallation struct {
	id      int64
	app     *ghApp
	account string // the organisation or user login it is installed on
	perms   map[string]string
}

// InstallationToken is one installation access token the stand-in issued.
type InstallationToken struct {
	Value          string
	InstallationID int64
	Issued         time.Time
	Expires        time.Time
}

// RegisterApp registers a GitHub App as "New GitHub App" then "Generate a
// private key" do on GitHub: the stand-in keeps the public half of a new RSA
// key pair and returns the private key as GitHub's download has it (PKCS#1
// PEM). It is the App's only credential: whoever holds it is the App.
func (g *GitHub) RegisterApp(id int64, slug string) (privateKeyPEM string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("sandbox: cannot generate an RSA key: " + err.Error())
	}
	g.gmu.Lock()
	defer g.gmu.Unlock()
	if g.apps == nil {
		g.apps = map[int64]*ghApp{}
	}
	g.apps[id] = &ghApp{id: id, slug: slug, name: slug, pub: &key.PublicKey}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

// Install installs App appID on account (an organisation or user login) with
// permissions (GitHub's keys, e.g. "secrets": "write") and returns the
// installation's id. Every repository of the account is selected. Installing
// again on the same account replaces the permissions, as accepting an App's
// new permissions does.
func (g *GitHub) Install(appID int64, account string, permissions map[string]string) int64 {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	app := g.apps[appID]
	if app == nil {
		panic("sandbox: no GitHub App " + strconv.FormatInt(appID, 10) + " (RegisterApp first)")
	}
	perms := map[string]string{"metadata": "read"} // every App may read metadata
	for k, v := range permissions {
		perms[k] = v
	}
	for _, in := range g.installs {
		if in.app == app && strings.EqualFold(in.account, account) {
			in.perms = perms
			return in.id
		}
	}
	if g.installs == nil {
		g.installs = map[int64]*ghInstallation{}
	}
	g.nextID++
	in := &ghInstallation{id: 4000000 + g.nextID, app: app, account: account, perms: perms}
	g.installs[in.id] = in
	return in.id
}

// InstallationTokens lists the installation access tokens issued so far, oldest
// first.
func (g *GitHub) InstallationTokens() []InstallationToken {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	out := make([]InstallationToken, 0, len(g.instTokens))
	for _, t := range g.instTokens {
		out = append(out, InstallationToken{Value: t.spec.Value, InstallationID: t.inst.id, Issued: t.issued, Expires: t.spec.Expires})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Issued.Before(out[j].Issued) || out[i].Issued.Equal(out[j].Issued) && out[i].Value < out[j].Value
	})
	return out
}

// WrittenWith says what kind of credential last wrote a secret of any scope:
// "installation" (a GitHub App's ghs_ token), "fine-grained" or "classic" (a
// personal access token), or "" when none did through the API (SetGHSecret)
// or there is no such secret.
func (g *GitHub) WrittenWith(scope GHScope, target, name string) string {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	k := g.keyedLocked(scope, target)
	if k == nil {
		return ""
	}
	if s := k.secrets[strings.ToUpper(name)]; s != nil {
		return s.writer
	}
	return ""
}

// appRoutes registers the routes a GitHub App calls with its JWT.
func (g *GitHub) appRoutes() {
	g.appAuthed("GET /app", func(w http.ResponseWriter, _ *http.Request, app *ghApp) {
		standin.WriteJSON(w, http.StatusOK, map[string]any{"id": app.id, "slug": app.slug, "name": app.name,
			"owner": map[string]any{"login": app.slug + "-owner"}, "events": []string{}})
	})
	g.appAuthed("GET /app/installations/{id}", func(w http.ResponseWriter, r *http.Request, app *ghApp) {
		if in := g.installationOf(w, app, r.PathValue("id")); in != nil {
			standin.WriteJSON(w, http.StatusOK, g.installationJSON(in))
		}
	})
	g.appAuthed("POST /app/installations/{id}/access_tokens", g.accessToken)
	find := func(w http.ResponseWriter, app *ghApp, account string) {
		for _, in := range g.installs {
			if in.app == app && strings.EqualFold(in.account, account) {
				standin.WriteJSON(w, http.StatusOK, g.installationJSON(in))
				return
			}
		}
		ghError(w, http.StatusNotFound, "Not Found")
	}
	g.appAuthed("GET /orgs/{org}/installation", func(w http.ResponseWriter, r *http.Request, app *ghApp) { find(w, app, r.PathValue("org")) })
	g.appAuthed("GET /users/{user}/installation", func(w http.ResponseWriter, r *http.Request, app *ghApp) { find(w, app, r.PathValue("user")) })
	g.appAuthed("GET /repos/{owner}/{repo}/installation", func(w http.ResponseWriter, r *http.Request, app *ghApp) {
		if g.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))] == nil {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		find(w, app, r.PathValue("owner"))
	})
}

// appAuthed registers a route that takes an App JWT: behind route's logging and
// faults, with gmu held, it verifies the JWT as GitHub does (answering 401 with
// GitHub's message) and hands the App to h.
func (g *GitHub) appAuthed(pattern string, h func(w http.ResponseWriter, r *http.Request, app *ghApp)) {
	g.route(pattern, func(w http.ResponseWriter, r *http.Request) {
		g.gmu.Lock()
		defer g.gmu.Unlock()
		app, msg := g.verifyJWT(r.Header.Get("Authorization"))
		if app == nil {
			ghError(w, http.StatusUnauthorized, msg)
			return
		}
		h(w, r, app)
	})
}

// verifyJWT checks "Bearer <JWT>": RS256 signed by a registered App's key, iss
// the App's id, iat and exp whole seconds on the stand-in's clock. It returns the
// App, or GitHub's message for why not. Call with gmu held.
func (g *GitHub) verifyJWT(authorization string) (*ghApp, string) {
	scheme, raw, _ := strings.Cut(authorization, " ")
	if authorization == "" {
		return nil, "Requires authentication"
	}
	if !strings.EqualFold(scheme, "Bearer") || strings.Count(raw, ".") != 2 {
		return nil, msgJWTUndecodable
	}
	var iatN, expN json.Number
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation(), jwt.WithJSONNumber())
	var app *ghApp
	noApp := false
	_, err := parser.ParseWithClaims(strings.TrimSpace(raw), jwt.MapClaims{}, func(tok *jwt.Token) (any, error) {
		mc := tok.Claims.(jwt.MapClaims)
		iss := ""
		switch v := mc["iss"].(type) {
		case string:
			iss = v
		case json.Number:
			iss = v.String()
		}
		id, err := strconv.ParseInt(iss, 10, 64)
		if app = g.apps[id]; err != nil || app == nil {
			noApp = true
			return nil, errors.New("no such App")
		}
		iatN, _ = mc["iat"].(json.Number)
		expN, _ = mc["exp"].(json.Number)
		return app.pub, nil
	})
	switch {
	case noApp:
		return nil, msgJWTNoApp
	case err != nil:
		return nil, msgJWTUndecodable
	}
	iat, iok := wholeSeconds(iatN)
	exp, eok := wholeSeconds(expN)
	now := g.now()
	switch {
	case !iok || iat.After(now.Add(jwtDrift)):
		return nil, msgJWTIat
	case !eok || !exp.After(now):
		return nil, msgJWTExpired
	case exp.Sub(iat) > jwtMaxLife || exp.After(now.Add(jwtMaxLife+jwtDrift)):
		return nil, msgJWTTooLong
	}
	return app, ""
}

// wholeSeconds reads a NumericDate that GitHub accepts: an integer.
func wholeSeconds(n json.Number) (time.Time, bool) {
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// installationOf finds the App's installation by id, answering 404 as GitHub
// does for another App's. Call with gmu held.
func (g *GitHub) installationOf(w http.ResponseWriter, app *ghApp, id string) *ghInstallation {
	n, err := strconv.ParseInt(id, 10, 64)
	in := g.installs[n]
	if err != nil || in == nil || in.app != app {
		ghError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return in
}

func (g *GitHub) installationJSON(in *ghInstallation) map[string]any {
	return map[string]any{
		"id":                   in.id,
		"app_id":               in.app.id,
		"app_slug":             in.app.slug,
		"account":              map[string]any{"login": in.account, "type": "Organization"},
		"target_type":          "Organization",
		"repository_selection": "all",
		"permissions":          in.perms,
		"events":               []string{},
		"access_tokens_url":    g.URL + "/app/installations/" + strconv.FormatInt(in.id, 10) + "/access_tokens",
		"html_url":             "https://github.com/organizations/" + in.account + "/settings/installations/" + strconv.FormatInt(in.id, 10),
	}
}

// accessToken is POST /app/installations/{id}/access_tokens: 201 with a new
// ghs_ token that works for an hour on the stand-in's clock, with the
// installation's permissions or fewer (a body's "permissions"; more than the
// installation has is 422).
func (g *GitHub) accessToken(w http.ResponseWriter, r *http.Request, app *ghApp) {
	in := g.installationOf(w, app, r.PathValue("id"))
	if in == nil {
		return
	}
	var body struct {
		Permissions map[string]string `json:"permissions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	perms := in.perms
	if len(body.Permissions) > 0 {
		for k, v := range body.Permissions {
			if !permits(in.perms[k], v) {
				ghError(w, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.")
				return
			}
		}
		perms = body.Permissions
	}
	now := g.now().UTC().Truncate(time.Second)
	value := "ghs_" + standin.RandomHex(18)
	if g.instTokens == nil {
		g.instTokens = map[string]*ghToken{}
	}
	g.instTokens[value] = &ghToken{spec: TokenSpec{Value: value, Login: app.slug + "[bot]", Expires: now.Add(InstallationTokenTTL)},
		kind: "installation", inst: &ghInstallation{id: in.id, app: app, account: in.account, perms: perms}, issued: now}
	standin.WriteJSON(w, http.StatusCreated, map[string]any{
		"token":                value,
		"expires_at":           now.Add(InstallationTokenTTL).Format(time.RFC3339),
		"permissions":          perms,
		"repository_selection": "all",
	})
}

// permits reports whether a permission level held covers the level wanted.
func permits(held, want string) bool {
	return held == "write" || held == "admin" || want == "read" && held == "read"
}

// allowed reports whether token t may use permission perm (to write, or only to
// read) on what owner (an organisation or user login) holds: an installation
// token by its permissions on its own account, a personal access token when it
// is the admin token and the permission is not denied it. Call with gmu held.
func (g *GitHub) allowed(t *ghToken, perm string, write bool, owner string) bool {
	if t.inst != nil {
		want := "read"
		if write {
			want = "write"
		}
		return strings.EqualFold(t.inst.account, owner) && permits(t.inst.perms[perm], want)
	}
	return g.isAdmin(t) && !g.denied[perm]
}

// forbid answers 403 for a missing permission as GitHub does: the header names
// the permission and level the route accepts.
func forbid(w http.ResponseWriter, t *ghToken, perm string, write bool) {
	level := "read"
	if write {
		level = "write"
	}
	w.Header().Set("X-Accepted-GitHub-Permissions", perm+"="+level)
	msg := "Resource not accessible by personal access token"
	if t.inst != nil {
		msg = msgIntegration403
	}
	ghError(w, http.StatusForbidden, msg)
}
