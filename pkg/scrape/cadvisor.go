// Decoding a kubelet's /metrics/cadvisor into the kubelet-native samples
// of its pods is split by responsibility:
//
//   - cadvisor.go: the CadvisorDecoder, its pooled state, and the order of
//     the work (the fast parser first, expfmt when it gives up);
//   - cadvisor_family.go: which families are kept, under which name and
//     kind, and which family a line belongs to;
//   - cadvisor_lex.go: the fast parser, which skips the lines of unwanted
//     families without reading them and reads the rest with the resource
//     decoder's lexer (decode_lex.go, decode_labels.go);
//   - cadvisor_series.go: which series of a pod count (its cgroup, its
//     sandbox), from the container and cgroup id labels;
//   - cadvisor_build.go: summing the series and building the batch;
//   - cadvisor_expfmt.go: the fallback on expfmt.

package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// DefaultCadvisorSeries is the default of --kubelet-cadvisor-series: the
// /metrics/cadvisor families served as kubelet-native pod metrics. They are
// CPU usage and CFS throttling; memory working set, RSS, cache and swap;
// network bytes, packets and errors; pressure stall time; filesystem usage
// and limit.
const DefaultCadvisorSeries = `^container_(` +
	`cpu_usage_seconds_total|cpu_cfs_(periods|throttled_periods|throttled_seconds)_total|` +
	`memory_(working_set_bytes|rss|cache|swap)|` +
	`network_(receive|transmit)_(bytes|packets|errors)_total|` +
	`pressure_(cpu|memory|io)_(waiting|stalled)_seconds_total|` +
	`fs_(usage|limit)_bytes` +
	`)$`

// DefaultCadvisorMaxBodyBytes caps a /metrics/cadvisor response. A busy
// node answers with several megabytes: cAdvisor writes dozens of families
// for every container, sandbox and cgroup of the node.
const DefaultCadvisorMaxBodyBytes = 64 << 20

// CadvisorDecoder decodes kubelet /metrics/cadvisor bodies into
// usage.Batch.PodNative: for each pod, one sample per kept family, under
// the name prometheus-adapter's default rules give it. It is safe for
// concurrent use and reuses buffers through a sync.Pool.
//
// Only the families the regexp keeps are read; the lines of the others
// (most of a body) are skipped without being checked, so a malformed line
// of an unwanted family goes unnoticed. The rare bodies that use syntax the
// fast parser leaves alone (quoted UTF-8 names, the {"name",...} form,
// non-ASCII type names) are decoded with expfmt.
type CadvisorDecoder struct {
	families *regexp.Regexp
	pool     sync.Pool
}

var _ BodyDecoder = (*CadvisorDecoder)(nil)

// NewCadvisorDecoder returns a decoder that keeps the families whose names
// match families; nil keeps those of DefaultCadvisorSeries.
func NewCadvisorDecoder(families *regexp.Regexp) *CadvisorDecoder {
	if families == nil {
		families = regexp.MustCompile(DefaultCadvisorSeries)
	}
	return &CadvisorDecoder{families: families}
}

// Decode reads one body and adds the native samples of its pods to
// b.PodNative, making the map when it is nil.
//
// A pod's sample of a family is its pod cgroup's series (container="" and
// the pod's cgroup as id), summed over the other labels; for network
// families, its sandbox's series summed over interfaces, or the pod
// cgroup's when there is no sandbox series. Container series are never
// added, so nothing is counted twice; nor is a series the body lists twice
// (the same family and labels), which drops the pod's value. Its timestamp
// is the latest of the series', scrapeTime standing in for a series
// without one.
//
// Decode returns a *FormatError, and adds nothing to b, when the body is
// not valid text exposition or is empty (blank); a *PartialError, with b
// filled from the rest, when a value was dropped for a NaN, infinite or
// negative sample or a series listed twice; other errors come from r.
func (d *CadvisorDecoder) Decode(r io.Reader, scrapeTime time.Time, b *usage.Batch) error {
	st, _ := d.pool.Get().(*cadvisorState)
	if st == nil {
		st = newCadvisorState(d.families)
	}
	defer d.put(st)
	st.body.Reset()
	if _, err := st.body.ReadFrom(r); err != nil {
		return fmt.Errorf("reading cadvisor metrics: %w", err)
	}
	return nameEndpoint(st.decode(st.body.Bytes(), scrapeTime, b), cadvisorEndpoint)
}

// cadvisorEndpoint names the body in errors.
const cadvisorEndpoint = "cadvisor metrics"

func (d *CadvisorDecoder) put(st *cadvisorState) {
	st.trim()
	d.pool.Put(st)
}

// cadvisorState is the per-call state the pool keeps: the body, the known
// families, the parser's scratch space and the sums being built.
type cadvisorState struct {
	body bytes.Buffer
	fams familyTable
	lex  labelLexer
	acc  podAccumulator
}

func newCadvisorState(families *regexp.Regexp) *cadvisorState {
	return &cadvisorState{
		fams: newFamilyTable(families),
		acc:  newPodAccumulator(),
	}
}

// trim lets go of what a large or hostile body made grow.
func (st *cadvisorState) trim() {
	if st.body.Cap() > maxPooledBody {
		st.body = bytes.Buffer{}
	}
	st.fams.trim()
	st.lex.trim()
	st.acc.trim()
}

// decode fills b from body.
func (st *cadvisorState) decode(body []byte, scrapeTime time.Time, b *usage.Batch) error {
	if err := checkNotEmpty(body); err != nil {
		return err
	}
	st.acc.reset(scrapeTime)
	err := st.parse(body)
	if errors.Is(err, errFallback) {
		st.acc.reset(scrapeTime)
		err = st.parseExpfmt(body)
	}
	if err != nil {
		return err
	}
	return st.acc.build(b)
}
