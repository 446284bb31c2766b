package card_test

import (
	"slices"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// t0 is the fixtures' clock: every time a golden file shows comes from it, never
// from the real clock (CI runs the suite a year ahead too).
var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

const secret = "GITHUB_API_READONLY_TOKEN"

// fixtureMatrix is a routing matrix with one fine-grained secret set on a
// Heroku app, a GitHub Actions secret and an operator's shell rc.
func fixtureMatrix() *rotation.Matrix {
	return &rotation.Matrix{OpsUsergroup: "S0OPS", Channel: "C0OPS", AuditChannel: "C0AUDIT",
		Vault: rotation.VaultSettings{Environment: "prod", Path: "/github/", PendingPath: "/github/pending/"},
		Secrets: map[string]*rotation.SecretConfig{secret: {Name: secret, Kind: rotation.FineGrained, Owners: []string{"U0ALICE"},
			ExpiresInDays: 90, ResourceOwner: "raxx-app", Repositories: []string{"raxx-app/console", "raxx-app/deploy"},
			Permissions: map[string]string{"metadata": "read", "contents": "read", "actions": "write"},
			Consumers: rotation.Consumers{HerokuApps: []string{"raxx-console-prod"}, GitHubSecrets: []string{"raxx-app/deploy:GH_READONLY_TOKEN"},
				ShellRCOperators: []string{"U0OPER"}}}}}
}

// reached is how far along the SOP a run in each state got: the step it is at,
// and what that step shows.
var reached = map[rotation.State]struct {
	step  rotation.StepName
	state rotation.StepState
}{
	rotation.StatePrechecking:     {rotation.StepPrecheck, rotation.StepRunning},
	rotation.StatePrecheckFailed:  {rotation.StepPrecheck, rotation.StepFailed},
	rotation.StateWaitingToken:    {rotation.StepGenerate, rotation.StepRunning},
	rotation.StateWaitingApproval: {rotation.StepApproval, rotation.StepRunning},
	rotation.StateStoring:         {rotation.StepStore, rotation.StepRunning},
	rotation.StateStoreFailed:     {rotation.StepStore, rotation.StepFailed},
	rotation.StatePropagating:     {rotation.StepPropagate, rotation.StepRunning},
	rotation.StatePropagateFailed: {rotation.StepPropagate, rotation.StepFailed},
	rotation.StateVerifying:       {rotation.StepVerify, rotation.StepRunning},
	rotation.StateVerifyFailed:    {rotation.StepVerify, rotation.StepFailed},
	rotation.StateWaitingRevoke:   {rotation.StepRevoke, rotation.StepRunning},
	rotation.StateRevoking:        {rotation.StepRevoke, rotation.StepRunning},
	rotation.StateAuditing:        {rotation.StepAudit, rotation.StepRunning},
	rotation.StateAuditFailed:     {rotation.StepAudit, rotation.StepFailed},
	rotation.StateCompleted:       {rotation.StepAudit, rotation.StepDone},
	// A rollback leaves the steps where verify failed; a cancel or an abandon
	// skips what was left.
	rotation.StateRollingBack:    {rotation.StepVerify, rotation.StepFailed},
	rotation.StateRollbackFailed: {rotation.StepVerify, rotation.StepFailed},
	rotation.StateRolledBack:     {rotation.StepVerify, rotation.StepFailed},
	rotation.StateCancelled:      {rotation.StepApproval, rotation.StepSkipped},
	rotation.StateAbandoned:      {rotation.StepPropagate, rotation.StepFailed},
}

// failure is what a failed step says.
var failure = map[rotation.StepName]string{
	rotation.StepPrecheck:  "GitHub answered 503 for the current token: try again in a minute",
	rotation.StepStore:     "Infisical answered 500 when the new version was written",
	rotation.StepPropagate: "1 of 2 destinations failed (GitHub answered 502)",
	rotation.StepVerify:    "raxx-console-prod logged a GitHub authentication failure after the restart:\n`app[web.1]: 401 Bad credentials`",
	rotation.StepAudit:     "Slack answered is_archived for the audit channel",
}

// steps are a run's SOP steps when it reached step in state: those before it
// done (by whom a person did them), those after it pending — or skipped, for a
// run given up.
func steps(step rotation.StepName, state rotation.StepState, givenUp bool) []rotation.StepRecord {
	actor := map[rotation.StepName]string{rotation.StepValidate: "U0ALICE", rotation.StepApproval: "U0BOB", rotation.StepRevoke: "U0BOB"}
	n := slices.Index(rotation.StepNames, step)
	var out []rotation.StepRecord
	for i, name := range rotation.StepNames {
		s := rotation.StepRecord{Name: name, State: rotation.StepPending}
		switch {
		case i < n:
			s.State, s.Actor, s.Started, s.Finished = rotation.StepDone, actor[name], at(i*5), at(i*5+4)
		case i == n:
			s.State, s.Started = state, at(i*5)
			switch state {
			case rotation.StepRunning:
				if name == rotation.StepPropagate || name == rotation.StepVerify {
					s.Until = at(i*5 + 10)
				}
			case rotation.StepFailed:
				s.Finished, s.Message = at(i*5+3), failure[name]
			case rotation.StepDone:
				s.Finished = at(i*5 + 4)
			case rotation.StepSkipped:
				s.Finished = at(45)
			}
		case givenUp:
			s.State, s.Finished = rotation.StepSkipped, at(45)
		}
		out = append(out, s)
	}
	return out
}

func heroku(state rotation.DestState) rotation.Destination {
	return rotation.Destination{Kind: rotation.DestHeroku, Target: "raxx-console-prod", State: state, Attempts: 1, Written: at(26)}
}

func actions(state rotation.DestState) rotation.Destination {
	return rotation.Destination{Kind: rotation.DestGitHubSecret, Target: "raxx-app/deploy", Name: "GH_READONLY_TOKEN", State: state, Attempts: 1}
}

func shell(state rotation.DestState) rotation.Destination {
	d := rotation.Destination{Kind: rotation.DestShellRC, Target: "U0OPER", State: state}
	if state == rotation.DestDone {
		d.Actor = "U0OPER"
	}
	return d
}

// up is a Heroku destination running the new value's release, its log watched.
func up(state rotation.DestState, watch *rotation.Watch) rotation.Destination {
	d := heroku(state)
	d.Restart = &rotation.Restart{Before: 123, Release: 124, Phase: rotation.RestartUp, Up: 2, Dynos: 2, Since: at(26), Released: at(27), Done: at(28)}
	d.Watch = watch
	return d
}

func watching() *rotation.Watch {
	return &rotation.Watch{State: rotation.WatchWatching, From: at(27), Since: at(28), Until: at(30), Checked: at(29).Add(20 * time.Second), Read: true}
}

func clean() *rotation.Watch {
	return &rotation.Watch{State: rotation.WatchClean, From: at(27), Since: at(28), Until: at(30), Checked: at(30), Read: true}
}

// destinations are where a run in state stands at each destination.
func destinations(state rotation.State) []rotation.Destination {
	switch state {
	case rotation.StatePrechecking, rotation.StatePrecheckFailed, rotation.StateWaitingToken, rotation.StateWaitingApproval,
		rotation.StateStoring, rotation.StateStoreFailed, rotation.StateCancelled:
		return []rotation.Destination{heroku(rotation.DestPending), actions(rotation.DestPending), shell(rotation.DestPending)}
	case rotation.StatePropagating:
		h := heroku(rotation.DestWritten)
		h.Restart = &rotation.Restart{Before: 123, Release: 124, Phase: rotation.RestartRestarting, Up: 1, Dynos: 2, Since: at(26), Released: at(27)}
		return []rotation.Destination{h, actions(rotation.DestWriting), shell(rotation.DestPending)}
	case rotation.StatePropagateFailed, rotation.StateAbandoned:
		a := actions(rotation.DestFailed)
		a.Attempts, a.LastError = 2, "GitHub answered 502: Bad Gateway"
		return []rotation.Destination{up(rotation.DestWritten, nil), a, shell(rotation.DestPending)}
	case rotation.StateVerifying:
		return []rotation.Destination{up(rotation.DestWritten, watching()), actions(rotation.DestWritten), shell(rotation.DestWaiting)}
	case rotation.StateVerifyFailed, rotation.StateRollingBack:
		h := up(rotation.DestFailed, &rotation.Watch{State: rotation.WatchMatched, From: at(27), Since: at(28), Until: at(30), Checked: at(29), Read: true,
			Match: "app[web.1]: 401 Bad credentials"})
		h.LastError = "the log shows a GitHub authentication failure: app[web.1]: 401 Bad credentials"
		if state == rotation.StateRollingBack {
			h.State = rotation.DestReverted
		}
		return []rotation.Destination{h, actions(rotation.DestVerified), shell(rotation.DestWaiting)}
	case rotation.StateWaitingRevoke:
		return []rotation.Destination{up(rotation.DestVerified, watching()), actions(rotation.DestVerified), shell(rotation.DestWaiting)}
	case rotation.StateRollbackFailed:
		a := actions(rotation.DestFailed)
		a.Attempts, a.LastError = 3, "GitHub answered 403: Resource not accessible by integration"
		return []rotation.Destination{up(rotation.DestReverted, nil), a, shell(rotation.DestReverted)}
	case rotation.StateRolledBack:
		return []rotation.Destination{up(rotation.DestReverted, nil), actions(rotation.DestReverted), shell(rotation.DestReverted)}
	}
	// revoking, auditing, audit failed, completed
	return []rotation.Destination{up(rotation.DestVerified, clean()), actions(rotation.DestVerified), shell(rotation.DestDone)}
}

// notices are the latest line a run in these states shows.
var notices = map[rotation.State]string{
	rotation.StatePrecheckFailed: "GitHub is unavailable: the bot retries at 10:05 UTC, or press Retry.",
	rotation.StateRollingBack:    "Rolling back: Infisical gets the old value back first, then every destination written.",
	rotation.StateRollbackFailed: "The rollback stopped: raxx-app/deploy could not be set back (GitHub answered 403). Retry, or Abandon and set it by hand.",
	rotation.StateRolledBack:     "Rolled back by <@U0BOB>: Infisical holds the old value again (version 6), and every destination was set back.",
	rotation.StateCancelled:      "Cancelled by <@U0ALICE>: the pending value was deleted; nothing else changed.",
	rotation.StateAbandoned:      "Abandoned by <@U0BOB> from Failed at propagate: old version gone from Infisical; restored by hand.",
}

// runIn is run r7 of the fixture secret as it stands in state.
func runIn(state rotation.State) *rotation.Run {
	step := reached[state]
	r := &rotation.Run{ID: "r7", Secret: secret, Method: rotation.MethodSlack, State: state, Requester: "U0ALICE",
		Created: t0, Updated: at(45), TokenKind: rotation.FineGrained, Login: "raxx-bot",
		OldFingerprint: "0ld0f1n9", OldExpiry: t0.Add(50 * time.Hour), VaultVersionBefore: 6,
		Steps:        steps(step.step, step.state, state == rotation.StateCancelled || state == rotation.StateAbandoned),
		Destinations: destinations(state), Notice: notices[state], Card: rotation.CardRef{Channel: "C0OPS", TS: "1764410400.000100"}}
	if slices.Index(rotation.StepNames, step.step) > slices.Index(rotation.StepNames, rotation.StepValidate) {
		r.Submitter, r.NewFingerprint, r.NewExpiry = "U0ALICE", "9e3f01ab", t0.Add(90*24*time.Hour)
		r.Warnings = []string{"The token can see 3 repositories; the routing matrix names 2: raxx-app/console, raxx-app/deploy"}
	}
	if slices.Index(rotation.StepNames, step.step) > slices.Index(rotation.StepNames, rotation.StepApproval) {
		r.Approver, r.NewVaultVersion = "U0BOB", 7
	}
	switch state {
	case rotation.StateRevoking, rotation.StateAuditing, rotation.StateAuditFailed, rotation.StateCompleted:
		r.RevokeAttempted, r.RevokeSent, r.RevokeMethod = true, true, rotation.RevokeAPI
	case rotation.StateRollingBack, rotation.StateRollbackFailed, rotation.StateRolledBack:
		r.RolledBackBy = "U0BOB"
	case rotation.StateAbandoned:
		r.AbandonedBy, r.AbandonedFrom, r.AbandonReason = "U0BOB", rotation.StatePropagateFailed, "old version gone from Infisical; restored by hand"
	}
	if state == rotation.StateWaitingRevoke {
		r.OldHolders = &rotation.Discovery{At: at(31), Seen: 4, Read: 4,
			Holders: []rotation.Holding{{Kind: rotation.DestHeroku, Target: "raxx-legacy-cron", Name: "GH_TOKEN"}},
			GitHub:  true, Repos: 3, ReposSeen: 3, Copies: []rotation.Copy{{Holding: rotation.Holding{Kind: rotation.DestDependabotSecret,
				Target: "raxx-app/legacy-worker", Name: "GH_READONLY_TOKEN"}, Updated: t0.Add(-40 * 24 * time.Hour)}}}
	}
	return r
}
