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

{{/* Common labels, on every object: the chart's, then commonLabels (validate refuses repeats). */}}
{{- define "expvar-collector.labels" -}}
helm.sh/chart: {{ include "expvar-collector.chart" . }}
{{ include "expvar-collector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
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

{{/* The image reference: repository@digest when a digest is set, else repository:tag. */}}
{{- define "expvar-collector.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The priorityClassName the pods use: the value, else the chart's own class when created. */}}
{{- define "expvar-collector.priorityClassName" -}}
{{- if .Values.priorityClassName -}}
{{- .Values.priorityClassName -}}
{{- else if .Values.priorityClass.create -}}
{{- include "expvar-collector.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The job label of the collectors' scrape, which the alerts on `up` select. */}}
{{- define "expvar-collector.job" -}}
{{- default (include "expvar-collector.name" .) .Values.prometheusRule.job -}}
{{- end -}}

{{/*
"true" when extraArgs already sets the flag given as the list's second element (as "--flag" or
"--flag=value"): the chart then leaves its own out, since `run` refuses most flags twice.
Usage: include "expvar-collector.argSet" (list .Values.extraArgs "--listen")
*/}}
{{- define "expvar-collector.argSet" -}}
{{- $flag := index . 1 -}}
{{- range (index . 0) -}}
{{- if or (eq (toString .) $flag) (hasPrefix (printf "%s=" $flag) (toString .)) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The chart's own flags as "--flag value" pairs, each left out when extraArgs sets it.
Input: a dict {"root": $, "args": [[flag, value?], ...]}.
*/}}
{{- define "expvar-collector.flags" -}}
{{- $extra := .root.Values.extraArgs -}}
{{- range .args }}
{{- if not (include "expvar-collector.argSet" (list $extra (index . 0))) }}
- {{ index . 0 }}
{{- if gt (len .) 1 }}
- {{ index . 1 | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Impossible combinations stop the rendering with a message naming the value. Included by every
workload template (the DaemonSet or the Deployment renders, never both).
*/}}
{{- define "expvar-collector.validate" -}}
{{- $v := .Values -}}
{{- if and $v.webConfig.tls (not $v.webConfig.secretName) -}}
{{- fail "webConfig.tls is true but webConfig.secretName is empty: TLS needs the Secret holding web.yml and its certificate" -}}
{{- end -}}
{{- if and (eq $v.dogstatsd.mode "url") (not $v.dogstatsd.url) -}}
{{- fail "dogstatsd.mode is url but dogstatsd.url is empty: set dogstatsd.url (udp://host:port or unix:///path)" -}}
{{- end -}}
{{- if and $v.dogstatsd.url (ne $v.dogstatsd.mode "url") -}}
{{- fail (printf "dogstatsd.url is set but dogstatsd.mode is %s: set dogstatsd.mode=url to use it" $v.dogstatsd.mode) -}}
{{- end -}}
{{- range $v.extraEnv -}}
{{- if has .name (list "DD_DOGSTATSD_URL" "DD_AGENT_HOST" "DD_DOGSTATSD_PORT") -}}
{{- fail (printf "extraEnv sets %s, which dogstatsd.mode sets: use dogstatsd.mode and dogstatsd.url/port instead" .name) -}}
{{- end -}}
{{- end -}}
{{- range $key := list "helm.sh/chart" "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/version" "app.kubernetes.io/managed-by" -}}
{{- if hasKey $v.commonLabels $key -}}
{{- fail (printf "commonLabels sets %s, which the chart sets itself: use nameOverride or leave it out" $key) -}}
{{- end -}}
{{- end -}}
{{- if and $v.confd.instances $v.confd.existingConfigMap -}}
{{- fail "confd.instances and confd.existingConfigMap are both set: use one (put the instances in your ConfigMap)" -}}
{{- end -}}
{{- if and $v.serviceMonitor.enabled $v.podMonitor.enabled -}}
{{- fail "serviceMonitor.enabled and podMonitor.enabled are both true: each scrapes every collector, enable one" -}}
{{- end -}}
{{- if and (hasPrefix "system-" $v.priorityClassName) (ne .Release.Namespace "kube-system") -}}
{{- fail (printf "priorityClassName %s is for kube-system only, and the release namespace is %s: use priorityClass.create or a class of your own" $v.priorityClassName .Release.Namespace) -}}
{{- end -}}
{{- if and $v.priorityClassName $v.priorityClass.create -}}
{{- fail "priorityClassName is set and priorityClass.create is true: the created class would be unused, set one of them" -}}
{{- end -}}
{{- if and $v.prometheusRule.enabled (not (or $v.serviceMonitor.enabled $v.podMonitor.enabled $v.prometheusRule.job)) -}}
{{- fail "prometheusRule.enabled needs serviceMonitor.enabled or podMonitor.enabled (which set the job label the alerts select), or prometheusRule.job naming the job that scrapes the collectors" -}}
{{- end -}}
{{- end -}}

{{/* The pod template shared by the DaemonSet and the Deployment. */}}
{{- define "expvar-collector.podTemplate" -}}
{{- $kubeMode := include "expvar-collector.kubeMode" . -}}
{{- $confd := or .Values.confd.instances .Values.confd.existingConfigMap -}}
{{- $priorityClassName := include "expvar-collector.priorityClassName" . -}}
{{- $flags := list (list "--kube-mode" $kubeMode) (list "--listen" (printf "0.0.0.0:%v" .Values.listenPort))
      (list "--interval" .Values.interval) (list "--log-level" .Values.logLevel)
      (list "--log-format" .Values.logFormat) -}}
{{- if $confd -}}
{{- $flags = append $flags (list "--confd" "/etc/expvar-collector/conf.d") -}}
{{- end -}}
{{- if .Values.allowAnyHost -}}
{{- $flags = append $flags (list "--allow-any-host") -}}
{{- end -}}
{{- if not .Values.events.enabled -}}
{{- $flags = append $flags (list "--kube-events=false") -}}
{{- end -}}
{{- $flags = append $flags (list "--max-targets-per-pod" .Values.maxTargetsPerPod) -}}
{{- $flags = append $flags (list "--max-targets-per-node" .Values.maxTargetsPerNode) -}}
{{- with .Values.annotationLimits -}}
{{- $flags = append $flags (list "--annotation-max-body-bytes" (.maxBodyBytes | int64)) -}}
{{- $flags = append $flags (list "--annotation-max-timeout" .maxTimeoutSeconds) -}}
{{- $flags = append $flags (list "--annotation-max-returned-metrics" .maxReturnedMetrics) -}}
{{- $flags = append $flags (list "--annotation-min-interval" .minIntervalSeconds) -}}
{{- $flags = append $flags (list "--annotation-max-metric-items" .maxMetricItems) -}}
{{- $flags = append $flags (list "--annotation-max-tags" .maxTags) -}}
{{- $flags = append $flags (list "--annotation-max-tag-length" .maxTagLength) -}}
{{- end -}}
{{- if .Values.webConfig.secretName -}}
{{- $flags = append $flags (list "--web-config-file" "/etc/expvar-collector/web/web.yml") -}}
{{- end -}}
metadata:
  labels:
    {{- include "expvar-collector.selectorLabels" . | nindent 4 }}
    {{- with .Values.commonLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
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
  {{- with $priorityClassName }}
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
      # The image's ENTRYPOINT is expvar-collector and its CMD run: args replace CMD, so they
      # start with the subcommand.
      args:
        - run
        {{- with include "expvar-collector.flags" (dict "root" . "args" $flags) | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- range .Values.templateEnvAllow }}
        - --template-env-allow
        - {{ . | quote }}
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
        {{- if eq .Values.dogstatsd.mode "socket" }}
        # dogstatsd.mode socket: the Datadog Agent's Unix socket, mounted from the host.
        - name: DD_DOGSTATSD_URL
          value: {{ printf "unix:///var/run/datadog/%s" .Values.dogstatsd.socket.fileName | quote }}
        {{- else if eq .Values.dogstatsd.mode "hostip" }}
        # dogstatsd.mode hostip: UDP to the Agent's hostPort on this node.
        - name: DD_AGENT_HOST
          valueFrom:
            fieldRef:
              fieldPath: status.hostIP
        - name: DD_DOGSTATSD_PORT
          value: {{ .Values.dogstatsd.port | quote }}
        {{- else }}
        # dogstatsd.mode url.
        - name: DD_DOGSTATSD_URL
          value: {{ .Values.dogstatsd.url | quote }}
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
        {{- if eq .Values.dogstatsd.mode "socket" }}
        # Read-only is enough to connect to a Unix socket.
        - name: dsdsocket
          mountPath: /var/run/datadog
          readOnly: true
        {{- end }}
        {{- if .Values.confd.instances }}
        - name: confd
          mountPath: /etc/expvar-collector/conf.d
          readOnly: true
        {{- else if .Values.confd.existingConfigMap }}
        # Every key of the ConfigMap is a file of conf.d/go_expvar.d/.
        - name: confd
          mountPath: /etc/expvar-collector/conf.d/go_expvar.d
          readOnly: true
        {{- end }}
        {{- if .Values.webConfig.secretName }}
        - name: web-config
          mountPath: /etc/expvar-collector/web
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        medium: Memory
        sizeLimit: 16Mi
    {{- if eq .Values.dogstatsd.mode "socket" }}
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
    {{- else if .Values.confd.existingConfigMap }}
    - name: confd
      configMap:
        name: {{ .Values.confd.existingConfigMap }}
    {{- end }}
    {{- with .Values.webConfig.secretName }}
    - name: web-config
      secret:
        secretName: {{ . }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
