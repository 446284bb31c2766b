package bykind_test

import (
	"context"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/bykind"
)

// service records the values it was sent.
type service struct{ got []string }

func (s *service) Check(_ context.Context, v rotation.Secret) (rotation.TokenInfo, error) {
	s.got = append(s.got, v.Reveal())
	return rotation.TokenInfo{}, nil
}

func (s *service) Probe(_ context.Context, v rotation.Secret, _ string) error {
	s.got = append(s.got, v.Reveal())
	return nil
}

func (s *service) Revoke(_ context.Context, v rotation.Secret) error {
	s.got = append(s.got, v.Reveal())
	return nil
}

// Each value goes to its own service's adapter, for every call; a value of no
// known shape, or of a kind nobody serves, goes nowhere.
func TestEachValueGoesToItsOwnService(t *testing.T) {
	gh, hk := &service{}, &service{}
	r := bykind.Router{rotation.FineGrained: gh, rotation.Classic: gh, rotation.HerokuAPIKey: hk}
	ctx := context.Background()
	values := map[string]*service{
		"ghp_" + "0123456789abcdefghij0123":              gh,
		"github_pat_11AAAAAAA0" + "abcdefghij0123456789": gh,
		"HRKU-57dce771-afad-4c41-a8a5-d10b7fbc743c":      hk,
		"57dce771-afad-4c41-a8a5-d10b7fbc743c":           hk, // a key from before the HRKU- prefix
	}
	for v, want := range values {
		s := rotation.NewSecret(v)
		_, _ = r.Check(ctx, s)
		_ = r.Probe(ctx, s, "/x")
		_ = r.Revoke(ctx, s)
		n := 0
		for _, g := range want.got {
			if g == v {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%.8s… reached its own service %d times of 3", v, n)
		}
	}
	if len(gh.got)+len(hk.got) != 3*len(values) {
		t.Errorf("a value reached another service: %d calls", len(gh.got)+len(hk.got))
	}
	for _, v := range []string{"xoxb-123-456-abcdefghijkl", "not-a-credential", ""} {
		if _, err := r.Check(ctx, rotation.NewSecret(v)); rotation.ErrorCode(err) != rotation.EINVALID {
			t.Errorf("%q: %v", v, err)
		}
	}
	onlyGitHub := bykind.Router{rotation.FineGrained: gh}
	if _, err := onlyGitHub.Check(ctx, rotation.NewSecret("HRKU-57dce771-afad-4c41-a8a5-d10b7fbc743c")); rotation.ErrorMessage(err) != "rotabot has no way to check a heroku-api-key here: it was sent nowhere" {
		t.Errorf("a Heroku key with no Heroku adapter: %v", err)
	}
	if len(gh.got)+len(hk.got) != 3*len(values) {
		t.Error("a refused value was sent")
	}
}
