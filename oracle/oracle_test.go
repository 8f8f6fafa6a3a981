package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"istio.io/istio/pilot/pkg/simulation"
)

// The playground's committed render, relative to this package.
const playground = "../deployment/rendered"

// copyTree copies the playground tree into a temporary folder and adds one file of objects.
func copyTree(t *testing.T, extra string) string {
	t.Helper()
	dst := copyDir(t, playground)
	if extra != "" {
		if err := os.WriteFile(filepath.Join(dst, "manifests", "99-planted.yaml"), []byte(extra), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// copyDir copies a folder into a temporary one.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func runOracle(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String() + errb.String()
}

func TestPlaygroundHasOnlyExpectedFindings(t *testing.T) {
	code, out := runOracle("analyze", "--expected", "expected-findings.tsv", playground)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "expected Info IST0102 Namespace default") {
		t.Fatalf("the analyzers did not see the world's namespaces (runtime kinds not read?):\n%s", out)
	}
}

// A planted AuthorizationPolicy whose selector matches no pod and a route to a Service that does
// not exist are reported by Istio's analyzers (IST0127 auth.AuthorizationPoliciesAnalyzer, IST0101
// virtualservice.DestinationHostAnalyzer), and fail the run.
func TestPlantedFaultsAreReported(t *testing.T) {
	dir := copyTree(t, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: planted-no-workload, namespace: demo}
spec:
  selector: {matchLabels: {app: no-such-workload}}
  action: ALLOW
  rules: [{from: [{source: {namespaces: [demo]}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: planted-missing-service, namespace: demo}
spec:
  hosts: [x.example.com]
  http: [{route: [{destination: {host: no-such-service.demo.svc.cluster.local}}]}]
`)
	code, out := runOracle("analyze", "--name", "rendered", "--expected", "expected-findings.tsv", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		"UNEXPECTED Warning IST0127 AuthorizationPolicy demo/planted-no-workload",
		"UNEXPECTED Error IST0101 VirtualService demo/planted-missing-service",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// An expected finding that no longer occurs fails the run, so the list cannot go stale.
func TestStaleExpectationFails(t *testing.T) {
	f := filepath.Join(t.TempDir(), "expected.tsv")
	b, _ := os.ReadFile("expected-findings.tsv")
	b = append(b, []byte("rendered\tIST0127\tAuthorizationPolicy demo/gone\tplanted\n")...)
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runOracle("analyze", "--name", "rendered", "--expected", f, playground)
	if code != 1 || !strings.Contains(out, "STALE expected finding IST0127 AuthorizationPolicy demo/gone") {
		t.Fatalf("exit %d, want 1 with a STALE line:\n%s", code, out)
	}
}

// The playground's flows as `mesh-render flows --format json` prints them (the golden snapshot,
// kept current by crates/mesh-render/tests/golden.rs).
func playgroundFlows(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile("../golden/playground-flows.snap")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(s[strings.Index(s, "\n[")+1:]), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func writeFlows(t *testing.T, rows []map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(rows)
	f := filepath.Join(t.TempDir(), "flows.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPlaygroundFlowsAgree(t *testing.T) {
	code, out := runOracle("flows", "--name", "playground", "--expected", "expected-disagreements.tsv", "--flows", writeFlows(t, playgroundFlows(t)), playground)
	if code != 0 || !strings.Contains(out, " 0 disagreements") || strings.Contains(out, " 0 flows compared") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// planted changes the last playground row that match selects with edit, runs the oracle on that
// copy of the flows and wants exit 1 with want in its output.
func planted(t *testing.T, what string, match func(r map[string]any) bool, edit func(r map[string]any), want string) {
	t.Helper()
	rows := playgroundFlows(t)
	i := -1
	for j, r := range rows {
		if match(r) {
			i = j
		}
	}
	if i < 0 {
		t.Fatalf("no %s row in the playground's flows", what)
	}
	edit(rows[i])
	code, out := runOracle("flows", "--name", "playground", "--expected", "expected-disagreements.tsv", "--flows", writeFlows(t, rows), playground)
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, " 1 disagreements") {
		t.Fatalf("exit %d, want 1 and %q:\n%s", code, want, out)
	}
}

func endpoints(r map[string]any) (from, to map[string]any) {
	return r["from"].(map[string]any), r["to"].(map[string]any)
}

// One verdict flipped in a copy of the flows: the oracle names the row and exits 1. The row is a
// call Envoy refuses for lack of a matching ALLOW policy, so the RBAC evaluation is what decides.
func TestFlippedVerdictIsADisagreement(t *testing.T) {
	planted(t, "event-demo/pod -> demo/revision mTLS deny", func(r map[string]any) bool {
		from, to := endpoints(r)
		return from["namespace"] == "event-demo" && from["workload"] == "pod" && to["namespace"] == "demo" &&
			to["workload"] == "revision" && r["path"] == nil && r["via"] == nil && r["transport"] == "mtls" && r["verdict"] == "deny"
	}, func(r map[string]any) { r["verdict"] = "allow" },
		"DISAGREE event-demo/pod -> demo/revision:8012 (pod of another app namespace -> revision): mesh-render says allow (mtls), Envoy config says deny")
}

// A row through the activator is two calls Envoy sees: the caller's to the activator, decided by
// knative-serving's activator-callers policy, and the activator's to the revision. Flipped, the
// oracle names the first hop's RBAC decision.
func TestFlippedVerdictThroughTheActivator(t *testing.T) {
	planted(t, "event-demo/pod -> activator -> demo/revision deny", func(r map[string]any) bool {
		from, _ := endpoints(r)
		v, _ := r["via"].(map[string]any)
		return from["namespace"] == "event-demo" && v != nil && v["workload"] == "activator" && r["verdict"] == "deny"
	}, func(r map[string]any) { r["verdict"] = "allow" },
		"DISAGREE event-demo/pod -> knative-serving/activator:8012 -> demo/revision:8012 (pod of another app namespace -> activator -> revision): mesh-render says allow (mtls), Envoy config says deny: hop 1 event-demo/pod -> knative-serving/activator:8012")
}

// The client side: a pod-IP call to a port no Service targets leaves the caller's sidecar through
// PassthroughCluster in plaintext. The playground's drain-port row says so; claimed as mTLS in a copy
// of the flows, it is a transport disagreement.
func TestTransportDisagreement(t *testing.T) {
	planted(t, "plaintext event-demo/pod -> demo/revision:8022", func(r map[string]any) bool {
		from, to := endpoints(r)
		return from["namespace"] == "event-demo" && from["workload"] == "pod" && to["namespace"] == "demo" &&
			r["port"] == float64(8022) && r["transport"] == "plaintext"
	}, func(r map[string]any) { r["transport"] = "mtls" },
		"DISAGREE event-demo/pod -> demo/revision:8022 /wait-for-drain (pod of another app namespace -> queue-proxy drain): mesh-render says transport mtls, the caller's Envoy config allows only [plaintext]")
}

func injectedPods(t *testing.T) map[string]map[string]any {
	t.Helper()
	tr, err := readTree(playground)
	if err != nil {
		t.Fatal(err)
	}
	_, pods, err := injectedWorld(tr)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, p := range pods {
		out[p.GetNamespace()+"/"+p.GetName()] = p.Object
	}
	return out
}

func containerNames(pod map[string]any, field string) []string {
	var names []string
	l, _ := pod["spec"].(map[string]any)[field].([]any)
	for _, c := range l {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	return names
}

// The injector writes the revision as an annotation (and in sidecar.istio.io/status), never as a
// label; on kubelet 1.34 the proxy is a native sidecar (an init container), on 1.32 a container
// (pkg/kube/inject/webhook.go DetectNativeSidecar); gateway pods are left alone.
func TestInjectorOutput(t *testing.T) {
	pods := injectedPods(t)
	rev := pods["demo/revision"]
	meta := rev["metadata"].(map[string]any)
	if meta["annotations"].(map[string]any)["istio.io/rev"] != "default" {
		t.Errorf("no istio.io/rev annotation: %v", meta["annotations"])
	}
	if _, ok := meta["labels"].(map[string]any)["istio.io/rev"]; ok {
		t.Errorf("istio.io/rev is a label: %v", meta["labels"])
	}
	if got := containerNames(rev, "initContainers"); !slices.Contains(got, "istio-proxy") {
		t.Errorf("kubelet %s: istio-proxy not a native sidecar: init containers %v", nodeKubeletVersion, got)
	}
	if got := containerNames(pods["istio-system/knative-gateway-istio"], "initContainers"); len(got) != 0 {
		t.Errorf("gateway pod was injected: %v", got)
	}

	old := nodeKubeletVersion
	nodeKubeletVersion = "v1.32.0"
	defer func() { nodeKubeletVersion = old }()
	rev = injectedPods(t)["demo/revision"]
	if got := containerNames(rev, "containers"); !slices.Contains(got, "istio-proxy") {
		t.Errorf("kubelet 1.32: istio-proxy should be a plain container: containers %v", got)
	}
}

// The sidecar flags of a row are judged against the injected pods: a row that says the revision
// has no sidecar, when the injector gave it one, is a disagreement.
func TestSidecarFlagIsJudged(t *testing.T) {
	planted(t, "a row to demo/revision", func(r map[string]any) bool {
		_, to := endpoints(r)
		return to["namespace"] == "demo" && to["workload"] == "revision" && r["via"] == nil && to["sidecar"] == true
	}, func(r map[string]any) { r["to"].(map[string]any)["sidecar"] = false },
		"'s sidecar is false, the injected pod demo/revision says true")
}

// A row mesh-render marks bypass must be one the injected pod's sidecar does not see; a pod's call
// to queue-proxy's 8012 is captured, so claiming bypass is a disagreement.
func TestUnverifiedBypassIsADisagreement(t *testing.T) {
	planted(t, "event-demo/pod -> demo/revision:8012 direct", func(r map[string]any) bool {
		from, to := endpoints(r)
		return from["namespace"] == "event-demo" && from["workload"] == "pod" && to["namespace"] == "demo" &&
			to["workload"] == "revision" && r["port"] == float64(8012) && r["via"] == nil && r["path"] == nil
	}, func(r map[string]any) { r["transport"] = "bypass"; r["verdict"] = "allow" },
		"mesh-render says the sidecar does not see it (bypass), the injected pod says it does")
}

// The kubelet's preStop hook on 8022 and its probe on 8012 are rewritten to pilot-agent by the
// injector: bypass rows the oracle verifies (compared, not undecidable); the API server's webhook
// call is one-way TLS, judged as such.
func TestBypassAndWebhookRowsAreDecided(t *testing.T) {
	t.Setenv("ORACLE_DEBUG", "1")
	code, out := runOracle("flows", "--name", "playground", "--expected", "expected-disagreements.tsv", "--flows", writeFlows(t, playgroundFlows(t)), playground)
	for _, want := range []string{
		"agree /kubelet -> demo/revision:8022 /wait-for-drain (kubelet preStop hook -> queue-proxy drain): allow (bypass): the injector rewrote the kubelet's /app-lifecycle/user-container/prestopz",
		"agree /kubelet -> demo/revision:8012 (kubelet probe -> queue-proxy): allow (bypass): the injector rewrote the kubelet's /app-health/queue-proxy/readyz",
		"agree /kube-apiserver -> knative-serving/webhook:8443 (kube-apiserver -> admission webhook): allow (plaintext): filter chain",
		"(tls tcp call)",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("exit %d, want %q:\n%s", code, want, out)
		}
	}
}

func chain(name string, port uint32, transport string, alpn ...string) *listener.FilterChain {
	m := &listener.FilterChainMatch{TransportProtocol: transport, ApplicationProtocols: alpn}
	if port != 0 {
		m.DestinationPort = wrapperspb.UInt32(port)
	}
	return &listener.FilterChain{Name: name, FilterChainMatch: m}
}

// pickChain follows Envoy's FilterChainMatch order, one test per rule.
func TestPickChain(t *testing.T) {
	mtlsHTTP := call{port: 8080, address: "10.0.0.1", tls: simulation.MTLS, http: true}
	mtlsTCP := call{port: 8080, address: "10.0.0.1", tls: simulation.MTLS}
	plainHTTP := call{port: 8080, address: "10.0.0.1", tls: simulation.Plaintext, http: true}
	oneWay := call{port: 8443, address: "10.0.0.1", tls: simulation.TLS, http: true}
	cases := []struct {
		name   string
		chains []*listener.FilterChain
		def    *listener.FilterChain
		c      call
		inspec bool
		want   string // "" for no chain
	}{
		{"a chain naming the port prunes the port-less ones", []*listener.FilterChain{
			chain("catch-all", 0, "raw_buffer"), chain("port", 8080, "raw_buffer"),
		}, nil, plainHTTP, true, "port"},
		{"no chain names the port: the port-less ones stay", []*listener.FilterChain{
			chain("catch-all", 0, "raw_buffer"), chain("other", 9090, "raw_buffer"),
		}, nil, plainHTTP, true, "catch-all"},
		{"the longest destination prefix wins", []*listener.FilterChain{
			{Name: "wide", FilterChainMatch: &listener.FilterChainMatch{PrefixRanges: []*core.CidrRange{{AddressPrefix: "0.0.0.0", PrefixLen: wrapperspb.UInt32(0)}}}},
			{Name: "narrow", FilterChainMatch: &listener.FilterChainMatch{PrefixRanges: []*core.CidrRange{{AddressPrefix: "10.0.0.0", PrefixLen: wrapperspb.UInt32(8)}}}},
		}, nil, plainHTTP, true, "narrow"},
		{"server names set and unmatched: only the chains without server names stay", []*listener.FilterChain{
			{Name: "sni", FilterChainMatch: &listener.FilterChainMatch{ServerNames: []string{"example.com"}}},
			{Name: "any", FilterChainMatch: &listener.FilterChainMatch{}},
		}, nil, oneWay, true, "any"},
		{"transport protocol: mTLS takes the tls chain", []*listener.FilterChain{
			chain("plain", 8080, "raw_buffer"), chain("tls", 8080, "tls"),
		}, nil, mtlsHTTP, true, "tls"},
		{"transport protocol without the TLS inspector is raw_buffer", []*listener.FilterChain{
			chain("plain", 8080, "raw_buffer"), chain("tls", 8080, "tls"),
		}, nil, mtlsHTTP, false, "plain"},
		{"application protocols: a TCP mTLS call takes the TCP chain, not the HTTP one", []*listener.FilterChain{
			chain("http", 8080, "tls", "istio-http/1.0", "istio-http/1.1", "istio-h2"), chain("tcp", 8080, "tls", "istio-peer-exchange", "istio"),
		}, nil, mtlsTCP, true, "tcp"},
		{"application protocols: an HTTP mTLS call takes the HTTP chain", []*listener.FilterChain{
			chain("http", 8080, "tls", "istio-http/1.0", "istio-http/1.1", "istio-h2"), chain("tcp", 8080, "tls", "istio-peer-exchange", "istio"),
		}, nil, mtlsHTTP, true, "http"},
		{"one-way TLS: no istio ALPN, the tls chain without ALPN", []*listener.FilterChain{
			chain("mtls", 8443, "tls", "istio-peer-exchange", "istio"), chain("tls-passthrough", 8443, "tls"), chain("plain", 8443, "raw_buffer"),
		}, nil, oneWay, true, "tls-passthrough"},
		{"an mTLS call with no chain for it falls to the default chain", []*listener.FilterChain{
			chain("plain", 8080, "raw_buffer"),
		}, &listener.FilterChain{Name: "default"}, mtlsHTTP, true, "default"},
		{"an mTLS call with no chain and no default: none", []*listener.FilterChain{
			chain("plain", 8080, "raw_buffer"),
		}, nil, mtlsHTTP, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc, err := pickChain(&listener.Listener{FilterChains: tc.chains, DefaultFilterChain: tc.def}, tc.c, tc.inspec)
			got := ""
			if fc != nil {
				got = fc.Name
			}
			if got != tc.want || (tc.want == "" && !errors.Is(err, errNoChain)) {
				t.Fatalf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
	if _, err := pickChain(&listener.Listener{FilterChains: []*listener.FilterChain{chain("a", 8080, ""), chain("b", 8080, "")}}, plainHTTP, true); err == nil || errors.Is(err, errNoChain) {
		t.Fatalf("two equal chains: want an ambiguity error, got %v", err)
	}
}

// A gateway's call onwards is read from the gateway's own clusters (a router proxy): the external
// gateway reaches the revision's private Service in mTLS, so a row claiming plaintext disagrees.
func TestGatewayClientSideIsJudged(t *testing.T) {
	planted(t, "knative-gateway-istio -> demo/revision:8012", func(r map[string]any) bool {
		from, to := endpoints(r)
		return from["workload"] == "knative-gateway-istio" && to["namespace"] == "demo" && to["workload"] == "revision" &&
			r["port"] == float64(8012) && r["via"] == nil && r["transport"] == "mtls"
	}, func(r map[string]any) { r["transport"] = "plaintext" },
		"mesh-render says transport plaintext, the caller's Envoy config allows only [mtls]: Service demo/revision-private:80 -> mtls")
}

// The client transport follows the row's call kind: the autoscaler scrapes queue-proxy's metrics
// port 9090 by pod IP, which leaves its sidecar through PassthroughCluster in plaintext (STRICT
// refuses it), although the revision's Service port for 9090 would carry mTLS. Flipped to an mTLS
// allow in a copy of the flows, it is a transport disagreement.
func TestPodIPCallTransportIsJudgedByItsCallKind(t *testing.T) {
	planted(t, "pod-ip knative-serving/autoscaler -> demo/revision:9090", func(r map[string]any) bool {
		from, to := endpoints(r)
		return from["workload"] == "autoscaler" && to["namespace"] == "demo" && to["workload"] == "revision" &&
			r["port"] == float64(9090) && r["call"] == "pod-ip" && r["transport"] == "plaintext" && r["verdict"] == "deny"
	}, func(r map[string]any) { r["transport"], r["verdict"] = "mtls", "allow" },
		"DISAGREE knative-serving/autoscaler -> demo/revision:9090 /metrics (autoscaler -> queue-proxy metrics by pod IP (tried first in auto mode)): mesh-render says transport mtls, the caller's Envoy config allows only [plaintext]")
}
