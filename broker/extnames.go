package broker

import (
	"encoding/hex"
	"strings"

	"github.com/switchyard-go/eventbus/bus"
)

// Prefixes of extension names produced by the reversible Metadata mapping
// (see the package documentation).
const (
	// escapedPrefix starts the name of a Metadata key that is not usable
	// as is; the lowercase hex of the key's bytes follows.
	escapedPrefix = "swyx"
	// jsonPrefix starts the name of a Metadata entry whose value is not a
	// string: the extension value is its JSON text.
	jsonPrefix = "swyj"
	// reservedPrefix: plain keys starting with it are escaped so that the
	// two prefixes above are never ambiguous.
	reservedPrefix = "swy"
)

// contextAttributes are the CloudEvents 1.0 (and 0.3) context attribute
// names, which an extension must not use.
var contextAttributes = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true,
	"subject": true, "time": true, "datacontenttype": true,
	"dataschema": true, "data": true, "datacontentencoding": true,
	"schemaurl": true,
}

// aliases map well-known Metadata keys to the CloudEvents extension that
// means the same thing.
var aliases = map[string]string{
	bus.MetadataKeyPartition: "partitionkey", // CloudEvents Partitioning extension
}

var aliasTargets = func() map[string]string {
	m := make(map[string]string, len(aliases))
	for k, v := range aliases {
		m[v] = k
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

// ExtensionName returns the CloudEvents extension attribute name that
// carries Metadata[key] when its value is a string. MetadataKey reverses
// it. The result is lowercase ASCII alphanumeric and never a context
// attribute name.
func ExtensionName(key string) string {
	if a, ok := aliases[key]; ok {
		return a
	}
	if isLowerAlnum(key) && !contextAttributes[key] && aliasTargets[key] == "" && !strings.HasPrefix(key, reservedPrefix) {
		return key
	}
	return escapedPrefix + hex.EncodeToString([]byte(key))
}

// jsonExtensionName is the name that carries a non-string Metadata value.
func jsonExtensionName(key string) string { return jsonPrefix + ExtensionName(key) }

// MetadataKey reverses ExtensionName (and the "swyj" prefix for JSON
// values): it returns the Metadata key and whether the value is JSON text.
// Names not produced by ExtensionName (extensions of other producers) map
// to themselves.
func MetadataKey(name string) (key string, isJSON bool) {
	if strings.HasPrefix(name, jsonPrefix) {
		isJSON = true
		name = name[len(jsonPrefix):]
	}
	if k, ok := aliasTargets[name]; ok {
		return k, isJSON
	}
	if strings.HasPrefix(name, escapedPrefix) {
		if b, err := hex.DecodeString(name[len(escapedPrefix):]); err == nil {
			return string(b), isJSON
		}
	}
	return name, isJSON
}
