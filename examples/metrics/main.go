// Command metrics is a modular application that publishes on two event
// bus engines and serves their Prometheus metrics on 127.0.0.1.
//
//	go run ./examples/metrics                         # serve http://127.0.0.1:9464/metrics until Ctrl-C
//	go run ./examples/metrics -duration 30s           # … for 30 seconds
//	go run ./examples/metrics -once                   # publish a fixed workload, print one scrape, exit
//	go run ./examples/metrics -statsd 127.0.0.1:8125  # also push to a DogStatsD agent every second
//
// Topics "orders.*" are routed to the engine "orders" (async handlers on
// a worker pool, one in 25 payments declined), everything else to the
// engine "audit". docs/observability.md shows a scrape of -once.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard-go/eventbus"
)

//go:embed config.yaml
var configYAML []byte

type options struct {
	addr     string
	once     bool
	duration time.Duration
	rate     int
	statsd   string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9464", "listen address of the /metrics endpoint (keep it on loopback)")
	flag.BoolVar(&o.once, "once", false, "publish a fixed workload, print one scrape of /metrics and exit")
	flag.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until SIGINT/SIGTERM)")
	flag.IntVar(&o.rate, "rate", 200, "events published per second while serving")
	flag.StringVar(&o.statsd, "statsd", "", "DogStatsD agent address (e.g. 127.0.0.1:8125); empty: Datadog export off")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
}

func run(o options) (err error) {
	app, bus, err := startApp()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, app.Stop()) }()

	if err := subscribe(bus); err != nil {
		return err
	}

	// The collector reads the module on every scrape; a private registry
	// keeps the output to the event bus's metrics.
	reg := prometheus.NewRegistry()
	if err := reg.Register(eventbus.NewPrometheusCollector(bus, "")); err != nil {
		return fmt.Errorf("register collector: %w", err)
	}
	url, stopServer, err := serve(o.addr, reg)
	if err != nil {
		return err
	}
	defer stopServer()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if o.duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}

	if o.statsd != "" {
		stop, err := pushToDatadog(ctx, bus, o.statsd)
		if err != nil {
			return err
		}
		defer stop()
	}

	if o.once {
		return once(ctx, bus, url)
	}
	fmt.Printf("serving %s (engines %v); Ctrl-C to stop\n", url, bus.GetRouter().GetEngineNames())
	publishUntil(ctx, bus, o.rate)
	fmt.Println("stopping")
	return nil
}

// startApp builds and starts the modular application with the event bus
// module configured by config.yaml.
func startApp() (modular.Application, *eventbus.EventBusModule, error) {
	dir, err := os.MkdirTemp("", "metrics-example")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, configYAML, 0o600); err != nil {
		return nil, nil, err
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{feeders.NewYamlFeeder(cfgPath)})
	app.RegisterModule(eventbus.NewModule())
	if err := app.Init(); err != nil {
		return nil, nil, fmt.Errorf("init: %w", err)
	}
	var bus *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &bus); err != nil {
		return nil, nil, err
	}
	if err := app.Start(); err != nil {
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	return app, bus, nil
}

// subscribe registers the example's handlers: payments take 0-2ms and one
// in 25 is declined (a failed delivery); audit records are instant.
func subscribe(bus *eventbus.EventBusModule) error {
	ctx := context.Background()
	var n sync.Mutex
	count := 0
	if _, err := bus.SubscribeAsync(ctx, "orders.*", func(_ context.Context, e eventbus.Event) error {
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		n.Lock()
		count++
		declined := count%25 == 0
		n.Unlock()
		if declined {
			return errors.New("payment declined")
		}
		return nil
	}); err != nil {
		return err
	}
	_, err := bus.Subscribe(ctx, "audit.*", func(context.Context, eventbus.Event) error { return nil })
	return err
}

// serve starts the /metrics endpoint; stop shuts it down and waits for
// its goroutine.
func serve(addr string, reg *prometheus.Registry) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "metrics server:", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/metrics", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// pushToDatadog runs a Datadog exporter until ctx ends or stop is called.
func pushToDatadog(ctx context.Context, bus *eventbus.EventBusModule, addr string) (stop func(), err error) {
	exp, err := eventbus.NewDatadogStatsdExporter(bus, "", addr, time.Second, []string{"service:metrics-example"})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); exp.Run(ctx) }()
	return func() {
		cancel()
		<-done
		_ = exp.Close()
	}, nil
}

// once publishes a fixed workload, waits until it is handled and prints
// one scrape of the endpoint.
func once(ctx context.Context, bus *eventbus.EventBusModule, url string) error {
	for i := 0; i < 200; i++ {
		topic := "orders.placed"
		if i%4 == 0 {
			topic = "orders.paid"
		}
		if err := bus.Publish(ctx, topic, map[string]int{"order": i}); err != nil {
			return err
		}
	}
	for i := 0; i < 50; i++ {
		if err := bus.Publish(ctx, "audit.login", i); err != nil {
			return err
		}
	}
	if err := bus.Flush(ctx); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("scrape: %s", resp.Status)
	}
	fmt.Printf("$ curl -s %s\n", url)
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}

// publishUntil publishes rate events per second (3 orders for 1 audit
// record) until ctx ends.
func publishUntil(ctx context.Context, bus *eventbus.EventBusModule, rate int) {
	if rate <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		topic := "orders.placed"
		if i%4 == 3 {
			topic = "audit.login"
		}
		if err := bus.Publish(ctx, topic, i); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "publish:", err)
		}
	}
}
