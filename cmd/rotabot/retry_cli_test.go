package main

import (
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
)

// The --apps trap: a mistyped app fails the first run after the GitHub secret
// was written. The next rotate, with the corrected flags, retries with them:
// the mistyped app is dropped with a line saying so, the right ones are added,
// the GitHub secret is not written again, and the run completes.
func TestRotateRetryFollowsTheFlagsTypedNow(t *testing.T) {
	h, env := cliWorld(t)
	newTok := h.Fresh[0]
	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", newTok)

	code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN", "--apps", "raxx-api-prod")
	if code != 1 {
		t.Fatalf("first try: %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"  Heroku raxx-api-prod (from --apps)    ",
		"  FAILED: Heroku has no app raxx-api-prod (404): check the app's name, and that HEROKU_API_KEY's account can see it — raxx-api-prod came from --apps, not the routing matrix\n",
		"  GitHub Actions raxx-app/TradeMasterAPI (GH_API_READONLY_TOKEN)  ",
		"  GitHub environment secret raxx-app/TradeMasterAPI · production · GH_API_READONLY_TOKEN  SET (not verified)\n",
		"  Dependabot secret raxx-app/TradeMasterAPI · GH_API_READONLY_TOKEN                       SET (not verified)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the first SUMMARY lacks %q:\n%s", want, out)
		}
	}
	if v, _, _ := h.World.GitHub.ActionsSecret("raxx-app/TradeMasterAPI", "GH_API_READONLY_TOKEN"); v != newTok {
		t.Fatal("the GitHub secret was not written by the first try")
	}
	ghWrites := h.World.GitHub.Count("PUT /repos/{owner}/{repo}/actions/secrets/{name}", true)

	code, out, errs = runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN", "--apps", "raxx-console-prod,raxx-console-staging")
	if code != 0 {
		t.Fatalf("corrected flags: %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"Dropped from the run, no longer named: Heroku raxx-api-prod (from --apps) — never written: it holds the old value",
		"Added to the run: Heroku raxx-console-prod (from --apps)",
		"Added to the run: Heroku raxx-console-staging (from --apps)",
		"retried with the destinations named now",
		"SUMMARY — GITHUB_API_READONLY_TOKEN, run r1: Completed",
		"dropped, no longer named: Heroku raxx-api-prod (from --apps) — never written: it holds the old value",
	} {
		// Progress lines wrap at 100 columns, their continuations indented.
		if !strings.Contains(strings.ReplaceAll(out, "\n    ", " "), want) {
			t.Errorf("the retry lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAILED") {
		t.Errorf("raxx-api-prod was retried:\n%s", out)
	}
	for _, app := range []string{"raxx-console-prod", "raxx-console-staging"} {
		if v, _ := h.World.Heroku.ConfigVar(app, "GITHUB_API_READONLY_TOKEN"); v != newTok {
			t.Errorf("%s does not hold the new token", app)
		}
	}
	if n := h.World.GitHub.Count("PUT /repos/{owner}/{repo}/actions/secrets/{name}", true); n != ghWrites {
		t.Errorf("the GitHub secret was written again (%d writes, then %d)", ghWrites, n)
	}
	h.assertLeakFree(t, out, errs, h.dbBytes(t))
}

// Without flags the retry follows the routing matrix; a run whose meaning changed
// (another value in Infisical) is refused with the way out, rotabot abandon,
// which frees the secret.
func TestRotateRunThatMeansSomethingElse(t *testing.T) {
	h, env := cliWorld(t)
	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", h.Fresh[0])
	if code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN", "--apps", "raxx-api-prod"); code != 1 {
		t.Fatalf("first try: %d\n%s\n%s", code, out, errs)
	}
	// Someone stores yet another token in Infisical.
	h.World.Infisical.Set("prod", "/MooseQuest/github/", "GITHUB_API_READONLY_TOKEN", h.Fresh[1])
	code, out, errs := runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
	want := "rotabot rotate: GITHUB_API_READONLY_TOKEN already has an open run, r1 (Failed), for another value (" + rotation.Fingerprint(h.Fresh[0]) +
		"; Infisical now holds " + rotation.Fingerprint(h.Fresh[1]) + "): finish it, or give it up with rotabot abandon r1 --reason \"…\" and run this again\n"
	if code != 1 || !strings.HasSuffix(errs, want) {
		t.Fatalf("another value: %d\n%s\n%s", code, out, errs)
	}
	// The way out.
	code, out, errs = runCLI(t, env, "abandon", "r1")
	if code != 2 || !strings.Contains(errs, "rotabot abandon: --reason: Say why the run is abandoned") {
		t.Fatalf("abandon without a reason: %d\n%s", code, errs)
	}
	code, out, errs = runCLI(t, env, "abandon", "r1", "--reason", "a newer token is in Infisical; rotating that one")
	if code != 0 {
		t.Fatalf("abandon: %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"  · " + actor() + " abandoned the run (it was Failed): a newer token is in Infisical; rotating that one\n    It leaves:\n",
		"    • Infisical: /MooseQuest/github/GITHUB_API_READONLY_TOKEN in prod holds the value this run propagated (version 2, " + rotation.Fingerprint(h.Fresh[0]) + ")",
		"    • Heroku raxx-api-prod: failed (Heroku has no app raxx-api-prod",
		"    • GitHub Actions raxx-app/TradeMasterAPI (GH_API_READONLY_TOKEN): holds the new value (not verified)\n",
		"Abandoned r1 (GITHUB_API_READONLY_TOKEN; it was Failed): put right by hand what it left, as listed above.\n",
		"Audit: secret.rotate.abandoned written (reason: a newer token is in Infisical; rotating that one).",
	} {
		// A note's lines wrap at 100 columns, their continuations indented 6.
		if !strings.Contains(strings.ReplaceAll(out, "\n      ", " "), want) {
			t.Errorf("abandon's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<@") {
		t.Errorf("Slack formatting in the terminal:\n%s", out)
	}
	code, out, errs = runCLI(t, env, "abandon", "r1", "--reason", "again")
	if code != 1 || !strings.Contains(errs, "r1 is already Abandoned: there is nothing to abandon") {
		t.Errorf("abandon twice: %d %s", code, errs)
	}
	// The secret is free: the matrix's destinations, a new run.
	code, out, errs = runCLI(t, env, "rotate", "GITHUB_API_READONLY_TOKEN")
	if code != 0 || !strings.Contains(out, "SUMMARY — GITHUB_API_READONLY_TOKEN, run r2: Completed") {
		t.Fatalf("after abandon: %d\n%s\n%s", code, out, errs)
	}
	h.assertLeakFree(t, out, errs, h.dbBytes(t))
}
