package redis_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestRedisRepliesAreMatchedInOneHelper keeps the rule of errors.go: a
// Redis error reply (BUSYGROUP, NOGROUP, "ERR no such key"…) is matched by
// its text in one place, errors.go, and everywhere else through its
// helpers. It reads the engine's source and fails on any strings.* call
// given an err.Error() outside errors.go.
func TestRedisRepliesAreMatchedInOneHelper(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "errors.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "strings" {
				return true
			}
			for _, arg := range call.Args {
				if isErrorCall(arg) {
					t.Errorf("%s: strings.%s on an error's text: match the reply with a helper in errors.go", fset.Position(call.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// isErrorCall reports an expression of the form x.Error().
func isErrorCall(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Error"
}
