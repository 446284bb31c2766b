package github

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
	"golang.org/x/crypto/nacl/box"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// ScopedSecrets is the rotation.Consumer (and drift.WriteDater) for the GitHub
// secrets beyond repository Actions secrets, one kind each: environment secrets
// (target owner/repo/ENVIRONMENT), organisation Actions secrets (target org) and
// Dependabot secrets (target owner/repo or org). Each scope has its own public
// key; an organisation secret's visibility and selected repositories are read
// and sent back unchanged, and one that does not exist is refused, never made
// with a visibility rotabot would have to choose.
type ScopedSecrets struct {
	c    *Client
	kind rotation.DestKind
}

var (
	_ rotation.Consumer = (*ScopedSecrets)(nil)
	_ drift.WriteDater  = (*ScopedSecrets)(nil)
)

// EnvSecrets, OrgSecrets and DependabotSecrets return the Consumer of each kind.
func (c *Client) EnvSecrets() *ScopedSecrets {
	return &ScopedSecrets{c: c, kind: rotation.DestGitHubEnvSecret}
}
func (c *Client) OrgSecrets() *ScopedSecrets {
	return &ScopedSecrets{c: c, kind: rotation.DestGitHubOrgSecret}
}
func (c *Client) DependabotSecrets() *ScopedSecrets {
	return &ScopedSecrets{c: c, kind: rotation.DestDependabotSecret}
}

// scope is one secret's place and the calls that reach it.
type scope struct {
	call     call // what and perm set; kind and route per request
	org      bool
	base     string // the REST path of the scope's secrets, for routes
	key      func(ctx context.Context) (*gh.PublicKey, *gh.Response, error)
	get      func(ctx context.Context) (*gh.Secret, *gh.Response, error)
	put      func(ctx context.Context, keyID, sealed, visibility string, ids []int64) (*gh.Response, error)
	selected func(ctx context.Context, page int) (*gh.SelectedReposList, *gh.Response, error)
}

// Permission is what GITHUB_TOKEN needs to write a secret of kind on target,
// fine-grained and classic, for messages and the set-up guide.
func Permission(kind rotation.DestKind, target string) string {
	return permission(kind, target, "Read and write")
}

// permission is Permission for an access: "Read and write", or "Read" (a
// scan's lists).
func permission(kind rotation.DestKind, target, access string) string {
	switch {
	case kind == rotation.DestGitHubEnvSecret:
		repo, _ := rotation.SplitEnvTarget(target)
		return "the repository permission Environments: " + access + " on " + repo + " (classic token: repo)"
	case kind == rotation.DestGitHubOrgSecret:
		return "the organisation permission Secrets: " + access + " on " + target + " (classic token: admin:org)"
	case kind == rotation.DestDependabotSecret && strings.Contains(target, "/"):
		return "the repository permission Dependabot secrets: " + access + " on " + target + " (classic token: repo)"
	case kind == rotation.DestDependabotSecret:
		return "the organisation permission Organization dependabot secrets: " + access + " on " + target + " (classic token: admin:org)"
	}
	return "the repository permission Secrets: " + access + " on " + target + " (classic token: repo)"
}

// scopeOf finds where name lives on target. An environment secret needs the
// repository's id first (go-github v62 reaches environments by id), and its
// environment's name escaped, which go-github does not do.
func (s *ScopedSecrets) scopeOf(ctx context.Context, target, name string) (*scope, error) {
	if s.c.admin == nil {
		return nil, rotation.Errorf(rotation.EINVALID, "GITHUB_TOKEN is not set: rotabot needs it to write the %s", s.label(target, name))
	}
	if !secretName.MatchString(name) || strings.HasPrefix(strings.ToUpper(name), "GITHUB_") {
		return nil, rotation.Errorf(rotation.EINVALID,
			"%q cannot be a GitHub secret name: use letters, digits and _, not starting with a digit or GITHUB_", name)
	}
	cl := s.c.admin
	sc := &scope{call: call{what: s.label(target, name), perm: s.c.permission(s.kind, target), repo: target, name: name}}
	switch {
	case s.kind == rotation.DestGitHubEnvSecret:
		repo, env := rotation.SplitEnvTarget(target)
		owner, rname, _ := strings.Cut(repo, "/")
		if env == "" || !repoPart.MatchString(owner) || !repoPart.MatchString(rname) {
			return nil, rotation.Errorf(rotation.EINVALID, "%q is not owner/repo/ENVIRONMENT", target)
		}
		var id int64
		_, err := s.c.do(ctx, call{kind: opSecretRead, route: "GET /repos/" + repo, what: "the repository " + repo, perm: sc.call.perm},
			func(ctx context.Context) (*gh.Response, error) {
				r, resp, err := cl.Repositories.Get(ctx, owner, rname)
				id = r.GetID()
				return resp, err
			})
		if err != nil {
			return nil, err
		}
		esc := url.PathEscape(env)
		sc.base = "/repositories/" + strconv.FormatInt(id, 10) + "/environments/" + esc + "/secrets/"
		sc.key = func(ctx context.Context) (*gh.PublicKey, *gh.Response, error) {
			return cl.Actions.GetEnvPublicKey(ctx, int(id), esc)
		}
		sc.get = func(ctx context.Context) (*gh.Secret, *gh.Response, error) {
			return cl.Actions.GetEnvSecret(ctx, int(id), esc, name)
		}
		sc.put = func(ctx context.Context, keyID, sealed, _ string, _ []int64) (*gh.Response, error) {
			return cl.Actions.CreateOrUpdateEnvSecret(ctx, int(id), esc, &gh.EncryptedSecret{Name: name, KeyID: keyID, EncryptedValue: sealed})
		}
	case s.kind == rotation.DestDependabotSecret && strings.Contains(target, "/"):
		owner, rname, _ := strings.Cut(target, "/")
		if !repoPart.MatchString(owner) || !repoPart.MatchString(rname) {
			return nil, rotation.Errorf(rotation.EINVALID, "%q is not owner/repo", target)
		}
		sc.base = "/repos/" + target + "/dependabot/secrets/"
		sc.key = func(ctx context.Context) (*gh.PublicKey, *gh.Response, error) {
			return cl.Dependabot.GetRepoPublicKey(ctx, owner, rname)
		}
		sc.get = func(ctx context.Context) (*gh.Secret, *gh.Response, error) {
			return cl.Dependabot.GetRepoSecret(ctx, owner, rname, name)
		}
		sc.put = func(ctx context.Context, keyID, sealed, _ string, _ []int64) (*gh.Response, error) {
			return cl.Dependabot.CreateOrUpdateRepoSecret(ctx, owner, rname, &gh.DependabotEncryptedSecret{Name: name, KeyID: keyID, EncryptedValue: sealed})
		}
	default:
		if !repoPart.MatchString(target) {
			return nil, rotation.Errorf(rotation.EINVALID, "%q is not a GitHub organisation", target)
		}
		s.orgScope(sc, target, name)
	}
	return sc, nil
}

// orgScope fills the calls of an organisation secret, Actions or Dependabot.
func (s *ScopedSecrets) orgScope(sc *scope, org, name string) {
	cl := s.c.admin
	sc.org = true
	if s.kind == rotation.DestGitHubOrgSecret {
		sc.base = "/orgs/" + org + "/actions/secrets/"
		sc.key = func(ctx context.Context) (*gh.PublicKey, *gh.Response, error) {
			return cl.Actions.GetOrgPublicKey(ctx, org)
		}
		sc.get = func(ctx context.Context) (*gh.Secret, *gh.Response, error) {
			return cl.Actions.GetOrgSecret(ctx, org, name)
		}
		sc.put = func(ctx context.Context, keyID, sealed, vis string, ids []int64) (*gh.Response, error) {
			return cl.Actions.CreateOrUpdateOrgSecret(ctx, org, &gh.EncryptedSecret{Name: name, KeyID: keyID, EncryptedValue: sealed,
				Visibility: vis, SelectedRepositoryIDs: ids})
		}
		sc.selected = func(ctx context.Context, page int) (*gh.SelectedReposList, *gh.Response, error) {
			return cl.Actions.ListSelectedReposForOrgSecret(ctx, org, name, &gh.ListOptions{Page: page, PerPage: 100})
		}
		return
	}
	sc.base = "/orgs/" + org + "/dependabot/secrets/"
	sc.key = func(ctx context.Context) (*gh.PublicKey, *gh.Response, error) {
		return cl.Dependabot.GetOrgPublicKey(ctx, org)
	}
	sc.get = func(ctx context.Context) (*gh.Secret, *gh.Response, error) {
		return cl.Dependabot.GetOrgSecret(ctx, org, name)
	}
	sc.put = func(ctx context.Context, keyID, sealed, vis string, ids []int64) (*gh.Response, error) {
		return cl.Dependabot.CreateOrUpdateOrgSecret(ctx, org, &gh.DependabotEncryptedSecret{Name: name, KeyID: keyID, EncryptedValue: sealed,
			Visibility: vis, SelectedRepositoryIDs: ids})
	}
	sc.selected = func(ctx context.Context, page int) (*gh.SelectedReposList, *gh.Response, error) {
		return cl.Dependabot.ListSelectedReposForOrgSecret(ctx, org, name, &gh.ListOptions{Page: page, PerPage: 100})
	}
}

// label names the secret for people, as the run's card does.
func (s *ScopedSecrets) label(target, name string) string {
	return rotation.Destination{Kind: s.kind, Target: target, Name: name}.PlainLabel()
}

// readSecret is GET of the secret (opSecretRead).
func (s *ScopedSecrets) readSecret(ctx context.Context, sc *scope) (*gh.Secret, error) {
	var sec *gh.Secret
	op := sc.call
	op.kind, op.route = opSecretRead, "GET "+sc.base+sc.call.name
	_, err := s.c.do(ctx, op, func(ctx context.Context) (*gh.Response, error) {
		x, resp, err := sc.get(ctx)
		sec = x
		return resp, err
	})
	return sec, err
}

// Set seals value with the scope's public key and writes it. An organisation
// secret is written with the visibility and repositories it has now.
func (s *ScopedSecrets) Set(ctx context.Context, target, name string, value rotation.Secret) error {
	sc, err := s.scopeOf(ctx, target, name)
	if err != nil {
		return err
	}
	if value.Empty() {
		return rotation.Errorf(rotation.EINVALID, "There is no value to write to the %s", sc.call.what)
	}
	var vis string
	var ids []int64
	if sc.org {
		if vis, ids, err = s.visibility(ctx, sc, target, name); err != nil {
			return err
		}
	}
	var pk *gh.PublicKey
	op := sc.call
	op.kind, op.route = opSecret, "GET "+sc.base+"public-key"
	if _, err = s.c.do(ctx, op, func(ctx context.Context) (*gh.Response, error) {
		k, resp, err := sc.key(ctx)
		pk = k
		return resp, err
	}); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(pk.GetKey())
	if err != nil || len(raw) != 32 || pk.GetKeyID() == "" {
		return rotation.Errorf(rotation.EINTERNAL, "GitHub sent a public key that is not a 32-byte key: the %s was not written", sc.call.what)
	}
	var key [32]byte
	copy(key[:], raw)
	sealed, err := box.SealAnonymous(nil, []byte(value.Reveal()), &key, s.c.rand)
	if err != nil {
		return rotation.Wrap(rotation.EINTERNAL, err, "Could not seal the %s", sc.call.what)
	}
	op.route = "PUT " + sc.base + name
	_, err = s.c.do(ctx, op, func(ctx context.Context) (*gh.Response, error) {
		return sc.put(ctx, pk.GetKeyID(), base64.StdEncoding.EncodeToString(sealed), vis, ids)
	})
	return err
}

// visibility reads an organisation secret's visibility and, for selected, its
// repositories' ids. A missing secret is refused with how to make it.
func (s *ScopedSecrets) visibility(ctx context.Context, sc *scope, org, name string) (string, []int64, error) {
	sec, err := s.readSecret(ctx, sc)
	if rotation.ErrorCode(err) == rotation.ENOTFOUND {
		app := ""
		if s.kind == rotation.DestDependabotSecret {
			app = " --app dependabot"
		}
		return "", nil, rotation.Wrap(rotation.EINVALID, err,
			"The %s does not exist yet: rotabot never creates an organisation secret, since that means choosing which repositories may read it. "+
				"Create it once with gh secret set %s --org %s%s --visibility private (or --repos owner/repo,…), then retry this destination",
			sc.call.what, name, org, app)
	}
	if err != nil {
		return "", nil, err
	}
	vis := sec.Visibility
	if vis == "" {
		return "", nil, rotation.Errorf(rotation.EINTERNAL, "GitHub did not say the visibility of the %s: it was not written, so its visibility stays as it is", sc.call.what)
	}
	if vis != "selected" {
		return vis, nil, nil
	}
	ids := []int64{}
	op := sc.call
	op.kind, op.route = opSecretRead, "GET "+sc.base+name+"/repositories"
	for page := 1; ; {
		var list *gh.SelectedReposList
		resp, err := s.c.do(ctx, op, func(ctx context.Context) (*gh.Response, error) {
			l, resp, err := sc.selected(ctx, page)
			list = l
			return resp, err
		})
		if err != nil {
			return "", nil, err
		}
		for _, r := range list.Repositories {
			ids = append(ids, r.GetID())
		}
		if resp.NextPage == 0 || resp.NextPage <= page {
			return vis, ids, nil
		}
		page = resp.NextPage
	}
}

// Verify checks that the secret exists and was updated at or after since (to
// the second): GitHub never shows the value, so value is not used.
func (s *ScopedSecrets) Verify(ctx context.Context, target, name string, _ rotation.Secret, since time.Time) error {
	updated, err := s.UpdatedAt(ctx, target, name)
	if err != nil {
		return err
	}
	if want := since.UTC().Truncate(time.Second); updated.Before(want) {
		return rotation.Errorf(rotation.EUNAVAILABLE,
			"GitHub shows the %s last updated at %s, before this rotation's write at %s: retry the destination to write it again",
			s.label(target, name), updated.Format(timeLayout), want.Format(timeLayout))
	}
	return nil
}

// UpdatedAt is when the secret was last written, as GitHub says. A missing
// secret is ENOTFOUND.
func (s *ScopedSecrets) UpdatedAt(ctx context.Context, target, name string) (time.Time, error) {
	sc, err := s.scopeOf(ctx, target, name)
	if err != nil {
		return time.Time{}, err
	}
	sec, err := s.readSecret(ctx, sc)
	if err != nil {
		return time.Time{}, err
	}
	return sec.UpdatedAt.UTC(), nil
}

// CheckKey reads the scope's public key, as a write would first: a start-up
// check that GITHUB_TOKEN may write there. Its 403 names the permission.
func (s *ScopedSecrets) CheckKey(ctx context.Context, target, name string) error {
	sc, err := s.scopeOf(ctx, target, name)
	if err != nil {
		return err
	}
	return s.readKey(ctx, sc)
}
