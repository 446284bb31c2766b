// Package bykind sends each credential to the adapter of its own service, decided
// by the shape of its value (rotation.ShapeOf): a GitHub token to GitHub, a Heroku
// API key to Heroku. It is the engine's TokenChecker and Revoker for every kind —
// and the expiry reminders', the drift check's and the CLI's, which all check
// values through the engine's rules — so no value is ever sent to another
// service's host to be checked: a value of no known shape, or of a kind no adapter
// serves, goes nowhere and is refused. It must not know the services, the runs or
// Slack; it holds the adapters the command gives it.
package bykind

import (
	"context"

	"github.com/raxx-app/rotabot/rotation"
)

// Adapter checks and revokes the credentials of one service.
type Adapter interface {
	rotation.TokenChecker
	rotation.Revoker
}

// Router is the adapter of each kind.
type Router map[rotation.TokenKind]Adapter

var (
	_ rotation.TokenChecker = Router(nil)
	_ rotation.Revoker      = Router(nil)
)

// pick is the adapter for token's kind, or why there is none.
func (r Router) pick(token rotation.Secret) (Adapter, error) {
	kind, err := rotation.ShapeOf(token.Reveal())
	if err != nil {
		return nil, err
	}
	a, ok := r[kind]
	if !ok || a == nil {
		return nil, rotation.Errorf(rotation.EINVALID, "rotabot has no way to check a %s here: it was sent nowhere", kind)
	}
	return a, nil
}

// Check asks the value's own service who it is.
func (r Router) Check(ctx context.Context, token rotation.Secret) (rotation.TokenInfo, error) {
	a, err := r.pick(token)
	if err != nil {
		return rotation.TokenInfo{}, err
	}
	return a.Check(ctx, token)
}

// Probe calls the workload probe on the value's own service.
func (r Router) Probe(ctx context.Context, token rotation.Secret, path string) error {
	a, err := r.pick(token)
	if err != nil {
		return err
	}
	return a.Probe(ctx, token, path)
}

// Revoke has the value's own service revoke it.
func (r Router) Revoke(ctx context.Context, token rotation.Secret) error {
	a, err := r.pick(token)
	if err != nil {
		return err
	}
	return a.Revoke(ctx, token)
}
