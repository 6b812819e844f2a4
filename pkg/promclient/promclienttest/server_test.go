package promclienttest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// TestServer asks the fake through Podometer's client: answers by query
// and by selector, the catalog, an outage, and what was recorded.
func TestServer(t *testing.T) {
	prom := promclienttest.New(t)
	c, err := promclient.New(promclient.Config{URL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sample := &model.Sample{Metric: model.Metric{"pod": "a"}, Value: 2, Timestamp: 1000}
	prom.Query("up", promclienttest.Answer{Value: model.Vector{sample}, Warnings: []string{"w"}})
	prom.Query("bad(", promclienttest.Answer{Code: http.StatusBadRequest, ErrorType: "bad_data", Error: "parse error"})
	prom.Series(`x{a="b"}`, promclienttest.Answer{Series: []model.LabelSet{{"__name__": "x", "a": "b"}}})
	prom.Catalog(model.LabelSet{"__name__": "y", "pod": "p"}, model.LabelSet{"__name__": "yy"})

	v, w, _, err := c.Query(ctx, "up", time.Time{})
	if err != nil || cmp.Diff(model.Value(model.Vector{sample}), v) != "" || len(w) != 1 {
		t.Errorf("up: %v %v %v", v, w, err)
	}
	v, _, _, err = c.Query(ctx, "other", time.Time{})
	if err != nil || cmp.Diff(model.Value(model.Vector{}), v) != "" {
		t.Errorf("a query without an answer: %v %v, want an empty vector", v, err)
	}
	var perr *promv1.Error
	if _, _, _, err := c.Query(ctx, "bad(", time.Time{}); !errors.As(err, &perr) || perr.Type != promv1.ErrBadData {
		t.Errorf("bad(: error %v, want bad_data", err)
	}
	series, _, _, err := c.Series(ctx, []string{`x{a="b"}`, `y{pod!=""}`}, time.Unix(0, 0), time.Unix(60, 0))
	want := []model.LabelSet{{"__name__": "x", "a": "b"}, {"__name__": "y", "pod": "p"}}
	if diff := cmp.Diff(want, series); err != nil || diff != "" {
		t.Errorf("series (-want +got), %v:\n%s", err, diff)
	}

	prom.Outage(&promclienttest.Answer{Code: http.StatusServiceUnavailable, Body: "down"})
	if _, _, _, err := c.Query(ctx, "up", time.Time{}); !errors.As(err, &perr) || perr.Type != promv1.ErrServer {
		t.Errorf("in an outage: error %v, want server_error", err)
	}
	prom.Outage(nil)

	if diff := cmp.Diff([]string{"up", "other", "bad(", "up"}, prom.Queries()); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`x{a="b"}`, `y{pod!=""}`}, prom.Matches()); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
}

// TestDelay: an answer held back past the client's deadline is a
// timeout, and the server lets go when the client does.
func TestDelay(t *testing.T) {
	prom := promclienttest.New(t)
	prom.Delay(time.Hour)
	c, err := promclient.New(promclient.Config{URL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, _, err := c.Query(ctx, "up", time.Time{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the deadline's", err)
	}
}
