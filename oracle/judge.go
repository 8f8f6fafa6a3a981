package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"istio.io/istio/pilot/pkg/simulation"
	istiocluster "istio.io/istio/pkg/cluster"
)

// judge keeps the accounting of `oracle flows` and `oracle multicluster`: rows compared (agreeing,
// disagreeing, or a disagreement the expected list names) and undecidable ones by reason.
type judge struct {
	name          string
	exp           *expectations
	out           io.Writer
	compared      int
	disagreements int
	known         int
	undecidable   int
	reasons       map[string]int
}

func newJudge(name, expectedPath string, out io.Writer) (*judge, error) {
	exp, err := loadExpectations(expectedPath, name)
	if err != nil {
		return nil, err
	}
	return &judge{name: name, exp: exp, out: out, reasons: map[string]int{}}, nil
}

// disagree reports a disagreement of kind (verdict, transport, sidecar, bypass, ...) unless the
// expected list names it.
func (j *judge) disagree(kind string, r flowRow, msg string) {
	j.compared++
	if why := j.exp.match(kind, r.key()); why != "" {
		j.known++
		fmt.Fprintf(j.out, "%s: known DISAGREE %s (%s)\n", j.name, msg, why)
		return
	}
	j.disagreements++
	fmt.Fprintf(j.out, "%s: DISAGREE %s\n", j.name, msg)
}

func (j *judge) agree(r flowRow, verdict, why string) {
	j.compared++
	if os.Getenv("ORACLE_DEBUG") != "" {
		fmt.Fprintf(j.out, "%s: agree %s: %s (%s): %s\n", j.name, r, verdict, r.Transport, why)
	}
}

func (j *judge) undecided(r flowRow, reason, why string) {
	j.undecidable++
	j.reasons[reason]++
	fmt.Fprintf(j.out, "%s: undecidable[%s] %s: %s\n", j.name, reason, r, why)
}

// finish prints the undecidable rows by reason and the summary line (`oracle <cmd> <name>: N flows
// compared, ...`, extra appended), and returns the exit status.
func (j *judge) finish(cmd, extra string) int {
	stale := j.exp.stale(j.out, "disagreement")
	keys := make([]string, 0, len(j.reasons))
	for k := range j.reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	counts := make([]string, len(keys))
	for i, k := range keys {
		counts[i] = fmt.Sprintf("%s=%d", k, j.reasons[k])
	}
	fmt.Fprintf(j.out, "oracle %s %s undecidable by reason:%s\n", cmd, j.name, " "+strings.Join(counts, " "))
	fmt.Fprintf(j.out, "oracle %s %s: %d flows compared, %d disagreements, %d undecidable, %d known disagreements, %d stale%s\n",
		cmd, j.name, j.compared, j.disagreements, j.undecidable, j.known, stale, extra)
	if j.disagreements+stale > 0 {
		return 1
	}
	return 0
}

// rowEnv is what a row is judged against: the pods (by podKey), the Services of the destination's
// cluster, and the config generator's view of a pod as a destination (server) and as a caller
// (client), each by podKey.
type rowEnv struct {
	pods     map[string]*podInfo
	services []corev1.Service
	server   func(string) (*listener.Listener, *simulation.Simulation)
	client   func(string) ([]*listener.Listener, map[string]*cluster.Cluster, *simulation.Simulation)
}

// readRows reads the output of `mesh-render flows --format json`.
func readRows(path string) ([]flowRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []flowRow
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return rows, nil
}

func runFlows(t *tree, name, flowsPath, expectedPath string, stdout io.Writer) (int, error) {
	j, err := newJudge(name, expectedPath, stdout)
	if err != nil {
		return 0, err
	}
	rows, err := readRows(flowsPath)
	if err != nil {
		return 0, err
	}
	c, err := newFakeCluster(t, 0)
	if err != nil {
		return 0, err
	}
	f := &failer{}
	defer f.close()
	d := newIstiod(f, c, map[istiocluster.ID]string{c.id: c.kube})
	env := rowEnv{
		pods:     c.pods,
		services: c.services,
		server: func(key string) (*listener.Listener, *simulation.Simulation) {
			return virtualInbound(d.inbound(key, c.pods[key]))
		},
		client: func(key string) ([]*listener.Listener, map[string]*cluster.Cluster, *simulation.Simulation) {
			o := d.outbound(key, c.pods[key])
			return o.listeners, o.clusters, o.sim
		},
	}
	elsewhere := 0
	for _, r := range rows {
		if r.FromCluster != "" {
			elsewhere++ // a cross-cluster row: judged by `oracle multicluster` with both clusters
			continue
		}
		j.row(r, env)
	}
	extra := ""
	if elsewhere > 0 {
		extra = fmt.Sprintf(", %d cross-cluster rows left to oracle multicluster", elsewhere)
	}
	return j.finish("flows", extra), nil
}

// row judges one row: the sidecars of its ends, a bypass claim, a call through a gateway, or the
// calls Envoy sees (one, or two through a workload with a sidecar) from the server's inbound chain
// and RBAC and the caller's client transports.
func (j *judge) row(r flowRow, env rowEnv) {
	pods, services, server, client := env.pods, env.services, env.server, env.client
	// The sidecars are the injected pods', not the row's belief.
	if msg := sidecarMismatch(r, pods); msg != "" {
		j.disagree("sidecar", r, msg)
		return
	}
	if r.Transport == "bypass" && r.Via == nil {
		pi := pods[podKey(r.To)]
		if pi == nil {
			j.undecided(r, "no-pod", "no pod "+podKey(r.To)+" in the oracle's world")
			return
		}
		why, ok := bypassed(r, pi.pod)
		switch {
		case !ok:
			j.disagree("bypass", r, fmt.Sprintf("%s: mesh-render says the sidecar does not see it (bypass), the injected pod says it does: %s", r, why))
		case r.Verdict != "allow":
			j.disagree("verdict", r, fmt.Sprintf("%s: mesh-render says %s (bypass), but no sidecar sees the call: %s", r, r.Verdict, why))
		default:
			j.agree(r, "allow", why)
		}
		return
	}
	if r.Via != nil && pods[podKey(r.Via.endpoint())] != nil && isGateway(pods[podKey(r.Via.endpoint())].pod) {
		kind, msg, reason, why := throughGateway(r, pods, services, server, client)
		switch {
		case kind == "":
			j.undecided(r, reason, why)
		case msg == "":
			j.agree(r, r.Verdict, why)
		default:
			j.disagree(kind, r, msg)
		}
		return
	}
	hops, reason, why := hopsOf(r, pods)
	verdict, transportMsg, clientWhy, clientReason := "", "", "", ""
	if hops != nil {
		verdict = "allow"
		var whys []string
		for i, h := range hops {
			v, w, rs := decide(h, pods, services, server)
			if len(hops) > 1 {
				w = fmt.Sprintf("hop %d %s: %s", i+1, h.key(), w)
			}
			if v == "" {
				verdict, reason, whys = "", rs, []string{w}
				break
			}
			// The client side: the transports the caller can use for this destination (a call
			// through a Service, a call to the pod IP); the hop's must be one of them.
			ts, crs, cwhy := clientTransports(h, pods, services, client)
			hop := ""
			if len(hops) > 1 {
				hop = fmt.Sprintf(" (hop %d %s)", i+1, h.key())
			}
			switch {
			case ts == nil:
				if clientWhy == "" {
					clientReason, clientWhy = crs, "client side"+hop+" not checked: "+cwhy
				}
			case !slices.Contains(ts, h.Transport):
				transportMsg = fmt.Sprintf("%s: mesh-render says transport %s%s, the caller's Envoy config allows only %v: %s", r, h.Transport, hop, ts, cwhy)
			default:
				w += "; client: " + cwhy
			}
			if transportMsg != "" {
				break
			}
			whys = append(whys, w)
			if v != "allow" {
				verdict = v
				break
			}
		}
		why = strings.Join(whys, "; then ")
	}
	switch {
	case transportMsg != "":
		j.disagree("transport", r, transportMsg)
	case verdict == "":
		j.undecided(r, reason, why)
	case verdict != r.Verdict:
		j.disagree("verdict", r, fmt.Sprintf("%s: mesh-render says %s (%s), Envoy config says %s: %s", r, r.Verdict, r.Transport, verdict, why))
	case clientWhy != "":
		j.undecided(r, clientReason, "server agrees ("+verdict+": "+why+"); "+clientWhy)
	default:
		j.agree(r, verdict, why)
	}
}
