package decodebench

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/usage"
)

// expfmtRejects are bodies that expfmt, and so scrape.Decoder, rejects and
// textparse accepts: each is a check the strict decoder makes.
var expfmtRejects = []struct{ name, body string }{
	{"label name given twice", `container_cpu_usage_seconds_total{namespace="a",pod="b",container="c",pod="d"} 1` + "\n"},
	{"__name__ label", `x{__name__="y"} 1` + "\n"},
	{"labels without a comma", `x{a="1" b="2"} 1` + "\n"},
	{"blank after the value", "node_cpu_usage_seconds_total 1 \n"},
	{"blank after the timestamp", "node_cpu_usage_seconds_total 1 1764000000000\t\n"},
	{"escape expfmt does not know", `x{a="\t"} 1` + "\n"},
	{"new-line in a label value", "x{a=\"b\nc\"} 1\n"},
	{"second HELP", "# HELP x a\n# HELP x b\n"},
	{"second HELP without a blank after the hash", "#HELP x a\n#HELP x b\n"},
	{"second TYPE", "# TYPE x gauge\n# TYPE x gauge\n"},
	{"TYPE after samples", "x 1\n# TYPE x gauge\n"},
	{"junk after the name in HELP", "# HELP x\xffy text\n"},
	{"escape expfmt does not know in HELP", `# HELP x C:\path` + "\n"},
	{"NUL byte, where textparse stops", "node_cpu_usage_seconds_total 1\n\x00node_memory_working_set_bytes 1\n"},
	{"no newline at the end", "node_cpu_usage_seconds_total 1"},
}

func TestTextparseAcceptsWhatExpfmtRejects(t *testing.T) {
	hand, loose, strict := scrape.NewDecoder(), NewTextparseDecoder(), NewStrictTextparseDecoder()
	for _, tc := range expfmtRejects {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			want, wantErr := decode(t, hand, body)
			if _, ok := errors.AsType[*scrape.FormatError](wantErr); !ok {
				t.Fatalf("scrape.Decoder: %v, want a *FormatError", wantErr)
			}
			if _, err := decode(t, loose, body); err != nil {
				t.Errorf("textparse: %v, want it to accept the body (the check is no longer needed)", err)
			}
			got, err := decode(t, strict, body)
			checkSameOutcome(t, want, wantErr, got, err)
		})
	}
}

// FuzzStrictTextparse checks that the strict textparse decoder decodes as
// scrape.Decoder does, with FuzzDecode's criteria: the same batch, the
// same rejected samples and the same kind of error.
//
//	go test -run '^$' -fuzz FuzzStrictTextparse
func FuzzStrictTextparse(f *testing.F) {
	for _, tc := range expfmtRejects {
		f.Add([]byte(tc.body))
	}
	f.Add(farmBody(f, 3, 2))
	for _, name := range []string{"kubelet_v1.33.txt", "kwok.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "pkg", "scrape", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	hand, strict := scrape.NewDecoder(), NewStrictTextparseDecoder()
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := decode(t, hand, body)
		got, err := decode(t, strict, body)
		checkSameOutcome(t, want, wantErr, got, err)
	})
}

// checkSameOutcome compares what two decoders made of one body; sample
// errors are compared without their lines (the strict decoder leaves more
// bodies to expfmt, which gives none) and in a canonical order.
func checkSameOutcome(t *testing.T, want usage.Batch, wantErr error, got usage.Batch, err error) {
	t.Helper()
	_, wantFormat := errors.AsType[*scrape.FormatError](wantErr)
	_, gotFormat := errors.AsType[*scrape.FormatError](err)
	if wantFormat != gotFormat || (wantErr == nil) != (err == nil) {
		t.Fatalf("error %v, scrape.Decoder's %v", err, wantErr)
	}
	if diff := gocmp.Diff(want, got, sortContainers); diff != "" {
		t.Fatalf("batch differs from scrape.Decoder's (-scrape.Decoder +strict):\n%s", diff)
	}
	if diff := gocmp.Diff(rejected(wantErr), rejected(err)); diff != "" {
		t.Fatalf("rejected samples differ from scrape.Decoder's (-scrape.Decoder +strict):\n%s", diff)
	}
}

// rejected lists the samples a *scrape.PartialError rejected, without
// lines and sorted; when some were omitted, only their count.
func rejected(err error) []scrape.SampleError {
	pe, ok := errors.AsType[*scrape.PartialError](err)
	if !ok {
		return nil
	}
	if pe.Omitted > 0 {
		// Which come first depends on the order of the samples.
		return []scrape.SampleError{{Reason: "count", Line: len(pe.Errs) + pe.Omitted}}
	}
	var out []scrape.SampleError
	for _, se := range pe.Errs {
		s := *se
		s.Line = 0
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b scrape.SampleError) int {
		return cmp.Or(strings.Compare(a.Metric, b.Metric), strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Pod, b.Pod), strings.Compare(a.Container, b.Container), strings.Compare(a.Reason, b.Reason))
	})
	return out
}
