// Package apijsontest builds requests as the direct JSON paths see them,
// for their tests.
package apijsontest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
)

// Request is a GET of target with the Accept header accept (none when
// empty) and the RequestInfo the handler chain would set.
func Request(t testing.TB, target, accept string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resolver := &genericapirequest.RequestInfoFactory{APIPrefixes: sets.NewString("apis"), GrouplessAPIPrefixes: sets.NewString()}
	info, err := resolver.NewRequestInfo(req)
	if err != nil {
		t.Fatal(err)
	}
	return req.WithContext(genericapirequest.WithRequestInfo(req.Context(), info))
}
