package infisical

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	infisical "github.com/infisical/go-sdk"
	sdkerrors "github.com/infisical/go-sdk/packages/errors"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

const (
	infTestID      = "ua-client-id"
	infTestSecret  = "ua-client-secret-0123456789"
	infTestProject = "proj-rotabot"
	infTestToken   = "ghp_OldTokenAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	infTestToken2  = "ghp_NewTokenBBBBBBBBBBBBBBBBBBBBBBBBBBB"
)

// infClient returns a go-sdk client logged in to the stand-in (unless login is
// false). Auto refresh stays off: its goroutine would race the test's requests.
func infClient(t *testing.T, inf *Infisical, login bool) infisical.InfisicalClientInterface {
	t.Helper()
	c := infisical.NewInfisicalClient(t.Context(), infisical.Config{
		SiteUrl: inf.URL, SilentMode: true, AutoTokenRefresh: infisical.BoolPtr(false),
	})
	if login {
		if _, err := c.Auth().UniversalAuthLogin(infTestID, infTestSecret); err != nil {
			t.Fatalf("login: %v", err)
		}
	}
	return c
}

func infStatus(t *testing.T, err error) (int, string) {
	t.Helper()
	var ae *sdkerrors.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *errors.APIError", err)
	}
	return ae.StatusCode, ae.ErrorMessage
}

func newTestInfisical(t *testing.T) *Infisical {
	t.Helper()
	inf := New(infTestID, infTestSecret, infTestProject)
	t.Cleanup(inf.Close)
	return inf
}

func TestInfisicalLogin(t *testing.T) {
	inf := newTestInfisical(t)
	c := infClient(t, inf, false)
	cred, err := c.Auth().UniversalAuthLogin(infTestID, infTestSecret)
	if err != nil {
		t.Fatal(err)
	}
	if cred.AccessToken == "" || cred.ExpiresIn != 7200 || cred.AccessTokenMaxTTL != 2592000 || cred.TokenType != "Bearer" {
		t.Errorf("credential = %+v", cred)
	}

	_, err = infClient(t, inf, false).Auth().UniversalAuthLogin(infTestID, "wrong")
	if status, msg := infStatus(t, err); status != 401 || msg != "Invalid credentials" {
		t.Errorf("wrong secret: %d %q, want 401 Invalid credentials", status, msg)
	}
	if n := inf.Count(InfisicalLogin, true); n != 1 {
		t.Errorf("%d successful logins logged, want 1", n)
	}
}

func TestInfisicalRenew(t *testing.T) {
	inf := newTestInfisical(t)
	c := infClient(t, inf, true)
	token := c.Auth().GetAccessToken()

	// The SDK renews only from its background goroutine, so drive the route as it does.
	renew := func(tok string) (*http.Response, infisical.MachineIdentityCredential) {
		body, _ := json.Marshal(map[string]string{"accessToken": tok})
		resp, err := http.Post(inf.URL+"/api/v1/auth/token/renew", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var cred infisical.MachineIdentityCredential
		_ = json.NewDecoder(resp.Body).Decode(&cred)
		return resp, cred
	}
	resp, cred := renew(token)
	if resp.StatusCode != 200 || cred.AccessToken != token || cred.ExpiresIn != 7200 {
		t.Errorf("renew: %d %+v, want 200 with the same token", resp.StatusCode, cred)
	}
	// An unknown token is not a JWT the server signed: jwt.verify refuses it, and
	// the error handler answers such errors with 403 TokenError.
	if resp, _ := renew("unknown"); resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("renew unknown token: %d %s, want 403 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	inf.ExpireTokens()
	if resp, _ := renew(token); resp.StatusCode != 403 {
		t.Errorf("renew an expired token: %d, want 403 TokenError", resp.StatusCode)
	}
}

func TestInfisicalSecretsThroughSDK(t *testing.T) {
	inf := newTestInfisical(t)
	if v := inf.Set("prod", "/MooseQuest/github/", "GH_TOKEN", infTestToken); v != 1 {
		t.Fatalf("Set returned version %d, want 1", v)
	}
	inf.Mkdir("prod", "/rotabot/pending")
	c := infClient(t, inf, true)
	s := c.Secrets()

	// Read: the path works with or without its slashes.
	for _, p := range []string{"/MooseQuest/github/", "MooseQuest/github", "/MooseQuest/github"} {
		got, err := s.Retrieve(infisical.RetrieveSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod", SecretPath: p})
		if err != nil {
			t.Fatalf("retrieve at %q: %v", p, err)
		}
		if got.SecretValue != infTestToken || got.Version != 1 || got.SecretKey != "GH_TOKEN" || got.SecretPath != "/MooseQuest/github" {
			t.Errorf("retrieve at %q: key %s path %s version %d, value matches: %v", p, got.SecretKey, got.SecretPath, got.Version, got.SecretValue == infTestToken)
		}
	}

	// Update makes version 2; version 1 stays readable.
	up, err := s.Update(infisical.UpdateSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod",
		SecretPath: "/MooseQuest/github/", NewSecretValue: infTestToken2})
	if err != nil {
		t.Fatal(err)
	}
	if up.Version != 2 {
		t.Errorf("update returned version %d, want 2", up.Version)
	}
	if v, n, ok := inf.Value("prod", "/MooseQuest/github", "GH_TOKEN"); !ok || n != 2 || v != infTestToken2 {
		t.Errorf("after update: version %d ok %v, value is the new one: %v", n, ok, v == infTestToken2)
	}
	old, err := s.Retrieve(infisical.RetrieveSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod",
		SecretPath: "/MooseQuest/github", Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if old.SecretValue != infTestToken || old.Version != 1 {
		t.Errorf("version 1: version %d, value is the old one: %v", old.Version, old.SecretValue == infTestToken)
	}
	_, err = s.Retrieve(infisical.RetrieveSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod",
		SecretPath: "/MooseQuest/github", Version: 9})
	if status, _ := infStatus(t, err); status != 404 {
		t.Errorf("version 9: status %d, want 404", status)
	}

	// Create, create again, delete, delete again.
	pending := infisical.CreateSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod",
		SecretPath: "/rotabot/pending/", SecretValue: infTestToken2}
	cr, err := s.Create(pending)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Version != 1 || cr.SecretPath != "/rotabot/pending" {
		t.Errorf("create: version %d path %s", cr.Version, cr.SecretPath)
	}
	if _, err := s.Create(pending); err == nil {
		t.Error("creating an existing secret succeeded")
	} else if status, _ := infStatus(t, err); status != 400 {
		t.Errorf("create existing: status %d, want 400", status)
	}
	del := infisical.DeleteSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod", SecretPath: "/rotabot/pending"}
	if _, err := s.Delete(del); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := inf.Value("prod", "/rotabot/pending/", "GH_TOKEN"); ok {
		t.Error("the deleted secret is still there")
	}
	if _, err := s.Delete(del); err == nil {
		t.Error("deleting a missing secret succeeded")
	} else if status, _ := infStatus(t, err); status != 404 {
		t.Errorf("delete missing: status %d, want 404", status)
	}
	if got := inf.Versions("prod", "MooseQuest/github", "GH_TOKEN"); len(got) != 2 || got[0] != infTestToken || got[1] != infTestToken2 {
		t.Errorf("Versions holds %d values, or not in order", len(got))
	}

	// What went over the wire is what the SDK sends.
	for _, r := range inf.Requests() {
		if r.Route == InfisicalGetSecret && !strings.Contains(r.Query, "workspaceId="+infTestProject) {
			t.Errorf("GET query %q lacks workspaceId", r.Query)
		}
		if r.Route == InfisicalDeleteSecret && !bytes.Contains(r.Body, []byte(`"workspaceId":"`+infTestProject+`"`)) {
			t.Errorf("DELETE body %s lacks workspaceId", r.Body)
		}
	}
}

func TestInfisicalRefusals(t *testing.T) {
	inf := newTestInfisical(t)
	inf.Set("prod", "/MooseQuest/github", "GH_TOKEN", infTestToken)
	inf.Set("prod", "/locked", "OTHER", infTestToken)
	inf.Deny("prod", "/locked")
	s := infClient(t, inf, true).Secrets()
	get := func(project, env, p, key string) error {
		_, err := s.Retrieve(infisical.RetrieveSecretOptions{SecretKey: key, ProjectID: project, Environment: env, SecretPath: p})
		return err
	}
	cases := []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"missing secret", get(infTestProject, "prod", "/MooseQuest/github", "NOPE"), 404, "Secret with name 'NOPE' not found"},
		{"wrong project", get("proj-other", "prod", "/MooseQuest/github", "GH_TOKEN"), 404,
			"Project with ID 'proj-other' not found during bot lookup. Are you sure you are using the correct project ID?"},
		// The folder lookup takes environment and path together: an unknown
		// environment reads as a missing folder.
		{"unknown environment", get(infTestProject, "qa", "/", "GH_TOKEN"), 404, "Folder with path '/' in environment with slug 'qa' not found"},
		{"missing folder", get(infTestProject, "prod", "/nowhere", "GH_TOKEN"), 404, "Folder with path '/nowhere' in environment with slug 'prod' not found"},
		{"denied folder", get(infTestProject, "prod", "/locked/", "OTHER"), 403, "You are not allowed to readValue on secrets"},
		{"no token", func() error {
			_, err := infClient(t, inf, false).Secrets().Retrieve(infisical.RetrieveSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod"})
			return err
		}(), 401, "Token missing"},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if status, msg := infStatus(t, c.err); status != c.status || msg != c.msg {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, msg, c.status, c.msg)
		}
		if strings.Contains(c.err.Error(), infTestToken) {
			t.Errorf("%s: the error holds the secret value", c.name)
		}
	}

	_, err := s.Create(infisical.CreateSecretOptions{SecretKey: "X", ProjectID: infTestProject, Environment: "prod", SecretPath: "/rotabot/pending", SecretValue: "v"})
	if status, msg := infStatus(t, err); status != 404 || !strings.HasPrefix(msg, "Folder with path '/rotabot/pending'") {
		t.Errorf("create in a missing folder: %d %q, want 404 folder not found", status, msg)
	}

	// The "error" field names the operation for a missing folder, the case for a
	// membership or token problem (read raw: the SDK keeps only the message).
	raw := func(q string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, inf.URL+"/api/v3/secrets/raw/GH_TOKEN?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+infLogin(t, inf))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if st, b := raw("workspaceId=" + infTestProject + "&environment=prd&secretPath=/"); st != 404 || b["error"] != "GetSecretByName" {
		t.Errorf("unknown environment, raw: %d %v", st, b)
	}
	inf.SetMember(false)
	st, b := raw("workspaceId=" + infTestProject + "&environment=prod&secretPath=/MooseQuest/github")
	if st != 403 || b["error"] != "ProjectMembershipNotFound" ||
		b["message"] != "You are not a member of this project with ID proj-rotabot. Please assign this identity to the project with the appropriate permissions, then try again." {
		t.Errorf("not a member: %d %v", st, b)
	}
	inf.SetMember(true)

	inf.ExpireTokens()
	if status, msg := infStatus(t, get(infTestProject, "prod", "/MooseQuest/github", "GH_TOKEN")); status != 403 || msg != "Your token has expired. Please re-authenticate." {
		t.Errorf("expired token: %d %q, want 403 Your token has expired", status, msg)
	}
	s = infClient(t, inf, true).Secrets()
	inf.RevokeTokens()
	if status, msg := infStatus(t, get(infTestProject, "prod", "/MooseQuest/github", "GH_TOKEN")); status != 401 || msg != "No identity access token found" {
		t.Errorf("revoked token: %d %q, want 401 No identity access token found", status, msg)
	}
}

// infLogin logs in with plain HTTP and returns the access token.
func infLogin(t *testing.T, inf *Infisical) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"clientId": infTestID, "clientSecret": infTestSecret})
	resp, err := http.Post(inf.URL+"/api/v1/auth/universal-auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cred struct {
		AccessToken string `json:"accessToken"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&cred)
	return cred.AccessToken
}

func TestInfisicalFaultsAndContentType(t *testing.T) {
	inf := newTestInfisical(t)
	inf.Set("prod", "/", "GH_TOKEN", infTestToken)
	s := infClient(t, inf, true).Secrets()

	inf.Fail(InfisicalGetSecret, &standin.Fault{Status: 429, RetryAfter: "7", Times: 1})
	_, err := s.Retrieve(infisical.RetrieveSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod"})
	if status, msg := infStatus(t, err); status != 429 || msg != "Rate limit exceeded. Please try again in 7 seconds" {
		t.Errorf("429 fault: %d %q", status, msg)
	}
	got, err := s.Retrieve(infisical.RetrieveSecretOptions{SecretKey: "GH_TOKEN", ProjectID: infTestProject, Environment: "prod"})
	if err != nil || got.SecretValue != infTestToken {
		t.Errorf("after the fault: err %v, value matches %v", err, got.SecretValue == infTestToken)
	}

	// Every reply is JSON, errors and unknown routes included.
	for _, u := range []string{"/api/v3/secrets/raw/GH_TOKEN?workspaceId=proj-rotabot&environment=prod", "/api/v9/nothing"} {
		resp, err := http.Get(inf.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Message    string `json:"message"`
			ReqID      string `json:"reqId"`
			StatusCode int    `json:"statusCode"`
			Error      string `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Message == "" || e.ReqID == "" || e.StatusCode != resp.StatusCode || e.Error == "" {
			t.Errorf("GET %s: error body %s", u, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s: Content-Type %q", u, ct)
		}
	}
}
