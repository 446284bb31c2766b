package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/raxx-app/rotabot/rotation"
)

// The rules for one consumer entry of heroku_apps or github_secrets live here, once:
// `rotabot check` applies them to every entry of the routing matrix, and the CLI to
// its override flags through CheckConsumerEntry.
//
// An entry names its destination and, after a colon, the variable the value is
// stored under there: app[:CONFIG_VAR] or owner/repo[:SECRET_NAME]. Without a name the
// value is stored under the secret's own name. The engine splits the entry on its
// first colon.

// destNameRe is a name at a destination (a Heroku config var, a GitHub Actions
// secret): letters, digits and underscores, not starting with a digit.
var destNameRe = envNameRe

// githubReservedPrefix starts the Actions secret names GitHub refuses (in any case).
const githubReservedPrefix = "GITHUB_"

// CheckConsumerEntry checks one consumer entry with the rules of `rotabot check`:
// kind is "heroku_apps" (entry app or app:CONFIG_VAR) or "github_secrets" (entry
// owner/repo or owner/repo:SECRET_NAME), secretName the secret whose value the entry
// receives, which is the name used when the entry gives none ("" skips that check).
// It returns "" for a good entry, else its first problem in one line, "what is
// wrong — how to fix it", without the secret's name in front.
func CheckConsumerEntry(kind, entry, secretName string) string {
	if ps := consumerEntryProblems(kind, entry, secretName); len(ps) > 0 {
		return ps[0]
	}
	return ""
}

// consumerEntryProblems is every problem of one consumer entry (see CheckConsumerEntry).
func consumerEntryProblems(kind, entry, secretName string) []string {
	if fixed, ok := spaceForColon(kind, entry, secretName); ok {
		return []string{fmt.Sprintf("%s %s has a space where the colon goes — write %s", entryWhat(kind), show(entry), fixed)}
	}
	switch kind {
	case "heroku_apps":
		return herokuEntryProblems(entry, secretName)
	case "github_secrets":
		return githubEntryProblems(entry, secretName)
	case keyEnvSecrets, keyOrgSecrets, keyDependabotSecrets:
		return scopedEntryProblems(kind, entry, secretName)
	}
	return []string{fmt.Sprintf("consumer kind %s cannot be checked here — use heroku_apps, github_secrets, %s, %s or %s",
		show(kind), keyEnvSecrets, keyOrgSecrets, keyDependabotSecrets)}
}

// spaceForColon reports whether entry is a good entry written with a space (or
// several) where the colon goes, "owner/repo NAME", and returns it written right.
// Such an entry gets that one problem, not one for each half.
func spaceForColon(kind, entry, secretName string) (string, bool) {
	fields := strings.Fields(entry)
	if len(fields) != 2 || strings.Contains(entry, ":") {
		return "", false
	}
	fixed := fields[0] + ":" + fields[1]
	switch kind {
	case "heroku_apps":
		return fixed, len(herokuEntryProblems(fixed, secretName)) == 0
	case "github_secrets":
		return fixed, len(githubEntryProblems(fixed, secretName)) == 0
	}
	return "", false
}

// entryWhat names an entry of kind in a message.
func entryWhat(kind string) string {
	if kind == "heroku_apps" {
		return "heroku app"
	}
	return kind
}

// splitEntry splits a consumer entry at its first colon into the destination and
// the name given there. The colon of a pasted URL's scheme does not count, so the
// URL is reported as one.
func splitEntry(entry string) (target, name string, named bool) {
	skip := 0
	if i := strings.Index(entry, "://"); i >= 0 && !strings.Contains(entry[:i], ":") {
		skip = i + len("://")
	}
	target, name, named = strings.Cut(entry[skip:], ":")
	return entry[:skip] + target, name, named
}

func herokuEntryProblems(entry, secretName string) []string {
	app, name, named := splitEntry(entry)
	var ps []string
	if p := herokuAppProblem(app); p != "" {
		ps = append(ps, p)
	}
	if named {
		if p := destNameProblem("heroku app "+show(entry), "config var", app, name, "GITHUB_TOKEN", secretName != ""); p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

func githubEntryProblems(entry, secretName string) []string {
	repo, name, named := splitEntry(entry)
	var ps []string
	if r, ok := ownerRepoFromURL(repo); ok && named {
		// Keep the name in the fix.
		ps = append(ps, fmt.Sprintf("github_secrets %s is a URL — write just owner/repo: %s:%s", show(entry), r, name))
	} else if p := repoProblem(repo, "github_secrets", "the repository whose Actions secret is set"); p != "" {
		ps = append(ps, p)
	}
	// Suggestions name the repository as it should be written.
	if r, ok := ownerRepoFromURL(repo); ok {
		repo = r
	}
	ownOK := secretName == "" || !hasGitHubPrefix(secretName)
	if !named {
		if !ownOK {
			ps = append(ps, fmt.Sprintf("github_secrets %s would store the secret as %s, but GitHub refuses Actions secret names that start with GITHUB_ — name it after a colon, e.g. %s:%s",
				repo, secretName, repo, ghName(secretName)))
		}
		return ps
	}
	example := "GH_API_READONLY_TOKEN"
	if !ownOK && destNameRe.MatchString(secretName) {
		example = ghName(secretName)
	}
	if p := destNameProblem("github_secrets "+show(entry), "secret", repo, name, example, ownOK && secretName != ""); p != "" {
		ps = append(ps, p)
	} else if hasGitHubPrefix(name) {
		ps = append(ps, fmt.Sprintf("github_secrets %s names the secret %s, but GitHub refuses Actions secret names that start with GITHUB_ — use e.g. %s:%s",
			show(entry), name, repo, ghName(name)))
	}
	return ps
}

// destNameProblem checks the name given after the colon of an entry: what is the
// entry as messages name it, thing what the name is of ("config var", "secret"),
// target the destination before the colon, example a name to suggest, and
// ownNameOK whether leaving the name out (the secret's own name) is a fix.
func destNameProblem(what, thing, target, name, example string, ownNameOK bool) string {
	if name == "" {
		fix := fmt.Sprintf("write the %s's name after it, e.g. %s:%s", thing, target, example)
		if ownNameOK {
			fix += ", or remove the colon to use the secret's own name"
		}
		return fmt.Sprintf("%s has nothing after the colon — %s", what, fix)
	}
	if destNameRe.MatchString(name) {
		return ""
	}
	fix := "use letters, digits and underscores, not starting with a digit"
	cleaned := strings.Map(func(r rune) rune {
		if r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.TrimSpace(name))
	if thing == "secret" && hasGitHubPrefix(cleaned) {
		cleaned = ghName(cleaned)
	}
	if destNameRe.MatchString(cleaned) {
		fix += ", e.g. " + target + ":" + cleaned
	}
	return fmt.Sprintf("%s: %s is not a %s name — %s", what, show(name), thing, fix)
}

// hasGitHubPrefix reports whether name starts with GITHUB_, in any case.
func hasGitHubPrefix(name string) bool {
	return len(name) >= len(githubReservedPrefix) && strings.EqualFold(name[:len(githubReservedPrefix)], githubReservedPrefix)
}

// ghName is the name to suggest for an Actions secret called name: GH_ in place of
// a GITHUB_ prefix (GITHUB_API_READONLY_TOKEN → GH_API_READONLY_TOKEN), upper case
// as GitHub shows secret names.
func ghName(name string) string {
	if !hasGitHubPrefix(name) {
		return name
	}
	rest := strings.ToUpper(name[len(githubReservedPrefix):])
	if rest == "" {
		rest = "TOKEN"
	}
	return "GH_" + rest
}

// herokuAppProblem is what is wrong with a Heroku app name, or "".
func herokuAppProblem(app string) string {
	if herokuApp(app) {
		return ""
	}
	fix := "Heroku app names are 3 to 30 lower-case letters, digits and dashes, starting with a letter"
	if low := strings.ToLower(strings.ReplaceAll(app, "_", "-")); low != app && herokuApp(low) {
		fix += "; did you mean " + low + "?"
	}
	return fmt.Sprintf("heroku app %s is not a Heroku app name — %s", show(app), fix)
}

// repoProblem is what is wrong with v as owner/repo, or "": what names the setting,
// role the repository in the fix ("the repository the token may reach").
func repoProblem(v, what, role string) string {
	if ownerRepo(v) {
		return ""
	}
	if r, ok := ownerRepoFromURL(v); ok {
		return fmt.Sprintf("%s %s is a URL — write just owner/repo: %s", what, show(v), r)
	}
	return fmt.Sprintf("%s %s is not owner/repo — name %s with its owner, e.g. raxx-app/TradeMasterAPI", what, show(v), role)
}

// destinationKey identifies where an entry's value lands, so two entries written
// differently but setting the same variable are caught: GitHub ignores case in
// repository and secret names, Heroku config vars keep it.
func destinationKey(kind, entry, secretName string) string {
	target, name, named := splitEntry(entry)
	if kind == keyEnvSecrets || kind == keyOrgSecrets || kind == keyDependabotSecrets {
		target, name, named = cutLastColon(entry)
	}
	if !named {
		name = secretName
	}
	if kind != "heroku_apps" {
		return strings.ToUpper(target + ":" + name)
	}
	return target + ":" + name
}

// consumers checks a secret's consumers block; name is the secret's, which an entry
// of heroku_apps or github_secrets stores the value under unless it names another.
func (c *checker) consumers(e entry, p, name string) rotation.Consumers {
	var cs rotation.Consumers
	if isNull(e.val) {
		c.addf(e.line, "%sconsumers names no destination — list at least one of heroku_apps, github_secrets, shell_rc_operators", p)
		return cs
	}
	if e.val.Kind != yaml.MappingNode {
		c.addf(e.line, "%sconsumers should be a block naming destinations, not %s — write e.g. consumers: {heroku_apps: [raxx-console-prod]}", p, describe(e.val))
		return cs
	}
	f := map[string]entry{}
	typoed := false
	for _, ce := range c.pairs(e.val) {
		if prev, dup := f[ce.key]; dup {
			c.addf(ce.line, "%sconsumers.%s is set twice, on lines %d and %d — merge them into one list", p, ce.key, prev.line, ce.line)
			continue
		}
		if !slices.Contains(consumerKinds, ce.key) {
			g := Suggest(ce.key, consumerKinds)
			if g != "" {
				typoed = true
			}
			c.addf(ce.line, "%sunknown consumer kind %s%s (rotabot sets %s)", p, show(ce.key),
				didYouMean(ce.key, consumerKinds, " — remove it"), andList(consumerKinds))
			continue
		}
		f[ce.key] = ce
	}
	named := false
	if ce, ok := f["heroku_apps"]; ok {
		items := c.list(ce, p+"heroku_apps", "heroku_apps: [raxx-console-prod]")
		c.consumerEntries("heroku_apps", items, p, name)
		cs.HerokuApps = vals(items)
		named = named || hasEntries(ce)
	}
	if ce, ok := f["github_secrets"]; ok {
		items := c.list(ce, p+"github_secrets", "github_secrets: [owner/repo]")
		c.consumerEntries("github_secrets", items, p, name)
		cs.GitHubSecrets = vals(items)
		named = named || hasEntries(ce)
	}
	for _, k := range []struct {
		key, example string
		into         *[]string
	}{
		{keyEnvSecrets, keyEnvSecrets + ": [owner/repo/production]", &cs.GitHubEnvSecrets},
		{keyOrgSecrets, keyOrgSecrets + ": [raxx-app]", &cs.GitHubOrgSecrets},
		{keyDependabotSecrets, keyDependabotSecrets + ": [owner/repo, raxx-app]", &cs.DependabotSecrets},
	} {
		if ce, ok := f[k.key]; ok {
			items := c.list(ce, p+k.key, k.example)
			c.consumerEntries(k.key, items, p, name)
			*k.into = vals(items)
			named = named || hasEntries(ce)
		}
	}
	if ce, ok := f["shell_rc_operators"]; ok {
		items := c.list(ce, p+"shell_rc_operators", "shell_rc_operators: [U0123ABCD]")
		for _, it := range items {
			c.slackIDCheck(it.line, p+"shell rc operator", it.val, "UWD", "a Slack user id (U… or W…) or DM channel id (D…)",
				"use their member id, from their Slack profile → Copy member ID")
		}
		cs.ShellRCOperators = vals(items)
		named = named || hasEntries(ce)
	}
	if !named && !typoed {
		c.addf(e.line, "%sconsumers names no destination — list at least one of heroku_apps, github_secrets, shell_rc_operators", p)
	}
	return cs
}

// consumerEntries checks each entry of a heroku_apps or github_secrets list by the
// rules of CheckConsumerEntry, and reports two entries, written differently, that set
// the same variable at the same destination.
func (c *checker) consumerEntries(kind string, items []item, p, secret string) {
	thing, what := "secret", kind
	if kind == "heroku_apps" {
		thing, what = "config var", "heroku app"
	}
	seen := map[string]item{}
	for _, it := range items {
		probs := consumerEntryProblems(kind, it.val, secret)
		for _, msg := range probs {
			c.addf(it.line, "%s%s", p, msg)
		}
		if len(probs) > 0 {
			continue
		}
		key := destinationKey(kind, it.val, secret)
		if first, dup := seen[key]; dup {
			c.addf(it.line, "%s%s %s sets the same %s as %s%s — remove one", p, what, show(it.val), thing, show(first.val), alsoOn(first.line, it.line))
			continue
		}
		seen[key] = it
	}
}

// andList is "a, b and c".
func andList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
