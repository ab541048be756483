package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Flush is a delivery barrier (bus.Flusher): it returns nil once every
// event whose Publish returned before the call has been handled (or
// dead-lettered) by every subscription of this engine whose topics it was
// published to. It first waits for the asynchronous publishes still in the
// producer, then reads the high-water mark of every partition the
// subscriptions consume and waits until each subscription's settled
// position reaches it: the position this engine marked, or, for
// partitions another member of a shared group owns, the group's committed
// offset (committed every commitInterval). It returns ctx's error if ctx
// ends first, and nil at once when the engine is stopped.
func (b *EventBus) Flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	r, err := b.running()
	if err != nil {
		return nil
	}
	if err := r.prod.async.Wait(ctx, time.Millisecond); err != nil {
		return err
	}
	for _, s := range b.subscriptions() {
		if err := s.flush(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// flush waits until s settled every record below the current high-water
// marks of its partitions.
func (s *subscription) flush(ctx context.Context, r *runState) error {
	s.mu.Lock()
	req := map[string]map[int32]int64{}
	for t, ps := range s.known {
		req[t] = map[int32]int64{}
		for _, p := range ps {
			req[t][p] = sarama.OffsetNewest
		}
	}
	s.mu.Unlock()
	if len(req) == 0 {
		return nil
	}
	hwms, err := r.admin.ListOffsets(req, nil)
	if err != nil {
		return fmt.Errorf("kafka engine: flush %q: list offsets: %w", s.topic, err)
	}
	targets := map[topicPartition]int64{}
	for t, m := range hwms {
		for p, res := range m {
			if noError(res.Err) && res.Offset > 0 {
				targets[topicPartition{t, p}] = res.Offset
			}
		}
	}
	var lastCommitted time.Time
	for len(targets) > 0 {
		for tp, hwm := range targets {
			if s.progressOf(tp.topic, tp.partition).Load() >= hwm {
				delete(targets, tp)
			}
		}
		if s.removed.Load() {
			return nil
		}
		if len(targets) == 0 {
			break
		}
		if time.Since(lastCommitted) > 100*time.Millisecond {
			lastCommitted = time.Now()
			s.raiseFromCommitted(r, targets)
		}
		if !sleepCtx(ctx, time.Millisecond) {
			return ctx.Err()
		}
	}
	// Every record below the marks is settled; in on-receive mode that
	// happens before its handler runs, so wait for the handler calls that
	// began before now as well.
	return s.handling.Wait(ctx, time.Millisecond)
}

// raiseFromCommitted raises the progress of the target partitions to the
// group's committed offsets (positions settled by other members).
func (s *subscription) raiseFromCommitted(r *runState, targets map[topicPartition]int64) {
	req := map[string][]int32{}
	for tp := range targets {
		req[tp.topic] = append(req[tp.topic], tp.partition)
	}
	resp, err := r.admin.ListConsumerGroupOffsets(s.group, req)
	if err != nil || resp.Err != sarama.ErrNoError {
		return
	}
	for tp := range targets {
		if blk := resp.GetBlock(tp.topic, tp.partition); blk != nil && blk.Err == sarama.ErrNoError && blk.Offset >= 0 {
			raise(s.progressOf(tp.topic, tp.partition), blk.Offset)
		}
	}
}
