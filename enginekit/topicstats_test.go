package enginekit

import (
	"fmt"
	"sync"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
)

func TestTopicTableKeepsTheFirstTopicsAndFoldsTheRestIntoOther(t *testing.T) {
	tab := TopicTable{Limit: 2}
	for _, topic := range []string{"a", "b", "c", "a", "d"} {
		tab.Counters(topic).Published.Add(1)
	}
	got := tab.Snapshot()
	want := map[string]bus.TopicStats{"a": {Published: 2}, "b": {Published: 1}, bus.OtherTopic: {Published: 2}}
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
	tab.Counters(bus.OtherTopic).Delivered.Add(1)
	if got := tab.Snapshot(); len(got) != 1 || got[bus.OtherTopic].Delivered != 1 {
		t.Fatalf("snapshot %v", got)
	}
}

func TestTopicTableZeroValueUsesTheDefaultLimit(t *testing.T) {
	var tab TopicTable
	for i := 0; i < bus.DefaultTopicLimit+10; i++ {
		tab.Counters(fmt.Sprint("t", i)).Published.Add(1)
	}
	got := tab.Snapshot()
	if len(got) != bus.DefaultTopicLimit+1 || got[bus.OtherTopic].Published != 10 {
		t.Fatalf("%d topics, other=%+v; want %d topics and 10 in other", len(got), got[bus.OtherTopic], bus.DefaultTopicLimit+1)
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
