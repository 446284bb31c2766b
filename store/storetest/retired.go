package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// ListRetired lists the runs of a secret that retired their old token
// (completed, or finished with a revoke attempted), newest first, kept as runs
// change, and with what RetiredBy needs to recognise each old token.
func testRetired(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	tokens := map[string]rotation.Secret{}
	finish := func(secret string, state rotation.State, revoked bool) string {
		t.Helper()
		r, err := s.CreateRun(ctx, NewRun(secret, rotation.StateVerifying))
		if err != nil {
			t.Fatal(err)
		}
		old := rotation.NewSecret("github_pat_11AAAAAAA0retiredTokenOf" + r.ID + "xyz0123456789")
		tokens[r.ID] = old
		if _, err := s.UpdateRun(ctx, r.ID, func(x *rotation.Run) error {
			x.DigestKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
			x.OldFingerprint, x.OldDigest = old.Fingerprint(), x.DigestOf(old)
			x.State, x.RevokeAttempted, x.Updated = state, revoked, at
			x.Steps = []rotation.StepRecord{{Name: rotation.StepRevoke, State: rotation.StepDone, Finished: at.Add(time.Minute)}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	completed := finish("A_TOKEN", rotation.StateCompleted, true)
	finish("A_TOKEN", rotation.StateCancelled, false)
	rolledBackAfterRevoke := finish("A_TOKEN", rotation.StateRolledBack, true)
	finish("B_TOKEN", rotation.StateCompleted, true)
	open, err := s.CreateRun(ctx, NewRun("A_TOKEN", rotation.StateVerifying))
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.ListRetired(ctx, "A_TOKEN")
	if err != nil || !slices.Equal(ids(list), []string{rolledBackAfterRevoke, completed}) {
		t.Fatalf("retired runs of A, newest first: %v %v", ids(list), err)
	}
	ret := rotation.RetiredBy(list, tokens[completed], "")
	if ret == nil || ret.Run != completed || !ret.Revoked || !ret.At.Equal(at.Add(time.Minute)) {
		t.Fatalf("RetiredBy on the listed runs: %+v", ret)
	}
	if rotation.RetiredBy(list, rotation.NewSecret("github_pat_11AAAAAAA0neverSeenTokenxyz0123456789"), "") != nil {
		t.Fatal("a token no run retired was found retired")
	}
	// A run that completes joins the list.
	if _, err := s.UpdateRun(ctx, open.ID, func(x *rotation.Run) error { x.State = rotation.StateCompleted; return nil }); err != nil {
		t.Fatal(err)
	}
	list, _ = s.ListRetired(ctx, "A_TOKEN")
	if !slices.Equal(ids(list), []string{open.ID, rolledBackAfterRevoke, completed}) {
		t.Fatalf("after a completion: %v", ids(list))
	}
	if list, _ = s.ListRetired(ctx, "C_TOKEN"); len(list) != 0 {
		t.Fatalf("a secret without runs: %v", ids(list))
	}
}
