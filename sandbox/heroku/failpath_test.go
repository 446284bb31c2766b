package heroku

import (
	"context"
	"net/http"
	"testing"

	"github.com/raxx-app/rotabot/sandbox/internal/standin"
)

// FailPath makes one app (or any path prefix) misbehave, and only it.
func TestFailPath(t *testing.T) {
	h := New(herokuTestKey)
	t.Cleanup(h.Close)
	h.AddApp("raxx-console-prod", map[string]string{"K": "v"})
	h.AddApp("raxx-console-prod-eu", map[string]string{"K": "v"})
	svc, _ := herokuClient(t, h.URL, herokuTestKey)
	ctx := context.Background()
	h.FailPath("/apps/raxx-console-prod", &standin.Fault{Status: http.StatusServiceUnavailable})
	if _, err := svc.ConfigVarInfoForApp(ctx, "raxx-console-prod"); err == nil || herokuErr(t, err).StatusCode != 503 {
		t.Errorf("the failing app answered: %v", err)
	}
	if _, err := svc.AppInfo(ctx, "raxx-console-prod"); err == nil {
		t.Error("the app itself (the prefix exactly) did not fail")
	}
	if _, err := svc.ConfigVarInfoForApp(ctx, "raxx-console-prod-eu"); err != nil {
		t.Errorf("an app whose name only starts the same failed too: %v", err)
	}
	// A route's own fault comes first.
	h.Fail("GET /apps/{app}/config-vars", &standin.Fault{Status: http.StatusTooManyRequests})
	if _, err := svc.ConfigVarInfoForApp(ctx, "raxx-console-prod"); err == nil || herokuErr(t, err).StatusCode != 429 {
		t.Errorf("the route's fault did not win: %v", err)
	}
	h.Fail("GET /apps/{app}/config-vars", nil)
	h.FailPath("/apps/raxx-console-prod", nil)
	if _, err := svc.ConfigVarInfoForApp(ctx, "raxx-console-prod"); err != nil {
		t.Errorf("after clearing: %v", err)
	}
}
