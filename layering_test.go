package eventbus

import (
	"os/exec"
	"strings"
	"testing"
)

// The architecture's one rule about imports: the contract, the toolkit,
// the engines, the exporters and the OpenTelemetry bridge never import
// the root package (the root imports them), so nothing can import in a
// cycle and engines stay usable on their own.
func TestLeafPackagesDoNotImportTheRoot(t *testing.T) {
	const root = "github.com/switchyard-go/eventbus"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Deps \" \"}}",
		"./bus", "./broker", "./engines/...", "./exporters", "./eventbustest", "./otelbus").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ": ")
		if !strings.HasPrefix(pkg, root+"/") {
			continue
		}
		for _, d := range strings.Fields(deps) {
			if d == root {
				t.Errorf("%s imports the root package", pkg)
			}
		}
	}
}
