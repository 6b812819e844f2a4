package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	genericapiserver "k8s.io/apiserver/pkg/server"
)

// selectorParams are the query parameters that carry label selectors on
// the custom and external metrics APIs.
var selectorParams = []string{"labelSelector", "metricLabelSelector"}

// rejectBadSelectors answers 400, with the parser's reason, for a custom
// or external metrics request whose selector does not parse. Upstream
// handlers answer such a request with a 500 that blames the server.
func rejectBadSelectors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/apis/custom.metrics.k8s.io/") || strings.HasPrefix(req.URL.Path, "/apis/external.metrics.k8s.io/") {
			q := req.URL.Query()
			for _, param := range selectorParams {
				for _, v := range q[param] {
					if _, err := labels.Parse(v); err != nil {
						writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("%s: %v", param, err))
						return
					}
				}
			}
		}
		next.ServeHTTP(w, req)
	})
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Code:     int32(code),
		Reason:   reason,
		Message:  msg,
	})
}

// wrapAPIHandler puts wrap inside the generic handler chain, behind
// authentication and authorization.
func wrapAPIHandler(c *genericapiserver.Config, wrap func(http.Handler) http.Handler) {
	build := c.BuildHandlerChainFunc
	c.BuildHandlerChainFunc = func(h http.Handler, gc *genericapiserver.Config) http.Handler {
		return build(wrap(h), gc)
	}
}
