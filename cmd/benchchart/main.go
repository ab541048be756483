// Command benchchart draws docs/benchchart.svg: a chart of
// the event bus's throughput and publish→handler latency, from benchmark
// output.
//
//	go run ./cmd/benchchart -measure -data docs/benchchart.txt -out docs/benchchart.svg
//	go run ./cmd/benchchart -in docs/benchchart.txt -out docs/benchchart.svg
//	go run ./cmd/busbench > bench.txt && go run ./cmd/benchchart -in bench.txt -out docs/benchchart.svg
//
// -measure benchmarks the memory engine itself (throughput from 1 and 4
// producers to 1 and 4 subscribers; latency at paced rates) and writes
// its figures as text tables (-data) before drawing them; -in draws
// tables written earlier, by -measure or by cmd/busbench, whose table
// layout it reads.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	in := flag.String("in", "", "benchmark output to draw (benchchart -measure or cmd/busbench tables)")
	doMeasure := flag.Bool("measure", false, "measure the memory engine instead of reading -in")
	data := flag.String("data", "", "with -measure: also write the measured tables to this file")
	out := flag.String("out", "docs/benchchart.svg", "SVG file to write")
	rounds := flag.Int("rounds", 5, "with -measure: throughput rounds per case")
	perCase := flag.Duration("time", 300*time.Millisecond, "with -measure: approximate duration of one case in one round")
	latDur := flag.Duration("latdur", time.Second, "with -measure: duration of one latency run")
	rates := flag.String("rates", "10000,100000,1000000", "with -measure: offered latency rates, events/s")
	flag.Parse()
	if err := run(*in, *doMeasure, *data, *out, measureConfig{rounds: *rounds, perCase: *perCase, latDur: *latDur}, *rates); err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

func run(in string, doMeasure bool, data, out string, mc measureConfig, rates string) error {
	var (
		r      *results
		source string
		err    error
	)
	switch {
	case doMeasure == (in != ""):
		return fmt.Errorf("give exactly one of -in FILE and -measure")
	case doMeasure:
		for _, s := range strings.Split(rates, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v <= 0 {
				return fmt.Errorf("-rates: %q: want positive integers", s)
			}
			mc.rates = append(mc.rates, v)
		}
		if mc.rounds < 1 {
			return fmt.Errorf("-rounds: %d: must be >= 1", mc.rounds)
		}
		if r, err = measure(mc); err != nil {
			return err
		}
		source = "go run ./cmd/benchchart -measure (memory engine)"
		if data != "" {
			var buf bytes.Buffer
			if err := r.write(&buf); err != nil {
				return err
			}
			if err := os.WriteFile(data, buf.Bytes(), 0o644); err != nil {
				return err
			}
			source = data + ", measured by go run ./cmd/benchchart -measure (memory engine)"
		}
	default:
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		if r, err = parse(f); err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		source = in
	}
	var buf bytes.Buffer
	if err := render(&buf, r, source); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
