package resource

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/usage"
)

// encodeToken is a continue token of any content, valid or not.
func encodeToken(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

func TestContinueTokens(t *testing.T) {
	now := ts.Add(time.Hour)
	token := func(mod func(*continueToken)) string {
		c := continueToken{Version: tokenVersion, Resource: "pods", After: itemKey{Namespace: "ns-1", Name: "pod-3"}, Start: now.Add(-time.Minute).UnixNano()}
		if mod != nil {
			mod(&c)
		}
		return encodeToken(t, c)
	}
	type want int
	const (
		ok want = iota
		badRequest
		expired
	)
	for _, tc := range []struct {
		name                string
		resource, namespace string
		token               string
		want                want
		after               itemKey
	}{
		{name: "no token", resource: "pods", want: ok},
		{name: "all namespaces", resource: "pods", token: token(nil), after: itemKey{Namespace: "ns-1", Name: "pod-3"}},
		{name: "one namespace", resource: "pods", namespace: "ns-1", token: token(func(c *continueToken) { c.Namespace = "ns-1" }), after: itemKey{Namespace: "ns-1", Name: "pod-3"}},
		{name: "nodes", resource: "nodes", token: token(func(c *continueToken) { c.Resource, c.After = "nodes", itemKey{Name: "n1"} }), after: itemKey{Name: "n1"}},
		{name: "just before expiry", resource: "pods", token: token(func(c *continueToken) { c.Start = now.Add(-listExpiry).UnixNano() }), after: itemKey{Namespace: "ns-1", Name: "pod-3"}},
		{name: "expired", resource: "pods", token: token(func(c *continueToken) { c.Start = now.Add(-listExpiry - time.Second).UnixNano() }), want: expired},
		{name: "from the future", resource: "pods", token: token(func(c *continueToken) { c.Start = now.Add(listExpiry + time.Second).UnixNano() }), want: badRequest},
		{name: "not base64", resource: "pods", token: "not a token!", want: badRequest},
		{name: "padded base64", resource: "pods", token: base64.URLEncoding.EncodeToString([]byte(`{"v":"x"}`)), want: badRequest},
		{name: "not JSON", resource: "pods", token: base64.RawURLEncoding.EncodeToString([]byte("ns-1/pod-3")), want: badRequest},
		{name: "kube-apiserver's", resource: "pods", token: encodeToken(t, map[string]any{"v": "meta.k8s.io/v1", "rv": 42, "start": "/pods/ns-1/pod-3\x00"}), want: badRequest},
		{name: "unknown field", resource: "pods", token: encodeToken(t, map[string]any{"v": tokenVersion, "resource": "pods", "after": map[string]string{"name": "a"}, "start": 1, "rv": 42}), want: badRequest},
		{name: "other version", resource: "pods", token: token(func(c *continueToken) { c.Version = "metrics.podometer.io/v0" }), want: badRequest},
		{name: "no key", resource: "pods", token: token(func(c *continueToken) { c.After = itemKey{} }), want: badRequest},
		{name: "no start", resource: "pods", token: token(func(c *continueToken) { c.Start = 0 }), want: badRequest},
		{name: "a node list's", resource: "pods", token: token(func(c *continueToken) { c.Resource = "nodes" }), want: badRequest},
		{name: "another namespace's", resource: "pods", namespace: "ns-2", token: token(func(c *continueToken) { c.Namespace = "ns-1" }), want: badRequest},
		{name: "all namespaces' in one", resource: "pods", namespace: "ns-1", token: token(nil), want: badRequest},
		{name: "one namespace's in all", resource: "pods", token: token(func(c *continueToken) { c.Namespace = "ns-1" }), want: badRequest},
		{name: "a node key in a pod list", resource: "pods", token: token(func(c *continueToken) { c.After = itemKey{Name: "n1"} }), want: badRequest},
		{name: "a pod key in a node list", resource: "nodes", token: token(func(c *continueToken) { c.Resource = "nodes" }), want: badRequest},
		{name: "key outside its namespace", resource: "pods", namespace: "ns-2", token: token(func(c *continueToken) { c.Namespace = "ns-2" }), want: badRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePage(tc.resource, tc.namespace, 10, tc.token, now)
			switch tc.want {
			case ok:
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if p.resumed != (tc.token != "") || p.after != tc.after {
					t.Errorf("resumed %v after %+v, want after %+v", p.resumed, p.after, tc.after)
				}
			case badRequest:
				if !errors.IsBadRequest(err) {
					t.Fatalf("error %v, want BadRequest", err)
				}
			case expired:
				if !errors.IsResourceExpired(err) || errors.ReasonForError(err) != metav1.StatusReasonExpired {
					t.Fatalf("error %v, want Expired (410)", err)
				}
			}
			if err != nil && !strings.Contains(err.Error(), "start the list again") {
				t.Errorf("the message does not tell the client what to do: %v", err)
			}
		})
	}
}

// TestPageCuts cuts sorted keys into pages of every limit, resuming each
// from the token of the one before: the pages add up to the keys, each
// page's remainingItemCount is what the pages after it hold, and a token
// dates the list from its first page.
func TestPageCuts(t *testing.T) {
	keys := []itemKey{{"a", "x"}, {"a", "y"}, {"b", "a"}, {"b", "b"}, {"b", "c"}, {"c", "a"}, {"d", "z"}}
	key := func(k []itemKey) func(int) itemKey { return func(i int) itemKey { return k[i] } }
	start := ts
	for limit := int64(-1); limit <= int64(len(keys))+1; limit++ {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []itemKey
			token, pages := "", 0
			for at := start; ; at = at.Add(10 * time.Second) {
				p, err := parsePage("pods", "", limit, token, at)
				if err != nil {
					t.Fatal(err)
				}
				if !p.start.Equal(start) {
					t.Errorf("page %d dates its list %v, want %v", pages, p.start, start)
				}
				rest := keys[p.skip(len(keys), key(keys)):]
				end, meta, err := p.rest(len(rest), key(rest))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rest[:end]...)
				if pages++; pages > len(keys)+1 {
					t.Fatalf("%d pages of %d keys: the pages do not end", pages, len(keys))
				}
				if meta.Continue == "" {
					if meta.RemainingItemCount != nil {
						t.Errorf("remainingItemCount %d without continue", *meta.RemainingItemCount)
					}
					break
				}
				if meta.RemainingItemCount == nil || *meta.RemainingItemCount != int64(len(keys)-len(got)) {
					t.Errorf("remainingItemCount %v after %d of %d items", meta.RemainingItemCount, len(got), len(keys))
				}
				token = meta.Continue
			}
			if diff := cmp.Diff(keys, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			wantPages := 1
			if limit > 0 {
				wantPages = max(1, (len(keys)+int(limit)-1)/int(limit))
			}
			if pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}
}

// podPage is what a test reads of a page of pod metrics.
type podPage struct {
	Metadata struct {
		Continue           string
		RemainingItemCount *int64
	}
	Items []struct {
		Metadata struct {
			Namespace, Name string
			Labels          map[string]string
		}
	}
}

// pageTarget is the URL of a page of a list of pod metrics.
func pageTarget(namespace, label, field string, limit int64, token string) string {
	q := url.Values{}
	q.Set("limit", fmt.Sprint(limit))
	if token != "" {
		q.Set("continue", token)
	}
	return listTarget("v1beta1", namespace, label, field) + "&" + q.Encode()
}

// pageBoth asks one page of pod metrics of both paths, checks that their
// bytes are the same and returns it.
func pageBoth(t *testing.T, pods *podMetrics, namespace, label, field string, limit int64, token string) podPage {
	t.Helper()
	code, fast, ok := serveList(t, &Storage{pods: pods}, pageTarget(namespace, label, field, limit, token), "")
	if !ok || code != http.StatusOK {
		t.Fatalf("not answered by the fast path: %d %s", code, fast)
	}
	opts := listOptions(t, label, field)
	opts.Limit, opts.Continue = limit, token
	obj, err := pods.List(genericapirequest.WithNamespace(context.Background(), namespace), opts)
	if err != nil {
		t.Fatal(err)
	}
	var generic bytes.Buffer
	if err := serializer.NewCodecFactory(Scheme).LegacyCodec(metricsv1beta1.SchemeGroupVersion).Encode(obj, &generic); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(fast), bytes.TrimSpace(generic.Bytes())) {
		t.Fatalf("the fast path's page differs from the generic path's:\nfast:    %s\ngeneric: %s", fast, generic.Bytes())
	}
	var p podPage
	if err := json.Unmarshal(fast, &p); err != nil {
		t.Fatalf("%v: %s", err, fast)
	}
	return p
}

// TestPagesAddUpWhilePodsComeAndGo lists pods in pages of 7 while, between
// pages, pods are deleted and added before and after the page's cursor and
// the nodes are scraped. Both paths must give the same bytes for every
// page; the pages together must be sorted with no pod twice and hold
// every selected pod that existed, with figures, for the whole listing.
func TestPagesAddUpWhilePodsComeAndGo(t *testing.T) {
	for _, r := range []struct{ namespace, label, field string }{
		{}, {namespace: "b"}, {label: "app=web"}, {field: "metadata.namespace!=c"}, {namespace: "a", label: "app", field: "metadata.name!=pod-08"},
	} {
		for _, read := range []string{"versions", "lookups"} {
			t.Run(fmt.Sprintf("%+v, %s", r, read), func(t *testing.T) {
				c := newCluster(t)
				pods := c.pods
				if read == "lookups" {
					pods = c.lookups
				}
				pods.clock = c.clk
				namespaces := []string{"a", "b", "c", "d"}
				add := func(namespace, name string) {
					app := "web"
					if name[len(name)-1]%2 == 0 {
						app = "db"
					}
					c.put(namespace, name, map[string]string{"app": app})
					node := fmt.Sprintf("n%d", len(c.idx.List())%3)
					c.onNode[node] = append(c.onNode[node], usage.PodRef{Namespace: namespace, Name: name})
				}
				for i := range 48 {
					add(namespaces[i%4], fmt.Sprintf("pod-%02d", i))
				}
				c.scrape("n0", "n1", "n2")
				c.scrape("n0", "n1", "n2")
				labelSel, fieldSel := selectors(listOptions(t, r.label, r.field))
				selected := func(namespace, name string, l map[string]string) bool {
					return (r.namespace == "" || namespace == r.namespace) && labelSel.Matches(labels.Set(l)) &&
						fieldSel.Matches(objectFields(&metav1.ObjectMeta{Namespace: namespace, Name: name}))
				}
				stable := map[string]bool{} // selected pods that exist for the whole listing
				for _, o := range c.idx.List() {
					m := o.(*metav1.PartialObjectMetadata)
					if selected(m.Namespace, m.Name, m.Labels) {
						stable[m.Namespace+"/"+m.Name] = true
					}
				}

				var listed []string
				token := ""
				for page := 0; ; page++ {
					p := pageBoth(t, pods, r.namespace, r.label, r.field, 7, token)
					for _, it := range p.Items {
						m := it.Metadata
						if !selected(m.Namespace, m.Name, m.Labels) {
							t.Errorf("page %d lists %s/%s, which the request does not select", page, m.Namespace, m.Name)
						}
						listed = append(listed, m.Namespace+"/"+m.Name)
					}
					if p.Metadata.Continue == "" {
						break
					}
					if page > 20 {
						t.Fatalf("%d pages: the pages do not end", page)
					}
					if len(p.Items) != 7 || p.Metadata.RemainingItemCount == nil || *p.Metadata.RemainingItemCount < 1 {
						t.Fatalf("page %d: %d items, remainingItemCount %v, continue %q", page, len(p.Items), p.Metadata.RemainingItemCount, p.Metadata.Continue)
					}
					token = p.Metadata.Continue
					last := p.Items[len(p.Items)-1].Metadata
					// Pods come and go on both sides of the cursor.
					ns := namespaces[page%4]
					for _, name := range []string{fmt.Sprintf("new-%02d", page), fmt.Sprintf("zz-%02d", page)} {
						add(ns, name)
						add(last.Namespace, name+"-"+last.Name)
					}
					for _, victim := range []string{fmt.Sprintf("pod-%02d", 47-page*5), fmt.Sprintf("pod-%02d", page*5)} {
						for _, ns := range namespaces {
							if _, exists, _ := c.idx.GetByKey(ns + "/" + victim); exists {
								c.delete(ns, victim)
								delete(stable, ns+"/"+victim)
							}
						}
					}
					c.scrape("n0", "n1", "n2")
				}
				for i := 1; i < len(listed); i++ {
					a, b := strings.SplitN(listed[i-1], "/", 2), strings.SplitN(listed[i], "/", 2)
					if compareKeys(itemKey{a[0], a[1]}, itemKey{b[0], b[1]}) >= 0 {
						t.Errorf("%s listed before %s", listed[i-1], listed[i])
					}
				}
				seen := map[string]bool{}
				for _, k := range listed {
					seen[k] = true
				}
				for k := range stable {
					if !seen[k] {
						t.Errorf("%s existed for the whole listing but is in no page", k)
					}
				}
				if len(stable) < 8 {
					t.Errorf("only %d pods for the whole listing: the test checks too little", len(stable))
				}
			})
		}
	}
}

// TestPagesWithoutChangesAreTheList checks, for every limit, that pages
// add up to the whole list, byte for byte its items, with both paths,
// and that a limit at least the list's length is the whole list without
// continue: `"metadata":{}` as before pagination.
func TestPagesWithoutChangesAreTheList(t *testing.T) {
	pods := varietyPods(t, 23)
	pods.clock = clocktesting.NewFakeClock(ts)
	whole := genericJSON(t, pods, metricsv1beta1.SchemeGroupVersion, "", "", "")
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal(whole, &list); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int64{1, 2, 5, 22, 23, 24, 500} {
		var items []json.RawMessage
		token := ""
		for pages := 1; ; pages++ {
			if pages > 24 {
				t.Fatalf("limit %d: %d pages of 23 pods: the pages do not end", limit, pages)
			}
			_, body, _ := serveList(t, &Storage{pods: pods}, pageTarget("", "", "", limit, token), "")
			var p struct {
				Metadata struct{ Continue string }
				Items    []json.RawMessage
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			pageBoth(t, pods, "", "", "", limit, token) // the same bytes from both paths
			items = append(items, p.Items...)
			if limit >= 23 && !bytes.Contains(body, []byte(`"metadata":{},"items"`)) {
				t.Errorf("limit %d: the whole list has list metadata: %.200s", limit, body)
			}
			if token = p.Metadata.Continue; token == "" {
				break
			}
		}
		if diff := cmp.Diff(list.Items, items, cmp.Comparer(func(a, b json.RawMessage) bool { return bytes.Equal(a, b) })); diff != "" {
			t.Errorf("limit %d: pages (-want +got):\n%s", limit, diff)
		}
	}
}

// TestBadTokensGoToTheGenericPath asks the fast path for pages it must
// leave to the generic path, which answers with the error, and checks
// that error.
func TestBadTokensGoToTheGenericPath(t *testing.T) {
	pods := varietyPods(t, 10)
	clk := clocktesting.NewFakeClock(ts)
	pods.clock = clk
	s := &Storage{pods: pods}
	first := pageBoth(t, pods, "", "", "", 3, "")
	if first.Metadata.Continue == "" {
		t.Fatal("no continue token after 3 of 10 pods")
	}
	inNamespace := pageBoth(t, pods, "ns-1", "", "", 1, "")
	for _, tc := range []struct {
		name, namespace, query string
		isErr                  func(error) bool // nil: the generic path's parameter checks decide
	}{
		{name: "garbage", query: "limit=3&continue=garbage", isErr: errors.IsBadRequest},
		{name: "another namespace's", namespace: "ns-2", query: "limit=3&continue=" + inNamespace.Metadata.Continue, isErr: errors.IsBadRequest},
		{name: "limit not a number", query: "limit=many"},
		{name: "continue with resourceVersionMatch", query: "limit=3&resourceVersion=0&resourceVersionMatch=NotOlderThan&continue=" + first.Metadata.Continue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := listTarget("v1beta1", tc.namespace, "", "") + "&" + tc.query
			if code, body, fast := serveList(t, s, target, ""); fast {
				t.Errorf("answered by the fast path (%d %.100s); the generic path must answer it", code, body)
			}
			if tc.isErr == nil {
				return
			}
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			opts := listOptions(t, "", "")
			opts.Limit, opts.Continue = 3, q.Get("continue")
			if _, err := pods.List(genericapirequest.WithNamespace(context.Background(), tc.namespace), opts); !tc.isErr(err) {
				t.Errorf("the generic path's error is %v", err)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		clk.Step(listExpiry + time.Second)
		if code, body, fast := serveList(t, s, pageTarget("", "", "", 3, first.Metadata.Continue), ""); fast {
			t.Errorf("answered by the fast path (%d %.100s); the generic path must answer it", code, body)
		}
		opts := listOptions(t, "", "")
		opts.Limit, opts.Continue = 3, first.Metadata.Continue
		_, err := pods.List(context.Background(), opts)
		if !errors.IsResourceExpired(err) {
			t.Fatalf("error %v, want Expired", err)
		}
		var status errors.APIStatus
		if !stderrors.As(err, &status) || status.Status().Code != http.StatusGone {
			t.Errorf("error %v, want a status of code 410", err)
		}
	})
}

// TestNodePages lists nodes in pages, with a label selector, while a node
// is added before the cursor and one after: the pages are sorted, the
// node added after the cursor is listed, the one before is not, and
// nodes without figures are skipped without cutting a page short.
func TestNodePages(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	src := fakeUsage{nodes: map[string]usage.Figures{}}
	addNode := func(name, zone string, figures bool) {
		if err := idx.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"zone": zone}}}); err != nil {
			t.Fatal(err)
		}
		if figures {
			src.nodes[name] = figuresOf(100, 1<<20)
		}
	}
	for i := range 10 {
		addNode(fmt.Sprintf("node-%d", i), []string{"a", "b"}[i%2], i != 4)
	}
	clk := clocktesting.NewFakeClock(ts)
	nodes := &nodeMetrics{usage: src, nodes: corelisters.NewNodeLister(idx), clock: clk}
	var names []string
	var remaining []int64
	token := ""
	for page := 0; ; page++ {
		opts := listOptions(t, "zone=a", "")
		opts.Limit, opts.Continue = 2, token
		obj, err := nodes.List(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		list := obj.(*metrics.NodeMetricsList)
		for _, n := range list.Items {
			names = append(names, n.Name)
		}
		if list.RemainingItemCount != nil {
			remaining = append(remaining, *list.RemainingItemCount)
		}
		if token = list.Continue; token == "" {
			break
		}
		if page > 10 {
			t.Fatalf("%d pages: the pages do not end", page)
		}
		if page == 0 {
			addNode("node-0a", "a", true) // before the cursor (node-2)
			addNode("node-7a", "a", true) // after it
		}
		clk.Step(time.Minute)
	}
	want := []string{"node-0", "node-2", "node-6", "node-7a", "node-8"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("nodes listed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{2, 1}, remaining); diff != "" {
		t.Errorf("remainingItemCount of the pages (-want +got):\n%s", diff)
	}
	opts := listOptions(t, "", "")
	opts.Limit = 3
	first, err := (&Storage{pods: varietyPods(t, 5)}).pods.List(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Continue = first.(*metrics.PodMetricsList).Continue
	if _, err := nodes.List(context.Background(), opts); !errors.IsBadRequest(err) {
		t.Errorf("a pod list's token on a node list: error %v, want BadRequest", err)
	}
}
