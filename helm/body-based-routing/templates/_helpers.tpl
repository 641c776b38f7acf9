{{- define "bbr.labels" -}}
app.kubernetes.io/name: {{ .Values.bbr.name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "bbr.selectorLabels" -}}
app: {{ .Values.bbr.name }}
{{- end -}}

{{- define "bbr.image" -}}
{{- $image := .Values.bbr.image -}}
{{- $tag := $image.tag | default .Chart.AppVersion -}}
{{- if $image.registry -}}
{{- printf "%s/%s:%s" $image.registry $image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Whether the ConfigMap carries a file (base-model map or plugin config). */}}
{{- define "bbr.hasConfig" -}}
{{- if or .Values.bbr.baseModels .Values.bbr.pluginsConfig -}}true{{- end -}}
{{- end -}}
