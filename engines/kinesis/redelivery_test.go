package kinesis

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/internal/brokertest"
)

func TestRedeliveredFlag(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.AckMode = broker.AckManual
	b := started(t, cfg)
	brokertest.CheckRedeliveredFlag(t, b, "redeliver", 30*time.Second)
}

func TestSeqAtMost(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"5", "", false}, {"5", "5", true}, {"5", "6", true}, {"6", "5", false},
		{"99", "100", true}, {"100", "99", false},
	} {
		if got := seqAtMost(c.a, c.b); got != c.want {
			t.Errorf("seqAtMost(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
