package examples_test

import (
	"strings"
	"testing"
	"time"
)

func TestCustomEngineIsRegisteredAndRoutedLikeABuiltInOne(t *testing.T) {
	out := runExample(t, "custom-engine", 2*time.Minute)
	t.Log("\n" + out)
	for _, want := range []string{
		`engine "audit" is a *main.Mailbox; audit.login routes to "audit", user.created to "main"`,
		"mailbox handled audit.login grace",
		"audit (mailbox): delivered=3 dropped=0; main (sharded): delivered=3 dropped=0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
