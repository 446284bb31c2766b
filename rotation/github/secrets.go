package github

import (
	"context"
	"encoding/base64"
	"regexp"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
	"golang.org/x/crypto/nacl/box"

	"github.com/raxx-app/rotabot/rotation"
)

// ActionsSecrets is the rotation.Consumer for GitHub Actions repository secrets: a
// target is a repository ("owner/repo"), written with GITHUB_TOKEN.
type ActionsSecrets struct{ c *Client }

// ActionsSecrets returns the Consumer for Actions repository secrets.
func (c *Client) ActionsSecrets() *ActionsSecrets { return &ActionsSecrets{c: c} }

var (
	repoPart   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// parseTarget splits "owner/repo" and checks the secret name as GitHub would, so a
// typo in the routing matrix is named before any request.
func (a *ActionsSecrets) parseTarget(target, name string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(target, "/")
	if !ok || !repoPart.MatchString(owner) || !repoPart.MatchString(repo) || repo == "." || repo == ".." {
		return "", "", rotation.Errorf(rotation.EINVALID, "%q is not a GitHub repository: write it as owner/repo", target)
	}
	if !secretName.MatchString(name) || strings.HasPrefix(strings.ToUpper(name), "GITHUB_") {
		return "", "", rotation.Errorf(rotation.EINVALID,
			"%q cannot be a GitHub Actions secret name: use letters, digits and _, not starting with a digit or GITHUB_", name)
	}
	if a.c.admin == nil {
		return "", "", rotation.Errorf(rotation.EINVALID,
			"GITHUB_TOKEN is not set: rotabot needs it to write the Actions secret %s on %s", name, target)
	}
	return owner, repo, nil
}

// Set seals value with target's Actions public key (libsodium sealed box, as GitHub
// requires) and writes it as the repository secret name. Setting the same value twice
// is harmless.
func (a *ActionsSecrets) Set(ctx context.Context, target, name string, value rotation.Secret) error {
	owner, repo, err := a.parseTarget(target, name)
	if err != nil {
		return err
	}
	if value.Empty() {
		return rotation.Errorf(rotation.EINVALID, "There is no value to write to the Actions secret %s on %s", name, target)
	}
	cl := a.c.admin
	path := "/repos/" + target + "/actions/secrets/"

	var pk *gh.PublicKey
	_, err = a.c.do(ctx, call{kind: opSecret, route: "GET " + path + "public-key", repo: target, name: name},
		func(ctx context.Context) (*gh.Response, error) {
			k, resp, err := cl.Actions.GetRepoPublicKey(ctx, owner, repo)
			pk = k
			return resp, err
		})
	if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(pk.GetKey())
	if err != nil || len(raw) != 32 || pk.GetKeyID() == "" {
		return rotation.Errorf(rotation.EINTERNAL,
			"GitHub sent an Actions public key for %s that is not a 32-byte key: the secret %s was not written", target, name)
	}
	var key [32]byte
	copy(key[:], raw)
	sealed, err := box.SealAnonymous(nil, []byte(value.Reveal()), &key, a.c.rand)
	if err != nil {
		return rotation.Wrap(rotation.EINTERNAL, err, "Could not seal the Actions secret %s for %s", name, target)
	}
	secret := &gh.EncryptedSecret{
		Name:           name,
		KeyID:          pk.GetKeyID(),
		EncryptedValue: base64.StdEncoding.EncodeToString(sealed),
	}
	_, err = a.c.do(ctx, call{kind: opSecret, route: "PUT " + path + name, repo: target, name: name},
		func(ctx context.Context) (*gh.Response, error) {
			return cl.Actions.CreateOrUpdateRepoSecret(ctx, owner, repo, secret)
		})
	return err
}

// Verify reads the secret back as far as GitHub allows: Actions secrets are
// write-only, so it checks that the secret exists and was updated at or after since
// (to the second, GitHub's precision). value cannot be compared and is not used.
func (a *ActionsSecrets) Verify(ctx context.Context, target, name string, _ rotation.Secret, since time.Time) error {
	owner, repo, err := a.parseTarget(target, name)
	if err != nil {
		return err
	}
	cl := a.c.admin
	var s *gh.Secret
	_, err = a.c.do(ctx, call{kind: opSecretRead, route: "GET /repos/" + target + "/actions/secrets/" + name, repo: target, name: name},
		func(ctx context.Context) (*gh.Response, error) {
			sec, resp, err := cl.Actions.GetRepoSecret(ctx, owner, repo, name)
			s = sec
			return resp, err
		})
	if err != nil {
		return err
	}
	updated := s.UpdatedAt.UTC()
	if want := since.UTC().Truncate(time.Second); updated.Before(want) {
		return rotation.Errorf(rotation.EUNAVAILABLE,
			"GitHub shows the Actions secret %s on %s last updated at %s, before this rotation's write at %s: retry the destination to write it again",
			name, target, updated.Format(timeLayout), want.Format(timeLayout))
	}
	return nil
}

const timeLayout = "2006-01-02 15:04:05 UTC"
