package hostile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
)

// HugeSeries is the metric name of a Huge answer's samples, and
// ManySeriesName that of a ManySeries answer's series.
const (
	HugeSeries     = "huge"
	ManySeriesName = "http_requests_total"
)

// blockLen is how many samples or series are written at once: a block
// is made once and written again and again, so that the server's
// allocations do not blur the client's in a measure of memory.
const blockLen = 256

// writeHuge writes a valid instant vector of about size bytes: blocks of
// samples of pods huge-000 to huge-255.
func writeHuge(w http.ResponseWriter, size int) {
	var block []byte
	for i := range blockLen {
		block = fmt.Appendf(block, `,{"metric":{"__name__":%q,"namespace":"ns","pod":"huge-%03d"},"value":[1795578125.875,"%d"]}`, HugeSeries, i, i)
	}
	writeBlocks(w, `{"status":"success","data":{"resultType":"vector","result":[`, block, (size+len(block)-1)/len(block), `]}}`)
}

// writeManySeries writes a series answer of about count series of
// ManySeriesName in namespace ns (pods pod-000 to pod-255), with the
// labels a scrape by the Prometheus operator gives: about 190 bytes a
// series.
func writeManySeries(w http.ResponseWriter, count int) {
	var block []byte
	for i := range blockLen {
		block = fmt.Appendf(block, `,{"__name__":%q,"container":"app","endpoint":"http","instance":"10.0.%d.%d:8080","job":"ns/app","namespace":"ns","pod":"pod-%03d","service":"app"}`, ManySeriesName, i>>8, i&255, i)
	}
	writeBlocks(w, `{"status":"success","data":[`, block, (count+blockLen-1)/blockLen, `]}`)
}

// writeBlocks writes head, block n times (its first comma left out the
// first time) and tail.
func writeBlocks(w http.ResponseWriter, head string, block []byte, n int, tail string) {
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write([]byte(head)); err != nil {
		return
	}
	for i := range n {
		b := block
		if i == 0 {
			b = b[1:]
		}
		if _, err := w.Write(b); err != nil {
			return
		}
	}
	_, _ = w.Write([]byte(tail))
}

// envelope is an answer of the Prometheus HTTP API, its data kept raw.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data,omitempty"`
	ErrorType string          `json:"errorType,omitempty"`
	Error     string          `json:"error,omitempty"`
	Warnings  []string        `json:"warnings,omitempty"`
}

// rewrite asks healthy and lets edit change a successful answer before
// it is sent; an answer that is not one is sent as it came.
func rewrite(w http.ResponseWriter, r *http.Request, healthy http.Handler, edit func(*envelope) error) {
	rec := httptest.NewRecorder()
	healthy.ServeHTTP(rec, r)
	var env envelope
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Status != "success" {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	if err := edit(&env); err != nil {
		http.Error(w, "hostile Prometheus: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(env)
}

// partial keeps every other sample or series of the healthy answer and
// warns that a store is missing.
func partial(w http.ResponseWriter, r *http.Request, healthy http.Handler) {
	rewrite(w, r, healthy, func(env *envelope) error {
		env.Warnings = append(env.Warnings, PartialWarning)
		if r.URL.Path == "/api/v1/series" {
			var series []json.RawMessage
			if err := json.Unmarshal(env.Data, &series); err != nil {
				return err
			}
			return setData(env, everyOther(series))
		}
		var data struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(env.Data, &data); err != nil {
			return err
		}
		if data.ResultType == "vector" {
			data.Result = everyOther(data.Result)
		}
		return setData(env, data)
	})
}

// churn prefixes the name of every series of the healthy answer with
// the generation, g<n>_: each relist finds other metrics.
func churn(w http.ResponseWriter, r *http.Request, healthy http.Handler, generation int) {
	if r.URL.Path != "/api/v1/series" {
		healthy.ServeHTTP(w, r)
		return
	}
	rewrite(w, r, healthy, func(env *envelope) error {
		var series []map[string]string
		if err := json.Unmarshal(env.Data, &series); err != nil {
			return err
		}
		for _, ls := range series {
			if name, ok := ls["__name__"]; ok {
				ls["__name__"] = fmt.Sprintf("g%d_%s", generation, name)
			}
		}
		return setData(env, series)
	})
}

// everyOther is the first, third, fifth... element of all.
func everyOther(all []json.RawMessage) []json.RawMessage {
	out := []json.RawMessage{}
	for i := 0; i < len(all); i += 2 {
		out = append(out, all[i])
	}
	return out
}

func setData(env *envelope, v any) error {
	data, err := json.Marshal(v)
	env.Data = data
	return err
}
