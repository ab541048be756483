package core

import (
	"slices"
	"sync"
)

// The engine registry maps engine types to factories. It is safe for
// concurrent use. It imports no engine: the built-in engines are
// registered in builtin_engines.go.
var registry = struct {
	sync.RWMutex
	factories map[string]EngineFactory
}{factories: map[string]EngineFactory{}}

// RegisterEngine makes an engine type available to configurations.
//
// Registering a type that is already registered replaces its factory (the
// last registration wins), so an application can wrap or replace a
// built-in engine; engines built before the call keep their factory's
// result. An empty type or a nil factory is ignored. Safe for concurrent
// use; register before app.Init so that the configuration validates.
func RegisterEngine(engineType string, factory EngineFactory) {
	if engineType == "" || factory == nil {
		return
	}
	registry.Lock()
	registry.factories[engineType] = factory
	registry.Unlock()
}

// GetRegisteredEngines returns the registered engine types, sorted.
func GetRegisteredEngines() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.factories))
	for t := range registry.factories {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func isRegistered(engineType string) bool {
	_, ok := lookupFactory(engineType)
	return ok
}

func lookupFactory(engineType string) (EngineFactory, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.factories[engineType]
	return f, ok
}
