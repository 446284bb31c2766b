package config

import (
	"fmt"
	"strings"
	"unicode"
)

// The rules for entries of the GitHub kinds beyond repository Actions secrets:
//
//	github_environment_secrets: owner/repo/ENVIRONMENT[:NAME]
//	github_org_secrets:         org[:NAME]
//	dependabot_secrets:         owner/repo[:NAME] or org[:NAME]
//
// The name comes after the last colon (an environment's name may hold spaces
// and slashes, never a colon here); without one the secret's own name is used.
// GitHub's name rules are those of Actions secrets.

// Consumer keys of the newer GitHub kinds.
const (
	keyEnvSecrets        = "github_environment_secrets"
	keyOrgSecrets        = "github_org_secrets"
	keyDependabotSecrets = "dependabot_secrets"
)

// maxEnvNameLen is the longest environment name GitHub accepts.
const maxEnvNameLen = 255

// cutLastColon splits an entry of the newer GitHub kinds at its last colon.
func cutLastColon(entry string) (target, name string, named bool) {
	i := strings.LastIndex(entry, ":")
	if i < 0 {
		return entry, "", false
	}
	return entry[:i], entry[i+1:], true
}

// scopedEntryProblems is every problem of one entry of github_environment_secrets,
// github_org_secrets or dependabot_secrets.
func scopedEntryProblems(kind, entry, secretName string) []string {
	target, name, named := cutLastColon(entry)
	what := kind + " " + show(entry)
	var ps []string
	switch kind {
	case keyEnvSecrets:
		ps = append(ps, envTargetProblems(what, target)...)
	case keyOrgSecrets:
		if p := orgTargetProblem(what, target, "an organisation secret is set on the organisation alone; for one repository's Actions secret use github_secrets"); p != "" {
			ps = append(ps, p)
		}
	case keyDependabotSecrets:
		if strings.Contains(target, "/") {
			if p := repoProblem(target, what+": repository", "the repository whose Dependabot secret is set"); p != "" {
				ps = append(ps, p)
			}
		} else if p := orgTargetProblem(what, target, ""); p != "" {
			ps = append(ps, p)
		}
	}
	ownOK := secretName == "" || !hasGitHubPrefix(secretName)
	if !named {
		if !ownOK {
			ps = append(ps, fmt.Sprintf("%s would store the secret as %s, but GitHub refuses secret names that start with GITHUB_ — name it after a colon, e.g. %s:%s",
				what, secretName, target, ghName(secretName)))
		}
		return ps
	}
	example := "GH_API_READONLY_TOKEN"
	if !ownOK && destNameRe.MatchString(secretName) {
		example = ghName(secretName)
	}
	if p := destNameProblem(what, "secret", target, name, example, ownOK && secretName != ""); p != "" {
		ps = append(ps, p)
	} else if hasGitHubPrefix(name) {
		ps = append(ps, fmt.Sprintf("%s names the secret %s, but GitHub refuses secret names that start with GITHUB_ — use e.g. %s:%s",
			what, name, target, ghName(name)))
	}
	return ps
}

// envTargetProblems checks owner/repo/ENVIRONMENT.
func envTargetProblems(what, target string) []string {
	owner, rest, _ := strings.Cut(target, "/")
	repo, env, hasEnv := strings.Cut(rest, "/")
	var ps []string
	if p := repoProblem(owner+"/"+repo, what+": repository", "the repository the environment belongs to"); p != "" {
		ps = append(ps, p)
	}
	switch {
	case !hasEnv || env == "":
		ps = append(ps, fmt.Sprintf("%s names no environment — write owner/repo/ENVIRONMENT, e.g. %s/production", what, owner+"/"+repo))
	case strings.TrimSpace(env) != env:
		ps = append(ps, fmt.Sprintf("%s: the environment %s starts or ends with a space — write its name as GitHub shows it, e.g. %s/%s",
			what, show(env), owner+"/"+repo, strings.TrimSpace(env)))
	case len(env) > maxEnvNameLen:
		ps = append(ps, fmt.Sprintf("%s: the environment's name is longer than GitHub's %d characters — check the entry", what, maxEnvNameLen))
	case strings.IndexFunc(env, unicode.IsControl) >= 0:
		ps = append(ps, fmt.Sprintf("%s: the environment %s holds a control character — write its name as GitHub shows it", what, show(env)))
	}
	return ps
}

// orgTargetProblem checks an organisation's login; repoHint, when not "", is the
// fix for an entry that names a repository instead.
func orgTargetProblem(what, org, repoHint string) string {
	if strings.Contains(org, "/") && repoHint != "" {
		return fmt.Sprintf("%s names a repository — %s", what, repoHint)
	}
	if githubLogin(org) {
		return ""
	}
	return fmt.Sprintf("%s: %s is not a GitHub organisation — write the organisation's login, e.g. raxx-app", what, show(org))
}
