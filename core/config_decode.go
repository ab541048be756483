package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/enginekit"
)

// The "eventbus" section is decoded strictly, whichever file feeder reads
// it. modular's YAML, JSON and TOML feeders hand the section to
// yaml.Unmarshal, json.Unmarshal and toml.Unmarshal (FeedKey), which call
// the methods below; left to themselves they ignore unknown keys
// ("wrokerCount: 9" was silently dropped), YAML truncates "workerCount:
// 2.5" to 2 and JSON refuses "eventTTL": "2h". Here:
//
//   - a key that names no field is an error wrapping ErrInvalidConfig and
//     enginekit.ErrUnknownConfigKey, naming the key and its path (also inside
//     engines[i] and routing[i]; an engine's own config map is checked by
//     the engine);
//   - an integer field refuses a fraction;
//   - a duration field takes a Go duration string ("2h", "250ms") in every
//     format, and refuses a bare number (it has no unit).
//
// The env feeder sets fields one by one and never reaches these methods;
// it only reads the names it knows.

// UnmarshalYAML decodes the section strictly (see above). It uses the
// function form of yaml's Unmarshaler, which gopkg.in/yaml.v3 and v2 both
// call.
func (c *EventBusConfig) UnmarshalYAML(unmarshal func(any) error) error {
	var raw map[string]any
	if err := unmarshal(&raw); err != nil {
		return err
	}
	return c.decodeSection(raw)
}

// UnmarshalJSON decodes the section strictly (see above).
func (c *EventBusConfig) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // exact integers, and 2.5 stays recognisable
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	return c.decodeSection(raw)
}

// UnmarshalTOML decodes the section strictly (see above); it implements
// BurntSushi/toml's Unmarshaler.
func (c *EventBusConfig) UnmarshalTOML(v any) error {
	raw, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: eventbus: want a table, got %T", ErrInvalidConfig, v)
	}
	return c.decodeSection(raw)
}

func (c *EventBusConfig) decodeSection(raw map[string]any) error {
	if isDocument(raw) {
		// modular's BaseConfigFeeder unmarshals the whole merged document
		// (every section) into each section's struct. Its other sections
		// are not keys of ours; its "eventbus" section is.
		section, ok := raw[ModuleName].(map[string]any)
		if !ok {
			return nil
		}
		raw = section
	}
	if err := decodeStrict(reflect.ValueOf(c).Elem(), raw, "eventbus"); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// isDocument reports whether raw is a whole config document rather than
// the eventbus section: it holds an "eventbus" mapping, or a key that is no
// field of ours with a mapping for value (a section of another module;
// engineConfig, the one field of the eventbus section that takes a
// mapping, is a field of ours).
func isDocument(raw map[string]any) bool {
	if _, ok := raw[ModuleName].(map[string]any); ok {
		return true
	}
	t := reflect.TypeOf(EventBusConfig{})
	known := make(map[string]bool, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		known[name] = true
	}
	for k, v := range raw {
		if _, isMap := v.(map[string]any); isMap && !known[k] {
			return true
		}
	}
	return false
}

// decodeStrict sets the fields of the struct dst named by raw's keys (yaml
// tag names, which equal the json ones). Fields whose key is absent keep
// their value, as with json.Unmarshal, so that feeders can layer.
func decodeStrict(dst reflect.Value, raw map[string]any, path string) error {
	t := dst.Type()
	fields := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" && t.Field(i).IsExported() {
			fields[name] = i
		}
	}
	var unknown []string
	for k := range raw {
		if _, ok := fields[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(fields))
		for k := range fields {
			known = append(known, k)
		}
		sort.Strings(known)
		return &enginekit.UnknownKeyError{Path: path, Keys: unknown, Known: known}
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := assign(dst.Field(fields[k]), raw[k], path+"."+k); err != nil {
			return err
		}
	}
	return nil
}

// assign stores v (as a YAML, JSON or TOML decoder produced it) into f.
// Errors name the path and the value (hidden for secret keys).
func assign(f reflect.Value, v any, path string) error {
	if v == nil {
		f.Set(reflect.Zero(f.Type()))
		return nil
	}
	bad := func(why string) error {
		shown := fmt.Sprintf("%v", v)
		if s, ok := v.(string); ok {
			shown = strconv.Quote(s)
		}
		if enginekit.IsSecretKey(path) {
			shown = "[redacted]"
		}
		return fmt.Errorf("%s: %s: %s", path, shown, why)
	}
	switch {
	case f.Type() == durationType:
		s, ok := v.(string)
		if !ok {
			return bad(fmt.Sprintf(`a duration needs a unit: write "%vs" or "%vms", not a bare number`, v, v))
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return bad(`want a Go duration such as "250ms", "30s" or "2h"`)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		switch x := v.(type) {
		case string:
			f.SetString(x)
		case json.Number:
			f.SetString(x.String())
		case bool, int, int64, uint64:
			f.SetString(fmt.Sprint(x))
		case float64:
			f.SetString(strconv.FormatFloat(x, 'f', -1, 64))
		default:
			return bad("want a string")
		}
	case f.Kind() == reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return bad("want true or false")
		}
		f.SetBool(b)
	case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Bool:
		// An optional switch (messageEvents): set, even to false, is
		// different from absent.
		b, ok := v.(bool)
		if !ok {
			return bad("want true or false")
		}
		p := reflect.New(f.Type().Elem())
		p.Elem().SetBool(b)
		f.Set(p)
	case f.Kind() == reflect.Int:
		n, ok := toInt(v)
		if !ok {
			return bad("want an integer")
		}
		f.SetInt(n)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		list, ok := toList(v)
		if !ok {
			return bad("want a list of strings")
		}
		out := reflect.MakeSlice(f.Type(), len(list), len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("%s[%d]: %v: want a string", path, i, e)
			}
			out.Index(i).SetString(s)
		}
		f.Set(out)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
		list, ok := toList(v)
		if !ok {
			return bad("want a list")
		}
		out := reflect.MakeSlice(f.Type(), len(list), len(list))
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("%s[%d]: want a mapping, got %T", path, i, e)
			}
			if err := decodeStrict(out.Index(i), m, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		f.Set(out)
	case f.Kind() == reflect.Map && f.Type().Key().Kind() == reflect.String && f.Type().Elem().Kind() == reflect.Interface:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("want a mapping")
		}
		f.Set(reflect.ValueOf(plainNumbers(m).(map[string]any)))
	default:
		return bad(fmt.Sprintf("cannot decode into %s", f.Type()))
	}
	return nil
}

// toInt accepts the integer forms decoders produce, and a float only when
// it is whole (so 2.5 is refused rather than truncated).
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case float64:
		if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

// toList accepts the list forms decoders produce ([]any; BurntSushi/toml
// gives []map[string]any for an array of tables).
func toList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// plainNumbers returns v with json.Number values (from UseNumber) turned
// into int (whole numbers that fit) or float64, the types engines' config
// maps hold when YAML produced them.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil && n >= math.MinInt && n <= math.MaxInt {
			return int(n)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainNumbers(e)
		}
		return out
	}
	return v
}
