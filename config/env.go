package config

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// Env is rotabot's environment (EnvVars) with its defaults applied. URLs are
// normalised: SlackAPIURL ends with "/" (slack-go joins method names onto it), every
// other URL has no trailing slash.
type Env struct {
	SlackAppToken string
	SlackBotToken string
	SlackAPIURL   string
	GitHubAPIURL  string
	GitHubToken   string
	// GitHubAppID, GitHubAppPrivateKey (PEM, decoded from base64 when given
	// so) and GitHubAppInstallationID (0: found from the routing matrix's
	// organisation) make rotabot write to GitHub as a GitHub App installation
	// instead of with GitHubToken. The key is a secret: never print it.
	GitHubAppID             int64
	GitHubAppPrivateKey     string
	GitHubAppInstallationID int64
	InfisicalSiteURL        string
	InfisicalClientID       string
	InfisicalClientSecret   string
	InfisicalProjectID      string
	HerokuAPIURL            string
	HerokuAPIKey            string
	// ConfigPath is ROTABOT_CONFIG as given: a path, or the YAML itself, or base64
	// of it. Hand it to LoadFromEnv.
	ConfigPath       string
	DBPath           string
	ReminderInterval time.Duration
	// DatabaseURL, when set, makes PostgreSQL the store instead of the bbolt file
	// at DBPath. It holds a password: never print it.
	DatabaseURL string
	// ClaimTTL is how long a process's claim on a run lasts without renewal: after
	// a process dies, another takes its runs over within about this long.
	ClaimTTL time.Duration
	// DriftInterval is how often the drift pass runs; 0 turns it off.
	DriftInterval time.Duration
	// LogFormat is LogJSON, LogText, or "" to choose by whether stderr is a
	// terminal.
	LogFormat string
}

// Defaults of the environment (the environment table of docs/configuration.md).
const (
	DefaultSlackAPIURL      = "https://slack.com/api/"
	DefaultGitHubAPIURL     = "https://api.github.com"
	DefaultInfisicalSiteURL = "https://app.infisical.com"
	DefaultHerokuAPIURL     = "https://api.heroku.com"
	DefaultConfigPath       = "rotabot.yaml"
	DefaultDBPath           = "rotabot.db"
	DefaultReminderInterval = time.Hour
	DefaultClaimTTL         = 30 * time.Second
	DefaultDriftInterval    = 6 * time.Hour
	// MinClaimTTL keeps a claim from expiring between two renewals (every third
	// of it) of a busy process.
	MinClaimTTL = time.Second
)

// Log formats ROTABOT_LOG_FORMAT may name.
const (
	LogJSON = "json"
	LogText = "text"
)

const (
	envConfig           = "ROTABOT_CONFIG"
	envReminderInterval = "ROTABOT_REMINDER_INTERVAL"
	envClaimTTL         = "ROTABOT_CLAIM_TTL"
	envDriftInterval    = "ROTABOT_DRIFT_INTERVAL"
	envLogFormat        = "ROTABOT_LOG_FORMAT"
)

// Need says when a variable must be set.
type Need string

const (
	Optional         Need = ""               // never: it has a default, or unset means something
	NeedServe        Need = "serve"          // rotabot serve does not start without it
	NeedAlways       Need = "always"         // serve, and every command that reads the vault
	NeedGitHubSecret Need = "github_secrets" // when any secret has github_secrets
	NeedHerokuApp    Need = "heroku_apps"    // when any secret has heroku_apps or is a heroku-api-key
)

// EnvVar describes one environment variable rotabot reads. The table of them,
// EnvVars, is the one list: LoadEnv reads it, `rotabot serve --help` prints it,
// and docs/configuration.md's environment table and app.json's env are checked against it
// (cmd/rotabot's deploy tests), so code, help and deployment files cannot drift.
type EnvVar struct {
	Name string
	// Summary says what it is in one line (`…` marks names of settings and
	// values; Plain removes the marks for a terminal).
	Summary string
	// Description is the longer text the Heroku deploy form shows (app.json).
	Description string
	// Default is the value used when it is unset ("" for none).
	Default string
	// Unset says what happens when it is unset and has no default.
	Unset string
	Need  Need
}

// Plain is s without the `…` marks, for a terminal or a form.
func Plain(s string) string { return strings.ReplaceAll(s, "`", "") }

// When is the environment table's and the help's last column: the default, or when the
// variable is needed.
func (v EnvVar) When() string {
	switch v.Need {
	case NeedServe:
		return "required for `serve`"
	case NeedAlways:
		return "required"
	case NeedGitHubSecret:
		return "required if any `github_secrets` and no GitHub App"
	case NeedHerokuApp:
		return "required if any `heroku_apps` or `heroku-api-key`"
	}
	if v.Default != "" {
		return "`" + v.Default + "`"
	}
	return "unset: " + v.Unset
}

type valueKind int

const (
	plainValue valueKind = iota
	urlWithSlash
	urlWithoutSlash
	durationValue
	choiceValue
	idValue  // a positive integer (GitHub's ids)
	keyValue // a PEM private key, or base64 of one
)

// envVar is a table row with how LoadEnv reads it.
type envVar struct {
	EnvVar
	kind valueKind
	str  func(*Env) *string
	dur  func(*Env) *time.Duration
	num  func(*Env) *int64
	// min is the shortest duration allowed (positive when 0); hint follows a problem.
	min time.Duration
	// off: 0 is allowed, and turns the feature off.
	off     bool
	hint    string
	choices []string
}

var envVars = []envVar{
	{EnvVar: EnvVar{Name: "SLACK_APP_TOKEN", Need: NeedServe,
		Summary:     "app-level token `xapp-…` (`connections:write`): opens the Socket Mode connection",
		Description: "Slack app-level token (xapp-…) with the connections:write scope, for the Socket Mode connection. Slack app → Basic Information → App-Level Tokens."},
		str: func(e *Env) *string { return &e.SlackAppToken }},
	{EnvVar: EnvVar{Name: "SLACK_BOT_TOKEN", Need: NeedServe,
		Summary:     "bot token `xoxb-…`: posts and updates the run cards, DMs, answers",
		Description: "Slack bot token (xoxb-…) of the app installed from slack-app-manifest.yaml. Slack app → OAuth & Permissions → Bot User OAuth Token."},
		str: func(e *Env) *string { return &e.SlackBotToken }},
	{EnvVar: EnvVar{Name: "SLACK_API_URL", Default: DefaultSlackAPIURL,
		Summary:     "Slack Web API base",
		Description: "Slack Web API base URL. Keep the default; tests and the demo point it at a local stand-in."},
		kind: urlWithSlash, str: func(e *Env) *string { return &e.SlackAPIURL }},
	{EnvVar: EnvVar{Name: "GITHUB_API_URL", Default: DefaultGitHubAPIURL,
		Summary:     "GitHub REST base (GitHub Enterprise: `https://HOST/api/v3`); its host also names the settings pages in next steps",
		Description: "GitHub REST API base URL. Keep the default for github.com; for GitHub Enterprise Server use https://HOST/api/v3."},
		kind: urlWithoutSlash, str: func(e *Env) *string { return &e.GitHubAPIURL }},
	{EnvVar: EnvVar{Name: "GITHUB_TOKEN", Need: NeedGitHubSecret,
		Summary:     "writes the Actions secrets of `github_secrets` (`secrets:write` on those repositories)",
		Description: "Needed when any secret has github_secrets in the routing matrix: a GitHub token that may write those repositories' Actions secrets (fine-grained: Repository permissions → Secrets: Read and write on exactly those repositories). Leave empty otherwise."},
		str: func(e *Env) *string { return &e.GitHubToken }},
	{EnvVar: EnvVar{Name: envGitHubAppID, Unset: "`GITHUB_TOKEN` writes GitHub's secrets",
		Summary:     "the GitHub App rotabot writes GitHub's secrets as, instead of `GITHUB_TOKEN` (created from `github-app-manifest.json`; its settings → App ID)",
		Description: "Optional, instead of GITHUB_TOKEN: the App ID of the GitHub App rotabot writes GitHub secrets as (create it from github-app-manifest.json; the number on its settings page). Set GITHUB_APP_PRIVATE_KEY with it."},
		kind: idValue, num: func(e *Env) *int64 { return &e.GitHubAppID },
		hint: "use the App ID from the App's settings page (General → About), a number like 123456"},
	{EnvVar: EnvVar{Name: envGitHubAppKey, Unset: "no GitHub App",
		Summary:     "that App's private key: the `.pem` file from its settings → Private keys, or base64 of it",
		Description: "The GitHub App's private key: the whole .pem file its settings page made (Private keys → Generate a private key), or base64 -w0 of it. A secret: it is the App."},
		kind: keyValue, str: func(e *Env) *string { return &e.GitHubAppPrivateKey }},
	{EnvVar: EnvVar{Name: envGitHubAppInstallation, Unset: "found from the routing matrix's organisation",
		Summary:     "the App's installation rotabot uses (the number ending its settings URL)",
		Description: "Optional: the id of the GitHub App's installation rotabot uses (the number at the end of the installation's settings URL). Unset, rotabot finds the installation on the organisation the routing matrix's GitHub secrets belong to."},
		kind: idValue, num: func(e *Env) *int64 { return &e.GitHubAppInstallationID },
		hint: "use the number at the end of the installation's settings URL (…/settings/installations/12345678), or unset it to find the installation from the routing matrix's organisation"},
	{EnvVar: EnvVar{Name: "INFISICAL_SITE_URL", Default: DefaultInfisicalSiteURL,
		Summary:     "Infisical base, without `/api`",
		Description: "Infisical base URL: https://app.infisical.com (US cloud), https://eu.infisical.com (EU cloud) or your own instance."},
		kind: urlWithoutSlash, str: func(e *Env) *string { return &e.InfisicalSiteURL }},
	{EnvVar: EnvVar{Name: "INFISICAL_CLIENT_ID", Need: NeedAlways,
		Summary:     "client id of the Infisical machine identity (Universal Auth)",
		Description: "Client ID of the Infisical machine identity (Universal Auth) that reads and writes the secrets' folder and the pending folder (/rotabot/pending/)."},
		str: func(e *Env) *string { return &e.InfisicalClientID }},
	{EnvVar: EnvVar{Name: "INFISICAL_CLIENT_SECRET", Need: NeedAlways,
		Summary:     "client secret of that machine identity",
		Description: "Client secret of that Infisical machine identity (Universal Auth)."},
		str: func(e *Env) *string { return &e.InfisicalClientSecret }},
	{EnvVar: EnvVar{Name: "INFISICAL_PROJECT_ID", Need: NeedAlways,
		Summary:     "the Infisical project holding the secrets",
		Description: "ID of the Infisical project that holds the secrets (Project Settings → Project ID)."},
		str: func(e *Env) *string { return &e.InfisicalProjectID }},
	{EnvVar: EnvVar{Name: "HEROKU_API_URL", Default: DefaultHerokuAPIURL,
		Summary:     "Heroku Platform API base",
		Description: "Heroku Platform API base URL. Keep the default."},
		kind: urlWithoutSlash, str: func(e *Env) *string { return &e.HerokuAPIURL }},
	{EnvVar: EnvVar{Name: "HEROKU_API_KEY", Need: NeedHerokuApp,
		Summary:     "sets the config vars of `heroku_apps`, and makes and deletes the keys of `heroku-api-key` secrets (a long-lived key: `heroku authorizations:create`)",
		Description: "Needed when any secret has heroku_apps, or is of kind heroku-api-key, in the routing matrix: a long-lived Heroku API key (heroku authorizations:create -d rotabot) of an account that may change those apps' config vars; for heroku-api-key secrets, of the same account as their keys and of global scope (the default). Leave empty otherwise."},
		str: func(e *Env) *string { return &e.HerokuAPIKey }},
	{EnvVar: EnvVar{Name: envConfig, Default: DefaultConfigPath,
		Summary:     "the routing matrix: a path, the YAML, or base64 of it (`--config` wins over it)",
		Description: "The routing matrix (see rotabot.example.yaml): a path, the YAML itself, or base64 of it. A dyno has no file of yours unless it is committed, so on Heroku set it to base64 -w0 rotabot.yaml; the default names a rotabot.yaml committed at the root of the repository."},
		str: func(e *Env) *string { return &e.ConfigPath }},
	{EnvVar: EnvVar{Name: "ROTABOT_DB", Default: DefaultDBPath,
		Summary:     "the bbolt file, when `DATABASE_URL` is not set",
		Description: "Path of rotabot's bbolt file (runs, audit entries, expiry records), used when DATABASE_URL is not set. On Heroku it lives on the dyno's disk and is lost at every restart: see docs/configuration.md, \"Which store\"."},
		str: func(e *Env) *string { return &e.DBPath }},
	// Not checked as a URL here: it holds a password, and the PostgreSQL store
	// says what is wrong with it without repeating it.
	{EnvVar: EnvVar{Name: "DATABASE_URL", Unset: "the bbolt file",
		Summary:     "PostgreSQL instead of the bbolt file; several processes may share it",
		Description: "Optional: a PostgreSQL URL. When set, rotabot keeps runs, audit entries and expiry records there instead of the bbolt file ROTABOT_DB, so they survive dyno restarts. Heroku Postgres sets it when attached."},
		str: func(e *Env) *string { return &e.DatabaseURL }},
	{EnvVar: EnvVar{Name: envReminderInterval, Default: "1h",
		Summary:     "how often expiry is checked, and the runs due are started (Go duration)",
		Description: "How often token expiry is checked for reminders, and the runs due by auto_start_days are started, as a Go duration (1h, 30m)."},
		kind: durationValue, dur: func(e *Env) *time.Duration { return &e.ReminderInterval }, hint: "use a Go duration like 1h or 30s"},
	{EnvVar: EnvVar{Name: envClaimTTL, Default: "30s",
		Summary:     "how long a process's claim on a run lasts without renewal; after a crash another process takes the run over within about this long (Go duration)",
		Description: "How long a process's claim on a run lasts without renewal, as a Go duration: when a process dies, another takes its runs over within about this long."},
		kind: durationValue, dur: func(e *Env) *time.Duration { return &e.ClaimTTL }, min: MinClaimTTL, hint: "use a Go duration like 30s"},
	{EnvVar: EnvVar{Name: envDriftInterval, Default: "6h",
		Summary:     "how often the drift check compares every destination with Infisical (Go duration; `0` turns the periodic check off, `/rotate drift` still runs one)",
		Description: "How often the drift check compares every Heroku config var, GitHub Actions secret and Infisical version with what rotabot last wrote, as a Go duration (6h, 30m); 0 turns the periodic check off (/rotate drift still runs one)."},
		kind: durationValue, dur: func(e *Env) *time.Duration { return &e.DriftInterval }, off: true, hint: "use a Go duration like 6h, or 0 to turn the periodic check off"},
	{EnvVar: EnvVar{Name: envLogFormat, Unset: "JSON lines, or text when stderr is a terminal",
		Summary:     "log lines (on stderr) as `json` or `text`",
		Description: "Optional: the log format, json or text. Unset, logs are JSON lines (what Heroku's log drains expect), or short text lines when stderr is a terminal."},
		kind: choiceValue, str: func(e *Env) *string { return &e.LogFormat }, choices: []string{LogJSON, LogText}},
}

// EnvVars returns the table of every environment variable rotabot reads.
func EnvVars() []EnvVar {
	out := make([]EnvVar, len(envVars))
	for i, v := range envVars {
		out[i] = v.EnvVar
	}
	return out
}

// Vars returns the name of every environment variable rotabot reads.
func Vars() []string {
	names := make([]string, len(envVars))
	for i, v := range envVars {
		names[i] = v.Name
	}
	return names
}

// LoadEnv reads the environment through getenv (os.Getenv, or a map in tests),
// applies the defaults and returns a problem line for each value that cannot work.
// A variable with a problem keeps its default. Values are trimmed of surrounding
// spaces and line breaks, which copy and paste into a dashboard often adds.
func LoadEnv(getenv func(string) string) (Env, []string) {
	e := Env{ReminderInterval: DefaultReminderInterval, ClaimTTL: DefaultClaimTTL, DriftInterval: DefaultDriftInterval}
	var probs []string
	given := map[string]bool{}
	for _, v := range envVars {
		raw := strings.TrimSpace(getenv(v.Name))
		switch v.kind {
		case durationValue:
			if raw == "" {
				continue
			}
			d, err := time.ParseDuration(raw)
			switch {
			case err != nil:
				probs = append(probs, fmt.Sprintf("%s=%q is not a duration — %s", v.Name, raw, v.hint))
			case v.off && d == 0:
				*v.dur(&e) = 0
			case v.min == 0 && d <= 0:
				probs = append(probs, fmt.Sprintf("%s=%q must be positive — %s", v.Name, raw, v.hint))
			case v.min > 0 && d < v.min:
				probs = append(probs, fmt.Sprintf("%s=%q is too short — use at least %s (the default, %s, suits production)", v.Name, raw, v.min, v.Default))
			default:
				*v.dur(&e) = d
			}
			continue
		case idValue, keyValue:
			if raw != "" {
				given[v.Name] = true
				if problem := v.readApp(&e, raw); problem != "" {
					probs = append(probs, problem)
				}
			}
			continue
		case choiceValue:
			if raw != "" && !slices.Contains(v.choices, strings.ToLower(raw)) {
				probs = append(probs, fmt.Sprintf("%s=%q is not one of %s — or unset it for %s", v.Name, raw, strings.Join(v.choices, ", "), v.Unset))
				raw = ""
			}
			*v.str(&e) = strings.ToLower(raw)
			continue
		}
		val := raw
		if val == "" {
			val = v.Default
		} else if v.kind == urlWithSlash || v.kind == urlWithoutSlash {
			norm, problem := normaliseURL(v.Name, val, v.Default, v.kind)
			if problem != "" {
				probs = append(probs, problem)
				norm = v.Default
			}
			val = norm
		}
		*v.str(&e) = val
	}
	return e, append(probs, appProblems(given)...)
}

// normaliseURL checks an API base URL and gives it the trailing slash its client wants.
func normaliseURL(name, raw, def string, style valueKind) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		shown := fmt.Sprintf("%q", raw)
		if err == nil && u.User != nil || strings.Contains(raw, "@") {
			shown = "(a value holding credentials, not shown)"
		}
		return "", fmt.Sprintf("%s=%s is not an http(s) base URL — use e.g. %s", name, shown, def)
	}
	if u.User != nil {
		return "", fmt.Sprintf("%s holds a user name or password — remove them from the URL: credentials go in their own variables", name)
	}
	if _, err := egress.Base(name, raw); err != nil {
		// Plain http would carry the service's credential in clear text.
		return "", fmt.Sprintf("%s=%q uses plain http to %s — use https (plain http is only for a loopback host such as 127.0.0.1)", name, raw, u.Hostname())
	}
	s := strings.TrimRight(u.String(), "/")
	if style == urlWithSlash {
		s += "/"
	}
	return s, ""
}

// Require lists what is missing for the work at hand, one line per variable naming
// what it is for: the Slack tokens when serving, GITHUB_TOKEN when any secret goes
// to a GitHub Actions secret, HEROKU_API_KEY when any goes to a Heroku app, and the
// Infisical identity always. It never repeats a value.
func (e Env) Require(m *rotation.Matrix, forServe bool) []string {
	var out []string
	if forServe {
		out = append(out, slackToken("SLACK_APP_TOKEN", e.SlackAppToken, "xapp-",
			"rotabot serve needs the Slack app-level token (xapp-…, scope connections:write) to open its Socket Mode connection",
			"Basic Information → App-Level Tokens")...)
		out = append(out, slackToken("SLACK_BOT_TOKEN", e.SlackBotToken, "xoxb-",
			"rotabot serve needs the Slack bot token (xoxb-…) to post and update messages",
			"OAuth & Permissions → Bot User OAuth Token")...)
	}
	var repos, apps, keys []string
	if m != nil {
		seenR, seenA := map[string]bool{}, map[string]bool{}
		for _, sc := range m.Secrets {
			// An entry may name the variable after a colon; the message names
			// the repository or app once.
			for _, r := range sc.Consumers.GitHubSecrets {
				r, _, _ = splitEntry(r)
				if !seenR[r] {
					seenR[r] = true
					repos = append(repos, r)
				}
			}
			for _, es := range [][]string{sc.Consumers.GitHubEnvSecrets, sc.Consumers.GitHubOrgSecrets, sc.Consumers.DependabotSecrets} {
				for _, r := range es {
					r, _, _ = cutLastColon(r)
					if !seenR[r] {
						seenR[r] = true
						repos = append(repos, r)
					}
				}
			}
			if sc.Kind == rotation.HerokuAPIKey {
				keys = append(keys, sc.Name)
			}
			for _, a := range sc.Consumers.HerokuApps {
				a, _, _ = splitEntry(a)
				if !seenA[a] {
					seenA[a] = true
					apps = append(apps, a)
				}
			}
		}
		sort.Strings(repos)
		sort.Strings(apps)
		sort.Strings(keys)
	}
	if len(repos) > 0 && !e.HasGitHub() {
		out = append(out, "GITHUB_TOKEN is not set — it writes the GitHub Actions secrets of "+listOf(repos)+" and needs secrets:write there (or set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY to write them as a GitHub App)")
	}
	if len(apps) > 0 && e.HerokuAPIKey == "" {
		out = append(out, "HEROKU_API_KEY is not set — it sets the config vars of the Heroku apps "+listOf(apps))
	} else if len(keys) > 0 && e.HerokuAPIKey == "" {
		out = append(out, "HEROKU_API_KEY is not set — rotabot makes and deletes the Heroku keys of "+listOf(keys)+" with it (a global-scope key of their account)")
	}
	if e.InfisicalClientID == "" {
		out = append(out, "INFISICAL_CLIENT_ID is not set — it is the client id of the Infisical machine identity (universal auth) that reads and writes the secrets")
	}
	if e.InfisicalClientSecret == "" {
		out = append(out, "INFISICAL_CLIENT_SECRET is not set — it is the client secret of the Infisical machine identity (universal auth) that reads and writes the secrets")
	}
	if e.InfisicalProjectID == "" {
		out = append(out, "INFISICAL_PROJECT_ID is not set — it names the Infisical project that holds the secrets")
	}
	return out
}

// slackToken checks one Slack token is set and has the right kind, naming only its
// prefix, never any of the value after it.
func slackToken(name, val, prefix, purpose, where string) []string {
	switch {
	case val == "":
		return []string{name + " is not set — " + purpose}
	case strings.HasPrefix(val, prefix):
		return nil
	}
	got := "something else"
	for _, p := range []string{"xapp-", "xoxb-", "xoxp-", "xoxe"} {
		if strings.HasPrefix(val, p) {
			got = "a " + p + "… token"
		}
	}
	return []string{fmt.Sprintf("%s holds %s, not a %s… token — copy it from the Slack app's %s", name, got, prefix, where)}
}

func listOf(xs []string) string {
	switch len(xs) {
	case 1:
		return xs[0]
	case 2:
		return xs[0] + " and " + xs[1]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// GitHubWebURL is the web address of the GitHub that GITHUB_API_URL names, for
// the pages people open (token settings): https://github.com for api.github.com,
// https://HOST for GitHub Enterprise Server's https://HOST/api/v3, https://SUB.ghe.com
// for GitHub Enterprise Cloud's api.SUB.ghe.com, else the API base itself (a
// stand-in serves both).
func (e Env) GitHubWebURL() string {
	base := e.GitHubAPIURL
	if base == "" {
		base = DefaultGitHubAPIURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return "https://github.com"
	}
	switch {
	case u.Host == "api.github.com":
		return "https://github.com"
	case strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/api/v3"):
		u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v3")
	case strings.HasPrefix(u.Host, "api.") && strings.HasSuffix(u.Hostname(), ".ghe.com"):
		u.Host = strings.TrimPrefix(u.Host, "api.")
	}
	return strings.TrimRight(u.String(), "/")
}
