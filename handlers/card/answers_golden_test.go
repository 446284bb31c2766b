package card_test

import (
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// The answers to /rotate only the person who typed it sees.
func TestAnswers(t *testing.T) {
	approval := runIn(rotation.StateWaitingApproval)
	failed := runIn(rotation.StatePrecheckFailed)
	failed.ID, failed.Secret, failed.Requester, failed.Created = "r8", "GITHUB_API_DISPATCH_TOKEN", "U0BOB", at(30)
	golden(t, "answer_list", answer(card.OpenRunsText([]*rotation.Run{approval, failed})))
	golden(t, "answer_list_none", answer(card.OpenRunsText(nil)))

	completed, rolledBack := runIn(rotation.StateCompleted), runIn(rotation.StateRolledBack)
	completed.ID, completed.Created = "r9", t0.Add(90*24*time.Hour)
	first := runIn(rotation.StateCompleted)
	first.ID, first.OldFingerprint, first.Created = "r1", "", t0.Add(-90*24*time.Hour)
	golden(t, "answer_history", answer(card.HistoryText(secret, []*rotation.Run{completed, rolledBack, first})))
	golden(t, "answer_history_none", answer(card.HistoryText(secret, nil)))

	plan, err := fixtureMatrix().Plan(secret, rotation.Overrides{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	dry := rotation.DryRun{Plan: plan, Current: rotation.TokenInfo{Login: "raxx-bot", Kind: rotation.FineGrained, ExpiresAt: t0.Add(50 * time.Hour)},
		Unknown: &rotation.Discovery{At: t0, Seen: 12, Read: 12, Holders: []rotation.Holding{{Kind: rotation.DestHeroku, Target: "raxx-legacy-cron", Name: "GH_TOKEN"}},
			GitHub: true, Repos: 100, ReposSeen: 140, Copies: []rotation.Copy{ghCopy(rotation.DestGitHubSecret, "raxx-app/legacy-worker", "GH_READONLY_TOKEN", -40*24*time.Hour)}}}
	golden(t, "answer_dry_run", answer(card.DryRunText(dry, map[string]string{"U0OPER": "@olga"})))
	dry.Problem, dry.Unknown = "GitHub refuses the current token (401): it was revoked, deleted or has expired", nil
	golden(t, "answer_dry_run_problem", answer(card.DryRunText(dry, map[string]string{"U0OPER": "@olga"})))

	abandoned := runIn(rotation.StateAbandoned)
	golden(t, "answer_abandoned", answer(card.AbandonedText(abandoned, []string{
		"Infisical: /github/GITHUB_API_READONLY_TOKEN in prod holds the new value (version 7, 9e3f01ab); the old one is version 6 (0ld0f1n9)",
		"GitHub Actions raxx-app/deploy (GH_READONLY_TOKEN): its write failed, but may have landed: it may hold the new value"})))

	golden(t, "answer_usage", answer(card.Usage("C0OPS", fixtureMatrix().Names())))
	golden(t, "answer_commands", answer(card.Commands("C0OPS")))
}

// /rotate expiring: the open drift first, then every secret soonest first.
func TestExpiringAnswer(t *testing.T) {
	m := fixtureMatrix()
	m.Secrets["GITHUB_API_DISPATCH_TOKEN"] = &rotation.SecretConfig{Name: "GITHUB_API_DISPATCH_TOKEN"}
	m.Secrets["GITHUB_LEGACY_CRON_TOKEN"] = &rotation.SecretConfig{Name: "GITHUB_LEGACY_CRON_TOKEN"}
	recs := []rotation.ExpiryRecord{
		{Secret: secret, Login: "raxx-bot", ExpiresAt: t0.Add(50 * time.Hour)},
		{Secret: "GITHUB_API_DISPATCH_TOKEN", Login: "raxx-bot", ExpiresAt: t0.Add(-3 * time.Hour)},
	}
	ds := drifts()
	texts := card.ExpiringTexts(card.ExpiryRows(m, recs, t0), []drift.Record{ds["destination"], ds["written"]}, 5)
	if len(texts) != 1 {
		t.Fatalf("%d messages for three secrets", len(texts))
	}
	golden(t, "answer_expiring", answer(texts[0]))
}

// /rotate drift: what a pass compared and what is open after it.
func TestDriftReports(t *testing.T) {
	ds := drifts()
	rep := drift.Report{At: at(60), Secrets: 4, Skipped: []string{"GITHUB_API_DISPATCH_TOKEN"}, Apps: 6, Dated: 3, New: 2, Resolved: 1,
		Open: []drift.Record{ds["destination"], ds["vault"]}, Problems: []string{"raxx-reports: Heroku answered 403"}}
	golden(t, "answer_drift", answer(card.DriftReportText(rep)))
	golden(t, "answer_drift_none", answer(card.DriftReportText(drift.Report{At: at(60), Secrets: 1, Apps: 1, Dated: 1})))
	golden(t, "answer_drift_busy", answer(card.DriftReportText(drift.Report{At: at(60), Busy: true, Open: []drift.Record{ds["written"]}})))
}

// /rotate where: every place holding the value, in the matrix or not, and the
// matrix's destinations that do not hold it — names only.
func TestWhereAnswers(t *testing.T) {
	rep := discover.WhereReport{Secret: secret, Fingerprint: "9e3f01ab", Version: 7, Seen: 14, Read: 14, Heroku: true,
		GitHub: true, Repos: 6, ReposSeen: 6, Copies: []discover.WhereCopy{
			{Copy: ghCopy(rotation.DestGitHubSecret, "raxx-app/deploy", "GH_READONLY_TOKEN", time.Hour), InMatrix: true},
			{Copy: ghCopy(rotation.DestGitHubEnvSecret, "raxx-app/deploy/prod east", "GH_READONLY_TOKEN", -3*24*time.Hour)},
			{Copy: ghCopy(rotation.DestDependabotSecret, "raxx-app", "GH_READONLY_TOKEN", -30*24*time.Hour), Others: []string{"GITHUB_API_DISPATCH_TOKEN"}},
		},
		Holding: []discover.WhereHolding{
			{Holding: rotation.Holding{Kind: rotation.DestHeroku, Target: "raxx-console-prod", Name: secret}, InMatrix: true},
			{Holding: rotation.Holding{Kind: rotation.DestHeroku, Target: "raxx-legacy-cron", Name: "GH_TOKEN"}},
			{Holding: rotation.Holding{Kind: rotation.DestHeroku, Target: "raxx-reports", Name: "GITHUB_TOKEN"}, Others: []string{"GITHUB_API_DISPATCH_TOKEN"}},
		},
		Missing: []discover.WhereMissing{{Destination: rotation.Destination{Kind: rotation.DestHeroku, Target: "raxx-console-staging"},
			Why: "it holds another value"}},
		Unchecked: []rotation.Destination{actions(rotation.DestPending), shell(rotation.DestPending)}}
	golden(t, "answer_where", answer(card.WhereText(rep)))
	golden(t, "answer_where_nowhere", answer(card.WhereText(discover.WhereReport{Secret: secret, Fingerprint: "9e3f01ab", Version: 7, Seen: 14, Read: 11, Heroku: true,
		Problem: "Heroku answered 429 for 3 apps: rate limit nearly used up"})))
}

// ghCopy is a GitHub secret found by name, last written at t0 plus ago.
func ghCopy(kind rotation.DestKind, target, name string, ago time.Duration) rotation.Copy {
	return rotation.Copy{Holding: rotation.Holding{Kind: kind, Target: target, Name: name}, Updated: t0.Add(ago)}
}
