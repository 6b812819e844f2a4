// The families of a /metrics/cadvisor body: which are kept, the name and
// kind they are served under, and which family a line belongs to.

package scrape

import (
	"regexp"
	"strings"

	"github.com/podometer/podometer/pkg/usage"
)

// cadFamily is a metric family name the decoder met: what the regexp and
// the naming rules say of it, for good, and its state in the current body.
type cadFamily struct {
	name string
	// id numbers the family in its table.
	id int32
	// served is the name its samples are served under; empty when the
	// family is not kept.
	served string
	// network families take the pod's sandbox series.
	network bool

	// gen is the body the fields below belong to; a family of an older
	// body is not (yet) a family of the current one.
	gen uint32
	// typ is the type of its TYPE line; typeUnknown without one.
	typ typeWord
	// typed is set at its TYPE line or first sample: another TYPE line
	// is an error then.
	typed bool
}

// kept reports whether the samples of f in the current body are served:
// the regexp keeps it and its type is counter, gauge or untyped.
func (f *cadFamily) kept() bool {
	if f.served == "" {
		return false
	}
	switch f.typ {
	case typeUnknown, typeCounter, typeGauge, typeUntyped:
		return true
	}
	return false
}

// kind returns how f's samples of type typ are served: the type decides,
// and an untyped family is a counter when its name ends in _total.
func (f *cadFamily) kind(typ typeWord) usage.NativeKind {
	switch typ {
	case typeCounter:
		return usage.Counter
	case typeGauge:
		return usage.Gauge
	}
	if strings.HasSuffix(f.name, "_total") {
		return usage.Counter
	}
	return usage.Gauge
}

// ServedCadvisorName returns the name a /metrics/cadvisor family is served
// under, as prometheus-adapter's default rules name it: without the
// container_ prefix, and without a _seconds_total suffix or else a _total
// suffix ("container_cpu_usage_seconds_total" is "cpu_usage",
// "container_network_receive_bytes_total" is "network_receive_bytes",
// "container_memory_rss" is "memory_rss"). It is empty when nothing is
// left.
func ServedCadvisorName(family string) string {
	s := strings.TrimPrefix(family, "container_")
	if t, ok := strings.CutSuffix(s, "_seconds_total"); ok {
		return t
	}
	return strings.TrimSuffix(s, "_total")
}

// familyTable knows every family name a pooled state met, so that a name
// is matched against the regexp once, and resolves the names of a body's
// lines to their families as expfmt does.
type familyTable struct {
	re     *regexp.Regexp
	byName map[string]*cadFamily
	gen    uint32
	// last is the family of the previous line: lines of a family come
	// together.
	last *cadFamily
}

func newFamilyTable(re *regexp.Regexp) familyTable {
	return familyTable{re: re, byName: make(map[string]*cadFamily)}
}

// trim lets go of the names of a large or hostile body.
func (ft *familyTable) trim() {
	if len(ft.byName) > maxFamilies {
		ft.byName = make(map[string]*cadFamily)
	}
	ft.last = nil
}

// newBody starts a body: no family is a family of it yet.
func (ft *familyTable) newBody() {
	ft.gen++
	if ft.gen == 0 {
		for _, f := range ft.byName {
			f.gen = 0
		}
		ft.gen = 1
	}
	ft.last = nil
}

// lookup returns the family of that exact name, adding it.
func (ft *familyTable) lookup(name []byte) *cadFamily {
	if f, ok := ft.byName[string(name)]; ok {
		return f
	}
	s := string(name)
	f := &cadFamily{name: s, id: int32(len(ft.byName))}
	if ft.re.MatchString(s) {
		f.served = ServedCadvisorName(s)
		f.network = strings.HasPrefix(s, "container_network_")
	}
	ft.byName[s] = f
	return f
}

// resolve returns the family a HELP, TYPE or sample line naming name
// belongs to in the current body, as expfmt finds it: the family of that
// name if the body has one, else the summary or histogram that name is the
// _sum, _count or _bucket of, else a new family of the body.
func (ft *familyTable) resolve(name []byte) *cadFamily {
	if f := ft.last; f != nil && f.name == string(name) {
		return f
	}
	f := ft.lookup(name)
	if f.gen != ft.gen {
		if c := ft.compositeOf(f.name); c != nil {
			ft.last = c
			return c
		}
		f.gen, f.typ, f.typed = ft.gen, typeUnknown, false
	}
	ft.last = f
	return f
}

// compositeOf returns the summary or histogram of the current body whose
// _sum, _count or _bucket series name is, or nil.
func (ft *familyTable) compositeOf(name string) *cadFamily {
	base, ok := strings.CutSuffix(name, "_sum")
	if !ok {
		base, ok = strings.CutSuffix(name, "_count")
	}
	bucket := false
	if !ok {
		base, bucket = strings.CutSuffix(name, "_bucket")
	}
	if base == "" {
		return nil
	}
	c, ok := ft.byName[base]
	if !ok || c.gen != ft.gen {
		return nil
	}
	if c.typ == typeHistogram || (c.typ == typeSummary && !bucket) {
		return c
	}
	return nil
}
