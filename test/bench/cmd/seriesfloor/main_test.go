package main

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRelistSendsOneRequestPerSelector(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		start, _ := strconv.ParseFloat(q.Get("start"), 64)
		end, _ := strconv.ParseFloat(q.Get("end"), 64)
		if r.URL.Path != "/api/v1/series" || r.Method != http.MethodGet || math.Abs(end-start-60) > 0.001 {
			t.Errorf("%s %s: start %v, end %v", r.Method, r.URL, start, end)
		}
		mu.Lock()
		got = append(got, q["match[]"]...)
		mu.Unlock()
		if q.Get("match[]") == "{bad}" {
			http.Error(w, "bad selector", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("x", 100_000)))
	}))
	defer srv.Close()
	bufs := [][]byte{make([]byte, 1024), make([]byte, 1024)}
	match := []string{`{namespace!=""}`, `{__name__=~"^container_.*"}`}
	n, err := relist(context.Background(), srv.Client(), srv.URL, match, time.Minute, bufs)
	if err != nil || n != 200_000 {
		t.Fatalf("relist = %d bytes, %v; want 200000", n, err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{`{__name__=~"^container_.*"}`, `{namespace!=""}`}) {
		t.Errorf("match[] sent: %q", got)
	}
	if _, err := relist(context.Background(), srv.Client(), srv.URL, []string{"{bad}"}, time.Minute, bufs[:1]); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("a 400 answer gave %v", err)
	}
}
