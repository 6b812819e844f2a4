package decodebench

import (
	"bytes"
	"errors"
	"io"
	"time"

	"github.com/prometheus/prometheus/model/textparse"

	"github.com/podometer/podometer/pkg/scrape"
)

// NewStrictTextparseDecoder returns a textparse decoder held to expfmt as
// scrape.Decoder is: it leaves to expfmt (scrape.ParseExpfmt) every body
// that textparse rejects or might read differently from expfmt, so that it
// accepts, rejects and builds what scrape.Decoder does, and names the line
// of each rejected sample. This is what replacing scrape.Decoder's own
// parser with textparse would take.
//
// textparse accepts what expfmt rejects in a few places, so each line is
// checked: a label name given twice, __name__ or quoted, labels without
// commas between them, blanks after the value or timestamp, escapes
// (textparse takes any), a second HELP or TYPE, a TYPE after samples, HELP
// and TYPE lines that textparse reads as comments, a NUL byte, and a last
// line without a newline.
func NewStrictTextparseDecoder() Decoder {
	return &pooledDecoder{parse: parseStrict}
}

// errUseExpfmt sends a body to expfmt.
var errUseExpfmt = errors.New("left to expfmt")

// strictFamily is what parseStrict knows of a family of the body.
type strictFamily struct {
	kind        scrape.MetricKind
	help, typed bool
}

func parseStrict(body []byte, scrapeTime time.Time, bb *scrape.BatchBuilder, sc *textparseScratch) error {
	err := parseStrictly(body, scrapeTime, bb, sc)
	if errors.Is(err, errUseExpfmt) {
		bb.Reset(scrapeTime)
		err = scrape.ParseExpfmt(body, bb)
	}
	return err
}

func parseStrictly(body []byte, scrapeTime time.Time, bb *scrape.BatchBuilder, sc *textparseScratch) error {
	if bytes.IndexByte(body, 0) >= 0 {
		return errUseExpfmt // textparse ends the body at a NUL
	}
	if nl := bytes.LastIndexByte(body, '\n'); nl+1 < len(body) {
		if !blank(body[nl+1:]) {
			return errUseExpfmt // expfmt wants a newline at the end
		}
		body = body[:nl+1] // so that textparse reads body itself, not a copy
	}
	if sc.families == nil {
		sc.families = make(map[string]*strictFamily)
	}
	for _, f := range sc.families {
		f.help, f.typed = false, false
	}
	sc.lastFamName, sc.lastFam = sc.lastFamName[:0], nil
	p := textparse.NewPromParser(body, nil, false)
	line, lineStart := 1, 0
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errUseExpfmt
		}
		switch entry {
		case textparse.EntryHelp:
			name, _ := p.Help()
			off := offset(body, name)
			if !plainName(body, off, len(name)) || bytes.IndexByte(lineAt(body, off), '\\') >= 0 {
				return errUseExpfmt // escapes
			}
			f := sc.family(name)
			if f.help {
				return errUseExpfmt
			}
			f.help = true
		case textparse.EntryType:
			name, typ := p.Type()
			f := sc.family(name)
			if !plainName(body, offset(body, name), len(name)) || f.typed || !sampleType(typ) {
				return errUseExpfmt
			}
			f.typed = true
		case textparse.EntryComment:
			c := bytes.TrimLeft(p.Comment()[1:], " \t")
			if bytes.HasPrefix(c, []byte("HELP")) || bytes.HasPrefix(c, []byte("TYPE")) {
				return errUseExpfmt // expfmt may read it as HELP or TYPE
			}
		case textparse.EntrySeries:
			series, _, _ := p.Series()
			off := offset(body, series)
			if l := lineAt(body, off); isBlank(l[len(l)-1]) {
				return errUseExpfmt
			}
			line += bytes.Count(body[lineStart:off], []byte{'\n'})
			lineStart = off
			if err := addStrictSeries(p, scrapeTime, line, bb, sc); err != nil {
				return err
			}
		}
	}
}

func addStrictSeries(p textparse.Parser, scrapeTime time.Time, line int, bb *scrape.BatchBuilder, sc *textparseScratch) error {
	series, ms, v := p.Series()
	series = series[skipBlanks(series, 0):]
	if series[0] == '{' || series[0] == '"' || bytes.IndexByte(series, '\n') >= 0 {
		return errUseExpfmt // a quoted name, or a new-line in a label value
	}
	name, key := splitSeries(series)
	if !sc.plainLabels(key) {
		return errUseExpfmt
	}
	f := sc.family(name)
	f.typed = true // expfmt fixes the type at the first sample
	s := scrape.Sample{Kind: f.kind, Value: v, Time: scrapeTime, Line: line}
	if ms != nil {
		s.Time = time.UnixMilli(*ms)
	}
	addSample(p, key, s, bb, sc)
	return nil
}

// plainLabels reports whether the label set lbls, as textparse accepted
// it, is one that expfmt reads the same way.
func (sc *textparseScratch) plainLabels(lbls []byte) bool {
	i := skipBlanks(lbls, 0)
	if i == len(lbls) {
		return true
	}
	sc.names = sc.names[:0]
	for i++; ; {
		i = skipBlanks(lbls, i)
		switch lbls[i] {
		case '}':
			return true
		case '"':
			return false
		}
		j := i
		for lbls[j] != '=' && !isBlank(lbls[j]) {
			j++
		}
		name := lbls[i:j]
		if string(name) == "__name__" || len(sc.names) == 16 {
			return false
		}
		for _, n := range sc.names {
			if string(n) == string(name) {
				return false
			}
		}
		sc.names = append(sc.names, name)
		i = valueEnd(lbls, j+bytes.IndexByte(lbls[j:], '"')+1)
		if i < 0 {
			return false
		}
		i = skipBlanks(lbls, i+1)
		switch lbls[i] {
		case ',':
			i++
		case '}':
			return true
		default:
			return false
		}
	}
}

// valueEnd returns the index of the quote that ends the label value
// starting at i, or -1 if the value has an escape expfmt rejects.
func valueEnd(lbls []byte, i int) int {
	q := i + bytes.IndexByte(lbls[i:], '"')
	if bytes.IndexByte(lbls[i:q], '\\') < 0 {
		return q // most values have no escapes
	}
	for ; lbls[i] != '"'; i++ {
		if lbls[i] == '\\' {
			i++
			if c := lbls[i]; c != '\\' && c != '"' && c != 'n' {
				return -1
			}
		}
	}
	return i
}

// family returns what is known of the named family of the body.
func (sc *textparseScratch) family(name []byte) *strictFamily {
	if sc.lastFam != nil && string(name) == string(sc.lastFamName) {
		return sc.lastFam
	}
	f, ok := sc.families[string(name)]
	if !ok {
		f = &strictFamily{kind: scrape.KindOf(string(name))}
		sc.families[string(name)] = f
	}
	sc.lastFamName, sc.lastFam = append(sc.lastFamName[:0], name...), f
	return f
}

// plainName reports whether the name of n bytes at off in a HELP or TYPE
// line is one that expfmt reads the same way: not quoted, followed by a
// blank.
func plainName(body []byte, off, n int) bool {
	return body[off-1] != '"' && isBlank(body[off+n])
}

// offset returns where sub, a slice of body, starts in it.
func offset(body, sub []byte) int { return cap(body) - cap(sub) }

// lineAt returns the line of body that starts at or runs through off,
// from off to its newline.
func lineAt(body []byte, off int) []byte {
	return body[off : off+bytes.IndexByte(body[off:], '\n')]
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func blank(b []byte) bool { return skipBlanks(b, 0) == len(b) }

func skipBlanks(b []byte, i int) int {
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	return i
}
