package github

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	gh "github.com/google/go-github/v62/github"

	"github.com/raxx-app/rotabot/rotation"
)

// DefaultAccessParallel is how many scopes CheckAccess reads at once.
const DefaultAccessParallel = 4

// CheckAccess reads, once, the public key of every scope dests write to — a
// repository's Actions secrets, an environment's, an organisation's Actions or
// Dependabot secrets, a repository's Dependabot secrets — parallel at a time
// (DefaultAccessParallel when 0), with the access the client was built with,
// as a write would first. It returns one line per scope that access cannot
// reach, sorted: a 403 names the permission to add, fine-grained and classic;
// a 404 says which repository, environment or organisation GitHub does not
// show it. A refused credential (401) is left to CheckAdmin's line, and lines
// that say the same (GitHub unreachable) are said once. Reading a key needs
// only read access: a token that may read but not write passes.
func (c *Client) CheckAccess(ctx context.Context, dests []rotation.Destination, parallel int) []string {
	if parallel <= 0 {
		parallel = DefaultAccessParallel
	}
	seen := map[string]bool{}
	var todo []rotation.Destination
	for _, d := range dests {
		if !d.Kind.IsGitHub() {
			continue
		}
		key := string(d.Kind) + "\x00" + strings.ToLower(d.Target)
		if d.Kind == rotation.DestDependabotSecret && !strings.Contains(d.Target, "/") {
			key = "dependabot_org\x00" + strings.ToLower(d.Target)
		}
		if !seen[key] {
			seen[key] = true
			todo = append(todo, d)
		}
	}
	out := make([]string, len(todo))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, d := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = c.accessProblem(ctx, d)
		}()
	}
	wg.Wait()
	var lines []string
	for _, l := range out {
		if l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

// scopeWord names a destination's scope for people: "the GitHub environment
// secrets of raxx-app/TradeMasterAPI · production".
func scopeWord(d rotation.Destination) string {
	switch {
	case d.Kind == rotation.DestGitHubEnvSecret:
		repo, env := rotation.SplitEnvTarget(d.Target)
		return "the environment secrets of " + repo + " · " + env
	case d.Kind == rotation.DestGitHubOrgSecret:
		return "the organisation Actions secrets of " + d.Target
	case d.Kind == rotation.DestDependabotSecret && strings.Contains(d.Target, "/"):
		return "the Dependabot secrets of " + d.Target
	case d.Kind == rotation.DestDependabotSecret:
		return "the organisation Dependabot secrets of " + d.Target
	}
	return "the Actions secrets of " + d.Target
}

// accessProblem reads d's scope's public key and says what stops it ("" when
// nothing does).
func (c *Client) accessProblem(ctx context.Context, d rotation.Destination) string {
	name := d.Name
	if name == "" {
		name = "X" // the key is the scope's, whatever the secret's name
	}
	var err error
	stage := "key"
	if d.Kind == rotation.DestGitHubSecret {
		err = c.ActionsSecrets().checkKey(ctx, d.Target, name)
	} else {
		s := &ScopedSecrets{c: c, kind: d.Kind}
		var sc *scope
		if sc, err = s.scopeOf(ctx, d.Target, name); err != nil {
			stage = "repo"
		} else {
			err = s.readKey(ctx, sc)
		}
	}
	if err == nil {
		return ""
	}
	what := scopeWord(d)
	switch rotation.ErrorCode(err) {
	case rotation.EUNAUTHORIZED:
		return "" // CheckAdmin's line says GitHub refused the token
	case rotation.EFORBIDDEN:
		return fmt.Sprintf("GitHub refused GITHUB_TOKEN %s (403): give the token %s", what, Permission(d.Kind, d.Target))
	case rotation.ENOTFOUND:
		return notFoundLine(d, stage, what)
	}
	return fmt.Sprintf("GitHub's public key for %s could not be read: %s", what, rotation.ErrorMessage(err))
}

// notFoundLine says what a 404 on a scope means: the repository, environment
// or organisation is not there, or the token cannot see it.
func notFoundLine(d rotation.Destination, stage, what string) string {
	repo := d.Target
	if d.Kind == rotation.DestGitHubEnvSecret {
		var env string
		repo, env = rotation.SplitEnvTarget(d.Target)
		if stage == "key" {
			return fmt.Sprintf("GitHub has no environment %q in %s (404 for %s): create it in the repository's Settings → Environments, or correct %s in the routing matrix",
				env, repo, what, d.Kind.MatrixKey())
		}
	}
	if strings.Contains(repo, "/") {
		return fmt.Sprintf("GitHub shows GITHUB_TOKEN no repository %s (404 for %s): check the name in %s, and that the token's repository access includes it (a fine-grained token sees only the repositories it was given)",
			repo, what, d.Kind.MatrixKey())
	}
	return fmt.Sprintf("GitHub shows GITHUB_TOKEN no organisation %s (404 for %s): check the name in %s, and that the token's resource owner is %s",
		repo, what, d.Kind.MatrixKey(), repo)
}

// readKey is GET of the scope's public key (opSecret).
func (s *ScopedSecrets) readKey(ctx context.Context, sc *scope) error {
	op := sc.call
	op.kind, op.route = opSecret, "GET "+sc.base+"public-key"
	_, err := s.c.do(ctx, op, func(ctx context.Context) (*gh.Response, error) {
		_, resp, err := sc.key(ctx)
		return resp, err
	})
	return err
}

// checkKey reads a repository's Actions public key, as Set would first.
func (a *ActionsSecrets) checkKey(ctx context.Context, target, name string) error {
	owner, repo, err := a.parseTarget(target, name)
	if err != nil {
		return err
	}
	_, err = a.c.do(ctx, call{kind: opSecret, route: "GET /repos/" + target + "/actions/secrets/public-key", repo: target, name: name},
		func(ctx context.Context) (*gh.Response, error) {
			_, resp, err := a.c.admin.Actions.GetRepoPublicKey(ctx, owner, repo)
			return resp, err
		})
	return err
}
