// Package decodebench compares three decoders of a kubelet's
// /metrics/resource body that build the same scrape.Batch: Podometer's own
// (scrape.Decoder, a hand-written parser with expfmt behind it), one on
// github.com/prometheus/prometheus/model/textparse, and one on expfmt
// alone (scrape.ParseExpfmt, Decode's fallback).
//
// It is a module of its own so that Podometer's module does not depend on
// github.com/prometheus/prometheus. All three read the body from an
// io.Reader into a pooled buffer and feed a pooled scrape.BatchBuilder, so
// the benchmark measures what differs: the parsing.
//
//	cd test/bench/decodebench && go test -run '^$' -bench . -benchmem -count 10
package decodebench
