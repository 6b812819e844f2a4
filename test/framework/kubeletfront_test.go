package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	stats "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/test/bench/farm"
)

func TestKubeletFrontServesTheFarmAndProxiesTheRest(t *testing.T) {
	pki, err := NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	kwok := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "kwok %s", r.URL.Path)
	}))
	defer kwok.Close()
	front, err := startKubeletFront(pki.KwokCert, pki.KwokKey, kwok.Listener.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := front.Close(); err != nil {
			t.Error(err)
		}
	}()
	front.farm.AddEmptyNodes("n1")
	if err := front.farm.SetPods("n1", []farm.PodSpec{{Namespace: "ns", Name: "p", UID: "u",
		Containers: []farm.ContainerSpec{{Name: "app", CPUNanoCores: 1e6}}}}); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{PKI: pki, KubeletPort: front.Port()}
	ctx := context.Background()
	url := func(path string) string { return fmt.Sprintf("https://127.0.0.1:%d%s", front.Port(), path) }

	body, err := c.httpGet(ctx, url(ResourceMetricsPath("n1")))
	if err != nil || string(body) != "kwok "+ResourceMetricsPath("n1") {
		t.Errorf("resource metrics through the front: %q, %v", body, err)
	}
	summary, err := c.KubeletSummary(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	var s stats.Summary
	if err := json.Unmarshal(summary, &s); err != nil || len(s.Pods) != 1 || s.Pods[0].PodRef.UID != "u" {
		t.Errorf("summary through the front: %v, %s", err, summary)
	}
	cadvisor, err := c.KubeletCadvisorMetrics(ctx, "n1")
	if err != nil || !strings.Contains(cadvisor, `container="app"`) {
		t.Errorf("cAdvisor metrics through the front: %v", err)
	}
	if _, err := c.KubeletSummary(ctx, "unknown"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("summary of an unknown node: %v, want a 404", err)
	}
}

func TestFarmPod(t *testing.T) {
	start := metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	pod := func(annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid-1", Annotations: annotations},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "img:1"}, {Name: "side", Image: "img:2"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start},
		}
	}
	spec := func(cpu, mem, storage, rx, tx uint64) farm.PodSpec {
		return farm.PodSpec{
			Namespace: "ns", Name: "web", UID: "uid-1", StartTime: start.Time,
			Containers: []farm.ContainerSpec{
				{Name: "app", Image: "img:1", CPUNanoCores: cpu, MemoryBytes: mem, EphemeralStorageBytes: storage},
				{Name: "side", Image: "img:2", CPUNanoCores: cpu, MemoryBytes: mem, EphemeralStorageBytes: storage},
			},
			NetworkReceiveBytesPerSecond: rx, NetworkTransmitBytesPerSecond: tx,
		}
	}
	tests := []struct {
		name        string
		annotations map[string]string
		want        farm.PodSpec
		wantErr     bool
	}{
		{name: "defaults", want: spec(1e6, 1<<20, 1<<20, 1000, 500)},
		{name: "annotations", annotations: map[string]string{
			UsageCPUAnnotation: "300m", UsageMemoryAnnotation: "64Mi", EphemeralStorageAnnotation: "2Gi",
			NetworkReceiveAnnotation: "1M", NetworkTransmitAnnotation: "2500",
		}, want: spec(300e6, 64<<20, 2<<30, 1e6, 2500)},
		{name: "bad values fall back", annotations: map[string]string{
			UsageCPUAnnotation: "lots", NetworkReceiveAnnotation: "-5",
		}, want: spec(1e6, 1<<20, 1<<20, 1000, 500), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := farmPod(pod(tt.annotations))
			if (err != nil) != tt.wantErr {
				t.Errorf("error %v, want one: %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}
