{{- define "peer.labels" -}}
labels:
  app.kubernetes.io/component: {{ . }}
  app.kubernetes.io/managed-by: mesh-render
  app.kubernetes.io/part-of: knative-playground-mesh
{{- end -}}

{{- define "peer.partial" -}}
annotations:
  mesh-render/partial: server-side apply with field manager mesh-render; the rest of this object belongs to its installer
{{- end -}}

{{- define "peer.partialNamespace" -}}
---
# Partial object: apply with `kubectl apply --server-side --field-manager=mesh-render`; its installer owns the rest.
apiVersion: v1
kind: Namespace
metadata:
  {{- include "peer.partial" . | nindent 2 }}
  labels:
    {{ $.injection.key }}: {{ $.injection.value }}
  name: {{ .name }}
{{ end -}}

{{- define "peer.gatewayEntry" -}}
- class: istio
  gateway: {{ .ns }}/{{ .name }}
  service: {{ .ns }}/{{ .name }}-istio
  supported-features:
  - HTTPRouteRequestTimeout
{{ end -}}
