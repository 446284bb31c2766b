package config

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/raxx-app/rotabot/rotation"
)

// classicScopes are GitHub's OAuth scopes for classic personal access tokens
// ("Scopes for OAuth apps" in GitHub's docs). A scope not in this list is a typo or a
// fine-grained permission written the classic way, and GitHub would silently ignore it.
var classicScopes = []string{
	"repo", "repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events",
	"admin:repo_hook", "write:repo_hook", "read:repo_hook",
	"admin:org", "write:org", "read:org",
	"admin:public_key", "write:public_key", "read:public_key",
	"admin:org_hook", "gist", "notifications",
	"user", "read:user", "user:email", "user:follow",
	"project", "read:project", "delete_repo",
	"write:packages", "read:packages", "delete:packages",
	"admin:gpg_key", "write:gpg_key", "read:gpg_key",
	"codespace", "workflow",
	"admin:enterprise", "manage_runners:enterprise", "manage_billing:enterprise", "read:enterprise",
	"audit_log", "read:audit_log",
	"copilot", "manage_billing:copilot",
	"admin:ssh_signing_key", "write:ssh_signing_key", "read:ssh_signing_key",
	"write:discussion", "read:discussion",
}

// repoPermissions are the repository permissions a fine-grained token can be given,
// by the names GitHub's API uses for them.
var repoPermissions = []string{
	"actions", "administration", "attestations", "checks",
	"codespaces", "codespaces_lifecycle_admin", "codespaces_metadata", "codespaces_secrets",
	"contents", "dependabot_secrets", "deployments", "discussions",
	"environments", "issues", "merge_queues", "metadata", "packages", "pages",
	"pull_requests", "repository_advisories", "repository_custom_properties",
	"repository_hooks", "repository_projects", "secret_scanning_alerts", "secrets",
	"security_events", "single_file", "statuses", "variables", "vulnerability_alerts",
	"workflows",
}

// permissionAliases are the names GitHub's settings page shows where they differ from
// the API's, so a permission copied from the page gets the right suggestion.
var permissionAliases = map[string]string{
	"webhooks":                       "repository_hooks",
	"projects":                       "repository_projects",
	"custom_properties":              "repository_custom_properties",
	"code_scanning_alerts":           "security_events",
	"dependabot_alerts":              "vulnerability_alerts",
	"commit_statuses":                "statuses",
	"code":                           "contents",
	"security_advisories":            "repository_advisories",
	"repository_security_advisories": "repository_advisories",
}

// readOnlyPermissions can only ever be granted read access.
var readOnlyPermissions = map[string]bool{"metadata": true, "codespaces_metadata": true}

var (
	secretNameRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	envNameRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	herokuAppRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{1,28}[a-z0-9]$`)
	repoNameRe   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	vaultEnvRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	headerNameRe = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
	slackTailRe  = regexp.MustCompile(`^[A-Z0-9]{2,19}$`)
)

// slackID reports whether v is a Slack id starting with one of prefixes. Real ids are
// an upper-case letter and 8 to 10 more upper-case letters and digits (U024BE7LH,
// D0AJ7K184TV); the length is not pinned, so the short ids of tests and the spec
// (C0OPS) pass, while names, @handles, #channels and lower case do not.
func slackID(v, prefixes string) bool {
	return len(v) > 1 && strings.ContainsRune(prefixes, rune(v[0])) && slackTailRe.MatchString(v[1:])
}

// githubLogin reports whether v can be a GitHub user or organisation name: letters,
// digits and single dashes, not starting or ending with a dash, at most 39 characters.
func githubLogin(v string) bool {
	if v == "" || len(v) > 39 || v[0] == '-' || v[len(v)-1] == '-' || strings.Contains(v, "--") {
		return false
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ownerRepo reports whether v is owner/repo.
func ownerRepo(v string) bool {
	owner, repo, ok := strings.Cut(v, "/")
	return ok && githubLogin(owner) && repoNameRe.MatchString(repo) && repo != "." && repo != ".."
}

// ownerRepoFromURL turns a pasted https://github.com/owner/repo(.git) into owner/repo.
func ownerRepoFromURL(v string) (string, bool) {
	u, err := url.Parse(v)
	if err != nil || u.Host != "github.com" && u.Host != "www.github.com" {
		return "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 {
		return "", false
	}
	r := parts[0] + "/" + strings.TrimSuffix(parts[1], ".git")
	return r, ownerRepo(r)
}

// herokuApp reports whether v is a Heroku app name: 3 to 30 lower-case letters,
// digits and dashes, starting with a letter and ending with a letter or digit.
func herokuApp(v string) bool { return herokuAppRe.MatchString(v) }

// tokenPrefixes are the starts of credentials that must never sit in rotabot.yaml:
// the public ones, and Slack's refresh tokens' other form (xoxe.xoxp-…).
var tokenPrefixes = append(slices.Clone(rotation.PublicPrefixes), "xoxe.")

// looksLikeToken reports whether v holds something shaped like a GitHub or Slack
// token, so it is never repeated in a message.
func looksLikeToken(v string) bool {
	for _, f := range strings.Fields(v) {
		for _, p := range tokenPrefixes {
			if strings.HasPrefix(f, p) && len(f) >= len(p)+8 {
				return true
			}
		}
	}
	return false
}

// show quotes v for a message, unless it looks like a token or is too long to read.
func show(v string) string {
	if looksLikeToken(v) {
		return "(a value that looks like a token)"
	}
	if utf8.RuneCountInString(v) > 80 {
		r := []rune(v)
		v = string(r[:77]) + "..."
	}
	return strconv.Quote(v)
}

// Suggest returns the option closest to s, or "" when none is close enough to be
// what the person meant: same letters ignoring case and separators, one containing
// the other, or a small edit distance.
func Suggest(s string, options []string) string {
	norm := func(x string) string {
		x = strings.ToLower(x)
		return strings.NewReplacer("_", "", "-", "", ":", "", " ", "", ".", "").Replace(x)
	}
	ns := norm(s)
	if ns == "" {
		return ""
	}
	for _, o := range options {
		if norm(o) == ns {
			return o
		}
	}
	best, bestD := "", 1<<30
	for _, o := range options {
		d := levenshtein(strings.ToLower(s), strings.ToLower(o))
		limit := 2
		if len(o) <= 4 {
			limit = 1
		}
		if d <= limit && d < bestD {
			best, bestD = o, d
		}
	}
	if best != "" {
		return best
	}
	// "heroku" for "heroku_apps", "pull_request" for "pull_requests".
	// Only when exactly one option fits: "admin" could be any admin:… scope.
	if len(ns) >= 4 {
		var fits []string
		for _, o := range options {
			if no := norm(o); strings.HasPrefix(no, ns) || strings.HasPrefix(ns, no) && len(no) >= 4 {
				fits = append(fits, o)
			}
		}
		if len(fits) == 1 {
			return fits[0]
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// didYouMean is " — did you mean X?" when a suggestion exists, else otherwise.
func didYouMean(s string, options []string, otherwise string) string {
	if g := Suggest(s, options); g != "" {
		return " — did you mean " + g + "?"
	}
	return otherwise
}

// expiryLimit says why expires_in_days stops at 366 for a token of kind.
func expiryLimit(kind rotation.TokenKind) string {
	switch kind {
	case rotation.Classic:
		return "a classic token may be set to never expire, but rotabot keeps it within a year, as GitHub does fine-grained ones"
	case rotation.FineGrained:
		return "366 is the most a fine-grained token allows"
	}
	return "366 is the most a fine-grained token allows, and rotabot keeps classic ones within a year too"
}
