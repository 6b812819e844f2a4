package scrape

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTargetFor(t *testing.T) {
	node := func(annotations map[string]string, port int32, addrs ...corev1.NodeAddress) *corev1.Node {
		return &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: annotations},
			Status: corev1.NodeStatus{
				Addresses:       addrs,
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: port}},
			},
		}
	}
	internal := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}
	hostname := corev1.NodeAddress{Type: corev1.NodeHostName, Address: "n1.example"}
	v6 := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::1"}
	prefer := []corev1.NodeAddressType{corev1.NodeHostName, corev1.NodeInternalIP}
	for _, tc := range []struct {
		name    string
		config  AddressConfig
		node    *corev1.Node
		want    string
		wantErr string
	}{
		{name: "first preferred type wins", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250},
			node: node(nil, 0, internal, hostname), want: "https://n1.example:10250/metrics/resource"},
		{name: "falls back to the next type", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250},
			node: node(nil, 0, internal), want: "https://10.0.0.1:10250/metrics/resource"},
		{name: "status port when asked", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250, UseNodeStatusPort: true},
			node: node(nil, 31000, internal), want: "https://10.0.0.1:31000/metrics/resource"},
		{name: "flag port when the status has none", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250, UseNodeStatusPort: true},
			node: node(nil, 0, internal), want: "https://10.0.0.1:10250/metrics/resource"},
		{name: "IPv6 is bracketed", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250},
			node: node(nil, 0, v6), want: "https://[fd00::1]:10250/metrics/resource"},
		{name: "path annotation", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250},
			node: node(map[string]string{ResourceMetricsPathAnnotation: "/metrics/nodes/n1/metrics/resource"}, 0, internal),
			want: "https://10.0.0.1:10250/metrics/nodes/n1/metrics/resource"},
		{name: "plain HTTP when configured", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10255, Scheme: "http"},
			node: node(nil, 0, internal), want: "http://10.0.0.1:10255/metrics/resource"},
		{name: "no address of a preferred type", config: AddressConfig{PreferredAddressTypes: []corev1.NodeAddressType{corev1.NodeExternalIP}, Port: 10250},
			node: node(nil, 0, internal), wantErr: "no address of the preferred types"},
		{name: "annotation with a host", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250},
			node: node(map[string]string{ResourceMetricsPathAnnotation: "//evil.example/x"}, 0, internal), wantErr: "single /"},
		{name: "annotation with a query", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250},
			node: node(map[string]string{ResourceMetricsPathAnnotation: "/metrics?x=1"}, 0, internal), wantErr: "query"},
		{name: "annotation with dot segments", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250},
			node: node(map[string]string{ResourceMetricsPathAnnotation: "/metrics/../../pods"}, 0, internal), wantErr: "dot segments"},
		{name: "relative annotation", config: AddressConfig{PreferredAddressTypes: prefer, Port: 10250},
			node: node(map[string]string{ResourceMetricsPathAnnotation: "metrics"}, 0, internal), wantErr: "single /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.config.TargetFor(tc.node)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("TargetFor error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tc.want || got.Node != "n1" {
				t.Errorf("TargetFor = %+v, want URL %s", got, tc.want)
			}
		})
	}
}
