package exporters

import "errors"

var (
	// ErrNilSource is returned by NewDatadogStatsdExporter when the
	// stats source (the event bus module) is nil.
	ErrNilSource = errors.New("exporters: nil stats source")

	// ErrInvalidInterval is returned by NewDatadogStatsdExporter when the
	// reporting interval is not positive.
	ErrInvalidInterval = errors.New("exporters: interval must be > 0")
)
