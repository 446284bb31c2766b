package card_test

import (
	"testing"
	"time"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
)

const herokuSecret = "HEROKU_DEPLOY_KEY"

// mintedMatrix is a routing matrix with one heroku-api-key secret, set as an
// Actions secret.
func mintedMatrix() *rotation.Matrix {
	return &rotation.Matrix{OpsUsergroup: "S0OPS", Channel: "C0OPS",
		Vault: rotation.VaultSettings{Environment: "prod", Path: "/github/", PendingPath: "/github/pending/"},
		Secrets: map[string]*rotation.SecretConfig{herokuSecret: {Name: herokuSecret, Kind: rotation.HerokuAPIKey, Owners: []string{"U0ALICE"},
			Consumers: rotation.Consumers{GitHubSecrets: []string{"raxx-app/deploy:HEROKU_API_KEY"}}}}}
}

// mintedIn is run r9 of the Heroku key in state: minted by the bot right after
// pre-check (no submitter), its Actions secret as a PAT's would be.
func mintedIn(state rotation.State) *rotation.Run {
	r := runIn(state)
	r.ID, r.Secret, r.TokenKind, r.Login, r.Warnings = "r9", herokuSecret, rotation.HerokuAPIKey, "ops@raxx.example", nil
	r.OldExpiry, r.Submitter = time.Time{}, "" // a Heroku key never expires
	var ds []rotation.Destination
	for _, d := range r.Destinations {
		if d.Kind == rotation.DestGitHubSecret {
			d.Target, d.Name = "raxx-app/deploy", "HEROKU_API_KEY"
			ds = append(ds, d)
		}
	}
	r.Destinations, r.OldHolders = ds, nil
	for i, s := range r.Steps {
		switch {
		case s.Name == rotation.StepPrecheck && s.State == rotation.StepDone:
			r.Steps[i].Message = "login ops@raxx.example, heroku-api-key, never expires, authorization 01234567, scope global, “deploys from Actions”, made 2025-03-02"
		case s.Name == rotation.StepGenerate && s.State == rotation.StepDone:
			r.Steps[i].Actor, r.Steps[i].Message = "", "authorization 89abcdef, scope global, “rotabot: HEROKU_DEPLOY_KEY, 2026-11-29 (run r9)”, made 2026-11-29, `9e3f01ab`"
		case s.Name == rotation.StepValidate && s.State == rotation.StepDone:
			r.Steps[i].Actor, r.Steps[i].Message = "", "login ops@raxx.example, heroku-api-key, never expires, authorization 89abcdef, scope global, “rotabot: HEROKU_DEPLOY_KEY, 2026-11-29 (run r9)”, made 2026-11-29"
		}
	}
	r.NewExpiry = time.Time{}
	return r
}

// drawnMinted is the Heroku key's run card as the notifier posts it.
func drawnMinted(t *testing.T, r *rotation.Run) surface {
	t.Helper()
	var plan *rotation.Plan
	if r.State == rotation.StateWaitingToken {
		p, err := mintedMatrix().Plan(r.Secret, rotation.Overrides{}, r.Created)
		if err != nil {
			t.Fatal(err)
		}
		plan = &p
	}
	return message(card.RunText(r), card.Run(r, plan, handlers.CardButtons()))
}

// A kind rotabot mints: no Submit new token (Generate new key, when making it
// failed), the generate step saying what was made, one revoke button that
// deletes the old key at Heroku, and the dry run's plan.
func TestMintedKindCards(t *testing.T) {
	failed := mintedIn(rotation.StateWaitingToken)
	failed.Notice = "Could not make the new HEROKU_DEPLOY_KEY: HEROKU_API_KEY may not manage the account's API keys (403): rotabot's own key needs the global scope (heroku authorizations:create -s global) — press Generate new key to try again, or Cancel"
	golden(t, "run_minted_generate_failed", drawnMinted(t, failed))
	golden(t, "run_minted_waiting_approval", drawnMinted(t, mintedIn(rotation.StateWaitingApproval)))
	golden(t, "run_minted_waiting_revoke", drawnMinted(t, mintedIn(rotation.StateWaitingRevoke)))
	golden(t, "run_minted_completed", drawnMinted(t, mintedIn(rotation.StateCompleted)))

	plan, err := mintedMatrix().Plan(herokuSecret, rotation.Overrides{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	dry := rotation.DryRun{Plan: plan, Current: rotation.TokenInfo{Login: "ops@raxx.example", Kind: rotation.HerokuAPIKey,
		Detail: "authorization 01234567, scope global, “deploys from Actions”, made 2025-03-02"}}
	golden(t, "answer_dry_run_minted", answer(card.DryRunText(dry, nil)))
}
