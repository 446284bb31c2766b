package infisical

import "testing"

// What the sandbox page reads of Infisical: its secrets by environment, folder
// and key, as a person would see them in Infisical's dashboard.
func TestInfisicalStateSnapshot(t *testing.T) {
	i := New("id", "secret", "proj")
	t.Cleanup(i.Close)
	i.Set("prod", "/b/", "Y", "1")
	i.Set("prod", "/a/", "X", "1")
	i.Set("prod", "/a/", "X", "2")
	if got := i.Secrets(); len(got) != 2 || got[0] != (SecretRef{Env: "prod", Path: "/a", Key: "X"}) || got[1].Path != "/b" {
		t.Errorf("Infisical secrets: %+v", got)
	}
}
