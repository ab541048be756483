package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// discovery finds streams created after a wildcard subscription was made.
// One goroutine per run scans the key space (SCAN MATCH <prefix>* TYPE
// stream) every DiscoveryInterval, and at once when this engine publishes
// to a topic for the first time; each new matching stream gets the
// subscription's group (starting at the subscription's creation time) and
// the subscription's reader is woken to include it.
type discovery struct {
	b     *EventBus
	rs    *runState
	kick  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	start func()
}

func newDiscovery(b *EventBus, rs *runState) *discovery {
	d := &discovery{b: b, rs: rs, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	d.start = func() {
		go func() {
			defer close(d.done)
			d.loop()
		}()
	}
	return d
}

// wake asks for a scan now (non-blocking; safe after stop).
func (d *discovery) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *discovery) stop() {
	close(d.quit)
	<-d.done
}

func (d *discovery) loop() {
	tick := time.NewTicker(d.b.cfg.DiscoveryInterval.Std())
	defer tick.Stop()
	for {
		select {
		case <-d.quit:
			return
		case <-tick.C:
		case <-d.kick:
		}
		d.scan()
	}
}

// scan looks for new streams of every wildcard subscription.
func (d *discovery) scan() {
	d.b.mu.Lock()
	var subs []*subscription
	for _, s := range d.b.subs {
		if bus.IsPattern(s.topic) && s.cur != nil && s.cur.rs == d.rs {
			subs = append(subs, s)
		}
	}
	d.b.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	ctx := d.rs.life
	keys, err := d.b.scanStreams(ctx, d.rs, "*")
	if err != nil {
		d.b.errs.Report(broker.ScopeDiscover, err)
		return
	}
	for _, s := range subs {
		have := map[string]bool{}
		for _, k := range s.streamList() {
			have[k] = true
		}
		var added []string
		for _, k := range keys {
			if have[k] || !d.b.cfg.Options.SubscriptionMatches(s.topic, d.b.topicOf(k)) {
				continue
			}
			if err := createGroup(ctx, d.rs.client, k, s.group, s.laterStartID()); err != nil {
				d.b.errs.Report(broker.ScopeDiscover, err)
				continue
			}
			added = append(added, k)
		}
		if len(added) > 0 && s.addStreams(added...) {
			d.b.mu.Lock()
			r := s.cur
			d.b.mu.Unlock()
			if r != nil {
				r.nudge()
			}
		}
	}
}

// scanStreams returns the stream keys that a subscription pattern may
// match (SCAN … TYPE stream).
func (b *EventBus) scanStreams(ctx context.Context, rs *runState, pattern string) ([]string, error) {
	var out []string
	iter := rs.client.ScanType(ctx, 0, b.scanPattern(pattern), 1000, "stream").Iterator()
	for iter.Next(ctx) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("SCAN %s: %w", b.scanPattern(pattern), err)
	}
	return out, nil
}
