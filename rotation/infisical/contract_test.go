package infisical_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/infisical"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
	"github.com/raxx-app/rotabot/sandbox"
	sbinfisical "github.com/raxx-app/rotabot/sandbox/infisical"
)

// The Infisical vault passes the Vault contract on the stand-in.
func TestVaultContract(t *testing.T) {
	const (
		clientID     = "ua-contract-client-id"
		clientSecret = "ua-contract-client-secret-5e4d3c2b1a09"
		project      = "proj-rotabot"
		oldValue     = "ghp_ContractOldValueAbCdEfGhIjKlMnOpQrStU"
		where        = "GH_TOKEN at /MooseQuest/github/ in prod"
	)
	existing := rotation.VaultRef{Environment: "prod", Path: "/MooseQuest/github/", Key: "GH_TOKEN"}
	missing := rotation.VaultRef{Environment: "prod", Path: "/MooseQuest/github/", Key: "GH_TOKEN_NEW"}
	routes := map[rotationtest.Op]string{
		rotationtest.OpRead:   sbinfisical.InfisicalGetSecret,
		rotationtest.OpWrite:  sbinfisical.InfisicalUpdateSecret,
		rotationtest.OpDelete: sbinfisical.InfisicalDeleteSecret,
	}
	// Infisical names the wait in its 429 message, not in a header; it takes
	// fractions of a second, so the 429 cases wait 20 ms rather than 1 s.
	const wait = "20ms"
	msgs := func(doing string) rotationtest.Messages {
		return rotationtest.Messages{
			Unauthorized: "Infisical refused INFISICAL_CLIENT_ID/INFISICAL_CLIENT_SECRET (401): check the machine identity",
			RateLimited:  "Infisical is rate limiting the bot (429) while " + doing + ": try again in " + wait,
			Unavailable:  "Infisical failed (503) while " + doing + ": try again later",
			Timeout:      "Infisical did not answer in time while " + doing + ": try again later",
		}
	}
	read := msgs("reading " + where)
	read.NotFound = "Infisical has no secret GH_TOKEN_NEW at /MooseQuest/github/ in prod"
	readVersion := msgs("reading version 1 of " + where)
	readVersion.NotFound = "Infisical has no version 1 of GH_TOKEN_NEW at /MooseQuest/github/ in prod"

	rotationtest.Vault(t, func(t *testing.T) rotationtest.VaultHarness {
		inf := sbinfisical.New(clientID, clientSecret, project)
		t.Cleanup(inf.Close)
		inf.Set(existing.Environment, existing.Path, existing.Key, oldValue)
		open := func() *infisical.Vault {
			v, err := infisical.New(context.Background(), infisical.Config{
				SiteURL: inf.URL, ClientID: clientID, ClientSecret: clientSecret, ProjectID: project})
			if err != nil {
				t.Fatalf("New: %s", rotation.ErrorMessage(err))
			}
			t.Cleanup(func() { _ = v.Close() })
			return v
		}
		return rotationtest.VaultHarness{
			Vault: open(),
			// New logs in, so a wrong client secret never makes a Vault (its
			// refusal is tested in TestNewRefused). This is the other way a
			// credential goes bad: revoked while the bot runs. Every access
			// token is invalidated and the login refuses the client secret.
			BadCredentials: func() rotation.Vault {
				v := open()
				inf.RevokeTokens()
				inf.Fail(sbinfisical.InfisicalLogin, &sandbox.Fault{Status: 401})
				return v
			},
			Fail: func(op rotationtest.Op, f rotationtest.Fault) {
				sf := &sandbox.Fault{Status: f.Status, Hang: f.Hang, Times: f.Times}
				if f.RetryAfter > 0 {
					sf.RetryAfter = strconv.FormatFloat(f.RetryAfter.Seconds(), 'f', -1, 64)
				}
				inf.Fail(routes[op], sf)
			},
			Held: func(ref rotation.VaultRef) (string, int, bool) {
				return inf.Value(ref.Environment, ref.Path, ref.Key)
			},
			Existing:    existing,
			Missing:     missing,
			RetryAfter:  20 * time.Millisecond,
			Secrets:     []string{clientSecret, oldValue},
			Read:        read,
			ReadVersion: readVersion,
			Write:       msgs("writing " + where),
			Delete:      msgs("deleting " + where),
		}
	})
}
