package infisical

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbinfisical "github.com/raxx-app/rotabot/sandbox/infisical"
)

// The client secret travels in the login body and the access token in a header: a
// redirect off INFISICAL_SITE_URL's host (a 307 resends the body) is refused before
// the other host receives anything.
func TestRedirectOffHostCarriesNoCredential(t *testing.T) {
	inf := sbinfisical.New(testID, testSecret, testProject)
	t.Cleanup(inf.Close)
	inf.Set("prod", cur.Path, cur.Key, oldToken)
	sink := sandbox.NewSink()
	t.Cleanup(sink.Close)
	names := func(t *testing.T, err error) {
		t.Helper()
		msg := rotation.ErrorMessage(err)
		for _, raw := range []string{inf.URL, sink.URL} {
			u, _ := url.Parse(raw)
			if !strings.Contains(msg, u.Host) {
				t.Errorf("message %q does not name %s", msg, u.Host)
			}
		}
		noSecrets(t, err.Error())
	}

	inf.Fail(sbinfisical.InfisicalLogin, &sandbox.Fault{Status: 307, Redirect: sink.URL + "/api/v1/auth/universal-auth/login"})
	_, err := New(context.Background(), Config{SiteURL: inf.URL, ClientID: testID, ClientSecret: testSecret, ProjectID: testProject})
	if rotation.ErrorCode(err) != rotation.EINVALID {
		t.Fatalf("login redirected: err = %v, want it refused", err)
	}
	names(t, err)
	inf.Fail(sbinfisical.InfisicalLogin, nil)

	v := open(t, inf, testProject)
	inf.Fail(sbinfisical.InfisicalGetSecret, &sandbox.Fault{Status: 302, Redirect: sink.URL + "/collect"})
	_, err = v.Read(context.Background(), cur)
	if rotation.ErrorCode(err) != rotation.EINVALID {
		t.Fatalf("read redirected: err = %v, want it refused", err)
	}
	names(t, err)
	if n := len(sink.Requests()); n != 0 {
		t.Fatalf("the other host received %d requests", n)
	}
}

// A call given up at its deadline ends on the wire too: the SDK's HTTP client has
// the deadline, so nothing is left in flight to land later (after a rollback wrote
// the old value back, say).
func TestAbandonedCallEndsAtItsDeadline(t *testing.T) {
	inf, v := setup(t)
	inf.Fail(sbinfisical.InfisicalUpdateSecret, &sandbox.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := v.Write(ctx, cur, rotation.NewSecret(newToken)); rotation.ErrorCode(err) != rotation.EUNAVAILABLE {
		t.Fatalf("hung write: %v", err)
	}
	waitInflight(t, inf, sbinfisical.InfisicalUpdateSecret)

	// The Vault's own deadline, when the caller gave none, bounds the request too.
	v.timeout = 300 * time.Millisecond
	if _, err := v.Write(context.Background(), cur, rotation.NewSecret(newToken)); rotation.ErrorCode(err) != rotation.EUNAVAILABLE {
		t.Fatalf("hung write without a caller deadline: %v", err)
	}
	waitInflight(t, inf, sbinfisical.InfisicalUpdateSecret)
	if val, _, _ := inf.Value("prod", cur.Path, cur.Key); val != oldToken {
		t.Fatal("the abandoned write landed")
	}
}

// waitInflight waits for the stand-in to see the abandoned request's connection
// end: a wait for an event that must come, not a timing check.
func waitInflight(t *testing.T, inf *sbinfisical.Infisical, route string) {
	t.Helper()
	for i := 0; inf.Inflight(route) != 0; i++ {
		if i == 300 {
			t.Fatalf("%d requests to %s are still in flight after the call was given up", inf.Inflight(route), route)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Infisical answers an expired access token with 403 TokenError, not 401: the
// Vault logs in again once, as for a 401.
func TestExpiredTokenLogsInAgain(t *testing.T) {
	inf, v := setup(t)
	inf.ExpireTokens()
	if _, err := v.Read(context.Background(), cur); err != nil {
		t.Fatalf("Read after the token expired: %v", err)
	}
	if n := inf.Count(sbinfisical.InfisicalLogin, true); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
}

// The error mapping reads the status and the server's error/message structure: a
// word from the secret's own name (PROJECT, ENVIRONMENT, FOLDER) changes nothing.
func TestErrorsReadTheServersStructure(t *testing.T) {
	ctx := context.Background()
	inf, v := setup(t)
	for _, key := range []string{"GH_PROJECT_TOKEN", "ENVIRONMENT_KEY", "FOLDER_TOKEN"} {
		_, err := v.Read(ctx, rotation.VaultRef{Environment: "prod", Path: cur.Path, Key: key})
		wantErr(t, err, rotation.ENOTFOUND, "Infisical has no secret "+key+" at /MooseQuest/github/ in prod", 0)
	}

	// An unknown environment and a missing folder are one lookup on the server, one
	// answer: the message names both things to check.
	_, err := v.Read(ctx, rotation.VaultRef{Environment: "prd", Path: cur.Path, Key: cur.Key})
	wantErr(t, err, rotation.ENOTFOUND, "Infisical has no folder /MooseQuest/github/ in environment prd: "+
		"check vault.environment (the environment's slug, e.g. prod) and that the folder exists there", 0)
	_, err = v.Write(ctx, rotation.VaultRef{Environment: "prod", Path: "/nowhere/", Key: cur.Key}, rotation.NewSecret(newToken))
	wantErr(t, err, rotation.ENOTFOUND, "Infisical has no folder /nowhere/ in environment prod: "+
		"check vault.environment (the environment's slug, e.g. prod) and that the folder exists there", 0)

	inf.SetMember(false)
	_, err = v.Read(ctx, cur)
	wantErr(t, err, rotation.EFORBIDDEN, "The machine identity is not a member of Infisical project proj-rotabot (403): "+
		"add it to the project (Access Control → Machine Identities), or check INFISICAL_PROJECT_ID", 0)
}
