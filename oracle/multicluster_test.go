package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fleetDir is the render of the fleet golden `name` (golden/<name>/config.yaml: every cluster's
// tree under clusters/<name>/, charts expanded), which scripts/oracle.sh writes into
// target/oracle/fleets/ and `make oracle` passes as ORACLE_FLEETS before it runs these tests.
func fleetDir(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("ORACLE_FLEETS")
	if dir == "" {
		t.Skip("ORACLE_FLEETS is unset: `make oracle` renders the fleet goldens (scripts/oracle.sh) and runs these tests with them")
	}
	d := filepath.Join(dir, name)
	if _, err := os.Stat(filepath.Join(d, "clusters")); err != nil {
		t.Fatalf("ORACLE_FLEETS=%s has no fleet %s: %v", dir, name, err)
	}
	return d
}

// crossRow is a cross-cluster row as `mesh-render flows --format json` writes it: from_cluster and
// to_cluster, a via for a call through the destination cluster's east-west gateway or Knative's
// local gateway.
func crossRow(from, to string, dest string, port int, via map[string]any, verdict, transport string) map[string]any {
	ns, workload, _ := strings.Cut(dest, "/")
	r := map[string]any{
		"from":         map[string]any{"namespace": "demo", "workload": "pod", "sidecar": true},
		"to":           map[string]any{"namespace": ns, "workload": workload, "sidecar": true},
		"port":         port,
		"call":         "service",
		"purpose":      "pod -> " + dest + " of the other cluster",
		"need":         "needed",
		"verdict":      verdict,
		"transport":    transport,
		"from_cluster": from,
		"to_cluster":   to,
	}
	if via != nil {
		r["via"], r["via_call"] = via, "service"
	}
	return r
}

var (
	eastWestVia     = map[string]any{"namespace": "istio-system", "workload": "istio-eastwestgateway", "port": 15443}
	localGatewayVia = map[string]any{"namespace": "istio-system", "workload": "knative-local-gateway-istio", "port": 80}
)

// The two-network golden's cross-cluster rows: demo/pod calls the other cluster's demo/pod through
// that cluster's east-west gateway (one mTLS call end to end), and a Knative Service of the other
// cluster through its local gateway, which no endpoint reaches across networks (deny).
func twoNetworkRows() []map[string]any {
	return []map[string]any{
		crossRow("east", "west", "demo/pod", 8080, eastWestVia, "allow", "mtls"),
		crossRow("west", "east", "demo/pod", 8080, eastWestVia, "allow", "mtls"),
		crossRow("west", "east", "demo/revision", 8012, localGatewayVia, "deny", "plaintext"),
	}
}

// runFleet runs `oracle multicluster` on the fleet in dir, named name, with the rows.
func runFleet(t *testing.T, name, dir string, rows []map[string]any) (int, string) {
	t.Helper()
	return runOracle("multicluster", "--name", name, "--expected", "expected-disagreements.tsv", "--flows", writeFlows(t, rows), dir)
}

func wantAll(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
}

// Two networks: a client in east gets its own pod and west's east-west gateway (the Service's
// externalIPs, 172.18.0.3) on 15443, in Istio mTLS with the Service's SNI, which west's gateway
// passes through to west's pod; Knative's local gateway pods of the other network are dropped; the
// rows agree.
func TestMulticlusterTwoNetworks(t *testing.T) {
	dir := fleetDir(t, "fleet-two-networks")
	t.Setenv("ORACLE_DEBUG", "1")
	code, out := runFleet(t, "fleet-two-networks", dir, twoNetworkRows())
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantAll(t, out,
		"agree [cross-network] east's demo/pod (on net-east), cluster outbound|8080||pod.demo.svc.cluster.local (Service in east on net-east, west on net-west): Istio's EDS gives [10.0.0.11:8080 (tlsMode istio) 172.18.0.3:15443 (tlsMode istio)]",
		`agree [cross-network-mtls] east's demo/pod (on net-east), cluster outbound|8080||pod.demo.svc.cluster.local (Service in east on net-east, west on net-west): the tlsMode-istio transport socket is Istio mTLS with SNI "outbound_.8080_._.pod.demo.svc.cluster.local"`,
		`agree [east-west-passthrough] west's istio-system/istio-eastwestgateway on 15443 for SNI outbound_.8080_._.pod.demo.svc.cluster.local: Istio's simulation gives listener "0.0.0.0_15443", cluster "outbound_.8080_._.pod.demo.svc.cluster.local"`,
		"agree [east-west-passthrough] west's gateway istio-system/istio-eastwestgateway, cluster outbound_.8080_._.pod.demo.svc.cluster.local: Istio's EDS gives [10.1.0.11:8080 (tlsMode istio)]",
		"agree [cluster-local] east's demo/pod (on net-east), cluster outbound|80||knative-local-gateway-istio.istio-system.svc.cluster.local (gateway pods without tlsMode istio): Istio's EDS gives [10.0.0.10:80]",
		"agree east:demo/pod -> west:istio-system/istio-eastwestgateway:15443 -> west:demo/pod:8080 (pod -> demo/pod of the other cluster): allow (mtls): filter chain 0.0.0.0_8080 (mtls http call)",
		"agree west:demo/pod -> east:istio-system/knative-local-gateway-istio:80 -> east:demo/revision:8012 (pod -> demo/revision of the other cluster): deny (plaintext): the caller's EDS for outbound|80||knative-local-gateway-istio.istio-system.svc.cluster.local holds [10.1.0.10:80]",
		": 3 flows compared, 0 disagreements, 0 undecidable", " 0 endpoint disagreements")
}

// One network: the client gets the other cluster's pod directly, and only its own cluster's local
// gateway pods (the root namespace is cluster-local in the mesh config); a direct row agrees.
func TestMulticlusterOneNetwork(t *testing.T) {
	dir := fleetDir(t, "fleet-one-network")
	t.Setenv("ORACLE_DEBUG", "1")
	code, out := runFleet(t, "fleet-one-network", dir, []map[string]any{crossRow("east", "west", "demo/pod", 8080, nil, "allow", "mtls")})
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantAll(t, out,
		"agree [same-network] east's demo/pod (on flat), cluster outbound|8080||pod.demo.svc.cluster.local (Service in east on flat, west on flat): Istio's EDS gives [10.0.0.11:8080 (tlsMode istio) 10.1.0.11:8080 (tlsMode istio)]",
		"agree [cluster-local] east's demo/pod (on flat), cluster outbound|80||knative-local-gateway-istio.istio-system.svc.cluster.local (gateway pods without tlsMode istio): Istio's EDS gives [10.0.0.10:80]",
		"agree east:demo/pod -> west:demo/pod:8080", ": 1 flows compared, 0 disagreements")
}

// Planted in a copy of the rows: the local gateway row claimed as an allow, the east-west row
// claimed direct (no via), and claimed plaintext: each is a disagreement that names its rule.
func TestMulticlusterPlantedRows(t *testing.T) {
	dir := fleetDir(t, "fleet-two-networks")
	for _, tc := range []struct {
		name string
		edit func(rows []map[string]any)
		want string
	}{
		{"local gateway allowed across networks", func(rows []map[string]any) { rows[2]["verdict"] = "allow" },
			"DISAGREE west:demo/pod -> east:istio-system/knative-local-gateway-istio:80 -> east:demo/revision:8012 (pod -> demo/revision of the other cluster): mesh-render says allow (plaintext), but the call cannot leave for east: the caller's EDS for outbound|80||knative-local-gateway-istio.istio-system.svc.cluster.local holds [10.1.0.10:80]"},
		{"cross-network call claimed direct", func(rows []map[string]any) { delete(rows[0], "via"); delete(rows[0], "via_call") },
			"DISAGREE east:demo/pod -> west:demo/pod:8080 (pod -> demo/pod of the other cluster): mesh-render says the call goes to the pod, Istio's EDS sends it to west's east-west gateway"},
		{"east-west call claimed plaintext", func(rows []map[string]any) { rows[0]["transport"] = "plaintext" },
			"DISAGREE east:demo/pod -> west:istio-system/istio-eastwestgateway:15443 -> west:demo/pod:8080 (pod -> demo/pod of the other cluster): mesh-render says transport plaintext, the caller's Envoy config allows only [mtls]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := twoNetworkRows()
			tc.edit(rows)
			code, out := runFleet(t, "fleet-two-networks", dir, rows)
			if code != 1 || !strings.Contains(out, tc.want) || !strings.Contains(out, " 1 disagreements") {
				t.Fatalf("exit %d, want 1 and %q:\n%s", code, tc.want, out)
			}
		})
	}
}

// A fleet whose render is wrong in a copy: each is an endpoint disagreement that names its rule.
func TestMulticlusterPlantedFleets(t *testing.T) {
	src := fleetDir(t, "fleet-two-networks")
	for _, tc := range []struct {
		name, file, from, to string
		want                 []string
	}{
		{
			// west's gateway Service without an address: istiod finds no gateway for net-west and
			// sends east's client to west's pod IP, which another network cannot reach.
			"a gateway Service without an address", "clusters/west/expanded/istio-eastwestgateway/service-istio-eastwestgateway.yaml",
			"  externalIPs:\n  - \"172.18.0.3\"\n", "",
			[]string{"DISAGREE [cross-network] east's demo/pod (on net-east), cluster outbound|8080||pod.demo.svc.cluster.local (Service in east on net-east, west on net-west): Istio's EDS gives [10.0.0.11:8080 (tlsMode istio) 10.1.0.11:8080 (tlsMode istio)], want [10.0.0.11:8080 (tlsMode istio) <west's east-west gateway address>:15443 (tlsMode istio)]"},
		},
		{
			// west's cross-network Gateway passing another namespace's Services: its gateway has no
			// listener for demo's SNI (none at all: no Service it passes exists), which the check
			// of the gateway expects from those hosts, so the row through it that mesh-render allows
			// is refused.
			"a cross-network Gateway that leaves the app namespace out", "clusters/west/manifests/32-east-west.yaml",
			`- "*.demo.svc.cluster.local"`, `- "*.other.svc.cluster.local"`,
			[]string{
				"agree [east-west-closed] west's istio-system/istio-eastwestgateway on 15443 for SNI outbound_.8080_._.pod.demo.svc.cluster.local",
				"DISAGREE east:demo/pod -> west:istio-system/istio-eastwestgateway:15443 -> west:demo/pod:8080 (pod -> demo/pod of the other cluster): mesh-render says allow (mtls), but west's east-west gateway does not pass SNI outbound_.8080_._.pod.demo.svc.cluster.local to west:demo/pod",
				"error no listener matched (the Gateway passes [*.other.svc.cluster.local], not pod.demo.svc.cluster.local)",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, src)
			f := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.from) {
				t.Fatalf("%s has no %q:\n%s", tc.file, tc.from, b)
			}
			if err := os.WriteFile(f, []byte(strings.Replace(string(b), tc.from, tc.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("ORACLE_DEBUG", "1")
			code, out := runFleet(t, "fleet-two-networks", dir, twoNetworkRows())
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			wantAll(t, out, tc.want...)
		})
	}
}

// One network: the row that says a west pod cannot reach east's Knative Service through east's local
// gateway holds because mesh-render's mesh config keeps the root namespace cluster-local: west's
// client gets only west's local gateway pods. Without those settings (planted in a copy of west's
// istiod chart), Istio's EDS gives it east's gateway pod too, on the shared network, and the row is
// no longer a deny the oracle can confirm.
func TestMulticlusterClusterLocalKeepsKnativeInItsCluster(t *testing.T) {
	rows := []map[string]any{crossRow("west", "east", "demo/revision", 8012, localGatewayVia, "deny", "plaintext")}
	src := fleetDir(t, "fleet-one-network")
	t.Setenv("ORACLE_DEBUG", "1")
	code, out := runFleet(t, "fleet-one-network", src, rows)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantAll(t, out,
		"agree [cluster-local] west's demo/pod (on flat), cluster outbound|80||knative-local-gateway-istio.istio-system.svc.cluster.local (gateway pods without tlsMode istio): Istio's EDS gives [10.1.0.10:80]",
		"agree west:demo/pod -> east:istio-system/knative-local-gateway-istio:80 -> east:demo/revision:8012 (pod -> demo/revision of the other cluster): deny")

	dir := copyDir(t, src)
	f := filepath.Join(dir, "clusters/west/expanded/istiod/configmap-istio.yaml")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	settings := "    serviceSettings:\n    - hosts:\n      - '*.istio-system.svc.cluster.local'\n      - '*.knative-serving.svc.cluster.local'\n      settings:\n        clusterLocal: true\n"
	if !strings.Contains(string(b), settings) {
		t.Fatalf("%s has no cluster-local settings:\n%s", f, b)
	}
	if err := os.WriteFile(f, []byte(strings.Replace(string(b), settings, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out = runFleet(t, "fleet-one-network", dir, rows)
	wantAll(t, out,
		"agree [same-network] west's demo/pod (on flat), cluster outbound|80||knative-local-gateway-istio.istio-system.svc.cluster.local (gateway pods without tlsMode istio): Istio's EDS gives [10.0.0.10:80 10.1.0.10:80]",
		"undecidable[gateway] west:demo/pod -> east:istio-system/knative-local-gateway-istio:80")
}

// `oracle flows` on one cluster's tree judges its in-cluster rows and leaves the cross-cluster ones
// to `oracle multicluster`, counting them.
func TestFlowsLeavesCrossClusterRows(t *testing.T) {
	dir := filepath.Join(fleetDir(t, "fleet-two-networks"), "clusters", "east")
	rows := append(twoNetworkRows(), map[string]any{
		"from": map[string]any{"namespace": "demo", "workload": "pod", "sidecar": true},
		"to":   map[string]any{"namespace": "demo", "workload": "pod", "sidecar": true},
		"port": 8080, "call": "service", "purpose": "pod -> pod of its own namespace", "need": "needed", "verdict": "allow", "transport": "mtls",
	})
	code, out := runOracle("flows", "--name", "fleet-two-networks-cluster-east", "--flows", writeFlows(t, rows), dir)
	if code != 0 || !strings.Contains(out, ": 1 flows compared, 0 disagreements, 0 undecidable, 0 known disagreements, 0 stale, 3 cross-cluster rows left to oracle multicluster") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
