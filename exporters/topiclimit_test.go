package exporters_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/bus"
)

func TestDefaultTopicLimit(t *testing.T) {
	t.Run("an exporter with default options gives every topic an engine counts apart its own series", func(t *testing.T) {
		eb := newBus(t)
		// One topic more than the engine counts apart: the engine folds
		// exactly one into bus.OtherTopic, and the exporter must not fold
		// any further.
		for i := 0; i <= bus.DefaultTopicLimit; i++ {
			mustPublish(t, eb, fmt.Sprintf("t.%04d", i), i)
		}
		flush(t, eb)
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(eventbus.NewPrometheusCollector(eb, "")); err != nil {
			t.Fatal(err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var own int
		var other float64
		for _, mf := range mfs {
			if mf.GetName() != "modular_eventbus_topic_published_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				topic := label(m, "topic")
				switch {
				case topic == bus.OtherTopic:
					other += m.GetCounter().GetValue()
				case strings.HasPrefix(topic, "t."):
					own++
				}
			}
		}
		if own != bus.DefaultTopicLimit || other != 1 {
			t.Errorf("%d topics with their own series and %v events under %q, want %d and 1", own, other, bus.OtherTopic, bus.DefaultTopicLimit)
		}
	})
}
