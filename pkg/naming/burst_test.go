package naming

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestBurstChoose(t *testing.T) {
	b := BurstWindows{Stable: time.Minute, Panic: 6 * time.Second, Threshold: 2}
	tests := []struct {
		name          string
		stable, panic float64
		hasPanic      bool
		want          float64
		mode          BurstMode
	}{
		{name: "steady load", stable: 20, panic: 22, hasPanic: true, want: 20, mode: BurstStable},
		{name: "a 10x step", stable: 50, panic: 200, hasPanic: true, want: 200, mode: BurstPanic},
		{name: "exactly the threshold", stable: 10, panic: 20, hasPanic: true, want: 20, mode: BurstPanic},
		{name: "just under the threshold", stable: 10, panic: 19.99, hasPanic: true, want: 10, mode: BurstStable},
		{name: "load falling", stable: 200, panic: 20, hasPanic: true, want: 200, mode: BurstStable},
		{name: "panic missing", stable: 20, hasPanic: false, want: 20, mode: BurstStable},
		{name: "from idle", stable: 0, panic: 5, hasPanic: true, want: 5, mode: BurstPanic},
		{name: "both zero", stable: 0, panic: 0, hasPanic: true, want: 0, mode: BurstStable},
		{name: "negative stable, zero panic", stable: -4, panic: 0, hasPanic: true, want: -4, mode: BurstStable},
		{name: "negative stable, positive panic", stable: -4, panic: 1, hasPanic: true, want: 1, mode: BurstPanic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, mode := b.Choose(tt.stable, tt.panic, tt.hasPanic)
			if got != tt.want || mode != tt.mode {
				t.Errorf("Choose(%v, %v, %v) = %v, %s; want %v, %s", tt.stable, tt.panic, tt.hasPanic, got, mode, tt.want, tt.mode)
			}
			if w := b.Window(mode); (mode == BurstPanic) != (w == b.Panic) {
				t.Errorf("Window(%s) = %v", mode, w)
			}
		})
	}
}

const burstQuery = `sum(rate(<<.Series>>{<<.LabelMatchers>>}[<<.Window>>])) by (<<.GroupBy>>)`

func burstRule(kind, extra string) string {
	return kind + `:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
` + extra
}

func TestBurstValidation(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		extra   string
		want    []string
		windows BurstWindows
	}{
		{
			name:    "defaults",
			extra:   "  metricsQuery: '" + burstQuery + "'\n  burst: {}\n",
			windows: BurstWindows{Stable: time.Minute, Panic: 6 * time.Second, Threshold: 2},
		},
		{
			name:    "stated",
			kind:    "externalRules",
			extra:   "  metricsQuery: '" + burstQuery + "'\n  burst: {stableWindow: 2m, panicWindow: 10s, panicThreshold: 1.5}\n",
			windows: BurstWindows{Stable: 2 * time.Minute, Panic: 10 * time.Second, Threshold: 1.5},
		},
		{
			name:    "panic window defaults to a tenth of the stable one",
			extra:   "  metricsQuery: '" + burstQuery + "'\n  burst: {stableWindow: 45s}\n",
			windows: BurstWindows{Stable: 45 * time.Second, Panic: 4500 * time.Millisecond, Threshold: 2},
		},
		{
			name:  "burst without <<.Window>>",
			extra: "  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'\n  burst: {}\n",
			want:  []string{"rules[0]: metricsQuery: a rule with a burst block must use <<.Window>> where the query's range goes, e.g. rate(<<.Series>>{<<.LabelMatchers>>}[<<.Window>>])"},
		},
		{
			name:  "<<.Window>> without burst",
			extra: "  metricsQuery: '" + burstQuery + "'\n",
			want:  []string{"rules[0]: metricsQuery: uses <<.Window>>, which only a rule with a burst block sets: add burst: {} (stable window 60s, panic window 6s) or write the window in the query"},
		},
		{
			name:  "panic window not shorter",
			extra: "  metricsQuery: '" + burstQuery + "'\n  burst: {stableWindow: 30s, panicWindow: 30s}\n",
			want:  []string{"rules[0]: burst.panicWindow: 30s must be shorter than the stable window (30s)"},
		},
		{
			name:  "threshold not above 1",
			kind:  "externalRules",
			extra: "  id: rps\n  metricsQuery: '" + burstQuery + "'\n  burst: {panicThreshold: 1}\n",
			want:  []string{`externalRules[0] (id "rps"): burst.panicThreshold: 1 must be a number above 1 (the panic figure is served when it is at least that many times the stable one)`},
		},
		{
			name:  "bad durations",
			extra: "  metricsQuery: '" + burstQuery + "'\n  burst: {stableWindow: 1 minute, panicWindow: 0s}\n",
			want: []string{
				`rules[0]: burst.stableWindow: "1 minute" is not a duration (e.g. 6s, 1m, 1m30s): unknown unit " minute" in duration "1 minute"`,
				`rules[0]: burst.panicWindow: "0s": must be longer than 0`,
			},
		},
		{
			name:  "unknown key in the block",
			extra: "  metricsQuery: '" + burstQuery + "'\n  burst: {panicWindows: 5s}\n",
			want:  []string{`rules[0]: burst.panicWindows: line 6: unknown key; did you mean "panicWindow"?`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind := tt.kind
			if kind == "" {
				kind = "rules"
			}
			cfg, _ := Parse([]byte(burstRule(kind, tt.extra)))
			if cfg == nil {
				t.Fatal("Parse gave no Config")
			}
			var got []string
			for _, e := range cfg.Validate() {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Validate (-want +got):\n%s", diff)
			}
			c, errs := Compile(cfg, testMapper())
			rules := append(c.Rules, c.ExternalRules...)
			if len(tt.want) > 0 {
				if len(rules) != 0 || len(errs) == 0 {
					t.Errorf("Compile kept %d rules with errors %v; want the rule left out", len(rules), errs)
				}
				return
			}
			if len(rules) != 1 {
				t.Fatalf("Compile: %d rules, errors %v", len(rules), errs)
			}
			got2, ok := rules[0].Burst()
			if !ok || got2 != tt.windows {
				t.Errorf("Burst() = %+v, %v; want %+v", got2, ok, tt.windows)
			}
		})
	}
}

func TestBurstQueryWindows(t *testing.T) {
	c := compileYAML(t, burstRule("rules", "  metricsQuery: '"+burstQuery+"'\n  burst: {stableWindow: 1m, panicWindow: 6s}\n")+
		burstRule("externalRules", "  metricsQuery: '"+burstQuery+"'\n  burst: {stableWindow: 90s}\n")[len("externalRules:\n"):]+
		"externalRules:\n"+burstRule("", "  metricsQuery: '"+burstQuery+"'\n  burst: {stableWindow: 90s}\n")[2:])
	if len(c.Rules) != 2 || len(c.ExternalRules) != 1 {
		t.Fatalf("compiled %d rules and %d external rules", len(c.Rules), len(c.ExternalRules))
	}
	pods := schema.GroupResource{Resource: "pods"}
	r := c.Rules[0]
	for _, tt := range []struct {
		opts []QueryOption
		want string
	}{
		{nil, "[1m]"},
		{[]QueryOption{WithWindow(time.Minute)}, "[1m]"},
		{[]QueryOption{WithWindow(6 * time.Second), ForObject("web-1")}, "[6s]"},
	} {
		q, err := r.Query("http_requests_total", pods, "default", nil, tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(q.Expr, tt.want) {
			t.Errorf("Query = %s; want the range %s", q.Expr, tt.want)
		}
	}
	ext := c.ExternalRules[0]
	q, err := ext.ExternalQuery("http_requests_total", "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q.Expr, "[1m30s]") {
		t.Errorf("ExternalQuery = %s; want the stable range [1m30s]", q.Expr)
	}
	q, err = ext.ExternalQuery("http_requests_total", "default", nil, WithWindow(9*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q.Expr, "[9s]") {
		t.Errorf("ExternalQuery(WithWindow(9s)) = %s; want [9s]", q.Expr)
	}
}
