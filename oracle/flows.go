package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	klabels "k8s.io/apimachinery/pkg/labels"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacpb "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbachttp "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	rbactcp "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	tcpproxy "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"istio.io/istio/pilot/pkg/simulation"
	kubeconv "istio.io/istio/pkg/config/kube"
	"istio.io/istio/pkg/test"
)

// flowRow is one row of `mesh-render flows --format json` (crates/mesh-render/src/check/flows).
type flowRow struct {
	From    endpoint `json:"from"`
	To      endpoint `json:"to"`
	Via     *via     `json:"via,omitempty"`
	ViaCall string   `json:"via_call,omitempty"`
	Port    uint32   `json:"port"`
	Path    string   `json:"path,omitempty"`
	// Call is how the (last hop's) caller addresses the destination: service, pod-ip or kubelet.
	Call      string `json:"call"`
	Purpose   string `json:"purpose"`
	Need      string `json:"need"`
	Verdict   string `json:"verdict"`
	Transport string `json:"transport"`
	// A multi-cluster mesh's cross-cluster row names the caller's and the destination's clusters
	// (a via is in the destination's); `oracle flows` leaves these rows to `oracle multicluster`.
	FromCluster string `json:"from_cluster,omitempty"`
	ToCluster   string `json:"to_cluster,omitempty"`
	// shown is the row as mesh-render wrote it, when the oracle judges it as another (a call through
	// an east-west gateway as the direct call it passes through): messages and keys name it.
	shown *flowRow
}

type endpoint struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	Sidecar   bool   `json:"sidecar"`
	// Cluster is the row's from_cluster or to_cluster ("" in one cluster's tree): pods are looked up
	// by podKey.
	Cluster string `json:"-"`
}

// podKey names the endpoint's pod in the oracle's index: namespace/name, prefixed with
// "<cluster>:" in a fleet.
func podKey(e endpoint) string {
	if e.Cluster != "" {
		return e.Cluster + ":" + e.Namespace + "/" + e.Workload
	}
	return e.Namespace + "/" + e.Workload
}

// via is the first hop's destination of a two-hop row (crates/mesh-render/src/check/flows/mod.rs
// Via: the activator, a gateway); the row's port and path are the last hop's.
type via struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	Port      uint32 `json:"port"`
	Cluster   string `json:"-"`
}

func (v *via) endpoint() endpoint {
	return endpoint{Namespace: v.Namespace, Workload: v.Workload, Cluster: v.Cluster}
}

// key names a row in the expected-disagreements list: caller -> [via ns/workload:port ->]
// destination:port[ path].
func (r flowRow) key() string {
	if r.shown != nil {
		return r.shown.key()
	}
	p, v := "", ""
	if r.Path != "" {
		p = " " + r.Path
	}
	if r.Via != nil {
		v = fmt.Sprintf("%s:%d -> ", podKey(r.Via.endpoint()), r.Via.Port)
	}
	return fmt.Sprintf("%s -> %s%s:%d%s", podKey(r.From), v, podKey(r.To), r.Port, p)
}

func (r flowRow) String() string {
	if r.shown != nil {
		return r.shown.String()
	}
	return fmt.Sprintf("%s (%s)", r.key(), r.Purpose)
}

// failer lets pilot/test/xds run outside `go test`: a Fatal ends the program with the message.
type failer struct {
	mu       sync.Mutex
	cleanups []func()
	tmp      []string
}

func (f *failer) Fail()    { f.Fatal("failed") }
func (f *failer) FailNow() { f.Fatal("failed") }
func (f *failer) Fatal(a ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"oracle: config generator:"}, a...)...)
	os.Exit(2)
}
func (f *failer) Fatalf(s string, a ...any) { f.Fatal(fmt.Sprintf(s, a...)) }
func (f *failer) Log(a ...any)              {}
func (f *failer) Logf(string, ...any)       {}
func (f *failer) Helper()                   {}
func (f *failer) Skip(a ...any)             { f.Fatal(a...) }
func (f *failer) Cleanup(c func())          { f.mu.Lock(); f.cleanups = append(f.cleanups, c); f.mu.Unlock() }
func (f *failer) TempDir() string {
	d, _ := os.MkdirTemp("", "oracle-")
	f.tmp = append(f.tmp, d)
	return d
}
func (f *failer) close() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	for _, d := range f.tmp {
		os.RemoveAll(d)
	}
}

var _ test.Failer = &failer{}

// isGateway: a gateway pod of the world (istiod's deployment controller labels it with its Gateway).
func isGateway(p *corev1.Pod) bool {
	return p.Labels["gateway.networking.k8s.io/gateway-name"] != ""
}

// throughGateway judges a row through a gateway as far as the config generator can without the
// Gateway API objects: the gateway's call onwards (hop 2, with the gateway's own clusters for its
// transport and the destination's inbound chain and RBAC for the gateway's service account), and the
// caller's client side towards the gateway (hop 1). The gateway's own listener (hop 1's server
// side: its routes and the policies that select it) is built from the Gateway API objects, which are
// not converted, so a row hop 2 allows stays undecidable (`gateway`); a row whose hop 2 cannot be
// judged is `gateway-unjudged` or hop 2's own reason. It returns the disagreement kind ("" when
// undecidable) and message ("" when agreeing), or the undecidable reason, and why.
func throughGateway(r flowRow, pods map[string]*podInfo, services []corev1.Service,
	server func(string) (*listener.Listener, *simulation.Simulation),
	client func(string) ([]*listener.Listener, map[string]*cluster.Cluster, *simulation.Simulation),
) (string, string, string, string) {
	gw := r.Via.endpoint()
	h2 := flowRow{From: gw, To: r.To, Port: r.Port, Path: r.Path, Purpose: r.Purpose, Call: r.Call}
	ts, crs, cwhy := clientTransports(h2, pods, services, client)
	if len(ts) != 1 {
		if ts == nil {
			return "", "", crs, "hop 2 " + h2.key() + ": " + cwhy
		}
		return "", "", "gateway-unjudged", fmt.Sprintf("hop 2 %s: the gateway's clusters allow %v, so its transport is not one: %s", h2.key(), ts, cwhy)
	}
	h2.Transport = ts[0]
	v, w, rs := decide(h2, pods, services, server)
	if v == "" {
		return "", "", rs, "hop 2 " + h2.key() + ": " + w
	}
	why := fmt.Sprintf("hop 2 %s (%s, gateway clusters: %s): %s", h2.key(), h2.Transport, cwhy, w)
	// Hop 1's transport is the row's when hop 2 is mTLS (the row carries the worse of its hops).
	if h2.Transport == "mtls" {
		h1 := flowRow{From: r.From, To: gw, Port: r.Via.Port, Path: r.Path, Purpose: r.Purpose, Transport: r.Transport, Call: r.ViaCall}
		ts, _, cwhy := clientTransports(h1, pods, services, client)
		if ts != nil && !slices.Contains(ts, h1.Transport) {
			return "transport", fmt.Sprintf("%s: mesh-render says transport %s (hop 1 %s), the caller's Envoy config allows only %v: %s", r, h1.Transport, h1.key(), ts, cwhy), "", why
		}
		if ts != nil {
			why += "; hop 1 client: " + cwhy
		}
	} else if r.Transport == "mtls" {
		return "transport", fmt.Sprintf("%s: mesh-render says transport mtls, the gateway's clusters send %s to the destination: %s", r, h2.Transport, cwhy), "", why
	}
	if v == "deny" {
		if r.Verdict != "deny" {
			return "verdict", fmt.Sprintf("%s: mesh-render says %s (%s), Envoy config says deny: %s", r, r.Verdict, r.Transport, why), "", why
		}
		return "verdict", "", "", why
	}
	return "", "", "gateway", why + "; hop 1 (the gateway's own listener and the policies that select it) comes from the Gateway API objects, which the oracle does not convert"
}

// The proxy version the config generator builds for (it gates features by the proxy's version).
const proxyVersion = "1.29.6"

// hopsOf splits a row into the calls Envoy sees: the row itself, or for a row through a workload
// with a sidecar (the activator, which proxies the request: serving knative-v1.23.0
// pkg/activator/handler/handler.go:151-181, a reverse proxy of the request), the call to it and its call onwards, each with its transport.
// mesh-render's row carries the worse transport of its hops (crates/mesh-render/src/check/flows/eval.rs
// Evaluator::evaluate); a plaintext row from a caller with a sidecar does not say which hop was
// plaintext, so it is undecidable. nil and the reason when the row cannot be split.
func hopsOf(r flowRow, pods map[string]*podInfo) ([]flowRow, string, string) {
	if r.Via == nil {
		return []flowRow{r}, "", ""
	}
	key := podKey(r.Via.endpoint())
	pi := pods[key]
	switch {
	case pi == nil:
		return nil, "no-pod", "no pod " + key + " in the oracle's world"
	case pi.pod.Labels["gateway.networking.k8s.io/gateway-name"] != "":
		return nil, "gateway-unjudged", "through gateway " + key + ": the gateway's listeners come from the Gateway API objects, which this oracle does not convert yet"
	case pi.pod.Annotations["sidecar.istio.io/status"] == "":
		return nil, "via-no-sidecar", "through " + key + ", which has no sidecar"
	}
	mid := r.Via.endpoint()
	mid.Sidecar = true
	first, second := r.Transport, r.Transport
	if r.Transport == "plaintext" {
		if r.From.Sidecar || !r.To.Sidecar {
			return nil, "via-plaintext", "a plaintext row through " + key + ": which hop is plaintext is not in the row"
		}
		second = "mtls"
	} else if r.Transport != "mtls" {
		return nil, "via-transport", "transport " + r.Transport + " through " + key
	}
	return []flowRow{
		{From: r.From, To: mid, Port: r.Via.Port, Path: r.Path, Purpose: r.Purpose, Transport: first, Call: r.ViaCall},
		{From: mid, To: r.To, Port: r.Port, Path: r.Path, Purpose: r.Purpose, Transport: second, Call: r.Call},
	}, "", ""
}

// decide derives the verdict of a call from the server's inbound listener, or says why it cannot
// (the third value: the reason's class, for the summary). The filter chain is Istio's traffic
// simulation's (simulation.Run, Envoy's FilterChainMatch order) and pickChain's, which must agree:
// pickChain gives the chain itself (Istio names the mTLS and plain-text chains of a port alike).
func decide(r flowRow, pods map[string]*podInfo, services []corev1.Service,
	server func(string) (*listener.Listener, *simulation.Simulation),
) (string, string, string) {
	key := podKey(r.To)
	to := pods[key]
	switch {
	case r.From.Namespace == "" && r.Transport == "mtls":
		return "", fmt.Sprintf("the caller is %s, a host process, and has no mesh identity", r.From.Workload), "host-process"
	case to == nil:
		return "", "no pod " + key + " in the oracle's world", "no-pod"
	case !hasSidecar(to.pod) && to.pod.Labels["gateway.networking.k8s.io/gateway-name"] != "":
		return "", "the destination is gateway " + key + ", whose listeners come from the Gateway API objects, which this oracle does not convert", "gateway-destination"
	case !hasSidecar(to.pod):
		return "allow", "the destination pod has no sidecar: no Envoy between the caller and the app", ""
	}
	principal := ""
	if r.Transport == "mtls" {
		from := pods[podKey(r.From)]
		if from == nil {
			return "", "no pod " + podKey(r.From) + " in the oracle's world", "no-pod"
		}
		principal = fmt.Sprintf("spiffe://cluster.local/ns/%s/sa/%s", from.pod.Namespace, from.pod.Spec.ServiceAccountName)
	}
	vi, sim := server(key)
	if vi == nil {
		return "", "no virtualInbound listener", "no-listener"
	}
	c := call{port: r.Port, address: to.ip, tls: simulation.Plaintext, http: callIsHTTP(r, to.pod, services)}
	switch {
	case r.Transport == "mtls":
		c.tls = simulation.MTLS
	case r.From.Namespace == "" && r.From.Workload == "kube-apiserver":
		// The API server calls webhooks (admission, conversion) over HTTPS only
		// (admissionregistration.k8s.io/v1 WebhookClientConfig): TLS that is not Istio's.
		c.tls = simulation.TLS
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	proto := simulation.TCP
	if c.http {
		proto = simulation.HTTP
	}
	res := sim.Run(simulation.Call{CallMode: simulation.CallModeInbound, Address: c.address, Port: int(r.Port), Path: path, Protocol: proto, TLS: c.tls})
	fc, err := pickChain(vi, c, listenerFilterOn(vi, "envoy.filters.listener.tls_inspector", r.Port))
	desc := fmt.Sprintf("%s %s call", c.tls, proto)
	switch {
	case errors.Is(res.Error, simulation.ErrNoFilterChain) && errors.Is(err, errNoChain):
		return "deny", fmt.Sprintf("virtualInbound has no filter chain for a %s to port %d", desc, r.Port), ""
	case errors.Is(res.Error, simulation.ErrNoFilterChain) || errors.Is(res.Error, simulation.ErrMultipleFilterChain) || err != nil:
		return "", fmt.Sprintf("Istio's simulation (%v) and the oracle's chain pick (%v) differ for a %s", res.Error, err, desc), "chain"
	case fc.Name != res.FilterChainMatched:
		return "", fmt.Sprintf("Istio's simulation picks chain %s, the oracle's chain pick %s, for a %s", res.FilterChainMatched, fc.Name, desc), "chain"
	case res.Error != nil:
		// invalid TLS or mTLS for the chain, TLS or TCP into an HTTP connection manager, no route:
		// the connection or request fails.
		return "deny", fmt.Sprintf("Istio's simulation: %v on filter chain %s for a %s", res.Error, fc.Name, desc), ""
	}
	req := request{principal: principal, port: r.Port, path: path}
	verdict, why, err := rbacVerdict(fc, req)
	if err != nil {
		return "", err.Error(), "rbac"
	}
	return verdict, fmt.Sprintf("filter chain %s (%s): %s", fc.Name, desc, why), ""
}

// callIsHTTP says whether the call is HTTP: every catalogued call is, except to a port that a
// Service port targeting it declares TCP-like (Istio's own protocol reading of the port's name and
// appProtocol, pkg/config/kube ConvertProtocol; https-* is TLS, so opaque to the sidecar).
func callIsHTTP(r flowRow, pod *corev1.Pod, services []corev1.Service) bool {
	for _, svc := range services {
		if svc.Namespace != pod.Namespace || len(svc.Spec.Selector) == 0 || !klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(pod.Labels)) {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if targets(sp, pod, r.Port) && kubeconv.ConvertProtocol(sp.Port, sp.Name, sp.Protocol, sp.AppProtocol).IsTCP() {
				return false
			}
		}
	}
	return true
}

// hasSidecar: the injector admitted the pod (it writes sidecar.istio.io/status).
func hasSidecar(p *corev1.Pod) bool {
	return p.Annotations["sidecar.istio.io/status"] != ""
}

// sidecarMismatch compares the row's sidecar flags with the injected pods of the world; a host
// process (no namespace) has none.
func sidecarMismatch(r flowRow, pods map[string]*podInfo) string {
	for _, e := range []struct {
		side string
		ep   endpoint
	}{{"caller", r.From}, {"destination", r.To}} {
		if e.ep.Namespace == "" {
			if e.ep.Sidecar {
				return fmt.Sprintf("%s: mesh-render says the %s %s, a host process, has a sidecar", r, e.side, e.ep.Workload)
			}
			continue
		}
		pi := pods[podKey(e.ep)]
		if pi == nil {
			continue
		}
		if got := hasSidecar(pi.pod); got != e.ep.Sidecar {
			return fmt.Sprintf("%s: mesh-render says the %s's sidecar is %v, the injected pod %s/%s says %v", r, e.side, e.ep.Sidecar, pi.pod.Namespace, pi.pod.Name, got)
		}
	}
	return ""
}

// pilotAgentPorts are served by the sidecar's own processes, not redirected to Envoy's inbound:
// pilot-agent's status port 15020, Envoy's health 15021 and Prometheus 15090 (istio-init excludes
// them always, tools/istio-iptables ALWAYS_EXCLUDED).
var pilotAgentPorts = map[uint32]bool{15020: true, 15021: true, 15090: true}

// bypassed says whether the injected pod's sidecar does not see a call to the row's port, and why:
// the port is excluded from inbound capture (istio-init's -d, or -b not capturing it, or the pod's
// excludeInboundPorts annotation), it is the sidecar's own, or the caller is the kubelet and the
// injector rewrote that port's probe or lifecycle hook to pilot-agent (ISTIO_KUBE_APP_PROBERS), which
// calls the app from inside the pod.
func bypassed(r flowRow, p *corev1.Pod) (string, bool) {
	if !hasSidecar(p) {
		return "the pod has no sidecar", true
	}
	port := fmt.Sprint(r.Port)
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name != "istio-init" {
			continue
		}
		for i := 0; i+1 < len(c.Args); i++ {
			list := strings.Split(c.Args[i+1], ",")
			switch c.Args[i] {
			case "-d":
				if slices.Contains(list, port) {
					return "istio-init excludes it (-d " + c.Args[i+1] + ")", true
				}
			case "-b":
				if c.Args[i+1] != "*" && !slices.Contains(list, port) {
					return "istio-init captures only " + c.Args[i+1] + " (-b)", true
				}
			}
		}
	}
	if ex := p.Annotations["traffic.sidecar.istio.io/excludeInboundPorts"]; slices.Contains(strings.Split(ex, ","), port) {
		return "excludeInboundPorts " + ex, true
	}
	if pilotAgentPorts[r.Port] {
		return "the sidecar's own port", true
	}
	if r.From.Namespace == "" && r.From.Workload == "kubelet" {
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			for _, e := range c.Env {
				if e.Name != "ISTIO_KUBE_APP_PROBERS" {
					continue
				}
				var probers map[string]struct {
					HTTPGet   *corev1.HTTPGetAction   `json:"httpGet"`
					TCPSocket *corev1.TCPSocketAction `json:"tcpSocket"`
					GRPC      *corev1.GRPCAction      `json:"grpc"`
				}
				if err := json.Unmarshal([]byte(e.Value), &probers); err != nil {
					return "ISTIO_KUBE_APP_PROBERS: " + err.Error(), false
				}
				names := make([]string, 0, len(probers))
				for n := range probers {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					pr := probers[n]
					if (pr.HTTPGet != nil && uint32(pr.HTTPGet.Port.IntVal) == r.Port) ||
						(pr.TCPSocket != nil && uint32(pr.TCPSocket.Port.IntVal) == r.Port) ||
						(pr.GRPC != nil && uint32(pr.GRPC.Port) == r.Port) {
						return "the injector rewrote the kubelet's " + n + " to pilot-agent (ISTIO_KUBE_APP_PROBERS), which calls port " + port + " inside the pod", true
					}
				}
			}
		}
	}
	return fmt.Sprintf("port %d is captured (istio-init -d, -b, excludeInboundPorts) and no probe or hook of the kubelet's is rewritten to pilot-agent for it", r.Port), false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

type request struct {
	principal string // "" for plaintext
	port      uint32
	path      string
}

// rbacVerdict runs the RBAC filters of the chain in order (network filters, then the HTTP
// connection manager's HTTP filters): the call passes when every enforcing filter lets it through.
// Envoy semantics (envoy/config/rbac/v3/rbac.proto): ALLOW lets through a request some policy matches,
// DENY refuses one some policy matches; shadow rules do not enforce.
func rbacVerdict(fc *listener.FilterChain, req request) (string, string, error) {
	var configs []*rbacpb.RBAC
	for _, f := range fc.Filters {
		switch f.Name {
		case "envoy.filters.network.rbac":
			c := &rbactcp.RBAC{}
			if err := f.GetTypedConfig().UnmarshalTo(c); err != nil {
				return "", "", err
			}
			if c.Rules != nil {
				configs = append(configs, c.Rules)
			}
		case "envoy.filters.network.http_connection_manager":
			h := &hcm.HttpConnectionManager{}
			if err := f.GetTypedConfig().UnmarshalTo(h); err != nil {
				return "", "", err
			}
			for _, hf := range h.HttpFilters {
				if hf.Name != "envoy.filters.http.rbac" {
					continue
				}
				c := &rbachttp.RBAC{}
				if err := hf.GetTypedConfig().UnmarshalTo(c); err != nil {
					return "", "", err
				}
				if c.Rules != nil {
					configs = append(configs, c.Rules)
				}
			}
		}
	}
	if len(configs) == 0 {
		return "allow", "no RBAC filter", nil
	}
	for _, c := range configs {
		names := make([]string, 0, len(c.Policies))
		for n := range c.Policies {
			names = append(names, n)
		}
		sort.Strings(names)
		matched := ""
		for _, n := range names {
			ok, err := policyMatches(c.Policies[n], req)
			if err != nil {
				return "", "", fmt.Errorf("policy %s: %v", n, err)
			}
			if ok {
				matched = n
				break
			}
		}
		switch c.Action {
		case rbacpb.RBAC_ALLOW:
			if matched == "" {
				return "deny", fmt.Sprintf("no policy of the ALLOW filter matches (%d policies)", len(names)), nil
			}
		case rbacpb.RBAC_DENY:
			if matched != "" {
				return "deny", "DENY policy " + matched + " matches", nil
			}
		default:
			return "", "", fmt.Errorf("RBAC action %v not evaluated", c.Action)
		}
	}
	return "allow", "every RBAC filter lets it through", nil
}

func policyMatches(p *rbacpb.Policy, req request) (bool, error) {
	if p.Condition != nil || p.CheckedCondition != nil {
		return false, fmt.Errorf("CEL conditions not evaluated")
	}
	perm := false
	for _, x := range p.Permissions {
		ok, err := permissionMatches(x, req)
		if err != nil {
			return false, err
		}
		if ok {
			perm = true
			break
		}
	}
	if !perm {
		return false, nil
	}
	for _, x := range p.Principals {
		ok, err := principalMatches(x, req)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func permissionMatches(p *rbacpb.Permission, req request) (bool, error) {
	switch r := p.Rule.(type) {
	case *rbacpb.Permission_Any:
		return r.Any, nil
	case *rbacpb.Permission_AndRules:
		for _, x := range r.AndRules.Rules {
			ok, err := permissionMatches(x, req)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *rbacpb.Permission_OrRules:
		for _, x := range r.OrRules.Rules {
			ok, err := permissionMatches(x, req)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *rbacpb.Permission_NotRule:
		ok, err := permissionMatches(r.NotRule, req)
		return !ok, err
	case *rbacpb.Permission_DestinationPort:
		return r.DestinationPort == req.port, nil
	case *rbacpb.Permission_DestinationPortRange:
		return int32(req.port) >= r.DestinationPortRange.Start && int32(req.port) < r.DestinationPortRange.End, nil
	case *rbacpb.Permission_UrlPath:
		m, ok := r.UrlPath.Rule.(*matcher.PathMatcher_Path)
		if !ok {
			return false, fmt.Errorf("path matcher %T not evaluated", r.UrlPath.Rule)
		}
		return stringMatches(m.Path, req.path)
	}
	return false, fmt.Errorf("permission %T not evaluated", p.Rule)
}

func principalMatches(p *rbacpb.Principal, req request) (bool, error) {
	switch r := p.Identifier.(type) {
	case *rbacpb.Principal_Any:
		return r.Any, nil
	case *rbacpb.Principal_AndIds:
		for _, x := range r.AndIds.Ids {
			ok, err := principalMatches(x, req)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *rbacpb.Principal_OrIds:
		for _, x := range r.OrIds.Ids {
			ok, err := principalMatches(x, req)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *rbacpb.Principal_NotId:
		ok, err := principalMatches(r.NotId, req)
		return !ok, err
	case *rbacpb.Principal_Authenticated_:
		if req.principal == "" {
			return false, nil // no client certificate: Envoy's authenticated matcher does not match
		}
		if r.Authenticated.PrincipalName == nil {
			return true, nil
		}
		return stringMatches(r.Authenticated.PrincipalName, req.principal)
	case *rbacpb.Principal_FilterState:
		if r.FilterState.Key != "io.istio.peer_principal" {
			return false, fmt.Errorf("filter state %s not evaluated", r.FilterState.Key)
		}
		sm, ok := r.FilterState.Matcher.(*matcher.FilterStateMatcher_StringMatch)
		if !ok {
			return false, fmt.Errorf("filter state matcher %T not evaluated", r.FilterState.Matcher)
		}
		if req.principal == "" {
			return false, nil
		}
		return stringMatches(sm.StringMatch, req.principal)
	}
	return false, fmt.Errorf("principal %T not evaluated", p.Identifier)
}

func stringMatches(m *matcher.StringMatcher, s string) (bool, error) {
	v := s
	if m.IgnoreCase {
		v = strings.ToLower(s)
	}
	lc := func(x string) string {
		if m.IgnoreCase {
			return strings.ToLower(x)
		}
		return x
	}
	switch p := m.MatchPattern.(type) {
	case *matcher.StringMatcher_Exact:
		return v == lc(p.Exact), nil
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(v, lc(p.Prefix)), nil
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(v, lc(p.Suffix)), nil
	case *matcher.StringMatcher_Contains:
		return strings.Contains(v, lc(p.Contains)), nil
	case *matcher.StringMatcher_SafeRegex:
		re, err := regexp.Compile("^(?:" + p.SafeRegex.Regex + ")$")
		if err != nil {
			return false, err
		}
		return re.MatchString(s), nil
	}
	return false, fmt.Errorf("string matcher %T not evaluated", m.MatchPattern)
}

// clientTransports returns the transports the caller's sidecar uses towards the row's destination
// pod and port for the row's call kind: a service call goes through each Service whose port targets
// it (the Service's outbound cluster), a pod-ip call by pod IP (a per-pod listener <ip>_<port> to
// its cluster, or else PassthroughCluster, plaintext). A caller without a sidecar (the kubelet, a
// host process, a pod without one) sends what its app sends: plaintext in the catalogue's terms.
// nil, the reason's class and the reason when a case is not understood.
func clientTransports(r flowRow, pods map[string]*podInfo, services []corev1.Service,
	config func(string) ([]*listener.Listener, map[string]*cluster.Cluster, *simulation.Simulation),
) ([]string, string, string) {
	from, to := pods[podKey(r.From)], pods[podKey(r.To)]
	switch {
	case r.From.Namespace == "":
		return []string{"plaintext"}, "", "a host process without a sidecar: plain text, or TLS that is not Istio's"
	case from == nil:
		return nil, "client-no-pod", "no pod " + podKey(r.From) + " in the oracle's world"
	case !hasSidecar(from.pod) && !isGateway(from.pod):
		return []string{"plaintext"}, "", "the caller's pod has no sidecar: plain text, or TLS that is not Istio's"
	case to == nil:
		return nil, "client-no-pod", "no pod " + podKey(r.To) + " in the oracle's world"
	}
	if r.Call != "service" && r.Call != "pod-ip" {
		return nil, "client-call", fmt.Sprintf("call kind %q from a pod not evaluated", r.Call)
	}
	// A gateway sends to the Services its routes name, through their clusters; it has no outbound
	// listener for a pod IP, so its calls are judged as Service calls.
	service := r.Call == "service" || isGateway(from.pod)
	listeners, clusters, sim := config(podKey(r.From))
	tlsMode := to.pod.Labels["security.istio.io/tlsMode"] == "istio"
	var out, why []string
	add := func(t, w string) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
		why = append(why, w)
	}
	for _, svc := range services {
		if !service {
			break
		}
		if svc.Namespace != to.pod.Namespace || len(svc.Spec.Selector) == 0 || !klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(to.pod.Labels)) {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if !targets(sp, to.pod, r.Port) {
				continue
			}
			name := fmt.Sprintf("outbound|%d||%s.%s.svc.cluster.local", sp.Port, svc.Name, svc.Namespace)
			c := clusters[name]
			if c == nil {
				return nil, "client-no-cluster", "no cluster " + name
			}
			t, err := clusterTransport(c, tlsMode)
			if err != nil {
				return nil, "client-error", err.Error()
			}
			add(t, fmt.Sprintf("Service %s/%s:%d -> %s", svc.Namespace, svc.Name, sp.Port, t))
		}
	}
	if isGateway(from.pod) {
		if len(out) == 0 {
			return nil, "client-gateway", "gateway " + podKey(r.From) + " calls through Services; none targets port " + fmt.Sprint(r.Port)
		}
		sort.Strings(out)
		return out, "", strings.Join(why, ", ")
	}
	if service {
		if len(out) == 0 {
			return nil, "client-no-service", "a service call, but no Service of " + r.To.Namespace + " selecting " + r.To.Workload + " targets port " + fmt.Sprint(r.Port)
		}
		sort.Strings(out)
		return out, "", strings.Join(why, ", ")
	}
	podListener := fmt.Sprintf("%s_%d", to.ip, r.Port)
	found := false
	for _, l := range listeners {
		if l.Name != podListener {
			continue
		}
		found = true
		for _, fc := range l.FilterChains {
			for _, f := range fc.Filters {
				if f.Name != "envoy.filters.network.tcp_proxy" {
					continue
				}
				tp := &tcpproxy.TcpProxy{}
				if err := f.GetTypedConfig().UnmarshalTo(tp); err != nil {
					return nil, "client-error", err.Error()
				}
				c := clusters[tp.GetCluster()]
				if c == nil {
					return nil, "client-no-cluster", "pod IP listener " + podListener + ": no cluster " + tp.GetCluster()
				}
				t, err := clusterTransport(c, tlsMode)
				if err != nil {
					return nil, "client-error", err.Error()
				}
				add(t, fmt.Sprintf("pod IP: listener %s -> %s -> %s", podListener, tp.GetCluster(), t))
			}
		}
	}
	if !found {
		// A 0.0.0.0_<port> listener (an HTTP Service port) routes by Host header, and a headless
		// Service's routes can send a pod-IP Host to its original-dst cluster (listener.go
		// buildSidecarOutboundListeners): not evaluated here, so the pod-IP path stays open.
		wildcard := fmt.Sprintf("0.0.0.0_%d", r.Port)
		for _, l := range listeners {
			if l.Name != wildcard {
				continue
			}
			// An HTTP Service port's listener: its routes pick the cluster by the Host header,
			// here the pod IP (Istio's traffic simulation over the caller's listeners and routes).
			path := r.Path
			if path == "" {
				path = "/"
			}
			host := fmt.Sprintf("%s:%d", to.ip, r.Port)
			res := sim.Run(simulation.Call{CallMode: simulation.CallModeOutbound, Address: to.ip, Port: int(r.Port), Path: path, Protocol: simulation.HTTP, HostHeader: host})
			if res.Error != nil || res.ListenerMatched != wildcard || res.ClusterMatched == "" {
				return nil, "client-wildcard-only", fmt.Sprintf("a pod-ip call to port %d: Istio's simulation of the caller's %s listener for Host %s gives listener %q, cluster %q, error %v", r.Port, wildcard, host, res.ListenerMatched, res.ClusterMatched, res.Error)
			}
			c := clusters[res.ClusterMatched]
			if c == nil {
				return nil, "client-no-cluster", "listener " + wildcard + ": no cluster " + res.ClusterMatched
			}
			t, err := clusterTransport(c, tlsMode)
			if err != nil {
				return nil, "client-error", err.Error()
			}
			add(t, fmt.Sprintf("pod IP: listener %s, virtual host %s for Host %s -> %s -> %s", wildcard, res.VirtualHostMatched, host, res.ClusterMatched, t))
			sort.Strings(out)
			return out, "", strings.Join(why, ", ")
		}
		add("plaintext", fmt.Sprintf("pod IP: no listener %s or %s, PassthroughCluster", podListener, wildcard))
	}
	sort.Strings(out)
	return out, "", strings.Join(why, ", ")
}

// targets says whether a Service port sends to the pod's port (targetPort by number, by container
// port name, or unset: the port itself).
func targets(sp corev1.ServicePort, pod *corev1.Pod, port uint32) bool {
	switch {
	case sp.TargetPort.IntVal != 0:
		return uint32(sp.TargetPort.IntVal) == port
	case sp.TargetPort.StrVal != "":
		for _, c := range append(append([]corev1.Container{}, pod.Spec.Containers...), pod.Spec.InitContainers...) {
			for _, cp := range c.Ports {
				if cp.Name == sp.TargetPort.StrVal {
					return uint32(cp.ContainerPort) == port
				}
			}
		}
		return false
	}
	return uint32(sp.Port) == port
}

// clusterTransport is what the cluster sends to an endpoint: Istio mTLS when its transport socket
// (or, with auto mTLS, the tlsMode-istio match for an endpoint labelled so) is TLS with Istio's
// workload certificate (SDS secret "default"); any other TLS is not Istio's, so plaintext in the
// catalogue's terms; no transport socket is plaintext.
func clusterTransport(c *cluster.Cluster, tlsMode bool) (string, error) {
	ts := c.TransportSocket
	if len(c.TransportSocketMatches) > 0 {
		ts = nil
		for _, m := range c.TransportSocketMatches {
			if m.Match == nil || len(m.Match.Fields) == 0 {
				if ts == nil {
					ts = m.TransportSocket
				}
				continue
			}
			if v := m.Match.Fields["tlsMode"]; v != nil && len(m.Match.Fields) == 1 {
				if tlsMode && v.GetStringValue() == "istio" {
					ts = m.TransportSocket
					break
				}
				continue
			}
			if _, ok := m.Match.Fields["tunnel"]; ok {
				continue // HBONE: ambient only
			}
			return "", fmt.Errorf("cluster %s: transport socket match %v not evaluated", c.Name, m.Match)
		}
	}
	return socketTransport(ts)
}

func socketTransport(ts *core.TransportSocket) (string, error) {
	if ts == nil || ts.Name != "envoy.transport_sockets.tls" {
		return "plaintext", nil
	}
	ctx := &tlsv3.UpstreamTlsContext{}
	if err := ts.GetTypedConfig().UnmarshalTo(ctx); err != nil {
		return "", err
	}
	for _, s := range ctx.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs() {
		if s.Name == "default" {
			return "mtls", nil
		}
	}
	return "plaintext", nil
}
