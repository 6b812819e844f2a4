// Package decodebench compares decoders of a kubelet's /metrics/resource
// body that build the same usage.Batch:
//
//   - hand-written: Podometer's own (scrape.Decoder, a hand-written parser
//     with expfmt behind it);
//   - textparse: one on github.com/prometheus/prometheus/model/textparse
//     that builds the Batch and checks nothing more;
//   - textparse-strict: the same, held to expfmt as scrape.Decoder is
//     (FuzzDecode): what replacing Podometer's parser with textparse
//     would take;
//   - expfmt: expfmt alone (scrape.ParseExpfmt, Decode's fallback).
//
// It is a module of its own so that Podometer's module does not depend on
// github.com/prometheus/prometheus. All of them read the body from an
// io.Reader into a pooled buffer and feed a pooled scrape.BatchBuilder, so
// the benchmark measures what differs: the parsing.
//
//	cd test/bench/decodebench
//	go test -run '^$' -bench . -benchmem -count 10 | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat -col /decoder new.txt
package decodebench
