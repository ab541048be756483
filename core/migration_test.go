package core

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/GoCodeAlone/modular"
)

// legacyStyleApp is an Application test double as README's migration
// section advises for doubles written against modular v1.4.x: it embeds
// modular.Application (which brings the methods v1.13.6 added, such as
// GetAllModules) and implements only what the test needs.
type legacyStyleApp struct {
	modular.Application
	section modular.ConfigProvider
	logger  modular.Logger
}

func (a *legacyStyleApp) GetConfigSection(string) (modular.ConfigProvider, error) {
	return a.section, nil
}

func (a *legacyStyleApp) Logger() modular.Logger { return a.logger }

// TestAnApplicationDoubleThatEmbedsModularApplicationRunsTheModule proves
// the migration advice: such a double compiles against modular v1.13.6
// and drives the module through Init, Start, Publish and Stop.
func TestAnApplicationDoubleThatEmbedsModularApplicationRunsTheModule(t *testing.T) {
	app := &legacyStyleApp{
		section: modular.NewStdConfigProvider(&EventBusConfig{Engine: "memory"}),
		logger:  modular.NewSlogAdapter(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	var _ modular.Application = app
	m := NewModule().(*EventBusModule)
	if err := m.Init(app); err != nil {
		t.Fatalf("Init: %v", err)
	}
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	got := make(chan any, 1)
	if _, err := m.Subscribe(ctx, "migrated", func(_ context.Context, e Event) error { got <- e.Payload; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish(ctx, "migrated", "hello"); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if p := <-got; p != "hello" {
		t.Fatalf("handler got %v", p)
	}
}
