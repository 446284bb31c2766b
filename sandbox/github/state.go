package github

import (
	"slices"
	"sort"
	"time"
)

// Read-only snapshots of what the stand-in holds, for the sandbox page and for
// tests: a person looking at GitHub's token list or a repository's Actions secrets
// sees the same. Values are returned as they are kept; whoever shows them decides
// how (the page shows fingerprints only).

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

// GHSecretRef names one secret of any scope, as its settings page lists it:
// where, when it was last written and, for an organisation's, who may read it.
type GHSecretRef struct {
	Scope   GHScope
	Target  string // owner/repo, owner/repo/ENVIRONMENT or org
	Name    string
	Updated time.Time
	// Visibility and Selected (repositories' full names) are an organisation
	// secret's.
	Visibility string
	Selected   []string
}

// GHSecrets lists every secret of every scope — repository Actions,
// environment, organisation, Dependabot repository and organisation — by scope,
// then target, then name. GHSecret opens one.
func (g *GitHub) GHSecrets() []GHSecretRef {
	g.gmu.Lock()
	defer g.gmu.Unlock()
	var out []GHSecretRef
	add := func(scope GHScope, target string, k *ghKeyed) {
		for name, s := range k.secrets {
			ref := GHSecretRef{Scope: scope, Target: target, Name: name, Updated: s.updated, Visibility: s.visibility}
			for _, id := range s.selected {
				for _, r := range g.repos {
					if r.id == id {
						ref.Selected = append(ref.Selected, r.fullName)
					}
				}
			}
			sort.Strings(ref.Selected)
			out = append(out, ref)
		}
	}
	for _, r := range g.repos {
		add(GHActions, r.fullName, &ghKeyed{secrets: r.secrets})
		for _, e := range r.envs {
			add(GHEnvironment, r.fullName+"/"+e.name, e.keys)
		}
		if r.dependabot != nil {
			add(GHDependabot, r.fullName, r.dependabot)
		}
	}
	for _, o := range g.orgs {
		add(GHOrg, o.login, o.actions)
		add(GHDependabotOrg, o.login, o.dependabot)
	}
	order := map[GHScope]int{GHActions: 0, GHEnvironment: 1, GHOrg: 2, GHDependabot: 3, GHDependabotOrg: 4}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Scope != b.Scope {
			return order[a.Scope] < order[b.Scope]
		}
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Name < b.Name
	})
	return out
}
