package github

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwt "github.com/golang-jwt/jwt/v4"
	gh "github.com/google/go-github/v62/github"

	"github.com/raxx-app/rotabot/rotation"
)

// AppConfig is rotabot's own GitHub access as a GitHub App installation
// (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID): the App
// signs a short JSON Web Token with its private key, trades it for an
// installation access token that lasts an hour, and writes secrets with that;
// the token is made again before it expires. Only rotabot's own writes and
// reads of secrets use it: a pasted token is still checked with its own value,
// and revocation still goes out unauthenticated.
type AppConfig struct {
	ID int64
	// PrivateKey is the App's private key, PEM (PKCS#1 as GitHub hands it out,
	// or PKCS#8).
	PrivateKey rotation.Secret
	// InstallationID is the installation to use; 0 finds it from Account.
	InstallationID int64
	// Account is the organisation or user the installation is on, when
	// InstallationID is 0; Repo, when set, is one of its repositories
	// (owner/repo), through which a user account's installation is found too.
	Account, Repo string
}

// appAuth makes the installation access tokens every request of the admin
// client carries. ghinstallation signs the JWTs and makes and keeps the tokens;
// appAuth moves the JWT's times onto rotabot's clock (now) and makes a new
// token when that clock says the one in hand is due, as ghinstallation would by
// the machine's: they differ only when a test or a clockshift build moves
// rotabot's. Safe for concurrent use.
type appAuth struct {
	id      int64
	key     *rsa.PrivateKey
	base    string // GITHUB_API_URL without a trailing slash (ghinstallation's BaseURL)
	next    http.RoundTripper
	now     func() time.Time
	account string
	repo    string
	// app is go-github authenticating as the App itself (its JWT).
	app *gh.Client

	mu   sync.Mutex
	inst int64                     // the installation, once known
	tr   *ghinstallation.Transport // its tokens
}

// ParseAppKey reads a GitHub App's private key: PEM, PKCS#1 (GitHub's
// download) or PKCS#8, RSA. Its error never holds any of the key.
func ParseAppKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, errors.New("it is not PEM (-----BEGIN RSA PRIVATE KEY----- …)")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("its PEM block holds no private key GitHub could have made")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("it is not an RSA key (GitHub Apps sign with RSA)")
	}
	return rk, nil
}

// newAppAuth prepares the App's authentication over next (the transport bound
// to GITHUB_API_URL's host), without a request.
func newAppAuth(cfg AppConfig, api *url.URL, next http.RoundTripper, redirect func(*http.Request, []*http.Request) error, now func() time.Time) (*appAuth, error) {
	if cfg.ID <= 0 {
		return nil, rotation.Errorf(rotation.EINVALID, "GITHUB_APP_ID is not a GitHub App's id: use the number on the App's settings page (App ID)")
	}
	key, err := ParseAppKey(cfg.PrivateKey.Reveal())
	if err != nil {
		return nil, rotation.Errorf(rotation.EINVALID, "GITHUB_APP_PRIVATE_KEY cannot be used: %s — paste the .pem file the App's settings page made (Private keys → Generate a private key)", err.Error())
	}
	a := &appAuth{id: cfg.ID, key: key, base: strings.TrimRight(api.String(), "/"), next: next, now: now,
		account: cfg.Account, repo: cfg.Repo, inst: cfg.InstallationID}
	a.app = gh.NewClient(&http.Client{Transport: a.apps(), CheckRedirect: redirect}) // next gives each request its deadline
	b := *api
	a.app.BaseURL = &b
	return a, nil
}

// apps is a new ghinstallation AppsTransport: each installation transport gets
// its own, since ghinstallation writes to it when it makes a token.
func (a *appAuth) apps() *ghinstallation.AppsTransport {
	signer := clockSigner{inner: ghinstallation.NewRSASigner(jwt.SigningMethodRS256, a.key), now: a.now}
	t, _ := ghinstallation.NewAppsTransportWithOptions(a.next, a.id, ghinstallation.WithSigner(signer)) // errs only without a signer
	t.BaseURL = a.base
	return t
}

// clockSigner signs ghinstallation's claims with their times moved onto
// rotabot's clock: ghinstallation stamps them by time.Now, GitHub checks them
// by its own, and rotabot's clock is the one a test or a clockshift build sets.
// With the machine's clock (production) nothing moves.
type clockSigner struct {
	inner ghinstallation.Signer
	now   func() time.Time
}

func (s clockSigner) Sign(claims jwt.Claims) (string, error) {
	if rc, ok := claims.(*jwt.RegisteredClaims); ok && rc.IssuedAt != nil && rc.ExpiresAt != nil {
		if off := s.now().Sub(time.Now()).Round(time.Second); off != 0 {
			rc.IssuedAt = jwt.NewNumericDate(rc.IssuedAt.Add(off))
			rc.ExpiresAt = jwt.NewNumericDate(rc.ExpiresAt.Add(off))
		}
	}
	return s.inner.Sign(claims)
}

// RoundTrip sends req with an installation access token. A token that cannot be
// made is an *appError naming the request that failed and GitHub's answer.
func (a *appAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := a.token(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	r2 := req.Clone(req.Context())
	r2.Header.Set("Authorization", "token "+tok)
	return a.next.RoundTrip(r2)
}

// token is the installation access token to send now: ghinstallation's, made
// again when rotabot's clock says it is due (a minute before it expires, as
// ghinstallation decides by the machine's).
func (a *appAuth) token(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.installationLocked(ctx); err != nil {
		return "", err
	}
	tok, err := a.tr.Token(ctx)
	if err == nil {
		if _, refreshAt, xerr := a.tr.Expiry(); xerr == nil && !a.now().Before(refreshAt) {
			a.tr = a.transport()
			tok, err = a.tr.Token(ctx)
		}
	}
	if err != nil {
		// A token that could not be made is made again on the next request.
		a.tr = a.transport()
		return "", a.tokenError(err)
	}
	return tok, nil
}

func (a *appAuth) transport() *ghinstallation.Transport {
	t := ghinstallation.NewFromAppsTransport(a.apps(), a.inst)
	t.BaseURL = a.base
	return t
}

// installationLocked finds the installation once: GITHUB_APP_INSTALLATION_ID,
// else the one on the routing matrix's account. Call with mu held.
func (a *appAuth) installationLocked(ctx context.Context) (int64, error) {
	if a.inst == 0 {
		if a.account == "" {
			return 0, &appError{problem: "GITHUB_APP_INSTALLATION_ID is not set, and the routing matrix's GitHub secrets are not all of one account to find the GitHub App's installation on: set it to the installation rotabot should use (the number ending its settings URL)"}
		}
		var in *gh.Installation
		var resp *gh.Response
		var err error
		route := "GET /orgs/" + a.account + "/installation"
		if owner, name, ok := strings.Cut(a.repo, "/"); ok {
			route = "GET /repos/" + a.repo + "/installation"
			in, resp, err = a.app.Apps.FindRepositoryInstallation(ctx, owner, name)
		} else {
			in, resp, err = a.app.Apps.FindOrganizationInstallation(ctx, a.account)
		}
		if err != nil {
			return 0, a.answerError(route, resp, err)
		}
		a.inst = in.GetID()
	}
	if a.tr == nil {
		a.tr = a.transport()
	}
	return a.inst, nil
}

// installation is installationLocked for callers without mu.
func (a *appAuth) installation(ctx context.Context) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.installationLocked(ctx)
}

// appError is a request of the App's own that failed: the installation's
// lookup, or its token. It names the request, GitHub's status and message, or
// the error that kept an answer from coming (err); never a key, a JWT or a
// token.
type appError struct {
	route   string
	status  int
	message string
	err     error
	// problem, when set, is the whole message: nothing was asked.
	problem string
}

func (e *appError) Error() string {
	switch {
	case e.problem != "":
		return e.problem
	case e.status != 0:
		return fmt.Sprintf("GitHub App: %s answered %d %s", e.route, e.status, e.message)
	}
	return fmt.Sprintf("GitHub App: %s: %v", e.route, e.err)
}

func (e *appError) Unwrap() error { return e.err }

// answerError turns go-github's failure of route into an appError.
func (a *appAuth) answerError(route string, resp *gh.Response, err error) *appError {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && resp != nil {
		return &appError{route: route, status: resp.StatusCode, message: er.Message}
	}
	return &appError{route: route, err: err}
}

// tokenError turns ghinstallation's failure to make a token into an appError,
// reading GitHub's message from the answer it leaves open.
func (a *appAuth) tokenError(err error) *appError {
	route := "POST /app/installations/" + strconv.FormatInt(a.inst, 10) + "/access_tokens"
	var he *ghinstallation.HTTPError
	if !errors.As(err, &he) {
		return &appError{route: route, err: err}
	}
	if he.Response == nil {
		return &appError{route: route, err: he.RootCause}
	}
	defer he.Response.Body.Close()
	var body struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(he.Response.Body, 64<<10)).Decode(&body)
	return &appError{route: route, status: he.Response.StatusCode, message: body.Message}
}

// Installation is the GitHub App installation rotabot writes with, as GitHub
// describes it (GET /app/installations/{id}).
type Installation struct {
	ID      int64
	AppID   int64
	Account string
	// Permissions are GitHub's keys and levels ("secrets": "write").
	Permissions map[string]string
}

// AppInstallation finds the installation, reads what it may do, and makes an
// installation access token with it: a start-up check that the App works. It
// is EINVALID when rotabot does not write as a GitHub App.
func (c *Client) AppInstallation(ctx context.Context) (Installation, error) {
	if c.app == nil {
		return Installation{}, rotation.Errorf(rotation.EINVALID, "rotabot does not write to GitHub as a GitHub App: GITHUB_APP_ID is not set")
	}
	id, err := c.app.installation(ctx)
	if err != nil {
		return Installation{}, c.appFail(err)
	}
	route := "GET /app/installations/" + strconv.FormatInt(id, 10)
	var raw struct {
		ID          int64                  `json:"id"`
		AppID       int64                  `json:"app_id"`
		Account     struct{ Login string } `json:"account"`
		Permissions map[string]string      `json:"permissions"`
	}
	_, err = c.do(ctx, call{kind: opApp, route: route}, func(ctx context.Context) (*gh.Response, error) {
		req, err := c.app.app.NewRequest(http.MethodGet, "app/installations/"+strconv.FormatInt(id, 10), nil)
		if err != nil {
			return nil, err
		}
		return c.app.app.Do(ctx, req, &raw)
	})
	if err != nil {
		return Installation{}, err
	}
	if _, err := c.app.token(ctx); err != nil {
		return Installation{}, c.appFail(err)
	}
	return Installation{ID: raw.ID, AppID: raw.AppID, Account: raw.Account.Login, Permissions: raw.Permissions}, nil
}

// appFail is the *rotation.Error of a failure of the App's own requests.
func (c *Client) appFail(err error) error {
	var ae *appError
	route := ""
	if errors.As(err, &ae) {
		route = ae.route
	}
	return call{kind: opApp, route: route, cred: c.cred}.fail(classify(err))
}

// AppPermissionKeys are every key AppPermission returns, in the order the
// App's missing permissions are reported.
var AppPermissionKeys = []string{"secrets", "environments", "dependabot_secrets", "organization_secrets", "organization_dependabot_secrets"}

// AppPermission is the GitHub App permission writing a secret of kind on
// target needs: its key (in github-app-manifest.json and an installation's
// permissions) and its name in the App's settings.
func AppPermission(kind rotation.DestKind, target string) (key, name string) {
	switch {
	case kind == rotation.DestGitHubEnvSecret:
		return "environments", "Repository permissions → Environments"
	case kind == rotation.DestGitHubOrgSecret:
		return "organization_secrets", "Organization permissions → Secrets"
	case kind == rotation.DestDependabotSecret && strings.Contains(target, "/"):
		return "dependabot_secrets", "Repository permissions → Dependabot secrets"
	case kind == rotation.DestDependabotSecret:
		return "organization_dependabot_secrets", "Organization permissions → Dependabot secrets"
	}
	return "secrets", "Repository permissions → Secrets"
}

// permission is what the credential secrets are written with needs to write a
// secret of kind on target, for messages.
func (c *Client) permission(kind rotation.DestKind, target string) string {
	if c.app == nil {
		return Permission(kind, target)
	}
	key, name := AppPermission(kind, target)
	return "the permission " + name + ": Read and write (" + key + ") on its installation"
}
