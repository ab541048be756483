package eventbus_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/GoCodeAlone/modular"

	"github.com/switchyard-go/eventbus"
)

// Example_quickstart is the README's Quickstart, compiled and run: the
// code between the markers is the README's code block, character for
// character (TestReadmeQuickstartIsTheTestedExample checks it).
func Example_quickstart() {
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(io.Discard, nil)))

	// README Quickstart begins
	app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	app.RegisterModule(eventbus.NewModule())
	if err := app.Init(); err != nil {
		log.Fatal(err)
	}
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}

	var bus *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &bus); err != nil { // "eventbus.provider"
		log.Fatal(err)
	}

	ctx := context.Background()
	sub, err := bus.Subscribe(ctx, "user.*", func(ctx context.Context, e eventbus.Event) error {
		fmt.Println(e.Topic, e.Payload)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := bus.Publish(ctx, "user.created", map[string]string{"name": "ada"}); err != nil {
		log.Fatal(err)
	}
	// Publish only queues the event. Flush waits until it is handled:
	// a subscription cancelled earlier would not receive it (the event
	// would be counted as dropped).
	if err := bus.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	if err := sub.Cancel(); err != nil {
		log.Fatal(err)
	}
	if err := app.Stop(); err != nil { // delivers everything accepted, then stops
		log.Fatal(err)
	}
	delivered, dropped := bus.Stats()
	fmt.Println("delivered", delivered, "dropped", dropped)
	// README Quickstart ends

	// Output:
	// user.created map[name:ada]
	// delivered 1 dropped 0
}

// TestReadmeQuickstartIsTheTestedExample keeps the README's Quickstart
// code block identical to the code Example_quickstart compiles and runs.
func TestReadmeQuickstartIsTheTestedExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quickstart\n")
	if !ok {
		t.Fatal("README.md has no Quickstart section")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the README's Quickstart section has no go code block")
	}
	src, err := os.ReadFile("example_quickstart_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, region, ok := strings.Cut(string(src), "// README Quickstart begins\n")
	region, _, ok2 = strings.Cut(region, "\t// README Quickstart ends")
	if !ok || !ok2 {
		t.Fatal("Example_quickstart lost its README markers")
	}
	var example strings.Builder
	for _, line := range strings.SplitAfter(region, "\n") {
		example.WriteString(strings.TrimPrefix(line, "\t"))
	}
	if got, want := block, example.String(); got != want {
		t.Errorf("README Quickstart differs from Example_quickstart; README:\n%s\nexample:\n%s", got, want)
	}
}
