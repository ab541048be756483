package exporters_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/exporters"
)

// fixedSource reports fixed figures, so that the exposition can be
// compared line by line. The real module is used by the other tests.
type fixedSource struct {
	per    map[string]bus.DeliveryStats
	det    map[string]bus.EngineStats
	topics map[string]map[string]bus.TopicStats
}

func (s fixedSource) PerEngineStats() map[string]bus.DeliveryStats { return s.per }
func (s fixedSource) EngineStats() map[string]bus.EngineStats      { return s.det }
func (s fixedSource) EngineTopicStats() map[string]map[string]bus.TopicStats {
	return s.topics
}

func fixedFigures() fixedSource {
	var h bus.LatencyHistogram
	h.Observe(2 * time.Microsecond)
	h.Observe(2 * time.Microsecond)
	h.Observe(40 * time.Millisecond)
	return fixedSource{
		per: map[string]bus.DeliveryStats{"fast": {Delivered: 9, Dropped: 1}, "legacy": {Delivered: 5}},
		det: map[string]bus.EngineStats{"fast": {
			Published: 10, Delivered: 9, Dropped: 1, Failed: 2, Filtered: 3, Panics: 1, Retried: 4, DeadLettered: 1,
			InFlight: 1, QueueDepth: 3, Lag: 7, HandlerLatency: h.Snapshot(),
		}},
		topics: map[string]map[string]bus.TopicStats{"fast": {
			"orders.a": {Published: 5, Delivered: 5},
			"orders.b": {Published: 3, Delivered: 2, Failed: 1, Dropped: 1, Retried: 3, DeadLettered: 1},
			"orders.c": {Published: 2, Delivered: 2, Failed: 1, Retried: 1},
		}},
	}
}

const fixedExposition = `
# HELP shop_dead_lettered_total Events moved to a dead-letter topic.
# TYPE shop_dead_lettered_total counter
shop_dead_lettered_total{engine="fast"} 1
# HELP shop_delivered_total Total delivered events (cumulative)
# TYPE shop_delivered_total counter
shop_delivered_total{engine="_all"} 14
shop_delivered_total{engine="fast"} 9
shop_delivered_total{engine="legacy"} 5
# HELP shop_dropped_total Total dropped events (cumulative)
# TYPE shop_dropped_total counter
shop_dropped_total{engine="_all"} 1
shop_dropped_total{engine="fast"} 1
shop_dropped_total{engine="legacy"} 0
# HELP shop_failed_total Handler calls that returned an error or panicked.
# TYPE shop_failed_total counter
shop_failed_total{engine="fast"} 2
# HELP shop_filtered_total Events a subscription's filter rejected (neither delivered nor failed).
# TYPE shop_filtered_total counter
shop_filtered_total{engine="fast"} 3
# HELP shop_handler_duration_seconds Duration of event handler calls, per engine.
# TYPE shop_handler_duration_seconds histogram
shop_handler_duration_seconds_bucket{engine="fast",le="1e-06"} 0
shop_handler_duration_seconds_bucket{engine="fast",le="2.5e-06"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="5e-06"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="1e-05"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="2.5e-05"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="5e-05"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.0001"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.00025"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.0005"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.001"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.0025"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.005"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.01"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.025"} 2
shop_handler_duration_seconds_bucket{engine="fast",le="0.05"} 3
shop_handler_duration_seconds_bucket{engine="fast",le="0.1"} 3
shop_handler_duration_seconds_bucket{engine="fast",le="0.25"} 3
shop_handler_duration_seconds_bucket{engine="fast",le="0.5"} 3
shop_handler_duration_seconds_bucket{engine="fast",le="1"} 3
shop_handler_duration_seconds_bucket{engine="fast",le="2.5"} 3
shop_handler_duration_seconds_bucket{engine="fast",le="5"} 3
shop_handler_duration_seconds_bucket{engine="fast",le="10"} 3
shop_handler_duration_seconds_bucket{engine="fast",le="+Inf"} 3
shop_handler_duration_seconds_sum{engine="fast"} 0.040004
shop_handler_duration_seconds_count{engine="fast"} 3
# HELP shop_in_flight Handler calls running now.
# TYPE shop_in_flight gauge
shop_in_flight{engine="fast"} 1
# HELP shop_lag How far consumers are behind producers where the engine knows it (Kafka: records, Kinesis: milliseconds).
# TYPE shop_lag gauge
shop_lag{engine="fast"} 7
# HELP shop_lossy_shutdown 1 if a Stop deadline expired with events still queued (they are counted as dropped).
# TYPE shop_lossy_shutdown gauge
shop_lossy_shutdown{engine="fast"} 0
# HELP shop_panics_total Handler calls that panicked (a subset of failed).
# TYPE shop_panics_total counter
shop_panics_total{engine="fast"} 1
# HELP shop_published_total Events accepted by Publish.
# TYPE shop_published_total counter
shop_published_total{engine="fast"} 10
# HELP shop_queue_depth Accepted events waiting for a handler.
# TYPE shop_queue_depth gauge
shop_queue_depth{engine="fast"} 3
# HELP shop_retried_total Redeliveries after a failed handler call.
# TYPE shop_retried_total counter
shop_retried_total{engine="fast"} 4
# HELP shop_topic_dead_lettered_total Events moved to a dead-letter topic, per topic (bounded: overflow topics are labelled other).
# TYPE shop_topic_dead_lettered_total counter
shop_topic_dead_lettered_total{engine="fast",topic="orders.a"} 0
shop_topic_dead_lettered_total{engine="fast",topic="orders.b"} 1
shop_topic_dead_lettered_total{engine="fast",topic="other"} 0
# HELP shop_topic_delivered_total Handler calls that returned, per topic (bounded: overflow topics are labelled other).
# TYPE shop_topic_delivered_total counter
shop_topic_delivered_total{engine="fast",topic="orders.a"} 5
shop_topic_delivered_total{engine="fast",topic="orders.b"} 2
shop_topic_delivered_total{engine="fast",topic="other"} 2
# HELP shop_topic_dropped_total Deliveries dropped, per topic (bounded: overflow topics are labelled other).
# TYPE shop_topic_dropped_total counter
shop_topic_dropped_total{engine="fast",topic="orders.a"} 0
shop_topic_dropped_total{engine="fast",topic="orders.b"} 1
shop_topic_dropped_total{engine="fast",topic="other"} 0
# HELP shop_topic_failed_total Handler calls that failed, per topic (bounded: overflow topics are labelled other).
# TYPE shop_topic_failed_total counter
shop_topic_failed_total{engine="fast",topic="orders.a"} 0
shop_topic_failed_total{engine="fast",topic="orders.b"} 1
shop_topic_failed_total{engine="fast",topic="other"} 1
# HELP shop_topic_published_total Events accepted by Publish, per topic (bounded: overflow topics are labelled other).
# TYPE shop_topic_published_total counter
shop_topic_published_total{engine="fast",topic="orders.a"} 5
shop_topic_published_total{engine="fast",topic="orders.b"} 3
shop_topic_published_total{engine="fast",topic="other"} 2
# HELP shop_topic_retried_total Handler calls repeated after a failure, per topic (bounded: overflow topics are labelled other).
# TYPE shop_topic_retried_total counter
shop_topic_retried_total{engine="fast",topic="orders.a"} 0
shop_topic_retried_total{engine="fast",topic="orders.b"} 3
shop_topic_retried_total{engine="fast",topic="other"} 1
`

func TestCollectorExpositionIsExactAndLintClean(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(exporters.NewPrometheusCollector(fixedFigures(), "shop", exporters.WithTopicLimit(2))); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(fixedExposition)); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestCollectorOnARealModuleWithTwoEngines(t *testing.T) {
	eb := newBus(t)
	ctx := testCtx(t)
	for _, topic := range []string{"orders.*", "audit"} {
		if _, err := eb.Subscribe(ctx, topic, func(_ context.Context, e eventbus.Event) error {
			if e.Payload == "bad" {
				return errors.New("rejected")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		mustPublish(t, eb, "orders.placed", i)
	}
	mustPublish(t, eb, "orders.placed", "bad")
	mustPublish(t, eb, "audit", "x")
	mustPublish(t, eb, "nobody.listens", "x")
	flush(t, eb)

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(eventbus.NewPrometheusCollector(eb, "")); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP modular_eventbus_delivered_total Total delivered events (cumulative)
# TYPE modular_eventbus_delivered_total counter
modular_eventbus_delivered_total{engine="_all"} 7
modular_eventbus_delivered_total{engine="fast"} 6
modular_eventbus_delivered_total{engine="slow"} 1
# HELP modular_eventbus_failed_total Handler calls that returned an error or panicked.
# TYPE modular_eventbus_failed_total counter
modular_eventbus_failed_total{engine="fast"} 1
modular_eventbus_failed_total{engine="slow"} 0
# HELP modular_eventbus_published_total Events accepted by Publish.
# TYPE modular_eventbus_published_total counter
modular_eventbus_published_total{engine="fast"} 6
modular_eventbus_published_total{engine="slow"} 2
# HELP modular_eventbus_topic_published_total Events accepted by Publish, per topic (bounded: overflow topics are labelled other).
# TYPE modular_eventbus_topic_published_total counter
modular_eventbus_topic_published_total{engine="fast",topic="orders.placed"} 6
modular_eventbus_topic_published_total{engine="slow",topic="audit"} 1
modular_eventbus_topic_published_total{engine="slow",topic="nobody.listens"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"modular_eventbus_delivered_total", "modular_eventbus_failed_total",
		"modular_eventbus_published_total", "modular_eventbus_topic_published_total"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	h := histogram(t, reg, "modular_eventbus_handler_duration_seconds", "fast")
	if h.GetSampleCount() != 6 || h.GetSampleSum() <= 0 {
		t.Fatalf("fast handler histogram: count %d sum %g, want 6 calls with a positive sum", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestTopicLabelValuesAreCappedAndStayMonotonic(t *testing.T) {
	eb := newBus(t)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(exporters.NewPrometheusCollector(eb, "", exporters.WithTopicLimit(5))); err != nil {
		t.Fatal(err)
	}
	published := func() map[string]float64 {
		out := map[string]float64{}
		for _, m := range family(t, reg, "modular_eventbus_topic_published_total").GetMetric() {
			out[label(m, "topic")] += m.GetCounter().GetValue()
		}
		return out
	}
	for i := 0; i < 40; i++ {
		mustPublish(t, eb, fmt.Sprintf("tenant%02d.signup", i), i)
	}
	first := published()
	if len(first) != 6 || first[bus.OtherTopic] != 35 {
		t.Fatalf("after 40 topics: %v, want 5 topics plus other=35", first)
	}
	for i := 0; i < 80; i++ {
		mustPublish(t, eb, fmt.Sprintf("tenant%02d.signup", i), i)
	}
	second := published()
	if len(second) != 6 {
		t.Fatalf("label values grew to %d: %v", len(second), second)
	}
	for topic, v := range first {
		if second[topic] < v {
			t.Errorf("topic %q went from %v to %v: a counter must not decrease", topic, v, second[topic])
		}
	}
	if second[bus.OtherTopic] != 35+75 {
		t.Errorf("other = %v, want 110", second[bus.OtherTopic])
	}
}

func TestTopicMetricsCanBeTurnedOff(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(exporters.NewPrometheusCollector(fixedFigures(), "", exporters.WithTopicLimit(-1)))
	if n, err := testutil.GatherAndCount(reg, "modular_eventbus_topic_published_total"); err != nil || n != 0 {
		t.Fatalf("%d topic series (err %v), want none", n, err)
	}
}

func TestAnEngineNamedAllReplacesTheAggregateInsteadOfBreakingTheScrape(t *testing.T) {
	src := fixedSource{per: map[string]bus.DeliveryStats{"_all": {Delivered: 3}, "b": {Delivered: 4}}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(exporters.NewPrometheusCollector(src, "x"))
	want := `
# HELP x_delivered_total Total delivered events (cumulative)
# TYPE x_delivered_total counter
x_delivered_total{engine="_all"} 3
x_delivered_total{engine="b"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "x_delivered_total"); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorEdgeCasesNeverPanic(t *testing.T) {
	t.Run("a nil module collects nothing", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(eventbus.NewPrometheusCollector(nil, ""))
		if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
			t.Fatalf("%d series (err %v), want none", n, err)
		}
	})
	t.Run("a module before Init collects nothing", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(eventbus.NewPrometheusCollector(eventbus.NewModule().(*eventbus.EventBusModule), ""))
		if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
			t.Fatalf("%d series (err %v), want none", n, err)
		}
	})
	t.Run("an invalid namespace fails registration", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(exporters.NewPrometheusCollector(fixedFigures(), "bad\xff")); err == nil {
			t.Fatal("a namespace that is not UTF-8 was accepted")
		}
	})
}

func TestMetricsAreServedOverHTTP(t *testing.T) {
	eb := newBus(t)
	mustPublish(t, eb, "orders.placed", 1)
	flush(t, eb)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(eventbus.NewPrometheusCollector(eb, ""))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}), ReadHeaderTimeout: time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `modular_eventbus_published_total{engine="fast"} 1`) {
		t.Fatalf("status %d, body:\n%s", resp.StatusCode, body)
	}
}

func mustPublish(t *testing.T, eb *eventbus.EventBusModule, topic string, payload any) {
	t.Helper()
	if err := eb.Publish(testCtx(t), topic, payload); err != nil {
		t.Fatal(err)
	}
}

func family(t *testing.T, g prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no metric family %s", name)
	return nil
}

func histogram(t *testing.T, g prometheus.Gatherer, name, engine string) *dto.Histogram {
	t.Helper()
	for _, m := range family(t, g, name).GetMetric() {
		if label(m, "engine") == engine {
			return m.GetHistogram()
		}
	}
	t.Fatalf("no %s{engine=%q}", name, engine)
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
