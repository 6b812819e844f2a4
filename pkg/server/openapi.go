package server

import (
	"maps"

	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/version"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	cmapiserver "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
	generatedcore "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/core"
	generatedcustom "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/custommetrics"
	generatedexternal "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/externalmetrics"

	"github.com/podometer/podometer/pkg/provider/resource"
	resourceopenapi "github.com/podometer/podometer/pkg/provider/resource/openapi"
)

// setOpenAPI describes every type the server serves; the generic server
// needs the definitions to install an API group.
func setOpenAPI(c *genericapiserver.Config, customAndExternal bool) {
	getters := []openapicommon.GetOpenAPIDefinitions{generatedcore.GetOpenAPIDefinitions, resourceopenapi.GetOpenAPIDefinitions}
	if customAndExternal {
		getters = append(getters, generatedcustom.GetOpenAPIDefinitions, generatedexternal.GetOpenAPIDefinitions)
	}
	definitions := func(ref openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition {
		out := map[string]openapicommon.OpenAPIDefinition{}
		for _, get := range getters {
			maps.Copy(out, get(ref))
		}
		return out
	}
	namer := openapinamer.NewDefinitionNamer(cmapiserver.Scheme, resource.Scheme)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(definitions, namer)
	c.OpenAPIConfig.Info.Title = "Podometer"
	c.OpenAPIConfig.Info.Version = version.Get().GitVersion
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(definitions, namer)
	c.OpenAPIV3Config.Info.Title = "Podometer"
	c.OpenAPIV3Config.Info.Version = version.Get().GitVersion
}
