package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	klabels "k8s.io/apimachinery/pkg/labels"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"istio.io/istio/pilot/pkg/simulation"
	istiocluster "istio.io/istio/pkg/cluster"
)

// The port of an east-west gateway's mTLS pass-through, unless the gateway Service's
// networking.istio.io/gatewayPort label says otherwise (istio 1.29.6
// pilot/pkg/serviceregistry/kube/controller/network.go:314-351 getGatewayDetails; DefaultNetworkGatewayPort, controller.go:79).
const eastWestPort = 15443

// fleet is a multi-cluster mesh's render (`mesh-render render --out DIR` of a config with
// components.istio.multiCluster: DIR/clusters/<name>/, each tree expanded) as a multi-primary mesh:
// one istiod per cluster, each with its own cluster's Istio config and mesh config and every
// cluster's Kubernetes objects (istiod reads the other clusters' API servers through their remote
// secrets; Istio config comes from its own cluster only).
type fleet struct {
	clusters []*fakeCluster // in the order of their folders
	byID     map[istiocluster.ID]*fakeCluster
	istiods  map[istiocluster.ID]*istiod
	pods     map[string]*podInfo // by podKey: <cluster>:<namespace>/<name>
	f        *failer
}

func loadFleet(dir string) (*fleet, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "clusters"))
	if err != nil {
		return nil, fmt.Errorf("%s: not a multi-cluster render (no clusters/ folder): %v", dir, err)
	}
	fl := &fleet{byID: map[istiocluster.ID]*fakeCluster{}, istiods: map[istiocluster.ID]*istiod{}, pods: map[string]*podInfo{}, f: &failer{}}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t, err := readTree(filepath.Join(dir, "clusters", e.Name()))
		if err != nil {
			return nil, err
		}
		c, err := newFakeCluster(t, len(fl.clusters))
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %v", e.Name(), err)
		}
		if string(c.id) != e.Name() {
			return nil, fmt.Errorf("clusters/%s: istiod's global.multiCluster.clusterName is %q, not the folder's name", e.Name(), c.id)
		}
		fl.clusters = append(fl.clusters, c)
		fl.byID[c.id] = c
		for k, pi := range c.pods {
			fl.pods[string(c.id)+":"+k] = pi
		}
	}
	if len(fl.clusters) < 2 {
		return nil, fmt.Errorf("%s/clusters holds %d cluster trees; a multi-cluster mesh has at least 2", dir, len(fl.clusters))
	}
	kube := map[istiocluster.ID]string{}
	for _, c := range fl.clusters {
		kube[c.id] = c.kube
	}
	for _, c := range fl.clusters {
		fl.istiods[c.id] = newIstiod(fl.f, c, kube)
	}
	return fl, nil
}

// key is the pod's podKey in the fleet.
func (c *fakeCluster) key(pi *podInfo) string {
	return string(c.id) + ":" + pi.pod.Namespace + "/" + pi.pod.Name
}

// networkOf is the network the cluster's istiod puts its proxies on: the injected
// ISTIO_META_NETWORK (global.network) of its pods, else the root namespace's label.
func (c *fakeCluster) proxyNetwork() string {
	keys := make([]string, 0, len(c.pods))
	for k := range c.pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if n := proxyEnv(c.pods[k].pod, "ISTIO_META_NETWORK"); n != "" {
			return n
		}
	}
	return c.network
}

// gateway is a network gateway of a cluster: a Service of the system namespace labelled
// topology.istio.io/network with a port for mTLS pass-through, at its addresses outside the
// cluster (load balancer ingress and external IPs), and the pods it selects.
type gateway struct {
	svc   corev1.Service
	addrs []string
	port  uint32
	pods  []*podInfo
}

// gateways are the cluster's network gateways as istiod finds them (istio 1.29.6
// pilot/pkg/serviceregistry/kube/controller/network.go:270-361, extractGatewaysInner and getGatewayDetails:
// label topology.istio.io/network, the Service listens on the gateway port, one gateway per
// address of ClusterExternalAddresses, which conversion.go:131-165 fills from
// status.loadBalancer.ingress and spec.externalIPs).
func (c *fakeCluster) gateways() []gateway {
	var out []gateway
	for _, svc := range c.services {
		if svc.Labels["topology.istio.io/network"] == "" {
			continue
		}
		port := uint32(eastWestPort)
		if p, err := strconv.Atoi(svc.Labels["networking.istio.io/gatewayPort"]); err == nil {
			port = uint32(p)
		}
		listens := false
		for _, sp := range svc.Spec.Ports {
			listens = listens || uint32(sp.Port) == port
		}
		if !listens {
			continue
		}
		g := gateway{svc: svc, port: port}
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				g.addrs = append(g.addrs, in.IP)
			}
		}
		g.addrs = append(g.addrs, svc.Spec.ExternalIPs...)
		for _, pi := range c.sortedPods() {
			if pi.pod.Namespace == svc.Namespace && len(svc.Spec.Selector) > 0 && klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(pi.pod.Labels)) {
				g.pods = append(g.pods, pi)
			}
		}
		out = append(out, g)
	}
	return out
}

func (c *fakeCluster) sortedPods() []*podInfo {
	keys := make([]string, 0, len(c.pods))
	for k := range c.pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*podInfo, len(keys))
	for i, k := range keys {
		out[i] = c.pods[k]
	}
	return out
}

// lbEndpoint is one endpoint of an EDS answer: its address, port and the tlsMode of its transport
// socket match metadata (what auto mTLS reads).
type lbEndpoint struct {
	addr    string
	port    uint32
	tlsMode string
}

func (e lbEndpoint) String() string {
	s := net.JoinHostPort(e.addr, fmt.Sprint(e.port))
	if e.tlsMode != "" {
		s += " (tlsMode " + e.tlsMode + ")"
	}
	return s
}

func lbEndpoints(la *endpointv3.ClusterLoadAssignment) []lbEndpoint {
	var out []lbEndpoint
	for _, l := range la.GetEndpoints() {
		for _, e := range l.GetLbEndpoints() {
			sa := e.GetEndpoint().GetAddress().GetSocketAddress()
			tm := e.GetMetadata().GetFilterMetadata()["envoy.transport_socket_match"].GetFields()["tlsMode"].GetStringValue()
			out = append(out, lbEndpoint{addr: sa.GetAddress(), port: sa.GetPortValue(), tlsMode: tm})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// istioTLS is the Istio mTLS context a cluster uses towards an endpoint labelled tlsMode istio (its
// transport socket, or auto mTLS's tlsMode-istio match): nil when that is not Istio mTLS.
func istioTLS(c *cluster.Cluster) *tlsv3.UpstreamTlsContext {
	ts := c.TransportSocket
	for _, m := range c.TransportSocketMatches {
		if v := m.GetMatch().GetFields()["tlsMode"]; v != nil && v.GetStringValue() == "istio" {
			ts = m.TransportSocket
		}
	}
	if t, err := socketTransport(ts); err != nil || t != "mtls" {
		return nil
	}
	ctx := &tlsv3.UpstreamTlsContext{}
	if err := ts.GetTypedConfig().UnmarshalTo(ctx); err != nil {
		return nil
	}
	return ctx
}

// A check of the fleet's endpoints: its rule and outcome.
type fleetCheck struct {
	out           io.Writer
	name          string
	checks        int
	endpoints     int
	disagreements int
}

func (fc *fleetCheck) result(rule string, ok bool, msg string) {
	fc.checks++
	if ok {
		if os.Getenv("ORACLE_DEBUG") != "" {
			fmt.Fprintf(fc.out, "%s: agree [%s] %s\n", fc.name, rule, msg)
		}
		return
	}
	fc.disagreements++
	fmt.Fprintf(fc.out, "%s: DISAGREE [%s] %s\n", fc.name, rule, msg)
}

// sameEndpoints compares an EDS answer with the endpoints the mesh should give, and counts them.
func (fc *fleetCheck) sameEndpoints(rule, what string, got, want []lbEndpoint) {
	fc.endpoints += len(want)
	sort.Slice(want, func(i, j int) bool { return want[i].String() < want[j].String() })
	fc.result(rule, slices.Equal(got, want), fmt.Sprintf("%s: Istio's EDS gives %v, want %v", what, got, want))
}

// checkEndpoints: for a client in each cluster (the world's app pod of its first app namespace), what
// Istio's config generator gives it for the Services of the fleet that exist in another cluster too.
//
//   - same-network: the world's app Service <ns>/pod:8080 gives the pod of every cluster on the
//     client's network directly.
//   - cross-network: a cluster on another network is one endpoint per address of its east-west
//     gateway, on 15443 with tlsMode istio, never its pod (istio 1.29.6
//     pilot/pkg/xds/endpoints/ep_filters.go EndpointsByNetworkFilter, lines 146-153 and 236-257);
//     the client's cluster for the Service is Istio mTLS towards it (cross-network-mtls: the
//     tlsMode-istio transport socket with the workload certificate "default", ALPN istio and the
//     Service's SNI), and that gateway, built by its own cluster's istiod, routes the SNI through
//     its AUTO_PASSTHROUGH listener on 15443 to a cluster without TLS of its own whose endpoints are
//     its network's pods of the Service (east-west-passthrough): the caller's mTLS reaches the pod.
//   - cross-network-mtls-only: the Knative local gateway Service gives the gateway pods of the
//     client's network only: the others have no security.istio.io/tlsMode label, and a
//     cross-network endpoint must be mTLS (ep_filters.go, istio 1.29.6 lines 156-162).
//   - cluster-local: a Service whose host the client's mesh config makes cluster-local
//     (meshConfig.serviceSettings clusterLocal, istio 1.29.6 pilot/pkg/model/cluster_local.go:85-140;
//     mesh-render keeps the root and Knative namespaces so) gives the client's own cluster's
//     endpoints only, whatever the networks.
func (fl *fleet) checkEndpoints(fc *fleetCheck) {
	for _, a := range fl.clusters {
		client := worldAppPod(a, "")
		if client == nil {
			continue
		}
		var namespaces []string
		for _, c := range fl.clusters {
			for _, pi := range c.sortedPods() {
				if pi.pod.Name == "pod" && hasSidecar(pi.pod) && !slices.Contains(namespaces, pi.pod.Namespace) {
					namespaces = append(namespaces, pi.pod.Namespace)
				}
			}
		}
		sort.Strings(namespaces)
		for _, ns := range namespaces {
			fl.checkAppService(fc, a, client, ns)
		}
		fl.checkLocalGateway(fc, a, client)
	}
}

// worldAppPod is the world's plain app pod of the cluster in namespace ns, or of its first app namespace
// for "": a pod named pod with a sidecar.
func worldAppPod(c *fakeCluster, ns string) *podInfo {
	for _, pi := range c.sortedPods() {
		if pi.pod.Name == "pod" && hasSidecar(pi.pod) && (ns == "" || pi.pod.Namespace == ns) {
			return pi
		}
	}
	return nil
}

// addressed are the cluster's network gateways that have an address.
func (c *fakeCluster) addressed() []gateway {
	var out []gateway
	for _, g := range c.gateways() {
		if len(g.addrs) > 0 {
			out = append(out, g)
		}
	}
	return out
}

func (fl *fleet) checkAppService(fc *fleetCheck, a *fakeCluster, client *podInfo, ns string) {
	host := "pod." + ns + ".svc.cluster.local"
	name := "outbound|8080||" + host
	sni := "outbound_.8080_._." + host
	var want []lbEndpoint
	var rules, where []string
	var remote []*fakeCluster
	for _, c := range fl.clusters {
		p := worldAppPod(c, ns)
		if p == nil {
			continue
		}
		where = append(where, fmt.Sprintf("%s on %s", c.id, c.proxyNetwork()))
		switch {
		case c == a:
			want = append(want, lbEndpoint{addr: p.ip, port: 8080, tlsMode: "istio"})
		case c.proxyNetwork() == a.proxyNetwork():
			want = append(want, lbEndpoint{addr: p.ip, port: 8080, tlsMode: "istio"})
			rules = append(rules, "same-network")
		default:
			remote = append(remote, c)
			rules = append(rules, "cross-network")
			gws := c.addressed()
			for _, g := range gws {
				for _, addr := range g.addrs {
					want = append(want, lbEndpoint{addr: addr, port: g.port, tlsMode: "istio"})
				}
			}
			if len(gws) == 0 {
				// Without an addressed gateway the pod cannot be reached from another network.
				want = append(want, lbEndpoint{addr: "<" + string(c.id) + "'s east-west gateway address>", port: eastWestPort, tlsMode: "istio"})
			}
		}
	}
	if len(rules) == 0 {
		return // in one cluster only
	}
	slices.Sort(rules)
	d := fl.istiods[a.id]
	pc := d.outbound(a.key(client), client)
	what := fmt.Sprintf("%s's %s/pod (on %s), cluster %s (Service in %s)", a.id, client.pod.Namespace, a.proxyNetwork(), name, strings.Join(where, ", "))
	fc.sameEndpoints(strings.Join(slices.Compact(rules), "+"), what, lbEndpoints(d.endpointsOf(pc, name)), want)
	if len(remote) == 0 {
		return
	}
	var ctx *tlsv3.UpstreamTlsContext
	if c := pc.clusters[name]; c != nil {
		ctx = istioTLS(c)
	}
	alpn := ctx.GetCommonTlsContext().GetAlpnProtocols()
	fc.result("cross-network-mtls", ctx != nil && ctx.GetSni() == sni && slices.Contains(alpn, "istio"),
		fmt.Sprintf("%s: the tlsMode-istio transport socket is Istio mTLS with SNI %q (want %q) and ALPN %v (want istio among them)", what, ctx.GetSni(), sni, alpn))
	for _, c := range remote {
		// The gateway's view is its own network: the Service's pods of every cluster on it.
		var local []lbEndpoint
		for _, o := range fl.clusters {
			if p := worldAppPod(o, ns); p != nil && o.proxyNetwork() == c.proxyNetwork() {
				local = append(local, lbEndpoint{addr: p.ip, port: 8080, tlsMode: "istio"})
			}
		}
		for _, g := range c.addressed() {
			// The rendered cross-network Gateway's hosts say which Services the gateway passes
			// through: those must pass, the others must find no filter chain.
			hosts := c.passedHosts(g)
			got, ok, refused, msg := fl.passthrough(c, g, sni)
			if !covers(hosts, host) {
				fc.result("east-west-closed", refused, fmt.Sprintf("%s (the Gateway passes %v, not %s)", msg, hosts, host))
				continue
			}
			fc.result("east-west-passthrough", ok, msg)
			if ok {
				fc.sameEndpoints("east-west-passthrough", fmt.Sprintf("%s's gateway %s/%s, cluster %s", c.id, g.svc.Namespace, g.svc.Name, sni), got, local)
			}
		}
	}
}

// clusterLocal says whether the cluster's mesh config keeps host in the caller's own cluster: the
// most specific serviceSettings host that matches it, exact or `*.<suffix>` (istio 1.29.6
// pilot/pkg/model/cluster_local.go:36-45 IsClusterLocal, :103-125), else Istio's own defaults for
// kube-system and kubernetes.default (:25-26), which no Service of these checks is in.
func (c *fakeCluster) clusterLocal(host string) bool {
	best, local := -1, false
	for _, s := range c.mesh.GetServiceSettings() {
		for _, h := range s.GetHosts() {
			n := -1
			switch {
			case h == host:
				n = len(h) + 1
			case strings.HasPrefix(h, "*") && strings.HasSuffix(host, h[1:]):
				n = len(h)
			}
			if n > best {
				best, local = n, s.GetSettings().GetClusterLocal()
			}
		}
	}
	return local
}

func (fl *fleet) checkLocalGateway(fc *fleetCheck, a *fakeCluster, client *podInfo) {
	const lgNS, lgName = "istio-system", "knative-local-gateway-istio"
	var ports []corev1.ServicePort
	var want []lbEndpoint
	var rules []string
	for _, c := range fl.clusters {
		for _, svc := range c.services {
			if svc.Namespace != lgNS || svc.Name != lgName {
				continue
			}
			ports = svc.Spec.Ports
			switch {
			case c == a:
			case a.clusterLocal(lgName + "." + lgNS + ".svc.cluster.local"):
				rules = append(rules, "cluster-local")
				continue
			case c.proxyNetwork() == a.proxyNetwork():
				rules = append(rules, "same-network")
			default:
				rules = append(rules, "cross-network-mtls-only")
				continue
			}
			for _, pi := range c.sortedPods() {
				if pi.pod.Namespace == lgNS && klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(pi.pod.Labels)) {
					want = append(want, lbEndpoint{addr: pi.ip, tlsMode: pi.pod.Labels["security.istio.io/tlsMode"]})
				}
			}
		}
	}
	if len(rules) == 0 {
		return
	}
	slices.Sort(rules)
	d := fl.istiods[a.id]
	pc := d.outbound(a.key(client), client)
	for _, sp := range ports {
		name := fmt.Sprintf("outbound|%d||%s.%s.svc.cluster.local", sp.Port, lgName, lgNS)
		w := make([]lbEndpoint, len(want))
		for i, e := range want {
			e.port = uint32(sp.TargetPort.IntValue())
			w[i] = e
		}
		fc.sameEndpoints(strings.Join(slices.Compact(rules), "+"), fmt.Sprintf("%s's %s/pod (on %s), cluster %s (gateway pods without tlsMode istio)", a.id, client.pod.Namespace, a.proxyNetwork(), name), lbEndpoints(d.endpointsOf(pc, name)), w)
	}
}

// passthrough asks cluster c's east-west gateway g, a router proxy built by c's istiod, to take a
// TLS connection on its gateway port with the SNI a caller's cluster sets (Istio's traffic
// simulation over its listeners): ok when it picks the cluster of that SNI and that cluster sends it
// on without TLS of its own (the caller's mTLS passes through); then the cluster's endpoints (the
// gateway's EDS; its network view is its own network); refused when it has no listener or filter
// chain for it. msg says what the gateway did.
func (fl *fleet) passthrough(c *fakeCluster, g gateway, sni string) (eps []lbEndpoint, ok bool, refused bool, msg string) {
	if len(g.pods) == 0 {
		return nil, false, false, fmt.Sprintf("%s's gateway Service %s/%s selects no pod", c.id, g.svc.Namespace, g.svc.Name)
	}
	gw := g.pods[0]
	d := fl.istiods[c.id]
	gc := d.outbound(c.key(gw), gw)
	res := gc.sim.Run(simulation.Call{CallMode: simulation.CallModeGateway, Address: gw.ip, Port: int(g.port), Protocol: simulation.TCP, TLS: simulation.MTLS, Alpn: "istio", Sni: sni})
	cl := gc.clusters[res.ClusterMatched]
	ok = res.Error == nil && res.ClusterMatched == sni && cl != nil
	transport := ""
	if ok {
		var err error
		transport, err = socketTransport(cl.TransportSocket)
		ok = err == nil && transport == "plaintext" && len(cl.TransportSocketMatches) == 0
	}
	msg = fmt.Sprintf("%s's %s/%s on %d for SNI %s: Istio's simulation gives listener %q, cluster %q (passed on without TLS of its own: %q), error %v",
		c.id, gw.pod.Namespace, gw.pod.Name, g.port, sni, res.ListenerMatched, res.ClusterMatched, transport, res.Error)
	if ok {
		eps = lbEndpoints(d.endpointsOf(gc, sni))
	}
	// Refused: no listener on the port (no Service it passes exists) or no filter chain for the SNI.
	return eps, ok, errors.Is(res.Error, simulation.ErrNoFilterChain) || errors.Is(res.Error, simulation.ErrNoListener), msg
}

// passedHosts are the hosts the cluster's Istio Gateways that select the gateway's pods pass
// through on its port (servers with tls mode AUTO_PASSTHROUGH; a host may carry a namespace/ prefix).
func (c *fakeCluster) passedHosts(g gateway) []string {
	var out []string
	for _, o := range c.t.ofKind("Gateway") {
		if !isConfig(o) || len(g.pods) == 0 || o.GetNamespace() != g.pods[0].pod.Namespace {
			continue
		}
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
		if !klabels.SelectorFromSet(sel).Matches(klabels.Set(g.pods[0].pod.Labels)) {
			continue
		}
		servers, _, _ := unstructured.NestedSlice(o.Object, "spec", "servers")
		for _, sv := range servers {
			m, _ := sv.(map[string]any)
			port, _, _ := unstructured.NestedFieldNoCopy(m, "port", "number")
			mode, _, _ := unstructured.NestedString(m, "tls", "mode")
			hosts, _, _ := unstructured.NestedStringSlice(m, "hosts")
			if uint32(toFloat(port)) != g.port || mode != "AUTO_PASSTHROUGH" {
				continue
			}
			for _, h := range hosts {
				if _, after, ok := strings.Cut(h, "/"); ok {
					h = after
				}
				out = append(out, h)
			}
		}
	}
	return out
}

// covers says whether a Gateway host ("*.suffix" or exact) matches the host.
func covers(hosts []string, host string) bool {
	for _, h := range hosts {
		if h == "*" || h == host || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return true
		}
	}
	return false
}

func runMulticluster(dir, name, flowsPaths, expectedPath string, stdout io.Writer) (int, error) {
	fl, err := loadFleet(dir)
	if err != nil {
		return 0, err
	}
	defer fl.f.close()
	var desc []string
	for _, c := range fl.clusters {
		desc = append(desc, fmt.Sprintf("%s on %s", c.id, c.proxyNetwork()))
	}
	fc := &fleetCheck{out: stdout, name: name}
	fl.checkEndpoints(fc)
	j, err := newJudge(name, expectedPath, stdout)
	if err != nil {
		return 0, err
	}
	inCluster := 0
	seen := map[string]bool{}
	if flowsPaths != "" {
		for _, p := range strings.Split(flowsPaths, ",") {
			rows, err := readRows(p)
			if err != nil {
				return 0, err
			}
			for _, r := range rows {
				if r.FromCluster == "" {
					inCluster++ // judged by `oracle flows` on the cluster's tree
					continue
				}
				if fl.byID[istiocluster.ID(r.FromCluster)] == nil || fl.byID[istiocluster.ID(r.ToCluster)] == nil {
					return 0, fmt.Errorf("%s: row %s names a cluster the fleet does not have (%s -> %s)", p, r, r.FromCluster, r.ToCluster)
				}
				r.From.Cluster, r.To.Cluster = r.FromCluster, r.ToCluster
				if r.Via != nil {
					r.Via.Cluster = r.ToCluster
				}
				k := fmt.Sprintf("%s|%s|%s|%s|%s|%s", r.key(), r.Call, r.ViaCall, r.Verdict, r.Transport, r.Purpose)
				if seen[k] {
					continue
				}
				seen[k] = true
				fl.row(j, r)
			}
		}
	}
	extra := fmt.Sprintf(" (%d in-cluster rows judged by oracle flows); clusters %s; %d endpoint checks (%d endpoints), %d endpoint disagreements",
		inCluster, strings.Join(desc, ", "), fc.checks, fc.endpoints, fc.disagreements)
	code := j.finish("multicluster", extra)
	if fc.disagreements > 0 {
		code = 1
	}
	return code, nil
}

// env is what a cross-cluster row is judged against: every cluster's pods, the destination
// cluster's Services, the destination's istiod for a pod as a destination and the caller's for a
// pod as a caller (each pod's own cluster's istiod).
func (fl *fleet) env(to *fakeCluster) rowEnv {
	return rowEnv{
		pods:     fl.pods,
		services: to.services,
		server: func(key string) (*listener.Listener, *simulation.Simulation) {
			pi := fl.pods[key]
			return virtualInbound(fl.istiods[pi.c.id].inbound(key, pi))
		},
		client: func(key string) ([]*listener.Listener, map[string]*cluster.Cluster, *simulation.Simulation) {
			pi := fl.pods[key]
			o := fl.istiods[pi.c.id].outbound(key, pi)
			return o.listeners, o.clusters, o.sim
		},
	}
}

// eastWest is the destination cluster's network gateway the row's via names, if any.
func (fl *fleet) eastWest(r flowRow) *gateway {
	if r.Via == nil {
		return nil
	}
	for _, g := range fl.byID[istiocluster.ID(r.ToCluster)].gateways() {
		for _, pi := range g.pods {
			if pi.pod.Namespace == r.Via.Namespace && pi.pod.Name == r.Via.Workload && g.port == r.Via.Port {
				return &g
			}
		}
	}
	return nil
}

// reach says how the caller's sidecar reaches target (a pod of the destination's cluster) on port
// through a Service: "direct" when the EDS of a Service of the target's cluster that targets the
// port holds the pod's own address, "east-west" when it holds the target cluster's network gateway
// on its gateway port with tlsMode istio (then sni is the SNI the caller's cluster sets), "" when it
// holds neither (why says what it holds).
func (fl *fleet) reach(from, target endpoint, port uint32) (how, sni, why string) {
	fc, tc := fl.byID[istiocluster.ID(from.Cluster)], fl.byID[istiocluster.ID(target.Cluster)]
	caller, to := fl.pods[podKey(from)], fl.pods[podKey(target)]
	d := fl.istiods[fc.id]
	client := d.outbound(podKey(from), caller)
	var whys []string
	for _, svc := range tc.services {
		if svc.Namespace != to.pod.Namespace || len(svc.Spec.Selector) == 0 || !klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(to.pod.Labels)) {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if !targets(sp, to.pod, port) {
				continue
			}
			host := fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace)
			name := fmt.Sprintf("outbound|%d||%s", sp.Port, host)
			got := lbEndpoints(d.endpointsOf(client, name))
			for _, e := range got {
				if e.addr == to.ip && e.port == port {
					return "direct", "", fmt.Sprintf("the caller's EDS for %s holds %s's pod %s", name, tc.id, e)
				}
			}
			for _, g := range tc.gateways() {
				for _, e := range got {
					if slices.Contains(g.addrs, e.addr) && e.port == g.port && e.tlsMode == "istio" {
						return "east-west", fmt.Sprintf("outbound_.%d_._.%s", sp.Port, host),
							fmt.Sprintf("the caller's EDS for %s holds %s's east-west gateway %s", name, tc.id, e)
					}
				}
			}
			whys = append(whys, fmt.Sprintf("the caller's EDS for %s holds %v", name, got))
		}
	}
	if len(whys) == 0 {
		return "", "", fmt.Sprintf("no Service of %s selecting %s targets port %d", tc.id, podKey(target), port)
	}
	return "", "", strings.Join(whys, "; ") + ", none of them " + podKey(target) + " or its cluster's east-west gateway"
}

// row judges a cross-cluster row. The client side is the caller's cluster's (its istiod's EDS and
// clusters), the server side the destination's (its istiod's inbound chain and RBAC for the caller's
// principal): one trust domain and root, so the caller's identity holds in the other cluster.
//   - A row through the destination cluster's east-west gateway is one mTLS call from the caller's
//     sidecar to the destination pod (the gateway passes it through by SNI, AUTO_PASSTHROUGH), so
//     the caller's EDS must send it to that gateway (not to the pod: the networks differ), the
//     gateway must route its SNI to the pod, and then the call is judged as a direct one.
//   - A row without a via (or through a workload of the destination cluster) must be reachable
//     directly: its first hop's target pod in the caller's EDS.
//   - A first hop the caller's EDS cannot take to the destination cluster (no endpoint of the pod,
//     nor its cluster's east-west gateway: a cross-network endpoint without tlsMode istio is dropped)
//     is a deny.
func (fl *fleet) row(j *judge, r flowRow) {
	env := fl.env(fl.byID[istiocluster.ID(r.ToCluster)])
	if fl.pods[podKey(r.From)] == nil || fl.pods[podKey(r.To)] == nil {
		j.row(r, env) // the judge names the missing pod
		return
	}
	if msg := sidecarMismatch(r, fl.pods); msg != "" {
		j.disagree("sidecar", r, msg)
		return
	}
	ew := fl.eastWest(r)
	target, port, call := r.To, r.Port, r.Call
	if r.Via != nil {
		call = r.ViaCall
		if ew == nil {
			target, port = r.Via.endpoint(), r.Via.Port
		}
	}
	if fl.pods[podKey(target)] == nil {
		j.row(r, env)
		return
	}
	if call != "service" || !hasSidecar(fl.pods[podKey(r.From)].pod) {
		j.undecided(r, "cross-cluster-call", fmt.Sprintf("a %q call from %s across clusters: only a sidecar's Service call is judged", call, podKey(r.From)))
		return
	}
	how, sni, why := fl.reach(r.From, target, port)
	switch {
	case how == "":
		if r.Verdict != "deny" {
			j.disagree("verdict", r, fmt.Sprintf("%s: mesh-render says %s (%s), but the call cannot leave for %s: %s", r, r.Verdict, r.Transport, r.ToCluster, why))
		} else {
			j.agree(r, "deny", why)
		}
		return
	case ew != nil && how == "direct":
		j.disagree("via", r, fmt.Sprintf("%s: mesh-render says through %s's east-west gateway, Istio's EDS sends the call to the pod: %s", r, r.ToCluster, why))
		return
	case ew == nil && how == "east-west" && r.Via == nil:
		j.disagree("via", r, fmt.Sprintf("%s: mesh-render says the call goes to the pod, Istio's EDS sends it to %s's east-west gateway: %s", r, r.ToCluster, why))
		return
	case how == "east-west":
		tc, tp := fl.byID[istiocluster.ID(r.ToCluster)], fl.pods[podKey(target)]
		passes := false
		var msgs []string
		for _, g := range tc.addressed() {
			got, ok, _, msg := fl.passthrough(tc, g, sni)
			passes = passes || (ok && slices.ContainsFunc(got, func(e lbEndpoint) bool { return e.addr == tp.ip && e.port == port }))
			msgs = append(msgs, msg)
		}
		why += "; " + strings.Join(msgs, "; ")
		if !passes {
			if r.Verdict != "deny" {
				j.disagree("verdict", r, fmt.Sprintf("%s: mesh-render says %s (%s), but %s's east-west gateway does not pass SNI %s to %s: %s", r, r.Verdict, r.Transport, r.ToCluster, sni, podKey(target), why))
			} else {
				j.agree(r, "deny", why+": the east-west gateway does not pass it on")
			}
			return
		}
	}
	if ew != nil {
		// The east-west gateway is transparent to the call: judge it as the caller's Service call to
		// the destination pod, shown and keyed as the row.
		shown := r
		r.Via, r.ViaCall, r.Call = nil, "", call
		r.shown = &shown
	}
	j.row(r, env)
}
