package brokerkit

import (
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// Prefixes of extension names produced by the reversible Metadata mapping
// (see the package documentation, "Metadata keys and extension names").
const (
	// escapedPrefix starts the name of a Metadata key that is not a legal
	// extension name as is; the key follows, escaped readably (see
	// escapeKey).
	escapedPrefix = "swyk"
	// jsonPrefix starts the name of a Metadata entry whose value is not a
	// string: the extension value is its JSON text.
	jsonPrefix = "swyj"
	// legacyHexPrefix started escaped names before the readable escape:
	// the lowercase hex of the key's bytes followed. Still read, never
	// written.
	legacyHexPrefix = "swyx"
	// reservedPrefix: plain keys starting with it are escaped so that the
	// prefixes above are never ambiguous.
	reservedPrefix = "swy"
)

// contextAttributes are the CloudEvents 1.0 (and 0.3) context attribute
// names, which an extension must not use.
var contextAttributes = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true,
	"subject": true, "time": true, "datacontenttype": true,
	"dataschema": true, "data": true, "datacontentencoding": true,
	"schemaurl": true, "data_base64": true,
}

// alias is the extension name of a well-known Metadata key. json marks
// an attribute whose value is JSON text (a number), written without the
// "swyj" prefix.
type alias struct {
	name string
	json bool
}

// aliases map well-known Metadata keys (bus's and this package's) to
// short readable extension names (at most 20 characters, the length the
// CloudEvents specification advises).
var aliases = map[string]alias{
	bus.MetadataKeyPartition:                 {name: "partitionkey"}, // CloudEvents Partitioning extension
	broker.MetadataKeyDeadLetterReason:       {name: "deadletterreason"},
	broker.MetadataKeyDeadLetterAttempts:     {name: "deadletterattempts", json: true},
	broker.MetadataKeyDeadLetterTopic:        {name: "deadlettertopic"},
	broker.MetadataKeyDeadLetterID:           {name: "deadletterid"},
	broker.MetadataKeyDeadLetterSubscription: {name: "deadlettersub"},
	broker.MetadataKeyDeadLetterSubject:      {name: "deadlettersubject"},
}

var aliasTargets = func() map[string]string {
	m := make(map[string]string, len(aliases))
	for k, v := range aliases {
		m[v.name] = k
	}
	return m
}()

func isLowerAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isPlain reports whether key is used as its own extension name.
func isPlain(key string) bool {
	return isLowerAlnum(key) && !contextAttributes[key] && aliasTargets[key] == "" && !strings.HasPrefix(key, reservedPrefix)
}

// ExtensionName returns the CloudEvents extension attribute name that
// carries Metadata[key] when its value is a string. MetadataKey reverses
// it. The result is lowercase ASCII alphanumeric and never a context
// attribute name:
//
//   - a legal name ("traceparent", "tenant") is kept as is;
//   - a well-known key gets its short name ("partitionKey" →
//     "partitionkey", "deadLetterReason" → "deadletterreason");
//   - any other key is "swyk" followed by the key escaped readably:
//     lowercase letters and the digits 1-9 stay, an uppercase letter
//     becomes "0" and the letter in lowercase, "0" becomes "00", "-" "01",
//     "_" "02", "." "03", ":" "04", "/" "05", " " "06", and any other
//     byte "09" and its two lowercase hex digits ("requestId" →
//     "swykrequest0id", "trace_id" → "swyktrace02id").
func ExtensionName(key string) string {
	if a, ok := aliases[key]; ok {
		return a.name
	}
	if isPlain(key) {
		return key
	}
	return escapeKey(key)
}

// punctuation escaped as "0" followed by a digit (see ExtensionName).
const punctuation = "-_.:/ " // "01" … "06"

// escapeKey returns escapedPrefix followed by key escaped (see
// ExtensionName), built in one allocation for the common keys.
func escapeKey(key string) string {
	var b strings.Builder
	b.Grow(len(escapedPrefix) + len(key) + 4)
	b.WriteString(escapedPrefix)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '1' && c <= '9':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte('0')
			b.WriteByte(c + ('a' - 'A'))
		case c == '0':
			b.WriteString("00")
		default:
			if j := strings.IndexByte(punctuation, c); j >= 0 {
				b.WriteByte('0')
				b.WriteByte(byte('1' + j))
				continue
			}
			b.WriteString("09")
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xF])
		}
	}
	return b.String()
}

// unescapeKey reverses escapeKey; ok is false when s is not its output.
func unescapeKey(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '0' {
			if (c < 'a' || c > 'z') && (c < '1' || c > '9') {
				return "", false
			}
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch d := s[i]; {
		case d >= 'a' && d <= 'z':
			b.WriteByte(d - ('a' - 'A'))
		case d == '0':
			b.WriteByte('0')
		case d >= '1' && int(d-'1') < len(punctuation):
			b.WriteByte(punctuation[d-'1'])
		case d == '9':
			if i+2 >= len(s) {
				return "", false
			}
			v, err := hex.DecodeString(s[i+1 : i+3])
			if err != nil || strings.ToLower(s[i+1:i+3]) != s[i+1:i+3] {
				return "", false
			}
			b.WriteByte(v[0])
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}

// extensionFor returns the extension attribute (name and string value)
// that carries Metadata[key] = v.
func extensionFor(key string, v any) (name, value string, err error) {
	a, isAlias := aliases[key]
	if s, ok := v.(string); ok && (!isAlias || !a.json) {
		return ExtensionName(key), s, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", "", err
	}
	if isAlias && a.json {
		return a.name, string(b), nil
	}
	return jsonPrefix + ExtensionName(key), string(b), nil
}

// MetadataKey reverses ExtensionName (and the "swyj" prefix for JSON
// values): it returns the Metadata key and whether the value is JSON text.
// Names written by earlier versions ("swyx" and the hex of the key) are
// read too. Names not produced by ExtensionName (extensions of other
// producers) map to themselves.
func MetadataKey(name string) (key string, isJSON bool) {
	if k, ok := aliasTargets[name]; ok {
		return k, aliases[k].json
	}
	if strings.HasPrefix(name, jsonPrefix) && len(name) > len(jsonPrefix) {
		k, _ := MetadataKey(name[len(jsonPrefix):])
		return k, true
	}
	switch {
	case strings.HasPrefix(name, escapedPrefix):
		if k, ok := unescapeKey(name[len(escapedPrefix):]); ok {
			return k, false
		}
	case strings.HasPrefix(name, legacyHexPrefix):
		if b, err := hex.DecodeString(name[len(legacyHexPrefix):]); err == nil && len(b) > 0 {
			return string(b), false
		}
	}
	return name, false
}

const hexDigits = "0123456789abcdef"
