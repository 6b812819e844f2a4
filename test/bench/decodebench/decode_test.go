package decodebench

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/podometer/podometer/test/bench/farm"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/usage"
)

var scrapeTime = time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)

// decoders are the three decoders compared, Podometer's first.
var decoders = []struct {
	name string
	new  func() Decoder
}{
	{"hand-written", func() Decoder { return scrape.NewDecoder() }},
	{"textparse", NewTextparseDecoder},
	{"textparse-strict", NewStrictTextparseDecoder},
	{"expfmt", NewExpfmtDecoder},
}

// farmBody returns the /metrics/resource body of one node of test/bench's
// kubelet farm with pods pods of containers containers each, as kubelet
// v1.3x writes it: four container families, three node and three pod
// families, every sample with a timestamp.
func farmBody(tb testing.TB, pods, containers int) []byte {
	tb.Helper()
	f := farm.New(farm.Config{PodsPerNode: pods, ContainersPerPod: containers, Now: func() time.Time { return scrapeTime }})
	f.AddNodes("node-a")
	rec := httptest.NewRecorder()
	f.Handler().ServeHTTP(rec, httptest.NewRequest("GET", farm.ResourceMetricsPath("node-a"), nil))
	if rec.Code != 200 {
		tb.Fatalf("farm answered %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

func decode(tb testing.TB, d Decoder, body []byte) (usage.Batch, error) {
	tb.Helper()
	var b usage.Batch
	b.Reset("node-a")
	err := d.Decode(bytes.NewReader(body), scrapeTime, &b)
	return b, err
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sortContainers compares pods whatever the order of their containers:
// expfmt gives them in family order, the others in body order.
var sortContainers = cmp.Transformer("sortContainers", func(in []usage.ContainerPoint) []usage.ContainerPoint {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b usage.ContainerPoint) int { return strings.Compare(a.Name, b.Name) })
	return out
})

func TestDecodersBuildTheSameBatch(t *testing.T) {
	bodies := map[string][]byte{"farm 110x2": farmBody(t, 110, 2)}
	for _, name := range []string{"kubelet_v1.33.txt", "kwok.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "pkg", "scrape", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		bodies[name] = b
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			want, wantErr := decode(t, scrape.NewDecoder(), body)
			for _, d := range decoders[1:] {
				got, err := decode(t, d.new(), body)
				if (err == nil) != (wantErr == nil) {
					t.Fatalf("%s: error %v, the hand-written decoder's %v", d.name, err, wantErr)
				}
				if diff := cmp.Diff(want, got, sortContainers); diff != "" {
					t.Errorf("%s: batch differs from the hand-written decoder's (-hand-written +%s):\n%s", d.name, d.name, diff)
				}
			}
		})
	}
}

// BenchmarkDecode decodes the body of a node with 110 pods (the kubelet's
// default maximum) of 2 containers with each decoder in turn. Beside the
// wall time it reports the CPU time of the process (the benchmark and the
// garbage collector) per body, which the other tenants of a shared machine
// disturb less.
func BenchmarkDecode(b *testing.B) {
	body := farmBody(b, 110, 2)
	for _, dc := range decoders {
		b.Run("decoder="+dc.name, func(b *testing.B) {
			d := dc.new()
			var batch usage.Batch
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				batch.Reset("node-a")
				if err := d.Decode(bytes.NewReader(body), scrapeTime, &batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
			if len(batch.Pods) != 110 {
				b.Fatalf("decoded %d pods, want 110", len(batch.Pods))
			}
		})
	}
}
