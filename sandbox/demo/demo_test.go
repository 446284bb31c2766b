package demo

import (
	"bytes"
	"os"
	"testing"
)

// The demo seeds its world for the repository's example routing matrix; go:embed
// cannot reach outside this folder, so the copy here must stay equal to it.
func TestExampleMatrixIsTheRepositorysOwn(t *testing.T) {
	top, err := os.ReadFile("../../rotabot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(top, ExampleMatrix) {
		t.Fatal("sandbox/demo/rotabot.example.yaml differs from the top-level rotabot.example.yaml: copy it (cp rotabot.example.yaml sandbox/demo/)")
	}
}
