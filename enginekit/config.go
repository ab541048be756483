package enginekit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sharedConfigKeys are the keys the router passes to every engine factory
// in single-engine mode (the module-level settings). DecodeConfig accepts
// them even when the target struct has no field for them, so an engine only
// declares the ones it uses. Unexported so that no one can change what
// every engine accepts: SharedConfigKeys returns a copy.
var sharedConfigKeys = map[string]bool{
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

// SharedConfigKeys returns, sorted, the keys the router passes to every
// engine factory in single-engine mode (the module-level settings), which
// DecodeConfig accepts even when the target struct has no field for them:
// an engine declares a field only for the ones it uses. The slice is a
// fresh copy on every call; changing it changes nothing.
func SharedConfigKeys() []string {
	out := make([]string, 0, len(sharedConfigKeys))
	for k := range sharedConfigKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Upper bounds shared by the module and the engines. A size or count
// above its bound is a configuration error naming the field and the value,
// so that no setting reaches make(chan …) or starts goroutines with a value
// that panics (makechan: size out of range) or exhausts memory.
const (
	// MaxQueueSize bounds every queue sized from config (module
	// maxEventQueueSize and defaultEventBufferSize, the memory engine's
	// queues, the sharded async queue, the broker engines' publish
	// queues). A queue allocates its slots up front, about 100 bytes each
	// for an in-process event, so 1<<20 (1,048,576) slots cost ~100 MiB.
	MaxQueueSize = 1 << 20

	// MaxWorkers bounds every goroutine count sized from config (module
	// workerCount, sharded asyncWorkers, the broker engines'
	// maxInFlight): 4096.
	MaxWorkers = 4096

	// MaxTopicLimit bounds the topicLimit key of every engine (distinct
	// topics counted apart in TopicStats): 65536.
	MaxTopicLimit = 1 << 16
)

// DecodeConfig decodes an engine's configuration map (EngineConfig.Config,
// as YAML or JSON produced it) into target, a pointer to a struct whose
// fields carry json tags. Numbers may arrive as int or float64; an integer
// field refuses a fraction (2.5). Durations use the Duration type and take
// a Go duration string ("250ms", "1m30s") or a time.Duration value: a bare
// number is an error naming the key, since it has no unit.
//
// A key that is neither a field of target nor one of SharedConfigKeys() is
// an *UnknownKeyError (errors.Is(err, ErrUnknownConfigKey)) naming every
// such key, so typos are caught at Init instead of being silently
// ignored. A value that does not decode is an error naming its key; the
// value is quoted too, unless the key holds a secret (IsSecretKey).
func DecodeConfig(raw map[string]any, target any) error {
	if len(raw) == 0 {
		return nil
	}
	known := jsonFieldNames(reflect.TypeOf(target))
	var keys, unknown []string
	for k := range raw {
		switch {
		case known[k]:
			keys = append(keys, k)
		case sharedConfigKeys[k]:
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
		return &UnknownKeyError{Keys: unknown, Known: names}
	}
	// One key at a time, so that an error names the key (encoding/json
	// does not say which field a custom type's UnmarshalJSON failed for).
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		if d, ok := v.(time.Duration); ok {
			v = d.String() // typed: the unit is known
		}
		b, err := json.Marshal(map[string]any{k: v})
		if err != nil {
			return fmt.Errorf("%s: %s: %w", k, shownValue(k, v), err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields() // inside nested structs too
		if err := dec.Decode(target); err != nil {
			shown := shownValue(k, v)
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field == k && composite(te.Type.Kind()) {
				// A scalar where a section belongs: the section may hold
				// credentials (security, checkpointRedis), so is not shown.
				shown = fmt.Sprintf("(a %T)", v)
			}
			return fmt.Errorf("%s: %s: %s", k, shown, decodeReason(err))
		}
	}
	return nil
}

func composite(k reflect.Kind) bool {
	return k == reflect.Struct || k == reflect.Map || k == reflect.Slice || k == reflect.Array
}

// decodeReason shortens encoding/json's messages: the key is named by the
// caller already, the Go type names mean nothing to a config author.
func decodeReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		switch te.Type.Kind() {
		case reflect.Struct, reflect.Map:
			return "want a mapping"
		case reflect.Slice, reflect.Array:
			return "want a list"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return fmt.Sprintf("want an integer in the range of %s (got %s)", te.Type, te.Value)
		default:
			return fmt.Sprintf("want a %s (got %s)", te.Type, te.Value)
		}
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// shownValue renders a config value for an error message. Only scalars
// are shown: the value of a secret key, a string that may hold a URL with
// credentials ('@', '?', '#') and a list or mapping (which may hold either)
// are described instead.
func shownValue(key string, v any) string {
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		if IsSecretKey(key) {
			return "[redacted]"
		}
		return fmt.Sprint(x)
	case string:
		if IsSecretKey(key) || strings.ContainsAny(x, "@?#") {
			return "[redacted]"
		}
		return strconv.Quote(x)
	default:
		return fmt.Sprintf("(a %T)", v)
	}
}

// IsSecretKey reports whether a config key (any case, any separator:
// "password", "sasl.password", "secretAccessKey", "sessionToken",
// "externalBrokerPassword") names a credential, or a section that holds
// credentials ("security", "sasl.*"), whose value must never appear in an
// error or a log line.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"password", "passwd", "secret", "token", "credential", "privatekey", "private.key", "security", "sasl"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
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

// ErrUnknownConfigKey is wrapped by the error for a config key that names
// no setting (a typo such as "wrokerCount"): DecodeConfig returns it for
// an engine's config map, the module for its "eventbus" section. The error
// is an *UnknownKeyError naming the keys.
var ErrUnknownConfigKey = errors.New("unknown config key")

// UnknownKeyError reports the config keys of one map that name no
// setting. errors.Is(err, ErrUnknownConfigKey) matches it.
type UnknownKeyError struct {
	Path  string   // where the keys were found ("eventbus", "engines[1]"); "" for an engine's map
	Keys  []string // the unknown keys, sorted
	Known []string // the keys accepted there, sorted
}

func (e *UnknownKeyError) Error() string {
	where := ""
	if e.Path != "" {
		where = e.Path + ": "
	}
	return fmt.Sprintf("%sunknown config key(s) %s (known: %s)", where, strings.Join(e.Keys, ", "), strings.Join(e.Known, ", "))
}

// Unwrap lets errors.Is(err, ErrUnknownConfigKey) match.
func (e *UnknownKeyError) Unwrap() error { return ErrUnknownConfigKey }
