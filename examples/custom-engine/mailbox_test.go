package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
)

// TestMailboxPassesTheConformanceSuite runs Switchyard's conformance suite
// on the Mailbox engine, as every engine (built-in or third-party) does.
// The zero Features value demands the strongest guarantees: lossless,
// ordered Subscribe delivery, publisher context values reaching handlers.
func TestMailboxPassesTheConformanceSuite(t *testing.T) {
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus { return NewMailbox() },
	})
}

func TestMailboxFactoryRejectsUnknownKeysAndBadValues(t *testing.T) {
	if _, err := NewMailboxEngine(map[string]any{"asyncLimt": 4}); err == nil {
		t.Error("a misspelt key was accepted")
	}
	if _, err := NewMailboxEngine(map[string]any{"asyncLimit": -1}); err == nil {
		t.Error("asyncLimit -1 was accepted")
	}
	b, err := NewMailboxEngine(map[string]any{"asyncLimit": 2, "workerCount": 5})
	if err != nil {
		t.Fatalf("valid config (with a module-level key) refused: %v", err)
	}
	if got := b.(*Mailbox).AsyncLimit; got != 2 {
		t.Errorf("AsyncLimit = %d, want 2", got)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
