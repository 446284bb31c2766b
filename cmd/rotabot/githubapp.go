package main

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
	rgithub "github.com/raxx-app/rotabot/rotation/github"
)

// githubConfig is how the GitHub adapter writes secrets: as the GitHub App when
// GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY are set — it wins over GITHUB_TOKEN,
// and the log says so — else with GITHUB_TOKEN. Pasted tokens are always
// checked with their own value, whichever it is.
func githubConfig(env config.Env, m *rotation.Matrix, log *slog.Logger) rgithub.Config {
	cfg := rgithub.Config{BaseURL: env.GitHubAPIURL, AdminToken: rotation.NewSecret(env.GitHubToken)}
	if !env.GitHubApp() {
		return cfg
	}
	app := &rgithub.AppConfig{ID: env.GitHubAppID, PrivateKey: rotation.NewSecret(env.GitHubAppPrivateKey),
		InstallationID: env.GitHubAppInstallationID}
	installation := strconv.FormatInt(env.GitHubAppInstallationID, 10)
	if accounts := githubAccounts(m); len(accounts) == 1 {
		app.Account, app.Repo = accounts[0].login, accounts[0].repo
		if app.InstallationID == 0 {
			installation = "the one on " + app.Account
		}
	}
	cfg.App, cfg.AdminToken = app, rotation.Secret{}
	log.Info("GitHub: rotabot writes GitHub's secrets as the GitHub App GITHUB_APP_ID", "app_id", env.GitHubAppID, "installation", installation)
	if env.GitHubToken != "" {
		log.Warn("GITHUB_TOKEN is set but not used: the GitHub App (GITHUB_APP_ID) writes GitHub's secrets instead; unset GITHUB_TOKEN")
	}
	return cfg
}

// githubAccount is an organisation or user whose GitHub secrets the routing
// matrix writes, and one of its repositories it names ("" when it names only
// the organisation's own secrets).
type githubAccount struct{ login, repo string }

// githubAccounts are the accounts of the matrix's GitHub destinations, by login.
func githubAccounts(m *rotation.Matrix) []githubAccount {
	if m == nil {
		return nil
	}
	byLogin := map[string]*githubAccount{}
	for _, sc := range m.Secrets {
		for _, d := range sc.Destinations() {
			if !d.Kind.IsGitHub() {
				continue
			}
			target := d.Target
			if d.Kind == rotation.DestGitHubEnvSecret {
				target, _ = rotation.SplitEnvTarget(target)
			}
			login, _, isRepo := strings.Cut(target, "/")
			a := byLogin[strings.ToLower(login)]
			if a == nil {
				a = &githubAccount{login: login}
				byLogin[strings.ToLower(login)] = a
			}
			if isRepo && (a.repo == "" || target < a.repo) {
				a.repo = target
			}
		}
	}
	out := make([]githubAccount, 0, len(byLogin))
	for _, a := range byLogin {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].login < out[j].login })
	return out
}

// appPreflight is serve's start-up check of the GitHub App: its installation is
// found, it makes a token, it is on the account the routing matrix's GitHub
// secrets belong to, and it holds every permission they need — one line for
// each that is missing, with the destinations that need it and where to grant
// it. Nothing is checked when rotabot does not write as a GitHub App or the
// matrix writes no GitHub secret (nor when it could not be read).
func appPreflight(ctx context.Context, env config.Env, m *rotation.Matrix, gh *rgithub.Client) []string {
	accounts := githubAccounts(m)
	if !env.GitHubApp() || len(accounts) == 0 {
		return nil
	}
	if len(accounts) > 1 && env.GitHubAppInstallationID == 0 {
		logins := make([]string, len(accounts))
		for i, a := range accounts {
			logins[i] = a.login
		}
		return []string{"GITHUB_APP_INSTALLATION_ID is not set and the routing matrix writes GitHub secrets of several accounts (" +
			strings.Join(logins, ", ") + "): a GitHub App installation covers one account — set GITHUB_APP_INSTALLATION_ID to the installation rotabot should use " +
			"(the number ending its settings URL), and keep the other accounts' secrets out of this routing matrix or write them with GITHUB_TOKEN"}
	}
	in, err := gh.AppInstallation(ctx)
	if err != nil {
		return []string{rotation.ErrorMessage(err)}
	}
	var out []string
	var others []string
	for _, a := range accounts {
		if !strings.EqualFold(a.login, in.Account) {
			others = append(others, a.login)
		}
	}
	if len(others) > 0 {
		out = append(out, "The GitHub App's installation "+strconv.FormatInt(in.ID, 10)+" is on "+in.Account+", but the routing matrix writes GitHub secrets of "+
			listAnd(others)+": install the App there (its settings → Install App) and set GITHUB_APP_INSTALLATION_ID to that installation, or unset it to find it")
	}
	type need struct {
		name  string   // in the App's settings
		dests []string // the destinations that need it
	}
	needs := map[string]*need{}
	for _, d := range githubDestinations(m) {
		key, name := rgithub.AppPermission(d.Kind, d.Target)
		n := needs[key]
		if n == nil {
			n = &need{name: name}
			needs[key] = n
		}
		if !slices.Contains(n.dests, d.Label()) {
			n.dests = append(n.dests, d.Label())
		}
	}
	for _, key := range rgithub.AppPermissionKeys {
		n := needs[key]
		if n == nil || in.Permissions[key] == "write" || in.Permissions[key] == "admin" {
			continue
		}
		has := "lacks"
		if lvl := in.Permissions[key]; lvl != "" {
			has = "has only " + lvl + " of"
		}
		verb := " needs"
		if len(n.dests) > 1 {
			verb = " need"
		}
		out = append(out, "The GitHub App's installation "+strconv.FormatInt(in.ID, 10)+" on "+in.Account+" "+has+" the permission "+n.name+
			" ("+key+": write), which "+listAnd(n.dests)+verb+" — add it in the App's settings (Permissions & events), then accept it on the installation ("+
			in.Account+"'s settings → GitHub Apps → Configure)")
	}
	return out
}

// githubDestinations are the matrix's GitHub destinations, in the matrix's order.
func githubDestinations(m *rotation.Matrix) []rotation.Destination {
	names := make([]string, 0, len(m.Secrets))
	for n := range m.Secrets {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return m.Secrets[names[i]].Line < m.Secrets[names[j]].Line })
	var out []rotation.Destination
	for _, n := range names {
		for _, d := range m.Secrets[n].Destinations() {
			if d.Kind.IsGitHub() {
				out = append(out, d)
			}
		}
	}
	return out
}

// listAnd joins names for a sentence: "a", "a and b", "a, b and c".
func listAnd(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
