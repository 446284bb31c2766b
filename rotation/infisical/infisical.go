// Package infisical is rotabot's vault: it reads, writes, deletes and reads old
// versions of secrets in Infisical through the official go-sdk's API calls, logged
// in as a universal-auth machine identity, and turns every failure into a
// *rotation.Error whose message names the secret, folder and environment, says what
// to do, and never holds a secret value. The SDK's calls take the resty client they
// speak through, so the Vault hands them its own: bound to INFISICAL_SITE_URL's
// host (package egress), with a deadline on every request, tied to the caller's
// context so an abandoned call ends on the wire rather than landing late, and
// retrying nothing behind the Vault's back. It reads the server's error structure
// ("error", "message") itself, since the SDK keeps only the message. It guards the
// SDK's other blind spots: a reply that is not JSON decoded as an empty secret, and
// an empty value silently not written. It must not know about Slack, GitHub,
// Heroku, the store or how a run moves on: it implements rotation.Vault, plus the
// pending-value compositions (Stage, Promote) the CLI and tests use.
package infisical

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/go-resty/resty/v2"
	authapi "github.com/infisical/go-sdk/packages/api/auth"
	secretsapi "github.com/infisical/go-sdk/packages/api/secrets"
	"github.com/infisical/go-sdk/packages/models"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// DefaultSiteURL is Infisical Cloud (US).
const DefaultSiteURL = "https://app.infisical.com"

// DefaultTimeout bounds one Vault call (all its tries) when Config.Timeout is 0 and
// ctx has no earlier deadline, and each HTTP request.
const DefaultTimeout = 30 * time.Second

// userAgent names rotabot to Infisical.
const userAgent = "rotabot infisical-go-sdk"

// Config says where Infisical is and which machine identity and project to use.
type Config struct {
	// SiteURL is INFISICAL_SITE_URL, with or without a trailing slash (and with or
	// without /api); "" means DefaultSiteURL. It must be https unless its host is
	// loopback.
	SiteURL string
	// ClientID and ClientSecret are the machine identity's universal-auth
	// credentials (INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET).
	ClientID     string
	ClientSecret string
	// ProjectID is INFISICAL_PROJECT_ID, the project (workspace) holding the secrets.
	ProjectID string
	// Timeout bounds each Vault call when ctx has no earlier deadline, and each HTTP
	// request; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Format prints the Config with ClientSecret redacted, whatever the verb, so a
// Config (or a struct holding one) cannot leak it into a log line.
func (c Config) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "infisical.Config{SiteURL:%q ClientID:%q ClientSecret:[redacted] ProjectID:%q Timeout:%s}",
		c.SiteURL, c.ClientID, c.ProjectID, c.Timeout)
}

// LogValue keeps ClientSecret out of slog output.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("site_url", c.SiteURL), slog.String("client_id", c.ClientID),
		slog.String("project_id", c.ProjectID), slog.Duration("timeout", c.Timeout))
}

// Vault is an Infisical project seen through one machine identity. It is safe for
// concurrent use. It starts no goroutine; Close makes it refuse further calls.
type Vault struct {
	hc        *http.Client // bound to the site's host, with the request deadline
	api       string       // the site with /api: the SDK's base URL
	site      string       // for messages: the site URL without credentials
	projectID string
	clientID  string
	secret    rotation.Secret // the client secret
	timeout   time.Duration

	closed atomic.Bool
	// tokenMu guards token and gen: the access token of the last login, and how
	// many logins there have been (a call that met a refused token logs in again
	// only if nobody did since it started).
	tokenMu sync.Mutex
	token   rotation.Secret
	gen     int
	// loginMu keeps two calls that both met a refused token from logging in at once.
	loginMu sync.Mutex

	// maxTries bounds the tries of one request (the first and its retries).
	maxTries uint
	// newBackOff paces retries of 5xx answers, and of 429s without a stated wait.
	newBackOff func() backoff.BackOff
}

var _ rotation.Vault = (*Vault)(nil)

// New logs in to Infisical as the machine identity of cfg and returns a Vault. A
// refused login is an EUNAUTHORIZED *rotation.Error; a malformed cfg is EINVALID.
func New(ctx context.Context, cfg Config) (*Vault, error) {
	site := strings.TrimRight(strings.TrimSpace(cfg.SiteURL), "/")
	if site == "" {
		site = DefaultSiteURL
	}
	site = strings.TrimSuffix(site, "/api")
	u, err := egress.Base("INFISICAL_SITE_URL", site)
	if err != nil {
		var ue *egress.URLError
		if errors.As(err, &ue) && ue.Problem == "is not an http(s) URL" {
			return nil, rotation.Errorf(rotation.EINVALID, "INFISICAL_SITE_URL is not an http(s) URL: set it to your Infisical address, e.g. %s", DefaultSiteURL)
		}
		return nil, rotation.Wrap(rotation.EINVALID, err, "%s", err.Error())
	}
	for _, req := range []struct{ name, value string }{
		{"INFISICAL_CLIENT_ID", cfg.ClientID},
		{"INFISICAL_CLIENT_SECRET", cfg.ClientSecret},
		{"INFISICAL_PROJECT_ID", cfg.ProjectID},
	} {
		if strings.TrimSpace(req.value) == "" {
			return nil, rotation.Errorf(rotation.EINVALID, "%s is not set: the bot needs it to reach Infisical", req.name)
		}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	v := &Vault{
		hc:         egress.Bind(u, nil, timeout),
		api:        site + "/api",
		site:       u.Redacted(),
		projectID:  cfg.ProjectID,
		clientID:   cfg.ClientID,
		secret:     rotation.NewSecret(cfg.ClientSecret),
		timeout:    timeout,
		maxTries:   3,
		newBackOff: defaultBackOff,
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := v.login(cctx, -1); err != nil {
		return nil, err
	}
	return v, nil
}

func defaultBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 200 * time.Millisecond
	b.MaxInterval = 2 * time.Second
	return b
}

// Close makes the Vault refuse every later call. Nothing is left running.
func (v *Vault) Close() error {
	v.closed.Store(true)
	return nil
}

// login runs the universal-auth login and keeps the access token, unless another
// call logged in since seen (the login generation it saw refused; -1: always).
func (v *Vault) login(ctx context.Context, seen int) error {
	v.loginMu.Lock()
	defer v.loginMu.Unlock()
	if _, gen := v.access(); seen >= 0 && gen != seen {
		return nil
	}
	cred, err := run(ctx, v, op{login: true}, func(rc *resty.Client) (authapi.MachineIdentityAuthLoginResponse, error) {
		return authapi.CallUniversalAuthLogin(rc, authapi.UniversalAuthLoginRequest{ClientID: v.clientID, ClientSecret: v.secret.Reveal()})
	})
	if err != nil {
		return err
	}
	if cred.AccessToken == "" {
		// A 2xx without JSON, or JSON without a token: not Infisical's login.
		return rotation.Errorf(rotation.EUNAVAILABLE, "Infisical's login answer held no access token: check INFISICAL_SITE_URL (%s)", v.site)
	}
	v.tokenMu.Lock()
	v.token = rotation.NewSecret(cred.AccessToken)
	v.gen++
	v.tokenMu.Unlock()
	return nil
}

// access returns the access token and the login generation it came from.
func (v *Vault) access() (rotation.Secret, int) {
	v.tokenMu.Lock()
	defer v.tokenMu.Unlock()
	return v.token, v.gen
}

// exchange is what one SDK call met on the wire, for classify: the server's
// refusal in its own structure (the SDK keeps only the message), or why nothing
// came back.
type exchange struct {
	status  int
	name    string // the body's "error": a class ("NotFound") or an operation ("GetSecretByName")
	message string // the body's "message", when it is a string
	refused error  // package egress stopped the request
}

// rest is the resty client one SDK call speaks through: v's bound HTTP client, the
// call's context on every request (so giving up ends the request), no retries,
// nothing logged, the access token when token is set, and x filled in as the
// answer comes back.
func (v *Vault) rest(ctx context.Context, x *exchange, token rotation.Secret) *resty.Client {
	hc := &http.Client{
		Transport: watch{next: v.hc.Transport, x: x}, // bound: each request has its deadline
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			err := v.hc.CheckRedirect(req, via)
			if err != nil {
				x.refused = err
			}
			return err
		},
	}
	rc := resty.NewWithClient(hc).SetBaseURL(v.api).SetHeader("User-Agent", userAgent).
		SetLogger(quiet{}).SetDisableWarn(true).SetRetryCount(0)
	rc.OnBeforeRequest(func(_ *resty.Client, r *resty.Request) error {
		r.SetContext(ctx)
		return nil
	})
	rc.OnAfterResponse(func(_ *resty.Client, r *resty.Response) error {
		if r.IsError() {
			x.read(r.StatusCode(), r.Body())
		}
		return nil
	})
	if !token.Empty() {
		rc.SetAuthScheme("Bearer").SetAuthToken(token.Reveal())
	}
	return rc
}

// watch notes an egress refusal made under the HTTP client (a request bound for
// another host).
type watch struct {
	next http.RoundTripper
	x    *exchange
}

func (w watch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if _, _, ok := egress.Refusal(err); ok {
		w.x.refused = err
	}
	return resp, err
}

// quiet is resty's logger: rotabot logs failures itself, from errors that hold no
// value.
type quiet struct{}

func (quiet) Errorf(string, ...any) {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Debugf(string, ...any) {}

// Read returns the secret's current value and version.
func (v *Vault) Read(ctx context.Context, ref rotation.VaultRef) (rotation.VaultValue, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	o := op{verb: "read", doing: "reading", ref: ref}
	s, err := v.retrieve(ctx, o)
	if err != nil {
		return rotation.VaultValue{}, err
	}
	if s.Version < 1 {
		return rotation.VaultValue{}, rotation.Errorf(rotation.EINTERNAL, "Infisical returned no version number for %s: the bot cannot roll back without one", o.where())
	}
	return rotation.VaultValue{Value: rotation.NewSecret(s.SecretValue), Version: s.Version}, nil
}

// ReadVersion returns the value the secret had at version (1 is the first).
func (v *Vault) ReadVersion(ctx context.Context, ref rotation.VaultRef, version int) (rotation.Secret, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	o := op{verb: "read", doing: "reading", ref: ref, version: version}
	if version < 1 {
		return rotation.Secret{}, rotation.Errorf(rotation.EINVALID, "There is no version %d of %s: versions start at 1", version, o.where())
	}
	s, err := v.retrieve(ctx, o)
	if err != nil {
		return rotation.Secret{}, err
	}
	// An API that ignored ?version= would hand back the current value: a rollback
	// must never take that for the old one.
	if s.Version != version {
		return rotation.Secret{}, rotation.Errorf(rotation.EINTERNAL, "Infisical answered with version %d when asked for version %d of %s", s.Version, version, o.where())
	}
	return rotation.NewSecret(s.SecretValue), nil
}

// retrieve reads the secret (at o.version when set) and refuses an empty reply.
func (v *Vault) retrieve(ctx context.Context, o op) (models.Secret, error) {
	if err := v.usable(o); err != nil {
		return models.Secret{}, err
	}
	s, err := run(ctx, v, o, func(rc *resty.Client) (models.Secret, error) {
		res, err := secretsapi.CallRetrieveSecretV3(nil, rc, secretsapi.RetrieveSecretV3RawRequest{
			SecretKey: o.ref.Key, ProjectID: v.projectID, Environment: o.ref.Environment,
			SecretPath: apiPath(o.ref.Path), Type: "shared", Version: o.version,
		})
		return res.Secret, err
	})
	if err != nil {
		return models.Secret{}, err
	}
	switch {
	case s.SecretKey == "":
		// The SDK decodes only JSON; anything else (a proxy's HTML page, a wrong
		// INFISICAL_SITE_URL) comes back as an empty secret and no error.
		return models.Secret{}, rotation.Errorf(rotation.EUNAVAILABLE,
			"Infisical returned an empty value for %s (its reply was not JSON): check INFISICAL_SITE_URL (%s)", o.where(), v.site)
	case s.SecretValue == "":
		return models.Secret{}, rotation.Errorf(rotation.EINVALID,
			"Infisical returned an empty value for %s: the secret is empty there", o.where())
	}
	return s, nil
}

// Write sets the secret's value, creating the secret when it does not exist, and
// returns the new version. A write that timed out may still land later: writing the
// same value again is harmless.
func (v *Vault) Write(ctx context.Context, ref rotation.VaultRef, value rotation.Secret) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	o := op{verb: "write to", doing: "writing", ref: ref, value: value}
	if err := v.usable(o); err != nil {
		return 0, err
	}
	if value.Empty() {
		// The SDK leaves an empty value out of the update: it would be a silent no-op.
		return 0, rotation.Errorf(rotation.EINVALID, "The bot will not write an empty value to %s", o.where())
	}
	update := func() (models.Secret, error) {
		return run(ctx, v, o, func(rc *resty.Client) (models.Secret, error) {
			res, err := secretsapi.CallUpdateSecretV3(rc, secretsapi.UpdateSecretV3RawRequest{
				SecretKey: ref.Key, ProjectID: v.projectID, Environment: ref.Environment,
				SecretPath: apiPath(ref.Path), Type: "shared", NewSecretValue: value.Reveal(),
			})
			return res.Secret, err
		})
	}
	s, err := update()
	if status(err) == 404 {
		co := o
		co.create = true
		s, err = run(ctx, v, co, func(rc *resty.Client) (models.Secret, error) {
			res, err := secretsapi.CallCreateSecretV3(rc, secretsapi.CreateSecretV3RawRequest{
				SecretKey: ref.Key, ProjectID: v.projectID, Environment: ref.Environment,
				SecretPath: apiPath(ref.Path), Type: "shared", SecretValue: value.Reveal(),
			})
			return res.Secret, err
		})
		if status(err) == 400 { // created by someone else in between
			s, err = update()
		}
	}
	if err != nil {
		return 0, err
	}
	if s.Version > 0 {
		return s.Version, nil
	}
	// The reply did not say which version the write made: read it back.
	now, err := v.Read(ctx, ref)
	if err != nil {
		return 0, err
	}
	if !now.Value.Equal(value) {
		return 0, rotation.Errorf(rotation.ECONFLICT, "%s changed while the bot was writing it: check its latest version in Infisical", o.where())
	}
	return now.Version, nil
}

// Delete removes the secret; a secret that is not there is not an error.
func (v *Vault) Delete(ctx context.Context, ref rotation.VaultRef) error {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	o := op{verb: "delete from", doing: "deleting", ref: ref}
	if err := v.usable(o); err != nil {
		return err
	}
	_, err := run(ctx, v, o, func(rc *resty.Client) (models.Secret, error) {
		res, err := secretsapi.CallDeleteSecretV3(rc, secretsapi.DeleteSecretV3RawRequest{
			SecretKey: ref.Key, ProjectID: v.projectID, Environment: ref.Environment,
			SecretPath: apiPath(ref.Path), Type: "shared",
		})
		return res.Secret, err
	})
	if status(err) == 404 {
		return nil
	}
	return err
}

// Stage holds value as the pending value at pending (the staging path, e.g.
// /rotabot/pending/), like AWSPENDING in a Secrets Manager rotation.
func (v *Vault) Stage(ctx context.Context, pending rotation.VaultRef, value rotation.Secret) error {
	_, err := v.Write(ctx, pending, value)
	return err
}

// Promote makes the pending value current: it reads pending, writes it to current
// and deletes pending, returning current's new version.
//
// Re-run after a crash, it does not write twice: if current already holds the
// pending value (the crash came between the write and the delete), it keeps
// current's version and only deletes pending. If pending is already gone (the crash
// came after the delete, or the run was cancelled), it answers ENOTFOUND and changes
// nothing: whoever calls it must tell a finished promotion by the current value
// (as the engine does by fingerprint).
func (v *Vault) Promote(ctx context.Context, pending, current rotation.VaultRef) (newVersion int, err error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	p, err := v.Read(ctx, pending)
	if err != nil {
		if rotation.ErrorCode(err) == rotation.ENOTFOUND {
			return 0, rotation.Wrap(rotation.ENOTFOUND, err, "There is no pending value for %s: it was promoted or cancelled already",
				op{ref: pending}.where())
		}
		return 0, err
	}
	now, err := v.Read(ctx, current)
	switch {
	case err == nil && now.Value.Equal(p.Value):
		newVersion = now.Version
	case err == nil || rotation.ErrorCode(err) == rotation.ENOTFOUND:
		if newVersion, err = v.Write(ctx, current, p.Value); err != nil {
			return 0, err
		}
	default:
		return 0, err
	}
	if err := v.Delete(ctx, pending); err != nil {
		return newVersion, err
	}
	return newVersion, nil
}

// usable refuses calls after Close and refs the API could not take.
func (v *Vault) usable(o op) error {
	if v.closed.Load() {
		return rotation.Errorf(rotation.EINTERNAL, "The Infisical client was closed before %s", o.what())
	}
	switch {
	case o.ref.Key == "":
		return rotation.Errorf(rotation.EINVALID, "No secret name was given for Infisical")
	case strings.ContainsAny(o.ref.Key, "/?#%'\" \t\r\n"):
		// The SDK puts the key in the URL path unescaped.
		return rotation.Errorf(rotation.EINVALID, "The secret name %q cannot be used with Infisical: use letters, digits and _", o.ref.Key)
	case strings.TrimSpace(o.ref.Environment) == "":
		return rotation.Errorf(rotation.EINVALID, "No Infisical environment was given for %s", o.ref.Key)
	}
	return nil
}

// apiPath is a secret path as the API takes it: a leading slash, none trailing.
func apiPath(p string) string { return path.Clean("/" + strings.TrimSpace(p)) }

// folderPath is a secret path as people read it: /MooseQuest/github/.
func folderPath(p string) string {
	p = apiPath(p)
	if p == "/" {
		return p
	}
	return p + "/"
}
