package exporters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/exporters"
)

// The operations files an operator installs: deploy/prometheus/alerts.yaml
// and deploy/grafana/eventbus.json.
const (
	alertsFile     = "../deploy/prometheus/alerts.yaml"
	alertTestsFile = "../deploy/prometheus/alerts_test.yaml"
	dashboardFile  = "../deploy/grafana/eventbus.json"
)

// promtoolHint is the one line a machine without promtool gets.
const promtoolHint = "promtool not found on PATH: run ./scripts/test-deps.sh (it installs Debian's prometheus package, which ships promtool)"

// Every metric an alert rule or a dashboard panel queries is one the
// Prometheus collector really exports, over a real module whose engines
// published, delivered and failed events.
func TestAlertRulesAndDashboardUseOnlyExportedMetrics(t *testing.T) {
	exported := exportedSeriesNames(t)
	t.Logf("the collector exports %s", strings.Join(sortedNames(exported), ", "))
	files := map[string][]string{
		alertsFile:    alertExpressions(t),
		dashboardFile: dashboardExpressions(t),
	}
	for file, exprs := range files {
		if len(exprs) == 0 {
			t.Fatalf("%s: no expressions found", file)
		}
		for _, expr := range exprs {
			names, err := metricNames(expr)
			if err != nil {
				t.Errorf("%s: %q: %v", file, expr, err)
				continue
			}
			if len(names) == 0 {
				t.Errorf("%s: %q uses no metric", file, expr)
			}
			for _, n := range names {
				if !exported[n] {
					t.Errorf("%s: %q uses %s, which the collector does not export", file, oneLine(expr), n)
				}
			}
		}
	}
}

// The rules pass Prometheus's own checker and fire (or stay quiet) on the
// series of alerts_test.yaml.
func TestAlertRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal(promtoolHint)
	}
	t.Run("check rules", func(t *testing.T) {
		out, err := exec.Command(promtool, "check", "rules", alertsFile).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", alertsFile, err, out)
		}
	})
	t.Run("unit tests of the rules", func(t *testing.T) {
		cmd := exec.Command(promtool, "test", "rules", filepath.Base(alertTestsFile))
		cmd.Dir = filepath.Dir(alertTestsFile)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool test rules %s: %v\n%s", alertTestsFile, err, out)
		}
	})
}

// exportedSeriesNames runs a real module (two memory engines, a failing
// and a succeeding handler), gathers the collector's metric families and
// returns the series names a query can use: counters and gauges by name,
// histograms as name_bucket, name_sum and name_count.
func exportedSeriesNames(t *testing.T) map[string]bool {
	t.Helper()
	eb := newBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, topic := range []string{"orders.placed", "audit.logged"} {
		fail := topic == "audit.logged"
		if _, err := eb.Subscribe(ctx, topic, func(context.Context, eventbus.Event) error {
			if fail {
				return fmt.Errorf("refused")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := eb.Publish(ctx, topic, map[string]any{"n": 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := eb.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(exporters.NewPrometheusCollector(eb, "")); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		default:
			names[f.GetName()] = true
		}
	}
	return names
}

func alertExpressions(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var out []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Expr == "" {
				t.Errorf("%s: rule %q has no expr", alertsFile, r.Alert)
			}
			out = append(out, r.Expr)
		}
	}
	return out
}

// labelValues matches Grafana's label_values(selector, label) variable
// query; only the selector names a metric.
var labelValues = regexp.MustCompile(`^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

func dashboardExpressions(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"` // collapsed rows
	}
	var doc struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Type       string `json:"type"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var out []string
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, r := range ps {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: panel: %v", dashboardFile, err)
			}
			for _, tg := range p.Targets {
				out = append(out, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(doc.Panels)
	for _, v := range doc.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("%s: variable query %q is not label_values(selector, label)", dashboardFile, v.Definition)
			continue
		}
		out = append(out, m[1])
	}
	return out
}

// promqlWords are PromQL keywords and literals that look like metric
// names but are not.
var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "Inf": true, "NaN": true,
}

// labelLists are keywords followed by a parenthesised list of labels.
var labelLists = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// metricNames returns the metric names a PromQL expression selects. The
// Prometheus parser (github.com/prometheus/prometheus/promql/parser) is not
// in this module's dependency graph, so this is a tokenizer: it skips
// string literals, label matchers ({...}), range and subquery brackets
// ([...]), comments, numbers and durations, Grafana variables ($x, ${x}),
// keywords, function and aggregation names (an identifier followed by
// "("), and the label lists of by/without/on/ignoring/group_left/
// group_right; every other identifier is a metric name. It reports
// unbalanced brackets and unterminated strings.
func metricNames(expr string) ([]string, error) {
	var names []string
	s := expr
	i := 0
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
	isIdent := func(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }
	skipTo := func(open, close byte) error { // s[i] == open
		depth := 0
		for ; i < len(s); i++ {
			switch c := s[i]; {
			case c == '"' || c == '\'' || c == '`':
				if err := skipString(s, &i); err != nil {
					return err
				}
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					i++
					return nil
				}
			}
		}
		return fmt.Errorf("unbalanced %c", open)
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := skipString(s, &i); err != nil {
				return nil, err
			}
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '{':
			if err := skipTo('{', '}'); err != nil {
				return nil, err
			}
		case c == '[':
			if err := skipTo('[', ']'); err != nil {
				return nil, err
			}
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				if err := skipTo('{', '}'); err != nil {
					return nil, err
				}
				continue
			}
			for i < len(s) && isIdent(s[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(s) && (isIdent(s[i]) || s[i] == '.' || ((s[i] == '-' || s[i] == '+') && (s[i-1] == 'e' || s[i-1] == 'E'))) {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdent(s[i]) {
				i++
			}
			word := s[start:i]
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
				j++
			}
			nextIsParen := j < len(s) && s[j] == '('
			// An aggregation may put its clause first: sum by (l) (expr).
			k := j
			for k < len(s) && isIdent(s[k]) {
				k++
			}
			nextIsClause := s[j:k] == "by" || s[j:k] == "without"
			switch {
			case labelLists[word] && nextIsParen:
				i = j
				if err := skipTo('(', ')'); err != nil {
					return nil, err
				}
			case promqlWords[word], nextIsParen, nextIsClause:
			default:
				if !slices.Contains(names, word) {
					names = append(names, word)
				}
			}
		case c == ')':
			i++
		default:
			i++
		}
	}
	if strings.Count(expr, "(") != strings.Count(expr, ")") {
		return nil, fmt.Errorf("unbalanced (")
	}
	return names, nil
}

// skipString moves *i (at an opening quote) to the closing quote.
func skipString(s string, i *int) error {
	q := s[*i]
	for j := *i + 1; j < len(s); j++ {
		if s[j] == '\\' && q != '`' {
			j++
			continue
		}
		if s[j] == q {
			*i = j
			return nil
		}
	}
	return fmt.Errorf("unterminated string at %d", *i)
}

func TestMetricNamesTokenizer(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`increase(a_total{engine!="_all", x=~"b_c|d"}[5m]) > 0`, []string{"a_total"}},
		{`sum by (job, engine) (rate(x_total[5m])) / sum without(le) (rate(y_total[$__rate_interval]))`, []string{"x_total", "y_total"}},
		{`histogram_quantile(0.99, sum by (engine, le) (rate(h_bucket{a="}"}[5m]))) > 1e-3`, []string{"h_bucket"}},
		{`sum without (le) (x) / max by(a) (y) + sum(z) by (b)`, []string{"x", "y", "z"}},
		{`a > 0 and deriv(a[15m]) > 0 or on(instance) group_left(engine) b unless c offset 5m`, []string{"a", "b", "c"}},
		{"topk(10, sum by (topic) (rate(t_total{job=~\"$job\"}[1m]))) # a comment naming not_a_metric", []string{"t_total"}},
		{`max_over_time(g[${__range}]) + Inf - NaN`, []string{"g"}},
		{`sum(rate(a[5m])`, nil},
		{`a{job="x}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := metricNames(tc.expr)
			if tc.want == nil {
				if err == nil {
					t.Errorf("no error, names %v", got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
