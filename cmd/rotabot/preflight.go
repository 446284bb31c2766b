package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// preflight checks every credential `rotabot serve` needs that is set, before it
// connects — Slack's bot and app tokens, GitHub's GITHUB_TOKEN, Heroku's key — and
// that the ops user group's members can be read (who may act is decided by them),
// and returns one line per problem (Infisical's login is checked when the vault is
// built). One that is missing or of the wrong kind is already a problem of the
// environment (config.Env.Require) and is not tried. The checks run at once; none
// prints a credential.
func preflight(ctx context.Context, env config.Env, m *rotation.Matrix, ad *adapters, api *slack.Client) []string {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// Without a matrix it cannot be told whether GitHub and Heroku are needed:
	// a credential that is set is checked anyway.
	needHeroku, needGitHub, mints := m == nil, m == nil, false
	if m != nil {
		for _, sc := range m.Secrets {
			needHeroku = needHeroku || len(sc.Consumers.HerokuApps) > 0
			needGitHub = needGitHub || len(sc.Consumers.GitHubSecrets) > 0
			mints = mints || sc.Kind == rotation.HerokuAPIKey
		}
	}
	var checks []func() string
	if strings.HasPrefix(env.SlackBotToken, "xoxb-") {
		checks = append(checks, func() string {
			if _, err := api.AuthTestContext(ctx); err != nil {
				return slackProblem("SLACK_BOT_TOKEN", "auth.test", err)
			}
			return ""
		})
	}
	if strings.HasPrefix(env.SlackAppToken, "xapp-") {
		checks = append(checks, func() string {
			if _, _, err := api.StartSocketModeContext(ctx); err != nil {
				return slackProblem("SLACK_APP_TOKEN", "apps.connections.open", err)
			}
			return ""
		})
	}
	if strings.HasPrefix(env.SlackBotToken, "xoxb-") && m != nil && m.OpsUsergroup != "" {
		checks = append(checks, func() string {
			if _, err := api.GetUserGroupMembersContext(ctx, m.OpsUsergroup); err != nil {
				return groupProblem(m.OpsUsergroup, err)
			}
			return ""
		})
	}
	if needGitHub && env.GitHubToken != "" {
		checks = append(checks, func() string {
			if _, err := ad.github.CheckAdmin(ctx); err != nil {
				return rotation.ErrorMessage(err)
			}
			return ""
		})
	}
	if (needHeroku || mints) && env.HerokuAPIKey != "" {
		checks = append(checks, func() string {
			account := ad.heroku.Account
			if mints { // the key makes and deletes the account's keys too: it lists them
				account = ad.keys.Account
			}
			if _, err := account(ctx); err != nil {
				return rotation.ErrorMessage(err)
			}
			return ""
		})
	}
	out := make([]string, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = check()
		}()
	}
	wg.Wait()
	var problems []string
	for _, p := range out {
		if p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// slackProblem says in one line what Slack's answer to a start-up check means.
func slackProblem(variable, method string, err error) string {
	// Slack's answer is its error code (slack-go's SlackErrorResponse), never
	// the text of an error.
	var se slack.SlackErrorResponse
	errorsAs(err, &se)
	switch se.Err {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return "Slack refused " + variable + " (" + method + ": " + se.Err + "): check the token in the Slack app's settings"
	}
	if se.Err != "" {
		return "Slack answered " + method + " with " + se.Err + " for " + variable + ": see the Slack app's settings"
	}
	return "Slack could not be reached (" + method + "): check SLACK_API_URL and the network"
}

// groupProblem says in one line why ops_usergroup's members cannot be read. The
// invalid-token answers are left to auth.test's line.
func groupProblem(group string, err error) string {
	var se slack.SlackErrorResponse
	errorsAs(err, &se)
	switch se.Err {
	case "plan_upgrade_required", "paid_teams_only":
		return "Slack answered usergroups.users.list with " + se.Err + ": user groups (and so ops_usergroup " + group +
			") need a paid Slack plan (Pro or above) — rotabot reads the group's members to decide who may start, approve, roll back and revoke; upgrade the workspace, or run rotabot in a workspace that has one"
	case "no_such_subteam", "subteam_not_found":
		return "Slack has no user group " + group + " (usergroups.users.list: " + se.Err + ") — set ops_usergroup to the group's id: People → User groups → ⋮ → Copy group ID"
	case "missing_scope":
		return "SLACK_BOT_TOKEN may not read user groups (usergroups.users.list: missing_scope) — add the usergroups:read scope (slack-app-manifest.yaml) and reinstall the app"
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return "" // auth.test says it
	}
	return slackProblem("SLACK_BOT_TOKEN", "usergroups.users.list", err)
}

func errorsAs(err error, target *slack.SlackErrorResponse) bool { return errors.As(err, target) }
