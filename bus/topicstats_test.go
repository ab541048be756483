package bus

import (
	"testing"
)

func TestTopicStatsAdd(t *testing.T) {
	got := TopicStats{1, 2, 3, 4, 5, 6}.Add(TopicStats{10, 20, 30, 40, 50, 60})
	if got != (TopicStats{11, 22, 33, 44, 55, 66}) {
		t.Fatalf("got %+v", got)
	}
}
