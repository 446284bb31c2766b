package drift_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
)

// Set it from Infisical goes through the engine's guarded write path: these
// tests show each of its refusals on a drift repair, the second ops member a
// repair of every destination needs, and that a repair and a run of the same
// secret never overlap.

const (
	driftNew   = "github_pat_11NEW_11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b84"
	driftNewer = "github_pat_11NEWER_804f51f71254c4081e37e7c887073560f4a6fa6cdad202e9ac"
)

// noTokenIn fails when text holds any 8 characters in a row of a token's part
// after its prefix.
func noTokenIn(t *testing.T, where, text string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		rest := strings.TrimPrefix(strings.TrimPrefix(tok, "github_pat_"), "ghp_")
		for i := 0; i+8 <= len(rest); i++ {
			if strings.Contains(text, rest[i:i+8]) {
				t.Fatalf("%s holds part of a token (%s…)", where, tok[:14])
			}
		}
	}
}

// noTokenInFile greps the bbolt file for the tokens.
func (w *driftWorld) noTokenInFile(tokens ...string) {
	w.t.Helper()
	data, err := os.ReadFile(w.path)
	if err != nil {
		w.t.Fatal(err)
	}
	noTokenIn(w.t, "the bbolt file", string(data), tokens...)
}

func (w *driftWorld) token1() (rotation.VaultRef, string) {
	cur, _ := w.matrix.Refs("TOKEN_1")
	v, _ := w.vault.Current(cur)
	return cur, v
}

// drifted returns the open drift of key after a pass.
func (w *driftWorld) drifted(key string) drift.Record {
	w.t.Helper()
	for _, d := range w.pass().Open {
		if d.Key == key {
			return d
		}
	}
	w.t.Fatalf("no open drift %s", key)
	return drift.Record{}
}

// rotate carries a whole rotation of TOKEN_1 to value through the engine:
// approved by another person, the old token revoked through GitHub's endpoint.
func (w *driftWorld) rotate(value string) *rotation.Run {
	t := w.t
	t.Helper()
	ctx := context.Background()
	w.chk.Add(value, "raxx-bot", t0.Add(90*24*time.Hour))
	r := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: "TOKEN_1", Requester: "U0ALICE"}))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	r = ok(t)(w.eng.Submit(ctx, r.ID, "U0ALICE", rotation.NewSecret(value)))
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0ALICE", true))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateCompleted)
	return r
}

// The reported case: a completed run replaced OLD (version 1) with NEW
// (version 2) and revoked OLD; someone restores OLD from Infisical's history
// (version 3). The drift posts say Infisical holds a token rotabot revoked, in
// that run, and to rotate instead; Set it from Infisical, pressed anyway, is
// refused with the same words and writes nothing.
func TestRepairRefusesTheRestoredRevokedToken(t *testing.T) {
	w := newDriftWorld(t, 1, 1)
	cur, old := w.token1()
	r := w.rotate(driftNew)
	w.vault.Set(cur, old) // restored from history: version 3
	said := "Infisical holds a token rotabot revoked on " + words.DateText(t0) + " in run " + r.ID + ": rotate instead"

	app := w.drifted(drift.Key("TOKEN_1", rotation.DestHeroku, "app-0", "TOKEN_1"))
	if want := "it holds version 2 (`" + rotation.Fingerprint(driftNew) + "`), the last version rotabot wrote, not Infisical's current version 3 (`" +
		rotation.Fingerprint(old) + "`), which was written outside rotabot; " + said; app.Problem != want {
		t.Errorf("the app's drift says\n%s\nwant\n%s", app.Problem, want)
	}
	if app.Retired == nil || app.Retired.Run != r.ID {
		t.Errorf("the drift does not know the token was retired: %+v", app.Retired)
	}
	vault := w.drifted(drift.Key("TOKEN_1", "", "", ""))
	if !strings.HasSuffix(vault.Problem, said) || strings.Contains(vault.Problem, "old value") {
		t.Errorf("the version drift says %s", vault.Problem)
	}

	sets := w.apps.setCount()
	ctx := context.Background()
	for _, d := range []drift.Record{app, vault} {
		_, err := w.loop.Repair(ctx, d.Key, d.Stamp(), d.VaultVersion, "U0BOB")
		if !errors.Is(err, rotation.ErrRetiredToken) || !strings.Contains(rotation.ErrorMessage(err), said) {
			t.Fatalf("Set it from Infisical on %s: %v", d.Key, err)
		}
		noTokenIn(t, "the refusal", rotation.ErrorMessage(err)+err.Error(), old, driftNew)
	}
	if w.apps.setCount() != sets || w.apps.get("app-0", "TOKEN_1") != driftNew {
		t.Fatal("a refused repair wrote the app")
	}
	if recs, _ := w.st.ListDrift(ctx); len(recs) == 0 || slicesAny(recs, func(d drift.Record) bool { return d.RequestedBy != "" }) {
		t.Errorf("a refused repair was recorded as asked for: %+v", recs)
	}
	w.noTokenInFile(old, driftNew)
}

func slicesAny[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

// Infisical changes between the post and the press: the repair writes the
// version the post and its confirm dialog named or nothing — refused, with the
// newer version's fingerprint, and the post shows the new drift.
func TestRepairRefusesWhenInfisicalChangedSinceThePost(t *testing.T) {
	w := newDriftWorld(t, 1, 2)
	w.apps.set("app-1", "TOKEN_1", "changed by hand")
	key := drift.Key("TOKEN_1", rotation.DestHeroku, "app-1", "TOKEN_1")
	d := w.drifted(key)
	cur, _ := w.token1()
	w.chk.Add(driftNewer, "raxx-bot", t0.Add(90*24*time.Hour))
	w.vault.Set(cur, driftNewer) // version 2, after the post
	w.now = w.now.Add(time.Minute)

	_, err := w.loop.Repair(context.Background(), d.Key, d.Stamp(), d.VaultVersion, "U0BOB")
	msg := rotation.ErrorMessage(err)
	if !errors.Is(err, rotation.ErrVaultMoved) || !strings.Contains(msg, "it holds version 2 (`"+rotation.Fingerprint(driftNewer)+"`) now, not version 1. Nothing was written.") ||
		!strings.Contains(msg, "The post shows the drift as it is now.") {
		t.Fatalf("refusal: %v", err)
	}
	noTokenIn(t, "the refusal", msg+err.Error(), driftNewer)
	if w.apps.setCount() != 0 || w.apps.get("app-1", "TOKEN_1") != "changed by hand" {
		t.Fatal("the refused repair wrote")
	}
	// The new drift: version 2, a new stamp, shown in the same post.
	recs, _ := w.loop.OpenDrifts(context.Background())
	var now drift.Record
	for _, r := range recs {
		if r.Key == key {
			now = r
		}
	}
	if now.VaultVersion != 2 || now.Stamp() == d.Stamp() || !strings.Contains(now.Problem, "Infisical's version 2 (`"+rotation.Fingerprint(driftNewer)+"`)") {
		t.Fatalf("the drift after the refusal: %+v", now)
	}
	shown := w.posts.all()[now.Post.TS]
	if len(shown) < 2 || shown[len(shown)-1] != key+" "+now.ShowState() || now.Post != d.Post {
		t.Errorf("the post did not show the new drift: %v", shown)
	}
	// The old post's button is over; the new one writes version 2.
	if _, err := w.loop.Repair(context.Background(), d.Key, d.Stamp(), d.VaultVersion, "U0BOB"); !errors.Is(err, drift.ErrMovedOn) {
		t.Fatalf("the old button again: %v", err)
	}
	if _, err := w.loop.Repair(context.Background(), now.Key, now.Stamp(), now.VaultVersion, "U0BOB"); err != nil {
		t.Fatal(err)
	}
	if w.apps.get("app-1", "TOKEN_1") != driftNewer {
		t.Error("the repair of the new drift did not write version 2")
	}
	w.noTokenInFile(driftNewer)
}

// A destination no longer in the routing matrix is not written.
func TestRepairRefusesADestinationGoneFromTheMatrix(t *testing.T) {
	w := newDriftWorld(t, 1, 2)
	w.apps.set("app-1", "TOKEN_1", "changed by hand")
	d := w.drifted(drift.Key("TOKEN_1", rotation.DestHeroku, "app-1", "TOKEN_1"))
	w.matrix.Secrets["TOKEN_1"].Consumers.HerokuApps = []string{"app-0"}

	_, err := w.loop.Repair(context.Background(), d.Key, d.Stamp(), d.VaultVersion, "U0BOB")
	if !errors.Is(err, rotation.ErrNotInMatrix) ||
		rotation.ErrorMessage(err) != "Heroku app-1 is no longer in the routing matrix of TOKEN_1: nothing was written. The drift check forgets it at its next pass." {
		t.Fatalf("refusal: %v", err)
	}
	if w.apps.setCount() != 0 || w.apps.get("app-1", "TOKEN_1") != "changed by hand" {
		t.Fatal("the refused repair wrote")
	}
	// And the next pass forgets it, as it said.
	if rep := w.pass(); len(rep.Open) != 0 || rep.Resolved != 1 {
		t.Errorf("after the pass: %+v", rep)
	}
}

// A value GitHub refuses (revoked, expired, another login), or that is no
// GitHub token of the secret's kind, is not written.
func TestRepairRefusesATokenGitHubRefuses(t *testing.T) {
	const classic = "ghp_b002a634647c3350c37b15a376bae6867d90"
	const bad = "github_pat_11BAD_2f05d4b689d270cafb02285f35f44866f7dc8a2d368a3f9d11"
	for _, c := range []struct {
		name, value, want string
		github            func(*rotationtest.MemGitHub)
	}{
		{"revoked", bad, "GitHub refuses the value of TOKEN_1 in Infisical (`" + rotation.Fingerprint(bad) + "`) (401): it is expired, revoked or mistyped. Nothing was written: rotate instead",
			func(g *rotationtest.MemGitHub) { g.Add(bad, "raxx-bot", t0.Add(time.Hour)); g.Delete(bad) }},
		{"expired", bad, "The value of TOKEN_1 in Infisical (`" + rotation.Fingerprint(bad) + "`) expired on 2026-11-28 09:00 UTC. Nothing was written: rotate instead",
			func(g *rotationtest.MemGitHub) { g.Add(bad, "raxx-bot", t0.Add(-time.Hour)) }},
		{"another login", bad, "The value of TOKEN_1 in Infisical (`" + rotation.Fingerprint(bad) + "`) belongs to someone-else, not raxx-bot. Nothing was written: rotate instead",
			func(g *rotationtest.MemGitHub) { g.Add(bad, "someone-else", t0.Add(90*24*time.Hour)) }},
		{"classic", classic, "is a classic token, but TOKEN_1 is configured as fine-grained. Nothing was written: rotate instead",
			func(g *rotationtest.MemGitHub) { g.Add(classic, "raxx-bot", t0.Add(90*24*time.Hour)) }},
		{"no token", "hunter2-e9a63a4eb15738ae85cd", "is not a GitHub token (That is not a GitHub token (ghp_… or github_pat_…)). Nothing was written: rotate instead",
			func(*rotationtest.MemGitHub) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newDriftWorld(t, 1, 1)
			// The secret's login is known: its expiry record says so.
			if err := w.st.PutExpiry(context.Background(), rotation.ExpiryRecord{Secret: "TOKEN_1", Login: "raxx-bot", CheckedAt: t0}); err != nil {
				t.Fatal(err)
			}
			c.github(w.chk)
			cur, _ := w.token1()
			w.vault.Set(cur, c.value)
			d := w.drifted(drift.Key("TOKEN_1", rotation.DestHeroku, "app-0", "TOKEN_1"))
			_, err := w.loop.Repair(context.Background(), d.Key, d.Stamp(), d.VaultVersion, "U0BOB")
			if !errors.Is(err, rotation.ErrTokenRefused) || !strings.Contains(rotation.ErrorMessage(err), c.want) {
				t.Fatalf("refusal: %v", err)
			}
			noTokenIn(t, "the refusal", rotation.ErrorMessage(err)+err.Error(), c.value)
			if w.apps.setCount() != 0 {
				t.Fatal("the refused repair wrote")
			}
			w.noTokenInFile(c.value)
		})
	}
}

// A repair that writes every destination (a version drift) is asked for by one
// ops member and approved by another, as a run is; the one who asked cannot
// approve, and nothing is written before the approval. Its post says the
// consumers hold the previous version, not "the old value".
func TestVersionRepairNeedsASecondOpsMember(t *testing.T) {
	w := newDriftWorld(t, 1, 2)
	ctx := context.Background()
	cur, first := w.token1()
	if _, err := w.st.CreateRun(ctx, &rotation.Run{Secret: "TOKEN_1", State: rotation.StateCompleted, Method: rotation.MethodSlack, NewVaultVersion: 1}); err != nil {
		t.Fatal(err)
	}
	w.chk.Add(driftNewer, "raxx-bot", t0.Add(90*24*time.Hour))
	w.vault.Set(cur, driftNewer) // version 2, written outside rotabot
	vd := w.drifted(drift.Key("TOKEN_1", "", "", ""))
	if want := "Infisical holds version 2 (`" + rotation.Fingerprint(driftNewer) + "`), written outside rotabot; the last version rotabot wrote is 1 (`" +
		rotation.Fingerprint(first) + "`), and the consumers rotabot set hold that previous version, not version 2"; vd.Problem != want {
		t.Errorf("the version drift says\n%s\nwant\n%s", vd.Problem, want)
	}
	app := w.drifted(drift.Key("TOKEN_1", rotation.DestHeroku, "app-0", "TOKEN_1"))
	if !strings.HasPrefix(app.Problem, "it holds version 1 (`"+rotation.Fingerprint(first)+"`), the last version rotabot wrote, not Infisical's current version 2") {
		t.Errorf("the app's drift says %s", app.Problem)
	}

	asked, err := w.loop.Repair(ctx, vd.Key, vd.Stamp(), vd.VaultVersion, "U0ALICE")
	if err != nil || !asked.Open || asked.RequestedBy != "U0ALICE" || asked.RequestedVersion != 2 {
		t.Fatalf("asked: %+v %v", asked, err)
	}
	if w.apps.setCount() != 0 || len(w.gh.updated) != 0 {
		t.Fatal("written before the approval")
	}
	if shown := w.posts.all()[asked.Post.TS]; shown[len(shown)-1] != vd.Key+" open:"+vd.Problem+"|asked:U0ALICE:2" {
		t.Errorf("the post does not show the request: %v", shown)
	}
	if _, err := w.loop.Repair(ctx, vd.Key, vd.Stamp(), vd.VaultVersion, "U0BOB"); !errors.Is(err, drift.ErrMovedOn) {
		t.Errorf("Set it from Infisical again: %v", err)
	}
	if _, err := w.loop.ApproveRepair(ctx, vd.Key, vd.Stamp(), 2, "U0ALICE"); !errors.Is(err, rotation.ErrSelfApproval) || rotation.ErrorCode(err) != rotation.EFORBIDDEN {
		t.Fatalf("self-approval: %v", err)
	}
	if w.apps.setCount() != 0 {
		t.Fatal("a refused approval wrote")
	}
	// The guarded write path itself refuses a write of every destination
	// outside a run that nobody else approved.
	err = w.eng.WriteValue(ctx, rotation.WriteRequest{Secret: "TOKEN_1", Ref: cur, Version: 2, By: "U0ALICE", ApprovedBy: "U0ALICE",
		Dests: []rotation.Destination{{Kind: rotation.DestHeroku, Target: "app-0"}, {Kind: rotation.DestHeroku, Target: "app-1"}}},
		func(context.Context, rotation.Secret, rotation.Setter) error { t.Fatal("cleared"); return nil })
	if !errors.Is(err, rotation.ErrNeedsApproval) {
		t.Fatalf("an unapproved write: %v", err)
	}

	done, err := w.loop.ApproveRepair(ctx, vd.Key, vd.Stamp(), 2, "U0BOB")
	if err != nil || done.Open || done.RepairedBy != "U0ALICE" || done.ApprovedBy != "U0BOB" {
		t.Fatalf("approved: %+v %v", done, err)
	}
	for _, a := range []string{"app-0", "app-1"} {
		if w.apps.get(a, "TOKEN_1") != driftNewer {
			t.Errorf("%s does not hold version 2", a)
		}
	}
	audits, _ := w.st.ListAudit(ctx, "TOKEN_1", 0)
	if len(audits) != 1 || audits[0].Actor != "U0ALICE" || audits[0].Approver != "U0BOB" || len(audits[0].Destinations) != 3 {
		t.Fatalf("audit: %+v", audits)
	}
	w.noTokenInFile(first, driftNewer)
}

// A repair and a run of one secret exclude each other for the whole write: a
// run cannot start (in Slack or from the CLI) while a repair writes — the
// repair's own write tries, deterministically, from inside it — and a repair
// refuses while a run is open.
func TestRepairAndRunExcludeEachOther(t *testing.T) {
	w := newDriftWorld(t, 1, 2)
	ctx := context.Background()
	w.apps.set("app-0", "TOKEN_1", "changed by hand")
	w.apps.set("app-1", "TOKEN_1", "changed too")
	w.pass()
	app0 := w.drifted(drift.Key("TOKEN_1", rotation.DestHeroku, "app-0", "TOKEN_1"))
	app1 := w.drifted(drift.Key("TOKEN_1", rotation.DestHeroku, "app-1", "TOKEN_1"))

	var started, cli error
	var during *rotation.Run
	w.apps.onSet = func(string) {
		during, started = w.eng.Start(ctx, rotation.StartRequest{Secret: "TOKEN_1", Requester: "U0CAROL"})
		_, cli = w.eng.StartCLI(ctx, rotation.CLIRequest{Secret: "TOKEN_1", Actor: "cli:carol"})
	}
	if _, err := w.loop.Repair(ctx, app1.Key, app1.Stamp(), app1.VaultVersion, "U0BOB"); err != nil {
		t.Fatal(err)
	}
	w.apps.onSet = nil
	if !errors.Is(started, rotation.ErrWriteBusy) || during != nil ||
		rotation.ErrorMessage(started) != "TOKEN_1 is being set from Infisical right now (Set it from Infisical on a drift post): nothing was started. Start the run once that is done; its post says when." {
		t.Fatalf("a run started while the repair wrote: %v %v", during, started)
	}
	if !errors.Is(cli, rotation.ErrWriteBusy) {
		t.Fatalf("a CLI run started while the repair wrote: %v", cli)
	}
	if runs, _ := w.st.ListRuns(ctx, rotation.RunFilter{Secret: "TOKEN_1"}); len(runs) != 0 {
		t.Fatalf("runs made during the repair: %d", len(runs))
	}

	// Once it is done, the run starts; while it is open, a repair refuses.
	r := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: "TOKEN_1", Requester: "U0CAROL"}))
	sets := w.apps.setCount()
	_, err := w.loop.Repair(ctx, app0.Key, app0.Stamp(), app0.VaultVersion, "U0BOB")
	if !errors.Is(err, rotation.ErrRunOpen) || !strings.HasPrefix(rotation.ErrorMessage(err), "TOKEN_1 has an open run, "+r.ID+" (") {
		t.Fatalf("a repair during a run: %v", err)
	}
	if w.apps.setCount() != sets || w.apps.get("app-0", "TOKEN_1") != "changed by hand" {
		t.Fatal("a repair wrote while a run was open")
	}
	_, v := w.token1()
	w.noTokenInFile(v)
}
