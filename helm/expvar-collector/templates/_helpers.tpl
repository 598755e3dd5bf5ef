{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "expvar-collector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: the release name, plus the chart name unless the release has it. */}}
{{- define "expvar-collector.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* chart label value: name-version. */}}
{{- define "expvar-collector.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Common labels. */}}
{{- define "expvar-collector.labels" -}}
helm.sh/chart: {{ include "expvar-collector.chart" . }}
{{ include "expvar-collector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels. */}}
{{- define "expvar-collector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "expvar-collector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The service account to use. */}}
{{- define "expvar-collector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "expvar-collector.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* --kube-mode: the value, else node for the DaemonSet and off for the Deployment. */}}
{{- define "expvar-collector.kubeMode" -}}
{{- if .Values.kubeMode -}}
{{- .Values.kubeMode -}}
{{- else if eq .Values.mode "daemonset" -}}
node
{{- else -}}
off
{{- end -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "expvar-collector.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The pod template shared by the DaemonSet and the Deployment. */}}
{{- define "expvar-collector.podTemplate" -}}
{{- $kubeMode := include "expvar-collector.kubeMode" . -}}
metadata:
  labels:
    {{- include "expvar-collector.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- if .Values.confd.instances }}
    checksum/confd: {{ include (print $.Template.BasePath "/configmap-confd.yaml") . | sha256sum }}
    {{- end }}
    {{- if .Values.prometheusScrapeAnnotations }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ .Values.listenPort | quote }}
    prometheus.io/path: /metrics
    {{- if .Values.webConfig.tls }}
    prometheus.io/scheme: https
    {{- end }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "expvar-collector.serviceAccountName" . }}
  automountServiceAccountToken: {{ ne $kubeMode "off" }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if or .Values.tolerations (and (eq .Values.mode "daemonset") .Values.tolerateAllTaints) }}
  tolerations:
    {{- if and (eq .Values.mode "daemonset") .Values.tolerateAllTaints }}
    - operator: Exists
    {{- end }}
    {{- with .Values.tolerations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  containers:
    - name: expvar-collector
      image: {{ include "expvar-collector.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --kube-mode
        - {{ $kubeMode | quote }}
        - --listen
        - {{ printf "0.0.0.0:%v" .Values.listenPort | quote }}
        - --interval
        - {{ .Values.interval | quote }}
        - --log-level
        - {{ .Values.logLevel }}
        - --log-format
        - {{ .Values.logFormat }}
        {{- with .Values.dogstatsd.url }}
        - --dogstatsd-url
        - {{ . | quote }}
        {{- end }}
        {{- if .Values.confd.instances }}
        - --confd
        - /etc/expvar-collector/conf.d
        {{- end }}
        {{- if .Values.allowAnyHost }}
        - --allow-any-host
        {{- end }}
        {{- range .Values.templateEnvAllow }}
        - --template-env-allow
        - {{ . | quote }}
        {{- end }}
        - --max-targets-per-pod
        - {{ .Values.maxTargetsPerPod | quote }}
        - --max-targets-per-node
        - {{ .Values.maxTargetsPerNode | quote }}
        {{- with .Values.annotationLimits }}
        - --annotation-max-body-bytes
        - {{ .maxBodyBytes | int64 | quote }}
        - --annotation-max-timeout
        - {{ .maxTimeoutSeconds | quote }}
        - --annotation-max-returned-metrics
        - {{ .maxReturnedMetrics | quote }}
        - --annotation-min-interval
        - {{ .minIntervalSeconds | quote }}
        - --annotation-max-metric-items
        - {{ .maxMetricItems | quote }}
        - --annotation-max-tags
        - {{ .maxTags | quote }}
        - --annotation-max-tag-length
        - {{ .maxTagLength | quote }}
        {{- end }}
        {{- if .Values.webConfig.secretName }}
        - --web-config-file
        - /etc/expvar-collector/web/web.yml
        {{- end }}
        {{- range .Values.tags }}
        - --tag
        - {{ . | quote }}
        {{- end }}
        {{- with .Values.extraArgs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      env:
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        {{- if .Values.dogstatsd.useHostIP }}
        - name: DD_AGENT_HOST
          valueFrom:
            fieldRef:
              fieldPath: status.hostIP
        - name: DD_DOGSTATSD_PORT
          value: {{ .Values.dogstatsd.port | quote }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: {{ .Values.listenPort }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: metrics
          scheme: {{ .Values.webConfig.tls | ternary "HTTPS" "HTTP" }}
        initialDelaySeconds: 5
        periodSeconds: 10
      readinessProbe:
        httpGet:
          path: /readyz
          port: metrics
          scheme: {{ .Values.webConfig.tls | ternary "HTTPS" "HTTP" }}
        periodSeconds: 5
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if .Values.dogstatsd.socket.enabled }}
        - name: dsdsocket
          mountPath: /var/run/datadog
          readOnly: true
        {{- end }}
        {{- if .Values.confd.instances }}
        - name: confd
          mountPath: /etc/expvar-collector/conf.d
          readOnly: true
        {{- end }}
        {{- if .Values.webConfig.secretName }}
        - name: web-config
          mountPath: /etc/expvar-collector/web
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        medium: Memory
        sizeLimit: 16Mi
    {{- if .Values.dogstatsd.socket.enabled }}
    - name: dsdsocket
      hostPath:
        path: {{ .Values.dogstatsd.socket.hostPath }}
        type: DirectoryOrCreate
    {{- end }}
    {{- if .Values.confd.instances }}
    - name: confd
      configMap:
        name: {{ include "expvar-collector.fullname" . }}-confd
        items:
          - key: values.yaml
            path: go_expvar.d/values.yaml
    {{- end }}
    {{- with .Values.webConfig.secretName }}
    - name: web-config
      secret:
        secretName: {{ . }}
    {{- end }}
{{- end -}}
