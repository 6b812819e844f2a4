package resource

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
)

// Lists of NodeMetrics and PodMetrics are paginated as kube-apiserver
// paginates its own lists: `limit` caps the items of an answer, whose
// metadata.continue then holds a token that the next request passes as
// `continue` to get the items after them. Items are in one stable order
// (namespace, then name), and a page holds the items strictly after the
// last key the token names, read again from the informers and the store:
// the pages of a list never repeat an item, and an object that existed,
// with figures, for the whole listing is in exactly one of them. Objects
// added or removed meanwhile are in a page or not depending on where the
// listing was. Unlike kube-apiserver's, a token holds no resource version:
// the figures are always the latest, and only the key resumes.
//
// A token is the base64 (URL alphabet, unpadded, as kube-apiserver's) of
// a JSON continueToken. It is valid for the resource and namespace of the
// list it came from, until listExpiry after that list's first page:
// later, the answer is 410 Gone (reason Expired), as kube-apiserver
// answers for a compacted resource version; clients start the list again.
// A token that does not decode, or came from another list, is 400.

// listExpiry is how long after its first page a paginated list may be
// continued: kube-apiserver's tokens last until etcd compacts their
// resource version, every 5 minutes by default.
const listExpiry = 5 * time.Minute

// tokenVersion tells this format of token from any other.
const tokenVersion = "metrics.podometer.io/v1"

// continueToken is what a continue token holds.
type continueToken struct {
	Version string `json:"v"`
	// Resource and Namespace are those of the list ("" for all
	// namespaces, and for nodes).
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	// After is the key of the last item served: the next page starts
	// after it.
	After itemKey `json:"after"`
	// Start is when the list's first page was served, in nanoseconds
	// since the Unix epoch.
	Start int64 `json:"start"`
}

// itemKey is the key lists are sorted by.
type itemKey struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func compareKeys(a, b itemKey) int {
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
}

// page is the part of a sorted list one request asks for.
type page struct {
	resource, namespace string
	// limit is the most items to serve; 0 serves all.
	limit int64
	// resumed tells that the page starts after the key after.
	resumed bool
	after   itemKey
	// start is when the list's first page was served (or now, for the
	// first page).
	start time.Time
}

// parsePage reads the limit and continue parameters of a list of
// resource in namespace ("" for all), at now. A token that does not
// decode or came from another list is a BadRequest; one older than
// listExpiry is Expired (410 Gone). A limit of 0 or less serves all, as
// kube-apiserver does.
func parsePage(resource, namespace string, limit int64, token string, now time.Time) (page, error) {
	p := page{resource: resource, namespace: namespace, limit: max(limit, 0), start: now}
	if token == "" {
		return p, nil
	}
	t, err := decodeToken(token)
	if err != nil {
		return p, errors.NewBadRequest(fmt.Sprintf("invalid continue token: %v; start the list again without it", err))
	}
	if t.Resource != resource || t.Namespace != namespace || !keyOfScope(t.After, resource, namespace) {
		return p, errors.NewBadRequest(fmt.Sprintf("invalid continue token: it continues a list of %s, not this list of %s; start the list again without it",
			scopeOf(t.Resource, t.Namespace), scopeOf(resource, namespace)))
	}
	start := time.Unix(0, t.Start)
	if age := now.Sub(start); age > listExpiry {
		return p, errors.NewResourceExpired(fmt.Sprintf("the continue token is too old: its list began %s ago and a list may be continued for %s; start the list again without the continue parameter",
			age.Round(time.Second), listExpiry))
	} else if age < -listExpiry {
		return p, errors.NewBadRequest(fmt.Sprintf("invalid continue token: its list begins %s in the future; start the list again without it", (-age).Round(time.Second)))
	}
	p.resumed, p.after, p.start = true, t.After, start
	return p, nil
}

// keyOfScope tells whether key can be that of an item of a list of
// resource in namespace ("" for all): a node's has no namespace, a pod's
// has one, the list's if it has one.
func keyOfScope(key itemKey, resource, namespace string) bool {
	if resource == "nodes" {
		return key.Namespace == ""
	}
	return key.Namespace != "" && (namespace == "" || key.Namespace == namespace)
}

func scopeOf(resource, namespace string) string {
	if namespace == "" {
		return resource
	}
	return resource + " in namespace " + namespace
}

func decodeToken(token string) (continueToken, error) {
	var t continueToken
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return t, fmt.Errorf("not base64: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("not JSON of a token: %w", err)
	}
	switch {
	case t.Version != tokenVersion:
		return t, fmt.Errorf("version %q, want %q", t.Version, tokenVersion)
	case t.After.Name == "":
		return t, fmt.Errorf("no key to continue after")
	case t.Start == 0:
		return t, fmt.Errorf("no start time")
	}
	return t, nil
}

// skip returns the index of the first of n sorted items, whose keys key
// gives, that the page may serve: the first after the token's key.
func (p page) skip(n int, key func(i int) itemKey) int {
	if !p.resumed {
		return 0
	}
	return sort.Search(n, func(i int) bool { return compareKeys(key(i), p.after) > 0 })
}

// rest cuts the page out of n sorted items, whose keys key gives, that
// start after the token's key (skip found them): it returns the end of
// the page, and its metadata: a continue token and the number of items
// left, when any is.
func (p page) rest(n int, key func(i int) itemKey) (int, metav1.ListMeta, error) {
	if p.limit == 0 || int64(n) <= p.limit {
		return n, metav1.ListMeta{}, nil
	}
	end := int(p.limit)
	data, err := json.Marshal(continueToken{Version: tokenVersion, Resource: p.resource, Namespace: p.namespace, After: key(end - 1), Start: p.start.UnixNano()})
	if err != nil {
		return 0, metav1.ListMeta{}, errors.NewInternalError(fmt.Errorf("encoding a continue token: %w", err))
	}
	remaining := int64(n - end)
	return end, metav1.ListMeta{Continue: base64.RawURLEncoding.EncodeToString(data), RemainingItemCount: &remaining}, nil
}

// now is the time of c, the real clock's when c is nil.
func now(c clock.PassiveClock) time.Time {
	if c == nil {
		return time.Now()
	}
	return c.Now()
}
