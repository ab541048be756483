package bus

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration that decodes from a Go duration string
// ("250ms", "1m30s") and encodes as one. A bare number is refused (an
// error saying the unit is missing): in a config file 30 could mean
// seconds or nanoseconds, and silently meaning nanoseconds broke configs.
// DecodeConfig also accepts a time.Duration value in the map.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: want a Go duration such as \"250ms\" or \"1m30s\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		return fmt.Errorf("a duration needs a unit: write %q or %q, not the bare number %s", string(b)+"s", string(b)+"ms", b)
	}
	return fmt.Errorf("invalid duration %s: want a string such as \"250ms\"", b)
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Set stores a time.Duration.
func (d *Duration) Set(v time.Duration) { *d = Duration(v) }
