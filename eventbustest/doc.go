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
package eventbustest
