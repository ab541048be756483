package testutil_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestPoll(t *testing.T) {
	t.Run("returns nil once the condition holds", func(t *testing.T) {
		n := 0
		if err := testutil.Poll(time.Second, "three calls", func() bool { n++; return n >= 3 }); err != nil {
			t.Fatalf("Poll = %v, want nil", err)
		}
		if n != 3 {
			t.Errorf("cond called %d times, want 3", n)
		}
	})
	t.Run("names what it waited for when the condition never holds", func(t *testing.T) {
		err := testutil.Poll(10*time.Millisecond, "the impossible", func() bool { return false })
		if err == nil || !strings.Contains(err.Error(), "the impossible") {
			t.Fatalf("Poll = %v, want a timeout naming the impossible", err)
		}
	})
}

// TestOnlyTestsImportTestutil checks the package's promise: only _test.go
// files import it. `go list` reports a package's non-test imports in
// .Imports; test imports are in .TestImports and .XTestImports.
func TestOnlyTestsImportTestutil(t *testing.T) {
	const self = "github.com/switchyard-go/eventbus/internal/testutil"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "github.com/switchyard-go/eventbus/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			if imp == self {
				t.Errorf("non-test code of %s imports %s", pkg, self)
			}
		}
	}
}
