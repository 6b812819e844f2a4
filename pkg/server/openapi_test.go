package server

import (
	"testing"

	genericapiserver "k8s.io/apiserver/pkg/server"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

func TestOpenAPIDefinitionsAreClosed(t *testing.T) {
	ref := func(name string) spec.Ref { return spec.MustCreateRef("#/definitions/" + name) }
	const (
		objectReference = "io.k8s.api.core.v1.ObjectReference"
		podSpec         = "io.k8s.api.core.v1.PodSpec"
		podMetrics      = "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics"
		metricValue     = "io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValue"
	)
	for _, tc := range []struct {
		name              string
		customAndExternal bool
		want, notWant     []string
	}{
		{"resource metrics only", false, []string{podMetrics}, []string{podSpec, objectReference, metricValue}},
		{"all three APIs", true, []string{podMetrics, metricValue, objectReference}, []string{podSpec}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &genericapiserver.Config{}
			setOpenAPI(c, tc.customAndExternal)
			for _, get := range []openapicommon.GetOpenAPIDefinitions{c.OpenAPIConfig.GetDefinitions, c.OpenAPIV3Config.GetDefinitions} {
				defs := get(ref)
				for name, d := range defs {
					for _, dep := range d.Dependencies {
						if _, ok := defs[dep]; !ok && isCoreV1(dep) {
							t.Errorf("%s depends on %s, which is not defined", name, dep)
						}
					}
				}
				for _, name := range tc.want {
					if _, ok := defs[name]; !ok {
						t.Errorf("%s is not defined", name)
					}
				}
				for _, name := range tc.notWant {
					if _, ok := defs[name]; ok {
						t.Errorf("%s is defined, and nothing served needs it", name)
					}
				}
			}
		})
	}
}
