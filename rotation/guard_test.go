package rotation_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// One guarded write path: no code of the engine but guard.go calls a
// consumer's Set (a method Set of four arguments: ctx, target, name, value).
func TestOnlyTheGuardSetsAValue(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Set" && len(call.Args) == 4 {
				if path != "guard.go" {
					t.Errorf("%s sets a value on a consumer outside the guarded write path", fset.Position(call.Pos()))
				}
				found++
			}
			return true
		})
	}
	if found != 1 {
		t.Errorf("%d calls of a consumer's Set, want the guard's one", found)
	}
}

// A run's propagate writes nothing when one of its destinations left the
// routing matrix: the step fails naming it.
func TestPropagateRefusesADestinationGoneFromTheMatrix(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	w.matrix.Secrets[secretName].Consumers.HerokuApps = []string{"raxx-console-prod"}
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StatePropagateFailed)
	if want := "Heroku raxx-console-staging is no longer in the routing matrix of " + secretName + ": nothing was written."; !strings.Contains(r.Notice, want) {
		t.Fatalf("notice = %q, want %q", r.Notice, want)
	}
	for _, target := range []string{"raxx-console-prod", "raxx-console-staging"} {
		if w.heroku.count(target) != 0 {
			t.Errorf("%s was written", target)
		}
	}
	if w.ghsec.count("raxx-app/TradeMasterAPI") != 0 || len(w.notes.asked) != 0 {
		t.Error("a destination was written, or an operator asked")
	}
	for _, d := range r.Destinations {
		if d.State != rotation.DestPending {
			t.Errorf("%s is %s", d.Label(), d.State)
		}
	}
	w.assertNoTokenInFile()
}

// completeRun carries a whole rotation to oldToken's revoke.
func (w *world) completeRun(ctx context.Context) *rotation.Run {
	t := w.t
	t.Helper()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	ok(t)(w.eng.Advance(ctx, r.ID))
	ok(t)(w.eng.Revoke(ctx, r.ID, "U0ALICE", true))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateCompleted)
	return r
}

// A token a finished run revoked is refused everywhere a value enters: the
// CLI's run (the bridge script, when someone restored it in Infisical), and a
// new run's Submit — with the run and the date it was revoked, not GitHub's 401.
func TestARetiredTokenIsNeverWrittenAgain(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r1 := w.completeRun(ctx)
	said := "a token rotabot revoked on " + words.DateText(t0) + " in run " + r1.ID
	cur, _ := w.matrix.Refs(secretName)
	w.vault.Set(cur, oldToken) // restored from Infisical's history

	_, err := w.eng.StartCLI(ctx, rotation.CLIRequest{Secret: secretName, Actor: "cli:carol"})
	if !errors.Is(err, rotation.ErrRetiredToken) || !strings.HasPrefix(rotation.ErrorMessage(err), "Infisical holds "+said+": put a brand-new token in Infisical first") {
		t.Fatalf("the CLI: %v", err)
	}
	if runs, _ := w.st.ListRuns(ctx, rotation.RunFilter{Secret: secretName, OpenOnly: true}); len(runs) != 0 {
		t.Fatal("the CLI made a run")
	}
	for _, target := range []string{"raxx-console-prod", "raxx-console-staging"} {
		if w.heroku.value(target) != newToken || w.heroku.count(target) != 1 {
			t.Errorf("%s was written again", target)
		}
	}
	if w.ghsec.count("raxx-app/TradeMasterAPI") != 1 {
		t.Error("the Actions secret was written again")
	}

	w.vault.Set(cur, newToken)
	r2 := ok(t)(w.eng.Start(ctx, rotation.StartRequest{Secret: secretName, Requester: "U0ALICE"}))
	ok(t)(w.eng.Advance(ctx, r2.ID))
	_, err = w.eng.Submit(ctx, r2.ID, "U0ALICE", rotation.NewSecret(oldToken))
	if !errors.Is(err, rotation.ErrRetiredToken) || rotation.ErrorMessage(err) != "That is "+said+": generate a new one on GitHub" {
		t.Fatalf("Submit: %v", err)
	}
	for _, msg := range []string{rotation.ErrorMessage(err), err.Error()} {
		if strings.Contains(msg, strings.TrimPrefix(oldToken, "github_pat_")[:8]) {
			t.Fatal("the refusal holds the token")
		}
	}
	w.assertNoTokenInFile()
}
