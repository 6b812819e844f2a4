package naming

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSyntaxErrorAtCulprit(t *testing.T) {
	tests := []struct {
		name       string
		data       string
		line, col  int
		wantDetail string // a part of Detail; "" for none
	}{
		{
			name: "double quotes in a double-quoted query",
			data: "rules:\n- seriesQuery: 'up'\n  metricsQuery: \"sum(x{c!=\"POD\"}) by (<<.GroupBy>>)\"\n",
			line: 3, col: 27, wantDetail: "write the value in single quotes ('...') or as a block scalar (|)",
		},
		{
			name: "single quote in a single-quoted query",
			data: "rules:\n- seriesQuery: 'up'\n  name: {matches: 'a'}\n  metricsQuery: 'sum(x{c!='POD'})'\n",
			line: 4, col: 27, wantDetail: "double it ('')",
		},
		{
			name: "escaped quotes are fine, the error is later",
			data: "rules:\n- seriesQuery: \"x{c!=\\\"POD\\\"}\"\n  metricsQuery: 'a' b\n",
			line: 3, col: 19, wantDetail: "single-quoted value that starts at column 17",
		},
		{
			name: "a tab",
			data: "rules:\n- seriesQuery: 'up'\n  resources:\n\t  template: <<.Resource>>\n",
			line: 4, col: 1, wantDetail: "a tab",
		},
		{
			name: "an unclosed flow mapping: its line, no column",
			data: "rules:\n- seriesQuery: 'up'\n  resources: {template: x\n  metricsQuery: y\n",
			line: 3, wantDetail: "is not closed",
		},
		{
			name: "a flow mapping over two lines, then an unclosed one",
			data: "rules:\n- seriesQuery: 'up'\n  resources: {template: x,\n    namespaced: true}\n  metricsQuery: y\n  name: {matches: a\n",
			line: 6, wantDetail: "is not closed",
		},
		{
			name: "a quoted value over two lines, then an unclosed one",
			data: "rules:\n- seriesQuery: 'up{a=\"b\",\n    c=\"d\"}'\n  metricsQuery: y\n  name: {matches: \"a}\n",
			line: 5, wantDetail: "never closed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.data))
			var se *SyntaxError
			if cfg != nil || !errors.As(err, &se) {
				t.Fatalf("Parse = %v, %v; want a *SyntaxError", cfg, err)
			}
			if se.Line != tc.line || se.Column != tc.col {
				t.Errorf("at line %d, column %d; want line %d, column %d (%v)", se.Line, se.Column, tc.line, tc.col, err)
			}
			if tc.wantDetail == "" && se.Detail != "" || !strings.Contains(se.Detail, tc.wantDetail) {
				t.Errorf("Detail = %q; want it to contain %q", se.Detail, tc.wantDetail)
			}
		})
	}
}

// The file is written like prometheus-adapter's sample configuration,
// whose double-quoted metricsQuery holds "POD": go-yaml alone names line
// 17, where the rule starts (counting from 0); the culprit is the quote at
// line 27, column 69.
func TestLoadSampleConfigurationQuotes(t *testing.T) {
	path := filepath.Join("testdata", "sample-quoted.yaml")
	_, err := Load(path)
	want := "rule file " + path + ": not a YAML rule file: line 27, column 69: did not find expected key: " +
		"the double quote at column 69 ends the double-quoted value that starts at column 17, and the line goes on after it; "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load error:\n%v\nwant it to start with\n%s", err, want)
	}
	// Fixed as the hint says, the file parses.
	data, readErr := os.ReadFile(path)
	if readErr != nil {
		t.Fatal(readErr)
	}
	fixed := strings.Replace(string(data), `"sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)"`,
		`'sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)'`, 1)
	if _, err := Parse([]byte(fixed)); err != nil {
		t.Errorf("the fixed file: %v", err)
	}
}
