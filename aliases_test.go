package eventbus

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// topLevelNames returns the exported top-level names (types, functions,
// variables, constants) declared in the non-test files of dir.
func topLevelNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, fn, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names[s.Name.Name] = true
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names[n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	return names
}

// TestTheRootReExportsEveryNameOfCore: the root is core's face, so a
// name added to core is usable through the root as well.
func TestTheRootReExportsEveryNameOfCore(t *testing.T) {
	root := topLevelNames(t, ".")
	for name := range topLevelNames(t, "core") {
		if !root[name] {
			t.Errorf("core.%s has no root name (add it to aliases.go)", name)
		}
	}
}

// TestTheRootRegistersEveryBuiltInEngine: a program importing the root
// can configure every engine type, the broker engines included.
func TestTheRootRegistersEveryBuiltInEngine(t *testing.T) {
	got := GetRegisteredEngines()
	for _, want := range []string{"custom", "kafka", "kinesis", "memory", "redis", "sharded"} {
		if !slices.Contains(got, want) {
			t.Errorf("GetRegisteredEngines() = %v, want it to contain %q", got, want)
		}
	}
}
