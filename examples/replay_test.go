package examples_test

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// replayWant lists the orders the replay example's filter selects among
// ids from..to-1, decided here without the filter: EU (id%4 is 0 or 2),
// not cancelled (id%3 != 2), and a gold customer (ada or linus: id%5 is
// 0 or 2) or a gift card first (id%3 == 1).
func replayWant(from, to int) []string {
	var out []string
	for id := from; id < to; id++ {
		eu := id%4 == 0 || id%4 == 2
		gold := id%5 == 0 || id%5 == 2
		if eu && id%3 != 2 && (gold || id%3 == 1) {
			out = append(out, fmt.Sprint(id))
		}
	}
	return out
}

var replayOrder = regexp.MustCompile(`(?m)^  (run \d|this run): order +(\d+) `)

func replayRead(out string) map[string][]string {
	got := map[string][]string{}
	for _, m := range replayOrder.FindAllStringSubmatch(out, -1) {
		got[m[1]] = append(got[m[1]], m[2])
	}
	return got
}

func TestReplayBackfillsWithAFilterThenResumesFromTheSavedCursor(t *testing.T) {
	cursor := filepath.Join(t.TempDir(), "orders.cursor")
	out := runExample(t, "replay", time.Minute, "-cursor", cursor)
	t.Log("\n" + out)
	got := replayRead(out)
	if w := replayWant(1, 31); fmt.Sprint(got["run 1"]) != fmt.Sprint(w) {
		t.Errorf("run 1 (backfill) read orders %v, want %v in this order", got["run 1"], w)
	}
	if w := replayWant(31, 43); fmt.Sprint(got["run 2"]) != fmt.Sprint(w) {
		t.Errorf("run 2 (resumed) read orders %v, want only the later ones %v", got["run 2"], w)
	}
	for _, want := range []string{"run 1: no saved cursor: backfill from the oldest retained event", "run 2: resumed from the saved cursor", "each once"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// The next process finds the cursor of this one, which its engine
	// refuses: it says so and backfills.
	again := runExample(t, "replay", time.Minute, "-cursor", cursor)
	if !strings.Contains(again, "run 1: the engine refuses the saved cursor") {
		t.Errorf("a second process did not report the earlier process's cursor:\n%s", again)
	}
	if fmt.Sprint(replayRead(again)["run 1"]) != fmt.Sprint(replayWant(1, 31)) {
		t.Errorf("the second process's backfill read %v, want %v", replayRead(again)["run 1"], replayWant(1, 31))
	}
}

// TestReplayWithRedisResumesInTheNextProcessFromTheCursorFile runs the
// example twice, as two processes against one redis-server: the first
// publishes orders 1..30 and backfills them from the oldest with the
// filter, the second publishes 31..42 and, resuming from the cursor file
// of the first, reads only the later matching orders.
func TestReplayWithRedisResumesInTheNextProcessFromTheCursorFile(t *testing.T) {
	r := testinfra.StartRedis(t)
	cursor := filepath.Join(t.TempDir(), "orders.cursor")
	runs := []struct {
		publish  string
		from, to int
		says     string
	}{
		{"30", 1, 31, "this run: no saved cursor: backfill from the oldest retained event"},
		{"12", 31, 43, "this run: resumed from the saved cursor"},
	}
	for i, run := range runs {
		out := runExample(t, "replay", 2*time.Minute, "-redis", r.URL(), "-cursor", cursor, "-publish", run.publish)
		t.Logf("process %d:\n%s", i+1, out)
		published := fmt.Sprintf("published orders %d..%d after the %d already in the stream", run.from, run.to-1, run.from-1)
		for _, want := range []string{"route: orders.placed -> orders", published, run.says} {
			if !strings.Contains(out, want) {
				t.Errorf("process %d: output lacks %q", i+1, want)
			}
		}
		if strings.Contains(out, "refuses the saved cursor") {
			t.Errorf("process %d: the engine refused the cursor file", i+1)
		}
		got, want := replayRead(out)["this run"], replayWant(run.from, run.to)
		if len(want) == 0 {
			t.Fatalf("process %d: no order among %d..%d matches the filter: the test cannot tell a resume from a backfill", i+1, run.from, run.to-1)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("process %d read orders %v, want exactly %v in this order", i+1, got, want)
		}
	}
}

func TestReplaySaysHowToStartRedisWhenNoneIsReachable(t *testing.T) {
	// A port nobody listens on: bind a free one, then release it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("redis://%s/0", l.Addr())
	_ = l.Close()
	out := runExampleFailing(t, "replay", 2*time.Minute, "-redis", url, "-cursor", filepath.Join(t.TempDir(), "orders.cursor"))
	for _, want := range []string{"no redis-server reachable at " + url, "go run ./examples/replay -redis redis://127.0.0.1:6390/0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
