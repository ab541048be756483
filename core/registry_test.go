package core

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/switchyard-go/eventbus/engines/memory"
)

func TestRegisterEngineLastRegistrationWins(t *testing.T) {
	var calls []string
	RegisterEngine("test-dup", func(map[string]interface{}) (EventBus, error) { calls = append(calls, "first"); return memory.New(nil) })
	RegisterEngine("test-dup", func(map[string]interface{}) (EventBus, error) {
		calls = append(calls, "second")
		return memory.New(nil)
	})
	t.Cleanup(func() { unregisterEngine("test-dup") })
	if _, err := NewEngineRouter(&EventBusConfig{Engine: "test-dup"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []string{"second"}) {
		t.Fatalf("factories called: %v, want only the second registration", calls)
	}
}

func TestRegisterEngineIgnoresEmptyTypeAndNilFactory(t *testing.T) {
	before := GetRegisteredEngines()
	RegisterEngine("", func(map[string]interface{}) (EventBus, error) { return memory.New(nil) })
	RegisterEngine("test-nil", nil)
	if after := GetRegisteredEngines(); !slices.Equal(before, after) {
		t.Fatalf("registered engines changed from %v to %v", before, after)
	}
}

func TestGetRegisteredEnginesIsSortedAndHasTheBuiltIns(t *testing.T) {
	got := GetRegisteredEngines()
	if !slices.IsSorted(got) || !slices.Contains(got, "memory") {
		t.Fatalf("GetRegisteredEngines() = %v, want sorted and containing memory", got)
	}
}

func TestFactoryErrorsAndPanicsBecomeErrors(t *testing.T) {
	RegisterEngine("test-fails", func(map[string]interface{}) (EventBus, error) { return nil, errors.New("no broker") })
	RegisterEngine("test-panics", func(map[string]interface{}) (EventBus, error) { panic("factory bug") })
	t.Cleanup(func() { unregisterEngine("test-fails"); unregisterEngine("test-panics") })
	for _, typ := range []string{"test-fails", "test-panics"} {
		if _, err := NewEngineRouter(&EventBusConfig{Engine: typ}); err == nil {
			t.Errorf("engine %s: NewEngineRouter succeeded", typ)
		}
	}
	_ = context.Background()
}

func unregisterEngine(engineType string) {
	registry.Lock()
	delete(registry.factories, engineType)
	registry.Unlock()
}
