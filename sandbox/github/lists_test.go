package github_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gh "github.com/google/go-github/v62/github"

	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// ghAll follows go-github's NextPage (read from the Link header) from page 1
// and returns how many pages there were.
func ghAll(t *testing.T, what string, page func(p int) (*gh.Response, error)) int {
	t.Helper()
	for p, n := 1, 1; ; n++ {
		resp, err := page(p)
		if err != nil {
			t.Fatalf("%s, page %d: %v", what, p, err)
		}
		if resp.NextPage == 0 {
			if p > 1 && resp.PrevPage != p-1 || p > 1 && resp.FirstPage != 1 {
				t.Errorf("%s, last page %d: Link prev %d first %d", what, p, resp.PrevPage, resp.FirstPage)
			}
			return n
		}
		if resp.LastPage == 0 || n > 10 {
			t.Fatalf("%s, page %d: next %d without a last page (%d) or no end", what, p, resp.NextPage, resp.LastPage)
		}
		p = resp.NextPage
	}
}

// Every list rotabot's scan reads is paged as GitHub pages it (per_page, page,
// a Link header go-github follows) and has GitHub's shape: an organisation's
// repositories, a repository's environments, and the secrets of each scope —
// names and dates only — with an environment named with a space and a slash
// reached by id, escaped. An organisation GitHub does not know is 404; a token
// without the Actions permission cannot list environments (403 naming it).
func TestGitHubListsArePaged(t *testing.T) {
	ctx := context.Background()
	g := newGitHubStandIn(t)
	for _, r := range []string{"raxx-app/a", "raxx-app/b", "raxx-app/c", "other-org/x"} {
		g.AddRepo(r)
	}
	for _, env := range []string{"production", "prod east", "team/prod"} {
		g.AddEnvironment("raxx-app/TradeMasterAPI", env)
	}
	for _, n := range []string{"A_TOKEN", "B_TOKEN", "C_TOKEN"} {
		g.SetGHSecret(sbgithub.GHActions, "raxx-app/a", n, "v", "")
		g.SetGHSecret(sbgithub.GHEnvironment, "raxx-app/TradeMasterAPI/team/prod", n, "v", "")
		g.SetGHSecret(sbgithub.GHOrg, "raxx-app", n, "v", "selected", "raxx-app/a", "raxx-app/b", "raxx-app/c")
		g.SetGHSecret(sbgithub.GHDependabot, "raxx-app/a", n, "v", "")
		g.SetGHSecret(sbgithub.GHDependabotOrg, "raxx-app", n, "v", "all")
	}
	c := ghClient(t, g, ghAdmin)
	lo := func(p int) gh.ListOptions { return gh.ListOptions{Page: p, PerPage: 2} }

	var repos []string
	if n := ghAll(t, "ListByOrg", func(p int) (*gh.Response, error) {
		rs, resp, err := c.Repositories.ListByOrg(ctx, "raxx-app", &gh.RepositoryListByOrgOptions{ListOptions: lo(p)})
		for _, r := range rs {
			repos = append(repos, r.GetFullName())
		}
		return resp, err
	}); n != 3 {
		t.Errorf("ListByOrg: %d pages of 2, want 3", n)
	}
	if got := strings.Join(repos, ","); got != "raxx-app/Console,raxx-app/Hidden,raxx-app/TradeMasterAPI,raxx-app/a,raxx-app/b,raxx-app/c" {
		t.Errorf("raxx-app's repositories: %s", got)
	}
	if _, _, err := c.Repositories.ListByOrg(ctx, "nobody-org", nil); ghStatus(err) != http.StatusNotFound {
		t.Errorf("an unknown organisation's repositories: %v, want 404", err)
	}
	fine, _, err := ghClient(t, g, ghFine).Repositories.ListByOrg(ctx, "raxx-app", nil)
	if err != nil || len(fine) != 2 || fine[0].GetFullName() != "raxx-app/Console" || fine[1].GetFullName() != "raxx-app/TradeMasterAPI" {
		t.Errorf("a fine-grained token lists the repositories it was given only: %v %v", fine, err)
	}

	var envs []string
	ghAll(t, "ListEnvironments", func(p int) (*gh.Response, error) {
		er, resp, err := c.Repositories.ListEnvironments(ctx, "raxx-app", "TradeMasterAPI", &gh.EnvironmentListOptions{ListOptions: lo(p)})
		if er != nil {
			for _, e := range er.Environments {
				envs = append(envs, e.GetName())
			}
			if er.GetTotalCount() != 3 {
				t.Errorf("environments' total_count %d", er.GetTotalCount())
			}
		}
		return resp, err
	})
	if got := strings.Join(envs, ","); got != "prod east,production,team/prod" {
		t.Errorf("environments: %s", got)
	}

	repo, _, err := c.Repositories.Get(ctx, "raxx-app", "TradeMasterAPI")
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string]func(gh.ListOptions) (*gh.Secrets, *gh.Response, error){
		"ListRepoSecrets": func(o gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return c.Actions.ListRepoSecrets(ctx, "raxx-app", "a", &o)
		},
		"ListEnvSecrets": func(o gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return c.Actions.ListEnvSecrets(ctx, int(repo.GetID()), url.PathEscape("team/prod"), &o)
		},
		"ListOrgSecrets": func(o gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return c.Actions.ListOrgSecrets(ctx, "raxx-app", &o)
		},
		"Dependabot.ListRepoSecrets": func(o gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return c.Dependabot.ListRepoSecrets(ctx, "raxx-app", "a", &o)
		},
		"Dependabot.ListOrgSecrets": func(o gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return c.Dependabot.ListOrgSecrets(ctx, "raxx-app", &o)
		},
	}
	for name, list := range lists {
		var got []string
		pages := ghAll(t, name, func(p int) (*gh.Response, error) {
			s, resp, err := list(lo(p))
			if s != nil {
				if s.TotalCount != 3 {
					t.Errorf("%s: total_count %d", name, s.TotalCount)
				}
				for _, x := range s.Secrets {
					if x.UpdatedAt.IsZero() || x.CreatedAt.IsZero() {
						t.Errorf("%s: %s has no dates", name, x.Name)
					}
					if strings.HasPrefix(name, "ListOrg") && !strings.HasSuffix(x.SelectedRepositoriesURL, "/orgs/raxx-app/actions/secrets/"+x.Name+"/repositories") {
						t.Errorf("%s: %s's selected_repositories_url %q", name, x.Name, x.SelectedRepositoriesURL)
					}
					got = append(got, x.Name)
				}
			}
			return resp, err
		})
		if pages != 2 || strings.Join(got, ",") != "A_TOKEN,B_TOKEN,C_TOKEN" {
			t.Errorf("%s: %d pages, %v", name, pages, got)
		}
	}
	sel, resp, err := c.Actions.ListSelectedReposForOrgSecret(ctx, "raxx-app", "A_TOKEN", &gh.ListOptions{PerPage: 2})
	if err != nil || sel.GetTotalCount() != 3 || len(sel.Repositories) != 2 || resp.NextPage != 2 {
		t.Errorf("selected repositories, first page of 2: %+v next %d %v", sel, resp.NextPage, err)
	}

	g.DenyAdmin(sbgithub.GHPermActions)
	_, resp, err = c.Repositories.ListEnvironments(ctx, "raxx-app", "TradeMasterAPI", nil)
	if ghStatus(err) != http.StatusForbidden || resp.Header.Get("X-Accepted-GitHub-Permissions") != "actions=read" {
		t.Errorf("environments without Actions: %v, header %q", err, resp.Header.Get("X-Accepted-GitHub-Permissions"))
	}
	g.DenyAdmin(sbgithub.GHPermSecrets)
	_, resp, err = c.Actions.GetRepoPublicKey(ctx, "raxx-app", "a")
	if ghStatus(err) != http.StatusForbidden || resp.Header.Get("X-Accepted-GitHub-Permissions") != "secrets=read" {
		t.Errorf("a repository's key without Secrets: %v, header %q", err, resp.Header.Get("X-Accepted-GitHub-Permissions"))
	}
}

// The sandbox page's list: every secret of every scope, an organisation's with
// its visibility and selected repositories.
func TestGitHubSecretsSnapshot(t *testing.T) {
	g := newGitHubStandIn(t)
	g.AddEnvironment("raxx-app/TradeMasterAPI", "prod east")
	g.SetGHSecret(sbgithub.GHDependabotOrg, "raxx-app", "D", "v", "private")
	g.SetGHSecret(sbgithub.GHOrg, "raxx-app", "O", "v", "selected", "raxx-app/TradeMasterAPI")
	g.SetGHSecret(sbgithub.GHDependabot, "raxx-app/TradeMasterAPI", "R", "v", "")
	g.SetGHSecret(sbgithub.GHEnvironment, "raxx-app/TradeMasterAPI/prod east", "E", "v", "")
	g.SetGHSecret(sbgithub.GHActions, "raxx-app/TradeMasterAPI", "A", "v", "")
	var got []string
	for _, s := range g.GHSecrets() {
		got = append(got, string(s.Scope)+" "+s.Target+" "+s.Name+" "+s.Visibility+" "+strings.Join(s.Selected, ",")+" "+s.Updated.Format("15:04"))
	}
	at := ghNow.Format("15:04")
	want := []string{
		"actions raxx-app/TradeMasterAPI A   " + at,
		"environment raxx-app/TradeMasterAPI/prod east E   " + at,
		"org raxx-app O selected raxx-app/TradeMasterAPI " + at,
		"dependabot raxx-app/TradeMasterAPI R   " + at,
		"dependabot_org raxx-app D private  " + at,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("GHSecrets:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
