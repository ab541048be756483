package sharded

import (
	"context"
	"unsafe"

	"github.com/switchyard-go/eventbus/enginekit"
)

// Most publishers pass context.Background() or context.TODO(), whose
// handler context is simply the subscription's fallback context. Telling
// them apart with == costs a runtime.ifaceeq call (their dynamic types are
// zero-size structs, compared through the type's equality function) — a
// few nanoseconds per event, a tenth of a whole delivery. Every value of
// those two unexported types is equal, so comparing the interface's
// type word (itab) is an exact test. TestTrivialContext checks it against ==
// for the contexts that matter.
type ifaceWords struct {
	tab  unsafe.Pointer
	data unsafe.Pointer
}

func itabOf(c context.Context) unsafe.Pointer {
	return (*ifaceWords)(unsafe.Pointer(&c)).tab
}

var (
	backgroundTab = itabOf(context.Background())
	todoTab       = itabOf(context.TODO())
)

// trivialCtx reports whether c is nil, context.Background() or
// context.TODO(): a context with no values and no cancellation.
func trivialCtx(c context.Context) bool {
	t := itabOf(c)
	return t == nil || t == backgroundTab || t == todoTab
}

// handlerCtx returns the context for a handler whose subscription's
// fallback context is life (enginekit.HandlerContext, without its comparisons
// for the common case).
func handlerCtx(pub, life context.Context) context.Context {
	if trivialCtx(pub) {
		return life
	}
	return enginekit.HandlerContext(pub, life)
}
