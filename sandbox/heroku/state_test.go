package heroku

import "testing"

// What the sandbox page reads of Heroku: its apps and their config vars, as a
// person would see them in an app's settings.
func TestHerokuStateSnapshot(t *testing.T) {
	h := New("key")
	t.Cleanup(h.Close)
	h.AddApp("zeta", map[string]string{"A": "1"})
	h.AddApp("alpha", nil)
	if got := h.Apps(); len(got) != 2 || got[0] != "alpha" || got[1] != "zeta" {
		t.Errorf("apps: %v", got)
	}
	vars := h.ConfigVars("zeta")
	vars["A"] = "changed"
	if v, _ := h.ConfigVar("zeta", "A"); v != "1" {
		t.Error("ConfigVars shares its map with the stand-in")
	}
	if h.ConfigVars("nope") != nil {
		t.Error("an unknown app has config vars")
	}
}
