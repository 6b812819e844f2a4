package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/test/framework"
)

// thanosBin returns the Thanos binary, building it into the cache when
// missing (about six minutes cold).
func thanosBin(t *testing.T, ctx context.Context) string {
	t.Helper()
	bin, err := framework.EnsureThanos(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// thanosQuery evaluates an instant query against a Thanos Query (or any
// Prometheus HTTP API) with extra headers and form parameters (dedup,
// for one), and returns its vector and warnings.
func thanosQuery(ctx context.Context, base, expr string, headers map[string]string, params url.Values) (model.Vector, []string, error) {
	form := url.Values{"query": {expr}}
	for k, vs := range params {
		form[k] = vs
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?"+form.Encode(), nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	var answer struct {
		Status   string   `json:"status"`
		Error    string   `json:"error"`
		Warnings []string `json:"warnings"`
		Data     struct {
			ResultType string       `json:"resultType"`
			Result     model.Vector `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, nil, fmt.Errorf("query %q: %d %s: %w", expr, resp.StatusCode, body, err)
	}
	if answer.Status != "success" {
		return nil, answer.Warnings, fmt.Errorf("query %q: %d %s", expr, resp.StatusCode, answer.Error)
	}
	return answer.Data.Result, answer.Warnings, nil
}

// scalarOf is the value of a one-sample vector, or an error.
func scalarOf(v model.Vector) (float64, error) {
	if len(v) != 1 {
		return 0, fmt.Errorf("%d samples, want 1: %v", len(v), v)
	}
	return float64(v[0].Value), nil
}
