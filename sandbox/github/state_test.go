package github_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// What the sandbox page reads of GitHub: its tokens and Actions secrets, as a
// person would see them in GitHub's settings.
func TestGitHubStateSnapshot(t *testing.T) {
	g := newGitHubStandIn(t)
	g.Revoke(ghOther)
	tokens := g.Tokens()
	if len(tokens) != 4 || tokens[0].Value != ghFine || tokens[1].Value != ghClassic || tokens[2].Value != ghOther || tokens[3].Value != ghAdmin {
		t.Fatalf("tokens not in the order they were added: %+v", tokens)
	}
	if !tokens[2].Revoked || tokens[0].Revoked || !tokens[3].Admin || tokens[0].Admin || tokens[0].Kind != "fine-grained" || tokens[1].Kind != "classic" {
		t.Errorf("token states: %+v", tokens)
	}
	tokens[0].Repos[0] = "changed"
	if g.Tokens()[0].Repos[0] != "raxx-app/TradeMasterAPI" {
		t.Error("Tokens shares its slices with the stand-in")
	}
	if s := g.GHSecrets(); len(s) != 0 {
		t.Errorf("secrets before any write: %+v", s)
	}
}

// A workload probe the stand-in does not model answers as GitHub would: 200 to a
// token that sees the repository, 404 to one that does not.
func TestGitHubProbeUnderARepository(t *testing.T) {
	g := newGitHubStandIn(t)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/repos/raxx-app/TradeMasterAPI/contents/README.md", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		msg, _ := body["message"].(string)
		return resp.StatusCode, msg
	}
	if code, _ := get(ghFine); code != 200 {
		t.Errorf("a token that sees the repository: %d", code)
	}
	if code, msg := get(ghOther); code != 404 || msg != "Not Found" {
		t.Errorf("a token that does not: %d %q", code, msg)
	}
	if code, msg := get("ghp_unknown"); code != 401 || msg != "Bad credentials" {
		t.Errorf("an unknown token: %d %q", code, msg)
	}
}
