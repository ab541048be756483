package testutil_test

import (
	"os/exec"
	"slices"
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

// TestNoProgramLinksTestutil checks the package's promise: nothing a
// program or a user links depends on it. Every main package and every
// package outside internal/ is checked through its non-test dependencies
// (`go list` reports those in .Deps; test imports are not in it). The
// internal test-scenario packages (brokertest) may use it: they are
// imported by tests only, which this check verifies through their users.
func TestNoProgramLinksTestutil(t *testing.T) {
	const module = "github.com/switchyard-go/eventbus"
	const self = module + "/internal/testutil"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{.Name}} {{join .Deps " "}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("unexpected go list line %q", line)
		}
		pkg, name, deps := f[0], f[1], f[2:]
		if name != "main" && strings.HasPrefix(pkg, module+"/internal/") {
			continue
		}
		checked++
		if slices.Contains(deps, self) {
			t.Errorf("%s (package %s) links %s: it is for tests only", pkg, name, self)
		}
	}
	if checked == 0 {
		t.Fatal("go list listed no package to check")
	}
}
