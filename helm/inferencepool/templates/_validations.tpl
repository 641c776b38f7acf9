{{/*
Checks the schema cannot express, with messages that say what to do.
*/}}
{{- define "epp4j.validate" -}}
{{- $pool := .Values.inferencePool -}}
{{- if or (not $pool.modelServers) (not $pool.modelServers.matchLabels) -}}
{{- fail "inferencePool.modelServers.matchLabels is required: the labels of your model-server pods, e.g. --set inferencePool.modelServers.matchLabels.app=vllm-qwen3-06b" -}}
{{- end -}}
{{- if .Values.inferenceExtension.latencyPredictor.enabled -}}
{{- fail "inferenceExtension.latencyPredictor.enabled=true is not supported: epp4j has no latency predictor (GAIE's predicted-latency scheduling). Leave it false; the default profile (queue, kv-cache and prefix-cache scorers) is used." -}}
{{- end -}}
{{- $file := .Values.inferenceExtension.pluginsConfigFile -}}
{{- if and (ne $file "default-plugins.yaml") (not (hasKey (.Values.inferenceExtension.pluginsCustomConfig | default dict) $file)) -}}
{{- fail (printf "inferenceExtension.pluginsConfigFile is %q but the ConfigMap has only default-plugins.yaml and the keys of inferenceExtension.pluginsCustomConfig (%s)" $file (keys (.Values.inferenceExtension.pluginsCustomConfig | default dict) | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $clientTLS := .Values.inferenceExtension.clientTLS | default dict -}}
{{- if and $clientTLS.allowedSANs (not $clientTLS.caSecretName) -}}
{{- fail "inferenceExtension.clientTLS.allowedSANs needs inferenceExtension.clientTLS.caSecretName: identities are read from client certificates the CA signed" -}}
{{- end -}}
{{- if and .Values.inferenceExtension.sidecar.enabled (not .Values.inferenceExtension.sidecar.image) -}}
{{- fail "inferenceExtension.sidecar.enabled=true needs inferenceExtension.sidecar.image (and .name)" -}}
{{- end -}}
{{- end -}}
