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
"""

import json
import os
import re
import sys

import yaml

TOOL = sys.argv[1]
ARGS = sys.argv[2:]
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
    # Pods created before anything of the mesh: no sidecar.
    before = app_pod()
    for ns in workload_namespaces:
        state["pods"].append({"namespace": ns, "name": "app-0", "owner": "deployment.apps/app", "labels": before["metadata"]["labels"],
                              "annotations": {}, "spec": before["spec"], "phase": "Running"})
    return state


def save(state):
    with open(STATE_FILE, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)


def log():
    with open(os.environ["FAKE_LOG"], "a") as f:
        f.write(" ".join([TOOL] + ARGS) + "\n")


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
    text = sys.stdin.read() if path == "-" else open(path).read()
    return [d for d in yaml.safe_load_all(text) if d]


def kubectl(state):
    namespace = flag("--namespace")
    words = [a for a in ARGS if not a.startswith("-")]
    # Drop the values of flags that take one.
    cleaned, skip = [], False
    for a in ARGS:
        if skip:
            skip = False
            continue
        if a in ("--namespace", "--filename", "--output", "--selector", "--timeout", "--for", "--field-manager", "--image"):
            skip = True
            continue
        if a.startswith("-"):
            continue
        cleaned.append(a)
    words = cleaned
    verb = words[0] if words else ""
    output = flag("--output", "")
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
            o = dict(o, status=gateway_status(o))
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
                if o is None or gateway_status(o)["conditions"][1]["status"] != "True":
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


def gateway_status(o):
    programmed = "True"
    if o["metadata"]["name"] == os.environ.get("FAKE_EXTERNAL_GATEWAY", "knative-gateway") and not os.environ.get("FAKE_LOADBALANCER"):
        # istiod reports a LoadBalancer Gateway without an address as not programmed.
        programmed = "False"
    return {"conditions": [{"type": "Accepted", "status": "True"}, {"type": "Programmed", "status": programmed,
                                                                     "reason": "AddressNotAssigned" if programmed == "False" else "Programmed"}]}


def helm(state):
    words = [a for a in ARGS if not a.startswith("-")]
    namespace = flag("--namespace", "default")
    if ARGS[:2] == ["upgrade", "--install"]:
        release, chart = ARGS[2], ARGS[3]
        values = yaml.safe_load(open(flag("--values"))) or {}
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
            state["objects"][key("Deployment", namespace, name)] = {"kind": "Deployment", "metadata": {
                "name": name, "namespace": namespace, "labels": {"app": "istiod", "istio.io/rev": revision}}}
            mwc_name, mwc = injector(revision, namespace)
            state["objects"][key("MutatingWebhookConfiguration", None, mwc_name)] = mwc
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
    log()
    state = load()
    if TOOL == "kubectl":
        kubectl(state)
    else:
        helm(state)
    save(state)


main()
