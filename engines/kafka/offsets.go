package kafka

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// commitStartOffsets makes sure group has a committed offset for every
// partition in parts before the group's consumer joins, so that no event
// published after Subscribe returned can be skipped: a consumer that joins
// later and found no committed offset would start at the then-current end
// of the log (auto.offset.reset=latest) and miss what was written in
// between.
//
// For each partition without a committed offset it commits the current
// high-water mark (newest) or the log start (oldest). Partitions that
// already have one (a shared group id, a restart) keep it. When another
// member of a shared group is active, the broker refuses commits from
// outside the generation; that member then owns the positions, and the
// refusal is not an error.
func (r *runState) commitStartOffsets(group string, parts topicList, newest bool) error {
	if len(parts) == 0 {
		return nil
	}
	req := make(map[string][]int32, len(parts))
	for t, ps := range parts {
		req[t] = ps
	}
	fetched, err := r.admin.ListConsumerGroupOffsets(group, req)
	switch {
	case errors.Is(err, sarama.ErrGroupIDNotFound):
		fetched = &sarama.OffsetFetchResponse{} // a new group: nothing committed
	case err != nil:
		return fmt.Errorf("fetch committed offsets of group %q: %w", group, err)
	case fetched.Err == sarama.ErrGroupIDNotFound:
		fetched = &sarama.OffsetFetchResponse{}
	case fetched.Err != sarama.ErrNoError:
		return fmt.Errorf("fetch committed offsets of group %q: %w", group, fetched.Err)
	}
	which := sarama.OffsetOldest
	if newest {
		which = sarama.OffsetNewest
	}
	missing := map[string]map[int32]int64{}
	for t, ps := range parts {
		for _, p := range ps {
			if blk := fetched.GetBlock(t, p); blk != nil && blk.Err == sarama.ErrNoError && blk.Offset >= 0 {
				continue
			}
			if missing[t] == nil {
				missing[t] = map[int32]int64{}
			}
			missing[t][p] = which
		}
	}
	if len(missing) == 0 {
		return nil
	}
	listed, err := r.admin.ListOffsets(missing, nil)
	if err != nil {
		return fmt.Errorf("list offsets for group %q: %w", group, err)
	}
	commit := make(map[string]map[int32]sarama.OffsetAndMetadata, len(listed))
	for t, m := range listed {
		for p, res := range m {
			if !noError(res.Err) {
				return fmt.Errorf("list offsets of %s/%d: %w", t, p, res.Err)
			}
			if commit[t] == nil {
				commit[t] = map[int32]sarama.OffsetAndMetadata{}
			}
			commit[t][p] = sarama.OffsetAndMetadata{Offset: res.Offset, LeaderEpoch: -1}
		}
	}
	resp, err := r.admin.AlterConsumerGroupOffsets(group, commit, nil)
	if err != nil {
		if groupIsActive(err) {
			return nil
		}
		return fmt.Errorf("commit start offsets of group %q: %w", group, err)
	}
	for t, m := range resp.Errors {
		for p, kerr := range m {
			if kerr == sarama.ErrNoError || groupIsActive(kerr) {
				continue
			}
			return fmt.Errorf("commit start offset of %s/%d for group %q: %w", t, p, group, kerr)
		}
	}
	return nil
}

// groupIsActive reports the errors a broker returns for a commit from
// outside the current generation of an active group.
func groupIsActive(err error) bool {
	return errors.Is(err, sarama.ErrIllegalGeneration) ||
		errors.Is(err, sarama.ErrUnknownMemberId) ||
		errors.Is(err, sarama.ErrRebalanceInProgress) ||
		errors.Is(err, sarama.ErrFencedInstancedId)
}

// noError reports whether a per-partition error from sarama is absent
// (nil, or the KError ErrNoError that some responses carry).
func noError(err error) bool { return err == nil || errors.Is(err, sarama.ErrNoError) }
