// Package eventbustest is the conformance suite every Switchyard engine
// passes, built-in or third-party.
//
// Call Run from a test of your engine's package:
//
//	func TestConformance(t *testing.T) {
//		eventbustest.Run(t, eventbustest.Config{
//			New: func(t *testing.T) bus.EventBus { return myengine.New(...) },
//		})
//	}
//
// Each check creates its own engine through New, starts it, uses topics
// with a random prefix (so checks can share one broker) and stops it.
// The zero Features value demands the strongest guarantees (lossless,
// ordered sync delivery, context values reaching handlers); an engine
// declares what it cannot do by setting the matching field.
//
// Broker engines also declare the capabilities they have: consumer groups
// (with Config.NewInGroup), redelivery after a handler error, riding out a
// broker restart (Config.RestartBroker) and surviving a consumer crash
// (Config.CrashConsumer). Each declared capability is checked; the check
// of an undeclared one is skipped with a message naming the flag.
//
// Engines that implement bus.Poller declare Features.Poll, and the poll
// section runs: paging through 1,000 events, CursorLatest, JSON filters,
// malformed cursors and limits, and, when declared or configured, cursors
// resuming on a new engine (Features.PollRestart), polls restricted to
// shards (Config.PollShards) and gaps after trimming (Features.PollGap
// with Config.TrimTopic). Every engine, poller or not, must count the
// events a subscription's filter rejects (bus.FilteredHandler) in
// EngineStats.Filtered rather than as deliveries or failures, and an
// engine with a Poll method that does not declare Features.Poll must
// answer it with bus.ErrPollUnsupported.
package eventbustest
