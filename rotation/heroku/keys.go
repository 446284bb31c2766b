package heroku

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	heroku "github.com/heroku/heroku-go/v5"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

var (
	_ rotation.TokenChecker = (*Keys)(nil)
	_ rotation.Revoker      = (*Keys)(nil)
	_ rotation.Minter       = (*Keys)(nil)
)

// Keys is what rotation needs of a heroku-api-key secret's keys: who a key is
// (GET /account with it) and which of the account's OAuth authorizations it is,
// the workload probe with it, a new key of the same account and scope (POST
// /oauth/authorizations), and an authorization deleted by its id (the old key's
// revoke; a discarded new one). A secret's key is only ever sent to Heroku, as
// the bearer of its own GET /account and probe; the account's authorizations are
// listed, made and deleted with HEROKU_API_KEY, rotabot's own key, which must be
// of the same account and of global scope. The list holds every key of the
// account: each is compared with the key in hand by SHA-256 in memory and
// dropped, never kept, logged or returned. A new key is returned once, to go to
// the vault's pending folder.
type Keys struct {
	c *Consumer
	// Now is the clock a key's expiry is counted from (default rotation.WallNow).
	Now func() time.Time
}

// Keys returns the heroku-api-key adapter on c's HEROKU_API_KEY.
func (c *Consumer) Keys() *Keys { return &Keys{c: c, Now: rotation.WallNow} }

// authz is what rotabot keeps of an authorization: never its key.
type authz struct {
	id, desc, email string
	scope           []string
	created         time.Time
	expiresIn       *int
}

func (a authz) text() string {
	return fmt.Sprintf("authorization %s, scope %s, “%s”, made %s", short(a.id), strings.Join(a.scope, ","), a.desc, a.created.UTC().Format("2006-01-02"))
}

func short(id string) string { return id[:min(8, len(id))] }

// Check asks Heroku who key belongs to (GET /account, with key) and which of
// the account's authorizations it is. A refused key is EUNAUTHORIZED. rotabot's
// own HEROKU_API_KEY is refused as a secret's value: it cannot rotate the key it
// works with.
func (k *Keys) Check(ctx context.Context, key rotation.Secret) (rotation.TokenInfo, error) {
	if err := k.mine(key); err != nil {
		return rotation.TokenInfo{}, err
	}
	var email string
	svc := k.c.keyed(key.Reveal())
	err := k.c.call(ctx, "", "read", key, func(ctx context.Context) error {
		a, err := svc.AccountInfo(ctx)
		if err == nil {
			email = a.Email
		}
		return err
	})
	if err != nil {
		return rotation.TokenInfo{}, keyErr(err, false)
	}
	info := rotation.TokenInfo{Login: email, Kind: rotation.HerokuAPIKey, Repos: -1}
	a, err := k.find(ctx, key)
	switch {
	case rotation.ErrorCode(err) == rotation.EUNAVAILABLE:
		return rotation.TokenInfo{}, err
	case err != nil:
		info.Detail = "authorization unknown: " + rotation.ErrorMessage(err)
	default:
		info.Detail, info.Scopes, info.CreatedAt = a.text(), a.scope, a.created
		if a.expiresIn != nil {
			info.ExpiresAt = k.Now().UTC().Add(time.Duration(*a.expiresIn) * time.Second).Truncate(time.Second)
		}
	}
	return info, nil
}

// Probe calls the workload probe path on the Platform API with key and wants
// a 2xx. The path stays on HEROKU_API_URL's host and under its path.
func (k *Keys) Probe(ctx context.Context, key rotation.Secret, path string) error {
	ref := "/" + strings.TrimPrefix(path, "/")
	_, err := egress.Under(k.c.api, ref)
	if err == nil && strings.Trim(ref, "/") == "" {
		err = &egress.PathError{Problem: "it names no path"}
	}
	if err != nil {
		return &rotation.Error{Code: rotation.EINVALID, Err: rotation.ErrProbe, Message: fmt.Sprintf(
			"The workload probe %q is not a path on the Heroku API, like /apps/APP: %s", path, err.Error())}
	}
	svc := k.c.keyed(key.Reveal())
	err = k.c.call(ctx, "", "read", key, func(ctx context.Context) error {
		return svc.Get(ctx, io.Discard, ref, nil, nil)
	})
	st := statusOf(err)
	switch {
	case err == nil || rotation.ErrorCode(err) == rotation.EUNAVAILABLE:
		return err
	case st == http.StatusUnauthorized:
		return &rotation.Error{Code: rotation.EUNAUTHORIZED, Err: rotation.ErrProbe, Message: fmt.Sprintf(
			"The workload probe GET %s answered 401: Heroku refused the key", ref)}
	case st != 0:
		return &rotation.Error{Code: rotation.EINVALID, Err: rotation.ErrProbe, Message: fmt.Sprintf(
			"The workload probe GET %s answered %d: the key cannot read it (its account, or its scope)", ref, st)}
	}
	return err
}

// Revoke deletes key's authorization by its id: the key answers 401 from then on.
func (k *Keys) Revoke(ctx context.Context, key rotation.Secret) error {
	if err := k.mine(key); err != nil {
		return err
	}
	a, err := k.find(ctx, key)
	if err != nil {
		return err
	}
	if err := k.remove(ctx, a.id); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return rotation.Wrap(rotation.ENOTFOUND, err, "Heroku answered DELETE /oauth/authorizations with 404 for the old key's authorization %s: check HEROKU_API_URL, and delete it with heroku authorizations:revoke %s", short(a.id), a.id)
		}
		return keyErr(err, true)
	}
	return nil
}

// Mint makes a key of req.Current's account with req.Scopes (none: the current
// key's), described by req.Description. The create is sent once: a second try
// could make a second key.
func (k *Keys) Mint(ctx context.Context, req rotation.MintRequest) (rotation.Minted, error) {
	if err := k.mine(req.Current); err != nil {
		return rotation.Minted{}, err
	}
	scope := req.Scopes
	if cur, err := k.find(ctx, req.Current); err == nil && len(scope) == 0 {
		scope = cur.scope
	} else if err != nil && (len(scope) == 0 || rotation.ErrorCode(err) != rotation.ENOTFOUND) {
		return rotation.Minted{}, err
	}
	var made *heroku.OAuthAuthorization
	err := k.c.callTries(ctx, 1, "", "change", rotation.Secret{}, func(ctx context.Context) error {
		var err error
		made, err = k.c.svc.OAuthAuthorizationCreate(ctx, heroku.OAuthAuthorizationCreateOpts{Scope: scope, Description: &req.Description})
		return err
	})
	if err != nil {
		return rotation.Minted{}, keyErr(err, true)
	}
	if made.AccessToken == nil || made.AccessToken.Token == "" {
		return rotation.Minted{}, rotation.Errorf(rotation.EINTERNAL, "Heroku made authorization %s but sent no key: delete it with heroku authorizations:revoke %s", made.ID, made.ID)
	}
	a := authz{id: made.ID, desc: req.Description, scope: made.Scope, created: made.CreatedAt}
	return rotation.Minted{Value: rotation.NewSecret(made.AccessToken.Token), Ref: made.ID, Text: a.text()}, nil
}

// Discard deletes the authorization id (OAuthAuthorizationDelete); one already
// gone is no error.
func (k *Keys) Discard(ctx context.Context, id string) error {
	err := k.remove(ctx, id)
	if statusOf(err) == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return keyErr(err, true)
	}
	return nil
}

// remove is DELETE /oauth/authorizations/{id} with HEROKU_API_KEY.
func (k *Keys) remove(ctx context.Context, id string) error {
	return k.c.call(ctx, "", "change", rotation.Secret{}, func(ctx context.Context) error {
		_, err := k.c.svc.OAuthAuthorizationDelete(ctx, url.PathEscape(id))
		return err
	})
}

// Account is who HEROKU_API_KEY belongs to, and whether it may manage the
// account's keys (list its authorizations): a start-up check when the matrix
// has a heroku-api-key secret.
func (k *Keys) Account(ctx context.Context) (string, error) {
	email, err := k.c.Account(ctx)
	if err != nil {
		return "", err
	}
	_, err = pages(ctx, k.c, "", &heroku.ListRange{Field: "id", Max: 1}, func(ctx context.Context, lr *heroku.ListRange) ([]heroku.OAuthAuthorization, error) {
		return k.c.svc.OAuthAuthorizationList(ctx, lr)
	})
	if err != nil {
		return email, keyErr(err, true)
	}
	return email, nil
}

// find is key's authorization among HEROKU_API_KEY's account's (ENOTFOUND: none
// of them: a key of another account, or deleted). Every key of the list is
// compared by digest and dropped with the page.
func (k *Keys) find(ctx context.Context, key rotation.Secret) (authz, error) {
	if k.c.own.Empty() {
		return authz{}, rotation.Errorf(rotation.EINVALID, "HEROKU_API_KEY is not set: rotabot lists, makes and deletes a Heroku account's keys with it")
	}
	want := sha256.Sum256([]byte(key.Reveal()))
	var found *authz
	_, err := pages(ctx, k.c, "", &heroku.ListRange{Field: "id", Max: 1000}, func(ctx context.Context, lr *heroku.ListRange) ([]listed, error) {
		var list []listed
		err := k.c.svc.Get(ctx, &list, "/oauth/authorizations", nil, lr)
		for _, a := range list {
			if a.AccessToken != nil && subtle.ConstantTimeCompare(a.AccessToken.Token[:], want[:]) == 1 {
				found = &authz{id: a.ID, desc: a.Description, email: a.User.Email, scope: a.Scope, created: a.CreatedAt, expiresIn: a.AccessToken.ExpiresIn}
			}
		}
		return list, err
	})
	switch {
	case err != nil:
		return authz{}, keyErr(err, true)
	case found == nil:
		return authz{}, rotation.Errorf(rotation.ENOTFOUND, "Heroku lists no authorization with this key in HEROKU_API_KEY's account: it is another account's key, or deleted (rotabot manages the keys of its own key's account only)")
	}
	return *found, nil
}

// listed is an authorization as GET /oauth/authorizations sends it (heroku-go's
// OAuthAuthorization, and the description its struct leaves out), its key
// hashed as it is decoded.
type listed struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	Scope       []string  `json:"scope"`
	CreatedAt   time.Time `json:"created_at"`
	AccessToken *struct {
		ExpiresIn *int      `json:"expires_in"`
		Token     keyDigest `json:"token"`
	} `json:"access_token"`
	User struct {
		Email string `json:"email"`
	} `json:"user"`
}

// keyDigest is the SHA-256 of a key, taken as it is decoded; the key is not kept.
type keyDigest [sha256.Size]byte

func (d *keyDigest) UnmarshalJSON(b []byte) error {
	var v *string
	if err := json.Unmarshal(b, &v); err != nil || v == nil {
		return err
	}
	*d = sha256.Sum256([]byte(*v))
	return nil
}

// mine refuses rotabot's own HEROKU_API_KEY as a secret's value.
func (k *Keys) mine(key rotation.Secret) error {
	if !k.c.own.Empty() && subtle.ConstantTimeCompare([]byte(key.Reveal()), []byte(k.c.own.Reveal())) == 1 {
		return rotation.Errorf(rotation.EINVALID, "That is rotabot's own HEROKU_API_KEY: rotabot works with it and cannot rotate it (it would cut itself off at revoke). Rotate it by hand — heroku authorizations:create, set the new one as rotabot's HEROKU_API_KEY and restart it, then heroku authorizations:revoke the old one — or give the secret a key of its own")
	}
	if kind, err := rotation.ShapeOf(key.Reveal()); err != nil || kind != rotation.HerokuAPIKey {
		return rotation.Errorf(rotation.EINVALID, "That is not a Heroku API key (HRKU-… or a UUID): rotabot sends it nowhere")
	}
	return nil
}

// keyErr says what a refused call about keys means. own: the call was made with
// HEROKU_API_KEY, not the secret's key — its 401 is no verdict on the secret.
func keyErr(err error, own bool) error {
	var se *statusErr
	errors.As(err, &se)
	msg := ""
	if se != nil {
		msg = se.msg
	}
	switch st := statusOf(err); {
	case !own && st == http.StatusUnauthorized:
		return rotation.Wrap(rotation.EUNAUTHORIZED, err, "Heroku refuses the key (401): it is revoked, deleted or mistyped")
	case !own && st == http.StatusNotFound:
		return rotation.Wrap(rotation.ENOTFOUND, err, "Heroku answered GET /account with 404: check HEROKU_API_URL")
	case own && st == http.StatusUnauthorized:
		return rotation.Wrap(rotation.EINVALID, err, "Heroku refused HEROKU_API_KEY (401), rotabot's own key: check it")
	case own && st == http.StatusForbidden:
		return rotation.Wrap(rotation.EFORBIDDEN, err, "HEROKU_API_KEY may not manage the account's API keys (403): rotabot's own key needs the global scope (heroku authorizations:create -s global)")
	case st == http.StatusUnprocessableEntity:
		return rotation.Wrap(rotation.EINVALID, err, "Heroku refused the new key's settings (422: %s): check scopes in the routing matrix", msg)
	}
	return err
}
