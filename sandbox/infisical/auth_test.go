package infisical

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Every secret route runs the same checks before it looks at a secret: a missing
// or unknown token is refused with the real API's words, and a missing folder is
// named after the route's operation. A refused request changes nothing.
func TestInfisicalEverySecretRouteChecksItsToken(t *testing.T) {
	inf := newTestInfisical(t)
	inf.Set("prod", "/", "GH_TOKEN", infTestToken)
	token := infLogin(t, inf)
	do := func(method, authorization, secretPath string) (int, map[string]any) {
		t.Helper()
		q := "workspaceId=" + infTestProject + "&environment=prod&secretPath=" + secretPath
		req, err := http.NewRequest(method, inf.URL+"/api/v3/secrets/raw/GH_TOKEN?"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	for _, rt := range []struct{ method, op string }{
		{http.MethodGet, "GetSecretByName"},
		{http.MethodPost, "CreateSecret"},
		{http.MethodPatch, "UpdateSecret"},
		{http.MethodDelete, "DeleteSecret"},
	} {
		if st, b := do(rt.method, "", "/"); st != 401 || b["message"] != "Token missing" || b["error"] != "UnauthorizedError" {
			t.Errorf("%s without a token: %d %v", rt.method, st, b)
		}
		if st, b := do(rt.method, "Bearer not-a-token", "/"); st != 403 || b["error"] != "TokenError" || b["message"] != tokenMalformed {
			t.Errorf("%s with an unknown token: %d %v", rt.method, st, b)
		}
		if st, b := do(rt.method, "Basic "+token, "/"); st != 401 || b["message"] != "Token missing" {
			t.Errorf("%s with another scheme: %d %v", rt.method, st, b)
		}
		if st, b := do(rt.method, "Bearer "+token, "/nowhere"); st != 404 || b["error"] != rt.op ||
			!strings.HasPrefix(b["message"].(string), "Folder with path '/nowhere'") {
			t.Errorf("%s in a missing folder: %d %v, want 404 named %s", rt.method, st, b, rt.op)
		}
	}
	if v, version, ok := inf.Value("prod", "/", "GH_TOKEN"); !ok || v != infTestToken || version != 1 {
		t.Errorf("after refused requests the secret is %v at version %d", ok, version)
	}
}
