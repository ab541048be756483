package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// busbenchSample is the layout cmd/busbench prints (tabwriter, right
// aligned, names with spaces, more columns than the chart uses).
const busbenchSample = `busbench: go1.26.8 linux/amd64 GOMAXPROCS=2 NumCPU=2, 5 rounds, ~300ms per case

cache-line ping-pong RTT: median 120 ns (min 110, max 140)

                 case  ns/event median   min   max  M events/s  allocs/event  B/event  × chan (median)  × chan (worst round)
          chan1024 P1               60.1  55.0  70.2        16.6         0.000      0.0             1.00                  1.00
sharded P1 S1 batch16               12.5  11.0  14.0        80.0         0.000      0.0             0.21                  0.25

targets (medians of per-round ratios):
  P1→S1 Publish ≤ 0.50× chan, never > 1.0×:      median 0.40×, worst 0.60×  MET

latency, 1 producer paced, 1 subscriber, 1s per run, medians of 3 runs (µs):

   engine   rate/s  achieved/s   p50    p99  p99.9   max
  sharded    10000       10000  0.80   12.0   40.0   120
   memory  1000000      990000  3.10  150.0  900.0  4000
`

func TestParseReadsBusbenchTables(t *testing.T) {
	r, err := parse(strings.NewReader(busbenchSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.throughput) != 2 || r.throughput[1].name != "sharded P1 S1 batch16" || r.throughput[1].mEventsPS != 80 {
		t.Fatalf("throughput rows %+v", r.throughput)
	}
	if len(r.latency) != 2 || r.latency[1].engine != "memory" || r.latency[1].rate != 1000000 || r.latency[1].p999 != 900 {
		t.Fatalf("latency rows %+v", r.latency)
	}
	if !strings.HasPrefix(r.header, "busbench:") {
		t.Errorf("header %q", r.header)
	}
}

func TestWriteThenParseRoundTrips(t *testing.T) {
	r, err := parse(strings.NewReader(busbenchSample))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.throughput) != 2 || len(back.latency) != 2 || back.throughput[1].name != r.throughput[1].name || back.latency[0].p99 != 12 {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestParseRejectsInputWithoutTables(t *testing.T) {
	if _, err := parse(strings.NewReader("hello\nworld\n")); err == nil {
		t.Fatal("input without tables was accepted")
	}
	if _, err := parse(strings.NewReader("h\n\nengine rate/s achieved/s p50 p99 p99.9 max\nmemory x 1 2 3 4 5\n")); err == nil {
		t.Fatal("a non-numeric latency row was accepted")
	}
}

func TestRenderWritesWellFormedSVGWithBothPanels(t *testing.T) {
	r, err := parse(strings.NewReader(busbenchSample))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := render(&buf, r, "sample <&> input"); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, buf.Bytes())
	for _, want := range []string{"Throughput", "Latency", "sharded P1 S1 batch16", "p99.9", "1M/s offered", "sample &lt;&amp;&gt; input"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestMeasureRunsTheMemoryEngineAndDrawsIt(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "bench.txt"), filepath.Join(dir, "dash.svg")
	mc := measureConfig{rounds: 1, perCase: 5 * time.Millisecond, latDur: 20 * time.Millisecond}
	if err := run("", true, data, out, mc, "2000"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.throughput) != 3 || len(r.latency) != 1 || r.throughput[0].mEventsPS <= 0 || r.latency[0].p50 <= 0 {
		t.Fatalf("measured %+v", r)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, svg)
	if err := run("", false, "", out, mc, ""); err == nil {
		t.Fatal("neither -in nor -measure was accepted")
	}
}

func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}

// legendColors maps each engine in an SVG's latency legend to its colour
// (a 10×10 swatch followed by the engine's name).
func legendColors(t *testing.T, svg []byte) map[string]string {
	t.Helper()
	re := regexp.MustCompile(`<rect [^>]*width="10.0" height="10.0" fill="(#[0-9a-f]+)"/>\n<text [^>]*>([^<]+)</text>`)
	out := map[string]string{}
	for _, m := range re.FindAllSubmatch(svg, -1) {
		out[string(m[2])] = string(m[1])
	}
	return out
}

func TestMeasureModeColoursTheMemoryEngineAsTheCommittedChartDoes(t *testing.T) {
	committed, err := os.ReadFile("../../docs/benchchart.svg")
	if err != nil {
		t.Fatal(err)
	}
	want := legendColors(t, committed)
	if want["memory"] == "" || want["sharded"] == "" {
		t.Fatalf("committed chart legend: %v", want)
	}
	out := filepath.Join(t.TempDir(), "chart.svg")
	mc := measureConfig{rounds: 1, perCase: 5 * time.Millisecond, latDur: 20 * time.Millisecond}
	if err := run("", true, "", out, mc, "2000"); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := legendColors(t, svg)["memory"]; got != want["memory"] {
		t.Errorf("memory engine drawn in %s, the committed chart draws it in %s (sharded: %s)", got, want["memory"], want["sharded"])
	}
}

func TestShardedLatencyLinesAreDrawnOverTheOthers(t *testing.T) {
	r, err := parse(strings.NewReader(busbenchSample)) // sharded is the first latency row
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := render(&buf, r, "sample"); err != nil {
		t.Fatal(err)
	}
	pal := legendColors(t, buf.Bytes())
	lines := regexp.MustCompile(`<polyline [^>]*stroke="(#[0-9a-f]+)"`).FindAllSubmatch(buf.Bytes(), -1)
	if len(lines) == 0 {
		t.Fatal("no latency lines")
	}
	if last := string(lines[len(lines)-1][1]); last != pal["sharded"] {
		t.Errorf("the last line drawn is %s, want the sharded engine's %s (legend %v)", last, pal["sharded"], pal)
	}
}
