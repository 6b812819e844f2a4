// Package custom serves custom.metrics.k8s.io and external.metrics.k8s.io
// from Prometheus, with rules in prometheus-adapter's format (pkg/naming).
//
// Discovery runs each rule's series query on its own every relist
// interval: a failing rule keeps its last result, is logged and counted
// with its ID, and the other rules keep serving. What a rule's series
// expose (MatchSeries) and which rule serves a metric that several expose,
// the first in the file (Precedence), are pure functions that podometer
// check runs too, so that it reports what the server would serve.
//
// Requests run one query that groups by the resource's label and are
// filtered by object name in memory, so no query grows with the number of
// objects. A value that is NaN, infinite or absent is missing (NotFound),
// never 0, unless its rule opts into zero.
package custom
