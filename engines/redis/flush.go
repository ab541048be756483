package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

var _ bus.Flusher = (*EventBus)(nil)

// Flush is a delivery barrier (bus.Flusher): it returns nil once every
// event stored in a stream this engine's subscriptions read, up to the
// moment Flush was called, has been handed to this engine's handlers and
// they returned, or was taken by another consumer of a shared group. In
// PublishAsync mode it first waits until the queued publishes were
// stored. It returns ctx's error if ctx ends first, and nil at once when
// the bus is stopped (nothing is being delivered; Stop handled or left
// pending in Redis what it held), as the other engines do.
//
// How: for each stream it notes the last entry id (XINFO STREAM
// last-generated-id), then waits until the subscription's group has read
// past it (XINFO GROUPS last-delivered-id), the reader completed one more
// read (so what it read is in its in-flight set) and no entry up to the
// noted id is in flight any more.
func (b *EventBus) Flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.gate.RLock()
	rs := b.run.Load()
	if rs == nil {
		b.gate.RUnlock()
		return nil
	}
	barrier := &pubReq{done: make(chan error, 1)}
	select {
	case rs.pub.queue <- barrier:
	case <-ctx.Done():
		b.gate.RUnlock()
		return ctx.Err()
	}
	b.gate.RUnlock()
	select {
	case <-barrier.done:
	case <-ctx.Done():
		return ctx.Err()
	}

	b.mu.Lock()
	var runs []*subRun
	for _, s := range b.subs {
		if s.cur != nil && s.cur.rs == rs {
			runs = append(runs, s.cur)
		}
	}
	b.mu.Unlock()
	for _, r := range runs {
		if err := r.flush(ctx); err != nil {
			return fmt.Errorf("redis engine: flush %q: %w", r.s.topic, err)
		}
		// In on-receive mode an entry is settled before its handler runs:
		// wait for the handler calls that began before now as well.
		if err := r.s.handling.Wait(ctx, time.Millisecond); err != nil {
			return fmt.Errorf("redis engine: flush %q: %w", r.s.topic, err)
		}
	}
	return nil
}

// flush waits until every entry of the subscription's streams, up to
// their current last ids, has been settled locally or read by another
// consumer.
func (r *subRun) flush(ctx context.Context) error {
	select {
	case <-r.ready:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	targets := map[string]streamID{}
	for _, key := range r.s.streamList() {
		info, err := r.rs.client.XInfoStream(ctx, key).Result()
		if err != nil {
			if isNoGroup(err) || isNoSuchKey(err) {
				continue
			}
			return err
		}
		if id := parseStreamID(info.LastGeneratedID); !id.zero() {
			targets[key] = id
		}
	}
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	wait := func() error {
		select {
		case <-poll.C:
			return nil
		case <-r.done:
			return errStopped
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// 1. The group has read past every target.
	for key, target := range targets {
		for {
			ok, err := r.groupReadPast(ctx, key, target)
			if err != nil {
				return err
			}
			if ok {
				break
			}
			if err := wait(); err != nil {
				return err
			}
		}
	}
	// 2. The reader finished a read after that, so whatever it read is
	// tracked (or already settled).
	seq := r.readSeq.Load()
	r.nudge()
	for r.readSeq.Load() == seq {
		if err := wait(); err != nil {
			return err
		}
		r.nudge()
	}
	// 3. Nothing up to the targets is in flight.
	for !r.settledUpTo(targets) {
		if err := wait(); err != nil {
			return err
		}
	}
	return nil
}

func (r *subRun) groupReadPast(ctx context.Context, key string, target streamID) (bool, error) {
	groups, err := r.rs.client.XInfoGroups(ctx, key).Result()
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		if g.Name == r.s.group {
			return !parseStreamID(g.LastDeliveredID).less(target), nil
		}
	}
	return false, fmt.Errorf("group %s missing on %s", r.s.group, key)
}

func (r *subRun) settledUpTo(targets map[string]streamID) bool {
	r.trackMu.Lock()
	defer r.trackMu.Unlock()
	for ref := range r.tracked {
		if t, ok := targets[ref.stream]; ok && !t.less(parseStreamID(ref.id)) {
			return false
		}
	}
	return true
}

// streamID is a parsed stream entry id "<ms>-<seq>".
type streamID struct{ ms, seq uint64 }

func parseStreamID(s string) streamID {
	a, b, _ := strings.Cut(s, "-")
	ms, _ := strconv.ParseUint(a, 10, 64)
	seq, _ := strconv.ParseUint(b, 10, 64)
	return streamID{ms, seq}
}

func (x streamID) zero() bool { return x.ms == 0 && x.seq == 0 }

func (x streamID) less(y streamID) bool {
	return x.ms < y.ms || (x.ms == y.ms && x.seq < y.seq)
}
