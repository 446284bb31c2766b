package config

import (
	"slices"
	"strings"
	"testing"
)

// The GitHub kinds beyond repository Actions secrets: their forms, GitHub's name
// rules, and a misspelt key, each at its line.
func TestScopedGitHubConsumers(t *testing.T) {
	doc := secretDocNamed("GITHUB_API_READONLY_TOKEN", "    kind: classic\n    scopes: [repo]\n    consumers:\n"+
		"      github_environment_secrets: [raxx-app/TradeMasterAPI/production:GH_API_READONLY_TOKEN, 'raxx-app/TradeMasterAPI/staging eu/a:GH_X']\n"+ // 11
		"      github_org_secrets: [raxx-app:GH_API_READONLY_TOKEN]\n"+ // 12
		"      dependabot_secrets: [raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN, raxx-app:GH_API_READONLY_TOKEN]\n") // 13
	m, probs := Parse("t.yaml", []byte(doc))
	if len(probs) > 0 {
		t.Fatalf("a good matrix has problems: %v", probs)
	}
	cs := m.Secrets["GITHUB_API_READONLY_TOKEN"].Consumers
	if !slices.Equal(cs.GitHubEnvSecrets, []string{"raxx-app/TradeMasterAPI/production:GH_API_READONLY_TOKEN", "raxx-app/TradeMasterAPI/staging eu/a:GH_X"}) ||
		!slices.Equal(cs.GitHubOrgSecrets, []string{"raxx-app:GH_API_READONLY_TOKEN"}) || len(cs.DependabotSecrets) != 2 {
		t.Errorf("consumers read as %+v", cs)
	}
	if s := Summary(m); !strings.Contains(s, "5 GitHub secrets") {
		t.Errorf("Summary = %q, want the five GitHub secrets counted", s)
	}

	bad := secretDocNamed("GITHUB_API_READONLY_TOKEN", "    kind: classic\n    scopes: [repo]\n    consumers:\n"+
		"      github_enviroment_secrets: [raxx-app/TradeMasterAPI/production]\n"+ // 11
		"      github_environment_secrets: [raxx-app/TradeMasterAPI, raxx-app/TradeMasterAPI/prod:1X, 'raxx-app/TradeMasterAPI/ prod :GH_A', raxx-app/TradeMasterAPI/PROD:GH_A, raxx-app/TradeMasterAPI/prod:gh_a]\n"+ // 12
		"      github_org_secrets: [raxx-app/TradeMasterAPI:GH_A, 'raxx app:GH_A', raxx-app:GITHUB_X]\n"+ // 13
		"      dependabot_secrets: [raxx-app, 'raxx-app/Trade Master:GH_A']\n") // 14
	_, probs = Parse("t.yaml", []byte(bad))
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	want := []string{
		`t.yaml:11: GITHUB_API_READONLY_TOKEN: unknown consumer kind "github_enviroment_secrets" — did you mean github_environment_secrets? (rotabot sets heroku_apps, github_secrets, github_environment_secrets, github_org_secrets, dependabot_secrets and shell_rc_operators)`,
		`t.yaml:12: GITHUB_API_READONLY_TOKEN: github_environment_secrets "raxx-app/TradeMasterAPI" names no environment — write owner/repo/ENVIRONMENT, e.g. raxx-app/TradeMasterAPI/production`,
		`t.yaml:12: GITHUB_API_READONLY_TOKEN: github_environment_secrets "raxx-app/TradeMasterAPI" would store the secret as GITHUB_API_READONLY_TOKEN, but GitHub refuses secret names that start with GITHUB_ — name it after a colon, e.g. raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN`,
		`t.yaml:12: GITHUB_API_READONLY_TOKEN: github_environment_secrets "raxx-app/TradeMasterAPI/prod:1X": "1X" is not a secret name — use letters, digits and underscores, not starting with a digit`,
		`t.yaml:12: GITHUB_API_READONLY_TOKEN: github_environment_secrets "raxx-app/TradeMasterAPI/ prod :GH_A": the environment " prod " starts or ends with a space — write its name as GitHub shows it, e.g. raxx-app/TradeMasterAPI/prod`,
		`t.yaml:12: GITHUB_API_READONLY_TOKEN: github_environment_secrets "raxx-app/TradeMasterAPI/prod:gh_a" sets the same secret as "raxx-app/TradeMasterAPI/PROD:GH_A" — remove one`,
		`t.yaml:13: GITHUB_API_READONLY_TOKEN: github_org_secrets "raxx-app/TradeMasterAPI:GH_A" names a repository — an organisation secret is set on the organisation alone; for one repository's Actions secret use github_secrets`,
		`t.yaml:13: GITHUB_API_READONLY_TOKEN: github_org_secrets "raxx app:GH_A": "raxx app" is not a GitHub organisation — write the organisation's login, e.g. raxx-app`,
		`t.yaml:13: GITHUB_API_READONLY_TOKEN: github_org_secrets "raxx-app:GITHUB_X" names the secret GITHUB_X, but GitHub refuses secret names that start with GITHUB_ — use e.g. raxx-app:GH_X`,
		`t.yaml:14: GITHUB_API_READONLY_TOKEN: dependabot_secrets "raxx-app" would store the secret as GITHUB_API_READONLY_TOKEN, but GitHub refuses secret names that start with GITHUB_ — name it after a colon, e.g. raxx-app:GH_API_READONLY_TOKEN`,
		`t.yaml:14: GITHUB_API_READONLY_TOKEN: dependabot_secrets "raxx-app/Trade Master:GH_A": repository "raxx-app/Trade Master" is not owner/repo — name the repository whose Dependabot secret is set with its owner, e.g. raxx-app/TradeMasterAPI`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckScopedConsumerEntry(t *testing.T) {
	for _, c := range []struct{ kind, entry, secret, want string }{
		{"github_environment_secrets", "raxx-app/TradeMasterAPI/production", "TOKEN", ""},
		{"github_environment_secrets", "raxx-app/TradeMasterAPI/staging/eu west:GH_A", "TOKEN", ""},
		{"github_org_secrets", "raxx-app", "TOKEN", ""},
		{"dependabot_secrets", "raxx-app/TradeMasterAPI:GH_A", "", ""},
		{"dependabot_secrets", "raxx-app:", "TOKEN",
			`dependabot_secrets "raxx-app:" has nothing after the colon — write the secret's name after it, e.g. raxx-app:GH_API_READONLY_TOKEN, or remove the colon to use the secret's own name`},
	} {
		if got := CheckConsumerEntry(c.kind, c.entry, c.secret); got != c.want {
			t.Errorf("CheckConsumerEntry(%q, %q, %q)\n got %q\nwant %q", c.kind, c.entry, c.secret, got, c.want)
		}
	}
}
