package main

// The deployment files — Procfile, app.json and slack-app-manifest.yaml — must say
// what the code reads and calls, no less and no more. These tests read the files and
// the code (environment table, Slack calls in the source) and fail on any drift: a
// variable added to config without a line in app.json, a Slack method called without
// its scope in the manifest, a scope the code no longer needs.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"

	"github.com/raxx-app/rotabot/config"
)

// slackCalls is every Slack Web API call the code makes, by the slack-go name it is
// called with, and the bot scope Slack requires for it ("" when none). The manifest's
// bot scopes must be exactly the scopes named here (plus commands, for /rotate), and
// every call found in the code must be here. Scopes: https://api.slack.com/methods.
var slackCalls = []struct {
	call   string // slack-go method of *slack.Client (or package function)
	method string // Slack Web API method
	scope  string
	why    string
}{
	{"PostMessageContext", "chat.postMessage", "chat:write", "run cards, their threads, DMs, audit posts"},
	{"UpdateMessageContext", "chat.update", "chat:write", "run cards are updated in place"},
	{"PostEphemeralContext", "chat.postEphemeral", "chat:write", "answers only one person sees, when there is no response_url"},
	{"GetPermalinkContext", "chat.getPermalink", "", "link to the open run of a busy secret"},
	{"OpenConversationContext", "conversations.open", "im:write", "a DM with a shell-rc operator or a secret's owner"},
	{"GetUserGroupMembersContext", "usergroups.users.list", "usergroups:read", "members of ops_usergroup may act and approve"},
	{"GetUserInfoContext", "users.info", "users:read", "a shell-rc operator's name in a dry run's plan and the CLI's output"},
	{"OpenViewContext", "views.open", "", "the token modal"},
	{"UpdateViewContext", "views.update", "", "the token modal after a slow check"},
	{"PublishViewContext", "views.publish", "", "App Home"},
	{"AuthTestContext", "auth.test", "", "start-up check of SLACK_BOT_TOKEN"},
	{"StartSocketModeContext", "apps.connections.open", "", "start-up check of SLACK_APP_TOKEN (the app-level token's connections:write, not a bot scope)"},
	{"PostWebhookCustomHTTPContext", "response_url", "", "ephemeral answers to a slash command or a button"},
}

// slashCommandScope is the scope a manifest with slash_commands needs.
const slashCommandScope = "commands"

// slackEvents maps the slackevents types the code handles to the Events API event
// the manifest must subscribe to ("" for envelope types, which are no event).
var slackEvents = map[string]string{
	"EventsAPIEvent":         "",
	"EventsAPICallbackEvent": "",
	"AppHomeOpenedEvent":     "app_home_opened",
}

// notWebAPI are *slack.Client methods that call no Slack method.
var notWebAPI = map[string]bool{"Debug": true, "Debugf": true, "Debugln": true}

// repoRoot is the repository's top level, seen from this package's folder (where
// go test runs).
const repoRoot = "../.."

// commandDir is this command's folder, relative to the repository's top level.
const commandDir = "cmd/rotabot"

func deployFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func modulePath(t *testing.T) string {
	t.Helper()
	for _, l := range strings.Split(string(deployFile(t, "go.mod")), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
			return f[1]
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

// TestProcfile: one worker running `rotabot serve` (Socket Mode needs no web
// dyno), and the Go buildpack builds exactly that binary: it installs the module's
// main packages into bin/, each named after the last element of its import path.
func TestProcfile(t *testing.T) {
	if got := string(deployFile(t, "Procfile")); strings.TrimRight(got, "\n") != "worker: rotabot serve" {
		t.Errorf("Procfile is %q, want exactly %q", got, "worker: rotabot serve\n")
	}
	mod := modulePath(t)
	if bin := mod[strings.LastIndex(mod, "/")+1:]; bin != "rotabot" {
		t.Errorf("the buildpack would name the binary %q (from module %s), but the Procfile runs rotabot", bin, mod)
	}
	// The buildpack installs the packages named on go.mod's "// +heroku install"
	// line (without one, every main package it finds): it must name exactly this
	// command, whose folder's last element names the binary, bin/rotabot.
	var install []string
	for _, l := range strings.Split(string(deployFile(t, "go.mod")), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "//" && f[1] == "+heroku" && f[2] == "install" {
			install = f[3:]
		}
	}
	if want := []string{"./" + commandDir}; !slices.Equal(install, want) {
		t.Errorf("go.mod's +heroku install line names %v, want %v: the buildpack must install only the rotabot command", install, want)
	}
	if mains := mainPackages(t); !slices.Contains(mains, commandDir) {
		t.Errorf("%s holds no main package (main packages: %v)", commandDir, mains)
	}
	if bin := filepath.Base(commandDir); bin != "rotabot" {
		t.Errorf("the buildpack would name the binary %q, but the Procfile runs rotabot", bin)
	}
	// serve exists and takes no required argument.
	c := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	if code := c.run(context.Background(), []string{"serve", "--help"}); code != 0 {
		t.Errorf("rotabot serve --help exited %d: the Procfile's command is not a rotabot subcommand", code)
	}
}

// mainPackages lists the folders (relative to the top level, "." for it) holding
// package main.
func mainPackages(t *testing.T) []string {
	t.Helper()
	var dirs []string
	seen := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != repoRoot && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "testdata" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.PackageClauseOnly)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(repoRoot, filepath.Dir(p))
		if f.Name.Name == "main" && !seen[dir] {
			seen[dir] = true
			dirs = append(dirs, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

type appJSON struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Keywords    []string `json:"keywords"`
	Repository  string   `json:"repository"`
	Buildpacks  []struct {
		URL string `json:"url"`
	} `json:"buildpacks"`
	Formation map[string]struct {
		Quantity int    `json:"quantity"`
		Size     string `json:"size"`
	} `json:"formation"`
	Addons []struct {
		Plan string `json:"plan"`
		As   string `json:"as"`
	} `json:"addons"`
	Env map[string]struct {
		Description string  `json:"description"`
		Required    *bool   `json:"required"`
		Value       *string `json:"value"`
	} `json:"env"`
}

func loadAppJSON(t *testing.T) appJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(deployFile(t, "app.json"))))
	dec.DisallowUnknownFields() // a misspelt key is a setting Heroku ignores
	var a appJSON
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("app.json: %v", err)
	}
	return a
}

// defaultedVars returns the variables LoadEnv gives a default, with the type of the
// Env field each sets, found by setting each alone and seeing which field it moves: a
// field that is not zero when nothing is set holds a default.
func defaultedVars(t *testing.T) map[string]reflect.Type {
	t.Helper()
	base, probs := config.LoadEnv(func(string) string { return "" })
	if len(probs) > 0 {
		t.Fatalf("LoadEnv of an empty environment: %v", probs)
	}
	bv := reflect.ValueOf(base)
	out := map[string]reflect.Type{}
	// The GitHub App's variables are read together: a probe of one has the
	// others beside it.
	appKey := testRSAKeyPEM(t)
	for _, name := range config.Vars() {
		found := false
		beside := map[string]string{}
		if strings.HasPrefix(name, "GITHUB_APP_") {
			beside = map[string]string{"GITHUB_APP_ID": "17", "GITHUB_APP_PRIVATE_KEY": appKey}
		}
		for _, probe := range []string{"https://probe.invalid/p", "17s", "text", "17", appKey} {
			e, probs := config.LoadEnv(func(k string) string {
				if k == name {
					return probe
				}
				return beside[k]
			})
			if len(probs) > 0 {
				continue
			}
			ev := reflect.ValueOf(e)
			for i := 0; i < ev.NumField(); i++ {
				if !reflect.DeepEqual(ev.Field(i).Interface(), bv.Field(i).Interface()) {
					found = true
					if !bv.Field(i).IsZero() {
						out[name] = bv.Field(i).Type()
					}
				}
			}
			if found {
				break
			}
		}
		if !found {
			t.Fatalf("cannot tell which setting %s is: config.LoadEnv ignores it", name)
		}
	}
	return out
}

// TestAppJSON: the Heroku button offers every variable the code reads and nothing
// else, each described; required ones are those `rotabot serve` refuses to start
// without, and have no default; every default the code has is offered, the same one.
func TestAppJSON(t *testing.T) {
	a := loadAppJSON(t)
	if a.Name != "rotabot" || a.Description == "" || len(a.Keywords) == 0 {
		t.Errorf("app.json needs name rotabot, a description and keywords: %q %q %v", a.Name, a.Description, a.Keywords)
	}
	if want := "https://" + modulePath(t); a.Repository != want {
		t.Errorf("repository is %q, want %q", a.Repository, want)
	}
	if len(a.Buildpacks) != 1 || a.Buildpacks[0].URL != "heroku/go" {
		t.Errorf("buildpacks are %+v, want only heroku/go", a.Buildpacks)
	}
	if w, ok := a.Formation["worker"]; len(a.Formation) != 1 || !ok || w.Quantity != 1 || w.Size != "basic" {
		t.Errorf("formation is %+v, want exactly worker: {quantity: 1, size: basic} (one bot: a second would open its own socket and database)", a.Formation)
	}

	// A dyno's disk is wiped at every restart: the database is PostgreSQL, whose
	// add-on sets DATABASE_URL (docs/configuration.md, "Which store").
	if len(a.Addons) != 1 || !strings.HasPrefix(a.Addons[0].Plan, "heroku-postgresql:") || a.Addons[0].As != "DATABASE" {
		t.Errorf("addons are %+v, want the Heroku Postgres add-on as DATABASE (it sets DATABASE_URL)", a.Addons)
	}

	vars := config.Vars()
	for _, v := range vars {
		if _, ok := a.Env[v]; !ok {
			t.Errorf("app.json does not describe %s, which rotabot reads (config.Vars)", v)
		}
	}
	for k := range a.Env {
		if !slices.Contains(vars, k) {
			t.Errorf("app.json describes %s, which rotabot does not read (config.Vars)", k)
		}
	}

	// Required: what serve names as missing with nothing set and no matrix.
	required := map[string]bool{}
	for _, line := range (config.Env{}).Require(nil, true) {
		name, _, _ := strings.Cut(line, " ")
		required[name] = true
	}
	defaulted := defaultedVars(t)
	values := map[string]string{}
	for _, name := range vars {
		e, ok := a.Env[name]
		if !ok {
			continue
		}
		if len(strings.TrimSpace(e.Description)) < 20 {
			t.Errorf("%s: the description %q does not say what it is", name, e.Description)
		}
		switch {
		case e.Required == nil:
			t.Errorf("%s: say required: true or false (Heroku's default is true)", name)
		case *e.Required != required[name]:
			t.Errorf("%s: required is %v, but rotabot serve %s", name, *e.Required,
				map[bool]string{true: "refuses to start without it", false: "starts without it"}[required[name]])
		}
		if e.Required != nil && *e.Required && e.Value != nil {
			t.Errorf("%s is required but has a default %q: a required variable is one only the operator can fill in", name, *e.Value)
		}
		if _, def := defaulted[name]; (e.Value != nil) != def {
			if def {
				t.Errorf("%s has a default in the code but none in app.json", name)
			} else {
				t.Errorf("%s has a value in app.json but no default in the code: %q", name, *e.Value)
			}
		}
		if e.Value != nil {
			values[name] = *e.Value
			for _, p := range []string{"ghp_", "github_pat_", "xox", "xapp-"} {
				if strings.Contains(*e.Value, p) {
					t.Errorf("%s's default looks like a token", name)
				}
			}
		}
	}

	// The one table (config.EnvVars) says the same: the description, whether it
	// is required, and the default.
	for _, v := range config.EnvVars() {
		e, ok := a.Env[v.Name]
		if !ok {
			continue
		}
		if e.Description != v.Description {
			t.Errorf("%s: app.json's description differs from config.EnvVars' Description:\napp.json %q\ntable    %q", v.Name, e.Description, v.Description)
		}
		wantRequired := v.Need == config.NeedServe || v.Need == config.NeedAlways
		if e.Required != nil && *e.Required != wantRequired {
			t.Errorf("%s: required is %v in app.json, but the table says %q", v.Name, *e.Required, v.Need)
		}
		switch {
		case e.Value == nil && v.Default != "":
			t.Errorf("%s: app.json has no value, but the table's default is %q", v.Name, v.Default)
		case e.Value != nil && *e.Value != v.Default:
			t.Errorf("%s: app.json's value %q differs from the table's default %q", v.Name, *e.Value, v.Default)
		}
	}

	// The defaults parse, and are the code's own defaults.
	for name, v := range values {
		switch {
		case strings.HasSuffix(name, "_URL"):
			if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
				t.Errorf("%s=%q is not an https URL", name, v)
			}
		case defaulted[name] == reflect.TypeFor[time.Duration]():
			if d, err := time.ParseDuration(v); err != nil || d <= 0 {
				t.Errorf("%s=%q is not a positive Go duration", name, v)
			}
		}
	}
	got, probs := config.LoadEnv(func(k string) string { return values[k] })
	if len(probs) > 0 {
		t.Errorf("app.json's defaults do not load: %v", probs)
	}
	if want, _ := config.LoadEnv(func(string) string { return "" }); got != want {
		t.Errorf("app.json's defaults differ from the code's:\napp.json %+v\ncode     %+v", got, want)
	}
}

type slackManifest struct {
	Features struct {
		AppHome struct {
			HomeTab             bool `yaml:"home_tab_enabled"`
			MessagesTab         bool `yaml:"messages_tab_enabled"`
			MessagesTabReadOnly bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		SlashCommands []struct {
			Command   string `yaml:"command"`
			URL       string `yaml:"url"`
			UsageHint string `yaml:"usage_hint"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot  []string `yaml:"bot"`
			User []string `yaml:"user"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled    bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketMode    bool `yaml:"socket_mode_enabled"`
		TokenRotation bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

// TestSlackManifest: Socket Mode, /rotate, interactivity, App Home and its event;
// the bot scopes are exactly those of the Slack methods the code calls, each with a
// comment saying why.
func TestSlackManifest(t *testing.T) {
	data := deployFile(t, "slack-app-manifest.yaml")
	var m slackManifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("slack-app-manifest.yaml: %v", err)
	}
	s := m.Settings
	if !s.SocketMode {
		t.Error("socket_mode_enabled must be true: rotabot connects out and has no public URL")
	}
	if s.TokenRotation {
		t.Error("token_rotation_enabled must be false: rotabot does not refresh SLACK_BOT_TOKEN")
	}
	if !s.Interactivity.Enabled {
		t.Error("interactivity must be on: buttons and the token modal")
	}
	if s.Interactivity.RequestURL != "" || s.Events.RequestURL != "" {
		t.Error("request URLs are for HTTP mode; with Socket Mode leave them out")
	}
	if !m.Features.AppHome.HomeTab {
		t.Error("home_tab_enabled must be true: App Home lists open runs and expiry")
	}
	if !m.Features.AppHome.MessagesTab {
		t.Error("messages_tab_enabled must be true: shell-rc operators get their Done button by DM")
	}
	found := false
	for _, c := range m.Features.SlashCommands {
		if c.Command == "/rotate" {
			found = true
			if c.UsageHint == "" {
				t.Error("/rotate has no usage_hint")
			}
			if c.URL != "" {
				t.Error("/rotate has a url: with Socket Mode the command comes over the socket")
			}
		} else {
			t.Errorf("the manifest declares %s, which rotabot does not handle", c.Command)
		}
	}
	if !found {
		t.Error("the manifest does not declare /rotate")
	}
	if len(m.OAuth.Scopes.User) > 0 {
		t.Errorf("user scopes %v: rotabot never acts as a person", m.OAuth.Scopes.User)
	}

	calls, events := slackUse(t)

	var wantEvents []string
	for typ := range events {
		name, ok := slackEvents[typ]
		if !ok {
			t.Errorf("the code handles slackevents.%s: add it to slackEvents with the event the manifest must subscribe to", typ)
		}
		if name != "" {
			wantEvents = append(wantEvents, name)
		}
	}
	sort.Strings(wantEvents)
	gotEvents := slices.Sorted(slices.Values(m.Settings.Events.BotEvents))
	if !slices.Equal(gotEvents, wantEvents) {
		t.Errorf("bot_events are %v; the code handles %v", gotEvents, wantEvents)
	}

	want := map[string]bool{}
	if found {
		want[slashCommandScope] = true
	}
	known := map[string]bool{}
	for _, c := range slackCalls {
		known[c.call] = true
		if !calls[c.call] {
			t.Errorf("slackCalls lists %s (%s) but the code no longer calls it: remove it (and its scope %q if nothing else needs it)", c.call, c.method, c.scope)
			continue
		}
		if c.scope != "" {
			want[c.scope] = true
		}
	}
	var unknown []string
	for c := range calls {
		if !known[c] {
			unknown = append(unknown, c)
		}
	}
	sort.Strings(unknown)
	for _, c := range unknown {
		t.Errorf("the code calls slack %s: add it to slackCalls in deploy_test.go with the Slack method's scope, and the scope to slack-app-manifest.yaml", c)
	}

	got := map[string]bool{}
	for _, sc := range m.OAuth.Scopes.Bot {
		if got[sc] {
			t.Errorf("bot scope %s is listed twice", sc)
		}
		got[sc] = true
	}
	for sc := range want {
		if !got[sc] {
			t.Errorf("bot scope %s is missing: the code needs it (see slackCalls)", sc)
		}
	}
	for sc := range got {
		if !want[sc] {
			t.Errorf("bot scope %s is not needed by any call the code makes: remove it", sc)
		}
	}

	// Every scope says why, in a comment on its line or above it.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	bot := yamlLookup(&doc, "oauth_config", "scopes", "bot")
	if bot == nil || bot.Kind != yaml.SequenceNode {
		t.Fatal("oauth_config.scopes.bot is not a list")
	}
	for _, it := range bot.Content {
		if strings.TrimSpace(strings.TrimPrefix(it.LineComment, "#")) == "" && strings.TrimSpace(it.HeadComment) == "" {
			t.Errorf("bot scope %s (line %d) has no comment saying which calls need it", it.Value, it.Line)
		}
	}
}

// yamlLookup walks mapping keys from the document node.
func yamlLookup(n *yaml.Node, keys ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// slackUse reads every non-test Go file of the module, except the Slack stand-in
// (sandbox/ serves the API; it never calls it), and returns the Slack calls made —
// X.M(…) where M is a method of *slack.Client, or slack.PostWebhook…(…) — and the
// slackevents types named.
func slackUse(t *testing.T) (calls, events map[string]bool) {
	t.Helper()
	methods := map[string]bool{}
	ct := reflect.TypeOf(&slack.Client{})
	for i := 0; i < ct.NumMethod(); i++ {
		if name := ct.Method(i).Name; !notWebAPI[name] {
			methods[name] = true
		}
	}
	for _, c := range slackCalls {
		if !methods[c.call] && !strings.HasPrefix(c.call, "PostWebhook") {
			t.Errorf("slackCalls lists %s, which is not a method of *slack.Client", c.call)
		}
	}
	calls, events = map[string]bool{}, map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != repoRoot && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" || p == filepath.Join(repoRoot, "sandbox") || p == filepath.Join(repoRoot, "bench")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		slackName, eventsName := "", ""
		for _, im := range f.Imports {
			path := strings.Trim(im.Path.Value, `"`)
			local := ""
			if im.Name != nil {
				local = im.Name.Name
			}
			switch path {
			case "github.com/slack-go/slack":
				slackName = cmp.Or(local, "slack")
			case "github.com/slack-go/slack/slackevents":
				eventsName = cmp.Or(local, "slackevents")
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				sel, ok := x.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, isIdent := sel.X.(*ast.Ident)
				switch {
				case isIdent && slackName != "" && pkg.Name == slackName:
					if strings.HasPrefix(sel.Sel.Name, "PostWebhook") {
						calls[sel.Sel.Name] = true
					}
				case methods[sel.Sel.Name]:
					calls[sel.Sel.Name] = true
				}
			case *ast.SelectorExpr:
				if pkg, ok := x.X.(*ast.Ident); ok && eventsName != "" && pkg.Name == eventsName && strings.HasSuffix(x.Sel.Name, "Event") {
					events[x.Sel.Name] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return calls, events
}

// TestEnvironmentTable: the environment table of docs/configuration.md and
// `rotabot serve --help` list every variable of config.EnvVars, one line each,
// saying the same.
func TestEnvironmentTable(t *testing.T) {
	var want []string
	for _, v := range config.EnvVars() {
		want = append(want, "| `"+v.Name+"` | "+v.Summary+" | "+v.When()+" |")
	}
	const doc = "docs/configuration.md"
	lines := strings.Split(string(deployFile(t, doc)), "\n")
	start := slices.Index(lines, "| variable | what it is | default |")
	if start < 0 {
		t.Fatalf("%s has no environment table (| variable | what it is | default |)", doc)
	}
	var got []string
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		got = append(got, l)
	}
	if !slices.Equal(got, want) {
		t.Errorf("the environment table of %s differs from config.EnvVars; it should read:\n%s", doc, strings.Join(want, "\n"))
	}

	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }}
	if code := c.run(context.Background(), []string{"serve", "--help"}); code != 0 {
		t.Fatalf("serve --help exited %d", code)
	}
	help := out.String()
	for _, v := range config.EnvVars() {
		n := 0
		for _, l := range strings.Split(help, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == v.Name {
				n++
				if !strings.Contains(l, config.Plain(v.Summary)) || !strings.HasSuffix(l, "— "+config.Plain(v.When())) {
					t.Errorf("serve --help's line for %s does not say what the table says: %q", v.Name, l)
				}
			}
		}
		if n != 1 {
			t.Errorf("serve --help has %d lines for %s, want 1:\n%s", n, v.Name, help)
		}
	}
	if strings.Contains(help, "`") {
		t.Errorf("serve --help holds markdown:\n%s", help)
	}
}

// testRSAKeyPEM is a GitHub App private key as GitHub hands it out (PKCS#1 PEM).
func testRSAKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}
