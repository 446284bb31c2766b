package sandbox

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Read-only snapshots of what the stand-ins hold, for the sandbox page and for
// tests: a person looking at GitHub's token list, a Heroku app's settings or
// Infisical's secret history sees the same. Values are returned as they are kept;
// whoever shows them decides how (the page shows fingerprints only).

// TokenState is one personal access token the GitHub stand-in knows.
type TokenState struct {
	Value   string
	Login   string
	Kind    string // fine-grained, classic
	Expires time.Time
	Scopes  []string
	Repos   []string
	Revoked bool
	// Admin marks the token rotabot writes Actions secrets with (GITHUB_TOKEN).
	Admin bool
	// Note is the TokenSpec's word for people.
	Note string
}

// Tokens lists every token, in the order they were added.
func (g *GitHub) Tokens() []TokenState {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	ts := make([]*ghToken, 0, len(g.tokens))
	for _, t := range g.tokens {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].seq < ts[j].seq })
	out := make([]TokenState, 0, len(ts))
	for _, t := range ts {
		out = append(out, TokenState{Value: t.spec.Value, Login: t.spec.Login, Kind: t.kind, Expires: t.spec.Expires,
			Scopes: slices.Clone(t.spec.Scopes), Repos: slices.Clone(t.spec.Repos), Revoked: t.revoked, Admin: g.isAdmin(t), Note: t.spec.Note})
	}
	return out
}

// ActionsSecretRef names one Actions secret of a repository.
type ActionsSecretRef struct {
	Repo, Name string
	Updated    time.Time
}

// ActionsSecrets lists every Actions secret of every repository, by repository
// then name. ActionsSecret opens one.
func (g *GitHub) ActionsSecrets() []ActionsSecretRef {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	var out []ActionsSecretRef
	for _, r := range g.repos {
		for name, s := range r.secrets {
			out = append(out, ActionsSecretRef{Repo: r.fullName, Name: name, Updated: s.updated})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// SecretRef names one secret of the Infisical stand-in.
type SecretRef struct {
	Env, Path, Key string
}

// Secrets lists every secret that has a version, by environment, folder and key.
// Versions reads a secret's history.
func (i *Infisical) Secrets() []SecretRef {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []SecretRef
	for ref, vs := range i.secrets {
		if len(vs) > 0 {
			out = append(out, SecretRef{Env: ref.env, Path: ref.path, Key: ref.key})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		return strings.Join([]string{x.Env, x.Path, x.Key}, "\x00") < strings.Join([]string{y.Env, y.Path, y.Key}, "\x00")
	})
	return out
}

// Apps lists the Heroku apps by name.
func (h *Heroku) Apps() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.apps))
}

// ConfigVars returns a copy of an app's config vars (nil for an unknown app).
func (h *Heroku) ConfigVars(app string) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return nil
	}
	return maps.Clone(a.vars)
}

// DMOf returns the id of the bot's DM with user, if one is open.
func (s *Slack) DMOf(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.dmByUser[user]
	return id, ok
}
