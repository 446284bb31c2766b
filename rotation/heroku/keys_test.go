package heroku_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/heroku"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
	"github.com/raxx-app/rotabot/sandbox"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
)

const (
	keysAccount = "ops@raxx.example" // the stand-in's first account: rotabot's key's
	probeApp    = "/apps/" + app
)

// keysFixture is the stand-in with rotabot's own key (apiKey, global) and a
// heroku-api-key secret's key of the same account, and Keys on rotabot's key.
type keysFixture struct {
	h    *sbheroku.Heroku
	keys *heroku.Keys
	// deploy is the secret's key; seen collects every key the test made, for
	// the leak checks.
	deploy string
	seen   []string
}

func keysSetup(t *testing.T, ownKey string) *keysFixture {
	t.Helper()
	h := sbheroku.New(apiKey)
	t.Cleanup(h.Close)
	h.AddApp(app, map[string]string{varName: oldToken})
	f := &keysFixture{h: h, keys: heroku.New(heroku.Config{BaseURL: h.URL, APIKey: ownKey}).Keys()}
	f.deploy = h.AddKey(keysAccount, []string{"global"}, "deploys from Actions")
	f.seen = []string{apiKey, f.deploy}
	return f
}

// noKeyLeak fails when text holds 8 characters in a row of any key of the test.
func (f *keysFixture) noKeyLeak(t *testing.T, where, text string) {
	t.Helper()
	rotationtest.NoLeak(t, where+": "+text, f.seen...)
}

func keyFailer(h *sbheroku.Heroku) func(rotationtest.Op, rotationtest.Fault) {
	return func(op rotationtest.Op, fl rotationtest.Fault) {
		route := map[rotationtest.Op]string{rotationtest.OpCheck: "GET /account", rotationtest.OpProbe: "GET /apps/{app}",
			rotationtest.OpRevoke: "DELETE /oauth/authorizations/{id}"}[op]
		h.Fail(route, herokuFault(fl))
	}
}

// A heroku-api-key's check passes the TokenChecker contract on the stand-in:
// the key is asked who it is (GET /account) and its probe answered with it.
func TestKeysTokenCheckerContract(t *testing.T) {
	rotationtest.TokenChecker(t, func(t *testing.T) rotationtest.TokenCheckerHarness {
		f := keysSetup(t, apiKey)
		refused := sbheroku.NewKey()
		return rotationtest.TokenCheckerHarness{
			Checker: f.keys,
			Fail:    keyFailer(f.h),
			Valid: []rotationtest.ValidToken{{Token: f.deploy, Want: rotation.TokenInfo{Login: keysAccount, Kind: rotation.HerokuAPIKey,
				Scopes: []string{"global"}, Repos: -1}}},
			Refused:          refused,
			ProbePath:        probeApp,
			MissingProbe:     "/apps/raxx-nowhere",
			ProbeMissingCode: rotation.EINVALID,
			Secrets:          []string{apiKey, f.deploy, refused},
			Check: rotationtest.Messages{
				Unauthorized: "Heroku refuses the key (401): it is revoked, deleted or mistyped",
				NotFound:     "Heroku answered GET /account with 404: check HEROKU_API_URL",
				RateLimited:  "Heroku rate limit reached (429): retry in 1s",
				Unavailable:  "Heroku is unavailable (503): retry later",
				Timeout:      "Heroku did not answer in time",
			},
			Probe: rotationtest.Messages{
				Unauthorized: "The workload probe GET " + probeApp + " answered 401: Heroku refused the key",
				NotFound:     "The workload probe GET /apps/raxx-nowhere answered 404: the key cannot read it (its account, or its scope)",
				RateLimited:  "Heroku rate limit reached (429): retry in 1s",
				Unavailable:  "Heroku is unavailable (503): retry later",
				Timeout:      "Heroku did not answer in time",
			},
		}
	})
}

// The old key's revoke passes the Revoker contract: its authorization is deleted
// by id, and the key then answers 401 to Check.
func TestKeysRevokerContract(t *testing.T) {
	rotationtest.Revoker(t, func(t *testing.T) rotationtest.RevokerHarness {
		f := keysSetup(t, apiKey)
		return rotationtest.RevokerHarness{
			Revoker: f.keys,
			Fail:    keyFailer(f.h),
			Token:   f.deploy,
			Revoked: func(key string) bool { return !f.h.KeyAlive(key) },
			Checker: f.keys,
			Secrets: []string{apiKey},
			Revoke: rotationtest.Messages{
				NotFound:    "Heroku answered DELETE /oauth/authorizations with 404 for the old key's authorization " + authOf(t, f.h, f.deploy)[:8] + ": check HEROKU_API_URL, and delete it with heroku authorizations:revoke " + authOf(t, f.h, f.deploy),
				RateLimited: "Heroku rate limit reached (429): retry in 1s",
				Unavailable: "Heroku is unavailable (503): retry later",
				Timeout:     "Heroku did not answer in time",
			},
		}
	})
}

// authOf is the id of key's authorization in the stand-in.
func authOf(t *testing.T, h *sbheroku.Heroku, key string) string {
	t.Helper()
	fp := rotation.Fingerprint(key)
	for _, a := range h.Authorizations() {
		if a.Fingerprint == fp {
			return a.ID
		}
	}
	t.Fatalf("no authorization for key %s", fp)
	return ""
}

// Check says which authorization a key is: its id, scope, description and
// when it was made (what the card's pre-check shows), never the key.
func TestKeysCheckNamesTheAuthorization(t *testing.T) {
	f := keysSetup(t, apiKey)
	info, err := f.keys.Check(context.Background(), rotation.NewSecret(f.deploy))
	if err != nil {
		t.Fatal(err)
	}
	id := authOf(t, f.h, f.deploy)
	if want := "authorization " + id[:8] + ", scope global, “deploys from Actions”, made "; !strings.HasPrefix(info.Detail, want) {
		t.Errorf("detail %q, want it to start %q", info.Detail, want)
	}
	if info.CreatedAt.IsZero() || !info.ExpiresAt.IsZero() {
		t.Errorf("created %v, expires %v: want a creation date and no expiry", info.CreatedAt, info.ExpiresAt)
	}
	f.noKeyLeak(t, "the detail", fmt.Sprintf("%+v", info))
}

// A key of another account is who it is, but rotabot's key cannot see (nor
// make, nor delete) its authorizations: Check says so, Mint refuses, Revoke
// refuses — and neither key reaches the other account.
func TestKeysOfAnotherAccount(t *testing.T) {
	f := keysSetup(t, apiKey)
	other := f.h.AddKey("someone@else.example", []string{"global"}, "another team's key")
	f.seen = append(f.seen, other)
	ctx := context.Background()
	info, err := f.keys.Check(ctx, rotation.NewSecret(other))
	if err != nil || info.Login != "someone@else.example" {
		t.Fatalf("Check: %+v, %v", info, err)
	}
	const notMine = "Heroku lists no authorization with this key in HEROKU_API_KEY's account: it is another account's key, or deleted (rotabot manages the keys of its own key's account only)"
	if info.Detail != "authorization unknown: "+notMine {
		t.Errorf("detail %q", info.Detail)
	}
	_, err = f.keys.Mint(ctx, rotation.MintRequest{Current: rotation.NewSecret(other), Description: "rotabot: X"})
	wantErr(t, err, rotation.ENOTFOUND, notMine)
	wantErr(t, f.keys.Revoke(ctx, rotation.NewSecret(other)), rotation.ENOTFOUND, notMine)
	if !f.h.KeyAlive(other) || len(f.h.Authorizations()) != 3 {
		t.Errorf("another account's key was touched: %+v", f.h.Authorizations())
	}
}

// Mint makes a key of the same account with the current key's scope (or the
// matrix's), described as asked: it answers GET /account as the same account,
// and Discard deletes it (again: no error).
func TestKeysMint(t *testing.T) {
	f := keysSetup(t, apiKey)
	ctx := context.Background()
	narrow := f.h.AddKey(keysAccount, []string{"read-protected", "write-protected"}, "the console's key")
	f.seen = append(f.seen, narrow)
	for _, c := range []struct {
		current string
		scopes  []string
		want    []string
	}{
		{f.deploy, nil, []string{"global"}},
		{narrow, nil, []string{"read-protected", "write-protected"}},
		{f.deploy, []string{"write-protected"}, []string{"write-protected"}},
	} {
		made, err := f.keys.Mint(ctx, rotation.MintRequest{Current: rotation.NewSecret(c.current), Scopes: c.scopes, Description: "rotabot: HEROKU_DEPLOY_KEY, 2026-11-29 (run r9)"})
		if err != nil {
			t.Fatal(err)
		}
		f.seen = append(f.seen, made.Value.Reveal())
		f.noKeyLeak(t, "what was minted", made.Text+made.Ref)
		if kind, err := rotation.ShapeOf(made.Value.Reveal()); err != nil || kind != rotation.HerokuAPIKey {
			t.Errorf("minted value of shape %q, %v", kind, err)
		}
		info, err := f.keys.Check(ctx, made.Value)
		if err != nil || info.Login != keysAccount || !slices.Equal(info.Scopes, c.want) {
			t.Errorf("the new key: %+v, %v; want account %s, scope %v", info, err, keysAccount, c.want)
		}
		if want := "authorization " + made.Ref[:8] + ", scope " + strings.Join(c.want, ",") + ", “rotabot: HEROKU_DEPLOY_KEY, 2026-11-29 (run r9)”"; !strings.HasPrefix(made.Text, want) {
			t.Errorf("text %q, want it to start %q", made.Text, want)
		}
		for i := 0; i < 2; i++ {
			if err := f.keys.Discard(ctx, made.Ref); err != nil {
				t.Fatalf("Discard #%d: %v", i+1, err)
			}
		}
		if f.h.KeyAlive(made.Value.Reveal()) {
			t.Error("the discarded key still works")
		}
	}
}

// A rotabot key of narrower scope may not manage the account's keys: Heroku
// answers 403 to its list, and the message says the global scope is needed;
// nothing is made.
func TestKeysNeedAGlobalKey(t *testing.T) {
	h := sbheroku.New(apiKey)
	t.Cleanup(h.Close)
	narrowOwn := h.AddKey(keysAccount, []string{"write-protected"}, "rotabot, narrowed")
	deploy := h.AddKey(keysAccount, []string{"global"}, "deploys")
	keys := heroku.New(heroku.Config{BaseURL: h.URL, APIKey: narrowOwn}).Keys()
	const refused = "HEROKU_API_KEY may not manage the account's API keys (403): rotabot's own key needs the global scope (heroku authorizations:create -s global)"
	_, err := keys.Mint(context.Background(), rotation.MintRequest{Current: rotation.NewSecret(deploy), Scopes: []string{"global"}, Description: "x"})
	wantErr(t, err, rotation.EFORBIDDEN, refused)
	_, err = keys.Account(context.Background())
	wantErr(t, err, rotation.EFORBIDDEN, refused)
	if n := h.Count("POST /oauth/authorizations", false); n != 0 {
		t.Errorf("POST /oauth/authorizations sent %d times, want none", n)
	}
	rotationtest.NoLeak(t, err.Error(), apiKey, narrowOwn, deploy)
}

// The create is sent once, whatever Heroku answers: a second try could make a
// second key nobody holds.
func TestKeysMintSendsTheCreateOnce(t *testing.T) {
	f := keysSetup(t, apiKey)
	f.h.Fail("POST /oauth/authorizations", &sandbox.Fault{Status: 503})
	_, err := f.keys.Mint(context.Background(), rotation.MintRequest{Current: rotation.NewSecret(f.deploy), Description: "x"})
	wantErr(t, err, rotation.EUNAVAILABLE, "Heroku is unavailable (503): retry later")
	if n := f.h.Count("POST /oauth/authorizations", false); n != 1 {
		t.Errorf("POST /oauth/authorizations sent %d times, want once", n)
	}
}

// A scope Heroku does not know is refused with Heroku's own words (422).
func TestKeysMintAnUnknownScope(t *testing.T) {
	f := keysSetup(t, apiKey)
	_, err := f.keys.Mint(context.Background(), rotation.MintRequest{Current: rotation.NewSecret(f.deploy), Scopes: []string{"admin"}, Description: "x"})
	wantErr(t, err, rotation.EINVALID, "Heroku refused the new key's settings (422: Invalid scope: admin. Valid scopes: global, identity, read, write, read-protected, write-protected.): check scopes in the routing matrix")
}

// rotabot's own key is never a secret's value: it would cut rotabot off from
// Heroku at the revoke. Nothing is sent.
func TestKeysRefuseRotabotsOwnKey(t *testing.T) {
	const own = "HRKU-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	h := sbheroku.New(own)
	t.Cleanup(h.Close)
	keys := heroku.New(heroku.Config{BaseURL: h.URL, APIKey: own}).Keys()
	ctx := context.Background()
	_, cerr := keys.Check(ctx, rotation.NewSecret(own))
	_, merr := keys.Mint(ctx, rotation.MintRequest{Current: rotation.NewSecret(own)})
	rerr := keys.Revoke(ctx, rotation.NewSecret(own))
	for _, err := range []error{cerr, merr, rerr} {
		if rotation.ErrorCode(err) != rotation.EINVALID || !strings.HasPrefix(rotation.ErrorMessage(err), "That is rotabot's own HEROKU_API_KEY") {
			t.Errorf("%v", err)
		}
	}
	if n := len(h.Requests()); n != 0 || !h.KeyAlive(own) {
		t.Errorf("%d requests were sent; key alive %v", n, h.KeyAlive(own))
	}
}

// A value that is not a Heroku key is sent nowhere.
func TestKeysRefuseOtherShapes(t *testing.T) {
	f := keysSetup(t, apiKey)
	_, err := f.keys.Check(context.Background(), rotation.NewSecret(newToken))
	if rotation.ErrorMessage(err) != "That is not a Heroku API key (HRKU-… or a UUID): rotabot sends it nowhere" {
		t.Errorf("%v", err)
	}
	if n := len(f.h.Requests()); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}
