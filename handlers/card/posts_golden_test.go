package card_test

import (
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
	"github.com/raxx-app/rotabot/rotation/expiry"
)

// The shell-rc operator's DM: how to pull the new value (never the value) and
// Done; after a rollback, how to put the old one back.
func TestOperatorDM(t *testing.T) {
	vault := rotation.VaultRef{Environment: "prod", Path: "/github/", Key: secret}
	golden(t, "dm_operator_rotated", message(card.OperatorDM(runIn(rotation.StateVerifying), rotation.OperatorUpdate, vault)))
	golden(t, "dm_operator_revert", message(card.OperatorDM(runIn(rotation.StateRollingBack), rotation.OperatorRevert, vault)))
}

// An audit post of each kind: fingerprints, never a value.
func TestAuditPosts(t *testing.T) {
	done := rotation.AuditEntry{Action: rotation.ActionCompleted, At: at(50), RunID: "r7", Secret: secret, Actor: "U0ALICE", Approver: "U0BOB",
		TokenKind: rotation.FineGrained, Method: rotation.MethodSlack, RevokeMethod: rotation.RevokeAPI,
		OldExpiry: t0.Add(50 * time.Hour), NewExpiry: t0.Add(90 * 24 * time.Hour), OldFingerprint: "0ld0f1n9", NewFingerprint: "9e3f01ab",
		Destinations: []rotation.DestResult{{Destination: "heroku:raxx-console-prod", Result: "verified"},
			{Destination: "github_secret:raxx-app/deploy:GH_READONLY_TOKEN", Result: "verified"}, {Destination: "shell_rc:U0OPER", Result: "done"}}}
	golden(t, "audit_completed", answer(card.AuditText(done)))

	back := done
	back.Action, back.Actor, back.RevokeMethod = rotation.ActionRolledBack, "U0BOB", ""
	back.Destinations = []rotation.DestResult{{Destination: "heroku:raxx-console-prod", Result: "reverted"},
		{Destination: "github_secret:raxx-app/deploy:GH_READONLY_TOKEN", Result: "reverted"}}
	golden(t, "audit_rolled_back", answer(card.AuditText(back)))

	gone := done
	gone.Action, gone.Actor, gone.Approver, gone.RevokeMethod = rotation.ActionAbandoned, "U0BOB", "", ""
	gone.Reason, gone.FromState = "old version gone from Infisical; restored by hand", rotation.StatePropagateFailed
	gone.Leaves = []string{"Infisical: /github/GITHUB_API_READONLY_TOKEN in prod holds the new value (version 7, 9e3f01ab); the old one is version 6 (0ld0f1n9)",
		"GitHub Actions raxx-app/deploy (GH_READONLY_TOKEN): its write failed, but may have landed: it may hold the new value"}
	golden(t, "audit_abandoned", answer(card.AuditText(gone)))

	repaired := rotation.AuditEntry{Action: rotation.ActionDriftRepaired, At: at(70), Secret: secret, Actor: "U0ALICE", Approver: "U0BOB",
		NewFingerprint: "9e3f01ab", Destinations: []rotation.DestResult{{Destination: "heroku:raxx-console-prod", Result: "verified"}}}
	golden(t, "audit_drift_repaired", answer(card.AuditText(repaired)))

	auto := rotation.AuditEntry{Action: rotation.ActionAutoStarted, At: at(0), RunID: "r7", Secret: secret, Actor: rotation.Rotabot,
		TokenKind: rotation.FineGrained, Method: rotation.MethodSlack, OldExpiry: t0.Add(50 * time.Hour), OldFingerprint: "0ld0f1n9",
		Reason: "the token `0ld0f1n9` expires in 2 days, on 2026-12-01 12:00 UTC (auto_start_days: 7). Owners: <@U0ALICE>"}
	golden(t, "audit_auto_started", answer(card.AuditText(auto)))
}

// An expiry reminder of each kind, as an owner's DM and as the ops-channel post
// (which names the owners), each with Start rotation.
func TestReminders(t *testing.T) {
	base := expiry.Reminder{Secret: secret, Owners: []string{"U0ALICE", "U0BOB"}, Fingerprint: "0ld0f1n9", Login: "raxx-bot",
		TokenKind: rotation.FineGrained, ExpiresAt: t0.Add(50 * time.Hour), At: t0, ExpiresInDays: 90}
	due := base
	due.Kind, due.Threshold = expiry.Due, 3
	later := base
	later.Kind, later.Threshold, later.ExpiresAt = expiry.Due, 14, t0.Add(13*24*time.Hour)
	expired := base
	expired.Kind, expired.At = expiry.Expired, base.ExpiresAt.Add(50*time.Hour)
	never := base
	never.Kind, never.ExpiresAt, never.TokenKind, never.Notes = expiry.NoExpiry, time.Time{}, rotation.Classic, []string{rotation.MigrateWarning}
	broken := base
	broken.Kind, broken.Problem, broken.OpenRun = expiry.Broken, "GitHub refuses the current token `0ld0f1n9` (401)", "r7 (Waiting for token)"
	// By age (max_age): a token with no expiry, made by a run of rotabot; and
	// one rotabot first saw on a day, past its max age, its auto-started run open.
	aged := base
	aged.Kind, aged.Threshold, aged.ByAge, aged.MaxAge = expiry.Due, 7, true, 90*24*time.Hour
	aged.Created = t0.Add(-84 * 24 * time.Hour)
	aged.ExpiresAt = aged.Created.Add(aged.MaxAge)
	past := aged
	past.Kind, past.CreatedUnknown, past.At = expiry.Expired, true, aged.ExpiresAt.Add(26*time.Hour)
	past.OpenRun = "r7 (Waiting for token, started by rotabot 2026-11-29 10:00 UTC)"
	for _, c := range []struct {
		name string
		rem  expiry.Reminder
	}{{"due", due}, {"due_later", later}, {"expired", expired}, {"no_expiry", never}, {"broken", broken}, {"age_due", aged}, {"age_past", past}} {
		golden(t, "reminder_"+c.name+"_dm", message(card.ReminderMessage(c.rem, false, "C0OPS")))
		golden(t, "reminder_"+c.name+"_channel", message(card.ReminderMessage(c.rem, true, "C0OPS")))
	}
}

// drifts are a drift of each kind: a destination changed outside rotabot, one
// rotabot wrote that GitHub says changed since, Infisical on a version rotabot
// did not write (asked for, then repaired), a value that is a retired token,
// and drifts over (resolved by themselves, or repaired).
func drifts() map[string]drift.Record {
	app := drift.Record{Key: secret + ":heroku:raxx-console-prod:", Secret: secret, Kind: drift.KindValue, Dest: rotation.DestHeroku,
		Target: "raxx-console-prod", Open: true, Since: at(60), VaultVersion: 7, Fingerprint: "9e3f01ab",
		Problem: "it holds a value other than Infisical's version 7 (`9e3f01ab`): changed outside rotabot"}
	written := drift.Record{Key: secret + ":github_secret:raxx-app/deploy:GH_READONLY_TOKEN", Secret: secret, Kind: drift.KindWritten,
		Dest: rotation.DestGitHubSecret, Target: "raxx-app/deploy", Name: "GH_READONLY_TOKEN", Open: true, Since: at(60), VaultVersion: 7, Fingerprint: "9e3f01ab",
		Problem: "GitHub says it was written at 2026-11-29 10:55 UTC, after rotabot last set it (10:29 UTC)"}
	vault := drift.Record{Key: secret + ":vault", Secret: secret, Kind: drift.KindVersion, Open: true, Since: at(60), VaultVersion: 8, Fingerprint: "5ca1ab1e",
		Problem: "Infisical holds version 8 (`5ca1ab1e`), which rotabot did not write (it wrote version 7)"}
	asked := vault
	asked.RequestedBy, asked.RequestedAt, asked.RequestedVersion = "U0ALICE", at(65), 8
	retired := app
	retired.VaultVersion, retired.Fingerprint = 6, "0ld0f1n9"
	retired.Problem = "Infisical's version 6 (`0ld0f1n9`) is " + rotation.Retirement{Run: "r7", At: at(50), Revoked: true}.Text()
	retired.Retired = &rotation.Retirement{Run: "r7", At: at(50), Revoked: true}
	resolved := app
	resolved.Open, resolved.Resolved = false, at(90)
	repaired := app
	repaired.Open, repaired.Resolved, repaired.RepairedBy = false, at(70), "U0BOB"
	repairedAll := asked
	repairedAll.Open, repairedAll.Resolved, repairedAll.RepairedBy, repairedAll.ApprovedBy = false, at(70), "U0ALICE", "U0BOB"
	return map[string]drift.Record{"destination": app, "written": written, "vault": vault, "vault_asked": asked, "retired": retired,
		"resolved": resolved, "repaired": repaired, "vault_repaired": repairedAll}
}

// A drift post of each kind, with the one button that makes sense now.
func TestDriftPosts(t *testing.T) {
	for name, d := range drifts() {
		golden(t, "drift_"+name, message(card.DriftMessage(d)))
	}
}

// App Home: for an ops member the open runs, the open drift and every secret's
// expiry; for anyone else who may use rotabot, and nothing more.
func TestHome(t *testing.T) {
	m := fixtureMatrix()
	for _, n := range []string{"GITHUB_API_DISPATCH_TOKEN", "GITHUB_ACTIONS_DEPLOY_TOKEN", "GITHUB_PACKAGES_READ_TOKEN", "GITHUB_LEGACY_CRON_TOKEN"} {
		m.Secrets[n] = &rotation.SecretConfig{Name: n}
	}
	// By age (max_age): one made by a run of rotabot, one past its max age
	// counted from when rotabot first saw it, one whose age is not known yet.
	const days = 24 * time.Hour
	for _, n := range []string{"GITHUB_NO_EXPIRY_TOKEN", "GITHUB_OLD_CLASSIC_TOKEN", "GITHUB_NEW_CLASSIC_TOKEN"} {
		m.Secrets[n] = &rotation.SecretConfig{Name: n, MaxAge: 90 * days}
	}
	recs := []rotation.ExpiryRecord{
		{Secret: secret, Login: "raxx-bot", ExpiresAt: t0.Add(50 * time.Hour)},
		{Secret: "GITHUB_API_DISPATCH_TOKEN", Login: "raxx-bot", ExpiresAt: t0.Add(40 * 24 * time.Hour)},
		{Secret: "GITHUB_ACTIONS_DEPLOY_TOKEN", Login: "raxx-deploy"},
		{Secret: "GITHUB_PACKAGES_READ_TOKEN", Login: "raxx-bot", ExpiresAt: t0.Add(-26 * time.Hour), Problem: "GitHub refuses the current token `00c0ffee` (401)"},
		{Secret: "GITHUB_NO_EXPIRY_TOKEN", Login: "raxx-bot", Created: t0.Add(-80 * days)},
		{Secret: "GITHUB_OLD_CLASSIC_TOKEN", Login: "raxx-bot", ExpiresAt: t0.Add(200 * days), Created: t0.Add(-95 * days), CreatedUnknown: true},
		{Secret: "GITHUB_NEW_CLASSIC_TOKEN", Login: "raxx-bot"},
	}
	approval := runIn(rotation.StateWaitingApproval)
	dispatch := runIn(rotation.StatePrecheckFailed)
	dispatch.ID, dispatch.Secret, dispatch.Requester, dispatch.Created = "r8", "GITHUB_API_DISPATCH_TOKEN", "U0BOB", at(30)
	ds := drifts()
	golden(t, "home_ops", blocksOnly(card.Home([]*rotation.Run{approval, dispatch}, []drift.Record{ds["destination"], ds["vault_asked"]},
		card.ExpiryRows(m, recs, t0))))
	golden(t, "home_ops_quiet", blocksOnly(card.Home(nil, nil, card.ExpiryRows(fixtureMatrix(), recs[:1], t0))))
	golden(t, "home_outsider", blocksOnly(card.OutsiderHome("Only members of the ops user group <!subteam^S0OPS> may use rotabot: ask one of them.")))
}
