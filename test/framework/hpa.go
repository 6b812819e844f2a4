package framework

import (
	"context"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ReactionHPA is the HPA of the burst test and of the S6 benchmark:
// deployment name scaled between 2 and 40 replicas on a Pods metric with
// an average of 10 per pod. Scale-up has no stabilization and a policy
// loose enough (1000% or 40 pods per 15s) that the metric, not the
// policy, decides how fast; scale-down waits 60 s, as a user of burst
// windows would write it.
func ReactionHPA(ns, name, metric string) *autoscalingv2.HorizontalPodAutoscaler {
	minReplicas, zero, minute := int32(2), int32(0), int32(60)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &minReplicas,
			MaxReplicas:    40,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: metric},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: new(resource.MustParse("10"))},
			}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: &zero,
					SelectPolicy:               new(autoscalingv2.MaxChangePolicySelect),
					Policies: []autoscalingv2.HPAScalingPolicy{
						{Type: autoscalingv2.PercentScalingPolicy, Value: 1000, PeriodSeconds: 15},
						{Type: autoscalingv2.PodsScalingPolicy, Value: 40, PeriodSeconds: 15},
					},
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &minute},
			},
		},
	}
}

// HPAReading is what an HPA's status says at one moment.
type HPAReading struct {
	Desired, Current int32
	// Measured tells that the HPA read its metric at its last sync.
	Measured bool
}

// ReadHPA returns the status of the HPA ns/name.
func ReadHPA(ctx context.Context, client kubernetes.Interface, ns, name string) (HPAReading, error) {
	h, err := client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return HPAReading{}, err
	}
	measured := len(h.Status.CurrentMetrics) > 0 && h.Status.CurrentMetrics[0].Pods != nil
	return HPAReading{Desired: h.Status.DesiredReplicas, Current: h.Status.CurrentReplicas, Measured: measured}, nil
}
