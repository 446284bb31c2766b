package infisical

import (
	"sort"
	"strings"
)

// Read-only snapshots of what the stand-in holds, for the sandbox page and for
// tests: a person looking at Infisical's secret list sees the same. Values are
// returned as they are kept; whoever shows them decides how (the page shows
// fingerprints only).

// SecretRef names one secret of the Infisical stand-in.
type SecretRef struct {
	Env, Path, Key string
}

// Secrets lists every secret that has a version, by environment, folder and key.
// Versions reads a secret's history.
func (i *Infisical) Secrets() []SecretRef {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []SecretRef
	for ref, vs := range i.secrets {
		if len(vs) > 0 {
			out = append(out, SecretRef{Env: ref.env, Path: ref.path, Key: ref.key})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		return strings.Join([]string{x.Env, x.Path, x.Key}, "\x00") < strings.Join([]string{y.Env, y.Path, y.Key}, "\x00")
	})
	return out
}
