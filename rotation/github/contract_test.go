package github_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/github"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
	"github.com/raxx-app/rotabot/sandbox"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
)

// Routes of the GitHub stand-in the contract suites make misbehave.
var contractRoutes = map[rotationtest.Op]string{
	rotationtest.OpSet:    "PUT /repos/{owner}/{repo}/actions/secrets/{name}",
	rotationtest.OpVerify: "GET /repos/{owner}/{repo}/actions/secrets/{name}",
	rotationtest.OpCheck:  "GET /user",
	rotationtest.OpProbe:  "GET /repos/{owner}/{repo}/actions/runs",
	rotationtest.OpRevoke: "POST /credentials/revoke",
}

// ghFault says a contract fault the stand-in's way: GitHub's Retry-After is in
// whole seconds.
func ghFault(f rotationtest.Fault) *sandbox.Fault {
	sf := &sandbox.Fault{Status: f.Status, Hang: f.Hang, Times: f.Times}
	if f.RetryAfter > 0 {
		sf.RetryAfter = strconv.Itoa(int((f.RetryAfter + time.Second - 1) / time.Second))
	}
	return sf
}

func failer(g *sbgithub.GitHub) func(rotationtest.Op, rotationtest.Fault) {
	return func(op rotationtest.Op, f rotationtest.Fault) {
		route, ok := contractRoutes[op]
		if !ok {
			panic("no GitHub route for " + string(op))
		}
		g.Fail(route, ghFault(f))
	}
}

// Actions repository secrets pass the Consumer contract on the stand-in: what the
// suite reads back is the secret opened with the repository's private key.
func TestActionsSecretsContract(t *testing.T) {
	const (
		missing = "raxx-app/Nowhere"
		name    = "API_TOKEN"
		read    = "GET /repos/raxx-app/TradeMasterAPI/actions/secrets/API_TOKEN"
		write   = "PUT /repos/raxx-app/TradeMasterAPI/actions/secrets/API_TOKEN"
	)
	rotationtest.Consumer(t, func(t *testing.T) rotationtest.ConsumerHarness {
		f := setup(t)
		return rotationtest.ConsumerHarness{
			Consumer: f.client.ActionsSecrets(),
			BadCredentials: func() rotation.Consumer {
				return newClient(t, f.gh, github.Config{AdminToken: secret(unknownTok)}).ActionsSecrets()
			},
			Fail: failer(f.gh),
			Held: func(target, name string) (string, bool) {
				v, _, ok := f.gh.ActionsSecret(target, name)
				return v, ok
			},
			Now:     func() time.Time { return fixtureNow },
			Target:  repo,
			Missing: missing,
			Name:    name,
			Secrets: allTokens,
			Set: rotationtest.Messages{
				Unauthorized: "GitHub refused GITHUB_TOKEN for raxx-app/TradeMasterAPI (401): check the token",
				NotFound:     "GitHub cannot find raxx-app/Nowhere with GITHUB_TOKEN (404): check the repository name and that the token can see it",
				RateLimited:  "GitHub is rate limiting " + write + " (429): try again in 1s",
				Unavailable:  "GitHub failed on " + write + " (503 Service Unavailable): try again later",
				Timeout:      "GitHub did not answer in time (" + write + "): try again later",
			},
			Verify: rotationtest.Messages{
				Unauthorized: "GitHub refused GITHUB_TOKEN for raxx-app/TradeMasterAPI (401): check the token",
				NotFound:     "GitHub has no Actions secret API_TOKEN on raxx-app/Nowhere (404): it was not written, or GITHUB_TOKEN cannot see the repository",
				RateLimited:  "GitHub is rate limiting " + read + " (429): try again in 1s",
				Unavailable:  "GitHub failed on " + read + " (503 Service Unavailable): try again later",
				Timeout:      "GitHub did not answer in time (" + read + "): try again later",
			},
		}
	})
}

// The token check passes the TokenChecker contract on the stand-in.
func TestTokenCheckerContract(t *testing.T) {
	const (
		probe   = "/repos/raxx-app/TradeMasterAPI/actions/runs?per_page=1"
		hidden  = "/repos/raxx-app/Hidden/actions/runs?per_page=1"
		shownOK = "GET " + probe
	)
	rotationtest.TokenChecker(t, func(t *testing.T) rotationtest.TokenCheckerHarness {
		f := setup(t)
		return rotationtest.TokenCheckerHarness{
			Checker: f.client,
			Fail:    failer(f.gh),
			Valid: []rotationtest.ValidToken{
				{Token: fineTok, Want: rotation.TokenInfo{Login: "raxx-bot", Kind: rotation.FineGrained, ExpiresAt: expires, Repos: 1}},
				{Token: classicTok, Want: rotation.TokenInfo{Login: "raxx-bot", Kind: rotation.Classic,
					Scopes: []string{"repo", "read:org", "workflow"}, Repos: -1}},
			},
			Refused:          unknownTok,
			ProbePath:        probe,
			MissingProbe:     hidden,
			ProbeMissingCode: rotation.EINVALID,
			Secrets:          allTokens,
			Check: rotationtest.Messages{
				Unauthorized: "GitHub refused the token (401 Bad credentials)",
				NotFound:     "GitHub answered GET /user with 404: check GITHUB_API_URL",
				RateLimited:  "GitHub is rate limiting GET /user (429): try again in 1s",
				Unavailable:  "GitHub failed on GET /user (503 Service Unavailable): try again later",
				Timeout:      "GitHub did not answer in time (GET /user): try again later",
			},
			Probe: rotationtest.Messages{
				Unauthorized: "The workload probe " + shownOK + " answered 401: GitHub refused the token",
				NotFound:     "The workload probe GET " + hidden + " answered 404: the token cannot see that repository",
				RateLimited:  "GitHub is rate limiting " + shownOK + " (429): try again in 1s",
				Unavailable:  "GitHub failed on " + shownOK + " (503 Service Unavailable): try again later",
				Timeout:      "GitHub did not answer in time (" + shownOK + "): try again later",
			},
		}
	})
}

// Revocation passes the Revoker contract on the stand-in, and the revoked token
// then answers 401 to the same client's Check.
func TestRevokerContract(t *testing.T) {
	const route = "POST /credentials/revoke"
	rotationtest.Revoker(t, func(t *testing.T) rotationtest.RevokerHarness {
		f := setup(t)
		return rotationtest.RevokerHarness{
			Revoker: f.client,
			Fail:    failer(f.gh),
			Token:   fineTok,
			Revoked: f.gh.Revoked,
			Checker: f.client,
			Secrets: allTokens,
			Revoke: rotationtest.Messages{
				NotFound:    "GitHub answered " + route + " with 404: this GitHub does not offer revocation; delete the token in its settings instead",
				RateLimited: "GitHub is rate limiting " + route + " (429): try again in 1s",
				Unavailable: "GitHub failed on " + route + " (503 Service Unavailable): try again later",
				Timeout:     "GitHub did not answer in time (" + route + "): try again later",
			},
		}
	})
}
