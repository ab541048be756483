// Package examples_test builds and runs every example program, so that
// none of them rots.
package examples_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	builds.cleanup()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// binaries holds the example binaries, each built once per test run.
type binaries struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

var builds = &binaries{bins: map[string]string{}}

// cleanup removes the binaries.
func (b *binaries) cleanup() {
	b.Lock()
	defer b.Unlock()
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// build returns the binary of ./<name>, building it on first use.
func build(t *testing.T, name string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	if bin, ok := builds.bins[name]; ok {
		return bin
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "examples-bin-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir = dir
	}
	bin := filepath.Join(builds.dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, "./"+name).CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	builds.bins[name] = bin
	return bin
}

// runExample builds ./<name> and runs it with args, failing the test if
// it does not exit 0 within the timeout. It returns the combined output.
func runExample(t *testing.T, name string, timeout time.Duration, args ...string) string {
	t.Helper()
	bin := build(t, name)
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
	bin := build(t, name)
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

// TestQuickstartOnCoreBehavesLikeTheQuickstart: the quickstart built on
// package core (one import changed) prints exactly what the quickstart
// prints.
func TestQuickstartOnCoreBehavesLikeTheQuickstart(t *testing.T) {
	want := runExample(t, "quickstart", time.Minute)
	if got := runExample(t, "quickstart-core", time.Minute); got != want {
		t.Fatalf("quickstart-core printed:\n%s\nthe quickstart printed:\n%s", got, want)
	}
}
