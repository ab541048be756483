package eventbus

import (
	"os/exec"
	"strings"
	"testing"
)

// The architecture's first rule about imports: the contract, the toolkit,
// the engines (and their register packages), the exporters, the
// OpenTelemetry bridge and the core never import the root package (the
// root imports them), so nothing can import in a cycle and engines stay
// usable on their own.
func TestLeafPackagesDoNotImportTheRoot(t *testing.T) {
	const root = "github.com/switchyard-go/eventbus"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Deps \" \"}}",
		"./bus", "./enginekit", "./broker", "./internal/brokerkit", "./engines/...", "./exporters", "./eventbustest", "./otelbus", "./core").CombinedOutput()
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

// The second rule: package core links no broker engine, broker client
// library or exporter, so a program built on it (the quickstart-core
// example is the quickstart with its import changed) carries none of
// them. Broker engines join by importing their register package.
func TestCoreLinksNoBrokerEngineNorExporter(t *testing.T) {
	const root = "github.com/switchyard-go/eventbus"
	forbidden := []string{
		"github.com/IBM/sarama", "github.com/aws/aws-sdk-go-v2", "github.com/aws/smithy-go",
		"github.com/redis/go-redis", "github.com/DataDog/datadog-go", "github.com/prometheus/client_golang",
		root + "/engines/redis", root + "/engines/kafka", root + "/engines/kinesis", root + "/exporters",
	}
	for _, pkg := range []string{"./core", "./examples/quickstart-core"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == root {
				t.Errorf("%s links the root package", pkg)
			}
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		}
	}
}

// The third rule: the contract (bus) imports nothing of this module, and
// the engine toolkit (enginekit) only the contract, so a third-party
// engine that uses both pulls in nothing else of ours.
func TestContractAndEngineKitStayLeaves(t *testing.T) {
	const root = "github.com/switchyard-go/eventbus"
	allowed := map[string][]string{
		"./bus":       nil,
		"./enginekit": {root + "/bus"},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		self := root + strings.TrimPrefix(pkg, ".")
		for _, dep := range strings.Fields(string(out)) {
			if dep == self || !(dep == root || strings.HasPrefix(dep, root+"/")) {
				continue
			}
			allowedDep := false
			for _, a := range ok {
				allowedDep = allowedDep || dep == a
			}
			if !allowedDep {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}
