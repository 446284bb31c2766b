package card_test

import (
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
)

// A verify URL's user part — which rotabot check refuses — is never shown in
// the plan a dry run prints (in Slack and in the CLI alike), whether the URL
// parses or not (nor in a failed check's message: rotation/httpcheck's
// TestVerifyURLsAreShownWithoutAUserPart).
func TestPlanShowsVerifyURLsWithoutAUserPart(t *testing.T) {
	plan := rotation.Plan{Secret: "GITHUB_API_READONLY_TOKEN", Kind: rotation.FineGrained, Verify: []rotation.VerifyCheck{
		{Name: "console", URL: "https://ops:S3cret@console.raxx.app/api/status/builds?deep=1", ExpectStatus: 200},
		{Name: "user only", URL: "HTTPS://ghp_0123456789abcdefABCDEF0123456789abcd@console.raxx.app:8443/x", ExpectStatus: 200},
		{Name: "unparsable", URL: "https://ops:S3 cret@console.raxx.app/", ExpectStatus: 200},
	}}
	lines := strings.Join(card.PlanLines(plan, nil), "\n")
	for _, want := range []string{
		"  verify: console (GET https://console.raxx.app/api/status/builds?deep=1, expect 200)",
		"  verify: user only (GET https://console.raxx.app:8443/x, expect 200)",
		"  verify: unparsable (GET https://console.raxx.app/, expect 200)",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("the plan lacks %q:\n%s", want, lines)
		}
	}
	for _, secret := range []string{"S3cret", "S3 cret", "ops:", "ghp_0123"} {
		if strings.Contains(lines, secret) {
			t.Errorf("the plan shows %q:\n%s", secret, lines)
		}
	}
}
