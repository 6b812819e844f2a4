{{/* The chart's name, or nameOverride. */}}
{{- define "podometer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The objects' name: fullnameOverride, the release name when it contains the chart's name, else <release>-<name>. */}}
{{- define "podometer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "podometer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podometer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "podometer.labels" -}}
{{ include "podometer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "podometer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "podometer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "podometer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Whether a rules file is passed with --config. */}}
{{- define "podometer.hasRules" -}}
{{- if or .Values.rules.existingConfigMap .Values.rules.inline .Values.prometheus.backends }}true{{ end }}
{{- end }}

{{- define "podometer.rulesConfigMap" -}}
{{- default (printf "%s-rules" (include "podometer.fullname" .)) .Values.rules.existingConfigMap }}
{{- end }}

{{/* The rules file the chart writes: rules.inline, with prometheus.backends. */}}
{{- define "podometer.rulesFile" -}}
{{- $inline := .Values.rules.inline }}
{{- if kindIs "string" $inline }}
{{- if .Values.prometheus.backends }}
{{- fail "prometheus.backends cannot be added to rules.inline given as a string: write backends in the string, or give rules.inline as YAML" }}
{{- end }}
{{- $inline }}
{{- else }}
{{- $file := deepCopy (default dict $inline) }}
{{- if .Values.prometheus.backends }}
{{- if hasKey $file "backends" }}
{{- fail "backends are set both in prometheus.backends and rules.inline.backends: keep one" }}
{{- end }}
{{- $_ := set $file "backends" .Values.prometheus.backends }}
{{- end }}
{{- toYaml $file }}
{{- end }}
{{- end }}

{{/* Checks across values that the schema cannot express; fails with the reason. */}}
{{- define "podometer.validate" -}}
{{- if and .Values.apiServices.external (not .Values.prometheus.url) }}
{{- fail "apiServices.external needs prometheus.url: Podometer serves external.metrics.k8s.io only from Prometheus" }}
{{- end }}
{{- if and .Values.apiServices.custom (not .Values.prometheus.url) (not .Values.kubelet.customMetrics) }}
{{- fail "apiServices.custom needs prometheus.url or kubelet.customMetrics: nothing would serve custom.metrics.k8s.io" }}
{{- end }}
{{- if and .Values.rules.existingConfigMap (or .Values.rules.inline .Values.prometheus.backends) }}
{{- fail "rules.existingConfigMap is set: put the rules and backends in that ConfigMap, not in rules.inline or prometheus.backends" }}
{{- end }}
{{- if and .Values.prometheus.resourceMetrics (not .Values.prometheus.url) }}
{{- fail "prometheus.resourceMetrics needs prometheus.url and resourceRules in the rules" }}
{{- end }}
{{- if and .Values.prometheus.resourceMetrics (not (include "podometer.hasRules" .)) }}
{{- fail "prometheus.resourceMetrics needs a rules file with resourceRules (rules.inline or rules.existingConfigMap)" }}
{{- end }}
{{- if and (include "podometer.hasRules" .) (not .Values.prometheus.url) }}
{{- fail "a rules file is set (rules or prometheus.backends) but prometheus.url is empty: Podometer reads rules only with a Prometheus URL" }}
{{- end }}
{{- if and .Values.prometheus.auth.basic.username (not .Values.prometheus.auth.basic.passwordSecretName) }}
{{- fail "prometheus.auth.basic.username needs prometheus.auth.basic.passwordSecretName" }}
{{- end }}
{{- if and .Values.prometheus.insecureSkipTLSVerify .Values.prometheus.tls.ca.secretName }}
{{- fail "prometheus.insecureSkipTLSVerify and prometheus.tls.ca exclude each other" }}
{{- end }}
{{- if and .Values.kubelet.insecureTLS .Values.kubelet.certificateAuthority }}
{{- fail "kubelet.insecureTLS and kubelet.certificateAuthority exclude each other" }}
{{- end }}
{{- if and (has "ephemeral-storage" .Values.kubelet.resourceMetricsExtra) (ne .Values.kubelet.resourceEndpoint "summary") }}
{{- fail "kubelet.resourceMetricsExtra ephemeral-storage needs kubelet.resourceEndpoint: summary" }}
{{- end }}
{{- end }}
