package promclient

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// SeriesOptions say what SeriesShapes keeps of each series of an answer.
type SeriesOptions struct {
	// Keep says whether a label name (other than __name__) is kept; it
	// is asked once per distinct name and answer. nil keeps every name.
	Keep func(name string) bool
	// Values are the labels whose values are kept: those of the last
	// series of each shape.
	Values []string
	// Last is the Hash of the caller's last answer to the same request
	// and options, 0 for none: an answer with the same bytes is not
	// decoded, and comes back Unchanged.
	Last uint64
}

// SeriesShape stands for the series of an answer that have one metric
// name and one set of kept label names: what a discovery decides from,
// which grows with the metric names, not with the series.
type SeriesShape struct {
	// Name is the value of __name__; "" when the series have none.
	Name string
	// Labels are the kept label names the series have, sorted.
	Labels []string
	// Values are the last series' values of SeriesOptions.Values, in
	// their order; "" for a label it lacks.
	Values []string
	// Count is how many series have this shape; Last is the place of
	// the last of them in the answer.
	Count, Last int
}

// LabelSet is the shape as a label set: the name, the kept labels with
// empty values but those of values.
func (s SeriesShape) LabelSet(values []string) model.LabelSet {
	ls := make(model.LabelSet, len(s.Labels)+1)
	if s.Name != "" {
		ls[model.MetricNameLabel] = model.LabelValue(s.Name)
	}
	for _, l := range s.Labels {
		ls[model.LabelName(l)] = ""
	}
	for i, l := range values {
		if _, ok := ls[model.LabelName(l)]; ok && i < len(s.Values) {
			ls[model.LabelName(l)] = model.LabelValue(s.Values[i])
		}
	}
	return ls
}

// SeriesAnswer is a series request's answer, reduced.
type SeriesAnswer struct {
	// Shapes are sorted by Last: reading them in order decides what
	// reading every series in order decides, when a later series
	// overrides an earlier one.
	Shapes []SeriesShape
	// Values are the labels whose values the shapes hold, in order
	// (SeriesOptions.Values).
	Values []string
	// Series counts the series listed.
	Series int
	// Warnings came with the answer.
	Warnings promv1.Warnings
	// Hash is a hash of the answer's bytes, within this process: an
	// equal hash is, but for a collision, the same answer.
	Hash uint64
	// Unchanged says that the answer is SeriesOptions.Last's, to the
	// byte: it was not decoded, and only Hash is set.
	Unchanged bool
}

// ReduceSeries reduces label sets as SeriesShapes reduces an answer's.
func ReduceSeries(sets []model.LabelSet, opts SeriesOptions) SeriesAnswer {
	r := newReducer(opts)
	for _, ls := range sets {
		r.begin()
		for name, value := range ls {
			// Names come from a LabelSet, which validated them.
			id, _ := r.label([]byte(name))
			r.set(id, []byte(value))
		}
		r.end()
	}
	return r.answer()
}

// labelInfo is what the reducer decided about a label name.
type labelInfo struct {
	name string
	keep bool
	// slot is the index in SeriesOptions.Values, -1 when its value is
	// not kept.
	slot int
}

// nameID is the id of __name__.
const nameID = 0

// reducer reduces series, one at a time, to shapes.
type reducer struct {
	opts   SeriesOptions
	ids    map[string]int32 // label name -> index in labels
	labels []labelInfo
	shapes map[string]int // key -> index in out
	out    []SeriesShape
	// last holds, per shape, the values of its last series until
	// answer makes them strings: a value that changes from series to
	// series costs no allocation.
	last [][][]byte
	n    int

	// the series being read
	name   []byte
	kept   []int32
	values [][]byte
	has    []bool
	key    []byte
	// at is the place of the next label in the series; prev the ids of
	// the last series' labels by place, and prevKey and prevShape its
	// shape: Prometheus lists the series sorted, so a series' labels are
	// most often the last one's, and its shape too.
	at        int
	prev      []int32
	prevKey   []byte
	prevShape int
}

func newReducer(opts SeriesOptions) *reducer {
	r := &reducer{opts: opts}
	r.values = make([][]byte, len(opts.Values))
	r.has = make([]bool, len(opts.Values))
	r.reset()
	return r
}

// reset forgets the series read so far.
func (r *reducer) reset() {
	r.ids = map[string]int32{model.MetricNameLabel: nameID}
	r.labels = []labelInfo{{name: model.MetricNameLabel, slot: slices.Index(r.opts.Values, model.MetricNameLabel)}}
	r.shapes = map[string]int{}
	r.prev, r.prevKey = r.prev[:0], r.prevKey[:0]
	r.out = r.out[:0]
	r.last = r.last[:0]
	r.n = 0
}

// label gives the id of a label name, deciding what is kept of it the
// first time; a name that is not a valid label name is an error, as
// model.LabelSet's decoding says.
func (r *reducer) label(name []byte) (int32, error) {
	at := r.at
	r.at++
	if at < len(r.prev) && string(name) == r.labels[r.prev[at]].name {
		return r.prev[at], nil
	}
	id, err := r.lookup(name)
	if err == nil {
		if at < len(r.prev) {
			r.prev[at] = id
		} else {
			r.prev = append(r.prev, id)
		}
	}
	return id, err
}

// lookup is label without the last series' labels.
func (r *reducer) lookup(name []byte) (int32, error) {
	if id, ok := r.ids[string(name)]; ok {
		return id, nil
	}
	s := string(name)
	if !model.LabelName(s).IsValid() {
		return 0, fmt.Errorf("%q is not a valid label name", s)
	}
	info := labelInfo{name: s, keep: r.opts.Keep == nil || r.opts.Keep(s), slot: slices.Index(r.opts.Values, s)}
	id := int32(len(r.labels))
	r.labels = append(r.labels, info)
	r.ids[s] = id
	return id, nil
}

func (r *reducer) begin() {
	r.at = 0
	r.name = r.name[:0]
	r.kept = r.kept[:0]
	clear(r.has)
}

// set records a label of the series; the last of duplicates wins.
func (r *reducer) set(id int32, value []byte) {
	info := r.labels[id]
	if id == nameID {
		r.name = append(r.name[:0], value...)
	} else if info.keep {
		r.kept = append(r.kept, id)
	}
	if info.slot >= 0 {
		r.values[info.slot] = append(r.values[info.slot][:0], value...)
		r.has[info.slot] = true
	}
}

// end adds the series to its shape.
func (r *reducer) end() {
	slices.Sort(r.kept)
	r.kept = slices.Compact(r.kept)
	r.key = binary.AppendUvarint(r.key[:0], uint64(len(r.name)))
	r.key = append(r.key, r.name...)
	for _, id := range r.kept {
		r.key = binary.LittleEndian.AppendUint32(r.key, uint32(id))
	}
	i, ok := r.prevShape, len(r.out) > 0 && bytes.Equal(r.key, r.prevKey)
	if !ok {
		i, ok = r.shapes[string(r.key)]
	}
	if !ok {
		i = len(r.out)
		r.shapes[string(r.key)] = i
		s := SeriesShape{Name: string(r.name)}
		for _, id := range r.kept {
			s.Labels = append(s.Labels, r.labels[id].name)
		}
		sort.Strings(s.Labels)
		r.out = append(r.out, s)
		r.last = append(r.last, make([][]byte, len(r.values)))
	}
	r.prevShape, r.prevKey = i, append(r.prevKey[:0], r.key...)
	for slot, v := range r.values {
		if !r.has[slot] {
			v = nil
		}
		r.last[i][slot] = append(r.last[i][slot][:0], v...)
	}
	r.out[i].Count++
	r.out[i].Last = r.n
	r.n++
}

// answer is the shapes of the series read, sorted by their last series.
func (r *reducer) answer() SeriesAnswer {
	out := slices.Clone(r.out)
	for i := range out {
		out[i].Values = make([]string, len(r.last[i]))
		for slot, v := range r.last[i] {
			out[i].Values[slot] = string(v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Last < out[j].Last })
	return SeriesAnswer{Shapes: out, Values: r.opts.Values, Series: r.n}
}
