package kinesis

import (
	"context"
	"time"

	"github.com/switchyard-go/eventbus/broker"
)

// deadLetter publishes dl (to its dead-letter topic on the same stream),
// retrying with backoff until it is written or the consumer stops. It
// reports whether it was written: if not, the event is left unsettled
// and read again after the next Start (at-least-once).
func (c *consumer) deadLetter(dl broker.DeadLetter) bool {
	bo := broker.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		ctx, cancel := context.WithTimeout(dl.Context(context.Background()), 30*time.Second)
		err := c.b.Publish(ctx, dl.Event)
		cancel()
		if err == nil {
			return true
		}
		c.b.errs.Report(broker.ScopeDeadLetter, err)
		t := time.NewTimer(bo.Next())
		select {
		case <-c.quit:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}
