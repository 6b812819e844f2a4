package e2e

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podometer/podometer/test/framework"
)

// hpa creates an autoscaling/v2 HPA on a Deployment.
func hpa(ctx context.Context, ns, target string, minReplicas, maxReplicas int32, metric autoscalingv2.MetricSpec) error {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: target, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MinReplicas:    &minReplicas,
			MaxReplicas:    maxReplicas,
			Metrics:        []autoscalingv2.MetricSpec{metric},
		},
	}
	_, err := cluster.Client().AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{})
	return err
}

// waitReplicas waits until the Deployment's desired replicas satisfy ok.
func waitReplicas(t *testing.T, ctx context.Context, ns, name string, timeout time.Duration, what string, ok func(int32) bool) {
	t.Helper()
	var last int32
	start := time.Now()
	err := framework.WaitFor(ctx, timeout, time.Second, func() (bool, error) {
		d, err := cluster.Client().AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = *d.Spec.Replicas
		return ok(last), nil
	})
	if err != nil {
		h, _ := cluster.Client().AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		t.Fatalf("deployment %s/%s never %s (last %d replicas): %v\nHPA status: %+v", ns, name, what, last, err, h.Status)
	}
	t.Logf("deployment %s/%s %s (%d replicas) after %s", ns, name, what, last, time.Since(start).Round(time.Second))
}

func TestHPA(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "hpa"}, "hpa-1")
	utilization := func(u int32) autoscalingv2.MetricTarget {
		return autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}
	}
	for _, tc := range []struct {
		name             string
		cpuReq, memReq   string
		highCPU, highMem string
		lowCPU, lowMem   string
		metric           autoscalingv2.MetricSpec
	}{
		{
			name:   "cpu-utilization",
			cpuReq: "200m", memReq: "64Mi",
			highCPU: "300m", highMem: "32Mi", // 150% of the request against a 50% target
			lowCPU: "20m", lowMem: "32Mi",
			metric: autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: utilization(50)}},
		},
		{
			name:   "memory-average-value",
			cpuReq: "100m", memReq: "64Mi",
			highCPU: "10m", highMem: "200Mi", // twice the 100Mi average target
			lowCPU: "10m", lowMem: "20Mi",
			metric: autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.AverageValueMetricType, AverageValue: new(resource.MustParse("100Mi"))}}},
		},
		{
			name:   "container-cpu-utilization",
			cpuReq: "200m", memReq: "64Mi",
			highCPU: "300m", highMem: "32Mi",
			lowCPU: "20m", lowMem: "32Mi",
			metric: autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
				ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceCPU, Container: "app", Target: utilization(50)}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := testNamespace(t, "hpa-"+tc.name)
			if _, err := cluster.CreateDeployment(ctx, ns, tc.name, "hpa-1", 2, tc.cpuReq, tc.memReq, tc.highCPU, tc.highMem); err != nil {
				t.Fatal(err)
			}
			if err := hpa(ctx, ns, tc.name, 1, 6, tc.metric); err != nil {
				t.Fatal(err)
			}
			waitReplicas(t, ctx, ns, tc.name, 3*time.Minute, "scaled up to 6", func(n int32) bool { return n == 6 })
			if err := cluster.SetDeploymentUsage(ctx, ns, tc.name, tc.lowCPU, tc.lowMem); err != nil {
				t.Fatal(err)
			}
			waitReplicas(t, ctx, ns, tc.name, 4*time.Minute, "scaled down to 1", func(n int32) bool { return n == 1 })
		})
	}
}
