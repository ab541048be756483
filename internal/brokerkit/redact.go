package brokerkit

import (
	"errors"
	"net/url"
	"strings"
)

// Redacted replaces credentials in the text RedactURL and ScrubSecrets
// return.
const Redacted = "[redacted]"

// RedactURL returns s, a broker address as a user wrote it (a URL such as
// "redis://user:pass@host:6379/0" or a bare "user:pass@host:9092"), with
// every part that may hold a credential replaced by "[redacted]": the
// userinfo (everything before the last '@'), the query string and the
// fragment. It never parses s with net/url and never returns s unchanged
// when s holds such a part, so a password containing '%', '/', '#', '?' or
// '@' (which makes url.Parse fail or split in the wrong place) is hidden
// too. When it cannot tell where the userinfo ends (a '?' or '#' before the
// last '@') it keeps only the scheme.
func RedactURL(s string) string {
	prefix, rest := splitScheme(s)
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if strings.ContainsAny(rest[:at], "?#") {
			return prefix + Redacted
		}
		rest = Redacted + "@" + rest[at+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i] + rest[i:i+1] + Redacted
	}
	if _, err := url.Parse(s); err != nil && !strings.Contains(s, "@") {
		// Malformed and no userinfo to cut off: nothing tells which part
		// might be a credential pasted in the wrong place.
		return prefix + Redacted
	}
	return prefix + rest
}

// URLSecrets returns the parts of s that RedactURL hides (userinfo, query,
// fragment; raw and percent-decoded), for ScrubSecrets to remove from
// messages that quote s in pieces (url.Parse's and go-redis's errors do).
func URLSecrets(s string) []string {
	_, rest := splitScheme(s)
	var out []string
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		ui := rest[:at]
		out = append(out, ui)
		if _, pw, ok := strings.Cut(ui, ":"); ok {
			out = append(out, pw)
		}
		rest = rest[at+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		out = append(out, rest[i+1:])
		for _, kv := range strings.FieldsFunc(rest[i+1:], func(r rune) bool { return r == '&' || r == '#' || r == ';' }) {
			if _, v, ok := strings.Cut(kv, "="); ok {
				out = append(out, v)
			}
		}
	}
	// The pieces too, since parsers quote them apart ("invalid port
	// \":pw\"", "invalid database number \"user:pw@host\"").
	for _, p := range out {
		out = append(out, strings.FieldsFunc(p, func(r rune) bool { return strings.ContainsRune(":/@?#&=;,", r) })...)
	}
	for _, p := range out {
		if d, err := url.PathUnescape(p); err == nil && d != p {
			out = append(out, d)
		}
	}
	return out
}

// URLErrorReason describes why rawURL was refused by a URL parser (err,
// from url.Parse or a client's ParseURL) without quoting any credential:
// url.Parse's errors quote the URL whole, and even their short form quotes
// the piece of the password that failed to unescape. Other errors are
// returned with the URL's secrets and extra secrets scrubbed.
func URLErrorReason(err error, rawURL string, secrets ...string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return "not a valid URL (percent-encode the special characters of a password: % as %25, / as %2F, # as %23, ? as %3F, @ as %40)"
	}
	return ScrubSecrets(err.Error(), append(append(URLSecrets(rawURL), rawURL), secrets...)...)
}

// ScrubSecrets returns msg with every occurrence of each non-empty secret
// replaced by "[redacted]", longest first (so that a secret containing
// another is removed whole).
func ScrubSecrets(msg string, secrets ...string) string {
	ss := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if s != "" {
			ss = append(ss, s)
		}
	}
	// Longest first: insertion sort, the lists are a handful long.
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && len(ss[j]) > len(ss[j-1]); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
	for _, s := range ss {
		msg = strings.ReplaceAll(msg, s, Redacted)
	}
	return msg
}

// splitScheme splits "scheme://rest" into "scheme://" and rest; a string
// without a valid scheme is all rest.
func splitScheme(s string) (prefix, rest string) {
	i := strings.Index(s, "://")
	if i <= 0 {
		return "", s
	}
	for j, r := range s[:i] {
		alpha := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !alpha && (j == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return "", s
		}
	}
	return s[:i+3], s[i+3:]
}
