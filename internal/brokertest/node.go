package brokertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

const nodeInstallHint = "run ./scripts/test-deps.sh (it runs `npm ci --prefix test/interop`; needs node and npm)"

// RunNodeClient runs the JavaScript client test/interop/<script> with
// node, args as its arguments, bounded by ctx, and returns the CloudEvents
// it printed, one JSON document per line, read with the CloudEvents Go
// SDK. needs names the npm package whose absence from
// test/interop/node_modules means the install step did not run; a missing
// node or package fails the test with the command that installs them.
func RunNodeClient(t *testing.T, ctx context.Context, needs, script string, args ...string) []event.Event {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: %s", nodeInstallHint)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the module directory")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "test", "interop")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", needs)); err != nil {
		t.Fatalf("test/interop has no node_modules: %s", nodeInstallHint)
	}
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, script)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	var read []event.Event
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ce event.Event
		if err := json.Unmarshal(sc.Bytes(), &ce); err != nil {
			t.Fatalf("node %s printed %s: %v", script, sc.Bytes(), err)
		}
		read = append(read, ce)
	}
	return read
}
