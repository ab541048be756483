package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// results is what the chart plots. It is read from (and written as)
// the text tables cmd/busbench prints, so the picture can be drawn from
// either program's output:
//
//	<header line>
//	case  ns/event median  min  max  M events/s  …          (throughput table)
//	engine  rate/s  achieved/s  p50  p99  p99.9  max        (latency table, µs)
type results struct {
	header     string
	throughput []throughputRow
	latency    []latencyRow
}

type throughputRow struct {
	name             string
	nsMedian, nsMin  float64
	nsMax, mEventsPS float64
}

type latencyRow struct {
	engine              string
	rate                int
	achieved            float64
	p50, p99, p999, max float64 // µs
}

// write prints r in the busbench table layout.
func (r *results) write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintln(&b, r.header)
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "case  ns/event median  min  max  M events/s")
	for _, t := range r.throughput {
		fmt.Fprintf(&b, "%s  %.1f  %.1f  %.1f  %.2f\n", t.name, t.nsMedian, t.nsMin, t.nsMax, t.mEventsPS)
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "engine  rate/s  achieved/s  p50  p99  p99.9  max")
	for _, l := range r.latency {
		fmt.Fprintf(&b, "%s  %d  %.0f  %.2f  %.1f  %.1f  %.0f\n", l.engine, l.rate, l.achieved, l.p50, l.p99, l.p999, l.max)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// parse reads the two tables. Case names may contain spaces, so a row is
// split into fields and its numbers are taken from the right.
func parse(in io.Reader) (*results, error) {
	r := &results{}
	sc := bufio.NewScanner(in)
	section := ""
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		fields := strings.Fields(text)
		switch {
		case line == 1:
			r.header = text
			continue
		case len(fields) == 0:
			section = ""
			continue
		case fields[0] == "case" && strings.Contains(text, "ns/event"):
			section = "throughput"
			continue
		case fields[0] == "engine" && strings.Contains(text, "rate/s"):
			section = "latency"
			continue
		}
		switch section {
		case "throughput":
			row, err := throughputFields(fields)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			r.throughput = append(r.throughput, row)
		case "latency":
			row, err := latencyFields(fields)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			r.latency = append(r.latency, row)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(r.throughput) == 0 && len(r.latency) == 0 {
		return nil, fmt.Errorf("no throughput or latency table found")
	}
	return r, nil
}

// throughputFields reads "name… ns-median min max Mev/s [more columns]".
// The name is everything before the first of the numeric columns.
func throughputFields(f []string) (throughputRow, error) {
	first := -1
	for i := range f {
		if _, err := strconv.ParseFloat(f[i], 64); err == nil {
			first = i
			break
		}
	}
	if first < 1 || len(f) < first+4 {
		return throughputRow{}, fmt.Errorf("throughput row %q: want a name and 4 numbers", strings.Join(f, " "))
	}
	v, err := floats(f[first : first+4])
	if err != nil {
		return throughputRow{}, err
	}
	return throughputRow{name: strings.Join(f[:first], " "), nsMedian: v[0], nsMin: v[1], nsMax: v[2], mEventsPS: v[3]}, nil
}

func latencyFields(f []string) (latencyRow, error) {
	if len(f) < 7 {
		return latencyRow{}, fmt.Errorf("latency row %q: want 7 columns", strings.Join(f, " "))
	}
	v, err := floats(f[1:7])
	if err != nil {
		return latencyRow{}, err
	}
	return latencyRow{engine: f[0], rate: int(v[0]), achieved: v[1], p50: v[2], p99: v[3], p999: v[4], max: v[5]}, nil
}

func floats(s []string) ([]float64, error) {
	out := make([]float64, len(s))
	for i, x := range s {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: not a number", x)
		}
		out[i] = v
	}
	return out, nil
}
