package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/podometer/podometer/test/framework"
)

// pagedPod is a bare pod (deleted, it is gone for good) on node, labelled
// app=paged so that no other test's pods match: sidecarPod relabelled.
func pagedPod(ns, name, node string) *corev1.Pod {
	pod := sidecarPod(ns, name, node)
	pod.Labels = map[string]string{"app": "paged"}
	return pod
}

// rawPodMetrics is `kubectl get --raw path` of a list of pod metrics,
// through kube-apiserver's aggregator.
func rawPodMetrics(ctx context.Context, path string) (*metricsv1beta1.PodMetricsList, error) {
	out, err := cluster.Kubectl(ctx, "get", "--raw", path)
	if err != nil {
		return nil, err
	}
	var list metricsv1beta1.PodMetricsList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("%s: %w: %.300s", path, err, out)
	}
	return &list, nil
}

// TestPaginatedPodMetrics lists pod metrics in pages through the
// aggregator (`kubectl get --raw '...pods?limit=5&continue=...'`), of all
// namespaces with a label selector and of the test's namespace, while pods of the test's namespace
// are deleted and created between pages. Pages alternate between the
// fast JSON path and the generic one (pretty=false), so a token of one
// continues on the other. The pages together must be sorted by
// namespace and name, hold no pod twice, and hold every pod that existed
// with metrics for the whole listing. A continue token of another list is
// a 400 with a message that says so.
func TestPaginatedPodMetrics(t *testing.T) {
	ctx, ns, node := testEnv(t, "paginate", 6*time.Minute)
	pods := cluster.Client().CoreV1().Pods(ns)
	const stable, churn = 16, 8
	for i := range stable + churn {
		if _, err := pods.Create(ctx, pagedPod(ns, fmt.Sprintf("p-%02d", i), node), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cluster.WaitPodsRunning(ctx, ns, labels.Everything(), stable+churn, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	nsPath := "/apis/metrics.k8s.io/v1beta1/namespaces/" + ns + "/pods"
	if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		l, err := rawPodMetrics(ctx, nsPath)
		return err == nil && len(l.Items) == stable+churn, err
	}); err != nil {
		t.Fatalf("the %d pods never all had metrics: %v", stable+churn, err)
	}

	deleted := 0 // of the churn, by either listing
	for _, tc := range []struct{ name, path string }{
		{"all namespaces, by label", "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%3Dpaged&"},
		{"the test's namespace", nsPath + "?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The pods that exist for the whole listing: the stable
			// ones, and those of the churn not deleted yet.
			whole := map[string]bool{}
			for i := range stable {
				whole[fmt.Sprintf("%s/p-%02d", ns, i)] = true
			}
			var listed []string
			token, created := "", 0
			for page := 0; ; page++ {
				q := url.Values{"limit": {"5"}}
				if token != "" {
					q.Set("continue", token)
				}
				if page%2 == 1 {
					q.Set("pretty", "false") // the generic path
				}
				l, err := rawPodMetrics(ctx, tc.path+q.Encode())
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				for _, it := range l.Items {
					listed = append(listed, it.Namespace+"/"+it.Name)
				}
				if l.Continue == "" {
					break
				}
				if page > 100 {
					t.Fatalf("%d pages of 5: the pages do not end", page)
				}
				if len(l.Items) != 5 || l.RemainingItemCount == nil || *l.RemainingItemCount < 1 {
					t.Fatalf("page %d: %d items, remainingItemCount %v, with a continue token", page, len(l.Items), l.RemainingItemCount)
				}
				token = l.Continue
				// Pods come and go between pages: one of the churn
				// deleted, one pod created.
				if deleted < churn {
					victim := fmt.Sprintf("p-%02d", stable+deleted)
					if err := pods.Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
					deleted++
				}
				name := fmt.Sprintf("%s-q-%02d-%d", tc.name[:3], page, time.Now().UnixNano()%1000)
				if _, err := pods.Create(ctx, pagedPod(ns, name, node), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				created++
			}
			seen := map[string]bool{}
			for i, k := range listed {
				if seen[k] {
					t.Errorf("%s listed twice", k)
				}
				seen[k] = true
				if i > 0 && !keyLess(listed[i-1], k) {
					t.Errorf("%s listed before %s", listed[i-1], k)
				}
			}
			for k := range whole {
				if !seen[k] {
					t.Errorf("%s existed with metrics for the whole listing and is in no page", k)
				}
			}
			t.Logf("%d items in pages of 5; %d pods created and %d of %d deleted so far", len(listed), created, deleted, churn)
		})
	}

	t.Run("a token of another list is refused", func(t *testing.T) {
		l, err := rawPodMetrics(ctx, nsPath+"?limit=1")
		if err != nil || l.Continue == "" {
			t.Fatalf("no continue token after 1 pod: %v, %+v", err, l)
		}
		_, err = rawPodMetrics(ctx, "/apis/metrics.k8s.io/v1beta1/pods?limit=1&continue="+url.QueryEscape(l.Continue))
		if err == nil || !strings.Contains(err.Error(), "invalid continue token") || !strings.Contains(err.Error(), "BadRequest") {
			t.Errorf("an all-namespaces list with a namespace's token: %v, want BadRequest with the token's fault", err)
		}
	})
}

// keyLess tells whether the namespace/name a sorts before b.
func keyLess(a, b string) bool {
	an, aname, _ := strings.Cut(a, "/")
	bn, bname, _ := strings.Cut(b, "/")
	return an < bn || (an == bn && aname < bname)
}
