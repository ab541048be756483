package main

import (
	"fmt"
	"html"
	"io"
	"math"
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

var seriesColors = []string{"#73bf69", "#f2cc0c", "#ff780a", "#5794f2", "#b877d9"}

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
	throughputPanel(w, r.throughput, 20, 66, 470, 370)
	latencyPanel(w, r.latency, 510, 66, 470, 370)
	w.text(20, height-12, 10, dimText, "start", "source: "+source+" · drawn by go run ./cmd/dashboard · medians; whiskers span the min and max round")
	w.f("</svg>\n")
	_, err := io.WriteString(out, w.b.String())
	return err
}

func throughputPanel(w *svgWriter, rows []throughputRow, x, y, wd, ht float64) {
	w.panel(x, y, wd, ht, "Throughput, publish → every subscriber handled", "million events per second (higher is better)")
	if len(rows) == 0 {
		w.text(x+wd/2, y+ht/2, 12, dimText, "middle", "no throughput table in the input")
		return
	}
	top, left, right := y+60, x+150, x+wd-20
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
		w.text(left-8, cy+4, 12, textColor, "end", r.name)
		bw := (right - left) * r.mEventsPS / scale
		w.rect(left, cy-barH/2, bw, barH, seriesColors[i%len(seriesColors)])
		lo, hi := 1e3/r.nsMax, 1e3/r.nsMin
		wx1, wx2 := left+(right-left)*lo/scale, left+(right-left)*hi/scale
		w.line(wx1, cy, wx2, cy, textColor, 1.5)
		w.line(wx1, cy-5, wx1, cy+5, textColor, 1.5)
		w.line(wx2, cy-5, wx2, cy+5, textColor, 1.5)
		label := fmt.Sprintf("%.2f M/s · %.0f ns/event", r.mEventsPS, r.nsMedian)
		lx, anchor, color := max(left+bw, wx2)+8, "start", textColor
		if bw > (right-left)*0.55 {
			lx, anchor, color = min(left+bw, wx1)-8, "end", background
		}
		w.text(lx, cy+4, 11, color, anchor, label)
	}
}

func latencyPanel(w *svgWriter, rows []latencyRow, x, y, wd, ht float64) {
	w.panel(x, y, wd, ht, "Latency, publish → handler called", "microseconds, log scale, one paced producer and one subscriber (lower is better)")
	if len(rows) == 0 {
		w.text(x+wd/2, y+ht/2, 12, dimText, "middle", "no latency table in the input")
		return
	}
	series := []struct {
		name string
		v    func(latencyRow) float64
	}{
		{"p50", func(l latencyRow) float64 { return l.p50 }},
		{"p99", func(l latencyRow) float64 { return l.p99 }},
		{"p99.9", func(l latencyRow) float64 { return l.p999 }},
	}
	lo, hi := math.Inf(1), 0.0
	for _, r := range rows {
		for _, s := range series {
			v := max(s.v(r), 0.01)
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	decLo, decHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if decHi <= decLo {
		decHi = decLo + 1
	}
	top, bottom, left, right := y+70, y+ht-62, x+56, x+wd-16
	yOf := func(v float64) float64 {
		f := (math.Log10(max(v, 0.01)) - decLo) / (decHi - decLo)
		return bottom - f*(bottom-top)
	}
	for d := decLo; d <= decHi; d++ {
		gy := yOf(math.Pow(10, d))
		w.line(left, gy, right, gy, gridColor, 1)
		w.text(left-6, gy+4, 10, dimText, "end", trimFloat(math.Pow(10, d))+" µs")
	}
	for i, s := range series { // legend
		lx := left + float64(i)*70
		w.rect(lx, y+48, 10, 10, seriesColors[i])
		w.text(lx+14, y+57, 11, textColor, "start", s.name)
	}
	group := (right - left) / float64(len(rows))
	barW := min(group*0.7/float64(len(series)), 28)
	for i, r := range rows {
		gx := left + group*float64(i) + (group-barW*float64(len(series)))/2
		for j, s := range series {
			v := s.v(r)
			by := yOf(v)
			w.rect(gx+barW*float64(j), by, barW-2, bottom-by, seriesColors[j])
			w.text(gx+barW*float64(j)+barW/2-1, by-4, 9, textColor, "middle", trimFloat(round2(v)))
		}
		cx := left + group*float64(i) + group/2
		w.text(cx, bottom+16, 11, textColor, "middle", fmt.Sprintf("%s %s/s", r.engine, si(float64(r.rate))))
		w.text(cx, bottom+30, 10, dimText, "middle", fmt.Sprintf("achieved %s/s", si(r.achieved)))
	}
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
