package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

const exampleFile = "../rotabot.example.yaml"

// lineOfText is the 1-based line of the first line of file equal to want, so the
// test does not break when a comment is added to the example.
func lineOfText(t *testing.T, file, want string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if l == want {
			return i + 1
		}
	}
	t.Fatalf("%s has no line %q", file, want)
	return 0
}

func TestExampleLoadsClean(t *testing.T) {
	m, probs, err := load(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("problem: %s", p)
	}
	if m == nil {
		t.Fatal("no matrix")
	}
	want := &rotation.Matrix{
		OpsUsergroup: "S0OPS",
		Channel:      "C0OPS",
		AuditChannel: "C0AUDIT",
		Reminders:    rotation.Reminders{DaysBefore: []int{14, 7, 3, 1}},
		Vault:        rotation.VaultSettings{Environment: "prod", Path: "/MooseQuest/github/", PendingPath: "/rotabot/pending/"},
		Heroku:       rotation.HerokuSettings{ReleaseTimeout: 5 * time.Minute, RestartTimeout: 5 * time.Minute},
		Secrets: map[string]*rotation.SecretConfig{
			"GITHUB_API_READONLY_TOKEN": {
				Name:          "GITHUB_API_READONLY_TOKEN",
				Kind:          rotation.FineGrained,
				Owners:        []string{"U0OWNER"},
				ExpiresInDays: 90,
				ResourceOwner: "raxx-app",
				Repositories:  []string{"raxx-app/TradeMasterAPI"},
				Permissions:   map[string]string{"actions": "read", "metadata": "read", "contents": "read"},
				Probe:         "/repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1",
				Consumers: rotation.Consumers{
					HerokuApps:        []string{"raxx-console-prod", "raxx-console-staging"},
					GitHubSecrets:     []string{"raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN"},
					ShellRCOperators:  []string{"U0OPERATOR"},
					GitHubEnvSecrets:  []string{"raxx-app/TradeMasterAPI/production:GH_API_READONLY_TOKEN"},
					DependabotSecrets: []string{"raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN"},
				},
				Verify: []rotation.VerifyCheck{{
					Name:         "console build status",
					URL:          "https://console.raxx.app/api/status/builds",
					ExpectStatus: 200,
					HeadersEnv:   map[string]string{"Cookie": "CONSOLE_OPS_COOKIE"},
				}},
				LogWatch: defaultWatch(),
				Line:     lineOfText(t, exampleFile, "  GITHUB_API_READONLY_TOKEN:"),
			},
			"GITHUB_API_DISPATCH_TOKEN": {
				Name:          "GITHUB_API_DISPATCH_TOKEN",
				Kind:          rotation.Classic,
				Owners:        []string{"U0OWNER"},
				ExpiresInDays: 90,
				Scopes:        []string{"read:org", "repo:status", "workflow"},
				Probe:         "/user",
				MaxAge:        90 * 24 * time.Hour,
				AutoStartDays: 7,
				Consumers: rotation.Consumers{
					HerokuApps:       []string{"raxx-console-prod", "raxx-console-staging"},
					GitHubSecrets:    []string{"raxx-app/TradeMasterAPI:GH_API_DISPATCH_TOKEN"},
					ShellRCOperators: []string{"D0AJ7K184TV"},
				},
				LogWatch: defaultWatch(),
				Line:     lineOfText(t, exampleFile, "  GITHUB_API_DISPATCH_TOKEN:"),
			},
			"HEROKU_DEPLOY_KEY": {
				Name:      "HEROKU_DEPLOY_KEY",
				Kind:      rotation.HerokuAPIKey,
				Owners:    []string{"U0OWNER"},
				Probe:     "/apps/raxx-console-prod",
				Consumers: rotation.Consumers{GitHubSecrets: []string{"raxx-app/TradeMasterAPI:HEROKU_API_KEY"}},
				LogWatch:  watchOf(HerokuLogPatterns),
				Line:      lineOfText(t, exampleFile, "  HEROKU_DEPLOY_KEY:"),
			},
		},
	}
	for _, name := range want.Names() {
		if got := m.Secrets[name]; !reflect.DeepEqual(got, want.Secrets[name]) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want.Secrets[name])
		}
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("matrix:\n got %+v\nwant %+v", m, want)
	}
}

// defaultWatch is the log watch a secret gets without log_watch.
func defaultWatch() rotation.LogWatch { return watchOf(rotation.DefaultLogPatterns) }

// watchOf is the default window with patterns.
func watchOf(patterns []string) rotation.LogWatch {
	lw := rotation.LogWatch{Window: 60 * time.Second}
	for _, p := range patterns {
		lw.Patterns = append(lw.Patterns, regexp.MustCompile(p))
	}
	return lw
}

const minimal = `ops_usergroup: S0OPS
channel: C0OPS
vault:
  environment: prod
  path: /p/
secrets:
  TOKEN:
    kind: fine-grained
    repositories: [raxx-app/TradeMasterAPI]
    permissions: {contents: read}
    consumers:
      heroku_apps: [raxx-console-prod]
    verify:
      - {name: up, url: "http://127.0.0.1:8080/up"}
`

func TestDefaults(t *testing.T) {
	m, probs := Parse("t.yaml", []byte(minimal))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	sc := m.Secrets["TOKEN"]
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"days_before", m.Reminders.DaysBefore, []int{14, 7, 3, 1}},
		{"pending_path", m.Vault.PendingPath, "/rotabot/pending/"},
		{"audit_channel", m.AuditChannel, ""},
		{"expires_in_days", sc.ExpiresInDays, 90},
		{"expect_status", sc.Verify[0].ExpectStatus, 200},
		{"name", sc.Name, "TOKEN"},
		{"line", sc.Line, 7},
		{"release_timeout", m.Heroku.ReleaseTimeout, 5 * time.Minute},
		{"restart_timeout", m.Heroku.RestartTimeout, 5 * time.Minute},
		{"log_watch", sc.LogWatch, defaultWatch()},
	} {
		t.Run(c.what, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	m.Reminders.DaysBefore[0] = 99
	if rotation.DefaultDaysBefore[0] != 14 {
		t.Error("the matrix shares its days_before with rotation.DefaultDaysBefore")
	}
}

func TestReminderDaysSortedMostDistantFirst(t *testing.T) {
	m, probs := Parse("t.yaml", []byte(strings.Replace(minimal, "vault:", "reminders:\n  days_before: [1, 30, 7]\nvault:", 1)))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if got := m.Reminders.DaysBefore; !slices.Equal(got, []int{30, 7, 1}) {
		t.Errorf("days_before = %v", got)
	}
}

// brokenWant is every problem in testdata/broken.yaml, in order, as `rotabot check`
// prints it. Each kind of mistake the checker knows appears at least once.
var brokenWant = []string{
	`testdata/broken.yaml:3: ops_usergroup "ops-team" is not a Slack user group id — use the group's id (it starts with S), from the user group's page or ` + "`usergroups.list`",
	`testdata/broken.yaml:4: unknown key "chanel" at the top level — did you mean channel?`,
	`testdata/broken.yaml:5: audit_channel "#audit" is not a Slack channel id — use the channel's id (C… or G…), shown at the bottom of the channel's details, or remove audit_channel`,
	`testdata/broken.yaml:7: reminders.days_before: 0 is not a day before expiry — use numbers of 1 or more (expired tokens are reported daily anyway)`,
	`testdata/broken.yaml:7: reminders.days_before: 7 is listed twice — remove one`,
	`testdata/broken.yaml:8: vault.environment is missing — add the Infisical environment slug the secrets live in, e.g. environment: prod`,
	`testdata/broken.yaml:9: unknown key "env" in vault — remove it (known here: environment, path, pending_path)`,
	`testdata/broken.yaml:10: vault.path "MooseQuest/github" must be an Infisical folder that starts and ends with / — write /MooseQuest/github/`,
	`testdata/broken.yaml:14: GITHUB_API_READONLY_TOKEN: owner "alice" is not a Slack user id — use their member id (U… or W…), from their Slack profile → Copy member ID`,
	`testdata/broken.yaml:15: GITHUB_API_READONLY_TOKEN: expires_in_days 400 is out of range — use 1 to 366 days (366 is the most a fine-grained token allows; 90 is the SOP's choice)`,
	`testdata/broken.yaml:16: GITHUB_API_READONLY_TOKEN: repository "TradeMasterAPI" is not owner/repo — name the repository the token may reach with its owner, e.g. raxx-app/TradeMasterAPI`,
	`testdata/broken.yaml:16: GITHUB_API_READONLY_TOKEN: repository "https://github.com/raxx-app/raxx-console" is a URL — write just owner/repo: raxx-app/raxx-console`,
	`testdata/broken.yaml:17: GITHUB_API_READONLY_TOKEN: permission "contens" is not a fine-grained repository permission — did you mean contents?`,
	`testdata/broken.yaml:17: GITHUB_API_READONLY_TOKEN: metadata is always read-only — write metadata: read`,
	`testdata/broken.yaml:17: GITHUB_API_READONLY_TOKEN: permission issues: "admin" is not an access level — use write`,
	`testdata/broken.yaml:18: GITHUB_API_READONLY_TOKEN: probe "repos/raxx-app/TradeMasterAPI" must be a path on the GitHub API starting with / — write probe: /repos/raxx-app/TradeMasterAPI`,
	`testdata/broken.yaml:20: GITHUB_API_READONLY_TOKEN: heroku app "Raxx_Console" is not a Heroku app name — Heroku app names are 3 to 30 lower-case letters, digits and dashes, starting with a letter; did you mean raxx-console?`,
	`testdata/broken.yaml:21: GITHUB_API_READONLY_TOKEN: unknown consumer kind "github_secret" — did you mean github_secrets? (rotabot sets heroku_apps, github_secrets, github_environment_secrets, github_org_secrets, dependabot_secrets and shell_rc_operators)`,
	`testdata/broken.yaml:23: GITHUB_API_READONLY_TOKEN: a verify check has no name — add name: (what it checks, shown on the run card)`,
	`testdata/broken.yaml:23: GITHUB_API_READONLY_TOKEN: verify check: url "ftp://console.raxx.app/status" is not an http(s) URL — write the whole URL, starting with https://`,
	`testdata/broken.yaml:24: GITHUB_API_READONLY_TOKEN: verify check: expect_status 700 is not an HTTP status — use 100 to 599 (or leave it out for 200)`,
	`testdata/broken.yaml:25: GITHUB_API_READONLY_TOKEN: verify check: header Cookie must name an environment variable (like CONSOLE_OPS_COOKIE) — headers_env holds the variable's name, never the header's value`,
	`testdata/broken.yaml:28: GITHUB_API_DISPATCH_TOKEN: actions:read is not a classic scope — repo or workflow cover Actions`,
	`testdata/broken.yaml:28: GITHUB_API_DISPATCH_TOKEN: scope "worklfow" is not a classic scope — did you mean workflow?`,
	`testdata/broken.yaml:29: GITHUB_API_DISPATCH_TOKEN: consumers names no destination — list at least one of heroku_apps, github_secrets, shell_rc_operators`,
	`testdata/broken.yaml:30: secret GITHUB_API_READONLY_TOKEN is declared twice, on lines 12 and 30 — remove or rename one`,
	`testdata/broken.yaml:32: secret name "github-legacy-token" is not a variable name — use upper-case letters, digits and underscores, starting with a letter: GITHUB_LEGACY_TOKEN`,
	`testdata/broken.yaml:33: github-legacy-token: kind "fine_grained" is not a token kind — did you mean fine-grained?`,
	`testdata/broken.yaml:34: unknown key "scope" in github-legacy-token — did you mean scopes?`,
	`testdata/broken.yaml:36: github-legacy-token: github_secrets "TradeMasterAPI" is not owner/repo — name the repository whose Actions secret is set with its owner, e.g. raxx-app/TradeMasterAPI`,
	`testdata/broken.yaml:37: github-legacy-token: shell rc operator "alice" is not a Slack user id (U… or W…) or DM channel id (D…) — use their member id, from their Slack profile → Copy member ID`,
	`testdata/broken.yaml:38: CLASSIC_WITHOUT_SCOPES is classic but has no scopes — list the scopes it is made with, e.g. scopes: [read:org, repo:status, workflow]`,
	`testdata/broken.yaml:42: FINE_WITHOUT_GRANTS is fine-grained but has no repositories — list the repositories (owner/repo) the token may reach: least privilege`,
	`testdata/broken.yaml:42: FINE_WITHOUT_GRANTS is fine-grained but has no permissions — list them, e.g. permissions: {metadata: read, contents: read}`,
	`testdata/broken.yaml:46: NO_KIND_TOKEN has no kind — add kind: fine-grained (preferred) or kind: classic`,
	`testdata/broken.yaml:53: GITHUB_API_ACTIONS_TOKEN: heroku app "raxx-console-prod:GH-TOKEN": "GH-TOKEN" is not a config var name — use letters, digits and underscores, not starting with a digit, e.g. raxx-console-prod:GH_TOKEN`,
	`testdata/broken.yaml:54: GITHUB_API_ACTIONS_TOKEN: github_secrets raxx-app/TradeMasterAPI would store the secret as GITHUB_API_ACTIONS_TOKEN, but GitHub refuses Actions secret names that start with GITHUB_ — name it after a colon, e.g. raxx-app/TradeMasterAPI:GH_API_ACTIONS_TOKEN`,
	`testdata/broken.yaml:54: GITHUB_API_ACTIONS_TOKEN: github_secrets "raxx-app/raxx-console:GITHUB_TOKEN" names the secret GITHUB_TOKEN, but GitHub refuses Actions secret names that start with GITHUB_ — use e.g. raxx-app/raxx-console:GH_TOKEN`,
}

func TestBrokenFileReportsEveryProblemAtItsLine(t *testing.T) {
	m, probs, err := load("testdata/broken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m != nil {
		t.Error("a matrix with problems was returned")
	}
	got := make([]string, len(probs))
	for i, p := range probs {
		got[i] = p.String()
	}
	for _, w := range brokenWant {
		t.Run(w[:strings.Index(w, " ")], func(t *testing.T) {
			if !slices.Contains(got, w) {
				t.Errorf("missing problem\n%s", w)
			}
		})
	}
	for _, g := range got {
		if !slices.Contains(brokenWant, g) {
			t.Errorf("unexpected problem\n%s", g)
		}
	}
	if !slices.Equal(got, brokenWant) {
		t.Errorf("problems out of order:\n%s", strings.Join(got, "\n"))
	}
}

// secretDoc is a valid matrix whose one secret, TOKEN (line 7), has body (from line 8).
func secretDoc(body string) string { return secretDocNamed("TOKEN", body) }

// secretDocNamed is secretDoc with the secret named name.
func secretDocNamed(name, body string) string {
	return "ops_usergroup: S0OPS\nchannel: C0OPS\nvault:\n  environment: prod\n  path: /p/\nsecrets:\n  " + name + ":\n" + body
}

// problemCases are routing matrices and the exact problems Parse finds in each
// (nil: the document is clean).
var problemCases = []struct {
	name string
	doc  string
	want []string
}{
	{"valid classic", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers: {github_secrets: [raxx-app/x]}\n"), nil},
	{"aliases are followed", "ops_usergroup: S0OPS\nchannel: C0OPS\nvault: {environment: prod, path: /p/}\nsecrets:\n  A:\n    kind: classic\n    scopes: [repo]\n    consumers: &shared\n      heroku_apps: [raxx-console-prod]\n  B:\n    kind: classic\n    scopes: [repo]\n    consumers: *shared\n", nil},
	{"syntax error has its line", "ops_usergroup: S0OPS\nchannel: C0OPS\nvault:\n  environment: [prod\n", []string{
		`t.yaml:4: the YAML does not parse (did not find expected ',' or ']') — a [list] opened on this line is not closed: close it with ], and quote values that hold , : [ ] { }`,
	}},
	{"tab indentation", "vault:\n\tpath: /p/\n", []string{
		`t.yaml:2: the YAML does not parse (found character that cannot start any token) — YAML does not allow tabs for indentation: indent with spaces`,
	}},
	{"empty file", "", []string{`t.yaml: the file is empty — start from rotabot.example.yaml`}},
	{"only comments", "# nothing yet\n", []string{`t.yaml: the file is empty — start from rotabot.example.yaml`}},
	{"a list instead of settings", "- a\n- b\n", []string{
		`t.yaml:1: the file should be a block of settings (ops_usergroup, channel, vault, secrets, …), not a list — start from rotabot.example.yaml`,
	}},
	{"second document", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n---\nchannel: C0X\n"), []string{
		`t.yaml:11: a second YAML document starts here — rotabot.yaml is one document: remove the --- line and merge or delete what follows`,
	}},
	{"missing top-level keys", "audit_channel: C0AUDIT\n", []string{
		`t.yaml:1: ops_usergroup is missing — add the id of the Slack user group whose members may act and approve (S…)`,
		`t.yaml:1: channel is missing — add the id of the ops channel (C… or G…) where /rotate is allowed and reminders are posted`,
		`t.yaml:1: vault is missing — add a vault block with environment and path: where the secrets live in Infisical`,
		`t.yaml:1: secrets is missing — add a secrets block with at least one secret`,
	}},
	{"empty vault and secrets", "ops_usergroup: S0OPS\nchannel: C0OPS\nvault:\nsecrets: {}\n", []string{
		`t.yaml:3: vault is missing — add a vault block with environment and path: where the secrets live in Infisical`,
		`t.yaml:4: secrets is empty — add at least one secret, e.g. GITHUB_API_READONLY_TOKEN with its kind and consumers`,
	}},
	{"duplicate top-level key", "ops_usergroup: S0OPS\nchannel: C0OPS\nchannel: C0OTHER\nvault: {environment: prod, path: /p/}\nsecrets:\n  T:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n", []string{
		`t.yaml:3: channel is set twice, on lines 2 and 3 — keep one`,
	}},
	{"lower-case slack ids", "ops_usergroup: s0ops\nchannel: D0DM\nvault: {environment: prod, path: /p/}\nsecrets:\n  T:\n    kind: classic\n    owners: [u0owner]\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n", []string{
		`t.yaml:1: ops_usergroup "s0ops" is not a Slack user group id — Slack ids are upper case: S0OPS`,
		`t.yaml:2: channel "D0DM" is not a Slack channel id — use the channel's id (C… or G…), shown at the bottom of the channel's details`,
		`t.yaml:7: T: owner "u0owner" is not a Slack user id — Slack ids are upper case: U0OWNER`,
	}},
	{"pending path is the current path", "ops_usergroup: S0OPS\nchannel: C0OPS\nvault:\n  environment: prod env\n  path: /p/\n  pending_path: /p/\nsecrets:\n  T:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n", []string{
		`t.yaml:4: vault.environment "prod env" is not an Infisical environment slug — use the slug from the project's settings, e.g. prod`,
		`t.yaml:6: vault.pending_path is the same folder as vault.path — a pending token would overwrite the current one before approval: use a folder of its own, e.g. /rotabot/pending/`,
	}},
	{"days_before shapes", "ops_usergroup: S0OPS\nchannel: C0OPS\nreminders:\n  days_before: 7\n  weekly: true\nvault: {environment: prod, path: /p/}\nsecrets:\n  T:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n", []string{
		`t.yaml:4: reminders.days_before should be a list of days before expiry — write e.g. days_before: [14, 7, 3, 1]`,
		`t.yaml:5: unknown key "weekly" in reminders — remove it (known here: days_before)`,
	}},
	{"days_before items", "ops_usergroup: S0OPS\nchannel: C0OPS\nreminders:\n  days_before:\n    - 14\n    - two\n    - -1\n    - 14\nvault: {environment: prod, path: /p/}\nsecrets:\n  T:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n", []string{
		`t.yaml:6: reminders.days_before: "two" is not a whole number of days — write numbers, e.g. [14, 7, 3, 1]`,
		`t.yaml:7: reminders.days_before: -1 is not a day before expiry — use numbers of 1 or more (expired tokens are reported daily anyway)`,
		`t.yaml:8: reminders.days_before: 14 is listed twice (also on line 5) — remove one`,
	}},
	{"days_before empty", "ops_usergroup: S0OPS\nchannel: C0OPS\nreminders: {days_before: []}\nvault: {environment: prod, path: /p/}\nsecrets:\n  T:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n", []string{
		`t.yaml:3: reminders.days_before is empty — list at least one day, e.g. [14, 7, 3, 1], or remove it to use that default`,
	}},
	{"a token pasted into the file is flagged and never repeated", secretDoc("    kind: classic\n    scopes: [repo]\n    owners: [ghp_abcdefghijklmnopqrstuvwxyz0123456789]\n    consumers: {heroku_apps: [raxx-console-prod]}\n"), []string{
		`t.yaml:10: this looks like a token value — rotabot.yaml must never hold a secret: remove it, and revoke that token if the file was ever shared or committed`,
		`t.yaml:10: TOKEN: owner (a value that looks like a token) is not a Slack user id — use their member id (U… or W…), from their Slack profile → Copy member ID`,
	}},
	{"kind missing and no consumers", secretDoc("    scopes: [repo]\n"), []string{
		`t.yaml:7: TOKEN has no kind — add kind: fine-grained (preferred) or kind: classic`,
		`t.yaml:7: TOKEN has no consumers — add a consumers block naming where the token is used (heroku_apps, github_secrets, shell_rc_operators)`,
	}},
	{"kind unknown", secretDoc("    kind: pat\n    consumers: {heroku_apps: [raxx-console-prod]}\n"), []string{
		`t.yaml:8: TOKEN: kind "pat" is not a token kind — use fine-grained (preferred) or classic for a GitHub token, heroku-api-key for a Heroku API key`,
	}},
	{"secret is not a block", secretDoc("    classic\n"), []string{
		`t.yaml:7: secret TOKEN should be a block of settings (kind, consumers, …), not the single value "classic" — see rotabot.example.yaml`,
	}},
	{"classic with fine-grained settings", secretDoc("    kind: classic\n    scopes: [REPO, Actions]\n    repositories: [raxx-app/x]\n    permissions: {contents: read}\n    consumers: {heroku_apps: [raxx-console-prod]}\n"), []string{
		`t.yaml:9: TOKEN: scope "REPO" is not a classic scope — scopes are lower case: repo`,
		`t.yaml:9: TOKEN: Actions is not a classic scope — repo or workflow cover Actions`,
		`t.yaml:10: TOKEN: repositories is for fine-grained tokens — a classic token reaches every repository its owner can: remove it, or make the token fine-grained`,
		`t.yaml:11: TOKEN: permissions is for fine-grained tokens — classic tokens use scopes: remove it, or make the token fine-grained`,
	}},
	{"fine-grained with scopes and bad permissions", secretDoc("    kind: fine-grained\n    repositories: [raxx-app/x, raxx-app/x]\n    permissions: {webhooks: read, contents: read-only, pull_request: write, issues: }\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n"), []string{
		`t.yaml:9: TOKEN: repositories: "raxx-app/x" is listed twice — remove one`,
		`t.yaml:10: TOKEN: permission "webhooks" is not a fine-grained repository permission — GitHub's API calls it repository_hooks`,
		`t.yaml:10: TOKEN: permission contents: "read-only" is not an access level — use read`,
		`t.yaml:10: TOKEN: permission "pull_request" is not a fine-grained repository permission — did you mean pull_requests?`,
		`t.yaml:10: TOKEN: permission issues has no level — write issues: read or issues: write`,
		`t.yaml:11: TOKEN: scopes is for classic tokens — fine-grained tokens use permissions: remove it, or make the token classic`,
	}},
	{"value shapes", secretDoc("    kind: classic\n    scopes: [read:orgs, admin]\n    owners: U0OWNER\n    expires_in_days: ninety\n    resource_owner: raxx app\n    probe: https://api.github.com/repos/raxx-app/x?per_page=1\n    consumers: {heroku_apps: [ab, raxx-console-prod-]}\n"), []string{
		`t.yaml:9: TOKEN: scope "read:orgs" is not a classic scope — did you mean read:org?`,
		`t.yaml:9: TOKEN: scope "admin" is not a classic scope — use one from GitHub's list of classic scopes, e.g. repo, read:org, workflow`,
		`t.yaml:10: TOKEN: owners should be a list — write e.g. owners: [U0123ABCD]`,
		`t.yaml:11: TOKEN: expires_in_days "ninety" is not a whole number of days — write e.g. expires_in_days: 90`,
		`t.yaml:12: TOKEN: resource_owner "raxx app" is not a GitHub user or organisation name — use the user or organisation the token is made under, e.g. raxx-app`,
		`t.yaml:13: TOKEN: probe is a path on the GitHub API, not a URL — write probe: /repos/raxx-app/x?per_page=1`,
		`t.yaml:14: TOKEN: heroku app "ab" is not a Heroku app name — Heroku app names are 3 to 30 lower-case letters, digits and dashes, starting with a letter`,
		`t.yaml:14: TOKEN: heroku app "raxx-console-prod-" is not a Heroku app name — Heroku app names are 3 to 30 lower-case letters, digits and dashes, starting with a letter`,
	}},
	{"a typo'd consumer kind is not also 'names nothing'", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers:\n      heroku: [raxx-console-prod]\n      slack: [U0X]\n"), []string{
		`t.yaml:11: TOKEN: unknown consumer kind "heroku" — did you mean heroku_apps? (rotabot sets heroku_apps, github_secrets, github_environment_secrets, github_org_secrets, dependabot_secrets and shell_rc_operators)`,
		`t.yaml:12: TOKEN: unknown consumer kind "slack" — remove it (rotabot sets heroku_apps, github_secrets, github_environment_secrets, github_org_secrets, dependabot_secrets and shell_rc_operators)`,
	}},
	{"verify entries", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n    verify:\n      - name: console\n        url: console.raxx.app/api/status\n        expect_status: 99\n        headers_env: {\"X Auth\": TOKEN_ENV, Cookie: CONSOLE_COOKIE, cookie: OTHER}\n      - name: no url\n      - just a string\n"), []string{
		`t.yaml:13: TOKEN: verify check "console": url "console.raxx.app/api/status" is not an http(s) URL — write the whole URL, starting with https://: https://console.raxx.app/api/status`,
		`t.yaml:14: TOKEN: verify check "console": expect_status 99 is not an HTTP status — use 100 to 599 (or leave it out for 200)`,
		`t.yaml:15: TOKEN: verify check "console": "X Auth" is not an HTTP header name — use letters, digits and dashes, e.g. Cookie or X-Api-Key`,
		`t.yaml:15: TOKEN: verify check "console": header cookie is set twice, on lines 15 and 15 — keep one`,
		`t.yaml:16: TOKEN: verify check "no url" has no url — add the URL to GET after propagation`,
		`t.yaml:17: TOKEN: a verify check should be a block with a name and a url, not the single value "just a string" — write e.g. - {name: console build status, url: https://console.raxx.app/api/status/builds}`,
	}},
	{"a verify url with a user part is refused without repeating it", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n    verify:\n      - name: console\n        url: https://ops:S3cret@console.raxx.app/api/status\n      - {name: token as the user, url: \"HTTPS://ghp_0123456789abcdefABCDEF0123456789abcd@console.raxx.app:8443/x?y=1\"}\n      - name: unparsable\n        url: 'https://ops:S3 cret@console.raxx.app/'\n      - name: a path with an @ is fine\n        url: https://console.raxx.app/users/ops@raxx.app\n"), []string{
		`t.yaml:13: TOKEN: verify check "console": url "https://console.raxx.app/api/status" has a user name or password in it (before the @) — a verify URL is shown on dry runs and in messages, so it must hold no credential: remove that part, and send the credential in a header from an environment variable with headers_env, e.g. headers_env: {Authorization: CONSOLE_AUTH} with CONSOLE_AUTH set to "Basic …"`,
		`t.yaml:14: TOKEN: verify check "token as the user": url "HTTPS://console.raxx.app:8443/x?y=1" has a user name or password in it (before the @) — a verify URL is shown on dry runs and in messages, so it must hold no credential: remove that part, and send the credential in a header from an environment variable with headers_env, e.g. headers_env: {Authorization: CONSOLE_AUTH} with CONSOLE_AUTH set to "Basic …"`,
		`t.yaml:16: TOKEN: verify check "unparsable": url "https://console.raxx.app/" has a user name or password in it (before the @) — a verify URL is shown on dry runs and in messages, so it must hold no credential: remove that part, and send the credential in a header from an environment variable with headers_env, e.g. headers_env: {Authorization: CONSOLE_AUTH} with CONSOLE_AUTH set to "Basic …"`,
	}},
	{"headers_env holding a value never repeats it", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n    verify:\n      - name: console\n        url: https://console.raxx.app/\n        headers_env: {Cookie: \"session=s3cr3t-cookie\"}\n"), []string{
		`t.yaml:14: TOKEN: verify check "console": header Cookie must name an environment variable (like CONSOLE_OPS_COOKIE) — headers_env holds the variable's name, never the header's value`,
	}},
	{"consumers naming the variable at the destination", secretDocNamed("GITHUB_API_READONLY_TOKEN", "    kind: classic\n    scopes: [repo]\n    consumers:\n      heroku_apps: [raxx-console-prod:GITHUB_TOKEN, raxx-console-prod, raxx-console-staging:_legacy_token2, raxx-console-prod:A, raxx-console-prod:a]\n      github_secrets: [raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN, raxx-app/x:gh_token, raxx-app/TradeMasterAPI:OTHER_TOKEN]\n"), nil},
	{"a secret named GITHUB_… stored under its own name", secretDocNamed("GITHUB_API_READONLY_TOKEN", "    kind: classic\n    scopes: [repo]\n    consumers:\n      heroku_apps: [raxx-console-prod]\n      github_secrets:\n        - raxx-app/TradeMasterAPI\n        - raxx-app/x:GH_API_READONLY_TOKEN\n"), []string{
		`t.yaml:13: GITHUB_API_READONLY_TOKEN: github_secrets raxx-app/TradeMasterAPI would store the secret as GITHUB_API_READONLY_TOKEN, but GitHub refuses Actions secret names that start with GITHUB_ — name it after a colon, e.g. raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN`,
	}},
	{"a github secret named GITHUB_… after the colon, in any case", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers:\n      github_secrets:\n        - raxx-app/x:GITHUB_TOKEN\n        - raxx-app/y:github_api_token\n        - raxx-app/z:GITHUB_\n"), []string{
		`t.yaml:12: TOKEN: github_secrets "raxx-app/x:GITHUB_TOKEN" names the secret GITHUB_TOKEN, but GitHub refuses Actions secret names that start with GITHUB_ — use e.g. raxx-app/x:GH_TOKEN`,
		`t.yaml:13: TOKEN: github_secrets "raxx-app/y:github_api_token" names the secret github_api_token, but GitHub refuses Actions secret names that start with GITHUB_ — use e.g. raxx-app/y:GH_API_TOKEN`,
		`t.yaml:14: TOKEN: github_secrets "raxx-app/z:GITHUB_" names the secret GITHUB_, but GitHub refuses Actions secret names that start with GITHUB_ — use e.g. raxx-app/z:GH_TOKEN`,
	}},
	{"names after the colon that are not variable names", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers:\n      heroku_apps:\n        - raxx-console-prod:GH-TOKEN\n        - raxx-console-prod:1TOKEN\n        - \"raxx-console-prod:\"\n      github_secrets:\n        - raxx-app/x:GH TOKEN\n        - raxx-app/x:GITHUB-TOKEN\n        - \"raxx-app/x:\"\n"), []string{
		`t.yaml:12: TOKEN: heroku app "raxx-console-prod:GH-TOKEN": "GH-TOKEN" is not a config var name — use letters, digits and underscores, not starting with a digit, e.g. raxx-console-prod:GH_TOKEN`,
		`t.yaml:13: TOKEN: heroku app "raxx-console-prod:1TOKEN": "1TOKEN" is not a config var name — use letters, digits and underscores, not starting with a digit`,
		`t.yaml:14: TOKEN: heroku app "raxx-console-prod:" has nothing after the colon — write the config var's name after it, e.g. raxx-console-prod:GITHUB_TOKEN, or remove the colon to use the secret's own name`,
		`t.yaml:16: TOKEN: github_secrets "raxx-app/x:GH TOKEN": "GH TOKEN" is not a secret name — use letters, digits and underscores, not starting with a digit, e.g. raxx-app/x:GH_TOKEN`,
		`t.yaml:17: TOKEN: github_secrets "raxx-app/x:GITHUB-TOKEN": "GITHUB-TOKEN" is not a secret name — use letters, digits and underscores, not starting with a digit, e.g. raxx-app/x:GH_TOKEN`,
		`t.yaml:18: TOKEN: github_secrets "raxx-app/x:" has nothing after the colon — write the secret's name after it, e.g. raxx-app/x:GH_API_READONLY_TOKEN, or remove the colon to use the secret's own name`,
	}},
	{"nothing after the colon, and the secret's own name is refused", secretDocNamed("GITHUB_API_DISPATCH_TOKEN", "    kind: classic\n    scopes: [repo]\n    consumers:\n      github_secrets: [\"raxx-app/x:\"]\n"), []string{
		`t.yaml:11: GITHUB_API_DISPATCH_TOKEN: github_secrets "raxx-app/x:" has nothing after the colon — write the secret's name after it, e.g. raxx-app/x:GH_API_DISPATCH_TOKEN`,
	}},
	{"the destination before the colon is checked as without one", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers:\n      heroku_apps:\n        - Raxx_Console:GITHUB_TOKEN\n      github_secrets:\n        - TradeMasterAPI:GH_TOKEN\n        - https://github.com/raxx-app/x:GH_TOKEN\n        - TradeMasterAPI:GITHUB_TOKEN\n"), []string{
		`t.yaml:12: TOKEN: heroku app "Raxx_Console" is not a Heroku app name — Heroku app names are 3 to 30 lower-case letters, digits and dashes, starting with a letter; did you mean raxx-console?`,
		`t.yaml:14: TOKEN: github_secrets "TradeMasterAPI" is not owner/repo — name the repository whose Actions secret is set with its owner, e.g. raxx-app/TradeMasterAPI`,
		`t.yaml:15: TOKEN: github_secrets "https://github.com/raxx-app/x:GH_TOKEN" is a URL — write just owner/repo: raxx-app/x:GH_TOKEN`,
		`t.yaml:16: TOKEN: github_secrets "TradeMasterAPI" is not owner/repo — name the repository whose Actions secret is set with its owner, e.g. raxx-app/TradeMasterAPI`,
		`t.yaml:16: TOKEN: github_secrets "TradeMasterAPI:GITHUB_TOKEN" names the secret GITHUB_TOKEN, but GitHub refuses Actions secret names that start with GITHUB_ — use e.g. TradeMasterAPI:GH_TOKEN`,
	}},
	{"a space after the colon makes a key and a value", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers:\n      github_secrets: [raxx-app/x: GH_TOKEN]\n      heroku_apps:\n        - raxx-console-prod:\n"), []string{
		`t.yaml:11: TOKEN: github_secrets: an entry is read as a key and a value, "raxx-app/x: GH_TOKEN" — write it without a space after the colon: "raxx-app/x:GH_TOKEN"`,
		`t.yaml:13: TOKEN: heroku_apps: an entry is read as a key with no value, "raxx-console-prod:" — write the name right after the colon, or remove the colon`,
	}},
	{"duplicates compare the whole entry, and the variable it sets", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers:\n      heroku_apps: [raxx-console-prod, raxx-console-prod:TOKEN, raxx-console-prod:A, raxx-console-prod:a]\n      github_secrets:\n        - raxx-app/x:GH_A\n        - raxx-app/x:GH_B\n        - raxx-app/x:GH_A\n        - raxx-app/y\n        - raxx-app/y:TOKEN\n        - raxx-app/X:gh_b\n"), []string{
		`t.yaml:11: TOKEN: heroku app "raxx-console-prod:TOKEN" sets the same config var as "raxx-console-prod" — remove one`,
		`t.yaml:15: TOKEN: github_secrets: "raxx-app/x:GH_A" is listed twice (also on line 13) — remove one`,
		`t.yaml:17: TOKEN: github_secrets "raxx-app/y:TOKEN" sets the same secret as "raxx-app/y" (also on line 16) — remove one`,
		`t.yaml:18: TOKEN: github_secrets "raxx-app/X:gh_b" sets the same secret as "raxx-app/x:GH_B" (also on line 14) — remove one`,
	}},
	{"heroku waits and the log watch, set", "ops_usergroup: S0OPS\nchannel: C0OPS\nvault: {environment: prod, path: /p/}\nheroku: {release_timeout: 90s, restart_timeout: 1h}\nsecrets:\n  T:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n    log_watch: {window: 0s, patterns: ['token expired', '(?i)\\b401\\b']}\n", nil},
	{"heroku waits", "ops_usergroup: S0OPS\nchannel: C0OPS\nvault: {environment: prod, path: /p/}\nheroku:\n  release_timeout: 2h\n  restart_timeout: soon\n  restart_timout: 1m\nsecrets:\n  T:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n", []string{
		`t.yaml:5: heroku.release_timeout 2h is out of range — use 1s to 1h: how long a release may stay pending, e.g. 5m`,
		`t.yaml:6: heroku.restart_timeout "soon" is not a duration — write how long the dynos may take to run the new release, e.g. 5m`,
		`t.yaml:7: unknown key "restart_timout" in heroku — did you mean restart_timeout?`,
	}},
	{"heroku is not a block", "ops_usergroup: S0OPS\nchannel: C0OPS\nvault: {environment: prod, path: /p/}\nheroku: fast\nsecrets:\n  T:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n", []string{
		`t.yaml:4: heroku should be a block of settings, not the single value "fast" — see rotabot.example.yaml`,
	}},
	{"log watch", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n    log_watch:\n      window: 90\n      patterns:\n        - '(github'\n        - '.*'\n        - Bad credentials\n      tail: true\n"), []string{
		`t.yaml:12: TOKEN: log_watch.window "90" has no unit — write it with one: 90s (how long to read each app's log after its restart, e.g. 60s; 0 turns the watch off)`,
		"t.yaml:14: TOKEN: log_watch pattern \"(github\" is not a regular expression (missing closing ): `(github`) — fix it, or put a backslash before ( ) [ ] { } . * + ? | to match them as written",
		`t.yaml:15: TOKEN: log_watch pattern ".*" matches every line — make it match only an authentication failure, e.g. Bad credentials`,
		`t.yaml:17: unknown key "tail" in TOKEN: log_watch — remove it (known here: window, patterns)`,
	}},
	{"log watch empty, too long", secretDoc("    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n    log_watch: {window: 2h, patterns: []}\n"), []string{
		`t.yaml:11: TOKEN: log_watch.window 2h is out of range — use 1s to 1h: how long to read each app's log after its restart, e.g. 60s; 0 turns the watch off`,
		`t.yaml:11: TOKEN: log_watch.patterns is empty — list what a GitHub authentication failure looks like in the app's log, e.g. ['Bad credentials'], or remove it to use the defaults`,
	}},
	{"merge keys", secretDoc("    <<: {kind: classic}\n    scopes: [repo]\n    kind: classic\n    consumers: {heroku_apps: [raxx-console-prod]}\n"), []string{
		`t.yaml:8: merge keys (<<) are not supported in the routing matrix — write the keys out, or use an alias (*name) for a whole value`,
	}},
}

func TestProblems(t *testing.T) {
	for _, c := range problemCases {
		t.Run(c.name, func(t *testing.T) {
			m, probs := Parse("t.yaml", []byte(c.doc))
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if (m == nil) != (len(c.want) > 0) {
				t.Errorf("matrix returned = %v with %d problems", m != nil, len(probs))
			}
			for _, p := range probs {
				if strings.Contains(p.Msg, "s3cr3t") || strings.Contains(p.Msg, "ghp_abc") || strings.Contains(p.Msg, "S3cret") || strings.Contains(p.Msg, "S3 cret") || strings.Contains(p.Msg, "ghp_0123") {
					t.Errorf("a problem repeats a secret value: %s", p)
				}
				if strings.Contains(p.Msg, "\n") || !strings.Contains(p.Msg, " — ") {
					t.Errorf("a problem is not one line of 'what is wrong — how to fix it': %q", p.Msg)
				}
			}
		})
	}
}

func TestConsumerEntriesKeepTheVariableName(t *testing.T) {
	m, probs := Parse("t.yaml", []byte(secretDocNamed("GITHUB_API_READONLY_TOKEN",
		"    kind: classic\n    scopes: [repo]\n    consumers:\n      heroku_apps: [raxx-console-prod:GITHUB_TOKEN, raxx-console-staging]\n      github_secrets: [raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN]\n")))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	want := rotation.Consumers{
		HerokuApps:    []string{"raxx-console-prod:GITHUB_TOKEN", "raxx-console-staging"},
		GitHubSecrets: []string{"raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN"},
	}
	if got := m.Secrets["GITHUB_API_READONLY_TOKEN"].Consumers; !reflect.DeepEqual(got, want) {
		t.Errorf("consumers = %+v, want %+v", got, want)
	}
}

func TestCheckConsumerEntry(t *testing.T) {
	for _, c := range []struct{ kind, entry, secret, want string }{
		{"heroku_apps", "raxx-console-prod", "GITHUB_API_READONLY_TOKEN", ""},
		{"heroku_apps", "raxx-console-prod:GITHUB_TOKEN", "GITHUB_API_READONLY_TOKEN", ""},
		{"github_secrets", "raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN", "GITHUB_API_READONLY_TOKEN", ""},
		{"github_secrets", "raxx-app/TradeMasterAPI", "TOKEN", ""},
		{"github_secrets", "raxx-app/TradeMasterAPI", "", ""},
		{"github_secrets", "raxx-app/TradeMasterAPI", "GITHUB_API_DISPATCH_TOKEN",
			"github_secrets raxx-app/TradeMasterAPI would store the secret as GITHUB_API_DISPATCH_TOKEN, but GitHub refuses Actions secret names that start with GITHUB_ — name it after a colon, e.g. raxx-app/TradeMasterAPI:GH_API_DISPATCH_TOKEN"},
		{"github_secrets", "raxx-app/TradeMasterAPI:Github_Token", "",
			`github_secrets "raxx-app/TradeMasterAPI:Github_Token" names the secret Github_Token, but GitHub refuses Actions secret names that start with GITHUB_ — use e.g. raxx-app/TradeMasterAPI:GH_TOKEN`},
		{"heroku_apps", "raxx-console-prod:my.var", "TOKEN",
			`heroku app "raxx-console-prod:my.var": "my.var" is not a config var name — use letters, digits and underscores, not starting with a digit, e.g. raxx-console-prod:my_var`},
		// The first problem only: the app, then the name.
		{"heroku_apps", "Raxx:my.var", "TOKEN",
			`heroku app "Raxx" is not a Heroku app name — Heroku app names are 3 to 30 lower-case letters, digits and dashes, starting with a letter; did you mean raxx?`},
		{"github_secrets", "https://github.com/raxx-app/x", "TOKEN",
			`github_secrets "https://github.com/raxx-app/x" is a URL — write just owner/repo: raxx-app/x`},
		{"shell_rc_operators", "U0OP", "TOKEN",
			`consumer kind "shell_rc_operators" cannot be checked here — use heroku_apps, github_secrets, github_environment_secrets, github_org_secrets or dependabot_secrets`},
	} {
		if got := CheckConsumerEntry(c.kind, c.entry, c.secret); got != c.want {
			t.Errorf("CheckConsumerEntry(%q, %q, %q)\n got %q\nwant %q", c.kind, c.entry, c.secret, got, c.want)
		}
		if got := CheckConsumerEntry(c.kind, c.entry, c.secret); got != "" && (strings.Contains(got, "\n") || !strings.Contains(got, " — ")) {
			t.Errorf("not one line of 'what is wrong — how to fix it': %q", got)
		}
	}
}

func TestSyntaxErrorsAtTheLineThatIsWrong(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  string
		want string
	}{
		{"unclosed list after a good multi-line block",
			"vault: {environment: prod,\n  path: /p/}\nsecrets: [a\nchannel: C0OPS\n",
			`t.yaml:3: the YAML does not parse (did not find expected ',' or ']') — a [list] opened on this line is not closed: close it with ], and quote values that hold , : [ ] { }`},
		{"misindented key", "vault:\n  environment: prod\n path: /p/\n",
			`t.yaml:3: the YAML does not parse (did not find expected key) — this line is indented differently from the keys around it: line it up with its neighbours`},
		{"unterminated quote", "channel: C0OPS\nvault:\n  path: \"/p/\n  environment: prod\n",
			`t.yaml:3: the YAML does not parse (found unexpected end of stream) — a quote opened on this line is never closed: add the closing quote`},
		{"colon in a value", "channel: C0OPS\nops_usergroup: S0OPS: ops\n",
			`t.yaml:2: the YAML does not parse (mapping values are not allowed in this context) — a value here holds ": " or the line is indented too far: quote the value, or line the key up with the ones above`},
		{"list item out of line", "secrets:\n  T:\n    scopes:\n      - repo\n      workflow: x\n",
			`t.yaml:5: the YAML does not parse (did not find expected '-' indicator) — this line breaks a list: start it with "- " or indent it like the list's items`},
		{"key without colon", "channel: C0OPS\nvault\nsecrets: {}\n",
			`t.yaml:2: the YAML does not parse (could not find expected ':') — a key has no colon: write key: value`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, probs := Parse("t.yaml", []byte(c.doc))
			if len(probs) != 1 || probs[0].String() != c.want {
				t.Errorf("got %v\nwant %s", probs, c.want)
			}
		})
	}
}

// A file that cannot be read is one message that names what named it: the
// --config flag, ROTABOT_CONFIG, or neither (./rotabot.yaml).
func TestSourceReadFailures(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	t.Chdir(dir)
	for _, c := range []struct {
		name string
		src  Source
		want string
	}{
		{"missing file from --config", Source{From: FromFlag, Value: missing},
			"cannot read the routing matrix " + missing + " (--config): there is no such file — check the path given to --config, or start from rotabot.example.yaml"},
		{"missing file from ROTABOT_CONFIG", Source{From: FromEnv, Value: missing},
			"cannot read the routing matrix " + missing + " (ROTABOT_CONFIG): there is no such file — point ROTABOT_CONFIG at it, or start from rotabot.example.yaml"},
		{"no rotabot.yaml and nothing set", Source{From: FromDefault, Value: DefaultConfigPath},
			"there is no routing matrix: no rotabot.yaml in " + dir + ", and neither --config nor ROTABOT_CONFIG names one — copy rotabot.example.yaml to rotabot.yaml and fill it in, or set ROTABOT_CONFIG (a path, the YAML, or base64 of it)"},
		{"a directory from --config", Source{From: FromFlag, Value: dir},
			"cannot read the routing matrix " + dir + " (--config): is a directory — give --config the path of a readable YAML file"},
		{"a directory from ROTABOT_CONFIG", Source{From: FromEnv, Value: dir},
			"cannot read the routing matrix " + dir + " (ROTABOT_CONFIG): is a directory — point ROTABOT_CONFIG at a readable YAML file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, probs, err := c.src.Load()
			if got := rotation.ErrorMessage(err); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if m != nil || probs != nil || rotation.ErrorCode(err) != rotation.EINVALID {
				t.Errorf("matrix %v, problems %v, code %q", m, probs, rotation.ErrorCode(err))
			}
		})
	}
}

// A fine-grained token reaches only repositories of its resource owner: a
// repository of another owner is refused at its line.
func TestResourceOwnerRule(t *testing.T) {
	doc := secretDoc("    kind: fine-grained\n    resource_owner: MooseQuest\n    repositories:\n      - raxx-app/TradeMasterAPI\n      - moosequest/tools\n    permissions: {contents: read}\n    consumers: {heroku_apps: [raxx-console-prod]}\n")
	_, probs := Parse("t.yaml", []byte(doc))
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	want := []string{"t.yaml:11: TOKEN: repository raxx-app/TradeMasterAPI belongs to raxx-app, but resource_owner is MooseQuest — a fine-grained token reaches only repositories of its resource owner, so this one could never pass the probe: set resource_owner: raxx-app, or list repositories of MooseQuest"}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The owner's own repositories, in any letter case, pass; so does a matrix
	// that names no resource owner.
	for _, ok := range []string{
		"    kind: fine-grained\n    resource_owner: raxx-app\n    repositories: [raxx-app/a, RAXX-APP/b]\n    permissions: {contents: read}\n    consumers: {heroku_apps: [raxx-console-prod]}\n",
		"    kind: fine-grained\n    repositories: [raxx-app/a]\n    permissions: {contents: read}\n    consumers: {heroku_apps: [raxx-console-prod]}\n",
	} {
		if _, probs := Parse("t.yaml", []byte(secretDoc(ok))); len(probs) > 0 {
			t.Errorf("%q: %v", ok, probs)
		}
	}
}

func TestSummary(t *testing.T) {
	if got := Summary(nil); got != "no routing matrix" {
		t.Errorf("Summary(nil) = %q", got)
	}
	m := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{
		"A": {Consumers: rotation.Consumers{HerokuApps: []string{"a1"}, ShellRCOperators: []string{"U1", "U2"}}},
	}}
	if got, want := Summary(m), "1 secret, 3 destinations (1 Heroku app, 2 shell rcs)"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

// load reads the matrix at path, as --config FILE does.
func load(path string) (*rotation.Matrix, []Problem, error) {
	return Source{From: FromFlag, Value: path}.Load()
}

func TestLoadUnreadableIsAnError(t *testing.T) {
	_, _, err := load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil {
		t.Fatal("no error for a missing file")
	}
	if rotation.ErrorCode(err) != rotation.EINVALID {
		t.Errorf("code %q", rotation.ErrorCode(err))
	}
}
