package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
)

// Dashboard look: a dark panel layout in the style of common metrics
// dashboards, so the picture reads like the Grafana board a user would
// build from the exported metrics.
const (
	width      = 1000
	height     = 470
	background = "#111217"
	panelFill  = "#181b1f"
	panelLine  = "#2c3235"
	textColor  = "#ccccdc"
	dimText    = "#8e8e9e"
	gridColor  = "#2c3235"
)

// engineColors fixes the colour of every engine the benchmarks know, so
// an engine keeps its colour whichever others a run measured (a -measure
// run has only the memory engine: it used to get the first colour, the
// one the committed chart gives the sharded engine).
var engineColors = map[string]string{
	"sharded":  "#73bf69",
	"chan1024": "#f2cc0c",
	"memory":   "#ff780a",
}

// otherColors are given, in order of appearance, to engines not in
// engineColors.
var otherColors = []string{"#5794f2", "#b877d9", "#ff7383", "#8ab8ff"}

type svgWriter struct {
	b strings.Builder
}

func (w *svgWriter) f(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

func (w *svgWriter) text(x, y float64, size int, color, anchor, s string) {
	w.f(`<text x="%.1f" y="%.1f" font-size="%d" fill="%s" text-anchor="%s">%s</text>`+"\n", x, y, size, color, anchor, html.EscapeString(s))
}

func (w *svgWriter) rect(x, y, wd, ht float64, fill string) {
	w.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x, y, max(wd, 0), max(ht, 0), fill)
}

func (w *svgWriter) line(x1, y1, x2, y2 float64, color string, width float64) {
	w.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"/>`+"\n", x1, y1, x2, y2, color, width)
}

func (w *svgWriter) panel(x, y, wd, ht float64, title, subtitle string) {
	w.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="4" fill="%s" stroke="%s"/>`+"\n", x, y, wd, ht, panelFill, panelLine)
	w.text(x+12, y+22, 14, textColor, "start", title)
	w.text(x+12, y+38, 11, dimText, "start", subtitle)
}

// render draws the throughput and latency panels of r.
func render(out io.Writer, r *results, source string) error {
	w := &svgWriter{}
	w.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Inter, Helvetica, Arial, sans-serif">`+"\n", width, height, width, height)
	w.rect(0, 0, width, height, background)
	w.text(20, 30, 18, textColor, "start", "Switchyard event bus: throughput and latency")
	w.text(20, 50, 11, dimText, "start", r.header)
	pal := newPalette(r)
	throughputPanel(w, r.throughput, pal, 20, 66, 470, 370)
	latencyPanel(w, r.latency, pal, 510, 66, 470, 370)
	w.text(20, height-12, 10, dimText, "start", "source: "+source+" · drawn by go run ./cmd/benchchart · medians; whiskers span the min and max round")
	w.f("</svg>\n")
	_, err := io.WriteString(out, w.b.String())
	return err
}

func throughputPanel(w *svgWriter, rows []throughputRow, pal palette, x, y, wd, ht float64) {
	w.panel(x, y, wd, ht, "Throughput, publish → every subscriber handled", "million events per second (higher is better)")
	if len(rows) == 0 {
		w.text(x+wd/2, y+ht/2, 12, dimText, "middle", "no throughput table in the input")
		return
	}
	// Three columns: case name, bar with its min-max whisker, value.
	nameW := 0.0
	for _, r := range rows {
		nameW = max(nameW, textWidth(r.name, 12))
	}
	top, left, right := y+60, x+16+nameW+10, x+wd-118
	var peak float64
	for _, r := range rows {
		peak = max(peak, 1e3/r.nsMin, r.mEventsPS)
	}
	scale := niceCeil(peak)
	barArea := ht - 100
	step := barArea / float64(len(rows))
	barH := min(step*0.6, 34)
	for i := 0; i <= 5; i++ { // grid
		gx := left + (right-left)*float64(i)/5
		w.line(gx, top-6, gx, top+barArea, gridColor, 1)
		w.text(gx, top+barArea+16, 10, dimText, "middle", trimFloat(scale*float64(i)/5))
	}
	w.text(right, top+barArea+32, 10, dimText, "end", "M events/s")
	for i, r := range rows {
		cy := top + step*float64(i) + step/2
		w.text(left-10, cy+4, 12, textColor, "end", r.name)
		w.rect(left, cy-barH/2, (right-left)*r.mEventsPS/scale, barH, pal.of(engineOf(r.name)))
		wx1, wx2 := left+(right-left)*(1e3/r.nsMax)/scale, left+(right-left)*(1e3/r.nsMin)/scale
		w.line(wx1, cy, wx2, cy, textColor, 1.5)
		w.line(wx1, cy-4, wx1, cy+4, textColor, 1.5)
		w.line(wx2, cy-4, wx2, cy+4, textColor, 1.5)
		w.text(x+wd-12, cy-1, 12, textColor, "end", fmt.Sprintf("%.2f M/s", r.mEventsPS))
		w.text(x+wd-12, cy+12, 10, dimText, "end", fmt.Sprintf("%.0f ns/event", r.nsMedian))
	}
}

// latencyPanel plots latency against the offered rate, both on log
// scales: one colour per engine, one line style per percentile.
func latencyPanel(w *svgWriter, rows []latencyRow, pal palette, x, y, wd, ht float64) {
	w.panel(x, y, wd, ht, "Latency, publish → handler called", "µs, log scales, one paced producer and one subscriber (lower is better)")
	if len(rows) == 0 {
		w.text(x+wd/2, y+ht/2, 12, dimText, "middle", "no latency table in the input")
		return
	}
	series := []struct {
		name, dash string
		v          func(latencyRow) float64
	}{
		{"p50", "", func(l latencyRow) float64 { return l.p50 }},
		{"p99", "6 4", func(l latencyRow) float64 { return l.p99 }},
		{"p99.9", "2 3", func(l latencyRow) float64 { return l.p999 }},
	}
	var engines []string
	var rates []int
	lo, hi := math.Inf(1), 0.0
	for _, r := range rows {
		if !slices.Contains(engines, r.engine) {
			engines = append(engines, r.engine)
		}
		if !slices.Contains(rates, r.rate) {
			rates = append(rates, r.rate)
		}
		for _, s := range series {
			v := max(s.v(r), 0.01)
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	slices.Sort(rates)
	decLo, decHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if decHi <= decLo {
		decHi = decLo + 1
	}
	top, bottom, left, right := y+86, y+ht-50, x+64, x+wd-56
	yOf := func(v float64) float64 {
		f := (math.Log10(max(v, 0.01)) - decLo) / (decHi - decLo)
		return bottom - f*(bottom-top)
	}
	xOf := func(rate int) float64 {
		i := slices.Index(rates, rate)
		if len(rates) == 1 {
			return (left + right) / 2
		}
		return left + (right-left)*float64(i)/float64(len(rates)-1)
	}
	for d := decLo; d <= decHi; d++ {
		gy := yOf(math.Pow(10, d))
		w.line(left, gy, right, gy, gridColor, 1)
		w.text(left-6, gy+4, 10, dimText, "end", trimFloat(math.Pow(10, d))+" µs")
	}
	for _, rate := range rates {
		gx := xOf(rate)
		w.line(gx, top, gx, bottom, gridColor, 1)
		w.text(gx, bottom+16, 11, textColor, "middle", si(float64(rate))+"/s offered")
	}
	// Legend: engines by colour, percentiles by line style.
	lx := x + 12
	for _, e := range engines {
		w.rect(lx, y+50, 10, 10, pal.of(e))
		w.text(lx+14, y+59, 11, textColor, "start", e)
		lx += 24 + textWidth(e, 11)
	}
	lx = x + 12
	for _, s := range series {
		w.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", lx, y+71, lx+22, y+71, textColor, s.dash)
		w.text(lx+26, y+75, 11, textColor, "start", s.name)
		lx += 40 + textWidth(s.name, 11)
	}
	// Draw the sharded engine last: its p50 sits in the same band as the
	// others' at low rates, and lines drawn later cover earlier ones.
	for _, e := range drawOrder(engines) {
		color := pal.of(e)
		var mine []latencyRow
		for _, r := range rows {
			if r.engine == e {
				mine = append(mine, r)
			}
		}
		slices.SortFunc(mine, func(a, b latencyRow) int { return a.rate - b.rate })
		for _, s := range series {
			var pts []string
			for _, r := range mine {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(r.rate), yOf(s.v(r))))
			}
			w.f(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", strings.Join(pts, " "), color, s.dash)
			for _, r := range mine {
				w.f(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s at %d/s: %s µs (achieved %s/s)</title></circle>`+"\n",
					xOf(r.rate), yOf(s.v(r)), color, html.EscapeString(e), s.name, r.rate, trimFloat(round2(s.v(r))), si(r.achieved))
			}
		}
	}
	var ach []string
	for _, e := range engines {
		for _, r := range rows {
			if r.engine == e && r.achieved < 0.98*float64(r.rate) {
				ach = append(ach, fmt.Sprintf("%s %s/s reached %s/s", e, si(float64(r.rate)), si(r.achieved)))
			}
		}
	}
	if len(ach) > 0 {
		w.text(left, bottom+32, 10, dimText, "start", "below the offered rate: "+strings.Join(ach, "; "))
	}
}

// palette gives every engine one colour in both panels; a throughput
// case's engine is the first word of its name ("sharded P4 S1").
type palette map[string]string

func newPalette(r *results) palette {
	p := palette{}
	others := 0
	add := func(e string) {
		if _, ok := p[e]; ok {
			return
		}
		if c, ok := engineColors[e]; ok {
			p[e] = c
			return
		}
		p[e] = otherColors[others%len(otherColors)]
		others++
	}
	for _, l := range r.latency {
		add(l.engine)
	}
	for _, t := range r.throughput {
		add(engineOf(t.name))
	}
	return p
}

func (p palette) of(engine string) string {
	if c, ok := p[engine]; ok {
		return c
	}
	return otherColors[0]
}

// drawOrder returns engines with "sharded" moved to the end, so that its
// lines are drawn on top of the others.
func drawOrder(engines []string) []string {
	out := make([]string, 0, len(engines))
	for _, e := range engines {
		if e != "sharded" {
			out = append(out, e)
		}
	}
	if slices.Contains(engines, "sharded") {
		out = append(out, "sharded")
	}
	return out
}

func engineOf(caseName string) string {
	if f := strings.Fields(caseName); len(f) > 0 {
		return f[0]
	}
	return caseName
}

// textWidth estimates the rendered width of s (sans-serif, size px).
func textWidth(s string, size float64) float64 {
	return float64(len([]rune(s))) * size * 0.56
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func round2(v float64) float64 {
	switch {
	case v >= 100:
		return math.Round(v)
	case v >= 10:
		return math.Round(v*10) / 10
	}
	return math.Round(v*100) / 100
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// si formats a rate as 10k, 1.5M…
func si(v float64) string {
	switch {
	case v >= 1e6:
		return trimFloat(v/1e6) + "M"
	case v >= 1e3:
		return trimFloat(round2(v/1e3)) + "k"
	}
	return trimFloat(v)
}
