package rotation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
)

// askedChecker records what it was asked about.
type askedChecker struct{ asked []string }

func (c *askedChecker) Check(_ context.Context, v rotation.Secret) (rotation.TokenInfo, error) {
	c.asked = append(c.asked, v.Fingerprint())
	return rotation.TokenInfo{Login: "x"}, nil
}

func (c *askedChecker) Probe(context.Context, rotation.Secret, string) error { return nil }

// A value held for a secret goes only to that secret's service: a Heroku-shaped
// value (a bare UUID, another vendor's key) in a GitHub secret is refused and
// sent nowhere, and the message does not repeat it.
func TestCheckAsSendsAValueOnlyToItsSecretsService(t *testing.T) {
	uuid := "0f3c2d1e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
	for _, c := range []struct {
		kind  rotation.TokenKind
		value string
		sent  bool
	}{
		{rotation.FineGrained, uuid, false},
		{rotation.Classic, "HRKU-AA0123456789abcdef0123456789abcdef", false},
		{rotation.HerokuAPIKey, uuid, true},
		{rotation.HerokuAPIKey, "github_pat_11AAAAAAA0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01", false},
		{rotation.FineGrained, "github_pat_11AAAAAAA0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01", true},
		{rotation.Classic, "github_pat_11AAAAAAA0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01", true}, // same service
	} {
		ch := &askedChecker{}
		_, err := rotation.CheckAs(context.Background(), ch, c.kind, rotation.NewSecret(c.value))
		if sent := len(ch.asked) == 1; sent != c.sent {
			t.Errorf("%s value for a %s secret: sent %v, want %v (%v)", c.value[:8], c.kind, sent, c.sent, err)
		}
		if !c.sent && (rotation.ErrorCode(err) != rotation.EINVALID || strings.Contains(rotation.ErrorMessage(err), c.value)) {
			t.Errorf("%s value for a %s secret: %v", c.value[:8], c.kind, err)
		}
	}
}
