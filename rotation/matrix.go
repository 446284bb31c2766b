package rotation

import (
	"sort"
	"time"
)

// Matrix is the routing matrix (rotabot.yaml): who may act, where, and for each
// secret the token settings and every consumer of its value. It is loaded and
// checked by package config; here it is plain data.
type Matrix struct {
	OpsUsergroup string
	Channel      string
	AuditChannel string
	Reminders    Reminders
	Vault        VaultSettings
	Heroku       HerokuSettings
	// GitHubWeb is the web address of the GitHub the tokens live on, for the
	// pages people open (GitHubWeb when ""): the command sets it from
	// GITHUB_API_URL, so an Enterprise Server's people are sent to their own.
	GitHubWeb string
	// Secrets by name.
	Secrets map[string]*SecretConfig
}

// Reminders says when owners are reminded of a coming expiry.
type Reminders struct {
	DaysBefore []int
}

// VaultSettings says where secrets live in the vault.
type VaultSettings struct {
	Environment string
	Path        string
	PendingPath string
}

// HerokuSettings bound the waits after a Heroku config var is set: Heroku makes a
// release, which may run a release phase, then restarts the app's dynos onto it.
type HerokuSettings struct {
	// ReleaseTimeout is how long a release may stay pending.
	ReleaseTimeout time.Duration
	// RestartTimeout is how long the dynos may take to run the release and be up.
	RestartTimeout time.Duration
}

// SecretConfig is one secret of the routing matrix.
type SecretConfig struct {
	Name          string
	Kind          TokenKind
	Owners        []string
	ExpiresInDays int
	ResourceOwner string
	Repositories  []string
	Permissions   map[string]string
	Scopes        []string
	Probe         string
	Consumers     Consumers
	Verify        []VerifyCheck
	// LogWatch is how each Heroku app's log is watched once it runs the new value.
	LogWatch LogWatch
	// MaxAge is how old the credential may get (max_age; 0: no limit): it is
	// due at its creation plus MaxAge, or at its expiry when that is earlier.
	MaxAge time.Duration
	// AutoStartDays: rotabot starts a run by itself this many days before the
	// credential is due (auto_start_days; 0: never).
	AutoStartDays int
	// Line is where the secret is declared in its file, for messages.
	Line int
}

// Consumers are the places a secret's value must be set.
type Consumers struct {
	HerokuApps       []string
	GitHubSecrets    []string
	ShellRCOperators []string
	// GitHubEnvSecrets are owner/repo/ENVIRONMENT[:NAME], GitHubOrgSecrets
	// org[:NAME], DependabotSecrets owner/repo[:NAME] or org[:NAME].
	GitHubEnvSecrets  []string
	GitHubOrgSecrets  []string
	DependabotSecrets []string
}

// VerifyCheck is an HTTP GET made after propagation.
type VerifyCheck struct {
	Name         string
	URL          string
	ExpectStatus int
	// HeadersEnv maps a header name to the environment variable holding its value.
	HeadersEnv map[string]string
}

// Names returns the configured secret names, sorted.
func (m *Matrix) Names() []string {
	names := make([]string, 0, len(m.Secrets))
	for n := range m.Secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Secret returns the named secret's configuration.
func (m *Matrix) Secret(name string) (*SecretConfig, error) {
	if sc, ok := m.Secrets[name]; ok {
		return sc, nil
	}
	return nil, Errorf(ENOTFOUND, "%q is not a secret in the routing matrix", name)
}

// Refs returns where the secret and its pending value live in the vault.
func (m *Matrix) Refs(name string) (current, pending VaultRef) {
	current = VaultRef{Environment: m.Vault.Environment, Path: m.Vault.Path, Key: name}
	pending = VaultRef{Environment: m.Vault.Environment, Path: m.Vault.PendingPath, Key: name}
	return current, pending
}

// DefaultDaysBefore are the reminder thresholds when the matrix names none.
var DefaultDaysBefore = []int{14, 7, 3, 1}

// Defaults that apply when the matrix is silent.
const (
	DefaultExpiresInDays = 90
	DefaultPendingPath   = "/rotabot/pending/"
)
