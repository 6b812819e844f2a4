package naming

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSeriesNameMatchers(t *testing.T) {
	for _, tc := range []struct {
		selector string
		want     []seriesMatcher
		ok       bool
	}{
		{`http_requests_total{namespace!="",pod!=""}`, []seriesMatcher{{"__name__", "=", "http_requests_total"}}, true},
		{`{__name__=~"^container_.*",container!="POD"}`, []seriesMatcher{{"__name__", "=~", "^container_.*"}}, true},
		{`{namespace!="", __name__!~'^container_.*',}`, []seriesMatcher{{"__name__", "!~", "^container_.*"}}, true},
		{"{\"my.metric\", job=`x`}", []seriesMatcher{{"__name__", "=", "my.metric"}}, true},
		{`up`, []seriesMatcher{{"__name__", "=", "up"}}, true},
		{` up { } `, []seriesMatcher{{"__name__", "=", "up"}}, true},
		{`{job="x"}`, nil, true},
		{`{job="x"`, nil, false},
		{`rate(x[5m])`, nil, false},
		{``, nil, false},
		{`{job}`, nil, false},
	} {
		got, ok := seriesNameMatchers(tc.selector)
		if ok != tc.ok || !cmp.Equal(tc.want, got, cmp.AllowUnexported(seriesMatcher{})) {
			t.Errorf("seriesNameMatchers(%s) = %v, %v; want %v, %v", tc.selector, got, ok, tc.want, tc.ok)
		}
	}
}

// TestParseSeriesSelectorStrings: strings are read as PromQL reads them,
// and what PromQL's lexer refuses does not parse.
func TestParseSeriesSelectorStrings(t *testing.T) {
	for _, tc := range []struct {
		value string // as written between the braces' quotes
		want  string
		ok    bool
	}{
		{`"a\"b\\c\n"`, "a\"b\\c\n", true},
		{`'it\'s "x"'`, `it's "x"`, true},
		{"`raw\\n\"'`", `raw\n"'`, true},
		{`"\x41\101\u00e9\U0001F600"`, "AAé😀", true},
		{`"\xff"`, "\xff", true},
		{"\"multi\nline\"", "", false},
		{"`multi\nline`", "multi\nline", true},
		{`"\'"`, "", false}, // the other quote's escape
		{`'\"'`, "", false},
		{`"\q"`, "", false},
		{`"\ud800"`, "", false}, // a surrogate
		{`"\400"`, "", false},   // past a byte
		{`"\x4"`, "", false},
		{"\"\xff\"", "", false}, // invalid UTF-8
		{"\"\ufffd\"", "", false},
		{`"open`, "", false},
	} {
		ms, err := parseSeriesSelector(`{l=` + tc.value + `}`)
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want it to parse: %v", tc.value, err, tc.ok)
			continue
		}
		if tc.ok && (len(ms) != 1 || ms[0].value != tc.want) {
			t.Errorf("%s: %+v, want the value %q", tc.value, ms, tc.want)
		}
	}
}

func TestSeriesQueryAccepts(t *testing.T) {
	for _, tc := range []struct {
		selector, name string
		want           bool
	}{
		{`http_requests_total{pod!=""}`, "http_requests_total", true},
		{`http_requests_total{pod!=""}`, "http_requests", false},
		{`{__name__=~"http_.*_total"}`, "http_requests_total", true},
		{`{__name__=~"http_.*_total"}`, "x_http_requests_total", false},
		{`{__name__!~"go_.*",__name__=~".+_total"}`, "go_gc_total", false},
		{`{__name__!="up"}`, "down", true},
		{`not a selector`, "anything", true},
		{`{__name__=~"("}`, "anything", true},
	} {
		if got := seriesQueryAccepts(tc.selector, tc.name); got != tc.want {
			t.Errorf("seriesQueryAccepts(%s, %s) = %v, want %v", tc.selector, tc.name, got, tc.want)
		}
	}
}
