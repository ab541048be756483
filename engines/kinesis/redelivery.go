package kinesis

// Redelivery flag (broker.Delivery.Redelivered).
//
// A shard is read again from its checkpoint whenever a reader starts on
// it: after Stop and Start, after this process lost the lease and took it
// back, or when another process takes the lease over. Records after the
// checkpoint that the previous reader had already handed to a handler
// are read again. Which records that were is known only to the process
// that read them, because the checkpoint store keeps the settled
// watermark, not the read position. So the flag is set for what this
// process itself read before:
//
//   - each subscription keeps, per shard, the highest sequence number its
//     readers handed on (a reader adds it when it ends; one reader per
//     shard and subscription runs at a time);
//   - a new reader copies it once (reader.before), and a record whose
//     sequence number is at or below it is flagged Redelivered: it was
//     read after an older checkpoint, and the checkpoint never moves
//     back, so this process handed it on before.
//
// It costs one lock per reader start and end and one string comparison
// per record. Not flagged (false negatives): records another process
// (or an earlier process of the same application) read without
// checkpointing them before its lease was taken over. Retries inside
// this process are counted by Delivery.Attempt instead.

// seqAtMost reports whether sequence number a is at or below b (both
// decimal strings, as Kinesis issues them; "" is below everything).
func seqAtMost(a, b string) bool {
	if b == "" {
		return false
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a <= b
}

// takenBefore returns the highest sequence number of shard handed on by
// earlier readers of the subscription in this process ("" for none).
func (s *subscription) takenBefore(shard string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken[shard]
}

// addTaken records the highest sequence number a reader handed on.
func (s *subscription) addTaken(shard, seq string) {
	if seq == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken == nil {
		s.taken = map[string]string{}
	}
	if !seqAtMost(seq, s.taken[shard]) {
		s.taken[shard] = seq
	}
}
