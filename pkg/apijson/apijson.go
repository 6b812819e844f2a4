// Package apijson appends, by hand, the JSON that k8s.io/apimachinery's
// serializer writes for the pieces of API objects Podometer lists in bulk:
// strings, times and quantities. The hot list paths (pod metrics, custom
// metric values) write their answers with it instead of converting and
// encoding by reflection; their tests compare the bytes with the generic
// serializer's.
package apijson

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apiserver/pkg/endpoints/request"
)

// String appends s quoted. Names, label keys and values are plain ASCII
// that needs no escape; anything else goes through encoding/json, which
// escapes as the generic serializer does.
func String(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, err := json.Marshal(s)
			if err != nil { // cannot happen for a string
				return append(b, `""`...)
			}
			return append(b, quoted...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Time appends a metav1.Time as its JSON: RFC 3339 in UTC, to the second.
func Time(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// Quantity appends q's canonical form unquoted, which is what its JSON
// string holds (quantities are digits and a suffix: nothing to escape).
func Quantity(b []byte, q *resource.Quantity) []byte {
	number, suffix := q.CanonicalizeBytes(b[len(b):])
	b = append(b, number...)
	return append(b, suffix...)
}

// Labels appends a label map with its keys sorted, as encoding/json
// writes maps.
func Labels(b []byte, m map[string]string) []byte {
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = String(b, k)
		b = append(b, ':')
		b = String(b, m[k])
	}
	return append(b, '}')
}

// sortStrings is an insertion sort: label sets are small.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Wanted tells whether a client's first choice in Accept is plain JSON,
// as content negotiation would pick it: no Accept, */*, application/* or
// application/json without parameters (a parameter asks for a table or a
// partial object).
func Wanted(accept string) bool {
	if accept == "" {
		return true
	}
	first, _, _ := strings.Cut(accept, ",")
	mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(first))
	if err != nil {
		return false
	}
	for k := range params {
		if k != "q" && k != "charset" {
			return false
		}
	}
	switch mediaType {
	case "application/json", "*/*", "application/*":
		return true
	}
	return false
}

// Direct tells whether a direct JSON writer may answer req: a GET of a
// resource, inside the handler chain (where its RequestInfo is known),
// plain JSON wanted, and no query parameter but those in known. It
// returns the request's RequestInfo and query.
func Direct(req *http.Request, known map[string]bool) (*request.RequestInfo, url.Values, bool) {
	info, ok := request.RequestInfoFrom(req.Context())
	if !ok || req.Method != http.MethodGet || !info.IsResourceRequest || !Wanted(req.Header.Get("Accept")) {
		return nil, nil, false
	}
	q := req.URL.Query()
	for k := range q {
		if !known[k] {
			return nil, nil, false
		}
	}
	return info, q, true
}

// FloatQuantity is a metric's value as the custom metrics APIs serve it:
// milli precision while that fits, whole units beyond, an exponent for
// the rest.
func FloatQuantity(f float64) resource.Quantity {
	if math.Abs(f) < 9e15 {
		return *resource.NewMilliQuantity(int64(math.Round(f*1000)), resource.DecimalSI)
	}
	if math.Abs(f) < 9.2e18 {
		return *resource.NewQuantity(int64(f), resource.DecimalSI)
	}
	return resource.MustParse(fmt.Sprintf("%e", f))
}
