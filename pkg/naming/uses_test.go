package naming

import (
	"testing"
	"text/template"
)

func TestTemplateUses(t *testing.T) {
	for _, tc := range []struct {
		query string
		field string
		want  bool
	}{
		{`sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`, "LabelMatchers", true},
		{`sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`, "LabelValuesByName", false},
		{`sum(<<.Series>>) by (name)`, "LabelMatchers", false},
		{`<<if .LabelMatchers>>x{<<$.LabelMatchers>>}<<else>>x<<end>>`, "LabelMatchers", true},
		{`<<range $k, $v := .GroupBySlice>><<$k>><<end>> x{namespace="<<index .LabelValuesByName "namespace">>"}`, "LabelValuesByName", true},
		{`<<with .Series>>rate(<<.>>[5m])<<end>>`, "LabelMatchers", false},
	} {
		tmpl := template.Must(template.New("q").Delims("<<", ">>").Parse(tc.query))
		if got := templateUses(tmpl, tc.field); got != tc.want {
			t.Errorf("templateUses(%q, %s) = %v, want %v", tc.query, tc.field, got, tc.want)
		}
	}
}
