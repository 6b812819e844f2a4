package naming

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// parsedMatcher is a matcher read back from PromQL text.
type parsedMatcher struct {
	Name, Op, Value string // Value unquoted
}

// parseMatcherList reads a comma-separated list of PromQL label matchers, as
// found between the braces of a vector selector, and nothing else: it fails
// on any text outside a matcher, on a trailing comma and on a name that is
// not [a-zA-Z_][a-zA-Z0-9_]*. It reads with parseSeriesSelector, whose
// strings follow PromQL's lexer and parser and which is written
// independently of quote().
func parseMatcherList(s string) ([]parsedMatcher, error) {
	if s == "" || strings.HasSuffix(s, ",") {
		return nil, fmt.Errorf("%q: want matchers separated by commas", s)
	}
	ms, err := parseSeriesSelector("{" + s + "}")
	if err != nil {
		return nil, err
	}
	out := make([]parsedMatcher, len(ms))
	for i, m := range ms {
		if !model.LegacyValidation.IsValidLabelName(m.label) || m.label == model.MetricNameLabel {
			return nil, fmt.Errorf("matcher %d: %q is not a label name", i, m.label)
		}
		out[i] = parsedMatcher{Name: m.label, Op: m.op, Value: m.value}
	}
	return out, nil
}

// hostile values: none of them may leave its matcher.
var hostile = []string{
	``,
	`plain`,
	`"`,
	`\`,
	`\"`,
	`"\`,
	`a"b`,
	`a\b`,
	`\\"`,
	"line\nbreak",
	"cr\rlf\n",
	"tab\tnul\x00bell\a\x7f",
	`}`,
	`"} or vector(1) #`,
	`"}) or vector(1) or sum(x{a="`,
	`x", __name__=~".+`,
	`.*`,
	`.+|`,
	`^$`,
	`(a|b)`,
	`[]{}()*+?^$|.\`,
	"`raw`",
	`'single'`,
	"émoji 🚀 中文",
	"\u2028\u2029\u200b\ufeff", // line separators, zero width, BOM
	"\ufffd",                   // a well-formed U+FFFD, which PromQL's lexer refuses raw
	"bad\xffutf8\xc3",          // invalid UTF-8
	"\U0010ffff\U0001f600",
	"#comment",
	"a,b=c",
	strings.Repeat(`\"`, 100),
}

func TestSelectorMatchers(t *testing.T) {
	mustParse := func(s string) labels.Selector {
		sel, err := labels.Parse(s)
		if err != nil {
			t.Fatalf("labels.Parse(%q): %v", s, err)
		}
		return sel
	}
	tests := []struct {
		name    string
		sel     labels.Selector
		want    []string
		wantErr string
	}{
		{name: "nil", sel: nil},
		{name: "everything", sel: labels.Everything()},
		{name: "=", sel: mustParse("app=web"), want: []string{`app="web"`}},
		{name: "==", sel: mustParse("app==web"), want: []string{`app="web"`}},
		{name: "!=", sel: mustParse("app!=web"), want: []string{`app!="web"`}},
		{name: "in, sorted, regexp-quoted", sel: mustParse("v in (1.2, 1.10, a-b)"), want: []string{`v=~"^(?:1\\.10|1\\.2|a-b)$"`}},
		{name: "notin", sel: mustParse("v notin (x.y)"), want: []string{`v!~"^(?:x\\.y)$"`}},
		{name: "exists", sel: mustParse("app"), want: []string{`app!=""`}},
		{name: "does not exist", sel: mustParse("!app"), want: []string{`app=""`}},
		{name: "empty value", sel: mustParse("app="), want: []string{`app=""`}},
		{name: "sorted by key", sel: mustParse("zone=b,app in (a),tier!=c"), want: []string{`app=~"^(?:a)$"`, `tier!="c"`, `zone="b"`}},
		{name: "gt", sel: mustParse("replicas>3"), wantErr: `invalid metric selector: operator "gt" (on "replicas") has no PromQL equivalent; use =, ==, !=, in, notin, exists or !exists`},
		{name: "lt", sel: mustParse("app=x,replicas<3"), wantErr: `invalid metric selector: operator "lt" (on "replicas") has no PromQL equivalent; use =, ==, !=, in, notin, exists or !exists`},
		{name: "key not a label name", sel: mustParse("app.kubernetes.io/name=web"), wantErr: `invalid metric selector: "app.kubernetes.io/name" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)`},
		{name: "dash in key", sel: mustParse("my-label=web"), wantErr: `invalid metric selector: "my-label" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)`},
		{name: "reserved key", sel: labels.SelectorFromValidatedSet(labels.Set{"__name__": "up"}), wantErr: `invalid metric selector: "__name__" is a reserved Prometheus label name`},
		{name: "nothing", sel: labels.Nothing(), wantErr: `invalid metric selector: the selector selects nothing`},
		{name: "hostile value through a selector", sel: labels.SelectorFromValidatedSet(labels.Set{"a": `"} or vector(1) #`}), want: []string{`a="\"} or vector(1) #"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectorMatchers(tt.sel)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrInvalidSelector) {
					t.Errorf("error = %v, want %s (wrapping ErrInvalidSelector)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("matchers (-want +got):\n%s", diff)
			}
			if len(got) > 0 {
				if _, err := parseMatcherList(strings.Join(got, ",")); err != nil {
					t.Errorf("not PromQL: %v", err)
				}
			}
		})
	}
}

func TestRequirementMatcherCounts(t *testing.T) {
	for _, tt := range []struct {
		op     selection.Operator
		values []string
	}{
		{selection.Equals, nil}, {selection.Equals, []string{"a", "b"}}, {selection.NotEquals, nil},
		{selection.In, nil}, {selection.NotIn, nil}, {selection.Exists, []string{"a"}}, {selection.DoesNotExist, []string{"a"}},
		{selection.Operator("~="), []string{"a"}},
	} {
		if _, err := requirementMatcher("k", tt.op, tt.values); !errors.Is(err, ErrInvalidSelector) {
			t.Errorf("%s %q: error %v, want ErrInvalidSelector", tt.op, tt.values, err)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]string{
		``:                  `""`,
		`a"b\c`:             `"a\"b\\c"`,
		"l\nr\rt\t\a\b\f\v": `"l\nr\rt\t\a\b\f\v"`,
		"\x00\x1f\x7f":      `"\x00\x1f\x7f"`,
		"\u0085\u2028":      `"\u0085\u2028"`,
		"\ufffd":            `"\ufffd"`,
		"\xff\xc3":          `"\xff\xc3"`,
		"é🚀":                `"é🚀"`,
		"\U000e0001":        `"\U000e0001"`,
	}
	for in, want := range tests {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
	// Against strconv.Quote: identical except that a well-formed U+FFFD,
	// which strconv.Quote leaves raw, is escaped.
	for _, v := range hostile {
		checkQuoteLikeStrconv(t, v)
	}
}

func checkQuoteLikeStrconv(t *testing.T, v string) {
	t.Helper()
	want := strings.ReplaceAll(strconv.Quote(v), "\ufffd", `\ufffd`)
	if got := quote(v); got != want {
		t.Errorf("quote(%q) = %s, want %s", v, got, want)
	}
}

// checkMatcher proves that m's text is one PromQL matcher with the key, the
// operator and the value it should have: the value did not leave it.
func checkMatcher(t *testing.T, key string, op selection.Operator, values []string, m labelMatcher) {
	t.Helper()
	text := m.String()
	// As the only matcher, and between two others: the list still has
	// exactly the matchers it should.
	for _, list := range []string{text, `a="1",` + text + `,z="2"`} {
		got, err := parseMatcherList(list)
		if err != nil {
			t.Fatalf("%s %s %q gives %s, not PromQL: %v", key, op, values, text, err)
		}
		if len(got) != 1 && len(got) != 3 {
			t.Fatalf("%s gives %d matchers", list, len(got))
		}
		if len(got) == 3 && (got[0] != parsedMatcher{"a", "=", "1"} || got[2] != parsedMatcher{"z", "=", "2"}) {
			t.Fatalf("%s: neighbours changed: %+v", list, got)
		}
	}
	got, _ := parseMatcherList(text)
	pm := got[0]
	if pm.Name != key {
		t.Fatalf("name %q, want %q", pm.Name, key)
	}
	wantOp, wantValue := map[selection.Operator]string{
		selection.Equals: "=", selection.DoubleEquals: "=", selection.NotEquals: "!=",
		selection.In: "=~", selection.NotIn: "!~", selection.Exists: "!=", selection.DoesNotExist: "=",
	}[op], ""
	switch op {
	case selection.Equals, selection.DoubleEquals, selection.NotEquals:
		wantValue = values[0]
	case selection.In, selection.NotIn:
		wantValue = pm.Value // checked as a regular expression below
		for _, v := range values {
			if !utf8.ValidString(v) {
				return // Prometheus' regexp engine refuses invalid UTF-8; no injection either way
			}
		}
		re, err := regexp.Compile("^(?s:" + pm.Value + ")$") // as Prometheus anchors
		if err != nil {
			t.Fatalf("regexp %q: %v", pm.Value, err)
		}
		for _, v := range values {
			if !re.MatchString(v) {
				t.Errorf("regexp %q does not match its value %q", pm.Value, v)
			}
			for _, other := range []string{v + "x", "x" + v, v + "\n", strings.ToUpper(v) + "Ω", ""} {
				if re.MatchString(other) != slices.Contains(values, other) {
					t.Errorf("regexp %q matches %q: %v", pm.Value, other, re.MatchString(other))
				}
			}
		}
	}
	if pm.Op != wantOp || pm.Value != wantValue {
		t.Errorf("%s %s %q: got %s%s%q, want %s%s%q", key, op, values, pm.Name, pm.Op, pm.Value, key, wantOp, wantValue)
	}
}

func TestHostileValuesStayInTheirMatcher(t *testing.T) {
	for i, v := range hostile {
		for _, op := range []selection.Operator{selection.Equals, selection.DoubleEquals, selection.NotEquals, selection.In, selection.NotIn} {
			t.Run(fmt.Sprintf("%d/%s", i, op), func(t *testing.T) {
				values := []string{v}
				if op == selection.In || op == selection.NotIn {
					values = []string{v, hostile[(i+1)%len(hostile)]}
					slices.Sort(values)
					values = slices.Compact(values)
				}
				m, err := requirementMatcher("label", op, values)
				if err != nil {
					t.Fatal(err)
				}
				checkMatcher(t, "label", op, values, m)
			})
		}
		// LabelValuesByName's form: pasted between the quotes of a =~ matcher,
		// it matches the value exactly.
		t.Run(fmt.Sprintf("%d/LabelValuesByName", i), func(t *testing.T) {
			text := `x=~"` + unquotedForRegexp(v) + `"`
			got, err := parseMatcherList(text)
			if err != nil || len(got) != 1 {
				t.Fatalf("%s: %v %v", text, got, err)
			}
			if got[0].Value != regexp.QuoteMeta(v) {
				t.Errorf("unquoted %q, want %q", got[0].Value, regexp.QuoteMeta(v))
			}
		})
	}
}

// FuzzMatchers: whatever the key, the operator and the values, the matcher
// is either an ErrInvalidSelector error or exactly one PromQL matcher whose
// value is the one given.
func FuzzMatchers(f *testing.F) {
	for i, v := range hostile {
		f.Add("label", uint8(i), v, hostile[(i+3)%len(hostile)])
	}
	f.Add("__name__", uint8(0), "up", "")
	f.Add("a-b", uint8(1), "x", "y")
	f.Add("ok", uint8(7), "x", "y")
	ops := []selection.Operator{selection.Equals, selection.DoubleEquals, selection.NotEquals, selection.In,
		selection.NotIn, selection.Exists, selection.DoesNotExist, selection.GreaterThan, selection.LessThan}
	f.Fuzz(func(t *testing.T, key string, opIndex uint8, a, b string) {
		checkQuoteLikeStrconv(t, a)
		op := ops[int(opIndex)%len(ops)]
		var values []string
		switch op {
		case selection.In, selection.NotIn:
			values = []string{a, b}
			slices.Sort(values)
			values = slices.Compact(values)
		case selection.Exists, selection.DoesNotExist:
		default:
			values = []string{a}
		}
		m, err := requirementMatcher(key, op, values)
		if err != nil {
			if !errors.Is(err, ErrInvalidSelector) {
				t.Fatalf("error %v does not wrap ErrInvalidSelector", err)
			}
			if checkLabelName(key) == nil && op != selection.GreaterThan && op != selection.LessThan {
				t.Fatalf("%q %s %q refused: %v", key, op, values, err)
			}
			return
		}
		if checkLabelName(key) != nil {
			t.Fatalf("key %q accepted", key)
		}
		checkMatcher(t, key, op, values, m)
	})
}
