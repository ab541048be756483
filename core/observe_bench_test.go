package core

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/GoCodeAlone/modular"
	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// BenchmarkModulePublishWithMessageEvents measures a publish with one
// observer registered and messageEvents at its default (on): two
// CloudEvents per event (message.published, message.received).
func BenchmarkModulePublishWithMessageEvents(b *testing.B) {
	m := NewModule().(*EventBusModule)
	if err := m.initWith(nil, &EventBusConfig{Engine: "memory", DefaultEventBufferSize: 1024}); err != nil {
		b.Fatal(err)
	}
	app := modular.NewObservableApplication(modular.NewStdConfigProvider(&struct{}{}), modular.NewSlogAdapter(slog.New(slog.NewTextHandler(io.Discard, nil))))
	_ = app.RegisterObserver(modular.NewFunctionalObserver("x", func(context.Context, cloudevents.Event) error { return nil }))
	_ = m.RegisterObservers(app)
	benchmarkPublish(b, m)
}
