package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	klabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
	"istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/kube/inject"
	"istio.io/istio/pkg/kube/multicluster"
)

// The kubelet version of the fake cluster's one node. The injector's native-sidecar detection
// (pkg/kube/inject/webhook.go DetectNativeSidecar) reads it; Knative 1.23 needs Kubernetes 1.34.
var nodeKubeletVersion = "v1.34.0"

// staticWatcher hands the injector the rendered ConfigMap's config and values, which do not change.
type staticWatcher struct {
	config *inject.Config
	values string
}

func (w *staticWatcher) SetHandler(func(*inject.Config, string) error) {}
func (w *staticWatcher) Run(<-chan struct{})                           {}
func (w *staticWatcher) Get() (*inject.Config, string, error)          { return w.config, w.values, nil }

// injector is Istio's sidecar injection webhook, configured from the rendered istiod release
// (expanded/istiod: ConfigMaps istio-sidecar-injector and istio), called over HTTP with an
// AdmissionReview as the API server calls it.
type injector struct {
	mux  *http.ServeMux
	mesh *meshconfig.MeshConfig
	stop chan struct{}
}

// meshConfigOf is the mesh config of the default revision's istiod, or with none, of the first
// revision's (by name) the tree has.
func meshConfigOf(t *tree) (*meshconfig.MeshConfig, string, error) {
	if t.find("ConfigMap", "istio-system", "istio") != nil {
		return meshConfigOfRev(t, "default")
	}
	var revs []string
	for _, cm := range t.ofKind("ConfigMap") {
		if cm.GetNamespace() == "istio-system" && strings.HasPrefix(cm.GetName(), "istio-sidecar-injector-") {
			revs = append(revs, strings.TrimPrefix(cm.GetName(), "istio-sidecar-injector-"))
		}
	}
	sort.Strings(revs)
	if len(revs) == 0 {
		return meshConfigOfRev(t, "default") // the error names the missing ConfigMap
	}
	return meshConfigOfRev(t, revs[0])
}

func meshConfigOfRev(t *tree, rev string) (*meshconfig.MeshConfig, string, error) {
	raw, err := t.configMapKey("istio-system", "istio"+suffix(rev), "mesh")
	if err != nil {
		return nil, "", err
	}
	m, err := mesh.ApplyMeshConfigDefaults(raw)
	if err != nil {
		return nil, "", fmt.Errorf("mesh config: %v", err)
	}
	return m, raw, nil
}

// suffix is the ConfigMap name suffix of a revision: "" for default, "-<rev>" otherwise (istiod
// chart: istio-sidecar-injector{{- if not (eq .Values.revision "") }}-{{ .Values.revision }}).
func suffix(rev string) string {
	if rev == "default" || rev == "" {
		return ""
	}
	return "-" + rev
}

func newInjector(t *tree, rev string) (*injector, error) {
	cfgRaw, err := t.configMapKey("istio-system", "istio-sidecar-injector"+suffix(rev), "config")
	if err != nil {
		return nil, err
	}
	values, err := t.configMapKey("istio-system", "istio-sidecar-injector"+suffix(rev), "values")
	if err != nil {
		return nil, err
	}
	if cfgRaw, err = shimProxyInitImage(cfgRaw, values); err != nil {
		return nil, fmt.Errorf("%s: %v", rev, err)
	}
	cfg, err := inject.UnmarshalConfig([]byte(cfgRaw))
	if err != nil {
		return nil, err
	}
	m, _, err := meshConfigOfRev(t, rev)
	if err != nil {
		return nil, err
	}
	env := &model.Environment{Watcher: meshwatcher.NewTestWatcher(m), ConfigStore: model.NewFakeStore()}
	env.SetPushContext(&model.PushContext{ProxyConfigs: model.GetProxyConfigs(env.ConfigStore, m)})
	mc := multicluster.NewFakeController()
	mux := http.NewServeMux()
	if _, err := inject.NewWebhook(inject.WebhookParameters{
		Watcher: &staticWatcher{config: &cfg, values: values}, Env: env, Mux: mux, MultiCluster: mc, Revision: rev,
	}); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	client := kube.NewFakeClient(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node"},
		Status:     corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: nodeKubeletVersion}},
	})
	mc.Add(constants.DefaultClusterName, client, stop)
	client.RunAndWait(stop)
	return &injector{mux: mux, mesh: m, stop: stop}, nil
}

func (in *injector) close() { close(in.stop) }

// shimProxyInitImage lets the pinned injector run the 1.31 line's template. From 1.31.0-rc.0 the
// template's istio-init image is `{{ .ProxyInitImage }}` (istio 1.31.0-rc.0
// manifests/charts/istio-control/istio-discovery/files/injection-template.yaml:90; 1.30.3 has
// `{{ .ProxyImage }}` there), a SidecarTemplateData field added by #59292 (7869c00e3ce, 2026-06-01,
// after the pinned b01690e6db7d; 1.31.0-rc.0 pkg/kube/inject/inject.go:115,335-345). Both build the
// image from hub, tag and variant; they differ only in the image name: global.proxy_init.image
// instead of global.proxy.image. So the shim writes the 1.30 expression back, and refuses values
// where the two names differ.
func shimProxyInitImage(cfg, values string) (string, error) {
	const newer, older = "{{ .ProxyInitImage }}", "{{ .ProxyImage }}"
	if !strings.Contains(cfg, newer) {
		return cfg, nil
	}
	var v struct {
		Global struct {
			Proxy     struct{ Image string } `json:"proxy"`
			ProxyInit struct{ Image string } `json:"proxy_init"`
		} `json:"global"`
	}
	if err := json.Unmarshal([]byte(values), &v); err != nil {
		return "", fmt.Errorf("injector values: %v", err)
	}
	name := func(s string) string {
		if s == "" {
			return "proxyv2"
		}
		return s
	}
	if name(v.Global.Proxy.Image) != name(v.Global.ProxyInit.Image) {
		return "", fmt.Errorf("the template uses %s, which the pinned injector lacks, and global.proxy_init.image %q differs from global.proxy.image %q",
			newer, v.Global.ProxyInit.Image, v.Global.Proxy.Image)
	}
	return strings.ReplaceAll(cfg, newer, older), nil
}

// inject returns the pod as the API server stores it after the webhook's patch: unchanged when the
// injector skips it (policy, sidecar.istio.io/inject=false, namespace not selected by the webhook is
// decided by the MutatingWebhookConfiguration, see injectable).
func (in *injector) inject(pod *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(pod.Object)
	if err != nil {
		return nil, err
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "oracle",
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: pod.GetNamespace(),
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	body, _ := json.Marshal(review)
	req := httptest.NewRequest(http.MethodPost, "/inject", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	in.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("injector answered %d: %s", rec.Code, rec.Body.String())
	}
	var resp admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		return nil, err
	}
	if resp.Response == nil || !resp.Response.Allowed {
		return nil, fmt.Errorf("injector refused %s/%s: %+v", pod.GetNamespace(), pod.GetName(), resp.Response)
	}
	if len(resp.Response.Patch) == 0 {
		return pod.DeepCopy(), nil
	}
	patch, err := jsonpatch.DecodePatch(resp.Response.Patch)
	if err != nil {
		return nil, err
	}
	out, err := patch.Apply(raw)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// revisionFor says which istiod the API server sends the pod to, as the rendered
// MutatingWebhookConfigurations decide (istio-sidecar-injector[-<rev>] and istio-revision-tag-<tag>):
// every webhook whose namespaceSelector matches the pod's namespace and whose objectSelector matches
// the pod calls the Service in its clientConfig, istiod (revision default) or istiod-<rev>. "" when
// no webhook matches; an error when webhooks of two revisions match (the pod would be injected twice).
func revisionFor(t *tree, pod *unstructured.Unstructured, namespaces map[string]map[string]string) (string, error) {
	type webhook struct {
		Name              string                `json:"name"`
		NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector"`
		ObjectSelector    *metav1.LabelSelector `json:"objectSelector"`
		ClientConfig      struct {
			Service *struct {
				Name string `json:"name"`
			} `json:"service"`
		} `json:"clientConfig"`
	}
	found := ""
	any := false
	for _, mwc := range t.ofKind("MutatingWebhookConfiguration") {
		if !strings.HasPrefix(mwc.GetName(), "istio-sidecar-injector") && !strings.HasPrefix(mwc.GetName(), "istio-revision-tag-") {
			continue
		}
		any = true
		var cfg struct {
			Webhooks []webhook `json:"webhooks"`
		}
		b, _ := json.Marshal(mwc.Object)
		if err := json.Unmarshal(b, &cfg); err != nil {
			return "", err
		}
		for _, w := range cfg.Webhooks {
			if !matches(w.NamespaceSelector, namespaces[pod.GetNamespace()]) || !matches(w.ObjectSelector, pod.GetLabels()) {
				continue
			}
			if w.ClientConfig.Service == nil {
				return "", fmt.Errorf("%s webhook %s calls no Service", mwc.GetName(), w.Name)
			}
			rev := strings.TrimPrefix(strings.TrimPrefix(w.ClientConfig.Service.Name, "istiod"), "-")
			if rev == "" {
				rev = "default"
			}
			if found != "" && found != rev {
				return "", fmt.Errorf("pod %s/%s: webhooks of revisions %s and %s both match", pod.GetNamespace(), pod.GetName(), found, rev)
			}
			found = rev
		}
	}
	if !any {
		return "", fmt.Errorf("%s: no istio-sidecar-injector MutatingWebhookConfiguration (render with --expand-charts)", t.dir)
	}
	return found, nil
}

func matches(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(klabels.Set(labels))
}
