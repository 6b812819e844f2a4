package custom

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
)

// SeriesLister lists the series of a selector, reduced to the shapes the
// options keep; *promclient.Client implements it.
type SeriesLister interface {
	SeriesShapes(ctx context.Context, match string, start, end time.Time, opts promclient.SeriesOptions) (promclient.SeriesAnswer, error)
}

var _ SeriesLister = (*promclient.Client)(nil)

// SeriesOptionsFor is what rules sharing a seriesQuery need of each
// series to decide what Match decides: the label names any of them
// needs, and the values of their namespace labels.
func SeriesOptionsFor(rules []*naming.Rule) promclient.SeriesOptions {
	var values []string
	for _, rule := range rules {
		if l := string(rule.NamespaceLabel()); l != "" && !slices.Contains(values, l) {
			values = append(values, l)
		}
	}
	return promclient.SeriesOptions{
		Keep: func(name string) bool {
			for _, rule := range rules {
				if rule.NeedsLabel(model.LabelName(name)) {
					return true
				}
			}
			return false
		},
		Values: values,
	}
}

// SeriesSource gives, by backend name (naming.DefaultBackend or an
// entry of backends), the SeriesLister of that backend, the URL that
// names it and how long one series request to it may take.
type SeriesSource func(backend string) (SeriesLister, string, time.Duration, error)

// SeriesAnswer is the answer of one seriesQuery on one backend, shared by
// its rules.
type SeriesAnswer struct {
	// Rules are the indices of the rules that share the seriesQuery and
	// the backend.
	Rules []int
	// Backend names the backend asked (its URL).
	Backend string
	Answer  promclient.SeriesAnswer
	Err     error
	// Took is how long the request took.
	Took time.Duration
}

// ListSeries sends one series request per distinct backend and
// seriesQuery of rules, concurrently, each to the SeriesLister src gives
// for the backend and bounded by its timeout, over the window from start
// to end. The answers are in the order of their first rule. A backend
// src does not know fails the answer of its rules only. last, when not
// nil, gives the hash of the last answer the rules sharing a request
// found their metrics in (0 for none): an answer with the same bytes
// comes back Unchanged, not decoded.
func ListSeries(ctx context.Context, src SeriesSource, clk clock.PassiveClock, rules []*naming.Rule, start, end time.Time, last func(sharing []*naming.Rule) uint64) []SeriesAnswer {
	var out []SeriesAnswer
	type request struct{ backend, query string }
	byQuery := map[request]int{}
	for i, rule := range rules {
		q := request{rule.Backend(), rule.SeriesQuery()}
		j, ok := byQuery[q]
		if !ok {
			j = len(out)
			byQuery[q] = j
			out = append(out, SeriesAnswer{})
		}
		out[j].Rules = append(out[j].Rules, i)
	}
	var wg sync.WaitGroup
	for j := range out {
		wg.Go(func() {
			sharing := make([]*naming.Rule, len(out[j].Rules))
			for k, i := range out[j].Rules {
				sharing[k] = rules[i]
			}
			prom, url, timeout, err := src(sharing[0].Backend())
			out[j].Backend = url
			if err != nil {
				out[j].Backend, out[j].Err = sharing[0].Backend(), err
				return
			}
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			began := clk.Now()
			opts := SeriesOptionsFor(sharing)
			if last != nil {
				opts.Last = last(sharing)
			}
			out[j].Answer, out[j].Err = prom.SeriesShapes(ctx, sharing[0].SeriesQuery(), start, end, opts)
			out[j].Took = clk.Since(began)
		})
	}
	wg.Wait()
	return out
}
