package framework

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, "accept="+r.Header.Get("Accept"))
		case "/big-error":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, strings.Repeat("x", 1000))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	json := http.Header{"Accept": {"application/json"}}

	for _, tc := range []struct {
		name, path string
		header     http.Header
		want       string // body, or what the error says
		wantErr    bool
	}{
		{name: "body of a 200", path: "/ok", want: "accept="},
		{name: "header sent", path: "/ok", header: json, want: "accept=application/json"},
		{name: "status and start of the body", path: "/missing", wantErr: true, want: "GET " + srv.URL + "/missing: 404 Not Found: 404 page not found"},
		{name: "long body cut", path: "/big-error", wantErr: true, want: ": 503 Service Unavailable: " + strings.Repeat("x", errorBodyBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := Get(ctx, srv.Client(), srv.URL+tc.path, tc.header)
			switch {
			case tc.wantErr && err == nil:
				t.Fatalf("no error, body %q", body)
			case tc.wantErr && (!strings.HasSuffix(strings.TrimSpace(err.Error()), tc.want) || body != nil):
				t.Errorf("error %q and body %q, want an error ending in %q and no body", err, body, tc.want)
			case !tc.wantErr && err != nil:
				t.Fatal(err)
			case !tc.wantErr && string(body) != tc.want:
				t.Errorf("body %q, want %q", body, tc.want)
			}
		})
	}

	t.Run("Fetch counts what it copies", func(t *testing.T) {
		var sb strings.Builder
		n, err := Fetch(ctx, srv.Client(), srv.URL+"/ok", json, &sb)
		if err != nil || n != int64(sb.Len()) || sb.String() != "accept=application/json" {
			t.Errorf("Fetch = %d, %v; copied %q", n, err, sb.String())
		}
	})
}
