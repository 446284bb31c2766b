package card_test

import (
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
)

// drawn is the run's card as the notifier posts it: its fallback text and its
// blocks, with the gesture table's buttons and, while it waits for the token,
// the plan's instructions.
func drawn(t *testing.T, r *rotation.Run) surface {
	t.Helper()
	var plan *rotation.Plan
	if r.State == rotation.StateWaitingToken {
		p, err := fixtureMatrix().Plan(r.Secret, rotation.Overrides{}, r.Created)
		if err != nil {
			t.Fatal(err)
		}
		plan = &p
	}
	return message(card.RunText(r), card.Run(r, plan, handlers.CardButtons()))
}

// The run card in every state: its steps (a failed one says why), its
// destinations, and the buttons that state allows with their confirm dialogs.
func TestRunCardInEveryState(t *testing.T) {
	for _, s := range rotation.States {
		t.Run(string(s), func(t *testing.T) {
			golden(t, "run_"+string(s), drawn(t, runIn(s)))
		})
	}
}

// The details a card shows beyond its state: a revoke already sent (only the
// check again is offered), a CLI run, every phase of a Heroku release and its
// log watch, the scan for the old token after the revoke, and the card as
// /rotate status answers it.
func TestRunCardDetails(t *testing.T) {
	t.Run("revoke sent", func(t *testing.T) {
		r := runIn(rotation.StateWaitingRevoke)
		r.RevokeAttempted, r.RevokeSent, r.RevokeMethod = true, true, rotation.RevokeAPI
		r.Notice = "GitHub still accepts the old token 0ld0f1n9: its revoke may take a minute. Press I revoked the old token to check again."
		golden(t, "run_waiting_revoke_sent", drawn(t, r))
	})
	t.Run("cli", func(t *testing.T) {
		r := runIn(rotation.StatePropagating)
		r.Method, r.Requester, r.Submitter, r.Approver, r.Card = rotation.MethodCLI, "alice", "", "", rotation.CardRef{}
		for i, s := range r.Steps {
			switch s.Name {
			case rotation.StepGenerate, rotation.StepValidate, rotation.StepApproval:
				r.Steps[i] = rotation.StepRecord{Name: s.Name, State: rotation.StepSkipped, Finished: at(4), Message: "done by hand before the CLI ran"}
			case rotation.StepStore:
				r.Steps[i] = rotation.StepRecord{Name: s.Name, State: rotation.StepSkipped, Finished: at(4), Message: "already in Infisical as version 7"}
			}
		}
		golden(t, "run_cli", drawn(t, r))
	})
	t.Run("heroku releases and log watches", func(t *testing.T) {
		r := runIn(rotation.StateVerifying)
		r.Destinations = herokuPhases()
		golden(t, "run_heroku_phases", drawn(t, r))
	})
	t.Run("old holders after the revoke", func(t *testing.T) {
		r := runIn(rotation.StateCompleted)
		r.OldHolders = &rotation.Discovery{At: at(31), Seen: 40, Read: 38, Problem: "Heroku answered 429 for 2 apps: rate limit nearly used up",
			Holders: []rotation.Holding{{Kind: rotation.DestHeroku, Target: "raxx-legacy-cron", Name: "GH_TOKEN"},
				{Kind: rotation.DestHeroku, Target: "raxx-reports", Name: "GITHUB_TOKEN"}}}
		golden(t, "run_completed_old_holders", drawn(t, r))
	})
	t.Run("started by rotabot", func(t *testing.T) {
		r := runIn(rotation.StateWaitingToken)
		r.Requester = rotation.Rotabot
		r.StartReason = "the token `0ld0f1n9` expires in 2 days, on 2026-12-01 12:00 UTC (auto_start_days: 7). Owners: <@U0ALICE>"
		golden(t, "run_auto_started", drawn(t, r))
	})
	t.Run("status answer", func(t *testing.T) {
		r := runIn(rotation.StateWaitingApproval)
		golden(t, "answer_status", message("r7: "+r.State.Word(), card.Run(r, nil, handlers.CardButtons())))
	})
}

// herokuPhases are Heroku destinations in every phase of a release and every
// state of a log watch.
func herokuPhases() []rotation.Destination {
	d := func(app string, rs *rotation.Restart, w *rotation.Watch) rotation.Destination {
		x := heroku(rotation.DestWritten)
		x.Target, x.Restart, x.Watch = app, rs, w
		return x
	}
	w := func(state string, f func(*rotation.Watch)) *rotation.Watch {
		x := &rotation.Watch{State: state, From: at(27), Since: at(28), Until: at(30), Checked: at(28).Add(45 * time.Second), Read: true}
		if f != nil {
			f(x)
		}
		return x
	}
	upOn := func(release int) *rotation.Restart {
		return &rotation.Restart{Before: release - 1, Release: release, Phase: rotation.RestartUp, Up: 2, Dynos: 2}
	}
	failed := d("raxx-release-failed", &rotation.Restart{Before: 40, Release: 41, Phase: rotation.RestartFailed}, nil)
	failed.State, failed.LastError = rotation.DestFailed, "release v41 failed: its release phase exited 1"
	return []rotation.Destination{
		d("raxx-waiting-release", &rotation.Restart{Before: 10, Phase: rotation.RestartReleasing}, nil),
		d("raxx-release-pending", &rotation.Restart{Before: 10, Release: 11, Phase: rotation.RestartReleasing}, nil),
		d("raxx-restarting", &rotation.Restart{Before: 20, Release: 21, Phase: rotation.RestartRestarting, Up: 1, Dynos: 3, Crashed: []string{"worker.1"}}, nil),
		d("raxx-up-unwatched-yet", upOn(31), nil),
		d("raxx-watch-opening", upOn(51), w(rotation.WatchWatching, func(x *rotation.Watch) { x.Read = false })),
		d("raxx-watch-clean-so-far", upOn(61), w(rotation.WatchWatching, nil)),
		d("raxx-watch-retrying", upOn(71), w(rotation.WatchWatching, func(x *rotation.Watch) { x.Warning = "the log stream closed" })),
		d("raxx-watch-clean", upOn(81), w(rotation.WatchClean, func(x *rotation.Watch) { x.Checked = x.Until })),
		d("raxx-watch-unwatched", upOn(91), w(rotation.WatchUnwatched, func(x *rotation.Watch) { x.Warning = "Heroku refused a log session (403)" })),
		d("raxx-watch-stopped", upOn(101), w(rotation.WatchStopped, nil)),
		d("raxx-scaled-to-zero", &rotation.Restart{Before: 110, Release: 111, Phase: rotation.RestartNoDynos}, nil),
		failed,
	}
}
