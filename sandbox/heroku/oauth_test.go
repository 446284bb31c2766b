package heroku

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	heroku "github.com/heroku/heroku-go/v5"
)

// Keys are authorizations, made, listed, read and deleted through heroku-go as
// Heroku answers them; a deleted one's key answers 401 with Heroku's body.
func TestHerokuAuthorizations(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	ctx := context.Background()
	own, _ := herokuClient(t, h.URL, herokuTestKey)

	made, err := own.OAuthAuthorizationCreate(ctx, heroku.OAuthAuthorizationCreateOpts{Scope: []string{"write-protected"}, Description: herokuPtr("deploys")})
	if err != nil {
		t.Fatal(err)
	}
	if made.AccessToken == nil || !strings.HasPrefix(made.AccessToken.Token, "HRKU-") || made.AccessToken.ExpiresIn != nil ||
		made.User.Email != "ops@raxx.example" || len(made.Scope) != 1 || made.Scope[0] != "write-protected" || made.CreatedAt.IsZero() {
		t.Fatalf("created %+v", made)
	}
	key := made.AccessToken.Token
	list, err := own.OAuthAuthorizationList(ctx, nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d, %v", len(list), err)
	}
	info, err := own.OAuthAuthorizationInfo(ctx, made.ID)
	if err != nil || info.AccessToken.Token != key {
		t.Fatalf("info: %+v, %v", info, err)
	}

	newKey, _ := herokuClient(t, h.URL, key)
	if a, err := newKey.AccountInfo(ctx); err != nil || a.Email != "ops@raxx.example" {
		t.Fatalf("the new key's account: %+v, %v", a, err)
	}
	// write-protected reaches config vars; it may not manage keys.
	h.AddApp("raxx-console-prod", map[string]string{"A": "1"})
	if err := newKey.Get(ctx, io.Discard, "/apps/raxx-console-prod/config-vars", nil, nil); err != nil {
		t.Errorf("write-protected reading config vars: %v", err)
	}
	_, err = newKey.OAuthAuthorizationCreate(ctx, heroku.OAuthAuthorizationCreateOpts{Scope: []string{"global"}})
	if he := herokuErr(t, err); he.StatusCode != http.StatusForbidden || he.ID != "forbidden" {
		t.Errorf("a write-protected key making a global one: %d %s", he.StatusCode, he.ID)
	}

	if _, err := own.OAuthAuthorizationDelete(ctx, made.ID); err != nil {
		t.Fatal(err)
	}
	_, err = newKey.AccountInfo(ctx)
	if he := herokuErr(t, err); he.StatusCode != http.StatusUnauthorized || he.ID != "unauthorized" || he.Error() != "Invalid credentials provided." {
		t.Errorf("the deleted key: %d %s %q", he.StatusCode, he.ID, he.Error())
	}
	_, err = own.OAuthAuthorizationDelete(ctx, made.ID)
	if he := herokuErr(t, err); he.StatusCode != http.StatusNotFound {
		t.Errorf("deleting it again: %d", he.StatusCode)
	}
	if got := h.Authorizations(); len(got) != 2 || got[1].Deleted.IsZero() || got[1].Fingerprint == "" {
		t.Errorf("authorizations for the page: %+v", got)
	}
}

// A key is only ever sent to its own account: another account's list, info and
// delete do not see it, nor its apps; scope is required and must be Heroku's.
func TestHerokuAuthorizationsStayWithTheirAccount(t *testing.T) {
	h := New(herokuTestKey)
	defer h.Close()
	ctx := context.Background()
	h.AddApp("raxx-console-prod", nil)
	mine := h.AddKey("ops@raxx.example", []string{"global"}, "deploys")
	theirs := h.AddKey("someone@else.example", []string{"global"}, "theirs")
	other, _ := herokuClient(t, h.URL, theirs)
	list, err := other.OAuthAuthorizationList(ctx, nil)
	if err != nil || len(list) != 1 || list[0].AccessToken.Token != theirs {
		t.Fatalf("another account's list: %+v, %v", list, err)
	}
	for _, a := range h.Authorizations() {
		if a.Email != "ops@raxx.example" {
			continue
		}
		if _, err := other.OAuthAuthorizationInfo(ctx, a.ID); herokuErr(t, err).StatusCode != http.StatusNotFound {
			t.Errorf("another account read %s", a.ID)
		}
		if _, err := other.OAuthAuthorizationDelete(ctx, a.ID); herokuErr(t, err).StatusCode != http.StatusNotFound {
			t.Errorf("another account deleted %s", a.ID)
		}
	}
	if _, err := other.AppInfo(ctx, "raxx-console-prod"); herokuErr(t, err).StatusCode != http.StatusForbidden {
		t.Errorf("another account read the app: %v", err)
	}
	if !h.KeyAlive(mine) {
		t.Error("a key of the first account died")
	}
	own, _ := herokuClient(t, h.URL, herokuTestKey)
	for _, body := range []string{`{}`, `{"scope":["admin"]}`} {
		err := own.Post(ctx, nil, "/oauth/authorizations", strings.NewReader(body))
		if he := herokuErr(t, err); he.StatusCode != http.StatusUnprocessableEntity || he.ID != "invalid_params" {
			t.Errorf("%s: %d %s", body, he.StatusCode, he.ID)
		}
	}
}
