package main

import (
	_ "embed"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

//go:embed world/knative.yaml
var knativeWorld []byte

//go:embed world/eventing.yaml
var eventingWorld []byte

// The namespaces of the embedded world files that the catalogue treats as system namespaces (no app
// pods there). Only the defaults are known: a config that renames them gets no Knative pods.
const (
	servingNamespace  = "knative-serving"
	eventingNamespace = "knative-eventing"
)

// world returns the objects the rendered tree assumes exist (namespaces, service accounts,
// services and pods before injection), in a stable order.
func world(t *tree) ([]*unstructured.Unstructured, error) {
	nsSet := map[string]bool{}
	var out []*unstructured.Unstructured
	for _, n := range t.ofKind("Namespace") {
		nsSet[n.GetName()] = true
	}
	for _, src := range [][]byte{knativeWorld, eventingWorld} {
		objs, err := decodeObjects(src)
		if err != nil {
			return nil, fmt.Errorf("embedded world: %v", err)
		}
		for _, o := range objs {
			switch {
			case o.GetKind() == "Namespace":
				if !nsSet[o.GetName()] {
					out = append(out, o)
				}
			case nsSet[o.GetNamespace()] || o.GetNamespace() == "observability" || o.GetNamespace() == "default":
				out = append(out, o)
			}
		}
	}
	var typed []runtime.Object
	// Gateways of class istio: istiod's deployment controller creates Deployment, Service and
	// ServiceAccount <gateway>-istio (istio 1.29.6 files/kube-gateway.yaml: pod labels
	// sidecar.istio.io/inject "false", service.istio.io/canonical-name, gateway-name and
	// gateway-class-name; annotation istio.io/rev).
	for _, g := range t.ofKind("Gateway") {
		class, _, _ := unstructured.NestedString(g.Object, "spec", "gatewayClassName")
		if class != "istio" {
			continue
		}
		name := g.GetName() + "-istio"
		labels := map[string]string{
			"sidecar.istio.io/inject":                      "false",
			"service.istio.io/canonical-name":              name,
			"service.istio.io/canonical-revision":          "latest",
			"gateway.networking.k8s.io/gateway-name":       g.GetName(),
			"gateway.networking.k8s.io/gateway-class-name": class,
			"gateway.istio.io/managed":                     "istio.io-gateway-controller",
		}
		listeners, _, _ := unstructured.NestedSlice(g.Object, "spec", "listeners")
		var ports []corev1.ServicePort
		seen := map[int64]bool{}
		for _, l := range listeners {
			lm := l.(map[string]any)
			// decodeObjects reads numbers as JSON does: float64.
			p := int64(toFloat(lm["port"]))
			if seen[p] {
				continue
			}
			seen[p] = true
			ports = append(ports, corev1.ServicePort{Name: fmt.Sprintf("%v-%d", lm["name"], p), Port: int32(p), TargetPort: intstr.FromInt32(int32(p))})
		}
		typed = append(typed,
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: g.GetNamespace()}},
			&corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: g.GetNamespace(), Labels: map[string]string{"gateway.networking.k8s.io/gateway-name": g.GetName()}},
				Spec:       corev1.ServiceSpec{Selector: map[string]string{"gateway.networking.k8s.io/gateway-name": g.GetName()}, Ports: ports},
			},
			&corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: g.GetNamespace(), Labels: labels, Annotations: map[string]string{"istio.io/rev": "default"}},
				Spec: corev1.PodSpec{ServiceAccountName: name, Containers: []corev1.Container{{
					Name: "istio-proxy", Image: "istio/proxyv2",
					Ports: []corev1.ContainerPort{{Name: "http-envoy-prom", ContainerPort: 15090, Protocol: corev1.ProtocolTCP}},
				}}},
			})
	}
	// App namespaces: every injected namespace that is not a Knative system namespace gets a plain
	// pod behind a Service (port 8080, the catalogue's SUBSCRIBER_PORT) and, with Knative Serving, a
	// revision pod with queue-proxy and the revision's private Service.
	var apps []string
	for ns := range nsSet {
		n := t.find("Namespace", "", ns)
		l := n.GetLabels()
		if (l["istio-injection"] == "enabled" || l["istio.io/rev"] != "") && ns != servingNamespace && ns != eventingNamespace {
			apps = append(apps, ns)
		}
	}
	sort.Strings(apps)
	for _, ns := range apps {
		typed = append(typed, appPod(ns)...)
		if nsSet[servingNamespace] {
			typed = append(typed, revisionPod(ns)...)
		}
	}
	// The endpoint picker and istiod (the expanded chart's Deployment, a caller of the model servers'
	// and pickers' rows): the rendered Deployment's pod template. Model servers: one pod per
	// InferencePool with its selector's labels and target ports.
	for _, d := range t.ofKind("Deployment") {
		tmpl, ok, _ := unstructured.NestedMap(d.Object, "spec", "template")
		if !ok {
			continue
		}
		var pod corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &pod); err != nil {
			return nil, fmt.Errorf("Deployment %s/%s: %v", d.GetNamespace(), d.GetName(), err)
		}
		pod.Name, pod.Namespace = d.GetName(), d.GetNamespace()
		typed = append(typed, &pod)
	}
	for _, p := range t.ofKind("InferencePool") {
		sel, _, _ := unstructured.NestedStringMap(p.Object, "spec", "selector", "matchLabels")
		tps, _, _ := unstructured.NestedSlice(p.Object, "spec", "targetPorts")
		var ports []corev1.ContainerPort
		for _, tp := range tps {
			n := int64(toFloat(tp.(map[string]any)["number"]))
			ports = append(ports, corev1.ContainerPort{Name: fmt.Sprintf("http-%d", n), ContainerPort: int32(n)})
		}
		typed = append(typed, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: p.GetName() + "-model-server", Namespace: p.GetNamespace(), Labels: sel},
			Spec: corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{
				Name: "model-server", Image: "vllm", Ports: ports,
			}}},
		})
	}
	for _, o := range typed {
		u, err := toUnstructured(o)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// toUnstructured is a typed object of the world as a manifest: with its kind, without status.
func toUnstructured(o runtime.Object) (*unstructured.Unstructured, error) {
	u, err := withKind(o)
	if err != nil {
		return nil, err
	}
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// withKind is a typed object as unstructured, with the kind of a core object set (the typed
// objects leave TypeMeta empty) and its status kept.
func withKind(o runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	switch o.(type) {
	case *corev1.Pod:
		u.SetAPIVersion("v1")
		u.SetKind("Pod")
	case *corev1.Service:
		u.SetAPIVersion("v1")
		u.SetKind("Service")
	case *corev1.ServiceAccount:
		u.SetAPIVersion("v1")
		u.SetKind("ServiceAccount")
	}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

func appPod(ns string) []runtime.Object {
	return []runtime.Object{
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pod", Namespace: ns, Labels: map[string]string{"app": "pod"}},
			Spec: corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{
				Name: "app", Image: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}}},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "pod", Namespace: ns},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "pod"}, Ports: []corev1.ServicePort{
				{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(8080)},
			}},
		},
	}
}

// revisionPod is a Knative revision pod as serving knative-v1.23.0 builds it
// (pkg/reconciler/revision/resources/deploy.go and queue.go: queue-proxy ports http-autometric 9090,
// http-usermetric 9091, queue-port 8012, https-port 8112; its readiness probe is an HTTP GET on
// 8012 with the K-Network-Probe header), and its private Service
// (pkg/reconciler/serverlessservice/resources/services.go MakePrivateService: http 80->8012,
// https 443->8112, http-autometric 9090, http-usermetric 9091, http-istio 8012).
func revisionPod(ns string) []runtime.Object {
	labels := map[string]string{
		"app":                               "revision",
		"serving.knative.dev/revision":      "revision",
		"serving.knative.dev/configuration": "revision",
		"serving.knative.dev/service":       "revision",
	}
	return []runtime.Object{
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "revision", Namespace: ns, Labels: labels},
			Spec: corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{
				{
					Name: "user-container", Image: "app",
					Ports: []corev1.ContainerPort{{Name: "user-port", ContainerPort: 8080}},
					// Knative's preStop hook on the user container calls queue-proxy's drain
					// endpoint (serving knative-v1.23.0 pkg/reconciler/revision/resources/deploy.go:104-113:
					// httpGet networking.QueueAdminPort 8022, queue.RequestQueueDrainPath /wait-for-drain);
					// the injector rewrites it to pilot-agent.
					Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{
						Port: intstr.FromInt32(8022), Path: "/wait-for-drain",
					}}},
				},
				{
					Name: "queue-proxy", Image: "knative/queue",
					Ports: []corev1.ContainerPort{
						{Name: "http-autometric", ContainerPort: 9090},
						{Name: "http-usermetric", ContainerPort: 9091},
						{Name: "queue-port", ContainerPort: 8012},
						{Name: "https-port", ContainerPort: 8112},
					},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Port: intstr.FromInt32(8012), HTTPHeaders: []corev1.HTTPHeader{{Name: "K-Network-Probe", Value: "queue"}},
					}}},
				},
			}},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "revision-private", Namespace: ns, Labels: map[string]string{"networking.internal.knative.dev/serviceType": "Private"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"serving.knative.dev/revision": "revision"}, Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8012)},
				{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8112)},
				{Name: "http-autometric", Port: 9090, TargetPort: intstr.FromString("http-autometric")},
				{Name: "http-usermetric", Port: 9091, TargetPort: intstr.FromString("http-usermetric")},
				{Name: "http-istio", Port: 8012, TargetPort: intstr.FromInt32(8012)},
			}},
		},
	}
}

// toFloat reads a number of a decoded object (float64, as JSON decodes it; int64 as the
// unstructured converter writes it).
func toFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case int:
		return float64(n)
	}
	return 0
}
