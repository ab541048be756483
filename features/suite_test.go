package features

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cucumber/godog"
	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// leakOptions ignore the process-global goroutines of client libraries
// that never stop them: sarama's go-metrics ticker and the idle keep-alive
// connections of the AWS SDK's HTTP client.
var leakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
}

func TestMain(m *testing.M) {
	if os.Getenv(crashHelperEnv) != "" {
		os.Exit(runCrashHelper())
	}
	// The redis and kinesis feature files run these servers. Without them,
	// one line says what to install, rather than every step of every
	// scenario failing with it.
	if err := testinfra.CheckInstalled(testinfra.RedisServer, testinfra.KinesaliteServer); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, leakOptions...)
}

// TestFeatures runs every *.feature file of this directory, each as a
// subtest named after the file, in godog's strict mode.
func TestFeatures(t *testing.T) {
	files, err := filepath.Glob("*.feature")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no *.feature files found next to the step definitions")
	}
	sort.Strings(files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".feature"), func(t *testing.T) {
			runFeature(t, file)
		})
	}
}

// runFeature runs one feature file. The servers its scenarios need are
// started once per file (featureEnv) and stopped when the file is done.
func runFeature(t *testing.T, file string) {
	env := &featureEnv{t: t}
	var out syncBuffer
	status := godog.TestSuite{
		Name: file,
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			newWorld(env).register(sc)
		},
		Options: &godog.Options{
			Format:      "pretty",
			NoColors:    true,
			Paths:       []string{file},
			Strict:      true, // undefined and pending steps fail
			Concurrency: 1,    // scenarios share the process environment
			TestingT:    t,
			Output:      &out,
		},
	}.Run()
	if t.Failed() || testing.Verbose() {
		t.Log("\n" + out.String())
	}
	if status != 0 {
		t.Fatalf("godog exited with status %d for %s", status, file)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
