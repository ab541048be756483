package bus

import (
	"fmt"
	"sync"
	"testing"
)

func TestTopicTableKeepsTheFirstTopicsAndFoldsTheRestIntoOther(t *testing.T) {
	tab := TopicTable{Limit: 2}
	for _, topic := range []string{"a", "b", "c", "a", "d"} {
		tab.Counters(topic).Published.Add(1)
	}
	got := tab.Snapshot()
	want := map[string]TopicStats{"a": {Published: 2}, "b": {Published: 1}, OtherTopic: {Published: 2}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("snapshot %v, want %v", got, want)
	}
	if tab.Counters("c") != tab.Counters("d") {
		t.Errorf("topics beyond the limit must share the overflow counters")
	}
	if kept := tab.Counters("a"); tab.Counters("a") != kept {
		t.Errorf("a kept topic must keep its counters")
	}
}

func TestTopicTableCountsATopicNamedOtherWithTheOverflow(t *testing.T) {
	var tab TopicTable
	tab.Counters(OtherTopic).Delivered.Add(1)
	if got := tab.Snapshot(); len(got) != 1 || got[OtherTopic].Delivered != 1 {
		t.Fatalf("snapshot %v", got)
	}
}

func TestTopicTableZeroValueUsesTheDefaultLimit(t *testing.T) {
	var tab TopicTable
	for i := 0; i < DefaultTopicLimit+10; i++ {
		tab.Counters(fmt.Sprint("t", i)).Published.Add(1)
	}
	got := tab.Snapshot()
	if len(got) != DefaultTopicLimit+1 || got[OtherTopic].Published != 10 {
		t.Fatalf("%d topics, other=%+v; want %d topics and 10 in other", len(got), got[OtherTopic], DefaultTopicLimit+1)
	}
}

func TestTopicTableIsSafeForConcurrentUse(t *testing.T) {
	tab := TopicTable{Limit: 16}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				tab.Counters(fmt.Sprint("t", i%40)).Published.Add(1)
				_ = tab.Snapshot()
			}
		}()
	}
	wg.Wait()
	var total uint64
	got := tab.Snapshot()
	for _, s := range got {
		total += s.Published
	}
	if total != 4000 || len(got) != 17 {
		t.Fatalf("total %d over %d topics, want 4000 over 17", total, len(got))
	}
}

func TestTopicTableLookupDoesNotAllocate(t *testing.T) {
	tab := TopicTable{Limit: 1}
	tab.Counters("known")
	for _, topic := range []string{"known", "beyond.the.limit"} {
		if n := testing.AllocsPerRun(1000, func() { tab.Counters(topic).Published.Add(1) }); n != 0 {
			t.Errorf("Counters(%q) allocates %.1f times", topic, n)
		}
	}
}

func TestTopicStatsAdd(t *testing.T) {
	got := TopicStats{1, 2, 3, 4, 5, 6}.Add(TopicStats{10, 20, 30, 40, 50, 60})
	if got != (TopicStats{11, 22, 33, 44, 55, 66}) {
		t.Fatalf("got %+v", got)
	}
}
