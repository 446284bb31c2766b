package github_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// The lister reads every list GitHub pages (more than a page of 100
// repositories), each scope's secrets by name and date, an environment named
// with a space or a slash by its escaped name, and a person's own
// repositories when the owner is no organisation.
func TestListerReadsEveryScope(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	for i := range 105 {
		f.gh.AddRepo(fmt.Sprintf("raxx-app/svc-%03d", i))
	}
	f.gh.AddEnvironment(repo, "prod east")
	f.gh.AddEnvironment(repo, "team/prod")
	f.gh.SetGHSecret(sbgithub.GHActions, "raxx-app/svc-042", "GH_TOKEN", "v", "")
	f.gh.SetGHSecret(sbgithub.GHEnvironment, repo+"/team/prod", "GH_TOKEN", "v", "")
	f.gh.SetGHSecret(sbgithub.GHOrg, "raxx-app", "GH_TOKEN", "v", "private")
	f.gh.SetGHSecret(sbgithub.GHDependabot, repo, "GH_TOKEN", "v", "")
	f.gh.SetGHSecret(sbgithub.GHDependabotOrg, "raxx-app", "GH_TOKEN", "v", "all")
	l := f.client.Lister()
	l.Every = 0

	repos, err := l.Repos(ctx, "raxx-app")
	if err != nil || len(repos) != 107 || !slices.Contains(repos, "raxx-app/svc-104") {
		t.Fatalf("Repos: %d, %v", len(repos), err)
	}
	ghWait(t, f.gh, "GET /orgs/{org}/repos", 2)
	envs, err := l.Environments(ctx, repo)
	if err != nil || strings.Join(envs, ",") != "prod east,team/prod" {
		t.Fatalf("Environments: %v %v", envs, err)
	}
	for _, c := range []struct {
		kind   rotation.DestKind
		target string
	}{
		{rotation.DestGitHubSecret, "raxx-app/svc-042"},
		{rotation.DestGitHubEnvSecret, repo + "/team/prod"},
		{rotation.DestGitHubOrgSecret, "raxx-app"},
		{rotation.DestDependabotSecret, repo},
		{rotation.DestDependabotSecret, "raxx-app"},
	} {
		got, err := l.Secrets(ctx, c.kind, c.target)
		if err != nil || len(got) != 1 || got[0].Name != "GH_TOKEN" || got[0].Kind != c.kind || got[0].Target != c.target || !got[0].Updated.Equal(fixtureNow) {
			t.Errorf("Secrets(%s, %s) = %+v, %v", c.kind, c.target, got, err)
		}
	}
	if got, err := l.Secrets(ctx, rotation.DestGitHubEnvSecret, repo+"/prod east"); err != nil || len(got) != 0 {
		t.Errorf("an environment without secrets: %+v %v", got, err)
	}
	// A person's own repositories: /orgs/{login}/repos is 404 for them.
	if got, err := l.Repos(ctx, "nobody-org"); err != nil || len(got) != 0 {
		t.Errorf("an owner that is no organisation: %v %v", got, err)
	}
}

func ghWait(t *testing.T, g *sbgithub.GitHub, route string, want int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); g.Count(route, true) < want && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.Count(route, true); n != want {
		t.Errorf("%s: %d requests, want %d", route, n, want)
	}
}

// The lister keeps one request per Every across its callers, and stops below
// Reserve of GitHub's hourly window, saying when to try again; a list the
// token may not read names the read permission it needs.
func TestListerPacedAndBounded(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	l := f.client.Lister()
	var mu sync.Mutex
	var waits []time.Duration
	clock := fixtureNow
	l.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	l.Sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return nil
	}
	l.Burst = 2
	for range 4 {
		if _, err := l.Secrets(ctx, rotation.DestGitHubSecret, repo); err != nil {
			t.Fatal(err)
		}
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v (two at once, then one per 100 ms)", waits, want)
	}
	// A second later the bucket is full again: two go at once.
	mu.Lock()
	clock, waits = clock.Add(time.Second), nil
	mu.Unlock()
	for range 2 {
		if _, err := l.Secrets(ctx, rotation.DestGitHubSecret, repo); err != nil {
			t.Fatal(err)
		}
	}
	if len(waits) != 0 {
		t.Errorf("waits %v after a second's rest, want none", waits)
	}
	// The stand-in's window has 5000 - 6 left: a reserve above it stops the next list.
	l.Reserve = 4995
	_, err := l.Secrets(ctx, rotation.DestGitHubSecret, repo)
	if !errors.Is(err, rotation.ErrRateBudget) || rotation.ErrorCode(err) != rotation.EUNAVAILABLE ||
		!strings.Contains(rotation.ErrorMessage(err), "GitHub's rate limit is nearly used up (4994 requests left this hour): rotabot stopped listing GitHub secrets to leave them for rotations — try again in 1h") {
		t.Errorf("past the reserve: %v", err)
	}
	l.Reserve = 0
	f.gh.DenyAdmin(sbgithub.GHPermDependabotSecrets)
	_, err = l.Secrets(ctx, rotation.DestDependabotSecret, repo)
	wantErr(t, err, rotation.EFORBIDDEN, "GitHub refused GITHUB_TOKEN listing the Dependabot secrets of "+repo+
		" (403 Resource not accessible by personal access token): give the token the repository permission Dependabot secrets: Read on "+repo+" (classic token: repo)")
}

// CheckAccess reads each scope's key once and names, for each it cannot
// reach, the permission to add (403) or what GitHub does not show (404).
func TestCheckAccessNamesEachScope(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	f.gh.AddEnvironment(repo, "production")
	f.gh.AddOrg("raxx-app")
	f.gh.DenyAdmin(sbgithub.GHPermOrgSecrets)
	f.gh.DenyAdmin(sbgithub.GHPermDependabotSecrets)
	f.gh.DenyAdmin(sbgithub.GHPermOrgDependabotSecrets)
	dests := []rotation.Destination{
		{Kind: rotation.DestGitHubSecret, Target: repo, Name: "GH_TOKEN"},
		{Kind: rotation.DestGitHubSecret, Target: repo, Name: "GH_OTHER"}, // the same scope: one read
		{Kind: rotation.DestGitHubEnvSecret, Target: repo + "/production", Name: "GH_TOKEN"},
		{Kind: rotation.DestGitHubEnvSecret, Target: repo + "/prod east", Name: "GH_TOKEN"},
		{Kind: rotation.DestGitHubEnvSecret, Target: "raxx-app/Gone/production", Name: "GH_TOKEN"},
		{Kind: rotation.DestGitHubOrgSecret, Target: "raxx-app", Name: "GH_TOKEN"},
		{Kind: rotation.DestDependabotSecret, Target: repo, Name: "GH_TOKEN"},
		{Kind: rotation.DestDependabotSecret, Target: "raxx-app", Name: "GH_TOKEN"},
		{Kind: rotation.DestGitHubOrgSecret, Target: "nobody-org", Name: "GH_TOKEN"},
		{Kind: rotation.DestHeroku, Target: "raxx-console-prod"},
	}
	got := f.client.CheckAccess(ctx, dests, 2)
	want := []string{
		`GitHub has no environment "prod east" in raxx-app/TradeMasterAPI (404 for the environment secrets of raxx-app/TradeMasterAPI · prod east): create it in the repository's Settings → Environments, or correct github_environment_secrets in the routing matrix`,
		"GitHub refused GITHUB_TOKEN the Dependabot secrets of raxx-app/TradeMasterAPI (403): give the token the repository permission Dependabot secrets: Read and write on raxx-app/TradeMasterAPI (classic token: repo)",
		"GitHub refused GITHUB_TOKEN the organisation Actions secrets of raxx-app (403): give the token the organisation permission Secrets: Read and write on raxx-app (classic token: admin:org)",
		"GitHub refused GITHUB_TOKEN the organisation Dependabot secrets of raxx-app (403): give the token the organisation permission Organization dependabot secrets: Read and write on raxx-app (classic token: admin:org)",
		"GitHub shows GITHUB_TOKEN no organisation nobody-org (404 for the organisation Actions secrets of nobody-org): check the name in github_org_secrets, and that the token's resource owner is nobody-org",
		"GitHub shows GITHUB_TOKEN no repository raxx-app/Gone (404 for the environment secrets of raxx-app/Gone · production): check the name in github_environment_secrets, and that the token's repository access includes it (a fine-grained token sees only the repositories it was given)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("CheckAccess:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := f.gh.Count("GET /repos/{owner}/{repo}/actions/secrets/public-key", true); n != 1 {
		t.Errorf("the repository's Actions key read %d times, want once", n)
	}
	for _, l := range got {
		noLeak(t, l)
	}
}
