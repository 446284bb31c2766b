package card_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// card draws and does nothing else: it imports the standard library's pure
// packages, rotation, the value types of the services beside it (a drift report,
// a reminder, a where report) and slack-go (for its Block Kit types) only, and
// names nothing of Slack I/O (a client, a message option, a webhook), of the
// store, the engine or a service's loop, nor the clock.
func TestCardKnowsNoSlackIONoStoreNoClock(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"fmt": true, "sort": true, "strconv": true, "strings": true, "time": true, "unicode/utf16": true,
		"github.com/raxx-app/rotabot/rotation": true, "github.com/slack-go/slack": true,
		"github.com/raxx-app/rotabot/rotation/drift": true, "github.com/raxx-app/rotabot/rotation/expiry": true,
		"github.com/raxx-app/rotabot/rotation/discover": true,
		"github.com/raxx-app/rotabot/internal/words":    true}
	forbidden := map[string][]string{
		"slack":    {"Client", "New", "MsgOption", "Post", "Option", "WebhookMessage", "RTM", "SlashCommand", "InteractionCallback"},
		"rotation": {"Store", "Engine", "DriftLoop", "WallNow", "Sleep"},
		"drift":    {"Loop", "New", "Config", "Store"},
		"expiry":   {"Loop", "New", "Config", "Store"},
		"discover": {"Scanner", "New", "Config"},
		"time":     {"Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker"},
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); !allowed[p] {
				t.Errorf("%s imports %s: card draws from domain values only", f, p)
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			for _, name := range forbidden[pkg.Name] {
				if sel.Sel.Name == name || strings.HasPrefix(sel.Sel.Name, name) && name != "New" {
					t.Errorf("%s: %s.%s — card must not reach Slack, the store, the engine or the clock", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
}
