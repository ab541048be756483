package kinesis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// deadLetterGiveUpAttempts bounds the dead-letter publishes of one event
// that fail because the dead letter is too large (the reason and the other
// dead-letter attributes make it larger than the event): after that many
// the event is dropped, reported and counted, so that it does not hold
// its shard back forever.
const deadLetterGiveUpAttempts = 5

// deadLetter publishes dl (to its dead-letter topic on the same stream),
// retrying with backoff until it is written or the consumer stops. It
// reports whether the event is settled: true when dl was written, and
// also when it was refused deadLetterGiveUpAttempts times as too large
// (then reported under ScopeDeadLetter with an error wrapping
// ErrDeadLetterDropped, and counted as dropped instead of dead-lettered).
// On false (stopping) the event is left unsettled and read again after
// the next Start (at-least-once). Other failures are retried for as long
// as the consumer runs, each one reported.
func (c *consumer) deadLetter(dl brokerkit.DeadLetter) bool {
	bo := broker.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	tooLarge := 0
	for {
		ctx, cancel := context.WithTimeout(dl.Context(context.Background()), 30*time.Second)
		err := c.b.Publish(ctx, dl.Event)
		cancel()
		if err == nil {
			return true
		}
		if errors.Is(err, bus.ErrPayloadTooLarge) {
			if tooLarge++; tooLarge >= deadLetterGiveUpAttempts {
				from, _ := dl.Event.Metadata[broker.MetadataKeyDeadLetterTopic].(string)
				c.b.counters.DeadLetterFailed(from)
				c.b.errs.Report(broker.ScopeDeadLetter, fmt.Errorf("kinesis: %w: event %v of %q (%s) after %d attempts: %w",
					ErrDeadLetterDropped, dl.Event.Metadata[broker.MetadataKeyDeadLetterID], from, dl.Reason, tooLarge, err))
				return true
			}
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
