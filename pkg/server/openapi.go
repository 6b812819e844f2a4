package server

import (
	"maps"
	"strings"

	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/version"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	cmapiserver "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
	generatedcustom "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/custommetrics"
	generatedexternal "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/externalmetrics"

	"github.com/podometer/podometer/pkg/provider/resource"
	resourceopenapi "github.com/podometer/podometer/pkg/provider/resource/openapi"
)

// setOpenAPI describes every type the server serves; the generic server
// needs the definitions to install an API group.
func setOpenAPI(c *genericapiserver.Config, customAndExternal bool) {
	getters := []openapicommon.GetOpenAPIDefinitions{resourceopenapi.GetOpenAPIDefinitions}
	if customAndExternal {
		getters = append(getters, generatedcustom.GetOpenAPIDefinitions, generatedexternal.GetOpenAPIDefinitions)
	}
	definitions := func(ref openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition {
		all := map[string]openapicommon.OpenAPIDefinition{}
		for _, get := range getters {
			maps.Copy(all, get(ref))
		}
		return withoutUnusedCore(all)
	}
	namer := openapinamer.NewDefinitionNamer(cmapiserver.Scheme, resource.Scheme)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(definitions, namer)
	c.OpenAPIConfig.Info.Title = "Podometer"
	c.OpenAPIConfig.Info.Version = version.Get().GitVersion
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(definitions, namer)
	c.OpenAPIV3Config.Info.Title = "Podometer"
	c.OpenAPIV3Config.Info.Version = version.Get().GitVersion
}

// withoutUnusedCore returns the definitions of all but the core/v1 types,
// and of those the core/v1 types the others need, transitively. The
// custom metrics library's definitions describe every core/v1 type
// (PodSpec and 245 others), and the generic server keeps what it is given
// for as long as it runs; the custom metrics types need one of them
// (ObjectReference).
func withoutUnusedCore(all map[string]openapicommon.OpenAPIDefinition) map[string]openapicommon.OpenAPIDefinition {
	out := make(map[string]openapicommon.OpenAPIDefinition, len(all))
	var pending []string
	for name, d := range all {
		if !isCoreV1(name) {
			out[name] = d
			pending = append(pending, d.Dependencies...)
		}
	}
	for len(pending) > 0 {
		name := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if _, ok := out[name]; ok {
			continue
		}
		if d, ok := all[name]; ok {
			out[name] = d
			pending = append(pending, d.Dependencies...)
		}
	}
	return out
}

// isCoreV1 tells whether a definition's name is that of a core/v1 type, in
// either of the two forms generated definitions use.
func isCoreV1(name string) bool {
	return strings.HasPrefix(name, "io.k8s.api.core.v1.") || strings.HasPrefix(name, "k8s.io/api/core/v1.")
}
