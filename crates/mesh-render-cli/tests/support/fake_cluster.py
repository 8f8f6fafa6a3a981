"""A fake cluster behind fake `kubectl` and `helm`, for the plan and hook tests.

Unlike `fake-tool.sh` (canned lines), it keeps state in the JSON file $FAKE_CLUSTER and answers as
the upstream code it imitates answers; each behaviour names its source. Every call is appended to
$FAKE_LOG. Run as `fake_cluster.py kubectl ARGS…` or `fake_cluster.py helm ARGS…`.

What it models:
- istiod releases: `helm upgrade --install` of the istiod chart creates the Deployment
  `istiod[-<revision>]` and the revision's injector webhook configuration
  `istio-sidecar-injector[-<revision>]` with the chart's selectors (istio 1.29.6
  `manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml:45-46,67-161`);
  `helm uninstall` removes them.
- Admission: a pod is created through every mutating webhook configuration in name order, each
  webhook whose namespace and object selectors match (Kubernetes `MutatingWebhookConfiguration`
  semantics); a match injects the revision of the istiod its service names, and a later match
  re-injects (`pkg/kube/inject/inject.go:556-577`). A webhook whose istiod does not run fails the
  pod's creation (`failurePolicy: Fail`). What injection writes is not written here: the pod a
  revision's injector returns is Istio's own (`make oracle-fixtures`: the oracle sends the
  Deployment's pod, `../fixtures/fake-cluster-app.pod.yaml`, to each revision's injector of the
  canary path and writes `../fixtures/injected/revisions/<revision>.yaml`; `make oracle` fails when
  they differ from what the injector writes today). The Deployment's pod becomes that pod (labels,
  annotations, containers, rewritten probes); another pod (the verify step's `kubectl run
  --dry-run=server`) gets the parts that depend on the revision alone: the annotations `istio.io/rev`
  and `sidecar.istio.io/status` and the label `security.istio.io/tlsMode`.
- Workloads: one Deployment `app` per namespace of $FAKE_WORKLOAD_NAMESPACES, whose pod (the
  fixture's labels) exists from before the mesh (no sidecar); `kubectl rollout restart` recreates
  its pod through admission.
- Gateways: `Programmed` is `False` for a LoadBalancer Service without an address (istiod's gateway
  status, `pilot/pkg/config/kube/gateway/conversion.go:1917-1946`, reason `AddressNotAssigned`), unless
  $FAKE_LOADBALANCER is set.
- Server-side apply of ConfigMap data keys with their field managers: a manager's dropped keys are
  removed, another manager's keys conflict unless --force-conflicts (`apply_configmap`).
- Workloads that `rollout restart`/`rollout status` refuse (state["workload_specs"]): a paused
  Deployment, an `OnDelete` StatefulSet or DaemonSet (see `workload_object`); and a StatefulSet with
  `rollingUpdate.partition` N > 0, whose restart replaces only the pods of ordinal N and above and
  whose `rollout status` then succeeds.
- $FAKE_POD_DURING_UNINSTALL: a pod created while `helm uninstall` runs (see `helm`).
- Violations (a release uninstalled while a pod still runs its revision) go to state["violations"].

Several clusters, one per kube context (the fleet plans): kubectl's `--context NAME` and helm's
`--kube-context NAME` select the state state["contexts"][NAME], a cluster of its own with everything
above (a call without one uses the top-level state, the current context). $FAKE_CONTEXTS lists the
kubeconfig's contexts as `name=server` words: another context fails as client-go fails it
(`tools/clientcmd/validation.go`, "context was not found for specified context"), and
`kubectl config view --minify` prints the listed server. What runs in every context, each with its
upstream source at the code: cert-manager (a CA ClusterIssuer is Ready once its Secret holds a key
pair, a Certificate of a Ready issuer gets its Secret with the issuer's root as `ca.crt`), the token
controller (it fills in a service-account-token Secret), a LoadBalancer implementation in the contexts
of $FAKE_LOADBALANCER_CONTEXTS only (kind has none), the `gateway` chart (the east-west gateway: its
pods need istiod's injector, its Service carries the network label), Helm's ownership metadata (what
its charts create carries it, and a first install refuses an object of its chart without it,
`install_conflict`), and the call across clusters of `plan verify` (`cross_cluster_answers`: which
clusters' echo pods a sidecar reaches, from the remote secrets, the roots, the networks, the network
gateways istiod picks for another network's endpoints and the AUTO_PASSTHROUGH hosts of the Gateways
on them, matched as Istio's Name.SubsetOf matches them).

Not a cluster's answer but a record for the tests: what stdin was for each `kubectl … --filename -`
(a pipe or a file), in `stdin.log` beside the state (`Cluster::stdin_log`).
"""

import base64
import ipaddress
import json
import os
import re
import stat
import sys
import urllib.parse

import yaml

TOOL = sys.argv[1]
# Every argument, as logged; ARGS is without the kube context flag, which selects the cluster.
LOGGED = sys.argv[2:]


def without_context(args):
    """(the arguments without kubectl's `--context X` / helm's `--kube-context X`, the context)."""
    name = "--context" if TOOL == "kubectl" else "--kube-context"
    out, context, i = [], None, 0
    while i < len(args):
        a = args[i]
        if a == name and i + 1 < len(args):
            context = args[i + 1]
            i += 2
            continue
        if a.startswith(name + "="):
            context = a.split("=", 1)[1]
        else:
            out.append(a)
        i += 1
    return out, context


ARGS, CONTEXT = without_context(LOGGED)
STATE_FILE = os.environ["FAKE_CLUSTER"]
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
# The injected pods, one per revision (overridable so a test can take one away).
INJECTED = os.environ.get("FAKE_INJECTED") or os.path.join(FIXTURES, "injected", "revisions")


def app_pod():
    """The Deployment `app`'s pod before admission (what the oracle sent to the injectors)."""
    with open(os.path.join(FIXTURES, "fake-cluster-app.pod.yaml")) as f:
        return yaml.safe_load(f)


def injected_pod(revision):
    """The pod revision's injector returned for app_pod(), or None when there is no such fixture."""
    path = os.path.join(INJECTED, f"{revision}.yaml")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return yaml.safe_load(f)


def load():
    if os.path.exists(STATE_FILE):
        with open(STATE_FILE) as f:
            return json.load(f)
    return new_state()


def new_state():
    """A cluster before the mesh: the workload namespaces, each with its Deployment `app` and its pod
    without a sidecar, and cert-manager's namespace (cert-manager runs in every fake cluster)."""
    workload_namespaces = [n for n in os.environ.get("FAKE_WORKLOAD_NAMESPACES", "").split() if n]
    state = {
        "namespaces": {ns: {"labels": {}} for ns in workload_namespaces},
        "objects": {},
        "releases": {},
        "workloads": {ns: ["deployment.apps/app"] for ns in workload_namespaces},
        "pods": [],
        "violations": [],
        "serial": 0,
    }
    state["namespaces"].setdefault(CERT_MANAGER_NAMESPACE, {"labels": {}})
    # Pods created before anything of the mesh: no sidecar.
    before = app_pod()
    for ns in workload_namespaces:
        state["pods"].append({"namespace": ns, "name": "app-0", "owner": "deployment.apps/app", "labels": before["metadata"]["labels"],
                              "annotations": {}, "spec": before["spec"], "phase": "Running"})
    return state


def save(_state=None):
    """Writes every cluster's state (a handler passes the part it holds; the file holds them all)."""
    with open(STATE_FILE, "w") as f:
        json.dump(WHOLE, f, indent=1, sort_keys=True)


def log():
    with open(os.environ["FAKE_LOG"], "a") as f:
        f.write(" ".join([TOOL] + LOGGED) + "\n")


def kubeconfig():
    """The kubeconfig's contexts and their servers ($FAKE_CONTEXTS), or None when it is not set."""
    listed = os.environ.get("FAKE_CONTEXTS")
    if listed is None:
        return None
    return dict(word.split("=", 1) for word in listed.split())


def cluster_of(whole, context):
    """The state of the cluster behind kube context `context` (None: the current context's)."""
    if context is None:
        return whole
    contexts = whole.setdefault("contexts", {})
    if context not in contexts:
        contexts[context] = new_state()
        contexts[context]["loadbalancer"] = context in os.environ.get("FAKE_LOADBALANCER_CONTEXTS", "").split()
    return contexts[context]


def fail(message, code=1):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def flag(name, default=None):
    for i, a in enumerate(ARGS):
        if a == name and i + 1 < len(ARGS):
            return ARGS[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def key(kind, namespace, name):
    return f"{kind}/{namespace or ''}/{name}"


# cert-manager's cluster resource namespace, where a ClusterIssuer's Secret is read (cert-manager
# v1.19.1 `--cluster-resource-namespace`, default `cert-manager`, `cmd/controller/app/options`).
CERT_MANAGER_NAMESPACE = "cert-manager"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def unb64(data):
    return base64.b64decode(data or "").decode()


# --- label selectors (Kubernetes `LabelSelector` matchExpressions) ---------------------------------

def matches(selector, labels):
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        op, k, values = e["operator"], e["key"], e.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and k in labels and labels[k] in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


# --- istiod and injection ----------------------------------------------------------------------------

def expr(k, op, *values):
    e = {"key": k, "operator": op}
    if values:
        e["values"] = list(values)
    return e


NOT_OPTED_OUT = expr("sidecar.istio.io/inject", "NotIn", "false")


def webhook(revision, namespace, prefix, ns_sel, obj_sel):
    """One of the chart's injection webhooks, calling the istiod of `revision` in `namespace`."""
    service = "istiod" if revision == "default" else f"istiod-{revision}"
    return {"name": prefix + "sidecar-injector.istio.io",
            "clientConfig": {"service": {"name": service, "namespace": namespace, "path": "/inject", "port": 443}},
            "namespaceSelector": {"matchExpressions": ns_sel}, "objectSelector": {"matchExpressions": obj_sel}}


def injector_webhooks(revision, namespace, selects):
    """The chart's `rev.namespace.` and `rev.object.` webhooks calling the istiod of `revision` in
    `namespace`, for pods whose namespace or pod label `istio.io/rev` is `selects`: the revision's
    own injector (mutatingwebhook.yaml:45-161), or a tag's with the tag (revision-tags-mwc.yaml:16-24,
    whose `clientConfig.service.namespace` is the release's namespace)."""
    return [
        webhook(revision, namespace, "rev.namespace.", [expr("istio.io/rev", "In", selects), expr("istio-injection", "DoesNotExist")],
                [NOT_OPTED_OUT]),
        webhook(revision, namespace, "rev.object.", [expr("istio.io/rev", "DoesNotExist"), expr("istio-injection", "DoesNotExist")],
                [NOT_OPTED_OUT, expr("istio.io/rev", "In", selects)]),
    ]


def injector(revision, namespace):
    """The chart's injector webhook configuration of a revision (mutatingwebhook.yaml:45-161)."""
    name = "istio-sidecar-injector" + ("" if revision == "default" else f"-{revision}")
    webhooks = injector_webhooks(revision, namespace, revision)
    if revision == "default":
        webhooks.append(webhook(revision, namespace, "namespace.", [expr("istio-injection", "In", "enabled")], [NOT_OPTED_OUT]))
        webhooks.append(webhook(revision, namespace, "object.", [expr("istio-injection", "DoesNotExist"), expr("istio.io/rev", "DoesNotExist")],
                                [expr("sidecar.istio.io/inject", "In", "true"), expr("istio.io/rev", "DoesNotExist")]))
    return name, {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                  "metadata": {"name": name, "labels": {"istio.io/rev": revision}}, "webhooks": webhooks}


def revision_of_service(state, service, namespace):
    """The revision behind an injector service, or None when that istiod does not run."""
    deployment = state["objects"].get(key("Deployment", namespace, service))
    if deployment is None:
        return None
    return deployment["metadata"]["labels"]["istio.io/rev"]


def admit(state, namespace, pod):
    """Runs a new pod ({"metadata": {"labels"}, "spec"}) through the mutating webhooks; returns
    (the pod as stored, None) or (None, the API server's error)."""
    ns_labels = dict(state["namespaces"].get(namespace, {}).get("labels", {}))
    ns_labels["kubernetes.io/metadata.name"] = namespace
    meta = pod["metadata"]
    pod = {"metadata": {"labels": dict(meta.get("labels") or {}), "annotations": dict(meta.get("annotations") or {})},
           "spec": pod.get("spec")}
    the_app = pod["metadata"]["labels"] == app_pod()["metadata"]["labels"]
    webhooks = sorted((k, o) for k, o in state["objects"].items() if o["kind"] == "MutatingWebhookConfiguration")
    for _, mwc in webhooks:
        for wh in mwc.get("webhooks", []):
            if not (matches(wh.get("namespaceSelector"), ns_labels) and matches(wh.get("objectSelector"), pod["metadata"]["labels"])):
                continue
            svc = wh["clientConfig"]["service"]
            revision = revision_of_service(state, svc["name"], svc["namespace"])
            if revision is None:
                return None, f'Internal error occurred: failed calling webhook "{wh["name"]}": service "{svc["name"]}" not found'
            injected = injected_pod(revision)
            if injected is None:
                fail(f"fake cluster: no pod of revision {revision}'s injector in {INJECTED}: run `make oracle-fixtures`", 3)
            im = injected["metadata"]
            if the_app:
                pod = {"metadata": {"labels": im["labels"], "annotations": im["annotations"]}, "spec": injected["spec"]}
            else:
                for a in ("istio.io/rev", "sidecar.istio.io/status"):
                    pod["metadata"]["annotations"][a] = im["annotations"][a]
                pod["metadata"]["labels"]["security.istio.io/tlsMode"] = im["labels"]["security.istio.io/tlsMode"]
    return pod, None


def create_pod(state, namespace, owner):
    state["serial"] += 1
    admitted, error = admit(state, namespace, app_pod())
    if error:
        return error
    state["pods"].append({"namespace": namespace, "name": f"app-{state['serial']}", "owner": owner, "labels": admitted["metadata"]["labels"],
                          "annotations": admitted["metadata"]["annotations"], "spec": admitted["spec"], "phase": "Running"})
    return None


# --- the controllers of a cluster, which act between two calls ---------------------------------------

def secret(state, namespace, name):
    return state["objects"].get(key("Secret", namespace, name))


def issuer_status(state, kind, name, namespace):
    """(Ready, the certificate it signs with as base64, message) of a cert-manager issuer."""
    o = state["objects"].get(key(kind, None if kind == "ClusterIssuer" else namespace, name))
    if o is None:
        return False, None, f'{kind} "{name}" not found'
    ca = (o.get("spec") or {}).get("ca")
    if ca is None:
        # An issuer of another type (Vault, ...) is as its own controller left it: a test sets its
        # status and the root it signs with (`fakeRoot`, base64).
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in (o.get("status") or {}).get("conditions") or [])
        return ready, o.get("fakeRoot"), "as its controller set it"
    # A `ca` issuer is Ready once its Secret, in the cluster resource namespace for a ClusterIssuer,
    # holds a certificate and its key (cert-manager v1.19.1 `pkg/issuer/ca/setup.go:43-80`; the fake
    # takes any certificate for a CA).
    ns = CERT_MANAGER_NAMESPACE if kind == "ClusterIssuer" else namespace
    data = (secret(state, ns, ca["secretName"]) or {}).get("data") or {}
    if not data.get("tls.crt") or not data.get("tls.key"):
        return False, None, f'Error getting keypair for CA issuer: secrets "{ca["secretName"]}" not found'
    return True, data["tls.crt"], "Signing CA verified"


def reconcile(state, context):
    """What the cluster's controllers have done by the time the next call reaches the API server."""
    for o in list(state["objects"].values()):
        kind = o.get("kind")
        meta = o.get("metadata") or {}
        if kind == "Certificate":
            # cert-manager issues a Certificate of a Ready issuer into its Secret (`kubernetes.io/tls`:
            # `tls.crt`, `tls.key`, and `ca.crt`, the root of the issuer's chain, for a `ca` issuer its
            # own certificate: v1.19.1 `pkg/controller/certificaterequests/ca/ca.go:75-133`,
            # `pkg/controller/certificates/issuing/internal/secret.go:149-153`), then sets Ready. It
            # issues once: a changed root is not noticed until the Certificate is issued again.
            ns, spec = meta.get("namespace"), o.get("spec") or {}
            ref = spec.get("issuerRef") or {}
            ready, ca, message = issuer_status(state, ref.get("kind", "Issuer"), ref.get("name"), ns)
            name = spec.get("secretName")
            if ready and secret(state, ns, name) is None:
                state["objects"][key("Secret", ns, name)] = {
                    "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": name, "namespace": ns, "annotations": {"cert-manager.io/certificate-name": meta["name"]}},
                    "data": {"tls.crt": b64(f"intermediate CA {spec.get('commonName')}, signed by: {unb64(ca)}"),
                             "tls.key": b64(f"key of the intermediate CA {spec.get('commonName')}"), "ca.crt": ca}}
            issued = secret(state, ns, name) is not None
            o["status"] = {"conditions": [{"type": "Ready", "status": "True" if issued else "False",
                                           "reason": "Ready" if issued else "IssuerNotReady", "message": message}]}
        elif kind == "Secret" and o.get("type") == "kubernetes.io/service-account-token":
            # The token controller fills in a service-account-token Secret of an existing
            # ServiceAccount: `token`, `ca.crt` (the cluster's CA) and `namespace` (Kubernetes,
            # "Manually create an API token for a ServiceAccount", which istioctl follows,
            # istio 1.29.6 `istioctl/pkg/multicluster/remote_secret.go:321-332`).
            ns = meta.get("namespace")
            account = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name")
            if account and key("ServiceAccount", ns, account) in state["objects"] and not (o.get("data") or {}).get("token"):
                state["serial"] += 1
                o["data"] = {"token": b64(f"fake-token.{context or 'current'}.{state['serial']}"),
                             "ca.crt": b64(f"the cluster CA of context {context or 'current'}"), "namespace": b64(ns)}
        elif kind == "Service" and (o.get("spec") or {}).get("type") == "LoadBalancer" and state.get("loadbalancer"):
            # A LoadBalancer implementation (a cloud's, MetalLB, cloud-provider-kind) writes the address
            # into `status.loadBalancer.ingress`; the contexts of $FAKE_LOADBALANCER_CONTEXTS have one,
            # the others (kind) none, so their Service never gets an address.
            if not ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                state["serial"] += 1
                o["status"] = {"loadBalancer": {"ingress": [{"ip": f"203.0.113.{state['serial'] % 250 + 1}"}]}}


def nodes(state):
    """The cluster's nodes: one, as kind's, whose kubelet runs without a cloud provider and so reports
    an InternalIP and a Hostname, no ExternalIP (kubernetes v1.34 `pkg/kubelet/nodestatus/setters.go`,
    NodeAddress); a test may set others (state["nodes"])."""
    return state.setdefault("nodes", [{"metadata": {"name": "node-0", "labels": {"kubernetes.io/hostname": "node-0"}},
                                       "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                                                {"type": "Hostname", "address": "node-0"}]}}])


def service_address(o, state=None):
    """What istiod takes as a network gateway Service's address: the LoadBalancer's ingress or
    `spec.externalIPs` (istio 1.29.6 `pilot/pkg/serviceregistry/kube/conversion.go:131-152,160-165`);
    for a NodePort Service with `traffic.istio.io/nodeSelector` (`:119-130`), the ExternalIP of each
    node whose labels hold the selector's (`controller/network.go:459-485`, labels.Instance.SubsetOf: `{}`
    selects every node, as does a value that is not JSON, `controller/util.go:138-148`); a node without
    an ExternalIP is not kept at all (`controller/controller.go:565-576`)."""
    spec = o.get("spec") or {}
    annotations = o["metadata"].get("annotations") or {}
    if spec.get("type") == "NodePort" and "traffic.istio.io/nodeSelector" in annotations:
        try:
            selector = json.loads(annotations["traffic.istio.io/nodeSelector"]) or {}
        except ValueError:
            selector = {}
        out = []
        for n in nodes(state or {}):
            labels = n["metadata"].get("labels") or {}
            external = [a["address"] for a in n["status"].get("addresses") or [] if a.get("type") == "ExternalIP" and a.get("address")]
            if external and all(labels.get(k) == v for k, v in selector.items()):
                out.append(external[0])
        return out
    ingress = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addresses = [i.get("ip") or i.get("hostname") for i in ingress] + list((o.get("spec") or {}).get("externalIPs") or [])
    return [a for a in addresses if a]


# --- the call across clusters of `plan verify` ---------------------------------------------------------

ROOT_NAMESPACE = "istio-system"


def cluster_name(state, namespace, service):
    """The name the echo Deployment `service` of a cluster answers with (its `-text=` argument)."""
    d = state["objects"].get(key("Deployment", namespace, service))
    if d is None:
        return None
    for c in d["spec"]["template"]["spec"]["containers"]:
        for a in c.get("args") or []:
            if a.startswith("-text="):
                return a[len("-text="):]
    return None


def network_of(state):
    """The cluster's network: the label istiod reads on its root namespace (istio 1.29.6
    `pilot/pkg/serviceregistry/kube/controller/network.go:94-101`)."""
    return (state["namespaces"].get(ROOT_NAMESPACE) or {}).get("labels", {}).get("topology.istio.io/network", "")


def root_of(state):
    """The root the cluster's workload certificates chain to: the one its istiod signs under."""
    istiod = [o for o in state["objects"].values() if o.get("kind") == "Deployment" and o["metadata"]["name"].startswith("istiod")]
    return istiod[0].get("caRoot") if istiod else None


def remote_secret_reaches(state, name, other):
    """Whether the remote secret of cluster `name` in `state` lets istiod there watch `other`:
    istiod reads Secrets labelled istio/multiCluster: "true" in its namespace (istio 1.29.6
    `pkg/kube/multicluster/secretcontroller.go:43,134-137`), each key a cluster ID and its value a
    kubeconfig; the API server must be reachable from the pods (not a loopback address) and the token
    the other cluster's reader token (what its API server accepts)."""
    o = secret(state, ROOT_NAMESPACE, f"istio-remote-secret-{name}")
    if o is None or (o["metadata"].get("labels") or {}).get("istio/multiCluster") != "true":
        return False
    config = yaml.safe_load(unb64((o.get("data") or {}).get(name)) or "null") or {}
    servers = [c["cluster"]["server"] for c in config.get("clusters") or []]
    tokens = [u["user"].get("token") for u in config.get("users") or []]
    reader = secret(other, ROOT_NAMESPACE, "istio-reader-service-account-istio-remote-secret-token") or {}
    token = unb64((reader.get("data") or {}).get("token"))
    return bool(servers) and not any(loopback(s) for s in servers) and bool(token) and token in tokens


def loopback(server):
    """Whether the URL's host is the caller's own: 127.0.0.0/8 (RFC 1122 3.2.1.3), ::1 (RFC 4291 2.5.3),
    localhost and the names below it (RFC 6761 6.3), the unspecified 0.0.0.0 and :: (Linux connects them to
    the local host)."""
    host = urllib.parse.urlsplit(server).hostname or ""
    try:
        address = ipaddress.ip_address(host)
        return address.is_loopback or address.is_unspecified or (address.version == 6 and bool(address.ipv4_mapped) and address.ipv4_mapped.is_loopback)
    except ValueError:
        return host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost")


def cluster_names(whole, namespace, service):
    """Each cluster's state by the name it is known by here: the name its echo Deployment `service`
    answers with (the plan gives each its cluster's name)."""
    out = {}
    for state in (whole.get("contexts") or {}).values():
        name = cluster_name(state, namespace, service)
        if name:
            out[name] = state
    return out


def watches(state, name, other):
    """Whether istiod of `state` reads cluster `other` (named `name`): its own cluster, or one of its
    remote secrets reaches it."""
    return other is state or remote_secret_reaches(state, name, other)


def host_subset_of(n, o):
    """Whether hostname `n` is covered by `o` (istio 1.29.6 `pkg/config/host/name.go:64-87`,
    Name.SubsetOf): `*.ns.svc.cluster.local` covers `svc.ns.svc.cluster.local` and
    `*.a.ns.svc.cluster.local`, not `svc.other.svc.cluster.local`; `*` covers every name."""
    if n.startswith("*"):
        return o.startswith("*") and len(n) >= len(o) and n[1:].endswith(o[1:])
    if o.startswith("*"):
        return n.endswith(o[1:])
    return n == o


def network_gateways(state, network):
    """The network gateways of `network` in a cluster, as istiod reads them from its Services: in the
    root namespace, labelled topology.istio.io/network with the network, serving 15443 (istio 1.29.6
    `controller/network.go:314-352`), with an address (`service_address`)."""
    out = []
    for o in state["objects"].values():
        if o.get("kind") != "Service" or o["metadata"].get("namespace") != ROOT_NAMESPACE:
            continue
        if (o["metadata"].get("labels") or {}).get("topology.istio.io/network") != network or not service_address(o, state):
            continue
        if 15443 in [p.get("port") for p in (o.get("spec") or {}).get("ports") or []]:
            out.append(o)
    return out


def passes_through(state, gateway, hostname):
    """Whether the running pods of the network gateway Service `gateway` pass mTLS for `hostname`
    through on 15443: an Istio Gateway of the cluster (istiod reads Istio config from its own cluster;
    any namespace, PILOT_SCOPE_GATEWAY_TO_NAMESPACE being off by default, istio 1.29.6
    `pilot/pkg/model/push_context.go:2415-2419`) whose selector the pods' labels include (no selector:
    every gateway, :2437-2445), with a server on 15443 in TLS AUTO_PASSTHROUGH. Its filter chains are
    built only for the Services whose hostname one of the server's hosts covers
    (`pilot/pkg/networking/core/gateway.go:957-980`, Name.SubsetOf; a host's `namespace/` prefix
    aside): the SNI of another Service matches no chain, and the call is refused."""
    selector = (gateway.get("spec") or {}).get("selector") or {}
    pods = [p for p in state["pods"] if p["namespace"] == gateway["metadata"]["namespace"] and p["phase"] == "Running"
            and all(p["labels"].get(k) == v for k, v in selector.items())]
    for g in state["objects"].values():
        if g.get("kind") != "Gateway" or not g.get("apiVersion", "").startswith("networking.istio.io"):
            continue
        wanted = (g.get("spec") or {}).get("selector") or {}
        if not any(all(p["labels"].get(k) == v for k, v in wanted.items()) for p in pods):
            continue
        for srv in (g.get("spec") or {}).get("servers") or []:
            if srv.get("port", {}).get("number") != 15443 or (srv.get("tls") or {}).get("mode") != "AUTO_PASSTHROUGH":
                continue
            if any(host_subset_of(hostname, h.split("/", 1)[-1]) for h in srv.get("hosts") or []):
                return True
    return False


def reaches_across_networks(whole, state, name, other, namespace, service):
    """Whether a sidecar of `state` reaches the echo pods of cluster `other` (named `name`) on another
    network. istiod gives it, for those endpoints, the network gateways of their network and cluster,
    else of their network from any cluster (istio 1.29.6 `pilot/pkg/xds/endpoints/ep_filters.go:281-287`),
    as it knows them from the Services of the clusters it watches; with none, the pod IPs, which
    another network cannot reach. The call through a gateway of cluster G gets there when G's gateway
    passes the Service's hostname through and G's istiod knows those endpoints (G is `other`, or it
    watches it)."""
    network = network_of(other)
    hostname = f"{service}.{namespace}.svc.cluster.local"
    known = [(n, c, gw) for n, c in cluster_names(whole, namespace, service).items() if watches(state, n, c)
             for gw in network_gateways(c, network)]
    chosen = [k for k in known if k[1] is other] or known
    return any(watches(c, name, other) and passes_through(c, gw, hostname) for _, c, gw in chosen)


def echo_accepts_mtls(state, namespace, service):
    """Whether the echo's pods have a sidecar (the pod its template makes, through admission): across
    networks istiod hands out only endpoints that accept mTLS (istio 1.29.6
    `pilot/pkg/xds/endpoints/ep_filters.go:155-162`)."""
    d = state["objects"].get(key("Deployment", namespace, service)) or {}
    template = ((d.get("spec") or {}).get("template") or {}).get("metadata") or {}
    admitted, error = admit(state, namespace, {"metadata": {"labels": template.get("labels") or {}}})
    return error is None and "sidecar.istio.io/status" in admitted["metadata"]["annotations"]


def cross_cluster_answers(whole, state, namespace, client, service):
    """The clusters whose echo pods the client pod `client` reaches through `service` (a sidecar
    load-balances over every endpoint istiod knows): its own cluster's, and another cluster's when
    the client has a sidecar, its istiod watches that cluster (its remote secret), both clusters
    chain to the same root (mTLS), and the other cluster is on the same network or is reached through
    a network gateway (`reaches_across_networks`) with a sidecar on its echo pods."""
    pod = next((p for p in state["pods"] if p["namespace"] == namespace and p["name"] == client), None)
    if pod is None or key("Service", namespace, service) not in state["objects"]:
        return []
    out = []
    own = cluster_name(state, namespace, service)
    if own:
        out.append(own)
    if not pod["annotations"].get("sidecar.istio.io/status") or not any(o.get("kind") == "Deployment" and o["metadata"]["name"].startswith("istiod")
                                                                     for o in state["objects"].values()):
        return out
    for name, other in cluster_names(whole, namespace, service).items():
        if other is state or not remote_secret_reaches(state, name, other):
            continue
        if root_of(state) is None or root_of(state) != root_of(other):
            continue
        if network_of(other) != network_of(state) and not (reaches_across_networks(whole, state, name, other, namespace, service)
                                                           and echo_accepts_mtls(other, namespace, service)):
            continue
        out.append(name)
    return out


# --- kubectl's jsonpath (the subset the scripts use) ---------------------------------------------

def lookup(obj, path):
    parts = re.findall(r"(?:\\.|\[[^\]]*\]|[^.\\\[])+", path.lstrip("."))
    for p in parts:
        p = p.replace("\\.", ".")
        m = re.fullmatch(r"(\w+)\[\?\(@\.(\w+)==\"([^\"]*)\"\)\]", p)
        index = re.fullmatch(r"(\w+)\[(\d+)\]", p)
        if index:
            items = obj.get(index.group(1)) or [] if isinstance(obj, dict) else []
            obj = items[int(index.group(2))] if int(index.group(2)) < len(items) else None
        elif m:
            items = obj.get(m.group(1)) or [] if isinstance(obj, dict) else []
            obj = next((i for i in items if i.get(m.group(2)) == m.group(3)), None)
        elif isinstance(obj, dict):
            obj = obj.get(p)
        else:
            obj = None
        if obj is None:
            return ""
    # A map, list or struct prints as compact JSON (json.Marshal: sorted keys), a scalar as text
    # (kubernetes/client-go v0.34.0 `util/jsonpath/jsonpath.go:160-181`).
    if isinstance(obj, str):
        return obj
    if isinstance(obj, bool):
        return "true" if obj else "false"
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def jsonpath(template, obj):
    tokens = re.findall(r"\{(?:\"(?:[^\"\\]|\\.)*\"|[^}])*\}|[^{]+", template)

    def run(tokens, obj):
        out = []
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t.startswith("{range "):
                path = t[7:-1].strip()
                depth, j = 1, i + 1
                while depth:
                    depth += tokens[j].startswith("{range ") - (tokens[j] == "{end}")
                    j += 1
                items = obj.get(path.lstrip(".").replace("[*]", ""), []) if isinstance(obj, dict) else []
                for item in items:
                    out.append(run(tokens[i + 1:j - 1], item))
                i = j
                continue
            if t.startswith("{\""):
                out.append(json.loads(t[1:-1]))
            elif t.startswith("{"):
                out.append(lookup(obj, t[1:-1]))
            else:
                out.append(t)
            i += 1
        return "".join(out)

    return run(tokens, obj)


# --- objects ------------------------------------------------------------------------------------------

# The controller that owns a workload's pods (kubernetes v1.34 pkg/controller: a Deployment's pods
# belong to its ReplicaSet, `deployment/util`; a StatefulSet's and a DaemonSet's to themselves; a
# Job's to the Job); a pod without an owner has no ownerReferences.
OWNER_KINDS = {"deployment.apps": "ReplicaSet", "statefulset.apps": "StatefulSet", "daemonset.apps": "DaemonSet", "job.batch": "Job",
               "replicaset.apps": "ReplicaSet"}


def replica_set(deployment):
    # The ReplicaSet a Deployment creates: `<deployment>-<pod-template-hash>` (kubernetes v1.34
    # `pkg/controller/deployment/sync.go`); one fixed hash stands for it here.
    return f"{deployment}-6d4cf56db6"


def replica_sets(state, namespace):
    """The ReplicaSets of `namespace`: one per Deployment workload, owned by it, and the bare ones
    the pods name (`replicaset.apps/<name>` owners), without an owner."""
    out = {}
    for w in state["workloads"].get(namespace, []):
        kind, name = w.split("/", 1)
        if kind == "deployment.apps":
            out[replica_set(name)] = {"metadata": {"name": replica_set(name), "ownerReferences": [{"kind": "Deployment", "name": name}]}}
    for p in state["pods"]:
        if p["namespace"] != namespace or not p.get("owner"):
            continue
        kind, name = p["owner"].split("/", 1)
        if kind == "deployment.apps":
            out.setdefault(replica_set(name), {"metadata": {"name": replica_set(name), "ownerReferences": [{"kind": "Deployment", "name": name}]}})
        elif kind == "replicaset.apps":
            out.setdefault(name, {"metadata": {"name": name}})
    return [out[k] for k in sorted(out)]


WORKLOAD_KINDS = {"deployment.apps": "Deployment", "statefulset.apps": "StatefulSet", "daemonset.apps": "DaemonSet"}


def workload_object(state, namespace, workload):
    """A workload as the API server returns it: `spec.paused` of a Deployment as set in
    state["workload_specs"]["<namespace>/<workload>"], and a StatefulSet's or DaemonSet's
    `updateStrategy.type` as set there, else the API server's default RollingUpdate (kubernetes v1.34
    `pkg/apis/apps/v1/defaults.go`)."""
    kind, name = workload.split("/", 1)
    given = (state.get("workload_specs") or {}).get(f"{namespace}/{workload}", {})
    spec = {}
    if kind == "deployment.apps":
        if given.get("paused"):
            spec["paused"] = True
    elif kind in ("statefulset.apps", "daemonset.apps"):
        spec["updateStrategy"] = {"type": given.get("updateStrategy", "RollingUpdate")}
        if kind == "statefulset.apps" and spec["updateStrategy"]["type"] == "RollingUpdate":
            # The API server defaults a RollingUpdate StatefulSet's `rollingUpdate.partition` to 0
            # (kubernetes v1.34 `pkg/apis/apps/v1/defaults.go`, SetDefaults_StatefulSet), so a real
            # cluster always returns the field.
            spec["updateStrategy"]["rollingUpdate"] = {"partition": given.get("partition") or 0}
    return {"kind": WORKLOAD_KINDS.get(kind, kind), "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def pod_object(p):
    meta = {"name": p["name"], "namespace": p["namespace"], "labels": p["labels"], "annotations": p["annotations"]}
    if p.get("deletionTimestamp"):
        meta["deletionTimestamp"] = p["deletionTimestamp"]
    owner = p.get("owner")
    if owner:
        kind, name = owner.split("/", 1)
        meta["ownerReferences"] = [{"kind": OWNER_KINDS[kind], "name": replica_set(name) if kind == "deployment.apps" else name,
                                    "controller": True}]
    spec = dict(p.get("spec") or {})
    if p.get("hostNetwork"):
        spec["hostNetwork"] = True
    return {"metadata": meta, "spec": spec, "status": {"phase": p["phase"]}}


def apply(state, docs):
    for o in docs:
        if not o:
            continue
        kind, meta = o["kind"], o["metadata"]
        # A namespaced object without a namespace goes to --namespace (kubectl's default namespace).
        if kind not in ("Namespace", "ClusterIssuer", "MutatingWebhookConfiguration", "CustomResourceDefinition", "GatewayClass") and flag("--namespace"):
            meta.setdefault("namespace", flag("--namespace"))
        ns = meta.get("namespace")
        if kind == "Namespace":
            entry = state["namespaces"].setdefault(meta["name"], {"labels": {}})
            # Server-side apply: the labels mesh-render applies (the injection labels) are set.
            entry["labels"].update(meta.get("labels") or {})
            continue
        k = key(kind, ns, meta["name"])
        if kind == "ConfigMap" and k in state["objects"]:
            error = apply_configmap(state["objects"][k], o)
            if error:
                return error
            continue
        if kind == "ConfigMap":
            o["owners"] = {d: flag("--field-manager", "kubectl") for d in o.get("data") or {}}
        if k in state["objects"] and kind != "ConfigMap":
            error = apply_metadata(state["objects"][k], o)
            if error:
                return error
        elif kind != "ConfigMap":
            manager = flag("--field-manager", "kubectl")
            o["owners"] = {f: {k2: manager for k2 in (meta.get(f) or {})} for f in ("labels", "annotations")}
        state["objects"][k] = o
    return None


def apply_metadata(live, o):
    """Server-side apply of `metadata.labels` and `metadata.annotations` over a live object: keys
    another field manager set stay (structured-merge-diff merges granular maps); a key this manager
    applied before and no longer applies is removed; a key another manager owns with another value
    is a conflict unless --force-conflicts, which moves it to this manager (Kubernetes "Server-Side
    Apply", conflicts; kubernetes/kubectl v0.34.0 `apply --server-side --force-conflicts`).
    Everything else of the object is replaced, as the fake does for whole objects."""
    manager = flag("--field-manager", "kubectl")
    force = "--force-conflicts" in ARGS
    owners = live.get("owners") or {}
    merged_owners = {}
    for field in ("labels", "annotations"):
        live_map = live["metadata"].get(field) or {}
        applied = o["metadata"].get(field) or {}
        field_owners = owners.get(field, {k: "unknown" for k in live_map})
        out, out_owners = {}, {}
        for k, v in live_map.items():
            owner = field_owners.get(k, "unknown")
            if k in applied and owner != manager and v != applied[k] and not force:
                return f"error: Apply failed with 1 conflict: conflict with \"{owner}\": .metadata.{field}.{k}"
            if owner != manager and k not in applied:
                out[k], out_owners[k] = v, owner
        for k, v in applied.items():
            out[k], out_owners[k] = v, manager
        if out:
            o["metadata"][field] = out
        merged_owners[field] = out_owners
    o["owners"] = merged_owners
    return None


def apply_configmap(live, o):
    """Server-side apply of a ConfigMap's `data` keys, with their owners (Kubernetes server-side
    apply, `sigs.k8s.io/structured-merge-diff`): the applier sets its keys, a key it owned and no
    longer applies is removed, and a key another manager owns with another value is a conflict
    unless --force-conflicts (then the applier takes it over)."""
    manager = flag("--field-manager", "kubectl")
    force = "--force-conflicts" in ARGS
    data, owners = live.setdefault("data", {}) or {}, live.setdefault("owners", {})
    applied = o.get("data") or {}
    conflicts = [d for d, v in applied.items() if owners.get(d, manager) != manager and data.get(d) != v]
    if conflicts and not force:
        return f"error: Apply failed with {len(conflicts)} conflict(s): conflicts with \"{owners[conflicts[0]]}\": .data.{conflicts[0]}"
    for d in [d for d, m in owners.items() if m == manager and d not in applied]:
        data.pop(d, None)
        owners.pop(d, None)
    for d, v in applied.items():
        data[d] = v
        owners[d] = manager
    live["data"] = data
    return None


def read_docs(path):
    if path == "-":
        # Not a cluster's answer: what the objects came through, for the tests that keep a secret out
        # of files (a here-document is a temporary file in bash before 5.1, a pipe is not), in the
        # form of `stat -L -c %F` as `Cluster::record_stdin` logs it.
        mode = os.fstat(0).st_mode
        what = "fifo" if stat.S_ISFIFO(mode) else "regular file" if stat.S_ISREG(mode) else "other"
        with open(os.path.join(os.path.dirname(STATE_FILE), "stdin.log"), "a") as f:
            f.write(f"{what}: {' '.join([TOOL] + LOGGED)}\n")
    text = sys.stdin.read() if path == "-" else open(path).read()
    return [d for d in yaml.safe_load_all(text) if d]


# kubectl's names of the kinds the fleet plans read: (kind, namespaced).
GET_KINDS = {"secret": ("Secret", True), "serviceaccount": ("ServiceAccount", True), "certificate": ("Certificate", True),
             "clusterissuer.cert-manager.io": ("ClusterIssuer", False), "issuer.cert-manager.io": ("Issuer", True),
             "deployment": ("Deployment", True)}
DELETE_KINDS = {"secret": "Secret", "deployment": "Deployment", "service": "Service", "ksvc": "Service",
                "gateways.networking.istio.io": "Gateway"}


def print_object(resource, name, o, output):
    if output == "name":
        sys.stdout.write(f"{resource}/{name}\n")
    elif output.startswith("jsonpath="):
        sys.stdout.write(jsonpath(output[len("jsonpath="):], o))


def create(state, docs, namespace):
    """`kubectl create --filename`: each object is new, else AlreadyExists."""
    for o in docs:
        meta = o["metadata"]
        ns = meta.get("namespace") or namespace
        meta["namespace"] = ns
        k = key(o["kind"], ns, meta["name"])
        if k in state["objects"]:
            fail(f'Error from server (AlreadyExists): error when creating "STDIN": {o["kind"].lower()}s "{meta["name"]}" already exists')
        state["objects"][k] = o


def delete_namespace(state, name):
    """Deleting a namespace deletes everything in it (the namespace controller)."""
    state["namespaces"].pop(name, None)
    state["objects"] = {k: o for k, o in state["objects"].items() if (o.get("metadata") or {}).get("namespace") != name}
    state["pods"] = [p for p in state["pods"] if p["namespace"] != name]
    state["workloads"].pop(name, None)


def fleet_kubectl(state, whole, words, namespace, output):
    """The calls of the fleet plans (and of one cluster's plan) the single-cluster fake had no need
    for; returns False for any other call."""
    verb = words[0] if words else ""
    what = words[1] if len(words) > 1 else ""
    if verb == "config" and what == "view":
        # `kubectl config view --minify` with --context: that context's cluster (kubectl
        # `pkg/cmd/config/view.go`, ViewOptions.Run).
        contexts = kubeconfig() or {}
        if CONTEXT not in contexts:
            fail(f"error: cannot locate context {CONTEXT}")
        sys.stdout.write(jsonpath(output[len("jsonpath="):], {"clusters": [{"name": CONTEXT, "cluster": {"server": contexts[CONTEXT]}}]}))
        return True
    if verb == "create" and what == "namespace":
        if words[2] in state["namespaces"]:
            fail(f'Error from server (AlreadyExists): namespaces "{words[2]}" already exists')
        state["namespaces"][words[2]] = {"labels": {}}
        return True
    if verb == "create" and what == "secret" and words[2] == "tls":
        # `kubectl create secret tls NAME --cert --key`: a kubernetes.io/tls Secret of the two files.
        if namespace not in state["namespaces"]:
            fail(f'error: failed to create secret namespaces "{namespace}" not found')
        with open(flag("--cert")) as c, open(flag("--key")) as k:
            state["objects"][key("Secret", namespace, words[3])] = {
                "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": words[3], "namespace": namespace},
                "data": {"tls.crt": b64(c.read()), "tls.key": b64(k.read())}}
        return True
    if verb == "create" and flag("--filename"):
        create(state, read_docs(flag("--filename")), namespace)
        return True
    if verb == "get" and what == "namespace":
        ns = state["namespaces"].get(words[2])
        if ns is None:
            if "--ignore-not-found" in ARGS:
                return True
            fail(f'Error from server (NotFound): namespaces "{words[2]}" not found')
        print_object("namespace", words[2], {"metadata": {"name": words[2], "labels": ns["labels"]}}, output)
        return True
    if verb == "get" and what in GET_KINDS:
        kind, namespaced = GET_KINDS[what]
        o = state["objects"].get(key(kind, namespace if namespaced else None, words[2]))
        if o is None:
            if "--ignore-not-found" in ARGS:
                return True
            fail(f'Error from server (NotFound): {what.split(".")[0]}s "{words[2]}" not found')
        print_object(what, words[2], o, output)
        return True
    if verb == "get" and what == "nodes":
        # A list, filtered by `--selector` (`key=value` terms, as the `mutatingwebhookconfigurations`
        # list reads them).
        terms = [t.split("=", 1) for t in flag("--selector", "").split(",") if t]
        items = [n for n in nodes(state) if all((n["metadata"].get("labels") or {}).get(k) == v for k, v in terms)]
        sys.stdout.write(jsonpath(output[len("jsonpath="):], {"items": items}))
        return True
    if verb == "get" and what == "pod":
        pod = next((p for p in state["pods"] if p["namespace"] == namespace and p["name"] == words[2]), None)
        if pod is None:
            fail(f'Error from server (NotFound): pods "{words[2]}" not found')
        print_object("pod", words[2], pod_object(pod), output)
        return True
    if verb == "wait" and flag("--for", "").startswith("jsonpath="):
        # `kubectl wait --for=jsonpath='{.status.loadBalancer.ingress}' service/NAME`: until the field
        # is set; nothing sets it on a cluster without a LoadBalancer implementation.
        for target in words[1:]:
            resource, name = target.split("/", 1)
            o = state["objects"].get(key("Service", namespace, name)) if resource == "service" else None
            if o is None or not jsonpath(flag("--for")[len("jsonpath="):], o):
                fail(f"error: timed out waiting for the condition on {resource}s/{name}")
        return True
    if verb == "wait" and flag("--for") == "condition=Ready" and what.split("/", 1)[0] in ("certificate", "pod"):
        resource, name = what.split("/", 1)
        if resource == "certificate":
            o = state["objects"].get(key("Certificate", namespace, name))
            ready = o is not None and o["status"]["conditions"][0]["status"] == "True"
        else:
            ready = any(p["namespace"] == namespace and p["name"] == name and p["phase"] == "Running" for p in state["pods"])
        if not ready:
            fail(f"error: timed out waiting for the condition on {resource}s/{name}")
        return True
    if verb == "run" and "--attach" not in ARGS and "--dry-run=server" not in ARGS:
        # A pod of its own (no controller), created through admission like any pod.
        admitted, error = admit(state, namespace, {"metadata": {"labels": {"run": words[1]}}})
        if error:
            fail("Error from server (InternalError): " + error)
        state["pods"].append({"namespace": namespace, "name": words[1], "owner": None, "labels": admitted["metadata"]["labels"],
                              "annotations": admitted["metadata"]["annotations"], "spec": {}, "phase": "Running"})
        return True
    if verb == "exec":
        # The fleet probe: `sh -c` calling the echo Service N times (`-lt N`) from the client pod; the
        # sidecar spreads the calls over the endpoints it knows, so the answers cycle through them.
        command = ARGS[ARGS.index("--") + 1:]
        m = re.search(r"-lt (\d+).*http://([a-z0-9-]+)\.", " ".join(command))
        if m is None:
            fail(f"fake cluster: an exec it does not model: {command}", 3)
        answers = cross_cluster_answers(whole, state, namespace, words[1], m.group(2))
        for i in range(int(m.group(1))):
            sys.stdout.write((answers[i % len(answers)] if answers else "curl: (7) Failed to connect") + "\n")
        return True
    if verb == "delete" and what == "namespace":
        for name in words[2:]:
            delete_namespace(state, name)
        return True
    if verb == "delete" and what == "pod":
        state["pods"] = [p for p in state["pods"] if not (p["namespace"] == namespace and p["name"] in words[2:])]
        return True
    if verb == "delete" and all(r in DELETE_KINDS for r in what.split(",")) and "/" not in what:
        for resource in what.split(","):
            for name in words[2:]:
                state["objects"].pop(key(DELETE_KINDS[resource], namespace, name), None)
        return True
    return False


def kubectl(state, whole):
    namespace = flag("--namespace")
    words = [a for a in ARGS if not a.startswith("-")]
    # Drop the values of flags that take one, and what follows `--` (a command for a pod).
    cleaned, skip = [], False
    for a in ARGS:
        if a == "--":
            break
        if skip:
            skip = False
            continue
        if a in ("--namespace", "--filename", "--output", "--selector", "--timeout", "--for", "--field-manager", "--image",
                 "--cert", "--key", "--container"):
            skip = True
            continue
        if a.startswith("-"):
            continue
        cleaned.append(a)
    words = cleaned
    verb = words[0] if words else ""
    output = flag("--output", "")
    if fleet_kubectl(state, whole, words, namespace, output):
        return
    if verb == "apply":
        error = apply(state, read_docs(flag("--filename")))
        if error:
            save(state)
            fail(error)
        return
    if verb == "label" and words[1] == "namespace":
        labels = state["namespaces"].setdefault(words[2], {"labels": {}})["labels"]
        for change in words[3:]:
            if change.endswith("-"):
                labels.pop(change[:-1], None)
            else:
                k, v = change.split("=", 1)
                labels[k] = v
        return
    if verb == "get" and words[1] == "crd":
        if output.startswith("jsonpath="):
            # A current Gateway API bundle (`gateway.networking.k8s.io/bundle-version`).
            sys.stdout.write("v1.6.1")
        return
    if verb == "get" and words[1] == "deployments,statefulsets,daemonsets":
        items = [workload_object(state, namespace, w) for w in state["workloads"].get(namespace, [])]
        sys.stdout.write(jsonpath(output[len("jsonpath="):], {"items": items}))
        return
    if verb == "get" and words[1] == "replicasets":
        sys.stdout.write(jsonpath(output[len("jsonpath="):], {"items": replica_sets(state, namespace)}))
        return
    if verb == "get" and words[1] == "pods":
        pods = [p for p in state["pods"] if "--all-namespaces" in ARGS or p["namespace"] == namespace]
        if "--field-selector=status.phase=Running" in ARGS:
            pods = [p for p in pods if p["phase"] == "Running"]
        sys.stdout.write(jsonpath(output[len("jsonpath="):], {"items": [pod_object(p) for p in pods]}))
        return
    if verb == "get" and words[1] == "mutatingwebhookconfigurations":
        # A list (no name): the objects whose labels match `--selector`, a comma-separated list of
        # `key` (exists) and `key=value` terms as k8s.io/apimachinery `pkg/labels/selector.go` Parse
        # reads them (kubernetes/kubectl v0.34.0 `get` passes it to the API server as labelSelector).
        terms = [t for t in flag("--selector", "").split(",") if t]
        def selected(labels):
            for t in terms:
                k, _, v = t.partition("=")
                if k not in labels or ("=" in t and labels[k] != v):
                    return False
            return True
        items = [o for k, o in sorted(state["objects"].items()) if o.get("kind") == "MutatingWebhookConfiguration"
                 and selected(o.get("metadata", {}).get("labels") or {})]
        sys.stdout.write(jsonpath(output[len("jsonpath="):], {"items": items}))
        return
    if verb == "annotate":
        # `kubectl annotate KIND NAME key=value --overwrite` sets the annotation on the live object,
        # `key-` removes it (kubernetes/kubectl v0.34.0 `pkg/cmd/annotate`); a missing object is
        # NotFound.
        kind = {"mutatingwebhookconfiguration": "MutatingWebhookConfiguration", "service": "Service"}[words[1]]
        o = state["objects"].get(key(kind, None if kind == "MutatingWebhookConfiguration" else namespace, words[2]))
        if o is None:
            fail(f'Error from server (NotFound): {words[1]} "{words[2]}" not found')
        for change in words[3:]:
            if change.endswith("-"):
                (o["metadata"].get("annotations") or {}).pop(change[:-1], None)
                ((o.get("owners") or {}).get("annotations") or {}).pop(change[:-1], None)
                continue
            k, v = change.split("=", 1)
            o["metadata"].setdefault("annotations", {})[k] = v
            # kubectl annotate's default field manager (kubectl v0.34.0 `pkg/cmd/annotate`).
            o.setdefault("owners", {}).setdefault("annotations", {})[k] = "kubectl-annotate"
        return
    if verb == "get" and words[1] in ("mutatingwebhookconfiguration", "configmap", "gateway", "applications.argoproj.io",
                                       "peerauthentication", "service"):
        kind = {"mutatingwebhookconfiguration": "MutatingWebhookConfiguration", "configmap": "ConfigMap", "gateway": "Gateway",
                "applications.argoproj.io": "Application", "peerauthentication": "PeerAuthentication",
                "service": "Service"}[words[1]]
        scoped = None if kind == "MutatingWebhookConfiguration" else namespace
        o = state["objects"].get(key(kind, scoped, words[2]))
        if kind == "Gateway" and o is not None:
            o = dict(o, status=gateway_status(o, state))
        if o is None:
            if "--ignore-not-found" in ARGS:
                return
            fail(f'Error from server (NotFound): {words[1]} "{words[2]}" not found')
        if output == "name":
            sys.stdout.write(f"{words[1]}/{words[2]}\n")
        elif output.startswith("jsonpath="):
            sys.stdout.write(jsonpath(output[len("jsonpath="):], o))
        return
    if verb == "rollout" and words[1] == "restart":
        owner = words[2]
        spec = workload_object(state, namespace, owner)["spec"]
        if spec.get("paused"):
            # kubernetes/kubectl v0.34.0 `pkg/polymorphichelpers/objectrestarter.go:35-36`.
            fail(f"error: {owner} can't restart paused deployment (run rollout resume first)")
        if spec.get("updateStrategy", {}).get("type", "RollingUpdate") != "RollingUpdate":
            # The restart annotation is set, but an OnDelete controller replaces no pod for it
            # (kubernetes v1.34 `pkg/controller/statefulset/stateful_set_control.go`, `daemon/update.go`).
            state.setdefault("failed", {})[f"{namespace}/{owner}"] = "OnDelete"
            return
        partition = spec.get("updateStrategy", {}).get("rollingUpdate", {}).get("partition", 0)
        if partition:
            # The StatefulSet controller updates, and so recreates, only the pods of ordinal
            # `partition` and above; the lower ones keep what they have (k8s.io/api v0.34.0
            # `apps/v1/types.go`, `RollingUpdateStatefulSetStrategy.Partition`; kubernetes v1.34
            # `pkg/controller/statefulset/stateful_set_control.go`). The fake's pods are ordinal 0
            # (`<name>-0`), so none is replaced; `rollout status` then succeeds, as kubectl v0.34.0
            # `pkg/polymorphichelpers/rollout_status.go:137-143` counts only the pods at or above it.
            return
        state["pods"] = [p for p in state["pods"] if not (p["namespace"] == namespace and p["owner"] == owner)]
        error = create_pod(state, namespace, owner)
        state.setdefault("failed", {})[f"{namespace}/{owner}"] = error
        return
    if verb == "rollout" and words[1] == "status":
        strategy = workload_object(state, namespace, words[2])["spec"].get("updateStrategy", {}).get("type", "RollingUpdate")
        if strategy != "RollingUpdate":
            # kubernetes/kubectl v0.34.0 `pkg/polymorphichelpers/rollout_status.go:104-105,127-128`.
            fail("error: rollout status is only available for RollingUpdate strategy type")
        error = state.get("failed", {}).get(f"{namespace}/{words[2]}")
        if error:
            save(state)
            fail(f"error: timed out waiting for the condition ({error})")
        if words[2].startswith("deployment/istiod") and key("Deployment", namespace, words[2].split("/", 1)[1]) not in state["objects"]:
            fail(f'Error from server (NotFound): deployments.apps "{words[2].split("/", 1)[1]}" not found')
        return
    if verb == "wait":
        condition = flag("--for", "")
        for target in words[1:]:
            kind, name = target.split("/", 1)
            if kind == "deployment" and name.startswith("istiod"):
                if key("Deployment", namespace, name) not in state["objects"]:
                    fail(f'Error from server (NotFound): deployments.apps "{name}" not found')
            if kind == "gateway" and condition == "condition=Programmed":
                o = state["objects"].get(key("Gateway", namespace, name))
                if o is None or gateway_status(o, state)["conditions"][1]["status"] != "True":
                    fail("error: timed out waiting for the condition on gateways/" + name)
        return
    if verb == "delete":
        if flag("--filename"):
            for o in read_docs(flag("--filename")):
                if o["kind"] == "Namespace":
                    continue
                state["objects"].pop(key(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]), None)
            return
        if "/" in words[1]:
            resource, name = words[1].split("/", 1)
            kind = {"peerauthentications.security.istio.io": "PeerAuthentication",
                    "authorizationpolicies.security.istio.io": "AuthorizationPolicy"}.get(resource, resource)
            state["objects"].pop(key(kind, namespace, name), None)
        return
    if verb == "get" and words[1] == "ksvc":
        # Knative's default domain for a Route's URL (serving `pkg/apis/config/domain.go`, DefaultDomain).
        sys.stdout.write(f"http://{words[2]}.{namespace}.svc.cluster.local")
        return
    if verb == "run" and "--attach" in ARGS:
        command = ARGS[-1]
        strict = (state["objects"].get(key("PeerAuthentication", os.environ.get("FAKE_ROOT", "istio-system"), "default")) or {}).get("spec", {}).get("mtls", {}).get("mode") == "STRICT"
        if "-w '%{http_code}'" in command:
            # Through the gateway: answered once Knative routes through the Istio Gateways.
            routed = key("ConfigMap", "knative-serving", "config-gateway") in state["objects"]
            sys.stdout.write("200" if routed else "404")
        else:
            # A plaintext call from a pod without a sidecar: under STRICT the server's sidecar resets it
            # (curl's exit 56, "recv failure").
            sys.stdout.write("curl-exit=56" if strict else "curl-exit=0")
        return
    if verb == "run" and "--dry-run=server" in ARGS:
        admitted, error = admit(state, namespace, {"metadata": {"labels": {"run": words[1]}}})
        if error:
            fail("Error from server (InternalError): " + error)
        sys.stdout.write(jsonpath(output[len("jsonpath="):], admitted))
        return
    # Everything else the plans call (crd waits, namespace creation, the verify probes) succeeds.


def gateway_status(o, state=None):
    programmed = "True"
    has_lb = os.environ.get("FAKE_LOADBALANCER") if CONTEXT is None else (state or {}).get("loadbalancer")
    if o["metadata"]["name"] == os.environ.get("FAKE_EXTERNAL_GATEWAY", "knative-gateway") and not has_lb:
        # istiod reports a LoadBalancer Gateway without an address as not programmed.
        programmed = "False"
    return {"conditions": [{"type": "Accepted", "status": "True"}, {"type": "Programmed", "status": programmed,
                                                                     "reason": "AddressNotAssigned" if programmed == "False" else "Programmed"}]}


def istiod_ca_root(state, namespace):
    """The root istiod signs under, decided once when it starts (istio 1.29.6
    `pilot/pkg/bootstrap/istio_ca.go:519-537`): the plugged-in CA of the Secret cacerts when it is
    there (its `ca.crt`, `:223-242`), else a root of its own kept in the Secret istio-ca-secret, which
    it reuses or writes (`security/pkg/pki/ca/ca.go:151-176`). An install or upgrade of the istiod
    release starts its pods again."""
    plugged = ((secret(state, namespace, "cacerts") or {}).get("data") or {}).get("ca.crt")
    if plugged:
        return plugged
    own = secret(state, namespace, "istio-ca-secret")
    if own is None:
        state["serial"] += 1
        own = {"kind": "Secret", "type": "istio.io/ca-root", "metadata": {"name": "istio-ca-secret", "namespace": namespace},
               "data": {"ca-cert.pem": b64(f"istiod's own root {state['serial']}"), "ca-key.pem": b64("its key")}}
        state["objects"][key("Secret", namespace, "istio-ca-secret")] = own
    return own["data"]["ca-cert.pem"]


def install_gateway(state, release, namespace, values, objects):
    """Istio's `gateway` chart (istio 1.29.6 `manifests/charts/gateway`): a Deployment whose pods
    carry `sidecar.istio.io/inject: "true"` and `image: auto`, which only istiod's injector replaces
    (`templates/deployment.yaml:72-73`, `_helpers.tpl:18-30`): without an injector that admits them
    they never start, and `helm --wait` times out. Its Service is named after the release
    (`_helpers.tpl:1-7`), typed and given externalIPs from the values, labelled with
    `networkGateway` and serving 15443 (`templates/service.yaml:1-78`). Helm 4's --wait (kstatus)
    takes a Service as ready once it has a cluster IP (fluxcd/cli-utils v0.37.2-flux.1
    `pkg/kstatus/status/core.go:581-599`), so the install returns before a LoadBalancer address."""
    name = values.get("name") or release
    selector = {"app": name, "istio": name[len("istio-"):] if name.startswith("istio-") else name}
    labels = dict(selector, **{"sidecar.istio.io/inject": "true"})
    if values.get("revision"):
        labels["istio.io/rev"] = values["revision"]
    admitted, error = admit(state, namespace, {"metadata": {"labels": labels, "annotations": {"inject.istio.io/templates": "gateway"}}})
    if error or "istio.io/rev" not in admitted["metadata"]["annotations"]:
        return (f"Error: UPGRADE FAILED: context deadline exceeded (fake: the pods of {namespace}/{name} keep `image: auto`: "
                f"{error or 'no injector admitted them'})")
    service = values.get("service") or {}
    spec = {"type": service.get("type", "LoadBalancer"), "selector": selector,
            "ports": [{"name": n, "port": p} for n, p in (("status-port", 15021), ("tls", 15443), ("tls-istiod", 15012), ("tls-webhook", 15017))]}
    if service.get("externalIPs"):
        spec["externalIPs"] = list(service["externalIPs"])
    svc_labels = dict(selector)
    if values.get("networkGateway"):
        svc_labels["topology.istio.io/network"] = values["networkGateway"]
    for kind, o in (("Deployment", {"spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "istio-proxy", "image": "auto"}]}}}}),
                    ("Service", {"spec": spec})):
        o.update({"kind": kind, "metadata": {"name": name, "namespace": namespace, "labels": dict(svc_labels if kind == "Service" else selector)}})
        if kind == "Service":
            # The Service's annotations are the values' (`templates/service.yaml:14-15`).
            o["metadata"]["annotations"] = dict(service.get("annotations") or {})
        state["objects"][key(kind, namespace, name)] = helm_owned(o, release, namespace)
        objects.append(key(kind, namespace, name))
    state["serial"] += 1
    state["pods"].append({"namespace": namespace, "name": f"{name}-{state['serial']}", "owner": f"deployment.apps/{name}",
                          "labels": admitted["metadata"]["labels"], "annotations": admitted["metadata"]["annotations"], "spec": {}, "phase": "Running"})
    state["releases"][release]["gateway"] = name
    return None


# What Helm writes on every object of a release it installs (helm v4.1.4 `pkg/action/install.go:395-398`,
# `setMetadataVisitor`, `validate.go:139-180`): `helm template`, what Argo CD runs, writes none of it.
HELM_OWNERSHIP = ("app.kubernetes.io/managed-by", "meta.helm.sh/release-name", "meta.helm.sh/release-namespace")


def helm_owned(o, release, namespace):
    """`o` with the ownership metadata of `release` in `namespace`, as Helm applies it."""
    meta = o["metadata"]
    meta.setdefault("labels", {})[HELM_OWNERSHIP[0]] = "Helm"
    meta.setdefault("annotations", {}).update({HELM_OWNERSHIP[1]: release, HELM_OWNERSHIP[2]: namespace})
    return o


def chart_objects(chart_name, namespace, values):
    """The keys of the objects the fake's chart renders (those the other functions here create)."""
    if chart_name == "base":
        return [key("ServiceAccount", namespace, "istio-reader-service-account")]
    if chart_name == "istiod":
        revision = values.get("revision") or "default"
        return [key("Deployment", namespace, "istiod" if revision == "default" else f"istiod-{revision}"),
                key("MutatingWebhookConfiguration", None, injector(revision, namespace)[0])]
    if chart_name == "gateway":
        name = values.get("name") or ARGS[2]
        return [key("Deployment", namespace, name), key("Service", namespace, name)]
    return []


def install_conflict(state, release, namespace, keys):
    """A first install refuses an object of its chart that already exists without the release's
    ownership metadata (helm v4.1.4 `pkg/action/install.go:404-416`, `existingResourceConflict` and
    `checkOwnership`, `validate.go:71-143`; `helm upgrade --install` of a release that does not exist
    installs it, `pkg/cmd/upgrade.go:122-165`): the error of the first such object, or None."""
    for k in keys:
        o = state["objects"].get(k)
        if o is None:
            continue
        labels, annotations = o["metadata"].get("labels") or {}, o["metadata"].get("annotations") or {}
        errors = []
        for where, meta, name, want in (("label", labels, HELM_OWNERSHIP[0], "Helm"), ("annotation", annotations, HELM_OWNERSHIP[1], release),
                                        ("annotation", annotations, HELM_OWNERSHIP[2], namespace)):
            if name not in meta:
                errors.append(f'{where} validation error: missing key "{name}": must be set to "{want}"')
            elif meta[name] != want:
                errors.append(f'{where} validation error: key "{name}" must equal "{want}": current value is "{meta[name]}"')
        if errors:
            kind, ns, name = k.split("/", 2)
            return (f'Error: unable to continue with install: {kind} "{name}" in namespace "{ns}" exists and cannot be imported '
                    f'into the current release: invalid ownership metadata; {"; ".join(errors)}')
    return None


def helm(state):
    words = [a for a in ARGS if not a.startswith("-")]
    namespace = flag("--namespace", "default")
    if ARGS[:2] == ["upgrade", "--install"]:
        release, chart = ARGS[2], ARGS[3]
        values = yaml.safe_load(open(flag("--values"))) or {}
        if release not in state["releases"]:
            error = install_conflict(state, release, namespace, chart_objects(chart.rstrip("/").split("/")[-1], namespace, values))
            if error:
                fail(error)
        old_objects = (state["releases"].get(release) or {}).get("objects", [])
        state["releases"][release] = {"chart": chart, "version": flag("--version")}
        # `revisionTags` in an istiod release (what renders before mesh-render's own tag objects
        # wrote): the chart renders each tag's webhook configuration and Service (istio 1.29.6
        # `templates/revision-tags-mwc.yaml:42-48`, `revision-tags-svc.yaml:7`), which Helm
        # annotates with its release (`meta.helm.sh/release-name`).
        objects = []
        for tag in values.get("revisionTags") or []:
            revision = values.get("revision") or "default"
            for kind, ns, name in [("MutatingWebhookConfiguration", None, f"istio-revision-tag-{tag}"),
                                   ("Service", namespace, f"istiod-revision-tag-{tag}")]:
                labels = {"istio.io/tag": tag, "istio.io/rev": revision, "app.kubernetes.io/managed-by": "Helm"}
                annotations = {"meta.helm.sh/release-name": release}
                state["objects"][key(kind, ns, name)] = {"kind": kind, "metadata": {
                    "name": name, "namespace": ns, "labels": labels, "annotations": annotations},
                    "webhooks": injector_webhooks(revision, namespace, tag) if kind == "MutatingWebhookConfiguration" else [],
                    "owners": {"labels": {k: "helm" for k in labels}, "annotations": {k: "helm" for k in annotations}}}
                objects.append(key(kind, ns, name))
        chart_name = chart.rstrip("/").split("/")[-1]
        if chart_name == "base":
            # The base chart's reader ServiceAccount, whose token a remote secret carries (istio 1.29.6
            # `manifests/charts/base/templates/reader-serviceaccount.yaml:6-16`).
            k = key("ServiceAccount", namespace, "istio-reader-service-account")
            state["objects"][k] = helm_owned({"kind": "ServiceAccount", "metadata": {"name": "istio-reader-service-account", "namespace": namespace}},
                                             release, namespace)
            objects.append(k)
        if chart_name == "gateway":
            error = install_gateway(state, release, namespace, values, objects)
            if error:
                state["releases"].pop(release)
                save(state)
                fail(error)
        state["releases"][release]["objects"] = objects
        # An upgrade deletes what the release rendered before and no longer renders, unless the live
        # object says `helm.sh/resource-policy: keep` (helm v4.1.4 `pkg/kube/client.go:623-649`: it
        # gets the live object and reads its annotations; the same in v3 `client.go:437-449`).
        for k in old_objects:
            live = state["objects"].get(k)
            if k in objects or live is None:
                continue
            if (live["metadata"].get("annotations") or {}).get("helm.sh/resource-policy") == "keep":
                continue
            state["objects"].pop(k)
            state.setdefault("deleted", []).append(k)
        if chart.rstrip("/").endswith("istiod"):
            revision = values.get("revision") or "default"
            name = "istiod" if revision == "default" else f"istiod-{revision}"
            state["objects"][key("Deployment", namespace, name)] = helm_owned({"kind": "Deployment", "metadata": {
                "name": name, "namespace": namespace, "labels": {"app": "istiod", "istio.io/rev": revision}},
                "caRoot": istiod_ca_root(state, namespace)}, release, namespace)
            mwc_name, mwc = injector(revision, namespace)
            state["objects"][key("MutatingWebhookConfiguration", None, mwc_name)] = helm_owned(mwc, release, namespace)
            state["releases"][release]["revision"] = revision
        return
    if words[:1] == ["uninstall"]:
        release = words[1]
        r = state["releases"].pop(release, None)
        # Helm deletes what the stored manifest holds; `keep` counts only where that manifest says it
        # (helm v4.1.4 `pkg/action/uninstall.go:260-270`, `resource_policy.go:26-46`), never the live
        # object: the fake's stored manifests carry no such annotation.
        for k in (r or {}).get("objects", []):
            if state["objects"].pop(k, None) is not None:
                state.setdefault("deleted", []).append(k)
        gateway = (r or {}).get("gateway")
        if gateway:
            state["pods"] = [p for p in state["pods"] if not (p["namespace"] == namespace and p["owner"] == f"deployment.apps/{gateway}")]
        if r and "revision" in r:
            revision = r["revision"]
            users = [f"{p['namespace']}/{p['name']}" for p in state["pods"] if p["annotations"].get("istio.io/rev") == revision]
            if users:
                state["violations"].append(f"release {release} uninstalled while pods run revision {revision}: {users}")
            name = "istiod" if revision == "default" else f"istiod-{revision}"
            state["objects"].pop(key("Deployment", namespace, name), None)
            state["objects"].pop(key("MutatingWebhookConfiguration", None, injector(revision, namespace)[0]), None)
        # $FAKE_POD_DURING_UNINSTALL: a Deployment `app` of these namespaces creates a pod while
        # `helm uninstall --wait` waits for the deletions (helm v4.1.4 `pkg/action/uninstall.go:150`,
        # `:161`), a scale-up or a replacement; it goes through admission as it stands then.
        for ns in os.environ.get("FAKE_POD_DURING_UNINSTALL", "").split():
            create_pod(state, ns, "deployment.apps/app")
        return
    if words[:1] == ["list"]:
        pattern = flag("--filter", ".*")
        for r in sorted(state["releases"]):
            if re.search(pattern, r):
                sys.stdout.write(r + "\n")
        return


def main():
    global WHOLE
    log()
    contexts = kubeconfig()
    if CONTEXT is not None and contexts is not None and CONTEXT not in contexts:
        fail(f"Error in configuration: context was not found for specified context: {CONTEXT}")
    WHOLE = load()
    state = cluster_of(WHOLE, CONTEXT)
    reconcile(state, CONTEXT)
    if TOOL == "kubectl":
        kubectl(state, WHOLE)
    else:
        helm(state)
    save()


WHOLE = None
main()
