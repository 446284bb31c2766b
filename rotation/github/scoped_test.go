package github_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// Every kind beyond the repository Actions secret, through go-github against the
// stand-in: sealed with its own scope's key, verified by updated_at, dated for
// drift; an organisation secret keeps its visibility and repositories.
func TestScopedSecretsSetVerifyDate(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	env := "prod eu/blue" // a space and a slash
	f.gh.AddEnvironment(repo, env)
	f.gh.SetGHSecret(sbgithub.GHOrg, "raxx-app", "GH_TOKEN", "old", "selected", repo, "raxx-app/Hidden")
	f.gh.SetGHSecret(sbgithub.GHDependabotOrg, "raxx-app", "GH_TOKEN", "old", "private")
	_, _, _, selBefore, _ := f.gh.GHSecret(sbgithub.GHOrg, "raxx-app", "GH_TOKEN")

	later := fixtureNow.Add(time.Hour)
	f.gh.SetNow(func() time.Time { return later })
	for _, c := range []struct {
		kind          rotation.DestKind
		scope         sbgithub.GHScope
		target, stand string
	}{
		{rotation.DestGitHubEnvSecret, sbgithub.GHEnvironment, repo + "/" + env, repo + "/" + env},
		{rotation.DestGitHubOrgSecret, sbgithub.GHOrg, "raxx-app", "raxx-app"},
		{rotation.DestDependabotSecret, sbgithub.GHDependabot, repo, repo},
		{rotation.DestDependabotSecret, sbgithub.GHDependabotOrg, "raxx-app", "raxx-app"},
	} {
		t.Run(string(c.scope), func(t *testing.T) {
			cons := consumerOf(f, c.kind)
			if err := cons.Set(ctx, c.target, "GH_TOKEN", secret(fineTok)); err != nil {
				t.Fatalf("Set: %v", err)
			}
			v, at, _, _, ok := f.gh.GHSecret(c.scope, c.stand, "GH_TOKEN")
			if !ok || v != fineTok || !at.Equal(later) {
				t.Fatalf("the stand-in opened %v at %v, want the token at %v", ok, at, later)
			}
			if err := cons.Verify(ctx, c.target, "GH_TOKEN", secret(fineTok), later); err != nil {
				t.Errorf("Verify: %v", err)
			}
			err := cons.Verify(ctx, c.target, "GH_TOKEN", secret(fineTok), later.Add(2*time.Second))
			if rotation.ErrorCode(err) != rotation.EUNAVAILABLE || !strings.Contains(rotation.ErrorMessage(err), "before this rotation's write") {
				t.Errorf("Verify of a write after GitHub's date: %v", err)
			}
			noLeak(t, rotation.ErrorMessage(err))
			if d, err := cons.UpdatedAt(ctx, c.target, "GH_TOKEN"); err != nil || !d.Equal(later) {
				t.Errorf("UpdatedAt = %v, %v", d, err)
			}
		})
	}
	if _, _, vis, sel, _ := f.gh.GHSecret(sbgithub.GHOrg, "raxx-app", "GH_TOKEN"); vis != "selected" || len(sel) != 2 || sel[0] != selBefore[0] || sel[1] != selBefore[1] {
		t.Errorf("the organisation secret's visibility changed: %s %v (was selected %v)", vis, sel, selBefore)
	}
	if _, _, vis, _, _ := f.gh.GHSecret(sbgithub.GHDependabotOrg, "raxx-app", "GH_TOKEN"); vis != "private" {
		t.Errorf("the Dependabot organisation secret's visibility is now %s, was private", vis)
	}
}

// An organisation secret that does not exist is refused with how to create it;
// a missing permission is named; an unknown environment is a 404 that says so.
func TestScopedSecretsRefusals(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	err := f.client.OrgSecrets().Set(ctx, "raxx-app", "GH_NEW", secret(fineTok))
	wantErr(t, err, rotation.EINVALID, "The GitHub organisation secret raxx-app · GH_NEW does not exist yet: rotabot never creates an organisation secret, since that means choosing which repositories may read it. "+
		"Create it once with gh secret set GH_NEW --org raxx-app --visibility private (or --repos owner/repo,…), then retry this destination")
	if _, _, _, _, ok := f.gh.GHSecret(sbgithub.GHOrg, "raxx-app", "GH_NEW"); ok {
		t.Error("a refused organisation secret was created")
	}
	f.gh.DenyAdmin(sbgithub.GHPermEnvironments)
	f.gh.AddEnvironment(repo, "production")
	err = f.client.EnvSecrets().CheckKey(ctx, repo+"/production", "GH_TOKEN")
	wantErr(t, err, rotation.EFORBIDDEN, "GitHub refused GITHUB_TOKEN for GitHub environment secret "+repo+" · production · GH_TOKEN (403 Resource not accessible by personal access token): give the token the repository permission Environments: Read and write on "+repo+" (classic token: repo)")
	err = f.client.DependabotSecrets().CheckKey(ctx, repo, "GH_TOKEN")
	if err != nil {
		t.Errorf("Dependabot key with its permission: %v", err)
	}
	err = f.client.EnvSecrets().Set(ctx, repo+"/staging", "GH_TOKEN", secret(fineTok))
	if rotation.ErrorCode(err) != rotation.ENOTFOUND {
		t.Errorf("an unknown environment: %v", err)
	}
}

func consumerOf(f fixture, k rotation.DestKind) interface {
	rotation.Consumer
	UpdatedAt(context.Context, string, string) (time.Time, error)
} {
	switch k {
	case rotation.DestGitHubEnvSecret:
		return f.client.EnvSecrets()
	case rotation.DestGitHubOrgSecret:
		return f.client.OrgSecrets()
	}
	return f.client.DependabotSecrets()
}
