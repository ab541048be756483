package kafka

// Redelivery flag (broker.Delivery.Redelivered).
//
// Kafka stores one committed offset per partition and group, not which
// records a member read: when a partition moves to a new owner, or back
// to this process, it is consumed again from the committed offset, and
// the records between that offset and wherever the previous owner had
// read are handed over again. Which of them the previous owner had read
// is knowable only to that owner. So the flag is set for what this
// process itself took before:
//
//   - each subscription keeps, per partition, the range of offsets
//     [lo, hi) its claims took (an ended claim adds its range; successive
//     claims of one partition in one process are sequential: sarama ends
//     a claim before the partition is claimed again);
//   - a new claim copies that range once (claimState.before), and a
//     record whose offset lies in it is flagged Redelivered: this process
//     took it before and the group's commit had not passed it.
//
// It costs one lock per claim start and end and two comparisons per
// record. Not flagged (false negatives): records a crashed or evicted
// other process had read but not committed, and records of an earlier
// process of the same service (restarts). Retries inside this process are
// counted by Delivery.Attempt instead.

// offsetRange is a half-open range of offsets [lo, hi); empty when
// hi <= lo.
type offsetRange struct{ lo, hi int64 }

func (r offsetRange) contains(off int64) bool { return off >= r.lo && off < r.hi }

// union returns the smallest range holding r and o.
func (r offsetRange) union(o offsetRange) offsetRange {
	if o.hi <= o.lo {
		return r
	}
	if r.hi <= r.lo {
		return o
	}
	return offsetRange{lo: min(r.lo, o.lo), hi: max(r.hi, o.hi)}
}

// takenBefore returns the offsets of one partition taken by earlier
// claims of the subscription.
func (s *subscription) takenBefore(tp topicPartition) offsetRange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken[tp]
}

// addTaken records the offsets an ended claim took.
func (s *subscription) addTaken(tp topicPartition, r offsetRange) {
	if r.hi <= r.lo {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken == nil {
		s.taken = map[topicPartition]offsetRange{}
	}
	s.taken[tp] = s.taken[tp].union(r)
}
