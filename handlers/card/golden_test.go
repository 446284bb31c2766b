package card_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/slack-go/slack"
)

// The surfaces are checked against testdata/*.golden.json: what a person reads,
// line by line, then exactly what Slack is sent. A difference fails the test;
// when it is meant, -update writes the files again and the diff is reviewed.
var update = flag.Bool("update", false, "rewrite testdata/*.golden.json with what card draws now")

const updateHint = "if the change is meant, run `go test ./handlers/card -update` and review the diff of handlers/card/testdata"

// surface is what a golden file holds.
type surface struct {
	// Reads is what a person reads (card.BlocksText, each button's confirm
	// dialog, a form's title and buttons; a text answer as it is), line by line.
	Reads []string `json:"reads"`
	// Text is a message's fallback text, or a text answer.
	Text   string                  `json:"text,omitempty"`
	Blocks []slack.Block           `json:"blocks,omitempty"`
	View   *slack.ModalViewRequest `json:"view,omitempty"`
}

func message(text string, blocks []slack.Block) surface {
	return surface{Reads: readBlocks(blocks), Text: text, Blocks: blocks}
}

func blocksOnly(blocks []slack.Block) surface {
	return surface{Reads: readBlocks(blocks), Blocks: blocks}
}

func answer(text string) surface { return surface{Reads: strings.Split(text, "\n"), Text: text} }

func view(v slack.ModalViewRequest) surface {
	reads := []string{"== " + v.Title.Text + " =="}
	reads = append(reads, readBlocks(v.Blocks.BlockSet)...)
	var buttons []string
	for _, b := range []*slack.TextBlockObject{v.Submit, v.Close} {
		if b != nil {
			buttons = append(buttons, "["+b.Text+"]")
		}
	}
	return surface{Reads: append(reads, strings.Join(buttons, " ")), View: &v}
}

// readBlocks is card.BlocksText, line by line, and each button's confirm dialog.
func readBlocks(blocks []slack.Block) []string {
	lines := strings.Split(strings.TrimRight(card.BlocksText(blocks), "\n"), "\n")
	for _, b := range blocks {
		a, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		for _, el := range a.Elements.ElementSet {
			if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.Confirm != nil {
				c := btn.Confirm
				lines = append(lines, fmt.Sprintf("[%s] asks %q: %s [%s] [%s]", btn.Text.Text, c.Title.Text, c.Text.Text, c.Confirm.Text, c.Deny.Text))
			}
		}
	}
	return lines
}

// goldens records the files the tests compared, for TestMain's check of stray
// files.
var goldens sync.Map

// golden compares s with testdata/name.golden.json (or writes it, with -update).
func golden(t *testing.T, name string, s surface) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // <@U0ALICE> stays readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	path := filepath.Join("testdata", name+".golden.json")
	goldens.Store(path, true)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v — %s", path, err, updateHint)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from what card draws now:\n%s\n%s", path, firstDifference(buf.String(), string(want)), updateHint)
	}
}

// firstDifference shows the first line where got and want part.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		gl, wl := "(end of file)", "(end of file)"
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return "(they differ in their line endings)"
}

// TestMain fails a full run that left a golden file no test compared (a
// surface renamed or dropped); -update deletes such files.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	partial := slices.ContainsFunc([]string{"test.run", "test.skip", "test.list"}, func(name string) bool {
		f := flag.Lookup(name)
		return f != nil && f.Value.String() != ""
	})
	if code != 0 || partial {
		os.Exit(code)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	for _, f := range files {
		if _, ok := goldens.Load(f); ok {
			continue
		}
		if *update {
			os.Remove(f)
			continue
		}
		fmt.Fprintf(os.Stderr, "%s is compared by no test: delete it, or run `go test ./handlers/card -update`\n", f)
		code = 1
	}
	os.Exit(code)
}
