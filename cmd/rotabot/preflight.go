package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
	rgithub "github.com/raxx-app/rotabot/rotation/github"
	"github.com/slack-go/slack"
)

// preflight checks every credential `rotabot serve` needs that is set, before it
// connects — Slack's bot and app tokens, GitHub's GITHUB_TOKEN or GitHub App
// (and that it reaches every GitHub scope the matrix writes to), Heroku's key — and
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
			mints = mints || sc.Kind == rotation.HerokuAPIKey
		}
		needGitHub = len(githubDests(m)) > 0
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
	if needGitHub && env.GitHubToken != "" && !env.GitHubApp() {
		checks = append(checks, func() string {
			if _, err := ad.github.CheckAdmin(ctx); err != nil {
				return rotation.ErrorMessage(err)
			}
			return ""
		})
		if m != nil {
			checks = append(checks, func() string { return strings.Join(githubAccess(ctx, ad.github, m), "\n") })
		}
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
	// The GitHub App's installation and permissions (githubapp.go), beside
	// the others: its own lines. Once the installation holds every permission,
	// each scope is read with it as with a token (a 404 still tells a missing
	// environment): a missing permission is said once, by the App's check.
	app := make(chan []string, 1)
	go func() {
		lines := appPreflight(ctx, env, m, ad.github)
		if len(lines) == 0 && env.GitHubApp() && needGitHub && m != nil {
			lines = githubAccess(ctx, ad.github, m)
		}
		app <- lines
	}()
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
			problems = append(problems, strings.Split(p, "\n")...)
		}
	}
	return append(problems, <-app...)
}

// githubDests are every GitHub destination of every secret of the matrix.
func githubDests(m *rotation.Matrix) []rotation.Destination {
	var out []rotation.Destination
	for _, name := range m.Names() {
		for _, d := range m.Secrets[name].Destinations() {
			if d.Kind.IsGitHub() {
				out = append(out, d)
			}
		}
	}
	return out
}

// githubAccess reads the public key of every scope the matrix's GitHub
// destinations write to, a few at a time, with whatever access gh was built
// with (a token, or a GitHub App's installation), and returns a line for each
// it cannot reach: the permission to add for a 403, what GitHub does not show
// for a 404. serve's start-up and check --github say them.
func githubAccess(ctx context.Context, gh *rgithub.Client, m *rotation.Matrix) []string {
	return gh.CheckAccess(ctx, githubDests(m), rgithub.DefaultAccessParallel)
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
