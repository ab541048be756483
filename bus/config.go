package bus

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// SharedConfigKeys are the keys the router passes to every engine factory
// in single-engine mode (the module-level settings). DecodeConfig accepts
// them even when the target struct has no field for them, so an engine only
// declares the ones it uses.
var SharedConfigKeys = map[string]bool{
	"maxEventQueueSize":      true,
	"defaultEventBufferSize": true,
	"workerCount":            true,
	"deliveryMode":           true,
	"publishBlockTimeout":    true,
	"rotateSubscriberOrder":  true,
	"eventTTL":               true,
	"retentionDays":          true,
	"externalBrokerURL":      true,
	"externalBrokerUser":     true,
	"externalBrokerPassword": true,
}

// DecodeConfig decodes an engine's configuration map (EngineConfig.Config,
// as YAML or JSON produced it) into target, a pointer to a struct whose
// fields carry json tags. Numbers may arrive as int or float64; durations
// should use the Duration type. A key that is neither a field of target nor
// one of SharedConfigKeys is an error naming the key, so typos are caught
// at Init instead of being silently ignored.
func DecodeConfig(raw map[string]any, target any) error {
	if len(raw) == 0 {
		return nil
	}
	known := jsonFieldNames(reflect.TypeOf(target))
	clean := make(map[string]any, len(raw))
	var unknown []string
	for k, v := range raw {
		switch {
		case known[k]:
			clean[k] = v
		case SharedConfigKeys[k]:
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(known))
		for k := range known {
			names = append(names, k)
		}
		sort.Strings(names)
		return fmt.Errorf("unknown config key(s) %s (known: %s)", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	b, err := json.Marshal(clean)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := json.Unmarshal(b, target); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}

func jsonFieldNames(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			for k := range jsonFieldNames(f.Type) {
				out[k] = true
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = true
	}
	return out
}

// Duration is a time.Duration that decodes from a Go duration string
// ("250ms", "1m30s") or a number of nanoseconds, and encodes as a string.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("invalid duration %s: want a string such as \"250ms\"", b)
	}
	*d = Duration(time.Duration(n))
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Set stores a time.Duration.
func (d *Duration) Set(v time.Duration) { *d = Duration(v) }
