// Package openapi holds the OpenAPI definitions of the metrics.k8s.io types,
// which the generic API server needs to install the group.
package openapi

//go:generate go tool openapi-gen --output-dir . --output-pkg github.com/podometer/podometer/pkg/provider/resource/openapi --output-file zz_generated.openapi.go --report-filename /dev/null --readonly-pkg k8s.io/metrics/pkg/apis/metrics/v1beta1 --readonly-pkg k8s.io/metrics/pkg/apis/metrics/v1 --readonly-pkg k8s.io/apimachinery/pkg/api/resource --readonly-pkg k8s.io/apimachinery/pkg/apis/meta/v1 --readonly-pkg k8s.io/apimachinery/pkg/runtime --readonly-pkg k8s.io/apimachinery/pkg/version k8s.io/metrics/pkg/apis/metrics/v1beta1 k8s.io/metrics/pkg/apis/metrics/v1 k8s.io/apimachinery/pkg/api/resource k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version
