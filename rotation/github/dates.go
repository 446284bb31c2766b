package github

import (
	"context"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/raxx-app/rotabot/rotation/drift"
)

var _ drift.WriteDater = (*ActionsSecrets)(nil)

// UpdatedAt is when the Actions secret name on target (owner/repo) was last
// written, as GitHub says (GET …/actions/secrets/{name}: the value itself is
// write-only). A missing secret is ENOTFOUND.
func (a *ActionsSecrets) UpdatedAt(ctx context.Context, target, name string) (time.Time, error) {
	owner, repo, err := a.parseTarget(target, name)
	if err != nil {
		return time.Time{}, err
	}
	var s *gh.Secret
	_, err = a.c.do(ctx, call{kind: opSecretRead, route: "GET /repos/" + target + "/actions/secrets/" + name, repo: target, name: name},
		func(ctx context.Context) (*gh.Response, error) {
			sec, resp, err := a.c.admin.Actions.GetRepoSecret(ctx, owner, repo, name)
			s = sec
			return resp, err
		})
	if err != nil {
		return time.Time{}, err
	}
	return s.UpdatedAt.UTC(), nil
}
