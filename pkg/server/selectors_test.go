package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRejectBadSelectors(t *testing.T) {
	reached := false
	h := rejectBadSelectors(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached = true }))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		path, param, value string
		want               int
	}{
		{"/apis/custom.metrics.k8s.io/v1beta2/namespaces/a/pods/*/m", "metricLabelSelector", `pod in ("} or vector(1) #)`, http.StatusBadRequest},
		{"/apis/custom.metrics.k8s.io/v1beta2/namespaces/a/pods/*/m", "labelSelector", `app=a"b`, http.StatusBadRequest},
		{"/apis/external.metrics.k8s.io/v1beta1/namespaces/a/m", "metricLabelSelector", "x in (a", http.StatusBadRequest},
		{"/apis/custom.metrics.k8s.io/v1beta2/namespaces/a/pods/*/m", "metricLabelSelector", "code in (200,500),method!=GET", http.StatusOK},
		{"/apis/metrics.k8s.io/v1beta1/pods", "labelSelector", `bad"`, http.StatusOK}, // its own handler answers
	} {
		reached = false
		resp, err := http.Get(srv.URL + tc.path + "?" + url.Values{tc.param: {tc.value}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		var status metav1.Status
		_ = json.NewDecoder(resp.Body).Decode(&status)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s=%q: %d, want %d", tc.path, tc.param, tc.value, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusBadRequest && (reached || status.Reason != metav1.StatusReasonBadRequest) {
			t.Errorf("%s=%q reached the API or answered %+v", tc.param, tc.value, status)
		}
	}
}
