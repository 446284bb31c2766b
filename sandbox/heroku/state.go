package heroku

import (
	"maps"
	"slices"
)

// Read-only snapshots of what the stand-in holds, for the sandbox page and for
// tests: a person looking at a Heroku app's settings sees the same. Values are
// returned as they are kept; whoever shows them decides how (the page shows
// fingerprints only).

// Apps lists the Heroku apps by name.
func (h *Heroku) Apps() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.apps))
}

// ConfigVars returns a copy of an app's config vars (nil for an unknown app).
func (h *Heroku) ConfigVars(app string) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.lookup(app)
	if a == nil {
		return nil
	}
	return maps.Clone(a.vars)
}
