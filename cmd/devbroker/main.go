// Command devbroker runs a throwaway message broker on 127.0.0.1, so the
// broker engines can be tried without installing one:
//
//	go run ./cmd/devbroker kafka                   # a free port; prints the address
//	go run ./cmd/devbroker kafka -port 9092 -partitions 3
//
// kafka is kfake (github.com/twmb/franz-go/pkg/kfake): an in-process
// implementation of the Kafka wire protocol, the broker this module's
// Kafka tests run against. It keeps records in memory (they are lost when
// it stops), has one broker, creates topics a client asks for, and runs
// until Ctrl-C (SIGINT) or SIGTERM. It is for development and tests, not
// for production.
//
// For Redis, start a throwaway redis-server (docs/getting-started.md);
// for Kinesis, kinesalite (docs/kinesis.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/switchyard-go/eventbus/internal/devkafka"
)

const usage = `usage: go run ./cmd/devbroker kafka [-port N] [-partitions N]

Runs a throwaway broker on 127.0.0.1 until Ctrl-C.
`

// errUsage is returned for a missing or unknown broker kind.
var errUsage = errors.New("want one broker kind: kafka")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "devbroker:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
		}
		os.Exit(2)
	}
}

// run starts the broker args name, prints how to reach it on out and
// serves until ctx is done.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errUsage
	}
	switch args[0] {
	case "kafka":
		return runKafka(ctx, args[1:], out, errOut)
	default:
		return fmt.Errorf("%q: %w", args[0], errUsage)
	}
}

func runKafka(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("devbroker kafka", flag.ContinueOnError)
	fs.SetOutput(errOut)
	port := fs.Int("port", 0, "127.0.0.1 port to listen on (0: a free port)")
	partitions := fs.Int("partitions", 3, "partitions of topics created without a count")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c, err := devkafka.Start(devkafka.Options{Port: *port, Partitions: *partitions, AutoCreateTopics: true})
	if err != nil {
		return err
	}
	defer c.Close()
	addr := strings.Join(c.ListenAddrs(), ",")
	fmt.Fprintf(out, "kafka (kfake, in memory) listening on %s\n", addr)
	fmt.Fprintf(out, "  try:  go run ./examples/kafka -brokers %s\n", addr)
	fmt.Fprintf(out, "  or:   EVENTBUS_EXTERNAL_BROKER_URL=kafka://%s with engine: kafka\n", addr)
	fmt.Fprintln(out, "Ctrl-C stops it; its records are lost then.")
	<-ctx.Done()
	fmt.Fprintln(out, "devbroker: stopped")
	return nil
}
