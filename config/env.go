package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/rotation"
)

// Env is rotabot's environment (SPEC §5) with its defaults applied. URLs are
// normalised: SlackAPIURL ends with "/" (slack-go joins method names onto it), every
// other URL has no trailing slash.
type Env struct {
	SlackAppToken         string
	SlackBotToken         string
	SlackAPIURL           string
	GitHubAPIURL          string
	GitHubToken           string
	InfisicalSiteURL      string
	InfisicalClientID     string
	InfisicalClientSecret string
	InfisicalProjectID    string
	HerokuAPIURL          string
	HerokuAPIKey          string
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
}

// Defaults of SPEC §5.
const (
	DefaultSlackAPIURL      = "https://slack.com/api/"
	DefaultGitHubAPIURL     = "https://api.github.com"
	DefaultInfisicalSiteURL = "https://app.infisical.com"
	DefaultHerokuAPIURL     = "https://api.heroku.com"
	DefaultConfigPath       = "rotabot.yaml"
	DefaultDBPath           = "rotabot.db"
	DefaultReminderInterval = time.Hour
	DefaultClaimTTL         = 30 * time.Second
	// MinClaimTTL keeps a claim from expiring between two renewals (every third
	// of it) of a busy process.
	MinClaimTTL = time.Second
)

const (
	envConfig           = "ROTABOT_CONFIG"
	envReminderInterval = "ROTABOT_REMINDER_INTERVAL"
	envClaimTTL         = "ROTABOT_CLAIM_TTL"
)

type urlStyle int

const (
	notURL urlStyle = iota
	urlWithSlash
	urlWithoutSlash
)

// envVar is one variable rotabot reads; the table is the one list LoadEnv, Require
// and Vars share, so app.json and the code cannot drift apart.
type envVar struct {
	name  string
	def   string
	url   urlStyle
	field func(*Env) *string
}

var envVars = []envVar{
	{"SLACK_APP_TOKEN", "", notURL, func(e *Env) *string { return &e.SlackAppToken }},
	{"SLACK_BOT_TOKEN", "", notURL, func(e *Env) *string { return &e.SlackBotToken }},
	{"SLACK_API_URL", DefaultSlackAPIURL, urlWithSlash, func(e *Env) *string { return &e.SlackAPIURL }},
	{"GITHUB_API_URL", DefaultGitHubAPIURL, urlWithoutSlash, func(e *Env) *string { return &e.GitHubAPIURL }},
	{"GITHUB_TOKEN", "", notURL, func(e *Env) *string { return &e.GitHubToken }},
	{"INFISICAL_SITE_URL", DefaultInfisicalSiteURL, urlWithoutSlash, func(e *Env) *string { return &e.InfisicalSiteURL }},
	{"INFISICAL_CLIENT_ID", "", notURL, func(e *Env) *string { return &e.InfisicalClientID }},
	{"INFISICAL_CLIENT_SECRET", "", notURL, func(e *Env) *string { return &e.InfisicalClientSecret }},
	{"INFISICAL_PROJECT_ID", "", notURL, func(e *Env) *string { return &e.InfisicalProjectID }},
	{"HEROKU_API_URL", DefaultHerokuAPIURL, urlWithoutSlash, func(e *Env) *string { return &e.HerokuAPIURL }},
	{"HEROKU_API_KEY", "", notURL, func(e *Env) *string { return &e.HerokuAPIKey }},
	{envConfig, DefaultConfigPath, notURL, func(e *Env) *string { return &e.ConfigPath }},
	{"ROTABOT_DB", DefaultDBPath, notURL, func(e *Env) *string { return &e.DBPath }},
	// Not checked as a URL here: it holds a password, and the PostgreSQL store
	// says what is wrong with it without repeating it.
	{"DATABASE_URL", "", notURL, func(e *Env) *string { return &e.DatabaseURL }},
}

// Vars returns the name of every environment variable rotabot reads.
func Vars() []string {
	names := make([]string, 0, len(envVars)+2)
	for _, v := range envVars {
		names = append(names, v.name)
	}
	return append(names, envReminderInterval, envClaimTTL)
}

// LoadEnv reads the environment through getenv (os.Getenv, or a map in tests),
// applies the defaults and returns a problem line for each value that cannot work.
// A variable with a problem keeps its default. Values are trimmed of surrounding
// spaces and line breaks, which copy and paste into a dashboard often adds.
func LoadEnv(getenv func(string) string) (Env, []string) {
	var e Env
	var probs []string
	for _, v := range envVars {
		val := strings.TrimSpace(getenv(v.name))
		if val == "" {
			val = v.def
		} else if v.url != notURL {
			norm, problem := normaliseURL(v.name, val, v.def, v.url)
			if problem != "" {
				probs = append(probs, problem)
				norm = v.def
			}
			val = norm
		}
		*v.field(&e) = val
	}

	e.ReminderInterval = DefaultReminderInterval
	if raw := strings.TrimSpace(getenv(envReminderInterval)); raw != "" {
		d, err := time.ParseDuration(raw)
		switch {
		case err != nil:
			probs = append(probs, fmt.Sprintf("%s=%q is not a duration — use a Go duration like 1h or 30s", envReminderInterval, raw))
		case d <= 0:
			probs = append(probs, fmt.Sprintf("%s=%q must be positive — use a Go duration like 1h or 30s", envReminderInterval, raw))
		default:
			e.ReminderInterval = d
		}
	}

	e.ClaimTTL = DefaultClaimTTL
	if raw := strings.TrimSpace(getenv(envClaimTTL)); raw != "" {
		d, err := time.ParseDuration(raw)
		switch {
		case err != nil:
			probs = append(probs, fmt.Sprintf("%s=%q is not a duration — use a Go duration like 30s", envClaimTTL, raw))
		case d < MinClaimTTL:
			probs = append(probs, fmt.Sprintf("%s=%q is too short — use at least %s (the default, %s, suits production)", envClaimTTL, raw, MinClaimTTL, DefaultClaimTTL))
		default:
			e.ClaimTTL = d
		}
	}
	return e, probs
}

// normaliseURL checks an API base URL and gives it the trailing slash its client wants.
func normaliseURL(name, raw, def string, style urlStyle) (string, string) {
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
	var repos, apps []string
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
	}
	if len(repos) > 0 && e.GitHubToken == "" {
		out = append(out, "GITHUB_TOKEN is not set — it writes the GitHub Actions secrets of "+listOf(repos)+" and needs secrets:write there")
	}
	if len(apps) > 0 && e.HerokuAPIKey == "" {
		out = append(out, "HEROKU_API_KEY is not set — it sets the config vars of the Heroku apps "+listOf(apps))
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

type sourceKind int

const (
	fromPath sourceKind = iota
	fromInline
	fromBase64
)

var (
	matrixStartRe = regexp.MustCompile(`(?m)^(ops_usergroup|channel|audit_channel|reminders|vault|secrets)[ \t]*:`)
	base64Re      = regexp.MustCompile(`^[A-Za-z0-9+/_-]+=*$`)
)

// classify tells what ROTABOT_CONFIG holds: a path, the YAML itself (it has a line
// break or starts like a routing matrix), or base64 of the YAML (wrapped or not,
// standard or URL alphabet). Base64 is tried first, since its alphabet cannot hold a
// YAML key's colon; a path that happens to be base64-shaped decodes to no matrix and
// stays a path.
func classify(v string) (sourceKind, []byte) {
	compact := strings.Join(strings.Fields(v), "")
	if len(compact) >= 8 && base64Re.MatchString(compact) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(compact); err == nil && utf8.Valid(b) && looksLikeMatrix(string(b)) {
				return fromBase64, b
			}
		}
	}
	if strings.ContainsAny(v, "\r\n") || looksLikeMatrix(v) {
		return fromInline, []byte(v)
	}
	return fromPath, nil
}

func looksLikeMatrix(s string) bool {
	t := strings.TrimSpace(s)
	return matrixStartRe.MatchString(s) || strings.HasPrefix(t, "---") || strings.HasPrefix(t, "{")
}

// LoadFromEnv loads the routing matrix from what ROTABOT_CONFIG holds: a path
// (default rotabot.yaml), the YAML itself, or base64 of it (for dashboards that keep
// config vars on one line). Problems in inline or base64 YAML are named
// "ROTABOT_CONFIG:LINE: …". The error is for a file that cannot be read.
func LoadFromEnv(value string) (*rotation.Matrix, []Problem, error) {
	value = strings.TrimSpace(value)
	kind, data := classify(value)
	switch kind {
	case fromInline, fromBase64:
		m, probs := Parse(envConfig, data)
		return m, probs, nil
	}
	if value == "" {
		value = DefaultConfigPath
	}
	m, probs, err := Load(value)
	if err != nil && len(value) > 64 && base64Re.MatchString(value) {
		return nil, nil, rotation.Wrap(rotation.EINVALID, err,
			"%s looks like base64 but does not decode to a routing matrix — encode the whole file, e.g. base64 -w0 rotabot.yaml", envConfig)
	}
	return m, probs, err
}
