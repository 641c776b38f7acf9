{{/*
Name of the EPP objects (Deployment, Service, ConfigMap, ServiceAccount): the release name cut to 40
characters plus "-epp", as in GAIE's chart, so object names stay the same when switching charts.
*/}}
{{- define "epp4j.eppName" -}}
{{- $base := .Release.Name | default "default-pool" | lower | trim | trunc 40 -}}
{{- printf "%s-epp" $base -}}
{{- end -}}

{{/*
Cluster-scoped objects need the namespace in their name: the same release name may exist in several namespaces.
*/}}
{{- define "epp4j.clusterRbacName" -}}
{{- $base := .Release.Name | default "default-pool" | lower | trim | trunc 40 -}}
{{- $ns := .Release.Namespace | default "default" | lower | trim | trunc 40 -}}
{{- printf "%s-%s-epp" $base $ns | trunc 84 -}}
{{- end -}}

{{- define "epp4j.labels" -}}
app.kubernetes.io/name: {{ include "epp4j.eppName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The same selector label as GAIE's chart, so a GAIE release can be upgraded in place. */}}
{{- define "epp4j.selectorLabels" -}}
inferencepool: {{ include "epp4j.eppName" . }}
{{- end -}}

{{- define "epp4j.modeLabels" -}}
inference.networking.k8s.io/igw-mode: inferencepool
{{- end -}}

{{- define "epp4j.image" -}}
{{- $image := .Values.inferenceExtension.image -}}
{{- $tag := $image.tag | default .Chart.AppVersion -}}
{{- if $image.registry -}}
{{- printf "%s/%s:%s" $image.registry $image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "epp4j.gatewayName" -}}
{{- if .Values.experimentalHttpRoute.inferenceGatewayName -}}
{{- .Values.experimentalHttpRoute.inferenceGatewayName | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-inference-gateway" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "epp4j.highAvailability" -}}
{{- if gt (int .Values.inferenceExtension.replicas) 1 -}}true{{- end -}}
{{- end -}}

{{/*
The parser plugin type for the plugin config, or "" for the EPP's default (openai-parser).
vLLM's gRPC front end needs the vllmgrpc parser, as in GAIE's chart.
*/}}
{{- define "epp4j.parser" -}}
{{- $parser := .Values.inferencePool.parser | default "" -}}
{{- if or (eq $parser "") (eq $parser "auto") -}}
{{- if and (eq .Values.inferencePool.modelServerType "vllm") (eq .Values.inferencePool.modelServerProtocol "grpc") -}}
vllmgrpc-parser
{{- end -}}
{{- else -}}
{{- $parser -}}
{{- end -}}
{{- end -}}

{{/*
trtllm-serve serves Prometheus metrics under /prometheus/metrics; GAIE's chart passed a (rejected) flag for that.
Here the default path follows the engine unless the user set another one.
*/}}
{{- define "epp4j.metricsPath" -}}
{{- $path := .Values.inferenceExtension.metricsDataSource.path | default "/metrics" -}}
{{- if and (eq .Values.inferencePool.modelServerType "trtllm-serve") (eq $path "/metrics") -}}
/prometheus/metrics
{{- else -}}
{{- $path -}}
{{- end -}}
{{- end -}}
