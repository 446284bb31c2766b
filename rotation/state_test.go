package rotation

import (
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/internal/words"
)

// The allowed moves, written out again by hand from the procedure so that a
// change to the table must be a change to this list too.
const wantMoves = `
prechecking precheck_ok waiting_token
prechecking precheck_fail precheck_failed
prechecking cancel cancelled
precheck_failed retry prechecking
precheck_failed cancel cancelled
waiting_token submit waiting_approval
waiting_token cancel cancelled
waiting_approval approve storing
waiting_approval cancel cancelled
storing stored propagating
storing store_fail store_failed
storing rollback rolling_back
store_failed retry storing
store_failed rollback rolling_back
propagating propagated verifying
propagating propagate_fail propagate_failed
propagating rollback rolling_back
propagate_failed retry propagating
propagate_failed rollback rolling_back
verifying verified waiting_revoke
verifying verify_fail verify_failed
verifying rollback rolling_back
verify_failed retry propagating
verify_failed rollback rolling_back
waiting_revoke revoke revoking
waiting_revoke skip_revoke auditing
waiting_revoke rollback rolling_back
waiting_revoke watch_fail verify_failed
revoking revoke_confirm auditing
revoking revoke_pending waiting_revoke
auditing audited completed
auditing audit_fail audit_failed
audit_failed retry auditing
rolling_back rolled_back rolled_back
rolling_back rollback_fail rollback_failed
rollback_failed retry rolling_back
precheck_failed abandon abandoned
waiting_token abandon abandoned
waiting_approval abandon abandoned
store_failed abandon abandoned
propagate_failed abandon abandoned
verify_failed abandon abandoned
waiting_revoke abandon abandoned
audit_failed abandon abandoned
rollback_failed abandon abandoned
`

func TestTransitionTableOverWholeSpace(t *testing.T) {
	want := map[move]State{}
	for _, line := range strings.Split(strings.TrimSpace(wantMoves), "\n") {
		f := strings.Fields(line)
		want[move{State(f[0]), Event(f[1])}] = State(f[2])
	}
	pairs := 0
	for _, s := range States {
		for _, ev := range Events {
			pairs++
			to, err := Next(s, ev)
			exp, allowed := want[move{s, ev}]
			switch {
			case allowed && err != nil:
				t.Errorf("%s --%s--> refused, want %s", s, ev, exp)
			case allowed && to != exp:
				t.Errorf("%s --%s--> %s, want %s", s, ev, to, exp)
			case !allowed && err == nil:
				t.Errorf("%s --%s--> %s allowed, want refused", s, ev, to)
			case !allowed && ErrorCode(err) != ECONFLICT:
				t.Errorf("%s --%s--> refused with %s, want conflict", s, ev, ErrorCode(err))
			}
		}
	}
	if pairs != len(States)*len(Events) || len(want) != len(transitions) {
		t.Fatalf("table has %d moves, list has %d", len(transitions), len(want))
	}
	// Final states allow nothing, and have no buttons' worth of moves.
	for _, s := range States {
		if !s.Final() {
			continue
		}
		for _, ev := range Events {
			if s.Allowed(ev) {
				t.Errorf("final state %s allows %s", s, ev)
			}
		}
	}
}

func TestEveryStateHasAWord(t *testing.T) {
	words := map[string]bool{"Waiting for token": true, "Waiting for approval": true, "Propagating": true,
		"Verifying": true, "Waiting for revoke": true, "Completed": true, "Rolled back": true, "Cancelled": true,
		"Failed": true, "Pre-checking": true, "Auditing": true, "Rolling back": true, "Abandoned": true}
	for _, s := range States {
		if !words[s.Word()] {
			t.Errorf("%s shows %q", s, s.Word())
		}
	}
}

func TestDestinationTable(t *testing.T) {
	cases := []struct {
		from DestState
		ev   DestEvent
		to   DestState
	}{
		{DestPending, DestEvWrite, DestWriting},
		{DestWriting, DestEvWritten, DestWritten},
		{DestWriting, DestEvAsked, DestWaiting},
		{DestWaiting, DestEvDone, DestDone},
		{DestFailed, DestEvWrite, DestWriting},
		{DestWritten, DestEvVerified, DestVerified},
		{DestWritten, DestEvRevert, DestReverted},
	}
	for _, c := range cases {
		if to, err := NextDest(c.from, c.ev); err != nil || to != c.to {
			t.Errorf("%s --%s--> %s %v, want %s", c.from, c.ev, to, err, c.to)
		}
	}
	for _, bad := range []struct {
		from DestState
		ev   DestEvent
	}{{DestPending, DestEvDone}, {DestWritten, DestEvWrite}, {DestVerified, DestEvWrite}, {DestDone, DestEvDone}, {DestPending, DestEvRevert}} {
		if _, err := NextDest(bad.from, bad.ev); ErrorCode(err) != ECONFLICT {
			t.Errorf("%s --%s--> allowed", bad.from, bad.ev)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret("ghp_abcdefghijklmnopqrstuvwxyz0123456789")
	for _, out := range []string{s.String(), s.GoString(), sprintf("%v %s %+v %#v %q", s, s, s, s, s)} {
		if strings.Contains(out, "abcdefgh") {
			t.Fatalf("secret printed: %s", out)
		}
	}
	if Fingerprint("x") != "2d711642" {
		t.Fatalf("fingerprint = %s", Fingerprint("x"))
	}
}

// Run.Can is the transition table, plus one detail: once the old token went to
// GitHub's revoke endpoint there is no rollback.
func TestRunCanIsTheTable(t *testing.T) {
	for _, s := range States {
		for _, ev := range Events {
			for _, sent := range []bool{false, true} {
				r := &Run{State: s, RevokeSent: sent}
				want := s.Allowed(ev) && !(ev == EvRollback && sent)
				if got := r.Can(ev); got != want {
					t.Errorf("%s (revoke sent %v) can %s = %v, want %v", s, sent, ev, got, want)
				}
			}
		}
	}
}

// One home for GitHub's token pages: the card, the revoke notice, the CLI's
// SUMMARY and the new-token link all read TokenKind.SettingsURL, on the GitHub
// the matrix's GitHubWeb names.
func TestSettingsURL(t *testing.T) {
	for kind, want := range map[TokenKind]string{
		Classic:     "https://github.com/settings/tokens",
		FineGrained: "https://github.com/settings/personal-access-tokens",
	} {
		if got := kind.SettingsURL(""); got != want {
			t.Errorf("%s: %s, want %s", kind, got, want)
		}
		if got, ghes := kind.SettingsURL("https://ghe.raxx.app/"), strings.Replace(want, "https://github.com", "https://ghe.raxx.app", 1); got != ghes {
			t.Errorf("%s on an Enterprise Server: %s, want %s", kind, got, ghes)
		}
		p := Plan{Kind: kind, TokenName: "X-2026-01-01", ExpiresInDays: 90, SettingsURL: kind.SettingsURL("")}
		if got := newTokenURL(p); !strings.HasPrefix(got, want+"/new?") {
			t.Errorf("%s: new-token link %s, want it under %s/new", kind, got, want)
		}
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 repositories", 1: "1 repository", 2: "2 repositories"} {
		if got := words.Plural(n, "repository", "repositories"); got != want {
			t.Errorf("words.Plural(%d) = %q, want %q", n, got, want)
		}
	}
}
