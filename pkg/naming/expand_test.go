package naming

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// expandParts expands a template from its parts, with the groups re
// captured in src: what parseAs says the template means.
func expandParts(parts []asPart, re *regexp.Regexp, src string, idx []int) string {
	var b strings.Builder
	for _, p := range parts {
		if !p.isRef() {
			b.WriteString(p.text)
			continue
		}
		if g := p.group(re); g >= 0 && 2*g+1 < len(idx) && idx[2*g] >= 0 {
			b.WriteString(src[idx[2*g]:idx[2*g+1]])
		}
	}
	return b.String()
}

// asTemplates are name.as templates that regexp.Expand reads in every way
// it can: numbers, names, braces, "$$", malformed references, leading
// zeros, and names that are not ASCII.
var asTemplates = []string{
	"", "plain", "$0", "$1", "${1}", "$1_x", "${1}_x", "$01", "${01}", "$00", "$001",
	"$base", "${base}_n", "$$", "$$1", "$", "${", "${1", "${}", "$-", "x$", "a$$$1b",
	"$1é", "${1}é", "$é", "${é}", "$1—x", "${1}—x", "$٣", "$1$2", "${base}${1}",
	"$123456789", "$99999999", "$_", "${_1}",
}

// TestParseAsReadsAsRegexpExpand: expanding a template from parseAs's
// parts gives what regexp.Expand, which Match uses, gives.
func TestParseAsReadsAsRegexpExpand(t *testing.T) {
	for _, pattern := range []string{`^(?P<base>[a-z]+)_(\w+)$`, `^(?P<01>[a-z]+)_(?P<x>\w+)$`, `^.*$`} {
		re := regexp.MustCompile(pattern)
		const src = "http_requests"
		idx := re.FindStringSubmatchIndex(src)
		for _, tmpl := range asTemplates {
			want := string(re.ExpandString(nil, tmpl, src, idx))
			if got := expandParts(parseAs(tmpl), re, src, idx); got != want {
				t.Errorf("%s, as %q: parts expand to %q, regexp.Expand to %q", pattern, tmpl, got, want)
			}
		}
	}
}

func FuzzParseAs(f *testing.F) {
	for _, tmpl := range asTemplates {
		f.Add(tmpl)
	}
	re := regexp.MustCompile(`^(?P<base>[a-z]+)_(?P<01>\w+)$`)
	const src = "http_requests"
	idx := re.FindStringSubmatchIndex(src)
	f.Fuzz(func(t *testing.T, tmpl string) {
		want := string(re.ExpandString(nil, tmpl, src, idx))
		if got := expandParts(parseAs(tmpl), re, src, idx); got != want {
			t.Errorf("as %q: parts expand to %q, regexp.Expand to %q", tmpl, got, want)
		}
	})
}

func TestParseAs(t *testing.T) {
	for _, tc := range []struct {
		as   string
		want []asPart
	}{
		{"${1}_per_second", []asPart{{ref: "1", num: 1}, {text: "_per_second", num: -1}}},
		{"$1_per_second", []asPart{{ref: "1_per_second", num: -1}}},
		{"$01", []asPart{{ref: "01", num: -1}}},
		{"a$$b$", []asPart{{text: "a$b$", num: -1}}},
		{"$1—x", []asPart{{ref: "1", num: 1}, {text: "—x", num: -1}}},
		{"$1é", []asPart{{ref: "1é", num: -1}}},
	} {
		if diff := cmp.Diff(tc.want, parseAs(tc.as), cmp.AllowUnexported(asPart{})); diff != "" {
			t.Errorf("parseAs(%q) (-want +got):\n%s", tc.as, diff)
		}
	}
}

func TestSingleReference(t *testing.T) {
	re := regexp.MustCompile(`^(?P<x>[a-z]+)_(?P<01>\w+)$`)
	for _, tc := range []struct {
		as            string
		group         int
		before, after string
		ok            bool
	}{
		{as: "${x}_rate", group: 1, after: "_rate", ok: true},
		{as: "pre_$0", group: 0, before: "pre_", ok: true},
		// "01" is a name, as regexp.Expand reads it, not group 1.
		{as: "${01}", group: 2, ok: true},
		{as: "$1—x", group: 1, after: "—x", ok: true},
		{as: "$1$2"},
		{as: "$3"},
		{as: "${nope}"},
		{as: "no reference"},
	} {
		group, before, after, ok := singleReference(tc.as, re)
		if ok != tc.ok || group != tc.group || before != tc.before || after != tc.after {
			t.Errorf("singleReference(%q) = %d, %q, %q, %v; want %d, %q, %q, %v", tc.as, group, before, after, ok, tc.group, tc.before, tc.after, tc.ok)
		}
	}
}
