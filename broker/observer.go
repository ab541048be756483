package broker

import (
	"log/slog"
	"sync/atomic"
)

// Scope says which background activity of an engine an error comes from.
type Scope string

// Scopes reported by the broker engines.
const (
	ScopeConnect    Scope = "connect"    // (re)connecting to the broker
	ScopePublish    Scope = "publish"    // a batched or async publish
	ScopeRead       Scope = "read"       // fetching entries/records
	ScopeReclaim    Scope = "reclaim"    // taking over idle pending entries
	ScopeAck        Scope = "ack"        // acknowledging / committing
	ScopeDecode     Scope = "decode"     // an entry that could not be decoded
	ScopeDeadLetter Scope = "deadletter" // publishing to a dead-letter topic
	ScopeDiscover   Scope = "discover"   // discovering topics for wildcards
)

var scopes = [...]Scope{ScopeConnect, ScopePublish, ScopeRead, ScopeReclaim, ScopeAck, ScopeDecode, ScopeDeadLetter, ScopeDiscover}

// ErrorObserver receives the transient errors of an engine's background
// loops, which retry on their own. It is called synchronously from the
// loop, so it must not block; it must be safe for concurrent use.
type ErrorObserver interface {
	BackgroundError(scope Scope, err error)
}

// ErrorObserverFunc adapts a function to ErrorObserver.
type ErrorObserverFunc func(scope Scope, err error)

// BackgroundError implements ErrorObserver.
func (f ErrorObserverFunc) BackgroundError(scope Scope, err error) { f(scope, err) }

// Errors counts background errors per Scope and forwards each to the
// installed ErrorObserver, or logs it with slog.Default at Warn level when
// none is installed: never silently swallowed. The zero value is ready to
// use; it is safe for concurrent use.
type Errors struct {
	// Engine names the engine in log lines ("redis", "kafka"…).
	Engine string

	obs    atomic.Pointer[observerHolder]
	counts [len(scopes)]atomic.Uint64
	other  atomic.Uint64
}

type observerHolder struct{ o ErrorObserver }

// SetObserver installs o (nil restores logging).
func (e *Errors) SetObserver(o ErrorObserver) {
	if o == nil {
		e.obs.Store(nil)
		return
	}
	e.obs.Store(&observerHolder{o})
}

// Report counts err under scope and forwards it. A nil err is ignored.
func (e *Errors) Report(scope Scope, err error) {
	if err == nil {
		return
	}
	if i := scopeIndex(scope); i >= 0 {
		e.counts[i].Add(1)
	} else {
		e.other.Add(1)
	}
	if h := e.obs.Load(); h != nil {
		h.o.BackgroundError(scope, err)
		return
	}
	slog.Warn("switchyard broker background error", "engine", e.Engine, "scope", string(scope), "error", err)
}

// Count returns how many errors were reported under scope.
func (e *Errors) Count(scope Scope) uint64 {
	if i := scopeIndex(scope); i >= 0 {
		return e.counts[i].Load()
	}
	return e.other.Load()
}

// Total returns how many errors were reported, all scopes together.
func (e *Errors) Total() uint64 {
	n := e.other.Load()
	for i := range e.counts {
		n += e.counts[i].Load()
	}
	return n
}

func scopeIndex(s Scope) int {
	for i, x := range scopes {
		if x == s {
			return i
		}
	}
	return -1
}
