package eventbus

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/GoCodeAlone/modular"
	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// BenchmarkModulePublishWithMessageEvents measures a publish with
// messageEvents on and one observer: two CloudEvents per event
// (message.published, message.received), built by modular.NewCloudEvent.
func BenchmarkModulePublishWithMessageEvents(b *testing.B) {
	m := NewModule().(*EventBusModule)
	if err := m.initWith(nil, &EventBusConfig{Engine: "memory", DefaultEventBufferSize: 1024, MessageEvents: true}); err != nil {
		b.Fatal(err)
	}
	app := modular.NewObservableApplication(modular.NewStdConfigProvider(&struct{}{}), modular.NewSlogAdapter(slog.New(slog.NewTextHandler(io.Discard, nil))))
	_ = app.RegisterObserver(modular.NewFunctionalObserver("x", func(context.Context, cloudevents.Event) error { return nil }))
	_ = m.RegisterObservers(app)
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer m.Stop(ctx)
	if _, err := m.Subscribe(ctx, "hot", func(context.Context, Event) error { return nil }); err != nil {
		b.Fatal(err)
	}
	var payload interface{} = "boxed once"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Publish(ctx, "hot", payload); err != nil {
			b.Fatal(err)
		}
	}
}
