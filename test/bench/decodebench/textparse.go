package decodebench

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/podometer/podometer/pkg/scrape"
)

// NewTextparseDecoder returns a decoder built on textparse's PromParser,
// the parser Prometheus scrapes the text format with.
//
// It asks textparse for as little as it can: the zero-copy Series and Type
// accessors for every line, and Labels, which copies the series and
// allocates the label set, only for the first sample of a container in a
// body; later samples find their container by the raw text of their label
// set. Families the Batch does not need are skipped without looking at
// their labels.
func NewTextparseDecoder() Decoder {
	return &pooledDecoder{parse: parseTextparse}
}

// textparseScratch is the pooled state of parseTextparse.
type textparseScratch struct {
	// lastName and lastKind remember the family of the last series:
	// series of a family come together.
	lastName []byte
	lastKind scrape.MetricKind
	labels   labels.Labels

	// The state of the strict decoder: the families of the body, the last
	// one looked up, the label names of the current line.
	families    map[string]*strictFamily
	lastFamName []byte
	lastFam     *strictFamily
	names       [][]byte
}

// kind returns the kind of the family name, remembering it.
func (sc *textparseScratch) kind(name []byte) scrape.MetricKind {
	if string(name) != string(sc.lastName) {
		sc.lastName = append(sc.lastName[:0], name...)
		sc.lastKind = scrape.KindOf(string(name))
	}
	return sc.lastKind
}

func parseTextparse(body []byte, scrapeTime time.Time, bb *scrape.BatchBuilder, sc *textparseScratch) error {
	sc.lastName, sc.lastKind = sc.lastName[:0], scrape.KindOther
	p := textparse.NewPromParser(body, nil, false)
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &scrape.FormatError{Msg: err.Error()}
		}
		switch entry {
		case textparse.EntryType:
			name, typ := p.Type()
			if k := scrape.KindOf(string(name)); k != scrape.KindOther && !sampleType(typ) {
				return &scrape.FormatError{Metric: k.String(), Msg: fmt.Sprintf("type %s, want counter, gauge or untyped", typ)}
			}
		case textparse.EntrySeries:
			addSeries(p, scrapeTime, bb, sc)
		}
	}
}

func sampleType(t model.MetricType) bool {
	return t == model.MetricTypeCounter || t == model.MetricTypeGauge || t == model.MetricTypeUnknown
}

// addSeries hands the current sample of p to bb if its family is wanted.
func addSeries(p textparse.Parser, scrapeTime time.Time, bb *scrape.BatchBuilder, sc *textparseScratch) {
	series, ms, v := p.Series()
	s := scrape.Sample{Value: v, Time: scrapeTime}
	if ms != nil {
		s.Time = time.UnixMilli(*ms)
	}
	// The series is the name and the label set as the body wrote them;
	// a name in quotes or inside the braces needs the parsed labels.
	name, key := splitSeries(series[skipBlanks(series, 0):])
	if len(name) == 0 || name[0] == '"' {
		p.Labels(&sc.labels)
		s.Kind = scrape.KindOf(sc.labels.Get(labels.MetricName))
		key = nil
	} else {
		s.Kind = sc.kind(name)
	}
	addSample(p, key, s, bb, sc)
}

// splitSeries splits a series as the body wrote it into its metric name
// and its label set.
func splitSeries(series []byte) (name, labelSet []byte) {
	end := 0
	for end < len(series) && series[end] != '{' && !isBlank(series[end]) {
		end++
	}
	return series[:end], series[end:]
}

// addSample hands s, a sample of the series p is at, to bb if its family
// is wanted. key is the series' label set as the body wrote it, or nil.
func addSample(p textparse.Parser, key []byte, s scrape.Sample, bb *scrape.BatchBuilder, sc *textparseScratch) {
	switch s.Kind {
	case scrape.KindOther:
		return
	case scrape.KindNodeCPU, scrape.KindNodeMemory:
		bb.AddNode(s)
		return
	}
	if key != nil && bb.AddByKey(key, s) {
		return
	}
	if key != nil {
		p.Labels(&sc.labels)
	}
	bb.AddContainer(key, sc.labels.Get("namespace"), sc.labels.Get("pod"), sc.labels.Get("container"), s)
}
