package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionOptions are `rotabot version`'s: none.
type versionOptions struct{}

func newVersionCmd(c *cli, runF func(context.Context, *versionOptions) error) *command {
	cmd := newCommand("version", "", "print rotabot's version (also rotabot --version)",
		"Prints the module version and the VCS revision the binary was built from (Go's build\ninformation), and the Go version. `rotabot serve` logs the same at start.")
	opts := &versionOptions{}
	cmd.run = noArgs(cmd, func(ctx context.Context) error {
		if runF != nil {
			return runF(ctx, opts)
		}
		return c.runVersion(opts)
	})
	return cmd
}

func (c *cli) runVersion(*versionOptions) error {
	fmt.Fprintln(c.stdout, "rotabot "+c.version().String())
	return nil
}

// buildVersion is what a binary knows of its own build.
type buildVersion struct {
	Module   string // the module version: v1.2.3, a pseudo-version, or (devel)
	Revision string // the VCS revision, "" when not stamped
	Time     string // the revision's commit time
	Modified bool   // built from a work tree with changes
	Go       string
}

// version reads the binary's build information (go build stamps the module
// version, and the git revision when built in a checkout).
func (c *cli) version() buildVersion {
	read := c.buildInfo
	if read == nil {
		read = debug.ReadBuildInfo
	}
	v := buildVersion{Module: "(unknown)", Go: runtime.Version()}
	bi, ok := read()
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.Module = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is "v1.2.3 (revision 0123abcd…, 2026-11-28T10:00:00Z, modified; go1.26.8)".
func (v buildVersion) String() string {
	var parts []string
	switch {
	case v.Revision != "":
		r := "revision " + v.Revision
		if v.Time != "" {
			r += ", " + v.Time
		}
		if v.Modified {
			r += ", with uncommitted changes"
		}
		parts = append(parts, r)
	default:
		parts = append(parts, "no VCS revision: built outside a git checkout or with -buildvcs=false")
	}
	return v.Module + " (" + strings.Join(parts, "; ") + "; " + v.Go + ")"
}

// attrs are the version's fields for serve's start-up log line.
func (v buildVersion) attrs() []any {
	return []any{"version", v.Module, "revision", v.Revision, "modified", v.Modified, "go", v.Go}
}
