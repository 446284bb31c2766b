package github_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	gh "github.com/google/go-github/v62/github"
	"golang.org/x/crypto/nacl/box"

	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// ghSeal seals value with a public key as GitHub asks.
func ghSeal(t *testing.T, pk *gh.PublicKey, value string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(pk.GetKey())
	if err != nil || len(raw) != 32 {
		t.Fatalf("public key %q is not 32 bytes of base64", pk.GetKey())
	}
	var key [32]byte
	copy(key[:], raw)
	sealed, err := box.SealAnonymous(nil, []byte(value), &key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sealed)
}

// An environment whose name has a space and a slash, through go-github's
// /repositories/{id}/… (the name escaped by the caller) and GitHub's documented
// /repos/{owner}/{repo}/…: one environment, one key, one secret.
func TestGitHubEnvironmentSecretBothPaths(t *testing.T) {
	ctx := context.Background()
	g := newGitHubStandIn(t)
	g.AddEnvironment("raxx-app/TradeMasterAPI", "prod eu/blue")
	c := ghClient(t, g, ghAdmin)
	repo, _, err := c.Repositories.Get(ctx, "raxx-app", "TradeMasterAPI")
	if err != nil {
		t.Fatal(err)
	}
	env := url.PathEscape("prod eu/blue")
	pk, _, err := c.Actions.GetEnvPublicKey(ctx, int(repo.GetID()), env)
	if err != nil {
		t.Fatalf("GetEnvPublicKey: %v", err)
	}
	resp, err := c.Actions.CreateOrUpdateEnvSecret(ctx, int(repo.GetID()), env,
		&gh.EncryptedSecret{Name: "GH_TOKEN", KeyID: pk.GetKeyID(), EncryptedValue: ghSeal(t, pk, "v1")})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v %v", resp, err)
	}
	if v, at, _, _, ok := g.GHSecret(sbgithub.GHEnvironment, "raxx-app/TradeMasterAPI/prod eu/blue", "GH_TOKEN"); !ok || v != "v1" || !at.Equal(ghNow.Truncate(1e9)) {
		t.Fatalf("stand-in holds %q at %v (%v)", v, at, ok)
	}
	// The documented path reaches the same environment.
	req, _ := c.NewRequest("GET", "repos/raxx-app/TradeMasterAPI/environments/"+env+"/secrets/GH_TOKEN", nil)
	var s gh.Secret
	if _, err := c.Do(ctx, req, &s); err != nil || s.Name != "GH_TOKEN" || s.UpdatedAt.IsZero() {
		t.Fatalf("GET on /repos/…/environments: %+v %v", s, err)
	}
	// The same key on both paths.
	req, _ = c.NewRequest("GET", "repos/raxx-app/TradeMasterAPI/environments/"+env+"/secrets/public-key", nil)
	var pk2 gh.PublicKey
	if _, err := c.Do(ctx, req, &pk2); err != nil || pk2.GetKeyID() != pk.GetKeyID() {
		t.Fatalf("documented path's key %v %v", pk2.GetKeyID(), err)
	}
	// Unescaped, the slash splits the path: GitHub has no such route.
	if _, _, err := c.Actions.GetEnvPublicKey(ctx, int(repo.GetID()), "prod eu/blue"); ghStatus(err) != http.StatusNotFound {
		t.Errorf("unescaped environment answered %v, want 404", err)
	}
	if _, _, err := c.Actions.GetEnvPublicKey(ctx, int(repo.GetID()), "staging"); ghStatus(err) != http.StatusNotFound {
		t.Errorf("unknown environment answered %v, want 404", err)
	}
	// An environment key is its own, not the repository's.
	rk, _, _ := c.Actions.GetRepoPublicKey(ctx, "raxx-app", "TradeMasterAPI")
	if rk.GetKeyID() == pk.GetKeyID() {
		t.Error("the environment shares the repository's key")
	}
	if _, err := c.Actions.CreateOrUpdateEnvSecret(ctx, int(repo.GetID()), env,
		&gh.EncryptedSecret{Name: "GH_TOKEN", KeyID: rk.GetKeyID(), EncryptedValue: ghSeal(t, rk, "v2")}); ghStatus(err) != http.StatusUnprocessableEntity {
		t.Errorf("a value sealed with the repository's key answered %v, want 422", err)
	}
}

// Organisation secrets need their visibility on PUT and keep the selected
// repositories; Dependabot's take the ids as strings.
func TestGitHubOrgSecretsVisibility(t *testing.T) {
	ctx := context.Background()
	g := newGitHubStandIn(t)
	g.SetGHSecret(sbgithub.GHOrg, "raxx-app", "GH_TOKEN", "v0", "selected", "raxx-app/TradeMasterAPI")
	c := ghClient(t, g, ghAdmin)
	s, _, err := c.Actions.GetOrgSecret(ctx, "raxx-app", "GH_TOKEN")
	if err != nil || s.Visibility != "selected" || s.SelectedRepositoriesURL == "" {
		t.Fatalf("GetOrgSecret: %+v %v", s, err)
	}
	pk, _, err := c.Actions.GetOrgPublicKey(ctx, "raxx-app")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Actions.CreateOrUpdateOrgSecret(ctx, "raxx-app", &gh.EncryptedSecret{Name: "GH_TOKEN", KeyID: pk.GetKeyID(), EncryptedValue: ghSeal(t, pk, "v1")})
	if ghStatus(err) != http.StatusUnprocessableEntity {
		t.Errorf("a PUT without visibility answered %v, want 422", err)
	}
	if _, err := c.Actions.CreateOrUpdateOrgSecret(ctx, "raxx-app", &gh.EncryptedSecret{Name: "GH_TOKEN", KeyID: pk.GetKeyID(),
		EncryptedValue: ghSeal(t, pk, "v1"), Visibility: "selected"}); err != nil {
		t.Fatal(err)
	}
	v, _, vis, sel, _ := g.GHSecret(sbgithub.GHOrg, "raxx-app", "GH_TOKEN")
	if v != "v1" || vis != "selected" || len(sel) != 1 {
		t.Errorf("after the PUT: %q %s %v", v, vis, sel)
	}
	repos, _, err := c.Actions.ListSelectedReposForOrgSecret(ctx, "raxx-app", "GH_TOKEN", nil)
	if err != nil || len(repos.Repositories) != 1 || repos.Repositories[0].GetFullName() != "raxx-app/TradeMasterAPI" {
		t.Errorf("selected repositories: %+v %v", repos, err)
	}

	dk, _, err := c.Dependabot.GetOrgPublicKey(ctx, "raxx-app")
	if err != nil || dk.GetKeyID() == pk.GetKeyID() {
		t.Fatalf("Dependabot's organisation key: %v (Actions' %s) %v", dk.GetKeyID(), pk.GetKeyID(), err)
	}
	if _, err := c.Dependabot.CreateOrUpdateOrgSecret(ctx, "raxx-app", &gh.DependabotEncryptedSecret{Name: "GH_TOKEN", KeyID: dk.GetKeyID(),
		EncryptedValue: ghSeal(t, dk, "d1"), Visibility: "selected", SelectedRepositoryIDs: gh.DependabotSecretsSelectedRepoIDs{sel[0]}}); err != nil {
		t.Fatalf("Dependabot org PUT: %v", err)
	}
	if v, _, vis, ids, _ := g.GHSecret(sbgithub.GHDependabotOrg, "raxx-app", "GH_TOKEN"); v != "d1" || vis != "selected" || len(ids) != 1 || ids[0] != sel[0] {
		t.Errorf("Dependabot org secret %q %s %v", v, vis, ids)
	}
	if _, err := c.Dependabot.CreateOrUpdateOrgSecret(ctx, "raxx-app", &gh.DependabotEncryptedSecret{Name: "GITHUB_X", KeyID: dk.GetKeyID(),
		EncryptedValue: ghSeal(t, dk, "d1"), Visibility: "all"}); ghStatus(err) != http.StatusUnprocessableEntity {
		t.Errorf("a GITHUB_ name answered %v, want 422", err)
	}
}

// A permission the token lacks is 403 naming it; a token that cannot see the
// repository gets 404.
func TestGitHubScopePermissions(t *testing.T) {
	ctx := context.Background()
	g := newGitHubStandIn(t)
	g.DenyAdmin(sbgithub.GHPermDependabotSecrets)
	c := ghClient(t, g, ghAdmin)
	_, resp, err := c.Dependabot.GetRepoPublicKey(ctx, "raxx-app", "TradeMasterAPI")
	if ghStatus(err) != http.StatusForbidden || resp.Header.Get("X-Accepted-GitHub-Permissions") != "dependabot_secrets=read" {
		t.Errorf("denied Dependabot key: %v, header %q", err, resp.Header.Get("X-Accepted-GitHub-Permissions"))
	}
	if _, _, err := c.Actions.GetOrgPublicKey(ctx, "raxx-app"); err != nil {
		t.Errorf("the organisation key with the permission: %v", err)
	}
	if _, _, err := ghClient(t, g, ghOther).Dependabot.GetRepoPublicKey(ctx, "raxx-app", "TradeMasterAPI"); ghStatus(err) != http.StatusNotFound {
		t.Errorf("a token that cannot see the repository: %v, want 404", err)
	}
	if _, _, err := c.Actions.GetOrgPublicKey(ctx, "nobody-org"); ghStatus(err) != http.StatusNotFound {
		t.Errorf("an unknown organisation: %v, want 404", err)
	}
}
