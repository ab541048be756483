package memory

import "errors"

// Sentinel errors of the memory engine. The engine also returns the
// shared sentinels of package bus (bus.ErrEventBusNotStarted,
// bus.ErrEventDropped, bus.ErrEventBusShutdownTimeout, …); the ones the
// upstream API documents are returned bare, so == holds. Test the others
// with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every configuration error returned
	// by New, NewEventBus and Config.Validate: an unknown key, a value of
	// the wrong type, or a value out of range. The message names the field
	// and the rejected value.
	ErrInvalidConfig = errors.New("invalid config")
)

// configError marks err as a configuration error: errors.Is matches
// ErrInvalidConfig and whatever err wraps (enginekit.ErrUnknownConfigKey, …),
// while the message stays err's own, naming the field and the value.
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }

// invalidConfig wraps err as a configuration error; a nil err stays nil.
func invalidConfig(err error) error {
	if err == nil {
		return nil
	}
	return configError{err}
}
