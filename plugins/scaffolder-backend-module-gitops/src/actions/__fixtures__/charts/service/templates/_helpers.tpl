{{- define "service.labels" -}}
app.kubernetes.io/name: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
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
  containers:
    - name: {{ .Release.Name }}
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      ports:
        - name: http
          containerPort: {{ .Values.containerPort }}
      env:
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
