{{- define "service.labels" -}}
app.kubernetes.io/name: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" | trimSuffix "." | trimSuffix "-" }}
{{- end }}

{{- define "service.selector" -}}
app.kubernetes.io/name: {{ .Release.Name }}
{{- end }}

{{- define "service.podTemplate" -}}
metadata:
  labels:
    {{- include "service.selector" . | nindent 4 }}
spec:
  serviceAccountName: {{ .Release.Name }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .Release.Name }}
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      ports:
        - name: http
          containerPort: {{ .Values.containerPort }}
      env:
        - name: PORT
          value: {{ .Values.containerPort | quote }}
        {{- range $name, $value := .Values.env }}
        - name: {{ $name }}
          value: {{ $value | quote }}
        {{- end }}
      readinessProbe:
        httpGet: { path: /health, port: http }
      livenessProbe:
        httpGet: { path: /health, port: http }
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
{{- end }}

{{- /* The blue/green preview host: ingress.previewHost, else <first label>-preview.<rest>. */ -}}
{{- define "service.previewHost" -}}
{{- if .Values.ingress.previewHost -}}
{{- .Values.ingress.previewHost -}}
{{- else -}}
{{- $labels := splitn "." 2 .Values.ingress.host -}}
{{- if $labels._1 -}}
{{- printf "%s-preview.%s" $labels._0 $labels._1 -}}
{{- else -}}
{{- printf "%s-preview" $labels._0 -}}
{{- end -}}
{{- end -}}
{{- end }}
