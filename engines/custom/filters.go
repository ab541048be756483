package custom

import (
	"fmt"
	"github.com/switchyard-go/eventbus/bus"
	"strings"
)

// EventFilter decides whether an event is processed; the custom engine
// applies its filters on publish.
type EventFilter interface {
	ShouldProcess(event bus.Event) bool
	Name() string
}

// TopicPrefixFilter lets through the events whose topic starts with one of
// AllowedPrefixes (all events when the list is empty).
type TopicPrefixFilter struct {
	AllowedPrefixes []string
	name            string
}

// Name returns the filter's name ("topicPrefix" unless configured).
func (f *TopicPrefixFilter) Name() string {
	if f.name == "" {
		return "topicPrefix"
	}
	return f.name
}

// ShouldProcess reports whether event.Topic has an allowed prefix.
func (f *TopicPrefixFilter) ShouldProcess(event bus.Event) bool {
	if len(f.AllowedPrefixes) == 0 {
		return true
	}
	for _, p := range f.AllowedPrefixes {
		if strings.HasPrefix(event.Topic, p) {
			return true
		}
	}
	return false
}

// buildFilters turns eventFilters config entries into filters; an entry
// with an unknown type or malformed fields is an error naming it.
func buildFilters(specs []map[string]interface{}) ([]EventFilter, error) {
	var out []EventFilter
	for i, spec := range specs {
		typ, _ := spec["type"].(string)
		switch typ {
		case "topicPrefix":
			raw, ok := spec["allowedPrefixes"].([]interface{})
			if !ok {
				if ss, isStrings := spec["allowedPrefixes"].([]string); isStrings {
					for _, s := range ss {
						raw = append(raw, s)
					}
					ok = true
				}
			}
			if !ok {
				return nil, fmt.Errorf("eventFilters[%d].allowedPrefixes: %v: want a list of strings", i, spec["allowedPrefixes"])
			}
			f := &TopicPrefixFilter{}
			for j, p := range raw {
				s, ok := p.(string)
				if !ok {
					return nil, fmt.Errorf("eventFilters[%d].allowedPrefixes[%d]: %v: want a string", i, j, p)
				}
				f.AllowedPrefixes = append(f.AllowedPrefixes, s)
			}
			if n, ok := spec["name"].(string); ok {
				f.name = n
			}
			out = append(out, f)
		default:
			return nil, fmt.Errorf("eventFilters[%d].type: %q: unknown filter type (supported: topicPrefix)", i, typ)
		}
	}
	return out, nil
}
