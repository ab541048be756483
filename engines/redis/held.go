package redis

import (
	"context"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
)

// What a subscription run holds.
//
// Every entry read or claimed is tracked from then until it is settled
// (in after-handle mode: until its XACK was sent). A tracked entry is
// "held": it waits in the reader's batch, runs in a handler, or waits for
// its XACK. Three rules follow from it.
//
//   - Held entries are kept fresh. Every third of ClaimTimeout the claim
//     goroutine re-claims them to their own consumer with XCLAIM … JUSTID,
//     which resets their idle time without counting a delivery. So no
//     consumer of the group (this one included) ever finds a held entry
//     idle for ClaimTimeout: what a live consumer holds is never taken
//     over, however many entries it read ahead and however long a handler
//     runs, and Redis's delivery count of an entry only grows when it is
//     read or claimed again after a failure. ClaimTimeout is therefore the
//     time after which the entries of a consumer that stopped refreshing
//     (crashed, killed, cut off from Redis) are taken over.
//   - The claimer never hands a held entry over again, and neither one
//     settled while its XAUTOCLAIM was in flight: XAUTOCLAIM can take an
//     entry just before its XACK lands, and the entry is then no longer
//     tracked when the claim result is filtered.
//   - On a clean stop, the entries read but never handed to the handler
//     get their delivery count back (XCLAIM … RETRYCOUNT n-1 JUSTID), so
//     that a restart re-reading them does not count against
//     MaxDeliveries either.

type entryRef struct{ stream, id string }

// heldEntry is what a run knows of an entry it holds.
type heldEntry struct {
	// deliveries is Redis's delivery count of the entry when it was read
	// or claimed (1 for a fresh read), 0 when not known.
	deliveries int64
	// handed is set once the entry reached the handler (or was settled
	// without one).
	handed bool
}

// refreshDivisor: held entries are refreshed every ClaimTimeout /
// refreshDivisor, so one missed refresh still leaves them fresh.
const refreshDivisor = 3

func (r *subRun) track(stream string, msgs []goredis.XMessage, deliveries int64) {
	r.trackMu.Lock()
	for _, m := range msgs {
		r.tracked[entryRef{stream, m.ID}] = heldEntry{deliveries: deliveries}
	}
	r.trackMu.Unlock()
}

func (r *subRun) untrack(stream, id string) {
	k := entryRef{stream, id}
	r.trackMu.Lock()
	delete(r.tracked, k)
	if r.claiming {
		r.settled[k] = struct{}{}
	}
	r.trackMu.Unlock()
}

// noteDeliveries records the delivery counts Redis reported for entries
// read again or claimed.
func (r *subRun) noteDeliveries(stream string, counts map[string]int64) {
	r.trackMu.Lock()
	for id, n := range counts {
		k := entryRef{stream, id}
		if h, ok := r.tracked[k]; ok {
			h.deliveries = n
			r.tracked[k] = h
		}
	}
	r.trackMu.Unlock()
}

// handed marks an entry as given to the handler.
func (r *subRun) handed(stream, id string) {
	k := entryRef{stream, id}
	r.trackMu.Lock()
	if h, ok := r.tracked[k]; ok {
		h.handed = true
		r.tracked[k] = h
	}
	r.trackMu.Unlock()
}

// beginClaim starts recording settlements for untracked.
func (r *subRun) beginClaim() {
	r.trackMu.Lock()
	r.claiming = true
	clear(r.settled)
	r.trackMu.Unlock()
}

// untracked ends a claim: it returns the entries of msgs that are neither
// held nor settled since beginClaim, tracking them.
func (r *subRun) untracked(stream string, msgs []goredis.XMessage) []goredis.XMessage {
	out := msgs[:0:0]
	r.trackMu.Lock()
	for _, m := range msgs {
		k := entryRef{stream, m.ID}
		_, busy := r.tracked[k]
		_, done := r.settled[k]
		if !busy && !done {
			r.tracked[k] = heldEntry{}
			out = append(out, m)
		}
	}
	r.claiming = false
	clear(r.settled)
	r.trackMu.Unlock()
	return out
}

// heldSet groups held entries by stream and, for giveBackDeliveries, by
// delivery count.
type heldSet struct {
	stream     string
	deliveries int64
}

// heldIDs returns the ids of the held entries per stream, in id order;
// with unhanded, only those never handed to the handler, grouped by
// their known delivery count too (count 0: not known, left out).
func (r *subRun) heldIDs(unhanded bool) map[heldSet][]string {
	out := map[heldSet][]string{}
	r.trackMu.Lock()
	for k, h := range r.tracked {
		key := heldSet{stream: k.stream}
		if unhanded {
			if h.handed || h.deliveries <= 0 {
				continue
			}
			key.deliveries = h.deliveries
		}
		out[key] = append(out[key], k.id)
	}
	r.trackMu.Unlock()
	for _, ids := range out {
		slices.Sort(ids)
	}
	return out
}

// refreshBatch bounds the ids of one XCLAIM.
const refreshBatch = 512

// refresh re-claims every held entry to this consumer (XCLAIM … JUSTID:
// the idle time restarts, the delivery count does not grow). An entry
// acknowledged meanwhile is no longer pending and XCLAIM skips it.
func (r *subRun) refresh() {
	for key, ids := range r.heldIDs(false) {
		for len(ids) > 0 {
			n := min(len(ids), refreshBatch)
			err := r.rs.client.XClaimJustID(r.rs.life, &goredis.XClaimArgs{
				Stream: key.stream, Group: r.s.group, Consumer: r.s.consumer, Messages: ids[:n],
			}).Err()
			if err != nil && !isNoGroup(err) && !r.quitting() {
				r.s.b.errs.Report(broker.ScopeReclaim, fmt.Errorf("XCLAIM %s %s (keep held entries): %w", key.stream, r.s.group, err))
				return
			}
			ids = ids[n:]
		}
	}
}

// giveBackDeliveries runs when the run has stopped: the entries it read
// but never handed to the handler stay pending, and their delivery count
// goes back to what it was before this run read them, so reading them
// again later is not counted as a failed delivery.
func (r *subRun) giveBackDeliveries() {
	if r.s.b.cfg.MaxDeliveries < 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for key, ids := range r.heldIDs(true) {
		n := key.deliveries
		for len(ids) > 0 {
			k := min(len(ids), refreshBatch)
			args := make([]any, 0, k+8)
			args = append(args, "XCLAIM", key.stream, r.s.group, r.s.consumer, 0)
			for _, id := range ids[:k] {
				args = append(args, id)
			}
			args = append(args, "RETRYCOUNT", n-1, "JUSTID")
			if err := r.rs.client.Do(ctx, args...).Err(); err != nil && !isNoGroup(err) {
				r.s.b.errs.Report(broker.ScopeReclaim, fmt.Errorf("XCLAIM %s %s (give back deliveries): %w", key.stream, r.s.group, err))
				return
			}
			ids = ids[k:]
		}
	}
}
