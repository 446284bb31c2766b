package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The top level shows the architecture: packages and deployment files, no Go file.
func TestNoGoFileAtTheTopLevel(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Errorf("%s is a Go file at the top level: the command lives in %s, the rest in its package", filepath.Base(f), commandDir)
	}
}

// goListDeps lists the module's own packages pkgs depend on (themselves included).
func goListDeps(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range pkgs {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./"+p+"/...")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s/...: %v", p, err)
		}
		out[p] = strings.Fields(string(b))
	}
	return out
}

// The product's packages never reach the stand-ins or the demo's seeded world:
// only this command's demo subcommand does.
func TestProductPackagesDoNotImportTheSandbox(t *testing.T) {
	const mod = "github.com/raxx-app/rotabot/"
	for pkg, deps := range goListDeps(t, "rotation", "bot", "handlers", "store", "config", "egress") {
		for _, d := range deps {
			if strings.HasPrefix(d, mod+"sandbox") {
				t.Errorf("%s depends on %s: only cmd/rotabot's demo may reach the sandbox", pkg, d)
			}
		}
	}
}

// A store links only its own technology: the PostgreSQL store reaches neither
// bbolt nor the bbolt store (what both share lives in rotation).
func TestPostgresStoreLinksNoBbolt(t *testing.T) {
	const bboltStore = "github.com/raxx-app/rotabot/store/bbolt"
	deps := goListDeps(t, "store/postgres")["store/postgres"]
	if !slices.Contains(deps, "github.com/raxx-app/rotabot/store/postgres") {
		t.Fatalf("go list -deps ./store/postgres/... does not list the package itself: %v", deps)
	}
	for _, d := range deps {
		if d == "go.etcd.io/bbolt" || strings.HasPrefix(d, "go.etcd.io/bbolt/") || d == bboltStore {
			t.Errorf("store/postgres depends on %s: a PostgreSQL build must not link bbolt", d)
		}
	}
}

// The stand-ins, one package each, and what they share. Only these (and the page
// itself) may be reached from the sandbox page.
// wallClock is the module's one source of the date, shared by the bot and the
// stand-ins: the standard library only.
const wallClock = "internal/wallclock"

var standInPackages = []string{"sandbox/slack", "sandbox/github", "sandbox/infisical", "sandbox/heroku"}

const standInPlumbing = "sandbox/internal/standin"

// The sandbox page knows the stand-ins and nothing of the product: it acts as
// Slack, GitHub and Heroku do, never through the bot or the engine.
func TestTheSandboxPageKnowsOnlyTheStandIns(t *testing.T) {
	const mod = "github.com/raxx-app/rotabot/"
	deps := goListDeps(t, "sandbox/web")["sandbox/web"]
	if !slices.Contains(deps, mod+"sandbox/web") {
		t.Fatalf("go list -deps ./sandbox/web/... does not list the package itself: %v", deps)
	}
	allowed := []string{mod + "sandbox", mod + "sandbox/web", mod + standInPlumbing, mod + wallClock}
	for _, p := range standInPackages {
		allowed = append(allowed, mod+p)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, mod) && !slices.Contains(allowed, d) {
			t.Errorf("sandbox/web depends on %s: the page may reach only the stand-ins", d)
		}
	}
}

// Each stand-in is the outside world: it reaches none of rotabot's packages and no
// other stand-in, only the plumbing they share (which reaches nothing of the
// module but the one wall clock, internal/wallclock, that knows nothing of
// rotabot).
func TestEachStandInKnowsOnlyItsPlumbing(t *testing.T) {
	const mod = "github.com/raxx-app/rotabot/"
	for pkg, deps := range goListDeps(t, append([]string{standInPlumbing}, standInPackages...)...) {
		if !slices.Contains(deps, mod+pkg) {
			t.Fatalf("go list -deps ./%s/... does not list the package itself: %v", pkg, deps)
		}
		for _, d := range deps {
			if strings.HasPrefix(d, mod) && d != mod+pkg && d != mod+standInPlumbing && d != mod+wallClock {
				t.Errorf("%s depends on %s: a stand-in may reach only %s", pkg, d, standInPlumbing)
			}
		}
	}
}
