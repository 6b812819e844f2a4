package scrape

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/usage"
)

// FuzzCadvisorDecode checks that CadvisorDecoder never panics and that,
// on every body expfmt accepts, it yields the samples and drops the values
// that cadvisorReference computes from expfmt's families.
//
//	go test -fuzz=FuzzCadvisorDecode ./pkg/scrape/
func FuzzCadvisorDecode(f *testing.F) {
	body, err := os.ReadFile(filepath.Join("testdata", "cadvisor_v1.35.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add(cadvisorMetricsBody(2, 2, decodeScrapeTime.Add(-time.Second)))
	f.Add(cadvisorMetricsBody(1, 1, time.Time{}))
	f.Add([]byte("# TYPE container_x summary\n" + series("container_x_sum", "", cgSystemd, "", "1") +
		series("container_x_total", "", cgSystemd, "", "1") + series("container_x", "", cgSystemd, "", "NaN")))
	f.Add([]byte(series("container_network_receive_bytes_total", "POD", cgCgroupfsCtr, `interface="eth0"`, "4 1764000001000") +
		series("container_network_receive_bytes_total", "", cgCgroupfs, `interface="eth0"`, "-1")))
	// A series listed twice, in another label order the second time.
	f.Add([]byte(series("container_fs_usage_bytes", "", cgSystemd, `device="a"`, "1") +
		`container_fs_usage_bytes{device="a",pod="p",namespace="ns",id="` + cgSystemd + `",container=""} 1` + "\n"))
	// Every family a wanted name could be: the fuzzer finds more
	// rules to break with a wide regexp.
	d := NewCadvisorDecoder(regexp.MustCompile(fuzzCadvisorSeries))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b usage.Batch
		b.Reset(decodeNode)
		err := d.Decode(bytes.NewReader(body), decodeScrapeTime, &b)
		checkCadvisorMatchesExpfmt(t, fuzzCadvisorSeries, body, &b, err)
	})
}

const fuzzCadvisorSeries = `^(container_|x)`

// checkCadvisorMatchesExpfmt compares what a decoder of the families re
// keeps gave for body with the reference.
func checkCadvisorMatchesExpfmt(t *testing.T, re string, body []byte, b *usage.Batch, err error) {
	t.Helper()
	var fe *FormatError
	var pe *PartialError
	switch {
	case errors.As(err, &fe):
		if len(b.PodNative) != 0 {
			t.Fatalf("Decode() = %v but filled the batch: %v", err, b.PodNative)
		}
	case errors.As(err, &pe):
		if len(pe.Errs) == 0 || len(pe.Errs) > maxSampleErrors || (pe.Omitted > 0 && len(pe.Errs) != maxSampleErrors) {
			t.Fatalf("PartialError with %d errors and %d omitted", len(pe.Errs), pe.Omitted)
		}
		_ = pe.Error()
	case err != nil:
		t.Fatalf("Decode() = %v, want nil, a *FormatError or a *PartialError", err)
	}
	if len(bytes.TrimSpace(body)) == 0 && fe == nil {
		t.Fatalf("Decode() = %v on a blank body, want a *FormatError", err)
	}
	want, dropped, ok := cadvisorReference(regexp.MustCompile(re), body, decodeScrapeTime)
	if !ok {
		return // expfmt rejects the body: the decoder may read less of it
	}
	if fe != nil {
		t.Fatalf("Decode() = %v, expfmt accepts the body", err)
	}
	if diff := gocmp.Diff(want, b.PodNative, cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); diff != "" {
		t.Fatalf("the decoder and the reference disagree (-reference +decoder):\n%s", diff)
	}
	var got []string
	if pe != nil {
		if pe.Omitted > 0 {
			if n := len(pe.Errs) + pe.Omitted; n != len(dropped) {
				t.Fatalf("the decoder dropped %d values, the reference %d: %v", n, len(dropped), dropped)
			}
			return
		}
		for _, se := range pe.Errs {
			got = append(got, se.Namespace+"/"+se.Pod+"/"+se.Metric)
		}
	}
	if diff := gocmp.Diff(dropped, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Fatalf("the decoder and the reference drop different values (-reference +decoder):\n%s", diff)
	}
}

// refSeries adds up the series of one role of a pod's family.
type refSeries struct {
	sum   float64
	ts    time.Time
	n     int
	bad   bool
	dated bool
	// labelSets are the series added, by their labels: one listed twice
	// drops the sum.
	labelSets map[string]bool
}

func (s *refSeries) add(labelSet string, v float64, ts time.Time) {
	s.n++
	if s.labelSets == nil {
		s.labelSets = map[string]bool{}
	}
	if s.labelSets[labelSet] {
		s.bad = true
		return
	}
	s.labelSets[labelSet] = true
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		s.bad = true
		return
	}
	s.sum += v
	if !s.dated || ts.After(s.ts) {
		s.ts, s.dated = ts, true
	}
}

type refFamily struct {
	family, served string
	kind           usage.NativeKind
	network        bool
	pod, sandbox   refSeries
}

var (
	refPodCgroup = regexp.MustCompile(`^pod[0-9a-fA-F_-]+$|-pod[0-9a-fA-F_]+\.slice$`)
	refSuffix    = regexp.MustCompile(`(_seconds)?_total$`)
)

// cadvisorReference computes from expfmt's families what the decoder must
// give for body, with the rules written out plainly, and the values it
// must drop as namespace/pod/family. ok is false when expfmt rejects body.
func cadvisorReference(re *regexp.Regexp, body []byte, scrapeTime time.Time) (want map[usage.PodRef][]usage.NativeSample, dropped []string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, false // no kubelet answers nothing: rejected
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, nil, false
	}
	pods := map[usage.PodRef]map[string]*refFamily{}
	for name, mf := range families {
		served := refSuffix.ReplaceAllString(strings.TrimPrefix(name, "container_"), "")
		if !re.MatchString(name) || served == "" {
			continue
		}
		var kind usage.NativeKind
		switch mf.GetType().String() {
		case "COUNTER":
			kind = usage.Counter
		case "GAUGE":
			kind = usage.Gauge
		case "UNTYPED":
			if strings.HasSuffix(name, "_total") {
				kind = usage.Counter
			}
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			var pairs []string
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
				if l.GetValue() != "" { // an empty value is no label
					pairs = append(pairs, strconv.Quote(l.GetName())+"="+strconv.Quote(l.GetValue()))
				}
			}
			slices.Sort(pairs)
			labelSet := strings.Join(pairs, ",")
			ref := usage.PodRef{Namespace: labels["namespace"], Name: labels["pod"]}
			if ref.Namespace == "" || ref.Name == "" {
				continue
			}
			elems := strings.Split(labels["id"], "/")
			last, parent := elems[len(elems)-1], ""
			if len(elems) > 1 {
				parent = elems[len(elems)-2]
			}
			ctr := labels["container"]
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
			ts := scrapeTime
			if m.TimestampMs != nil {
				ts = time.UnixMilli(m.GetTimestampMs())
			}
			if pods[ref] == nil {
				pods[ref] = map[string]*refFamily{}
			}
			fam := pods[ref][name]
			if fam == nil {
				fam = &refFamily{family: name, served: served, kind: kind, network: strings.HasPrefix(name, "container_network_")}
			}
			switch {
			case ctr == "" && refPodCgroup.MatchString(last):
				fam.pod.add(labelSet, v, ts)
			case (ctr == "" || ctr == "POD") && refPodCgroup.MatchString(parent):
				fam.sandbox.add(labelSet, v, ts)
			default:
				continue
			}
			pods[ref][name] = fam
		}
	}
	want = map[usage.PodRef][]usage.NativeSample{}
	for ref, fams := range pods {
		sorted := slices.SortedFunc(func(yield func(*refFamily) bool) {
			for _, f := range fams {
				if !yield(f) {
					return
				}
			}
		}, func(a, b *refFamily) int {
			return cmp.Or(strings.Compare(a.served, b.served), strings.Compare(a.family, b.family))
		})
		var out []usage.NativeSample
		done := map[string]bool{}
		for _, f := range sorted {
			s := f.pod
			if f.network && f.sandbox.n > 0 {
				s = f.sandbox
			}
			if s.n == 0 || done[f.served] {
				continue
			}
			done[f.served] = true
			if s.bad || math.IsInf(s.sum, 0) {
				dropped = append(dropped, ref.Namespace+"/"+ref.Name+"/"+f.family)
				continue
			}
			out = append(out, usage.NativeSample{Name: f.served, Kind: f.kind, Value: s.sum, Timestamp: s.ts})
		}
		if len(out) > 0 {
			want[ref] = out
		}
	}
	return want, dropped, true
}

// cadvisorSoupLine returns a line of a cAdvisor-like body that is often
// valid exposition, sometimes mangled with a few of decodeTokens.
func cadvisorSoupLine(rng *rand.Rand) string {
	pick := func(opts ...string) string { return opts[rng.IntN(len(opts))] }
	names := []string{"container_memory_rss", "container_network_receive_bytes_total", "container_cpu_usage_seconds_total",
		"container_x", "container_x_sum", "container_x_count", "container_x_bucket", "container_x_total", "xy", "machine_cpu_cores"}
	var line string
	switch rng.IntN(6) {
	case 0:
		line = "# " + pick("HELP", "TYPE", "TYPE", "plain") + " " + pick(names...) + " " +
			pick("counter", "gauge", "untyped", "summary", "histogram", "text", "GAUGE")
	case 1:
		line = pick("", " ", "#")
	default:
		line = pick(names...)
		labels := []string{
			`container="` + pick("", "", "POD", "app") + `"`,
			`id="` + pick(cgSystemd, cgSystemdSbx, cgSystemdCtr, cgCgroupfs, cgCgroupfsCtr, cgGuaranteed, "/", `/kubepods/pod1\\2`) + `"`,
			`namespace="` + pick("a", "b", "a", `\"`) + `"`,
			`pod="` + pick("p", "q", "p", "") + `"`,
			pick(`interface="eth0"`, `interface="net1"`, `device="/dev/a"`, `cpu="total"`, `le="1"`, `quantile="0.5"`),
		}
		labels = slices.DeleteFunc(labels, func(string) bool { return rng.IntN(6) == 0 })
		rng.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
		line += "{" + strings.Join(labels, ",") + "} " +
			pick("0", "1", "2.5", "1e3", "-1", "NaN", "+Inf", "1e308")
		if rng.IntN(2) == 0 {
			line += " " + pick("1764000000000", "1764000001000", "-1")
		}
	}
	return mangle(rng, line, 6)
}

func TestCadvisorDecodeMatchesExpfmtOnTokenSoup(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 10000
	if testing.Short() {
		n = 2000
	}
	d := NewCadvisorDecoder(regexp.MustCompile(fuzzCadvisorSeries))
	for range n {
		body := soupBody(rng, 10, cadvisorSoupLine)
		var b usage.Batch
		b.Reset(decodeNode)
		err := d.Decode(bytes.NewReader(body), decodeScrapeTime, &b)
		checkCadvisorMatchesExpfmt(t, fuzzCadvisorSeries, body, &b, err)
		if t.Failed() {
			t.Fatalf("body: %q", body)
		}
	}
}
