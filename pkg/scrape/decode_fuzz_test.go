package scrape

import (
	"bytes"
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/podometer/podometer/pkg/usage"
)

// FuzzDecode checks that Decode never panics, that what it returns holds
// together, and that the fast parser agrees with expfmt: on every body it
// does not leave to expfmt, it fails where expfmt fails (at the same line)
// and otherwise yields the same points and rejects the same samples.
//
//	go test -fuzz=FuzzDecode ./pkg/scrape/
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add(tc.input(f))
	}
	f.Add(resourceMetricsBody(3, 2, decodeScrapeTime.Add(-time.Second)))
	f.Add(resourceMetricsBody(2, 1, time.Time{}))
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, body []byte) {
		var b usage.Batch
		b.Reset(decodeNode)
		err := d.Decode(bytes.NewReader(body), decodeScrapeTime, &b)
		checkDecoded(t, &b, err)
		checkMatchesExpfmt(t, body)
	})
}

// checkDecoded checks the invariants of what Decode returned.
func checkDecoded(t *testing.T, b *usage.Batch, err error) {
	t.Helper()
	var fe *FormatError
	var pe *PartialError
	switch {
	case errors.As(err, &fe):
		if b.NodePoint != (usage.Point{}) || len(b.Pods) != 0 {
			t.Fatalf("Decode() = %v but filled the batch: %+v", err, b)
		}
		return
	case errors.As(err, &pe):
		if len(pe.Errs) == 0 || len(pe.Errs) > maxSampleErrors || (pe.Omitted > 0 && len(pe.Errs) != maxSampleErrors) {
			t.Fatalf("PartialError with %d errors and %d omitted", len(pe.Errs), pe.Omitted)
		}
		_ = pe.Error()
	case err != nil:
		t.Fatalf("Decode() = %v, want nil, a *FormatError or a *PartialError", err)
	}
	checkPoint := func(what string, p usage.Point) {
		t.Helper()
		if p.Timestamp.IsZero() {
			t.Fatalf("%s: zero timestamp", what)
		}
		if !p.StartTime.IsZero() && p.StartTime.Before(time.Unix(0, 0)) {
			t.Fatalf("%s: start time %v before the epoch", what, p.StartTime)
		}
		if (!p.HasCPU && p.CumulativeCPU != 0) || (!p.HasMemory && p.MemoryWorkingSet != 0) {
			t.Fatalf("%s: figures without their Has flags: %+v", what, p)
		}
	}
	if b.NodePoint != (usage.Point{}) {
		checkPoint("node", b.NodePoint)
	}
	for ref, pp := range b.Pods {
		if ref.Namespace == "" || ref.Name == "" {
			t.Fatalf("pod %+v without namespace or name", ref)
		}
		if pp == nil || len(pp.Containers) == 0 {
			t.Fatalf("pod %+v without containers", ref)
		}
		names := make(map[string]bool)
		for _, c := range pp.Containers {
			if c.Name == "" || names[c.Name] {
				t.Fatalf("pod %+v: empty or repeated container name %q", ref, c.Name)
			}
			names[c.Name] = true
			checkPoint(ref.Namespace+"/"+ref.Name+"/"+c.Name, c.Point)
		}
	}
}

// decodeWith decodes body with one of the two parsers alone.
func decodeWith(parse func(*decodeState, []byte) error, body []byte) (usage.Batch, error) {
	st := newDecodeState()
	st.batch.Reset(decodeScrapeTime)
	var b usage.Batch
	b.Reset(decodeNode)
	err := parse(st, body)
	if err == nil {
		err = st.batch.Build(&b)
	}
	return b, err
}

func parseText(st *decodeState, body []byte) error { return st.text.parse(body) }

func parseExpfmt(st *decodeState, body []byte) error { return ParseExpfmt(body, &st.batch) }

// checkMatchesExpfmt compares the fast parser with the expfmt path.
func checkMatchesExpfmt(t *testing.T, body []byte) {
	t.Helper()
	fast, fastErr := decodeWith(parseText, body)
	if errors.Is(fastErr, errFallback) {
		return // Decode uses expfmt for this body
	}
	ref, refErr := decodeWith(parseExpfmt, body)

	var fastFE, refFE *FormatError
	fastFormat, refFormat := errors.As(fastErr, &fastFE), errors.As(refErr, &refFE)
	switch {
	case refFormat && !fastFormat:
		t.Fatalf("expfmt rejects the body (%v), the fast parser does not (%v)", refErr, fastErr)
	case fastFormat && !refFormat:
		t.Fatalf("the fast parser rejects the body (%v), expfmt does not (%v)", fastErr, refErr)
	case refFormat:
		if refFE.Line > 0 && fastFE.Line != refFE.Line {
			t.Fatalf("the fast parser fails at line %d (%v), expfmt at line %d (%v)", fastFE.Line, fastErr, refFE.Line, refErr)
		}
		return
	}

	// Containers come in body order from the fast parser and in family
	// order from expfmt: compare them sorted.
	if diff := gocmp.Diff(ref, fast, cmpopts.EquateEmpty(), sortContainers); diff != "" {
		t.Fatalf("the fast parser and expfmt disagree (-expfmt +fast):\n%s", diff)
	}
	if diff := gocmp.Diff(rejectedSamples(refErr), rejectedSamples(fastErr)); diff != "" {
		t.Fatalf("the fast parser and expfmt reject different samples (-expfmt +fast):\n%s", diff)
	}
}

// sortContainers compares a pod's containers in name order: parsers
// that read the families in another order list them differently.
var sortContainers = gocmp.Transformer("sortContainers", func(in []usage.ContainerPoint) []usage.ContainerPoint {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b usage.ContainerPoint) int { return strings.Compare(a.Name, b.Name) })
	return out
})

// rejectedSamples lists what a *PartialError rejected, without lines, in
// a canonical order; when some were omitted, only the count is comparable.
func rejectedSamples(err error) []SampleError {
	var pe *PartialError
	if !errors.As(err, &pe) {
		return nil
	}
	if pe.Omitted > 0 {
		return []SampleError{{Reason: "count", Line: len(pe.Errs) + pe.Omitted}}
	}
	var out []SampleError
	for _, se := range pe.Errs {
		s := *se
		s.Line = 0
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b SampleError) int {
		return cmp.Or(strings.Compare(a.Metric, b.Metric), strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Pod, b.Pod), strings.Compare(a.Container, b.Container), strings.Compare(a.Reason, b.Reason))
	})
	return out
}

func TestDecodeMatchesExpfmt(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			checkMatchesExpfmt(t, tc.input(t))
		})
	}
}

// decodeTokens are the fragments TestDecodeMatchesExpfmtOnTokenSoup mixes
// into bodies: byte-level fuzzing seldom assembles whole keywords.
var decodeTokens = []string{
	MetricContainerCPU, MetricContainerMemory, MetricContainerStart, MetricNodeCPU, MetricNodeMemory,
	"pod_cpu_usage_seconds_total", "x", "x_sum", "x_count", "x_bucket", ":", "_",
	"{", "}", ",", "=", `"`, `\`, " ", "\t", "\n", "\r",
	"namespace", "pod", "container", "le", "quantile", "__name__", `"a"`, `"b"`, `"c"`, `""`, `"\n"`, `"\""`,
	`namespace="a"`, `pod="b"`, `container="c"`, `container="d"`, `le="1"`, `quantile="0.5"`,
	"0", "1", "-1", "1.5", "1e3", "NaN", "+Inf", "-Inf", "0x1p3", "1_0", "1e400", "1764000000000", "+5", "9e18",
	"#", "# ", "HELP", "TYPE", "# HELP ", "# TYPE ", "counter", "gauge", "untyped", "summary", "histogram",
	"GAUGE", "gaugehistogram", "ſummary", "ıgnored", "ñ", "\xff",
}

// soupLine returns a line that is often valid exposition, sometimes
// mangled with a few tokens.
func soupLine(rng *rand.Rand) string {
	pick := func(opts ...string) string { return opts[rng.IntN(len(opts))] }
	names := []string{MetricContainerCPU, MetricContainerMemory, MetricContainerStart, MetricNodeCPU, MetricNodeMemory, "x", "x_sum", "x_count", "x_bucket"}
	var line string
	switch rng.IntN(8) {
	case 0:
		line = "# " + pick("HELP", "TYPE", "TYPE", "plain") + " " + pick(names...) + " " +
			pick("counter", "gauge", "untyped", "summary", "histogram", "text \\n", "GAUGE")
	case 1:
		line = pick("", " ", "\t", "#")
	default:
		line = pick(names...)
		if rng.IntN(4) > 0 {
			labels := []string{`namespace="a"`, `pod="b"`, `container="c"`, `container="d"`, `le="1"`, `quantile="0.5"`, `id="x\\y"`}
			rng.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
			line += "{" + strings.Join(labels[:rng.IntN(len(labels))], ",") + "}"
		}
		line += " " + pick("0", "1", "2.5", "1e3", "-1", "NaN", "+Inf", "1e10", "2e19")
		if rng.IntN(2) == 0 {
			line += " " + pick("1764000000000", "1764000001000", "-1")
		}
	}
	return mangle(rng, line, 5)
}

// mangle cuts pieces out of line and inserts decodeTokens into it, while
// a one in oneIn chance says so.
func mangle(rng *rand.Rand, line string, oneIn int) string {
	for rng.IntN(oneIn) == 0 {
		i := rng.IntN(len(line) + 1)
		if rng.IntN(3) == 0 && i < len(line) {
			line = line[:i] + line[i+1+rng.IntN(len(line)-i):]
		} else {
			line = line[:i] + decodeTokens[rng.IntN(len(decodeTokens))] + line[i:]
		}
	}
	return line
}

// soupBody returns a body of 1 to maxLines lines of line, cut short one
// time in ten.
func soupBody(rng *rand.Rand, maxLines int, line func(*rand.Rand) string) []byte {
	var sb strings.Builder
	for range 1 + rng.IntN(maxLines) {
		sb.WriteString(line(rng))
		sb.WriteString("\n")
	}
	body := []byte(sb.String())
	if rng.IntN(10) == 0 {
		body = body[:rng.IntN(len(body))]
	}
	return body
}

func TestDecodeMatchesExpfmtOnTokenSoup(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 50000
	if testing.Short() {
		n = 5000
	}
	for range n {
		body := soupBody(rng, 8, soupLine)
		func() {
			defer func() {
				if t.Failed() {
					t.Logf("body: %q", body)
				}
			}()
			var b usage.Batch
			b.Reset(decodeNode)
			err := NewDecoder().Decode(bytes.NewReader(body), decodeScrapeTime, &b)
			checkDecoded(t, &b, err)
			checkMatchesExpfmt(t, body)
		}()
	}
}
