package promclient_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
	"github.com/podometer/podometer/pkg/promclient/promclienttest/hostile"
)

// hostileBackend is a client of a hostile Prometheus in front of a
// healthy fake that knows the pods a and b.
func hostileBackend(t *testing.T) (*promclient.Client, *hostile.Server) {
	t.Helper()
	fake := promclienttest.New(t)
	fake.AnyQuery(&promclienttest.Answer{Value: model.Vector{
		{Metric: model.Metric{"namespace": "ns", "pod": "a"}, Value: 1, Timestamp: 1000},
		{Metric: model.Metric{"namespace": "ns", "pod": "b"}, Value: 2, Timestamp: 1000},
	}})
	fake.Catalog(model.LabelSet{"__name__": "up", "pod": "a"}, model.LabelSet{"__name__": "up", "pod": "b"})
	h := hostile.New(t, fake)
	c, err := promclient.New(promclient.Config{URL: h.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c, h
}

// calls are the requests Podometer sends (series: client_golang's, which
// `podometer check --from-prometheus-adapter` and the tests still use), each returning the
// number of samples or series it read.
var calls = map[string]func(context.Context, *promclient.Client) (int, error){
	"query": func(ctx context.Context, c *promclient.Client) (int, error) {
		v, _, _, err := c.Query(ctx, "up", time.Time{})
		if vec, ok := v.(model.Vector); ok {
			return len(vec), err
		}
		return 0, err
	},
	"queryLabels": func(ctx context.Context, c *promclient.Client) (int, error) {
		s, _, err := c.QueryLabels(ctx, "up", nil, "pod")
		return len(s), err
	},
	"seriesShapes": func(ctx context.Context, c *promclient.Client) (int, error) {
		a, err := c.SeriesShapes(ctx, `up{pod!=""}`, time.Unix(0, 0), time.Unix(60, 0), promclient.SeriesOptions{})
		return a.Series, err
	},
}

// TestHostileFailsFast: every fault of the backend is an error within
// the timeout plus a little, that says what went wrong, and yields no
// sample; the same client works again once the backend is healthy.
func TestHostileFailsFast(t *testing.T) {
	c, h := hostileBackend(t)
	for _, tc := range []struct {
		fault hostile.Fault
		cause []string // one of them is in the error
	}{
		{hostile.Down, []string{"connection refused"}},
		{hostile.Slow, []string{context.DeadlineExceeded.Error()}},
		{hostile.Throttled, []string{"429"}},
		{hostile.Unavailable, []string{"503"}},
		{hostile.Malformed, []string{"unexpected EOF", "unexpected end of JSON input"}},
	} {
		h.Set(t, tc.fault)
		for _, name := range slices.Sorted(maps.Keys(calls)) {
			ctx, cancel := context.WithTimeout(context.Background(), hostile.QueryTimeout)
			start := time.Now()
			n, err := calls[name](ctx, c)
			took := time.Since(start)
			cancel()
			switch {
			case err == nil:
				t.Errorf("fault %d, %s: no error (%d read)", tc.fault, name, n)
			case !containsAny(err.Error(), tc.cause):
				t.Errorf("fault %d, %s: error %q names none of %q", tc.fault, name, err, tc.cause)
			case n != 0:
				t.Errorf("fault %d, %s: %d read from a broken answer", tc.fault, name, n)
			}
			if took > hostile.FailFast {
				t.Errorf("fault %d, %s: failed after %s, want within %s", tc.fault, name, took, hostile.FailFast)
			}
		}
		h.Set(t, hostile.Healthy)
		for name, call := range calls {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if n, err := call(ctx, c); err != nil || n != 2 {
				t.Errorf("after fault %d, %s: %d read, %v; want 2 and no error", tc.fault, name, n, err)
			}
			cancel()
		}
	}
}

func containsAny(s string, subs []string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}
