package rotation

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain must not reach outward: no SDK, no other package of this module
// but the standard-library-only helpers under internal/ (the wall clock, the
// engine's own small mechanics). go list -deps is transitive, so an SDK one of
// them pulled in would be listed here too, and refused.
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
		if dep != "github.com/raxx-app/rotabot/rotation" && !internalHelper(dep) {
			t.Errorf("rotation depends on %s: it may use the standard library only", dep)
		}
	}
}

// internalHelper reports whether dep is one of the module's internal helper
// packages the domain may use.
func internalHelper(dep string) bool {
	return strings.HasPrefix(dep, "github.com/raxx-app/rotabot/internal/") ||
		strings.HasPrefix(dep, "github.com/raxx-app/rotabot/rotation/internal/")
}
