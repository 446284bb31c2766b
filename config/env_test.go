package config

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadEnvDefaults(t *testing.T) {
	e, probs := LoadEnv(envOf(nil))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	want := Env{
		SlackAPIURL:      "https://slack.com/api/",
		GitHubAPIURL:     "https://api.github.com",
		InfisicalSiteURL: "https://app.infisical.com",
		HerokuAPIURL:     "https://api.heroku.com",
		ConfigPath:       "rotabot.yaml",
		DBPath:           "rotabot.db",
		ReminderInterval: time.Hour,
		ClaimTTL:         30 * time.Second,
		DriftInterval:    6 * time.Hour,
	}
	if e != want {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
}

func TestLoadEnvNormalises(t *testing.T) {
	for _, c := range []struct {
		name, value string
		got         func(Env) string
		want        string
	}{
		{"SLACK_API_URL", "http://127.0.0.1:4000/api", func(e Env) string { return e.SlackAPIURL }, "http://127.0.0.1:4000/api/"},
		{"SLACK_API_URL", "http://127.0.0.1:4000/api/", func(e Env) string { return e.SlackAPIURL }, "http://127.0.0.1:4000/api/"},
		{"SLACK_API_URL", "http://127.0.0.1:4000", func(e Env) string { return e.SlackAPIURL }, "http://127.0.0.1:4000/"},
		{"GITHUB_API_URL", "https://api.github.com/", func(e Env) string { return e.GitHubAPIURL }, "https://api.github.com"},
		{"GITHUB_API_URL", "http://localhost:9000/gh/", func(e Env) string { return e.GitHubAPIURL }, "http://localhost:9000/gh"},
		{"INFISICAL_SITE_URL", "https://eu.infisical.com//", func(e Env) string { return e.InfisicalSiteURL }, "https://eu.infisical.com"},
		{"HEROKU_API_URL", " http://127.0.0.1:5000/ \n", func(e Env) string { return e.HerokuAPIURL }, "http://127.0.0.1:5000"},
		{"ROTABOT_DB", "/data/rotabot.db", func(e Env) string { return e.DBPath }, "/data/rotabot.db"},
		{"ROTABOT_CONFIG", "/etc/rotabot.yaml", func(e Env) string { return e.ConfigPath }, "/etc/rotabot.yaml"},
		{"GITHUB_TOKEN", "ghp_x\n", func(e Env) string { return e.GitHubToken }, "ghp_x"},
		{"ROTABOT_REMINDER_INTERVAL", "30s", func(e Env) string { return e.ReminderInterval.String() }, "30s"},
		{"ROTABOT_DRIFT_INTERVAL", "", func(e Env) string { return e.DriftInterval.String() }, "6h0m0s"},
		{"ROTABOT_DRIFT_INTERVAL", "30m", func(e Env) string { return e.DriftInterval.String() }, "30m0s"},
		{"ROTABOT_DRIFT_INTERVAL", "0", func(e Env) string { return e.DriftInterval.String() }, "0s"},
		{"DATABASE_URL", " postgres://u:p@db:5432/rotabot \n", func(e Env) string { return e.DatabaseURL }, "postgres://u:p@db:5432/rotabot"},
		{"ROTABOT_CLAIM_TTL", "2s", func(e Env) string { return e.ClaimTTL.String() }, "2s"},
		{"ROTABOT_LOG_FORMAT", " TEXT\n", func(e Env) string { return e.LogFormat }, "text"},
		{"ROTABOT_LOG_FORMAT", "json", func(e Env) string { return e.LogFormat }, "json"},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			e, probs := LoadEnv(envOf(map[string]string{c.name: c.value}))
			if len(probs) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			if got := c.got(e); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestLoadEnvProblems(t *testing.T) {
	for _, c := range []struct {
		name, value string
		want        string
	}{
		{"ROTABOT_REMINDER_INTERVAL", "abc", `ROTABOT_REMINDER_INTERVAL="abc" is not a duration — use a Go duration like 1h or 30s`},
		{"ROTABOT_REMINDER_INTERVAL", "60", `ROTABOT_REMINDER_INTERVAL="60" is not a duration — use a Go duration like 1h or 30s`},
		{"ROTABOT_REMINDER_INTERVAL", "-5m", `ROTABOT_REMINDER_INTERVAL="-5m" must be positive — use a Go duration like 1h or 30s`},
		{"ROTABOT_REMINDER_INTERVAL", "0s", `ROTABOT_REMINDER_INTERVAL="0s" must be positive — use a Go duration like 1h or 30s`},
		{"ROTABOT_DRIFT_INTERVAL", "-1h", `ROTABOT_DRIFT_INTERVAL="-1h" must be positive — use a Go duration like 6h, or 0 to turn the periodic check off`},
		{"ROTABOT_DRIFT_INTERVAL", "often", `ROTABOT_DRIFT_INTERVAL="often" is not a duration — use a Go duration like 6h, or 0 to turn the periodic check off`},
		{"ROTABOT_CLAIM_TTL", "thirty", `ROTABOT_CLAIM_TTL="thirty" is not a duration — use a Go duration like 30s`},
		{"ROTABOT_CLAIM_TTL", "100ms", `ROTABOT_CLAIM_TTL="100ms" is too short — use at least 1s (the default, 30s, suits production)`},
		{"ROTABOT_LOG_FORMAT", "yaml", `ROTABOT_LOG_FORMAT="yaml" is not one of json, text — or unset it for JSON lines, or text when stderr is a terminal`},
		{"GITHUB_API_URL", "api.github.com", `GITHUB_API_URL="api.github.com" is not an http(s) base URL — use e.g. https://api.github.com`},
		{"SLACK_API_URL", "ftp://slack.com/api/", `SLACK_API_URL="ftp://slack.com/api/" is not an http(s) base URL — use e.g. https://slack.com/api/`},
		{"HEROKU_API_URL", "https://api.heroku.com/?x=1", `HEROKU_API_URL="https://api.heroku.com/?x=1" is not an http(s) base URL — use e.g. https://api.heroku.com`},
		{"INFISICAL_SITE_URL", "https://user:hunter2@app.infisical.com", `INFISICAL_SITE_URL holds a user name or password — remove them from the URL: credentials go in their own variables`},
		{"GITHUB_API_URL", "http://ghe.example.com/api/v3", `GITHUB_API_URL="http://ghe.example.com/api/v3" uses plain http to ghe.example.com — use https (plain http is only for a loopback host such as 127.0.0.1)`},
		{"SLACK_API_URL", "http://10.1.2.3/api/", `SLACK_API_URL="http://10.1.2.3/api/" uses plain http to 10.1.2.3 — use https (plain http is only for a loopback host such as 127.0.0.1)`},
		{"INFISICAL_SITE_URL", "app.infisical.com@hunter2", `INFISICAL_SITE_URL=(a value holding credentials, not shown) is not an http(s) base URL — use e.g. https://app.infisical.com`},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			e, probs := LoadEnv(envOf(map[string]string{c.name: c.value}))
			if len(probs) != 1 || probs[0] != c.want {
				t.Errorf("got %q\nwant %q", probs, c.want)
			}
			def, _ := LoadEnv(envOf(nil))
			if e != def {
				t.Errorf("a bad value did not fall back to the default: %+v", e)
			}
			if strings.Contains(strings.Join(probs, ""), "hunter2") {
				t.Error("a problem repeats a credential")
			}
		})
	}
}

func TestVarsIsEveryVariableRead(t *testing.T) {
	read := map[string]bool{}
	LoadEnv(func(k string) string { read[k] = true; return "" })
	vars := Vars()
	for _, v := range vars {
		if !read[v] {
			t.Errorf("Vars lists %s but LoadEnv never reads it", v)
		}
	}
	for k := range read {
		if !slices.Contains(vars, k) {
			t.Errorf("LoadEnv reads %s but Vars does not list it", k)
		}
	}
	for _, v := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL", "GITHUB_API_URL", "GITHUB_TOKEN",
		"INFISICAL_SITE_URL", "INFISICAL_CLIENT_ID", "INFISICAL_CLIENT_SECRET", "INFISICAL_PROJECT_ID",
		"HEROKU_API_URL", "HEROKU_API_KEY", "ROTABOT_CONFIG", "ROTABOT_DB", "ROTABOT_REMINDER_INTERVAL",
		"DATABASE_URL", "ROTABOT_CLAIM_TTL", "ROTABOT_DRIFT_INTERVAL"} {
		if !slices.Contains(vars, v) {
			t.Errorf("Vars misses %s, which the environment table of docs/configuration.md lists", v)
		}
	}
	if len(vars) != 21 {
		t.Errorf("Vars has %d names: %v", len(vars), vars)
	}
}

func TestRequire(t *testing.T) {
	both := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{
		"A": {Consumers: rotation.Consumers{HerokuApps: []string{"raxx-console-prod", "raxx-console-staging"}, GitHubSecrets: []string{"raxx-app/TradeMasterAPI"}}},
		"B": {Consumers: rotation.Consumers{HerokuApps: []string{"raxx-console-prod"}, ShellRCOperators: []string{"U0OP"}}},
	}}
	shellOnly := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{
		"A": {Consumers: rotation.Consumers{ShellRCOperators: []string{"U0OP"}}},
	}}
	named := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{
		"A": {Consumers: rotation.Consumers{HerokuApps: []string{"raxx-console-prod:GITHUB_TOKEN", "raxx-console-staging"}, GitHubSecrets: []string{"raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN"}}},
		"B": {Consumers: rotation.Consumers{HerokuApps: []string{"raxx-console-prod"}, GitHubSecrets: []string{"raxx-app/TradeMasterAPI:GH_API_DISPATCH_TOKEN"}}},
	}}
	full := Env{
		SlackAppToken: "xapp-1-AAAAsecretapp", SlackBotToken: "xoxb-1-BBBBsecretbot",
		GitHubToken: "ghp_CCCCsecretgithub", HerokuAPIKey: "DDDDsecretheroku",
		InfisicalClientID: "EEEEid", InfisicalClientSecret: "FFFFsecretinfisical", InfisicalProjectID: "GGGGproject",
	}
	slackApp := "SLACK_APP_TOKEN is not set — rotabot serve needs the Slack app-level token (xapp-…, scope connections:write) to open its Socket Mode connection"
	slackBot := "SLACK_BOT_TOKEN is not set — rotabot serve needs the Slack bot token (xoxb-…) to post and update messages"
	github := "GITHUB_TOKEN is not set — it writes the GitHub Actions secrets of raxx-app/TradeMasterAPI and needs secrets:write there (or set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY to write them as a GitHub App)"
	heroku := "HEROKU_API_KEY is not set — it sets the config vars of the Heroku apps raxx-console-prod and raxx-console-staging"
	infID := "INFISICAL_CLIENT_ID is not set — it is the client id of the Infisical machine identity (universal auth) that reads and writes the secrets"
	infSecret := "INFISICAL_CLIENT_SECRET is not set — it is the client secret of the Infisical machine identity (universal auth) that reads and writes the secrets"
	infProject := "INFISICAL_PROJECT_ID is not set — it names the Infisical project that holds the secrets"
	swapped := full
	swapped.SlackAppToken, swapped.SlackBotToken = full.SlackBotToken, full.SlackAppToken

	for _, c := range []struct {
		name     string
		env      Env
		m        *rotation.Matrix
		forServe bool
		want     []string
	}{
		{"nothing set, serving both kinds", Env{}, both, true, []string{slackApp, slackBot, github, heroku, infID, infSecret, infProject}},
		{"nothing set, CLI", Env{}, both, false, []string{github, heroku, infID, infSecret, infProject}},
		{"entries naming the variable name each repository and app once", Env{}, named, false, []string{github, heroku, infID, infSecret, infProject}},
		{"shell rc only needs no GitHub or Heroku credential", Env{}, shellOnly, false, []string{infID, infSecret, infProject}},
		{"no matrix yet", Env{}, nil, false, []string{infID, infSecret, infProject}},
		{"everything set", full, both, true, nil},
		{"Slack tokens swapped", swapped, both, true, []string{
			"SLACK_APP_TOKEN holds a xoxb-… token, not a xapp-… token — copy it from the Slack app's Basic Information → App-Level Tokens",
			"SLACK_BOT_TOKEN holds a xapp-… token, not a xoxb-… token — copy it from the Slack app's OAuth & Permissions → Bot User OAuth Token",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.env.Require(c.m, c.forServe)
			if !slices.Equal(got, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			all := strings.Join(got, "\n")
			for _, secret := range []string{"AAAA", "BBBB", "CCCC", "DDDD", "FFFF"} {
				if strings.Contains(all, secret) {
					t.Errorf("a problem line repeats a credential (%s)", secret)
				}
			}
		})
	}
}

func TestLoadFromEnv(t *testing.T) {
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := base64.StdEncoding.EncodeToString(example)
	var lines []string
	for len(wrapped) > 76 {
		lines, wrapped = append(lines, wrapped[:76]), wrapped[76:]
	}
	wrapped = strings.Join(append(lines, wrapped), "\n") + "\n"
	broken := secretDoc("    kind: clasic\n    consumers: {heroku_apps: [raxx-console-prod]}\n")
	brokenWant := []string{`ROTABOT_CONFIG:8: TOKEN: kind "clasic" is not a token kind — did you mean classic?`}

	for _, c := range []struct {
		name  string
		value string
		want  []string // problems; nil: loads clean
	}{
		{"path", exampleFile, nil},
		{"inline YAML", string(example), nil},
		{"inline flow YAML on one line", `{ops_usergroup: S0OPS, channel: C0OPS, vault: {environment: prod, path: /p/}, secrets: {T: {kind: classic, scopes: [repo], consumers: {heroku_apps: [raxx-console-prod]}}}}`, nil},
		{"base64", base64.StdEncoding.EncodeToString(example), nil},
		{"base64 wrapped at 76 columns", wrapped, nil},
		{"base64 URL alphabet without padding", base64.RawURLEncoding.EncodeToString(example), nil},
		{"inline problems are named ROTABOT_CONFIG", broken, brokenWant},
		{"base64 problems are named ROTABOT_CONFIG", base64.StdEncoding.EncodeToString([]byte(broken)), brokenWant},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, probs, err := Source{From: FromEnv, Value: c.value}.Load()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if c.want == nil && (m == nil || len(m.Secrets) == 0) {
				t.Errorf("no matrix: %+v", m)
			}
		})
	}
}

func TestSourceOf(t *testing.T) {
	lookup := func(env map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
	for _, c := range []struct {
		name      string
		flag      string
		flagGiven bool
		env       map[string]string
		want      Source
	}{
		{"nothing set", "", false, nil, Source{From: FromDefault, Value: "rotabot.yaml"}},
		{"the variable", "", false, map[string]string{"ROTABOT_CONFIG": "/etc/r.yaml"}, Source{From: FromEnv, Value: "/etc/r.yaml"}},
		{"the variable set to nothing", "", false, map[string]string{"ROTABOT_CONFIG": ""}, Source{From: FromEnv, Value: ""}},
		{"the flag wins", "x.yaml", true, map[string]string{"ROTABOT_CONFIG": "/etc/r.yaml"}, Source{From: FromFlag, Value: "x.yaml"}},
	} {
		if got := SourceOf(c.flag, c.flagGiven, lookup(c.env)); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestSourceDefaultPath(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rotabot.yaml"), example, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	src := Source{From: FromDefault, Value: DefaultConfigPath}
	m, probs, err := src.Load()
	if err != nil || len(probs) > 0 || m == nil {
		t.Fatalf("the default should load ./rotabot.yaml: %v %v", probs, err)
	}
	if src.Name() != "rotabot.yaml" {
		t.Errorf("named %q", src.Name())
	}
	if n := (Source{From: FromEnv, Value: string(example)}).Name(); n != "ROTABOT_CONFIG" {
		t.Errorf("inline YAML from ROTABOT_CONFIG is named %q", n)
	}
	if n := (Source{From: FromFlag, Value: base64.StdEncoding.EncodeToString(example)}).Name(); n != "--config" {
		t.Errorf("base64 from --config is named %q", n)
	}
}

// Each way a ROTABOT_CONFIG (or --config) value can be wrong has its own
// message: empty, base64 of something else, base64 cut short.
func TestSourceValueMistakes(t *testing.T) {
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString(example)
	cutAt := strings.Index(string(example), "secrets:") + 40 // in the middle of a line
	cut := base64.StdEncoding.EncodeToString(example[:cutAt])
	cut = cut[:len(cut)-4] + strings.TrimRight(cut[len(cut)-4:], "=")
	for len(cut)%4 != 1 { // no base64 is 4n+1 long: what a lost last character leaves
		cut = cut[:len(cut)-1]
	}
	for _, c := range []struct {
		name string
		src  Source
		want string
	}{
		{"ROTABOT_CONFIG set but empty", Source{From: FromEnv, Value: "  \n"},
			"ROTABOT_CONFIG is set but empty — it should hold the routing matrix: a path, the YAML, or base64 of it. An empty value is what $(base64 -w0 rotabot.yaml) leaves when base64 fails (macOS's base64 has no -w: use base64 -i rotabot.yaml | tr -d '\\n'); unset it to read ./rotabot.yaml"},
		{"--config empty", Source{From: FromFlag, Value: ""}, "--config is empty — give the routing matrix's path (or its YAML, or base64 of it)"},
		{"base64 of text that is not a matrix", Source{From: FromEnv, Value: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("not a routing matrix at all. "), 4))},
			"ROTABOT_CONFIG holds base64, but it decodes to text that is not a routing matrix (no ops_usergroup, channel, vault or secrets) — encode the routing matrix file itself, e.g. base64 -w0 rotabot.yaml"},
		{"base64 of binary data", Source{From: FromEnv, Value: base64.StdEncoding.EncodeToString([]byte{0x1f, 0x8b, 0x08, 0, 0xff, 0xfe, 0x80, 0x81, 0x90, 0x91, 0xa0, 0xb1})},
			"ROTABOT_CONFIG holds base64, but it decodes to binary data, not YAML — encode the routing matrix file itself, e.g. base64 -w0 rotabot.yaml"},
		{"base64 encoded twice", Source{From: FromFlag, Value: base64.StdEncoding.EncodeToString([]byte(enc))},
			"--config holds base64, but it decodes to more base64: it was encoded twice — encode the routing matrix file itself, e.g. base64 -w0 rotabot.yaml"},
		{"base64 cut short", Source{From: FromEnv, Value: cut},
			"ROTABOT_CONFIG holds base64 of a routing matrix that looks cut short: it decodes to "},
		{"base64 cut short at a multiple of 4", Source{From: FromEnv, Value: enc[:len(enc)/2/4*4]},
			"ROTABOT_CONFIG holds base64 of a routing matrix that looks cut short: it decodes to "},
		{"base64 cut short where what is left parses", Source{From: FromEnv, Value: base64.StdEncoding.EncodeToString(example[:strings.Index(string(example), "# Optional HTTP checks")+10])},
			"ROTABOT_CONFIG holds base64 of a routing matrix that looks cut short: it decodes to "},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, probs, err := c.src.Load()
			got := rotation.ErrorMessage(err)
			if !strings.HasPrefix(got, c.want) || (strings.HasSuffix(c.want, ".yaml") || strings.HasSuffix(c.want, "of it)")) && got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if strings.Contains(c.name, "cut short") && !strings.Contains(got, "lines and stops in the middle of one") {
				t.Errorf("the cut is not described: %q", got)
			}
			if m != nil || probs != nil {
				t.Errorf("matrix %v problems %v", m, probs)
			}
		})
	}
	// A path that is not there stays a path, even base64-shaped.
	_, _, err = Source{From: FromEnv, Value: "rotabotconfig"}.Load()
	if got := rotation.ErrorMessage(err); !strings.HasPrefix(got, "cannot read the routing matrix rotabotconfig (ROTABOT_CONFIG): there is no such file") {
		t.Errorf("a short missing path: %q", got)
	}
}

func TestGitHubWebURL(t *testing.T) {
	for api, web := range map[string]string{
		"":                                    "https://github.com",
		"https://api.github.com":              "https://github.com",
		"https://api.github.com/":             "https://github.com",
		"https://github.raxx.app/api/v3":      "https://github.raxx.app",
		"https://github.raxx.app/api/v3/":     "https://github.raxx.app",
		"https://api.raxx.ghe.com":            "https://raxx.ghe.com",
		"http://127.0.0.1:4010":               "http://127.0.0.1:4010",
		"https://ghe.internal:8443/gh/api/v3": "https://ghe.internal:8443/gh",
	} {
		e, probs := LoadEnv(envOf(map[string]string{"GITHUB_API_URL": api}))
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		if got := e.GitHubWebURL(); got != web {
			t.Errorf("GITHUB_API_URL=%q: web %q, want %q", api, got, web)
		}
	}
}
