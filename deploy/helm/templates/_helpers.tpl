{{/* Names and labels shared by every template. */}}

{{- define "flatlora.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "flatlora.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "flatlora.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "flatlora.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "flatlora.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "flatlora.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of the silo pods. */}}
{{- define "flatlora.siloSelector" -}}
app.kubernetes.io/name: {{ include "flatlora.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: silo
{{- end -}}

{{- define "flatlora.redisSelector" -}}
app.kubernetes.io/name: {{ include "flatlora.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{- define "flatlora.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flatlora.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "flatlora.image" -}}
{{- $tag := .Values.image.tag | default (printf "%s-%s" .Chart.AppVersion .Values.mode) -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* The secret holding redis-password and redis-connection. */}}
{{- define "flatlora.secretName" -}}
{{- .Values.secret.existingSecret | default (printf "%s-cluster" (include "flatlora.fullname" .)) -}}
{{- end -}}

{{- define "flatlora.redisAddress" -}}
{{- if .Values.redis.enabled -}}
{{- printf "%s-redis:6379" (include "flatlora.fullname" .) -}}
{{- else -}}
{{- required "redis.external.address is required when redis.enabled is false" .Values.redis.external.address -}}
{{- end -}}
{{- end -}}

{{- define "flatlora.pvcName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "flatlora.fullname" .)) -}}
{{- end -}}

{{/* The Secret with the silos' tls.crt, tls.key and ca.crt: an existing one, or the one cert-manager issues. */}}
{{- define "flatlora.tlsSecretName" -}}
{{- if .Values.tls.existingSecret -}}
{{- .Values.tls.existingSecret -}}
{{- else if .Values.tls.certManager.enabled -}}
{{- printf "%s-tls" (include "flatlora.fullname" .) -}}
{{- else -}}
{{- fail "tls.existingSecret (a Secret with tls.crt, tls.key and ca.crt) or tls.certManager.enabled is required when tls.enabled is true" -}}
{{- end -}}
{{- end }}
