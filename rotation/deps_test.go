package rotation

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain must not reach outward: no SDK, no other package of this module.
func TestRotationImportsNoSDKAndNoOuterPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed nothing")
	}
	for _, dep := range deps {
		if dep != "github.com/raxx-app/rotabot/rotation" {
			t.Errorf("rotation depends on %s: it may use the standard library only", dep)
		}
	}
}
