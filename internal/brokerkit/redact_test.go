package brokerkit

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURLHidesEveryCredentialPositionAndKeepsTheRest(t *testing.T) {
	const s = "s3cr3tPW"
	tests := []struct{ in, want string }{
		{"redis://localhost:6379/0", "redis://localhost:6379/0"},
		{"redis://user:" + s + "@host:6379/0", "redis://[redacted]@host:6379/0"},
		{"redis://user:" + s + "%off@host:6379/0", "redis://[redacted]@host:6379/0"},
		{"redis://user:" + s + "/x@host:6379/0", "redis://[redacted]@host:6379/0"},
		{"redis://user:" + s + "@x@host:6379/0", "redis://[redacted]@host:6379/0"},
		{"redis://user:" + s + "#x@host:6379/0", "redis://[redacted]"},
		{"redis://user:" + s + "?x@host:6379/0", "redis://[redacted]"},
		{"redis://host:6379/0?password=" + s, "redis://host:6379/0?[redacted]"},
		{"redis://host:6379/0?password=" + s + "@x", "redis://[redacted]"},
		{"redis://host:6379/0#" + s, "redis://host:6379/0#[redacted]"},
		{"u:" + s + "@h:1", "[redacted]@h:1"},
		{"%%" + s, "[redacted]"},
		{"http://u:" + s + "@[::1:1", "http://[redacted]@[::1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := RedactURL(tc.in); got != tc.want {
				t.Fatalf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestURLErrorReasonNeverQuotesTheURL(t *testing.T) {
	raw := "redis://user:s3cr3tPW%off@host:6379/0"
	//lint:ignore SA1007 the URL is invalid on purpose: the test needs url.Parse's error for it
	_, err := url.Parse(raw)
	if got := URLErrorReason(err, raw); strings.Contains(got, "s3cr3tPW") || strings.Contains(got, "%of") {
		t.Fatalf("URLErrorReason = %q", got)
	}
	other := errors.New(`invalid database number: "user:s3cr3tPW@host"`)
	if got := URLErrorReason(other, "redis:/user:s3cr3tPW@host"); strings.Contains(got, "s3cr3tPW") {
		t.Fatalf("URLErrorReason = %q", got)
	}
}
