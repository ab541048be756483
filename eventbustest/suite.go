package eventbustest

import (
	"testing"
)

// check is one named behaviour of the contract.
type check struct {
	name string
	fn   func(c *checker)
}

// checks lists the contract, one named behaviour each. Names are
// sentences so that a failure reads as the guarantee that broke.
var checks = []check{
	{"publish reaches a subscriber with topic payload and metadata", checkPublishSubscribe},
	{"wildcard subscriptions match by prefix and star matches everything", checkWildcards},
	{"sync subscription sees one publisher's events once and in order", checkSyncOrder},
	{"async subscription receives every event once", checkAsyncDelivery},
	{"every subscriber of a topic receives every event", checkFanOut},
	{"unsubscribe stops delivery at once and is idempotent", checkUnsubscribe},
	{"cancel is equivalent to unsubscribe", checkCancel},
	{"topics and subscriber counts follow subscriptions", checkTopicsAndCounts},
	{"failing and panicking handlers keep their subscription alive", checkHandlerFailures},
	{"stop delivers every accepted event", checkStopDelivers},
	{"publish before start and after stop is refused", checkNotStarted},
	{"nil handlers and empty topics are rejected", checkBadInput},
	{"a handler that calls runtime.Goexit is a failed call and every subscription keeps receiving", checkGoexit},
	{"every method treats a nil context as context.Background", checkNilContext},
	{"events skipped because their subscription went away are counted as dropped", checkSkippedCounted},
	{"concurrent publishers and subscribers lose nothing", checkConcurrency},
	{"subscriptions survive a restart", checkRestart},
	{"a consumer group splits a topic's events, each handled once", checkConsumerGroups},
	{"an event whose handler failed is delivered again unchanged", checkRedeliveryAfterHandlerError},
	{"subscriptions ride out a broker restart and lose no accepted event", checkBrokerRestart},
	{"a crashed consumer's events are delivered to another consumer of its group", checkConsumerCrash},
	{"handler context carries publisher values without its cancellation", checkHandlerContext},
	{"w3c trace context in metadata reaches every handler unchanged", checkTraceContext},
	{"unsubscribing another engine's subscription leaves both engines intact", checkForeignUnsubscribe},
	{"stats count deliveries", checkStats},
	{"documented errors are returned as the values themselves", checkDocumentedErrors},
	{"flush is a delivery barrier", checkFlush},
	{"a filtered subscription receives only matching events and counts the rest as filtered", checkFilteredHandler},
	{"paging through 1,000 events in pages of 37 returns each once and in order per key", checkPollPaging},
	{"a poll cursor resumes on a new engine after a restart", checkPollRestart},
	{"a poll from CursorLatest returns only events published later", checkPollLatest},
	{"poll filters with $and $or $not over nested paths and arrays select exactly the matching events", checkPollFilters},
	{"polls restricted to single shards together read every event once", checkPollShards},
	{"a stale poll cursor reports a gap and continues from the oldest retained event", checkPollGap},
	{"a malformed cursor and a limit below one are refused with documented errors", checkPollBadRequests},
	{"an engine that cannot poll says so with ErrPollUnsupported", checkPollUnsupported},
	{"stop leaves no goroutine behind", checkNoLeaks},
}

// Run runs every check of the conformance suite against the engine built
// by cfg.New, each as a subtest named after the guarantee it checks.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	if cfg.New == nil {
		t.Fatal("eventbustest.Config.New is nil")
	}
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			ch.fn(newChecker(t, t, cfg))
		})
	}
}
