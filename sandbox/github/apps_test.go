package github_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	gh "github.com/google/go-github/v62/github"

	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// appJWT signs claims as a GitHub App does, with the App's private key.
func appJWT(t *testing.T, pemKey string, iss any, iat, exp time.Time) string {
	t.Helper()
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(pemKey))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "iat": iat.Unix(), "exp": exp.Unix()}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An App JWT is accepted as GitHub accepts it: RS256 with the App's key, iss the
// App's id, iat not in the future beyond a minute's drift, exp in the future and
// at most ten minutes after iat; anything else is GitHub's 401 and message.
func TestGitHubAppJWTRules(t *testing.T) {
	g := newGitHubStandIn(t)
	key := g.RegisterApp(42, "rotabot-raxx")
	other := g.RegisterApp(43, "someone-elses-app")
	now := ghNow
	cases := []struct {
		name, auth string
		status     int
		message    string
	}{
		{"GitHub's recipe: iat 60 s back, exp in 10 min", "Bearer " + appJWT(t, key, "42", now.Add(-time.Minute), now.Add(9*time.Minute)), 200, ""},
		{"ghinstallation's: iat 30 s back, exp 2 min later", "Bearer " + appJWT(t, key, "42", now.Add(-30*time.Second), now.Add(90*time.Second)), 200, ""},
		{"iss as a number", "Bearer " + appJWT(t, key, 42, now.Add(-time.Minute), now.Add(time.Minute)), 200, ""},
		{"expired", "Bearer " + appJWT(t, key, "42", now.Add(-11*time.Minute), now.Add(-time.Minute)), 401,
			"'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"},
		{"iat in the future", "Bearer " + appJWT(t, key, "42", now.Add(2*time.Minute), now.Add(5*time.Minute)), 401,
			"'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"},
		{"within the drift", "Bearer " + appJWT(t, key, "42", now.Add(50*time.Second), now.Add(5*time.Minute)), 200, ""},
		{"lives over ten minutes", "Bearer " + appJWT(t, key, "42", now.Add(-time.Minute), now.Add(10*time.Minute)), 401,
			"'Expiration time' claim ('exp') is too far in the future"},
		{"signed with another App's key", "Bearer " + appJWT(t, other, "42", now.Add(-time.Minute), now.Add(time.Minute)), 401,
			"A JSON web token could not be decoded"},
		{"an App GitHub does not know", "Bearer " + appJWT(t, key, "7", now.Add(-time.Minute), now.Add(time.Minute)), 401, "Integration not found"},
		{"a personal access token", "Bearer " + ghAdmin, 401, "A JSON web token could not be decoded"},
		{"nothing", "", 401, "Requires authentication"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := ghDo(t, g, "GET", "/app", c.auth, "")
			if a.status != c.status || c.message != "" && a.message != c.message {
				t.Errorf("GET /app: %d %q, want %d %q", a.status, a.message, c.status, c.message)
			}
		})
	}
}

// appClient is go-github authenticating as the App with a JWT made now.
func appClient(t *testing.T, g *sbgithub.GitHub, key string, now time.Time) *gh.Client {
	return ghClient(t, g, appJWT(t, key, "42", now.Add(-30*time.Second), now.Add(2*time.Minute)))
}

// An installation is found by organisation, user or repository with the JWT,
// and makes installation tokens that work for an hour on the stand-in's clock,
// gated by the installation's permissions on its own account only, never as a
// user, and never revoked through /credentials/revoke.
func TestGitHubAppInstallationTokens(t *testing.T) {
	ctx := context.Background()
	g := newGitHubStandIn(t)
	key := g.RegisterApp(42, "rotabot-raxx")
	g.AddRepo("elsewhere/Repo")
	id := g.Install(42, "raxx-app", map[string]string{"secrets": "write", "environments": "write"})
	app := appClient(t, g, key, ghNow)

	in, _, err := app.Apps.FindOrganizationInstallation(ctx, "raxx-app")
	if err != nil || in.GetID() != id || in.GetAccount().GetLogin() != "raxx-app" {
		t.Fatalf("GET /orgs/raxx-app/installation: %+v %v", in, err)
	}
	if in, _, err := app.Apps.FindRepositoryInstallation(ctx, "raxx-app", "TradeMasterAPI"); err != nil || in.GetID() != id {
		t.Errorf("GET /repos/raxx-app/TradeMasterAPI/installation: %v %v", in.GetID(), err)
	}
	if _, _, err := app.Apps.FindOrganizationInstallation(ctx, "elsewhere"); ghStatus(err) != http.StatusNotFound {
		t.Errorf("an organisation the App is not installed on: %v, want 404", err)
	}
	var raw struct {
		Permissions map[string]string `json:"permissions"`
	}
	req, _ := app.NewRequest("GET", "app/installations/"+strconv.FormatInt(id, 10), nil)
	if _, err := app.Do(ctx, req, &raw); err != nil || raw.Permissions["secrets"] != "write" || raw.Permissions["metadata"] != "read" {
		t.Errorf("GET /app/installations/%d: %v %v", id, raw.Permissions, err)
	}

	tok, resp, err := app.Apps.CreateInstallationToken(ctx, id, nil)
	if err != nil || resp.StatusCode != http.StatusCreated || !strings.HasPrefix(tok.GetToken(), "ghs_") ||
		!tok.GetExpiresAt().Time.Equal(ghNow.Truncate(time.Second).Add(time.Hour)) || tok.GetPermissions().GetSecrets() != "write" {
		t.Fatalf("POST access_tokens: %+v %v", tok, err)
	}
	ghs := ghClient(t, g, tok.GetToken())
	pk, _, err := ghs.Actions.GetRepoPublicKey(ctx, "raxx-app", "TradeMasterAPI")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ghs.Actions.CreateOrUpdateRepoSecret(ctx, "raxx-app", "TradeMasterAPI",
		&gh.EncryptedSecret{Name: "GH_TOKEN", KeyID: pk.GetKeyID(), EncryptedValue: ghSeal(t, pk, "v1")}); err != nil {
		t.Fatal(err)
	}
	if w := g.WrittenWith(sbgithub.GHActions, "raxx-app/TradeMasterAPI", "GH_TOKEN"); w != "installation" {
		t.Errorf("the secret was written with %q, want installation", w)
	}
	// Only its permissions, only its account.
	_, resp, err = ghs.Actions.GetOrgPublicKey(ctx, "raxx-app")
	if ghStatus(err) != http.StatusForbidden || resp.Header.Get("X-Accepted-GitHub-Permissions") != "organization_secrets=read" ||
		!strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Errorf("an organisation key without organization_secrets: %v", err)
	}
	if _, _, err := ghs.Actions.GetRepoPublicKey(ctx, "elsewhere", "Repo"); ghStatus(err) != http.StatusNotFound {
		t.Errorf("another account's repository: %v, want 404", err)
	}
	if _, _, err := ghs.Users.Get(ctx, ""); ghStatus(err) != http.StatusForbidden {
		t.Errorf("GET /user with an installation token: %v, want 403", err)
	}
	// /credentials/revoke does not take installation tokens.
	body, _ := json.Marshal(map[string][]string{"credentials": {tok.GetToken()}})
	if a := ghDo(t, g, "POST", "/credentials/revoke", "", string(body)); a.status != http.StatusAccepted {
		t.Fatalf("revoke: %d", a.status)
	}
	if _, _, err := ghs.Actions.GetRepoPublicKey(ctx, "raxx-app", "TradeMasterAPI"); err != nil {
		t.Errorf("the installation token stopped working after /credentials/revoke: %v", err)
	}
	// An hour later it is refused, and a new one works.
	g.SetNow(ghClock(ghNow.Add(time.Hour)))
	if _, _, err := ghs.Actions.GetRepoPublicKey(ctx, "raxx-app", "TradeMasterAPI"); ghStatus(err) != http.StatusUnauthorized {
		t.Errorf("an expired installation token: %v, want 401", err)
	}
	if _, _, err := app.Apps.CreateInstallationToken(ctx, id, nil); ghStatus(err) != http.StatusUnauthorized {
		t.Errorf("the JWT made an hour ago: %v, want 401", err)
	}
	tok2, _, err := appClient(t, g, key, ghNow.Add(time.Hour)).Apps.CreateInstallationToken(ctx, id, nil)
	if err != nil || tok2.GetToken() == tok.GetToken() {
		t.Fatalf("a new token: %v", err)
	}
	if _, _, err := ghClient(t, g, tok2.GetToken()).Actions.GetRepoPublicKey(ctx, "raxx-app", "TradeMasterAPI"); err != nil {
		t.Errorf("the new token: %v", err)
	}
	if n := len(g.InstallationTokens()); n != 2 {
		t.Errorf("%d installation tokens issued, want 2", n)
	}
	// A token may be asked for fewer permissions, never more.
	if _, _, err := appClient(t, g, key, ghNow.Add(time.Hour)).Apps.CreateInstallationToken(ctx, id,
		&gh.InstallationTokenOptions{Permissions: &gh.InstallationPermissions{OrganizationSecrets: gh.String("write")}}); ghStatus(err) != http.StatusUnprocessableEntity {
		t.Errorf("a token with more than the installation holds: %v, want 422", err)
	}
}
