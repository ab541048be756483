// Package enginekit is the toolkit for writing a Switchyard engine: the
// plumbing every built-in engine shares and a third-party engine may reuse
// to honour the contract of package bus the same way (handler calls that
// survive panics and runtime.Goexit, handler contexts, config decoding
// with errors that name the key, topic bookkeeping, per-topic counters, a
// lock-free latency histogram, the observer slot).
//
// Application code does not need this package: it uses the root package
// github.com/switchyard-go/eventbus (or .../core) and the contract types
// of package bus. Nothing here is mutable global state.
package enginekit
