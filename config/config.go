// Package config loads and checks what rotabot is told from outside: the routing
// matrix (rotabot.yaml — who may act, where, and for each secret its token settings
// and every consumer of its value) and the environment (EnvVars). It reports every
// mistake at once, each with its line and a fix in a person's words, because a
// half-right matrix must never drive a rotation: Load and Parse return no matrix
// while any problem stands. It must not know about Slack, the SDKs, the store or the
// engine's workings; it only fills the plain data types of package rotation, and it
// never repeats a value that looks like a token.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/raxx-app/rotabot/egress"
	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// Problem is one mistake in a routing matrix, at the line that holds it.
type Problem struct {
	File string
	Line int // 0 when the mistake has no line (the file as a whole)
	Msg  string
}

// String is "FILE:LINE: what is wrong — how to fix it", the form editors jump to.
func (p Problem) String() string {
	if p.Line <= 0 {
		return p.File + ": " + p.Msg
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ": " + p.Msg
}

// Parse checks data, the routing matrix named name in messages, and returns the
// matrix with its defaults applied, or nil and every problem found, sorted by line.
func Parse(name string, data []byte) (*rotation.Matrix, []Problem) {
	c := &checker{file: name}
	m := c.parse(data)
	sort.SliceStable(c.probs, func(i, j int) bool { return c.probs[i].Line < c.probs[j].Line })
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	return m, nil
}

// Summary describes a matrix in one line: "2 secrets, 7 destinations (4 Heroku
// apps, 2 GitHub secrets, 1 shell rc)". A destination is one consumer of one secret.
func Summary(m *rotation.Matrix) string {
	if m == nil {
		return "no routing matrix"
	}
	var heroku, gh, shell int
	for _, sc := range m.Secrets {
		heroku += len(sc.Consumers.HerokuApps)
		gh += len(sc.Consumers.GitHubSecrets) + len(sc.Consumers.GitHubEnvSecrets) + len(sc.Consumers.GitHubOrgSecrets) + len(sc.Consumers.DependabotSecrets)
		shell += len(sc.Consumers.ShellRCOperators)
	}
	var parts []string
	for _, p := range []struct {
		n            int
		one, several string
	}{
		{heroku, "Heroku app", "Heroku apps"},
		{gh, "GitHub secret", "GitHub secrets"},
		{shell, "shell rc", "shell rcs"},
	} {
		if p.n > 0 {
			parts = append(parts, words.Plural(p.n, p.one, p.several))
		}
	}
	s := words.Plural(len(m.Secrets), "secret", "secrets") + ", " + words.Plural(heroku+gh+shell, "destination", "destinations")
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// Keys each level of the matrix knows, in the order the example file uses.
var (
	topKeys       = []string{"ops_usergroup", "channel", "audit_channel", "reminders", "auto_start_days", "vault", "heroku", "secrets"}
	reminderKeys  = []string{"days_before"}
	vaultKeys     = []string{"environment", "path", "pending_path"}
	secretKeys    = []string{"kind", "owners", "expires_in_days", "resource_owner", "repositories", "permissions", "scopes", "probe", "consumers", "verify", "log_watch", "max_age", "auto_start_days"}
	consumerKinds = []string{"heroku_apps", "github_secrets", keyEnvSecrets, keyOrgSecrets, keyDependabotSecrets, "shell_rc_operators"}
	verifyKeys    = []string{"name", "url", "expect_status", "headers_env"}
	kinds         = []string{string(rotation.FineGrained), string(rotation.Classic), string(rotation.HerokuAPIKey)}
)

// checker walks the YAML node tree along the matrix's schema, collecting problems.
// It descends a fixed number of levels, so an alias pointing at its own ancestor
// cannot make it loop.
type checker struct {
	file  string
	probs []Problem
	// typos holds, per mapping, the known keys an unknown key was taken for, so
	// "chanel" is reported once as a typo and not again as "channel is missing".
	typos map[*yaml.Node]map[string]bool
	// autoStart is the top level's auto_start_days (age.go).
	autoStart autoStart
}

// missing reports a required key absent from block n, unless a misspelling of it
// was already reported there.
func (c *checker) missing(n *yaml.Node, key string, line int, format string, args ...any) {
	if c.typos[n][key] {
		return
	}
	c.addf(line, format, args...)
}

func (c *checker) addf(line int, format string, args ...any) {
	c.probs = append(c.probs, Problem{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// entry is one key of a mapping and its value (aliases resolved).
type entry struct {
	key  string
	line int
	val  *yaml.Node
}

// item is one scalar of a list, with its line.
type item struct {
	val  string
	line int
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (c *checker) parse(data []byte) *rotation.Matrix {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.addf(0, "the file is empty — start from rotabot.example.yaml")
			return nil
		}
		c.syntax(data, err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		c.addf(next.Line, "a second YAML document starts here — rotabot.yaml is one document: remove the --- line and merge or delete what follows")
	case !errors.Is(err, io.EOF):
		c.syntax(data, err)
	}
	c.scanTokens(&doc)
	if len(doc.Content) == 0 {
		c.addf(0, "the file is empty — start from rotabot.example.yaml")
		return nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		c.addf(0, "the file holds no settings — start from rotabot.example.yaml")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		c.addf(root.Line, "the file should be a block of settings (ops_usergroup, channel, vault, secrets, …), not %s — start from rotabot.example.yaml", describe(root))
		return nil
	}
	return c.matrix(root)
}

// syntax reports a YAML syntax error at its line, with a fix for the usual causes.
func (c *checker) syntax(data []byte, err error) {
	msg, line := err.Error(), 0
	if sm := yamlLineRe.FindStringSubmatch(msg); sm != nil {
		line, _ = strconv.Atoi(sm[1])
		msg = sm[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	// yaml.v3 names the line where the enclosing block began (0-based) for some
	// errors; the first prefix of the file that fails the same way ends at the line
	// that is really wrong.
	if l := firstFailingLine(data, err.Error()); l > 0 {
		line = l
	}
	lines := strings.Split(string(data), "\n")
	fix := "fix the YAML on this line (indentation, a missing colon, an unclosed quote or bracket)"
	switch {
	case strings.Contains(msg, "tab character") ||
		strings.Contains(msg, "cannot start any token") && line > 0 && line <= len(lines) && strings.Contains(lines[line-1], "\t"):
		fix = "YAML does not allow tabs for indentation: indent with spaces"
	case strings.Contains(msg, "expected ',' or ']'"):
		fix = "a [list] opened on this line is not closed: close it with ], and quote values that hold , : [ ] { }"
	case strings.Contains(msg, "expected ',' or '}'"):
		fix = "a {block} opened on this line is not closed: close it with }, and quote values that hold , : [ ] { }"
	case strings.Contains(msg, "unexpected end of stream"):
		fix = "a quote opened on this line is never closed: add the closing quote"
	case strings.Contains(msg, "mapping values are not allowed"):
		fix = "a value here holds \": \" or the line is indented too far: quote the value, or line the key up with the ones above"
	case strings.Contains(msg, "did not find expected key"):
		fix = "this line is indented differently from the keys around it: line it up with its neighbours"
	case strings.Contains(msg, "expected '-' indicator"):
		fix = "this line breaks a list: start it with \"- \" or indent it like the list's items"
	case strings.Contains(msg, "could not find expected ':'"):
		fix = "a key has no colon: write key: value"
	}
	c.addf(line, "the YAML does not parse (%s) — %s", msg, fix)
}

// firstFailingLine is the smallest n such that the first n lines of data fail to
// parse with the same error text as the whole, or 0. Large files are not searched.
func firstFailingLine(data []byte, whole string) int {
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > 2000 {
		return 0
	}
	var b strings.Builder
	for i, l := range lines {
		b.WriteString(l)
		if err := parseAll([]byte(b.String())); err != nil && err.Error() == whole {
			return i + 1
		}
	}
	return 0
}

// parseAll parses every document of data and returns the first syntax error.
func parseAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// scanTokens flags every value in the file that looks like a token: the routing
// matrix names where secrets go and must never hold one (it is often kept in git).
func (c *checker) scanTokens(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && looksLikeToken(n.Value) {
		c.addf(n.Line, "this looks like a token value — rotabot.yaml must never hold a secret: remove it, and revoke that token if the file was ever shared or committed")
	}
	for _, ch := range n.Content {
		c.scanTokens(ch)
	}
}

func (c *checker) matrix(root *yaml.Node) *rotation.Matrix {
	m := &rotation.Matrix{Secrets: map[string]*rotation.SecretConfig{}}
	top := c.fields(root, "", "at the top level", topKeys)

	m.OpsUsergroup = c.topSlackID(root, top, "ops_usergroup", "S", "a Slack user group id",
		"use the group's id (it starts with S), from the user group's page or `usergroups.list`",
		"ops_usergroup is missing — add the id of the Slack user group whose members may act and approve (S…)")
	m.Channel = c.topSlackID(root, top, "channel", "CG", "a Slack channel id",
		"use the channel's id (C… or G…), shown at the bottom of the channel's details",
		"channel is missing — add the id of the ops channel (C… or G…) where /rotate is allowed and reminders are posted")
	m.AuditChannel = c.topSlackID(root, top, "audit_channel", "CG", "a Slack channel id",
		"use the channel's id (C… or G…), shown at the bottom of the channel's details, or remove audit_channel", "")

	m.Reminders.DaysBefore = slices.Clone(rotation.DefaultDaysBefore)
	if e, ok := top["reminders"]; ok {
		if rm, ok := c.block(e, "reminders"); ok {
			r := c.fields(rm, "reminders.", "in reminders", reminderKeys)
			if d, ok := r["days_before"]; ok {
				if days := c.daysBefore(d); days != nil {
					m.Reminders.DaysBefore = days
				}
			}
		}
	}

	if e, ok := top["vault"]; ok && !isNull(e.val) {
		if vm, ok := c.block(e, "vault"); ok {
			c.vault(e, vm, &m.Vault)
		}
	} else {
		c.missing(root, "vault", lineOf(e, root), "vault is missing — add a vault block with environment and path: where the secrets live in Infisical")
	}

	c.heroku(top, &m.Heroku)
	c.topAutoStart(top)

	if e, ok := top["secrets"]; ok && !isNull(e.val) {
		if sm, ok := c.block(e, "secrets"); ok {
			c.secrets(e, sm, m)
		}
	} else {
		c.missing(root, "secrets", lineOf(e, root), "secrets is missing — add a secrets block with at least one secret")
	}
	return m
}

func (c *checker) daysBefore(e entry) []int {
	items, ok := e.val, true
	if isNull(items) || items.Kind != yaml.SequenceNode {
		c.addf(e.line, "reminders.days_before should be a list of days before expiry — write e.g. days_before: [14, 7, 3, 1]")
		return nil
	}
	if len(items.Content) == 0 {
		c.addf(e.line, "reminders.days_before is empty — list at least one day, e.g. [14, 7, 3, 1], or remove it to use that default")
		return nil
	}
	var days []int
	seen := map[int]int{}
	for _, it := range items.Content {
		n := resolve(it)
		d, err := strconv.Atoi(n.Value)
		switch {
		case n.Kind != yaml.ScalarNode || err != nil:
			c.addf(it.Line, "reminders.days_before: %s is not a whole number of days — write numbers, e.g. [14, 7, 3, 1]", showNode(n))
			ok = false
		case d <= 0:
			c.addf(it.Line, "reminders.days_before: %d is not a day before expiry — use numbers of 1 or more (expired tokens are reported daily anyway)", d)
			ok = false
		case seen[d] != 0:
			c.addf(it.Line, "reminders.days_before: %d is listed twice%s — remove one", d, alsoOn(seen[d], it.Line))
			ok = false
		default:
			seen[d] = it.Line
			days = append(days, d)
		}
	}
	if !ok {
		return nil
	}
	// Most distant first, the order reminders go out in.
	sort.Sort(sort.Reverse(sort.IntSlice(days)))
	return days
}

func (c *checker) vault(e entry, vm *yaml.Node, v *rotation.VaultSettings) {
	f := c.fields(vm, "vault.", "in vault", vaultKeys)
	if en, ok := f["environment"]; ok && !isNull(en.val) {
		if s, ok := c.scalar(en, "vault.environment"); ok {
			v.Environment = s
			if !vaultEnvRe.MatchString(s) {
				c.addf(en.line, "vault.environment %s is not an Infisical environment slug — use the slug from the project's settings, e.g. prod", show(s))
			}
		}
	} else {
		c.missing(vm, "environment", lineOf(en, vm, e.line), "vault.environment is missing — add the Infisical environment slug the secrets live in, e.g. environment: prod")
	}
	if p, ok := f["path"]; ok && !isNull(p.val) {
		if s, ok := c.scalar(p, "vault.path"); ok {
			v.Path = s
			c.folder(p.line, "vault.path", s)
		}
	} else {
		c.missing(vm, "path", lineOf(p, vm, e.line), "vault.path is missing — add the Infisical folder that holds the secrets, e.g. path: /MooseQuest/github/")
	}
	v.PendingPath = rotation.DefaultPendingPath
	if p, ok := f["pending_path"]; ok && !isNull(p.val) {
		if s, ok := c.scalar(p, "vault.pending_path"); ok {
			v.PendingPath = s
			c.folder(p.line, "vault.pending_path", s)
			if s == v.Path {
				c.addf(p.line, "vault.pending_path is the same folder as vault.path — a pending token would overwrite the current one before approval: use a folder of its own, e.g. %s", rotation.DefaultPendingPath)
			}
		}
	}
}

// folder checks an Infisical folder path: it starts and ends with "/".
func (c *checker) folder(line int, what, s string) {
	if strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/") && !strings.Contains(s, "//") && !strings.ContainsAny(s, " \t") {
		return
	}
	fixed := "/" + strings.Trim(strings.Join(strings.Fields(s), ""), "/") + "/"
	for strings.Contains(fixed, "//") {
		fixed = strings.ReplaceAll(fixed, "//", "/")
	}
	c.addf(line, "%s %s must be an Infisical folder that starts and ends with / — write %s", what, show(s), fixed)
}

func (c *checker) secrets(e entry, sm *yaml.Node, m *rotation.Matrix) {
	first := map[string]int{}
	for _, se := range c.pairs(sm) {
		if l, dup := first[se.key]; dup {
			c.addf(se.line, "secret %s is declared twice, on lines %d and %d — remove or rename one", se.key, l, se.line)
			continue
		}
		first[se.key] = se.line
		if !secretNameRe.MatchString(se.key) {
			fix := "use upper-case letters, digits and underscores, starting with a letter"
			if up := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_", " ", "_").Replace(se.key)); secretNameRe.MatchString(up) {
				fix += ": " + up
			}
			c.addf(se.line, "secret name %s is not a variable name — %s", show(se.key), fix)
		}
		m.Secrets[se.key] = c.secret(se)
	}
	if len(first) == 0 {
		c.addf(e.line, "secrets is empty — add at least one secret, e.g. GITHUB_API_READONLY_TOKEN with its kind and consumers")
	}
}

func (c *checker) secret(se entry) *rotation.SecretConfig {
	name := se.key
	sc := &rotation.SecretConfig{Name: name, Line: se.line, ExpiresInDays: rotation.DefaultExpiresInDays}
	if isNull(se.val) || se.val.Kind != yaml.MappingNode {
		c.addf(se.line, "secret %s should be a block of settings (kind, consumers, …), not %s — see rotabot.example.yaml", name, describe(se.val))
		return sc
	}
	f := c.fields(se.val, "", "in "+name, secretKeys)
	p := name + ": "

	kindOK := c.tokenKind(se, f, sc)
	if sc.Kind == rotation.HerokuAPIKey {
		c.herokuKey(f, p, sc) // its settings, taken out of f: the rest are GitHub's
	}

	if e, ok := f["owners"]; ok {
		items := c.list(e, p+"owners", "owners: [U0123ABCD]")
		for _, it := range items {
			c.slackIDCheck(it.line, p+"owner", it.val, "UW", "a Slack user id", "use their member id (U… or W…), from their Slack profile → Copy member ID")
		}
		sc.Owners = vals(items)
	}

	if e, ok := f["expires_in_days"]; ok && !isNull(e.val) {
		if d, ok := c.expiresInDays(e, p, sc.Kind); ok {
			sc.ExpiresInDays = d
		}
	}

	if e, ok := f["resource_owner"]; ok && !isNull(e.val) {
		if v, ok := c.scalar(e, p+"resource_owner"); ok {
			sc.ResourceOwner = v
			if !githubLogin(v) {
				c.addf(e.line, "%sresource_owner %s is not a GitHub user or organisation name — use the user or organisation the token is made under, e.g. raxx-app", p, show(v))
			}
		}
	}

	if e, ok := f["repositories"]; ok {
		items := c.list(e, p+"repositories", "repositories: [owner/repo]")
		for _, it := range items {
			c.repoCheck(it, p+"repository", "the repository the token may reach")
		}
		sc.Repositories = vals(items)
		if sc.Kind == rotation.Classic {
			c.addf(e.line, "%srepositories is for fine-grained tokens — a classic token reaches every repository its owner can: remove it, or make the token fine-grained", p)
		}
		if sc.Kind == rotation.FineGrained && githubLogin(sc.ResourceOwner) {
			c.resourceOwnerCheck(p, sc.ResourceOwner, items)
		}
	}

	if e, ok := f["permissions"]; ok {
		sc.Permissions = c.permissions(e, p)
		if sc.Kind == rotation.Classic {
			c.addf(e.line, "%spermissions is for fine-grained tokens — classic tokens use scopes: remove it, or make the token fine-grained", p)
		}
	}

	if e, ok := f["scopes"]; ok {
		items := c.list(e, p+"scopes", "scopes: [read:org, workflow]")
		for _, it := range items {
			c.scopeCheck(it, p)
		}
		sc.Scopes = vals(items)
		if sc.Kind == rotation.FineGrained {
			c.addf(e.line, "%sscopes is for classic tokens — fine-grained tokens use permissions: remove it, or make the token classic", p)
		}
	}

	if kindOK {
		c.kindComplete(se, sc, f)
	}

	if e, ok := f["probe"]; ok && !isNull(e.val) {
		if v, ok := c.scalar(e, p+"probe"); ok {
			sc.Probe = v
			c.probeCheck(e.line, p, v)
		}
	}

	if e, ok := f["consumers"]; ok {
		sc.Consumers = c.consumers(e, p, name)
	} else {
		c.missing(se.val, "consumers", se.line, "%s has no consumers — add a consumers block naming where the token is used (heroku_apps, github_secrets, shell_rc_operators)", name)
	}

	if e, ok := f["verify"]; ok && !isNull(e.val) {
		sc.Verify = c.verify(e, p)
	}
	sc.LogWatch = c.logWatch(f, p, logPatterns(sc.Kind))
	c.age(se, f, p, sc)
	return sc
}

// tokenKind reads a secret's kind into sc, and reports whether it is one.
func (c *checker) tokenKind(se entry, f map[string]entry, sc *rotation.SecretConfig) bool {
	e, ok := f["kind"]
	if !ok || isNull(e.val) {
		c.missing(se.val, "kind", se.line, "%s has no kind — add kind: fine-grained (preferred) or kind: classic", sc.Name)
		return false
	}
	v, ok := c.scalar(e, sc.Name+": kind")
	if !ok {
		return false
	}
	switch k := rotation.TokenKind(v); k {
	case rotation.FineGrained, rotation.Classic, rotation.HerokuAPIKey:
		sc.Kind = k
		return true
	}
	c.addf(e.line, "%s: kind %s is not a token kind%s", sc.Name, show(v), didYouMean(v, kinds, " — use fine-grained (preferred) or classic for a GitHub token, heroku-api-key for a Heroku API key"))
	return false
}

// expiresInDays reads a secret's expires_in_days: a whole number of days, 1 to 366.
func (c *checker) expiresInDays(e entry, p string, kind rotation.TokenKind) (int, bool) {
	v, ok := c.scalar(e, p+"expires_in_days")
	if !ok {
		return 0, false
	}
	d, err := strconv.Atoi(v)
	switch {
	case err != nil:
		c.addf(e.line, "%sexpires_in_days %s is not a whole number of days — write e.g. expires_in_days: 90", p, show(v))
	case d < 1 || d > 366:
		c.addf(e.line, "%sexpires_in_days %d is out of range — use 1 to 366 days (%s; 90 is the SOP's choice)", p, d, expiryLimit(kind))
	default:
		return d, true
	}
	return 0, false
}

// kindComplete reports what a secret of its kind must have and lacks: scopes for
// a classic token, repositories and permissions for a fine-grained one.
func (c *checker) kindComplete(se entry, sc *rotation.SecretConfig, f map[string]entry) {
	name := sc.Name
	if sc.Kind == rotation.Classic && len(sc.Scopes) == 0 && !c.emptyListReported(f["scopes"]) {
		c.missing(se.val, "scopes", lineOf(f["scopes"], nil, se.line), "%s is classic but has no scopes — list the scopes it is made with, e.g. scopes: [read:org, repo:status, workflow]", name)
	}
	if sc.Kind == rotation.FineGrained {
		if len(sc.Repositories) == 0 && !c.emptyListReported(f["repositories"]) {
			c.missing(se.val, "repositories", lineOf(f["repositories"], nil, se.line), "%s is fine-grained but has no repositories — list the repositories (owner/repo) the token may reach: least privilege", name)
		}
		if len(sc.Permissions) == 0 && !c.emptyListReported(f["permissions"]) {
			c.missing(se.val, "permissions", lineOf(f["permissions"], nil, se.line), "%s is fine-grained but has no permissions — list them, e.g. permissions: {metadata: read, contents: read}", name)
		}
	}
}

// emptyListReported is true when the key is present but was already reported as not
// a list, so "has no X" would only repeat it.
func (c *checker) emptyListReported(e entry) bool {
	return e.val != nil && !isNull(e.val) && e.val.Kind != yaml.SequenceNode && e.val.Kind != yaml.MappingNode
}

func (c *checker) permissions(e entry, p string) map[string]string {
	perms := map[string]string{}
	if isNull(e.val) {
		return perms
	}
	if e.val.Kind != yaml.MappingNode {
		c.addf(e.line, "%spermissions should map each permission to read or write — write e.g. permissions: {metadata: read, contents: read}", p)
		return perms
	}
	seen := map[string]int{}
	for _, pe := range c.pairs(e.val) {
		if l, dup := seen[pe.key]; dup {
			c.addf(pe.line, "%spermission %s is set twice, on lines %d and %d — keep one", p, pe.key, l, pe.line)
			continue
		}
		seen[pe.key] = pe.line
		if !slices.Contains(repoPermissions, pe.key) {
			hint := ""
			if a, ok := permissionAliases[pe.key]; ok {
				hint = " — GitHub's API calls it " + a
			} else {
				hint = didYouMean(pe.key, repoPermissions, " — use a repository permission name as GitHub's API spells it, e.g. actions, contents, metadata, pull_requests")
			}
			c.addf(pe.line, "%spermission %s is not a fine-grained repository permission%s", p, show(pe.key), hint)
		}
		v, ok := c.scalar(pe, p+"permission "+pe.key)
		if !ok {
			continue
		}
		switch {
		case isNull(pe.val):
			c.addf(pe.line, "%spermission %s has no level — write %s: read or %s: write", p, pe.key, pe.key, pe.key)
		case v != "read" && v != "write":
			level := "read or write"
			if g := suggestLevel(v); g != "" {
				level = g
			}
			c.addf(pe.line, "%spermission %s: %s is not an access level — use %s", p, pe.key, show(v), level)
		case v == "write" && readOnlyPermissions[pe.key]:
			c.addf(pe.line, "%s%s is always read-only — write %s: read", p, pe.key, pe.key)
		}
		perms[pe.key] = v
	}
	return perms
}

// suggestLevel maps the way GitHub's settings page words a level to the matrix's word.
func suggestLevel(v string) string {
	l := strings.ToLower(v)
	switch {
	case strings.Contains(l, "write") || l == "rw" || l == "admin":
		return "write"
	case strings.Contains(l, "read") || l == "r" || l == "ro":
		return "read"
	}
	return ""
}

func (c *checker) scopeCheck(it item, p string) {
	if slices.Contains(classicScopes, it.val) {
		return
	}
	s := strings.ToLower(it.val)
	switch {
	case strings.HasPrefix(s, "actions:") || strings.HasSuffix(s, ":actions") || s == "actions":
		c.addf(it.line, "%s%s is not a classic scope — repo or workflow cover Actions", p, it.val)
	case slices.Contains(classicScopes, s):
		c.addf(it.line, "%sscope %s is not a classic scope — scopes are lower case: %s", p, show(it.val), s)
	default:
		c.addf(it.line, "%sscope %s is not a classic scope%s", p, show(it.val),
			didYouMean(it.val, classicScopes, " — use one from GitHub's list of classic scopes, e.g. repo, read:org, workflow"))
	}
}

func (c *checker) probeCheck(line int, p, v string) {
	if strings.HasPrefix(v, "/") {
		// The probe carries the new token: it must stay under GITHUB_API_URL, so
		// an absolute URL in any disguise is refused (package egress).
		if err := egress.CheckPath(v); err != nil {
			c.addf(line, "%sprobe %s is not a plain path on the GitHub API: %s — write the path that follows GITHUB_API_URL, e.g. probe: /repos/OWNER/REPO/actions/runs?per_page=1", p, show(v), err)
		}
		return
	}
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		if u.RawQuery != "" {
			path += "?" + u.RawQuery
		}
		c.addf(line, "%sprobe is a path on the GitHub API, not a URL — write probe: %s", p, path)
		return
	}
	c.addf(line, "%sprobe %s must be a path on the GitHub API starting with / — write probe: /%s", p, show(v), strings.TrimLeft(v, "/"))
}

func (c *checker) repoCheck(it item, what, role string) {
	if msg := repoProblem(it.val, what, role); msg != "" {
		c.addf(it.line, "%s", msg)
	}
}

// slackIDCheck reports v unless it is a Slack id with one of prefixes.
// topSlackID reads a top-level Slack id and checks its shape; when it is absent,
// missing (if not "") is the problem reported.
func (c *checker) topSlackID(root *yaml.Node, top map[string]entry, key, prefixes, is, fix, missing string) string {
	e, ok := top[key]
	if !ok || isNull(e.val) {
		if missing != "" {
			c.missing(root, key, lineOf(e, root), "%s", missing)
		}
		return ""
	}
	v, ok := c.scalar(e, key)
	if !ok {
		return ""
	}
	c.slackIDCheck(e.line, key, v, prefixes, is, fix)
	return v
}

func (c *checker) slackIDCheck(line int, what, v, prefixes, is, fix string) bool {
	if slackID(v, prefixes) {
		return true
	}
	if up := strings.ToUpper(v); up != v && slackID(up, prefixes) {
		fix = "Slack ids are upper case: " + up
	}
	c.addf(line, "%s %s is not %s — %s", what, show(v), is, fix)
	return false
}

// resourceOwnerCheck flags repositories a fine-grained token made under owner can
// never reach: GitHub grants such a token only repositories of its resource owner,
// so its workload probe would fail at every rotation.
func (c *checker) resourceOwnerCheck(p, owner string, repos []item) {
	for _, it := range repos {
		repoOwner, _, ok := strings.Cut(it.val, "/")
		if !ok || !githubLogin(repoOwner) || strings.EqualFold(repoOwner, owner) {
			continue
		}
		c.addf(it.line, "%srepository %s belongs to %s, but resource_owner is %s — a fine-grained token reaches only repositories of its resource owner, so this one could never pass the probe: set resource_owner: %s, or list repositories of %s",
			p, it.val, repoOwner, owner, repoOwner, owner)
	}
}
