package main

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	rgithub "github.com/raxx-app/rotabot/rotation/github"
)

// githubAppManifest is GitHub's App manifest format ("Registering a GitHub App
// from a manifest"): a key outside it is a setting GitHub ignores.
type githubAppManifest struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Description    string `json:"description"`
	Public         *bool  `json:"public"`
	HookAttributes *struct {
		URL    string `json:"url"`
		Active *bool  `json:"active"`
	} `json:"hook_attributes"`
	RedirectURL           string            `json:"redirect_url"`
	CallbackURLs          []string          `json:"callback_urls"`
	SetupURL              string            `json:"setup_url"`
	DefaultEvents         []string          `json:"default_events"`
	DefaultPermissions    map[string]string `json:"default_permissions"`
	RequestOAuthOnInstall bool              `json:"request_oauth_on_install"`
	SetupOnUpdate         bool              `json:"setup_on_update"`
}

// TestGitHubAppManifest: github-app-manifest.json, beside the Slack one, asks for
// exactly the permissions rotabot's kinds of GitHub secret need (write on
// each, and the metadata every App reads), no webhook and no events, a private
// App; docs/setup.md names each permission with the kind that needs it.
func TestGitHubAppManifest(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(string(deployFile(t, "github-app-manifest.json"))))
	dec.DisallowUnknownFields()
	var m githubAppManifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("github-app-manifest.json: %v", err)
	}
	if m.Name == "" || m.URL != "https://"+modulePath(t) || len(m.Description) < 20 {
		t.Errorf("name %q, url %q (want the repository), description %q", m.Name, m.URL, m.Description)
	}
	if m.Public == nil || *m.Public {
		t.Error("the App must be private (public: false): only your organisation installs it")
	}
	if m.HookAttributes == nil || m.HookAttributes.Active == nil || *m.HookAttributes.Active || m.HookAttributes.URL == "" {
		t.Error("hook_attributes must be {url, active: false}: rotabot receives no webhook")
	}
	if m.DefaultEvents == nil || len(m.DefaultEvents) != 0 {
		t.Errorf("default_events %v, want []", m.DefaultEvents)
	}
	// actions: read lets the look for GitHub copies nobody listed read each
	// repository's environments (GET /repos/{o}/{r}/environments); the writes
	// need the rest.
	want := map[string]string{"metadata": "read", "actions": "read"}
	setup := string(deployFile(t, "docs/setup.md"))
	for _, k := range rotation.GitHubKinds {
		// A repository's or an organisation's (Dependabot secrets are either).
		for _, target := range []string{"o/r", "o"} {
			key, name := rgithub.AppPermission(k, target)
			want[key] = "write"
			if !strings.Contains(setup, "`"+key+"`") || !strings.Contains(setup, name) {
				t.Errorf("docs/setup.md does not name %s (%s), which %s needs", key, name, k.MatrixKey())
			}
		}
	}
	if !maps.Equal(m.DefaultPermissions, want) {
		t.Errorf("default_permissions %v, want exactly %v", m.DefaultPermissions, want)
	}
}
