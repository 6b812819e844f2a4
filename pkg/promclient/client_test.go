package promclient

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// last is the last request prom received.
func last(t *testing.T, prom *promclienttest.Server) promclienttest.Request {
	t.Helper()
	requests := prom.Requests()
	if len(requests) == 0 {
		t.Fatal("Prometheus received no request")
	}
	return requests[len(requests)-1]
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func query(t *testing.T, c Config, q string) {
	t.Helper()
	client, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, _, err := client.Query(ctx, q, time.Time{}); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsAndHeaders(t *testing.T) {
	prom := promclienttest.New(t)
	headers, err := ParseHeaders([]string{"X-Scope-OrgID=tenant-a", "X-Extra: one"})
	if err != nil {
		t.Fatal(err)
	}
	query(t, Config{URL: prom.URL, TokenFile: writeFile(t, "token", "s3cret\n"), Headers: headers}, "up")
	r := last(t, prom)
	if got := r.Header.Get("Authorization"); got != "Bearer s3cret" {
		t.Errorf("Authorization = %q, want the token file's bearer token", got)
	}
	if r.Header.Get("X-Scope-OrgID") != "tenant-a" || r.Header.Get("X-Extra") != "one" {
		t.Errorf("headers = %v", r.Header)
	}

	query(t, Config{URL: prom.URL, Username: "alice", PasswordFile: writeFile(t, "pw", "wonderland\n")}, "up")
	basic := &http.Request{Header: last(t, prom).Header}
	if user, pass, ok := basic.BasicAuth(); !ok || user != "alice" || pass != "wonderland" {
		t.Errorf("basic auth = %q %q %v", user, pass, ok)
	}
}

func TestVerb(t *testing.T) {
	prom := promclienttest.New(t)
	long := "sum(" + strings.Repeat("up + ", 1000) + "up)"
	for _, tc := range []struct {
		name   string
		verb   Verb
		query  string
		method string
	}{
		{"auto sends a short query as GET", VerbAuto, "up", http.MethodGet},
		{"auto sends a long query as POST", VerbAuto, long, http.MethodPost},
		{"GET always", VerbGET, long, http.MethodGet},
		{"POST always", VerbPOST, "up", http.MethodPost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			query(t, Config{URL: prom.URL, Verb: tc.verb}, tc.query)
			r := last(t, prom)
			if r.Method != tc.method {
				t.Errorf("method = %s, want %s", r.Method, tc.method)
			}
			if got := r.Form.Get("query"); got != tc.query {
				t.Errorf("Prometheus received a different query (%d bytes, want %d)", len(got), len(tc.query))
			}
		})
	}
}

func TestParseHeaders(t *testing.T) {
	for _, bad := range []string{"novalue", "=x", "Bad Name=x", "X-Inject=a\r\nEvil: 1"} {
		_, err := ParseHeaders([]string{bad})
		if err == nil {
			t.Errorf("ParseHeaders(%q) accepted it", bad)
			continue
		}
		if strings.Contains(err.Error(), "Evil") || strings.Contains(err.Error(), "x\"") {
			t.Errorf("ParseHeaders(%q) error leaks the value: %v", bad, err)
		}
	}
	h, err := ParseHeaders([]string{"Authorization: Bearer a=b"})
	if err != nil || h.Get("Authorization") != "Bearer a=b" {
		t.Errorf("ParseHeaders with ':' and '=' = %v, %v", h, err)
	}
}

func TestValidateURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://prometheus:9090":           true,
		"https://mimir.example/prometheus": true,
		"":                                 false,
		"prometheus:9090":                  false,
		"ftp://prometheus":                 false,
		"http://user:secret@prometheus":    false,
	} {
		err := ValidateURL(raw)
		if (err == nil) != ok {
			t.Errorf("ValidateURL(%q) = %v, want ok=%v", raw, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ValidateURL(%q) leaks the password: %v", raw, err)
		}
	}
}
