package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/config"
)

// rotabot decides who may act by reading ops_usergroup's members: a workspace that
// cannot give them (user groups need a paid plan; a wrong id; a token without
// usergroups:read) is a start-up problem that says what to do, not a bot that
// refuses everyone later.
func TestServeChecksTheOpsGroupCanBeRead(t *testing.T) {
	for code, want := range map[string]string{
		"plan_upgrade_required": "Slack answered usergroups.users.list with plan_upgrade_required: user groups (and so ops_usergroup S0OPS) need a paid Slack plan (Pro or above) — rotabot reads the group's members to decide who may start, approve, roll back and revoke; upgrade the workspace, or run rotabot in a workspace that has one",
		"no_such_subteam":       "Slack has no user group S0OPS (usergroups.users.list: no_such_subteam) — set ops_usergroup to the group's id: People → User groups → ⋮ → Copy group ID",
		"missing_scope":         "SLACK_BOT_TOKEN may not read user groups (usergroups.users.list: missing_scope) — add the usergroups:read scope (slack-app-manifest.yaml) and reinstall the app",
	} {
		t.Run(code, func(t *testing.T) {
			h, env := cliWorld(t)
			h.World.Slack.FailWith("POST /api/usergroups.users.list", code, 0)
			e, probs := config.LoadEnv(func(k string) string { return env[k] })
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			s, err := startServer(context.Background(), e, h.Matrix, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler), nil, nil)
			if err == nil {
				s.adapters.Close()
				_ = s.store.Close()
				t.Fatal("serve started although ops_usergroup cannot be read")
			}
			var pe *problemsError
			if !errors.As(err, &pe) || !strings.Contains(strings.Join(pe.lines, "\n"), want) {
				t.Fatalf("problems %v, want %q", err, want)
			}
		})
	}
}
