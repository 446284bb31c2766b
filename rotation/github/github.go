// Package github is rotabot's adapter for GitHub's REST API, spoken through go-github:
// it asks GitHub about a personal access token (GET /user, its headers, the
// repositories a fine-grained token sees, the workload probe), sets and reads back
// GitHub's secrets of every scope (repository Actions, environment, organisation,
// Dependabot) sealed with each scope's public key — with GITHUB_TOKEN, or as a
// GitHub App installation whose hour-long tokens ghinstallation makes from the
// App's JWT (app.go) — checks at start-up that it may reach each scope
// (CheckAccess), lists what GitHub keeps by name and date for the scan for copies
// nobody listed (Lister), and revokes an old token through POST
// /credentials/revoke. It turns every failure into a *rotation.Error whose message a
// person can act on and which never holds a token. It must not know about Slack, the
// store, the handlers or how a run moves on: it implements rotation's TokenChecker,
// Consumer and Revoker, the drift check's WriteDater (rotation/drift) and the
// discovery's SecretLister (rotation/discover), and nothing more.
package github

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	gh "github.com/google/go-github/v62/github"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// DefaultBaseURL is GitHub's REST API.
const DefaultBaseURL = "https://api.github.com/"

// DefaultTimeout bounds one request when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Config says where GitHub is and which credential manages Actions secrets.
type Config struct {
	// BaseURL is the REST API root (GITHUB_API_URL), with or without a trailing
	// slash; "" means DefaultBaseURL.
	BaseURL string
	// AdminToken is GITHUB_TOKEN, used only for Actions secrets. It may be empty
	// when no secret has github_secrets consumers, and is not used when App is
	// set.
	AdminToken rotation.Secret
	// App, when set, is how rotabot writes and reads secrets instead of
	// AdminToken: as a GitHub App installation.
	App *AppConfig
	// Now is the clock the App's JWTs and tokens' expiry are judged by; nil
	// means rotation.WallNow.
	Now func() time.Time
	// HTTPClient is used for every request; nil means a plain http.Client. It must
	// not add credentials of its own: revocation must go out unauthenticated. It is
	// bound to BaseURL's host (package egress): nothing it sends, first request or
	// redirect, reaches another host.
	HTTPClient *http.Client
	// Timeout bounds each request (each try, when a request is retried); 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Client speaks to GitHub for rotabot. It is safe for concurrent use.
type Client struct {
	// api is the REST root every request stays under.
	api *url.URL
	// base is the template of the per-token clients: it never sends a request, so
	// its rate-limit memory, which go-github copies into each derived client, stays
	// empty.
	base *gh.Client
	// admin carries GITHUB_TOKEN, or the GitHub App's installation tokens;
	// nil when neither was configured.
	admin *gh.Client
	// app is the GitHub App's authentication when rotabot writes as one.
	app *appAuth
	// cred names admin's credential in messages: GITHUB_TOKEN or the GitHub App.
	cred string
	// anon carries no credential: POST /credentials/revoke must be sent without one.
	anon *gh.Client

	timeout time.Duration
	// maxTries bounds the attempts of one request (the first and its retries).
	maxTries uint
	// maxWait is the longest Retry-After honoured when ctx has no deadline.
	maxWait time.Duration
	// newBackOff paces retries that GitHub gave no Retry-After for.
	newBackOff func() backoff.BackOff
	// rand feeds the sealed boxes of Actions secrets.
	rand io.Reader
}

var (
	_ rotation.TokenChecker = (*Client)(nil)
	_ rotation.Revoker      = (*Client)(nil)
	_ rotation.Consumer     = (*ActionsSecrets)(nil)
)

// New returns a Client for cfg. Its only error is a BaseURL that is not an https
// URL (plain http is for a loopback host only).
func New(cfg Config) (*Client, error) {
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := egress.Base("GITHUB_API_URL", raw)
	if err != nil {
		var ue *egress.URLError
		if errors.As(err, &ue) && ue.Problem == "is not an http(s) URL" {
			return nil, rotation.Errorf(rotation.EINVALID, "GITHUB_API_URL %q is not a URL like https://api.github.com/", raw)
		}
		return nil, rotation.Wrap(rotation.EINVALID, err, "%s", err.Error())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	hc := egress.Bind(u, cfg.HTTPClient, timeout)
	newGH := func() *gh.Client {
		c := gh.NewClient(hc)
		b := *u
		c.BaseURL = &b
		return c
	}
	c := &Client{
		api:        u,
		base:       newGH(),
		anon:       newGH(),
		timeout:    timeout,
		maxTries:   3,
		maxWait:    time.Minute,
		newBackOff: defaultBackOff,
		rand:       rand.Reader,
		cred:       credToken,
	}
	switch {
	case cfg.App != nil:
		now := cfg.Now
		if now == nil {
			now = rotation.WallNow
		}
		// Under the App's tokens, the transport bound to GITHUB_API_URL's host:
		// the JWT and the tokens go nowhere else, first request or redirect.
		c.app, err = newAppAuth(*cfg.App, u, hc.Transport, hc.CheckRedirect, now)
		if err != nil {
			return nil, err
		}
		// No Timeout here: the bound transport under the App's gives every
		// request its deadline (package egress says why).
		c.admin = gh.NewClient(&http.Client{Transport: c.app, CheckRedirect: hc.CheckRedirect})
		b := *u
		c.admin.BaseURL = &b
		c.cred = credApp
	case !cfg.AdminToken.Empty():
		c.admin = c.base.WithAuthToken(cfg.AdminToken.Reveal())
	}
	return c, nil
}

// How messages name the credential rotabot writes secrets with.
const (
	credToken = "GITHUB_TOKEN"
	credApp   = "the GitHub App"
)

// App reports whether rotabot writes to GitHub as a GitHub App.
func (c *Client) App() bool { return c.app != nil }

func defaultBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 250 * time.Millisecond
	b.MaxInterval = 2 * time.Second
	return b
}

// withToken returns a client that authenticates as token. It is made per call so
// that go-github's rate-limit memory of one token never blocks another.
func (c *Client) withToken(token rotation.Secret) *gh.Client {
	return c.base.WithAuthToken(token.Reveal())
}

// Check asks GitHub who token belongs to (GET /user) and what it may do: its kind,
// its expiry (GitHub-Authentication-Token-Expiration; zero when it never expires), a
// classic token's scopes (X-OAuth-Scopes) and how many repositories a fine-grained
// token sees (GET /user/repos, every page). A value that is not a personal access
// token is refused without a request. A refused token is EUNAUTHORIZED.
func (c *Client) Check(ctx context.Context, token rotation.Secret) (rotation.TokenInfo, error) {
	kind, err := rotation.TokenShape(token.Reveal())
	if err != nil {
		return rotation.TokenInfo{}, err
	}
	cl := c.withToken(token)

	var user *gh.User
	resp, err := c.do(ctx, call{kind: opCheck, route: "GET /user"}, func(ctx context.Context) (*gh.Response, error) {
		u, resp, err := cl.Users.Get(ctx, "")
		user = u
		return resp, err
	})
	if err != nil {
		return rotation.TokenInfo{}, err
	}
	info := rotation.TokenInfo{Login: user.GetLogin(), Kind: kind, Repos: -1}
	if !resp.TokenExpiration.IsZero() {
		info.ExpiresAt = resp.TokenExpiration.UTC()
	}
	if kind == rotation.Classic {
		info.Scopes = splitScopes(resp.Header.Get("X-OAuth-Scopes"))
		return info, nil
	}

	opts := &gh.RepositoryListByAuthenticatedUserOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	count := 0
	for {
		var repos []*gh.Repository
		resp, err := c.do(ctx, call{kind: opCheck, route: "GET /user/repos"}, func(ctx context.Context) (*gh.Response, error) {
			r, resp, err := cl.Repositories.ListByAuthenticatedUser(ctx, opts)
			repos = r
			return resp, err
		})
		if err != nil {
			return rotation.TokenInfo{}, err
		}
		count += len(repos)
		if resp.NextPage == 0 || resp.NextPage <= opts.Page {
			break
		}
		opts.Page = resp.NextPage
	}
	info.Repos = count
	return info, nil
}

func splitScopes(h string) []string {
	var scopes []string
	for _, s := range strings.Split(h, ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// Probe calls the workload probe path (relative to the API root, e.g.
// /repos/OWNER/REPO/actions/runs?per_page=1) with token and wants a 2xx. The path
// is resolved under GITHUB_API_URL and must stay on its host and under its path
// (egress.Under): an absolute URL in any disguise is refused before any request, so
// the token is never sent anywhere else.
func (c *Client) Probe(ctx context.Context, token rotation.Secret, path string) error {
	if _, err := rotation.TokenShape(token.Reveal()); err != nil {
		return err
	}
	ref := path
	if !strings.HasPrefix(ref, "/") {
		ref = "/" + ref
	}
	target, err := egress.Under(c.api, ref)
	if err == nil && strings.Trim(ref, "/") == "" {
		err = &egress.PathError{Problem: "it names no path"}
	}
	if err != nil {
		return &rotation.Error{Code: rotation.EINVALID, Err: rotation.ErrProbe, Message: fmt.Sprintf(
			"The workload probe %q is not a path on the GitHub API, like /repos/OWNER/REPO/actions/runs?per_page=1: %s", path, err.Error())}
	}
	shown := ref
	cl := c.withToken(token)
	_, err = c.do(ctx, call{kind: opProbe, route: "GET " + shown}, func(ctx context.Context) (*gh.Response, error) {
		req, err := cl.NewRequest(http.MethodGet, target.String(), nil)
		if err != nil {
			return nil, err
		}
		// Read to its end: an answer closed unread closes its connection, and
		// the next call to GitHub pays a new one (a TLS handshake).
		return cl.Do(ctx, req, io.Discard)
	})
	return err
}

// Revoke sends token to POST /credentials/revoke, without any Authorization header
// (GitHub refuses an authenticated call there). GitHub answers 202 and revokes it for
// good; the owner gets an email. Whether it worked shows afterwards as Check
// answering EUNAUTHORIZED. A value that is not a personal access token is not sent.
func (c *Client) Revoke(ctx context.Context, token rotation.Secret) error {
	if _, err := rotation.TokenShape(token.Reveal()); err != nil {
		return err
	}
	body := struct {
		Credentials []string `json:"credentials"`
	}{Credentials: []string{token.Reveal()}}
	_, err := c.do(ctx, call{kind: opRevoke, route: "POST /credentials/revoke"}, func(ctx context.Context) (*gh.Response, error) {
		req, err := c.anon.NewRequest(http.MethodPost, "credentials/revoke", body)
		if err != nil {
			return nil, err
		}
		req.Header.Del("Authorization")
		return c.anon.Do(ctx, req, nil)
	})
	return err
}

// CheckAdmin asks GitHub who GITHUB_TOKEN belongs to (GET /user): a start-up check
// that the token for Actions secrets works. It returns the login.
func (c *Client) CheckAdmin(ctx context.Context) (string, error) {
	if c.admin == nil {
		return "", rotation.Errorf(rotation.EINVALID, "GITHUB_TOKEN is not set: a token with secrets:write is needed for github_secrets")
	}
	var user *gh.User
	_, err := c.do(ctx, call{kind: opSecret, route: "GET /user"}, func(ctx context.Context) (*gh.Response, error) {
		u, resp, err := c.admin.Users.Get(ctx, "")
		user = u
		return resp, err
	})
	if err != nil {
		if rotation.ErrorCode(err) == rotation.EUNAUTHORIZED {
			return "", rotation.Wrap(rotation.EUNAUTHORIZED, err, "GitHub refused GITHUB_TOKEN (401): check the token, or make a new one with secrets:write")
		}
		return "", err
	}
	return user.GetLogin(), nil
}
