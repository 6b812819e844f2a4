// Package custom serves custom.metrics.k8s.io and external.metrics.k8s.io
// from Prometheus, with rules in prometheus-adapter's format (pkg/naming).
//
// Discovery runs each rule's series query on its own every relist
// interval: a failing rule keeps its last result, is logged and counted
// with its ID, and the other rules keep serving. Requests run one query
// that groups by the resource's label and are filtered by object name in
// memory, so no query grows with the number of objects. A value that is
// NaN, infinite or absent is missing (NotFound), never 0, unless its rule
// opts into zero.
package custom
