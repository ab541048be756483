// Package examples_test builds and runs every example program, so that
// none of them rots.
package examples_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runExample builds ./<name> and runs it with args, failing the test if
// it does not exit 0 within the timeout. It returns the combined output.
func runExample(t *testing.T, name string, timeout time.Duration, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	build := exec.Command("go", "build", "-o", bin, "./"+name)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("examples/%s: %v\n%s", name, err, out)
	}
	return string(out)
}

// runExampleFailing builds ./<name>, runs it with args and returns its
// combined output, failing the test unless it exits with a non-zero
// status within the timeout (examples that must refuse a bad setup).
func runExampleFailing(t *testing.T, name string, timeout time.Duration, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	build := exec.Command("go", "build", "-o", bin, "./"+name)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || ctx.Err() != nil {
		t.Fatalf("examples/%s: want a non-zero exit status, got %v\n%s", name, err, out)
	}
	return string(out)
}

func TestQuickstartRunsAndHandlesEveryEvent(t *testing.T) {
	out := runExample(t, "quickstart", time.Minute)
	if !strings.Contains(out, "handled=4 delivered=4 dropped=0") {
		t.Fatalf("unexpected quickstart output:\n%s", out)
	}
}
