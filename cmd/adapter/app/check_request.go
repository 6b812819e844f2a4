package app

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// apiRequest is a request to one of the metrics APIs, read from its path
// as the server reads it.
type apiRequest struct {
	// api is kindCustom, kindExternal or kindResource.
	api string
	// resource is as the path writes it ("pods", "deployments.apps");
	// for resource metrics, pods or nodes.
	resource schema.GroupResource
	// namespace is empty for a cluster-scoped request.
	namespace string
	// name is "*" for a list (custom metrics), "" for a list (resource
	// metrics), else the object's name.
	name   string
	metric string
	// selector selects objects (labelSelector of custom and resource
	// metrics); metricSelector selects series (metricLabelSelector of
	// custom metrics, labelSelector of external metrics). Nil when absent.
	selector, metricSelector labels.Selector
}

const pathForms = `want one of
  /apis/custom.metrics.k8s.io/v1beta2/namespaces/NAMESPACE/RESOURCE/NAME/METRIC (NAME * for every object the labelSelector selects)
  /apis/custom.metrics.k8s.io/v1beta2/RESOURCE/NAME/METRIC (cluster-scoped objects)
  /apis/custom.metrics.k8s.io/v1beta2/namespaces/NAMESPACE/metrics/METRIC (a metric of the namespace itself)
  /apis/external.metrics.k8s.io/v1beta1/namespaces/NAMESPACE/METRIC
  /apis/metrics.k8s.io/v1beta1/nodes[/NAME], /apis/metrics.k8s.io/v1beta1/[namespaces/NAMESPACE/]pods[/NAME]`

// parseRequest reads an API path with its query string, as given to
// kubectl get --raw. Selectors that do not parse are errors, as the
// server answers them with 400 Bad Request.
func parseRequest(raw string) (apiRequest, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return apiRequest{}, fmt.Errorf("not a URL path: %w", err)
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return apiRequest{}, fmt.Errorf("query string: %w", err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "apis" || slicesContainEmpty(parts) {
		return apiRequest{}, fmt.Errorf("%q is not a metrics API path; %s", u.Path, pathForms)
	}
	group, version, rest := parts[1], parts[2], parts[3:]
	var req apiRequest
	switch {
	case group == "custom.metrics.k8s.io" && (version == "v1beta1" || version == "v1beta2"):
		req, err = parseCustomPath(rest)
	case group == "external.metrics.k8s.io" && version == "v1beta1":
		req, err = parseExternalPath(rest)
	case group == "metrics.k8s.io" && version == "v1beta1":
		req, err = parseResourcePath(rest)
	default:
		err = fmt.Errorf("%s/%s is not a metrics API Podometer serves", group, version)
	}
	if err != nil {
		return apiRequest{}, fmt.Errorf("%w; %s", err, pathForms)
	}
	return req, req.parseSelectors(query)
}

func slicesContainEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return true
		}
	}
	return false
}

func parseCustomPath(rest []string) (apiRequest, error) {
	req := apiRequest{api: kindCustom}
	switch {
	case len(rest) == 4 && rest[0] == "namespaces" && rest[2] == "metrics":
		// The server reads it as the metric of the namespace object.
		req.resource, req.name, req.metric = namespacesResource, rest[1], rest[3]
	case len(rest) == 5 && rest[0] == "namespaces":
		req.namespace, req.resource, req.name, req.metric = rest[1], schema.ParseGroupResource(rest[2]), rest[3], rest[4]
	case len(rest) == 3 && rest[0] != "namespaces":
		req.resource, req.name, req.metric = schema.ParseGroupResource(rest[0]), rest[1], rest[2]
	default:
		return apiRequest{}, errors.New("not a custom metrics path")
	}
	return req, nil
}

func parseExternalPath(rest []string) (apiRequest, error) {
	if len(rest) != 3 || rest[0] != "namespaces" {
		return apiRequest{}, errors.New("not an external metrics path")
	}
	return apiRequest{api: kindExternal, namespace: rest[1], metric: rest[2]}, nil
}

func parseResourcePath(rest []string) (apiRequest, error) {
	req := apiRequest{api: kindResource}
	if rest[0] == "namespaces" && len(rest) >= 3 {
		req.namespace, rest = rest[1], rest[2:]
	}
	if len(rest) > 2 || (rest[0] != "pods" && rest[0] != "nodes") || (rest[0] == "nodes" && req.namespace != "") {
		return apiRequest{}, errors.New("not a resource metrics path")
	}
	req.resource = schema.GroupResource{Resource: rest[0]}
	if len(rest) == 2 {
		req.name = rest[1]
	}
	return req, nil
}

// parseSelectors reads labelSelector and metricLabelSelector as the server
// does for each API.
func (req *apiRequest) parseSelectors(query url.Values) error {
	sel, err := parseSelector(query, "labelSelector")
	if err != nil {
		return err
	}
	switch req.api {
	case kindExternal:
		req.metricSelector = sel
	default:
		req.selector = sel
	}
	if req.api == kindCustom {
		if req.metricSelector, err = parseSelector(query, "metricLabelSelector"); err != nil {
			return err
		}
	}
	return nil
}

func parseSelector(query url.Values, param string) (labels.Selector, error) {
	v := query.Get(param)
	if v == "" {
		return nil, nil
	}
	sel, err := labels.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%s %q does not parse (the server answers 400 Bad Request): %w", param, v, err)
	}
	return sel, nil
}
