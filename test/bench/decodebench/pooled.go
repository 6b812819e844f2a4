package decodebench

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/usage"
)

// parseFunc adds the samples of body to bb; scratch is the parser's own
// pooled state, nil for parsers that keep none.
type parseFunc func(body []byte, scrapeTime time.Time, bb *scrape.BatchBuilder, scratch *textparseScratch) error

// pooledDecoder reads a body into a pooled buffer and parses it into a
// pooled scrape.BatchBuilder, as scrape.Decoder does.
type pooledDecoder struct {
	parse parseFunc
	pool  sync.Pool
}

type pooledState struct {
	body    bytes.Buffer
	bb      *scrape.BatchBuilder
	scratch textparseScratch
}

// Decode has the contract of scrape.Decoder.Decode.
func (d *pooledDecoder) Decode(r io.Reader, scrapeTime time.Time, b *usage.Batch) error {
	st, _ := d.pool.Get().(*pooledState)
	if st == nil {
		st = &pooledState{bb: scrape.NewBatchBuilder()}
	}
	defer d.pool.Put(st)
	st.body.Reset()
	if _, err := st.body.ReadFrom(r); err != nil {
		return fmt.Errorf("reading resource metrics: %w", err)
	}
	st.bb.Reset(scrapeTime)
	if err := d.parse(st.body.Bytes(), scrapeTime, st.bb, &st.scratch); err != nil {
		return err
	}
	return st.bb.Build(b)
}

// Decoder is what the three decoders have in common.
type Decoder interface {
	Decode(r io.Reader, scrapeTime time.Time, b *usage.Batch) error
}

var _ Decoder = (*scrape.Decoder)(nil)

// NewExpfmtDecoder returns a decoder that parses with expfmt alone: what
// scrape.Decoder falls back to for syntax its own parser leaves alone.
func NewExpfmtDecoder() Decoder {
	return &pooledDecoder{parse: func(body []byte, _ time.Time, bb *scrape.BatchBuilder, _ *textparseScratch) error {
		return scrape.ParseExpfmt(body, bb)
	}}
}
