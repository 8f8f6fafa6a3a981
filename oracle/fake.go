package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	klabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	istiocluster "istio.io/istio/pkg/cluster"
	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
	"istio.io/istio/pkg/network"
)

// Istio kinds the config generator reads for these checks; everything else in the tree (Gateway API
// objects, Telemetry, the charts' own objects) is not given to it. Istio's own Gateway (the
// cross-network Gateway of a multi-cluster mesh) is read too: see isConfig.
var configKinds = map[string]bool{
	"PeerAuthentication": true, "AuthorizationPolicy": true, "RequestAuthentication": true,
	"DestinationRule": true, "Sidecar": true, "ServiceEntry": true,
}

// isConfig: an object the config generator is given as Istio config: the kinds above, and
// networking.istio.io Gateways (not the Gateway API's, which istiod's deployment controller turns
// into the world's gateway pods).
func isConfig(o *unstructured.Unstructured) bool {
	return configKinds[o.GetKind()] || (o.GetKind() == "Gateway" && strings.HasPrefix(o.GetAPIVersion(), "networking.istio.io/"))
}

// systemNamespace is istiod's namespace, where the trees put it.
const systemNamespace = "istio-system"

type podInfo struct {
	pod *corev1.Pod
	ip  string
	c   *fakeCluster // the cluster the pod runs in
}

// fakeCluster is one rendered tree as a cluster: its Kubernetes objects as the config generator's
// fake API server holds them, the Istio config its istiod reads, and the oracle's index of its pods
// and Services.
type fakeCluster struct {
	t *tree
	// id is istiod's cluster ID: the istiod values' global.multiCluster.clusterName, else
	// "Kubernetes" (the injection template's `valueOrDefault .Values.global.multiCluster.clusterName
	// "Kubernetes"`, constants.DefaultClusterName).
	id istiocluster.ID
	// network is the root namespace's topology.istio.io/network label.
	network      string
	mesh         *meshconfig.MeshConfig
	meshNetworks *meshconfig.MeshNetworks
	pods         map[string]*podInfo // namespace/name
	services     []corev1.Service
	kube         string // the Kubernetes objects, one YAML stream
	config       string // the Istio config, one YAML stream
}

// lbAddress is the address a cloud's load balancer controller writes into the status of the n-th
// Service of type LoadBalancer of cluster index (TEST-NET-3, RFC 5737).
func lbAddress(index, n int) string {
	return fmt.Sprintf("203.0.113.%d", 10*(index+1)+n)
}

// newFakeCluster builds the cluster of tree t; index numbers it in a fleet (its pods get addresses
// from 10.<index>.0.0/16, its load balancers from lbAddress).
func newFakeCluster(t *tree, index int) (*fakeCluster, error) {
	objs, _, err := injectedWorld(t)
	if err != nil {
		return nil, err
	}
	m, _, err := meshConfigOf(t)
	if err != nil {
		return nil, err
	}
	c := &fakeCluster{t: t, id: constants.DefaultClusterName, mesh: m, pods: map[string]*podInfo{}}
	if v, err := t.configMapKey(systemNamespace, "istio-sidecar-injector", "values"); err == nil {
		var values struct {
			Global struct {
				MultiCluster struct {
					ClusterName string `json:"clusterName"`
				} `json:"multiCluster"`
			} `json:"global"`
		}
		if err := json.Unmarshal([]byte(v), &values); err != nil {
			return nil, fmt.Errorf("istiod values: %v", err)
		}
		if n := values.Global.MultiCluster.ClusterName; n != "" {
			c.id = istiocluster.ID(n)
		}
	}
	if raw, err := t.configMapKey(systemNamespace, "istio", "meshNetworks"); err == nil {
		if c.meshNetworks, err = mesh.ParseMeshNetworks(raw); err != nil {
			return nil, fmt.Errorf("meshNetworks: %v", err)
		}
	}
	if ns := t.find("Namespace", "", systemNamespace); ns != nil {
		c.network = ns.GetLabels()["topology.istio.io/network"]
	}
	// Kubernetes objects: the tree's namespaces, services and service accounts, and the world, pods
	// with an IP and Ready.
	var kube []runtime.Object
	ip, lbs := 0, 0
	var all []*unstructured.Unstructured
	for _, kind := range []string{"Namespace", "Service", "ServiceAccount"} {
		all = append(all, t.ofKind(kind)...)
	}
	for _, o := range append(all, objs...) {
		switch o.GetKind() {
		case "Namespace", "ServiceAccount":
			kube = append(kube, o)
		case "Service":
			var svc corev1.Service
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &svc); err != nil {
				return nil, err
			}
			// A Service of type LoadBalancer gets an address from the cloud's load balancer
			// controller, in status.loadBalancer.ingress; istiod takes it (and spec.externalIPs, of
			// any type) as the Service's address outside the cluster, which makes a Service labelled
			// topology.istio.io/network its network's gateway (istio 1.29.6
			// pilot/pkg/serviceregistry/kube/conversion.go:131-153 and 160-165,
			// controller/network.go:270-361 extractGatewaysInner, getGatewayDetails).
			if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: lbAddress(index, lbs)}}
				lbs++
			}
			c.services = append(c.services, svc)
			kube = append(kube, &svc)
		case "Pod":
			var p corev1.Pod
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &p); err != nil {
				return nil, err
			}
			ip++
			addr := fmt.Sprintf("10.%d.%d.%d", index, ip/250, ip%250+1)
			p.Status = corev1.PodStatus{
				Phase: corev1.PodRunning, PodIP: addr, PodIPs: []corev1.PodIP{{IP: addr}},
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			}
			// istiod puts an endpoint without a topology.istio.io/network label (a pod the
			// injector did not label: the gateways') on the network of its cluster's system
			// namespace label (istio 1.29.6 pilot/pkg/serviceregistry/kube/controller/controller.go:388-405,
			// with KubeOptions.SystemNamespace set by pilot/pkg/bootstrap/servicecontroller.go:79);
			// pilot/test/xds does not set SystemNamespace on its controllers (fake.go:188-200), so the
			// oracle labels the pod as istiod reads it.
			if c.network != "" && p.Labels["topology.istio.io/network"] == "" {
				if p.Labels == nil {
					p.Labels = map[string]string{}
				}
				p.Labels["topology.istio.io/network"] = c.network
			}
			kube = append(kube, &p)
			c.pods[p.Namespace+"/"+p.Name] = &podInfo{pod: &p, ip: addr, c: c}
		}
	}
	kube = append(kube, endpointSlices(c.services, c.pods)...)
	var ks []string
	for _, o := range kube {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			var err error
			if u, err = withKind(o); err != nil {
				return nil, err
			}
		}
		ks = append(ks, string(encodeObjects([]*unstructured.Unstructured{u})))
	}
	c.kube = strings.Join(ks, "")
	var cfg []*unstructured.Unstructured
	for _, o := range t.objects {
		if isConfig(o) {
			cfg = append(cfg, o)
		}
	}
	c.config = string(encodeObjects(cfg))
	return c, nil
}

// endpointSlices are the EndpointSlices Kubernetes' EndpointSlice controller writes for Services
// with a selector: the Ready pods' IPs, the Service's ports with the target port resolved. Without
// them the config generator sees no endpoints (a headless Service is then taken as mTLS disabled,
// model.PushContext.BestEffortInferServiceMTLSMode).
func endpointSlices(services []corev1.Service, pods map[string]*podInfo) []runtime.Object {
	keys := make([]string, 0, len(pods))
	for k := range pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []runtime.Object
	for _, svc := range services {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			var eps []discoveryv1.Endpoint
			var port int32
			for _, k := range keys {
				pi := pods[k]
				if pi.pod.Namespace != svc.Namespace || !klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(pi.pod.Labels)) {
					continue
				}
				port = sp.TargetPort.IntVal
				if sp.TargetPort.StrVal != "" {
					port = 0
					for _, c := range pi.pod.Spec.Containers {
						for _, cp := range c.Ports {
							if cp.Name == sp.TargetPort.StrVal {
								port = cp.ContainerPort
							}
						}
					}
				} else if port == 0 {
					port = sp.Port
				}
				ready := true
				eps = append(eps, discoveryv1.Endpoint{
					Addresses:  []string{pi.ip},
					Conditions: discoveryv1.EndpointConditions{Ready: &ready},
					TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pi.pod.Namespace, Name: pi.pod.Name},
				})
			}
			if len(eps) == 0 {
				continue
			}
			name, proto := sp.Name, sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			out = append(out, &discoveryv1.EndpointSlice{
				TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
				ObjectMeta: metav1.ObjectMeta{
					Name: fmt.Sprintf("%s-%d", svc.Name, sp.Port), Namespace: svc.Namespace,
					Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
				},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints:   eps,
				Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto, AppProtocol: sp.AppProtocol}},
			})
		}
	}
	return out
}

// istiod is one istiod's config generator (pilot/test/xds FakeDiscoveryServer): the Istio config
// and mesh config of its own cluster, the Kubernetes objects of every cluster it reads (its own,
// and in a multi-primary mesh every other through its remote secret), and the proxies built so far.
type istiod struct {
	s         *xds.FakeDiscoveryServer
	inbounds  map[string]*proxyConfig
	outbounds map[string]*proxyConfig
}

// proxyConfig is what the config generator sends one proxy.
type proxyConfig struct {
	proxy     *model.Proxy
	listeners []*listener.Listener
	clusters  map[string]*cluster.Cluster
	sim       *simulation.Simulation
	endpoints map[string]*endpointv3.ClusterLoadAssignment // built on first use
}

// newIstiod starts the config generator of cluster c; kube holds the Kubernetes objects of every
// cluster it reads, by cluster ID (c's own included).
func newIstiod(f *failer, c *fakeCluster, kube map[istiocluster.ID]string) *istiod {
	s := xds.NewFakeDiscoveryServer(f, xds.FakeOptions{
		DefaultClusterName:              c.id,
		ConfigString:                    c.config,
		KubernetesObjectStringByCluster: kube,
		MeshConfig:                      c.mesh,
		NetworksWatcher:                 meshwatcher.NewFixedNetworksWatcher(c.meshNetworks),
	})
	return &istiod{s: s, inbounds: map[string]*proxyConfig{}, outbounds: map[string]*proxyConfig{}}
}

// proxyEnv is an environment variable of the pod's istio-proxy container, as the injector wrote it.
func proxyEnv(p *corev1.Pod, name string) string {
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name != "istio-proxy" {
			continue
		}
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// proxyFor builds the proxy of pod pi as pilot-agent announces it: its cluster ID, network and
// requested network view are the injected ISTIO_META_CLUSTER_ID, ISTIO_META_NETWORK and
// ISTIO_META_REQUESTED_NETWORK_VIEW (the injection templates' env; the gateway chart sets the view to
// the gateway's network).
func (d *istiod) proxyFor(pi *podInfo, typ model.NodeType) *model.Proxy {
	md := &model.NodeMetadata{
		Namespace: pi.pod.Namespace, Labels: pi.pod.Labels, Annotations: pi.pod.Annotations,
		ServiceAccount: pi.pod.Spec.ServiceAccountName, IstioVersion: proxyVersion,
		ClusterID: istiocluster.ID(proxyEnv(pi.pod, "ISTIO_META_CLUSTER_ID")),
		Network:   network.ID(proxyEnv(pi.pod, "ISTIO_META_NETWORK")),
	}
	if v := proxyEnv(pi.pod, "ISTIO_META_REQUESTED_NETWORK_VIEW"); v != "" {
		md.RequestedNetworkView = strings.Split(v, ",")
	}
	return d.s.SetupProxy(&model.Proxy{
		Type: typ,
		ID:   pi.pod.Name + "." + pi.pod.Namespace, IPAddresses: []string{pi.ip}, ConfigNamespace: pi.pod.Namespace, Labels: pi.pod.Labels,
		Metadata: md,
	})
}

func (d *istiod) build(p *model.Proxy) *proxyConfig {
	l := d.s.Listeners(p)
	// Istio's traffic simulation (pilot/pkg/simulation/traffic.go Simulation.Run) over the proxy's
	// listeners and routes: its exported fields are all it reads, so it runs outside `go test`
	// (NewSimulation wants a *testing.T only to report).
	pc := &proxyConfig{proxy: p, listeners: l, clusters: map[string]*cluster.Cluster{}, sim: &simulation.Simulation{Listeners: l, Routes: d.s.RoutesFromListeners(p, l)}}
	for _, c := range d.s.Clusters(p) {
		pc.clusters[c.Name] = c
	}
	return pc
}

// inbound is the config of the pod's sidecar as a destination.
func (d *istiod) inbound(key string, pi *podInfo) *proxyConfig {
	if c, ok := d.inbounds[key]; ok {
		return c
	}
	c := d.build(d.proxyFor(pi, model.SidecarProxy))
	d.inbounds[key] = c
	return c
}

// outbound is the config of the pod's proxy as a caller: a gateway pod (the world's, of the Gateway
// API, or one the gateway injection template injected) is a router proxy, whose clusters are the
// Services it may route to; the other callers are sidecars.
func (d *istiod) outbound(key string, pi *podInfo) *proxyConfig {
	if c, ok := d.outbounds[key]; ok {
		return c
	}
	typ := model.SidecarProxy
	if isGateway(pi.pod) || isInjectedGateway(pi.pod) {
		typ = model.Router
	}
	c := d.build(d.proxyFor(pi, typ))
	d.outbounds[key] = c
	return c
}

// endpointsOf is the EDS the config generator sends the proxy for an EDS cluster.
func (d *istiod) endpointsOf(pc *proxyConfig, name string) *endpointv3.ClusterLoadAssignment {
	if pc.endpoints == nil {
		pc.endpoints = map[string]*endpointv3.ClusterLoadAssignment{}
		for _, la := range d.s.Endpoints(pc.proxy) {
			pc.endpoints[la.ClusterName] = la
		}
	}
	return pc.endpoints[name]
}

// virtualInbound is the server side of the pod: its sidecar's virtualInbound listener.
func virtualInbound(c *proxyConfig) (*listener.Listener, *simulation.Simulation) {
	for _, l := range c.listeners {
		if l.Name == "virtualInbound" {
			return l, c.sim
		}
	}
	return nil, c.sim
}

// isInjectedGateway: a pod the injector gave the gateway template (the gateway chart's pods:
// annotation inject.istio.io/templates: gateway).
func isInjectedGateway(p *corev1.Pod) bool {
	return p.Annotations["inject.istio.io/templates"] == "gateway" && hasSidecar(p)
}
