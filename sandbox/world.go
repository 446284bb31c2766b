package sandbox

import (
	"net/http"
	"strings"
	"sync"

	"github.com/raxx-app/rotabot/sandbox/github"
	"github.com/raxx-app/rotabot/sandbox/heroku"
	"github.com/raxx-app/rotabot/sandbox/infisical"
	"github.com/raxx-app/rotabot/sandbox/internal/standin"
	"github.com/raxx-app/rotabot/sandbox/slack"
)

// World is all four stand-ins started together, each with made-up credentials:
// what `rotabot demo` and the end-to-end tests run against. Seeding (users,
// tokens, apps, vault values) is the caller's.
type World struct {
	Slack     *slack.Slack
	GitHub    *github.GitHub
	Infisical *infisical.Infisical
	Heroku    *heroku.Heroku

	BotToken, AppToken     string
	GitHubAdminToken       string
	HerokuAPIKey           string
	ClientID, ClientSecret string
	ProjectID              string
}

// RandomHex returns n random bytes as hex: made-up credentials and tokens.
func RandomHex(n int) string { return standin.RandomHex(n) }

// NewWorld starts the four stand-ins on 127.0.0.1.
func NewWorld() *World {
	w := &World{
		BotToken:         "xoxb-" + RandomHex(6) + "-" + RandomHex(12),
		AppToken:         "xapp-1-" + RandomHex(12),
		GitHubAdminToken: "ghp_" + RandomHex(18),
		HerokuAPIKey:     RandomHex(16),
		ClientID:         RandomHex(8),
		ClientSecret:     RandomHex(16),
		ProjectID:        "proj-" + RandomHex(6),
	}
	w.Slack = slack.New(w.BotToken, w.AppToken)
	w.GitHub = github.New()
	w.GitHub.SetAdminToken(w.GitHubAdminToken)
	w.Infisical = infisical.New(w.ClientID, w.ClientSecret, w.ProjectID)
	w.Heroku = heroku.New(w.HerokuAPIKey)
	return w
}

// Env is the environment that points rotabot at the stand-ins.
func (w *World) Env() map[string]string {
	return map[string]string{
		"SLACK_APP_TOKEN":         w.AppToken,
		"SLACK_BOT_TOKEN":         w.BotToken,
		"SLACK_API_URL":           w.Slack.APIURL(),
		"GITHUB_API_URL":          w.GitHub.URL,
		"GITHUB_TOKEN":            w.GitHubAdminToken,
		"INFISICAL_SITE_URL":      w.Infisical.URL,
		"INFISICAL_CLIENT_ID":     w.ClientID,
		"INFISICAL_CLIENT_SECRET": w.ClientSecret,
		"INFISICAL_PROJECT_ID":    w.ProjectID,
		"HEROKU_API_URL":          w.Heroku.URL,
		"HEROKU_API_KEY":          w.HerokuAPIKey,
	}
}

// Credentials lists every credential of the world, for leak checks.
func (w *World) Credentials() []string {
	return []string{w.BotToken, w.AppToken, w.GitHubAdminToken, w.HerokuAPIKey, w.ClientSecret}
}

// Close stops every stand-in.
func (w *World) Close() {
	w.Slack.Close()
	w.GitHub.Close()
	w.Infisical.Close()
	w.Heroku.Close()
}

// Console is a stand-in of the services a routing matrix's verify checks call —
// by default the ops console's build-status endpoint, the SOP's step 6 check:
// GET /api/status/builds answers 200 with the right session cookie, 401 without
// it. Guard adds the paths of other checks.
type Console struct {
	*standin.Server
	Cookie string

	mu     sync.Mutex
	guards map[string]consoleGuard
}

type consoleGuard struct {
	status  int
	headers []string
}

// NewConsole starts the console stand-in; cookie is the ops session it accepts.
func NewConsole(cookie string) *Console {
	c := &Console{Cookie: cookie, guards: map[string]consoleGuard{}}
	c.Server = standin.NewServer(func(status int) any { return map[string]any{"error": http.StatusText(status)} })
	c.Handle("GET /", c.answer)
	c.Guard("/api/status/builds", http.StatusOK, "Cookie")
	return c
}

func (c *Console) answer(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	g, ok := c.guards[r.URL.Path]
	c.mu.Unlock()
	if !ok {
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "Not Found"})
		return
	}
	for _, h := range g.headers {
		if r.Header.Get(h) != c.Cookie {
			standin.WriteJSON(w, http.StatusUnauthorized, map[string]any{"error": "not signed in"})
			return
		}
	}
	standin.WriteJSON(w, g.status, map[string]any{"builds": map[string]any{"api": []any{map[string]any{"conclusion": "success"}}}})
}

// Guard makes GET path answer status when every named header holds the console's
// session value (with no header named, to anyone), and 401 otherwise. The path
// is its own route ("GET /api/status/builds") for Fail and Count.
func (c *Console) Guard(path string, status int, headers ...string) {
	c.mu.Lock()
	_, known := c.guards[path]
	c.guards[path] = consoleGuard{status: status, headers: append([]string(nil), headers...)}
	c.mu.Unlock()
	if !known && path != "/" && !strings.ContainsAny(path, "{}") {
		c.Handle("GET "+path, c.answer)
	}
}

// Sink is a host that is none of the APIs rotabot speaks: it answers 200 with an
// empty JSON object to every request and keeps each one. A test points a redirect
// (or a disguised URL) at it and then checks that it received nothing: a credential
// sent there would be a credential leaked.
type Sink struct{ *standin.Server }

// NewSink starts a sink on 127.0.0.1.
func NewSink() *Sink {
	s := &Sink{Server: standin.NewServer(func(int) any { return map[string]any{} })}
	s.Handle("/", func(w http.ResponseWriter, _ *http.Request) { standin.WriteJSON(w, http.StatusOK, map[string]any{}) })
	return s
}
