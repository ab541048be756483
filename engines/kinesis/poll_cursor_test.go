package kinesis

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
)

// lineage builds a shard list from "id" or "id<parent" or
// "id<parent+adjacent" entries, in id order.
func lineage(entries ...string) *shardSet {
	set := &shardSet{byID: map[string]*shard{}}
	for _, e := range entries {
		sh := &shard{}
		var parents string
		if n, _ := fmt.Sscanf(e, "%1s<%s", &sh.id, &parents); n == 0 {
			panic(e)
		}
		if parents != "" {
			sh.parent = parents[:1]
			if len(parents) == 3 {
				sh.adjacentParent = parents[2:]
			}
		}
		set.list = append(set.list, sh)
		set.byID[sh.id] = sh
	}
	return set
}

func ids(shards []*shard) []string {
	var out []string
	for _, sh := range shards {
		out = append(out, sh.id)
	}
	return out
}

func TestPollCursorLineage(t *testing.T) {
	// a is split into b and c, which are merged into d.
	set := lineage("a", "b<a", "c<a", "d<b+c")
	cases := []struct {
		name string
		pos  map[string]string
		want []string // readable shards
	}{
		{"an empty cursor reads the oldest shard only", map[string]string{}, []string{"a"}},
		{"a parent half read keeps its children waiting", map[string]string{"a": "5"}, []string{"a"}},
		{"a parent at its end lets both children be read", map[string]string{"a": posEnd}, []string{"b", "c"}},
		{"a merge waits for both parents", map[string]string{"a": posEnd, "b": posEnd, "c": "7"}, []string{"c"}},
		{"a merge follows its two parents", map[string]string{"a": posEnd, "b": posEnd, "c": posEnd}, []string{"d"}},
		{"a named child means its parent was finished", map[string]string{"b": "9", "c": "8"}, []string{"b", "c"}},
		{"a named grandchild finishes the whole line", map[string]string{"d": "3"}, []string{"d"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &pollCursor{Pos: tc.pos}
			if got := ids(readable(set, c, nil)); !slices.Equal(got, tc.want) {
				t.Errorf("readable %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("prune drops a parent's end once every child is named, and what is no longer listed", func(t *testing.T) {
		c := &pollCursor{Pos: map[string]string{"a": posEnd, "b": "4", "gone": "12"}}
		c.prune(set)
		if _, ok := c.Pos["a"]; !ok {
			t.Errorf("a dropped while c is not named yet: %v", c.Pos)
		}
		if _, ok := c.Pos["gone"]; ok {
			t.Errorf("a shard no longer listed was kept: %v", c.Pos)
		}
		c.Pos["c"] = "6"
		c.prune(set)
		if _, ok := c.Pos["a"]; ok {
			t.Errorf("a kept although b and c are named: %v", c.Pos)
		}
		c.Pos["b"], c.Pos["c"], c.Pos["d"] = posEnd, posEnd, "1"
		c.prune(set)
		if len(c.Pos) != 1 || c.Pos["d"] != "1" {
			t.Errorf("after the merge was started: %v, want only d", c.Pos)
		}
		if got := ids(readable(set, c, nil)); !slices.Equal(got, []string{"d"}) {
			t.Errorf("readable after pruning %v, want [d]", got)
		}
	})

	t.Run("a restricted poll does not wait for parents outside it", func(t *testing.T) {
		c := &pollCursor{Pos: map[string]string{}}
		if got := ids(readable(set, c, map[string]bool{"b": true})); !slices.Equal(got, []string{"b"}) {
			t.Errorf("readable %v, want [b]", got)
		}
	})
}

func TestPollCursorEncoding(t *testing.T) {
	c := &pollCursor{Stream: "s", Topic: "orders.*", Pos: map[string]string{"shardId-000000000001": "49590338271490256608559692538361571095921575989136588898", "shardId-000000000000": posEnd}}
	back, err := decodeCursor(c.encode(), "s", "orders.*")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Pos) != fmt.Sprint(c.Pos) {
		t.Errorf("decoded %v, want %v", back.Pos, c.Pos)
	}
	for _, text := range []string{
		"", "kin1.", "kin1.!!!", "kin2." + c.encode()[5:],
		(&pollCursor{Stream: "s", Topic: "orders.*", Pos: map[string]string{"": "1"}}).encode(),
		(&pollCursor{Stream: "s", Topic: "orders.*", Pos: map[string]string{"x": "-1"}}).encode(),
		cursorPrefix + "eyJzIjoicyIsInQiOiJvcmRlcnMuKiIsInAiOnt9LCJ4IjoxfQ", // an unknown field
	} {
		if _, err := decodeCursor(text, "s", "orders.*"); !errorsIs(err, bus.ErrInvalidCursor) {
			t.Errorf("decodeCursor(%q) = %v, want ErrInvalidCursor", text, err)
		}
	}
}
