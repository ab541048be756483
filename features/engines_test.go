package features

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
)

// testEngineTypes are the engine types a scenario can register with the
// step 'the engine type "<name>" is registered'.
var testEngineTypes = map[string]eventbus.EngineFactory{
	"recording": newRecordingEngine,
	"faulty":    newFaultyEngine,
}

// recordedConfigs are the config maps the "recording" engine factory
// received, in call order (reset before every scenario; scenarios run one
// at a time).
var recordedConfigs struct {
	sync.Mutex
	maps []map[string]any
}

func resetRecordedEngineConfigs() {
	recordedConfigs.Lock()
	recordedConfigs.maps = nil
	recordedConfigs.Unlock()
}

func lastRecordedEngineConfig() (map[string]any, bool) {
	recordedConfigs.Lock()
	defer recordedConfigs.Unlock()
	if len(recordedConfigs.maps) == 0 {
		return nil, false
	}
	return recordedConfigs.maps[len(recordedConfigs.maps)-1], true
}

// newRecordingEngine is the factory of the "recording" engine type: the
// memory engine, remembering the config map it was built from.
func newRecordingEngine(cfg map[string]any) (eventbus.EventBus, error) {
	recordedConfigs.Lock()
	recordedConfigs.maps = append(recordedConfigs.maps, maps.Clone(cfg))
	recordedConfigs.Unlock()
	return memory.New(cfg)
}

// faultyEngine is the memory engine with one operation that always fails,
// chosen by its config: failOn ("publish", "start" or "stop") and failWith
// (the error message).
type faultyEngine struct {
	*memory.EventBus
	failOn string
	err    error
}

func newFaultyEngine(cfg map[string]any) (eventbus.EventBus, error) {
	rest := maps.Clone(cfg)
	failOn, _ := rest["failOn"].(string)
	failWith, _ := rest["failWith"].(string)
	delete(rest, "failOn")
	delete(rest, "failWith")
	switch failOn {
	case "publish", "start", "stop":
	default:
		return nil, fmt.Errorf("faulty engine: failOn: %q: must be publish, start or stop", failOn)
	}
	inner, err := memory.New(rest)
	if err != nil {
		return nil, err
	}
	return &faultyEngine{EventBus: inner.(*memory.EventBus), failOn: failOn, err: errors.New(failWith)}, nil
}

func (f *faultyEngine) Publish(ctx context.Context, e bus.Event) error {
	if f.failOn == "publish" {
		return fmt.Errorf("faulty engine: publish %q: %w", e.Topic, f.err)
	}
	return f.EventBus.Publish(ctx, e)
}

func (f *faultyEngine) Start(ctx context.Context) error {
	if f.failOn == "start" {
		return fmt.Errorf("faulty engine: %w", f.err)
	}
	return f.EventBus.Start(ctx)
}

func (f *faultyEngine) Stop(ctx context.Context) error {
	err := f.EventBus.Stop(ctx) // release its resources either way
	if f.failOn == "stop" {
		return fmt.Errorf("faulty engine: %w", f.err)
	}
	return err
}
