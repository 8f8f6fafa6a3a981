//! The plans of a multi-cluster mesh walked on the fake cluster with one cluster per kube context
//! (`support/cluster.rs`, `Cluster::fleet`): the fleet plan of `golden/fleet-two-networks` installs
//! `east` then `west` (context `kind-west`), each call on its cluster's context, the shared root's
//! intermediate CA before istiod and the east-west gateway after it, then checks that the roots are
//! one and writes the remote secrets as `istioctl create-remote-secret` writes them; `plan verify`
//! calls across the clusters; `plan destroy` takes the remote secrets first. Each failure the plan
//! guards against stops it with its message.

mod support;

use serde_json::Value;
use support::bench::{Bench, R};
use support::cluster::Cluster;
use support::repo_root;

/// The namespaces whose Deployment `app` runs before the mesh, in every cluster.
const MESH: [&str; 2] = ["knative-serving", "demo"];
/// The kubeconfig: `east` answers on its public address, `kind-west` on a loopback port as kind
/// writes it (the config's `apiServer` gives the address the other cluster's pods reach).
const CONTEXTS: [(&str, &str); 2] = [("east", "https://east.example.com:6443"), ("kind-west", "https://127.0.0.1:40123")];
/// East has a LoadBalancer implementation, west (kind) none.
const LOAD_BALANCERS: [&str; 1] = ["east"];

fn golden(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("golden").join(name).join("config.yaml")).unwrap()
}

fn ok(out: &std::process::Output, what: &str) {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The kube context a logged call went to (`kubectl --context X`, `helm --kube-context X`).
fn context_of(call: &str) -> Option<&str> {
    let words: Vec<&str> = call.split(' ').collect();
    let flag = if words[0] == "helm" { "--kube-context" } else { "--context" };
    words.iter().position(|w| *w == flag).map(|i| words[i + 1])
}

/// The first call to `context` containing `needle`.
fn at(calls: &[String], context: &str, needle: &str) -> usize {
    calls
        .iter()
        .position(|c| context_of(c) == Some(context) && c.contains(needle))
        .unwrap_or_else(|| panic!("no call to {context} with `{needle}`: {calls:#?}"))
}

/// The root CA of each context as its user puts it there (never the plan):
/// `kubectl create secret tls <meshID>-root-ca --cert --key --namespace cert-manager`.
fn root_secrets(cluster: &Cluster, bench: &Bench, roots: &[(&str, &str)]) {
    let mut script = String::from("set -eu\n");
    for (context, root) in roots {
        std::fs::write(
            bench.path().join(format!("{context}.crt")),
            format!("-----BEGIN CERTIFICATE-----\n{root}\n-----END CERTIFICATE-----\n"),
        )
        .unwrap();
        std::fs::write(bench.path().join(format!("{context}.key")), format!("key of {root}\n")).unwrap();
        script.push_str(&format!(
            "kubectl --context {context} create secret tls playground-root-ca --cert={context}.crt --key={context}.key --namespace cert-manager\n"
        ));
    }
    ok(&cluster.run(bench.path(), &script, &[]).0, "the root secrets");
}

/// A fleet of the two contexts with the same root in both, and a bench of `config`.
fn fleet(config: &str) -> (Cluster, Bench) {
    let cluster = Cluster::fleet(&CONTEXTS, &LOAD_BALANCERS, &MESH);
    let bench = Bench::new(config, None);
    root_secrets(&cluster, &bench, &[("east", "root A"), ("kind-west", "root A")]);
    (cluster, bench)
}

/// `golden/fleet-two-networks` installed by its fleet plan: the cluster, the bench, the plan's output
/// and calls.
fn installed() -> (Cluster, Bench, std::process::Output, Vec<String>) {
    let (cluster, bench) = fleet(&golden("fleet-two-networks"));
    let (out, calls) = cluster.run(bench.path(), &bench.plan("apply", None), &[]);
    ok(&out, "fleet apply");
    (cluster, bench, out, calls)
}

/// Runs the fleet's `plan apply`, which must stop (exit 1); its stderr and calls.
fn apply_stops(cluster: &Cluster, bench: &Bench) -> (String, Vec<String>) {
    let (out, calls) = cluster.run(bench.path(), &bench.plan("apply", None), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    (stderr(&out), calls)
}

/// RFC 4648 base64 of `text`.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// RFC 4648 base64, as the Secrets hold their data.
fn unbase64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for b in text.bytes().filter(|b| *b != b'=') {
        let v = ALPHABET.iter().position(|a| *a == b).unwrap_or_else(|| panic!("not base64: {text}")) as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn object<'a>(state: &'a Value, key: &str) -> &'a Value {
    let o = &state["objects"][key];
    assert!(o.is_object(), "no {key} in {:#?}", state["objects"].as_object().map(|m| m.keys().collect::<Vec<_>>()));
    o
}

/// The kubeconfig `istioctl create-remote-secret --name NAME` writes (istio 1.29.6
/// `istioctl/pkg/multicluster/remote_secret.go:159-185`, encoded by client-go's `latest.Codec`,
/// keys sorted).
fn istioctl_kubeconfig(name: &str, server: &str, ca: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {name}\ncontexts:\n- context:\n    cluster: {name}\n    user: {name}\n  name: {name}\ncurrent-context: {name}\nkind: Config\npreferences: {{}}\nusers:\n- name: {name}\n  user:\n    token: {token}\n"
    )
}

/// Asserts that the two clusters of `golden/fleet-two-networks` are joined: in each, the remote secret of the other as istioctl writes it (name, label, annotation,
/// one key named after the cluster holding the kubeconfig with the other cluster's reader token and
/// CA, and the API server its pods reach: `apiServer`, not kind's loopback address). Returns the two
/// reader tokens.
fn joined(cluster: &Cluster) -> Vec<String> {
    let mut tokens = Vec::new();
    for (context, other, other_context, server) in
        [("east", "west", "kind-west", "https://172.18.0.3:6443"), ("kind-west", "east", "east", "https://east.example.com:6443")]
    {
        let state = cluster.context(context);
        let secret = object(&state, &format!("Secret/istio-system/istio-remote-secret-{other}"));
        assert_eq!(secret["metadata"]["labels"], serde_json::json!({"istio/multiCluster": "true"}));
        assert_eq!(secret["metadata"]["annotations"], serde_json::json!({"networking.istio.io/cluster": other}));
        let data = secret["data"].as_object().unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), [other]);
        let reader =
            cluster.context(other_context)["objects"]["Secret/istio-system/istio-reader-service-account-istio-remote-secret-token"].clone();
        assert_eq!(reader["type"], "kubernetes.io/service-account-token");
        assert_eq!(reader["metadata"]["annotations"]["kubernetes.io/service-account.name"], "istio-reader-service-account");
        let token = unbase64(reader["data"]["token"].as_str().unwrap());
        let ca = reader["data"]["ca.crt"].as_str().unwrap();
        assert_eq!(unbase64(data[other].as_str().unwrap()), istioctl_kubeconfig(other, server, ca, &token), "{context}");
        tokens.push(token);
    }
    tokens
}

/// Runs `mesh-render ARGS` in `dir`, which must refuse them (exit 2, nothing on stdout); its stderr.
fn refused(dir: &std::path::Path, args: &[&str]) -> String {
    let o = support::run_in(dir, args);
    assert_eq!(o.status.code(), Some(2), "{args:?}");
    assert!(o.stdout.is_empty());
    support::stderr(&o)
}

/// Every file of the rendered tree, as text.
fn tree_text(bench: &Bench) -> String {
    support::snapshot_tree(&bench.path().join(R)).into_iter().map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned()).collect()
}

#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn the_fleet_plan_installs_each_cluster_on_its_context_in_order_then_joins_them() {
    let (cluster, bench, out, calls) = installed();

    // Every call names a context of the kubeconfig; east's install comes whole before west's.
    for c in &calls {
        assert!(matches!(context_of(c), Some("east" | "kind-west")), "a call without the cluster's context: {c}");
    }
    let east_done = at(&calls, "east", "manifests/10-security.yaml");
    let west_first = calls.iter().position(|c| context_of(c) == Some("kind-west")).unwrap();
    assert!(east_done < west_first, "east is installed before west begins");
    // In each cluster: the shared root, then the intermediate CA Ready, then the refusal of an own
    // root, then istiod, the east-west gateway and its address, then the manifests.
    for (context, name) in [("east", "east"), ("kind-west", "west")] {
        let order = [
            "get secret playground-root-ca --namespace cert-manager",
            &format!("apply --server-side --field-manager=mesh-render --filename {R}/clusters/{name}/manifests/01-trust.yaml"),
            "--namespace istio-system wait --for=condition=Ready certificate/cacerts",
            "get secret istio-ca-secret --namespace istio-system",
            "upgrade --install istio-base base",
            "upgrade --install istiod istiod",
            "rollout status deployment/istiod",
            &format!("upgrade --install istio-eastwestgateway gateway --repo https://blob.istio.io/istio-release/charts --version 1.29.6 --namespace istio-system --values {R}/clusters/{name}/lifecycle/istio-eastwestgateway-values.yaml --wait"),
            "get service istio-eastwestgateway",
            "manifests/00-namespaces.yaml",
            "manifests/32-east-west.yaml",
            "manifests/10-security.yaml",
        ];
        let positions: Vec<usize> = order.iter().map(|n| at(&calls, context, n)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{context}: {order:#?} at {positions:?}");
    }
    // Joined only once every cluster is installed: the roots compared, then the remote secrets.
    let installed = at(&calls, "kind-west", "manifests/10-security.yaml");
    let roots = at(&calls, "east", "get secret cacerts");
    assert!(installed < roots && roots < at(&calls, "kind-west", "get secret cacerts"));
    let applied: Vec<(usize, &str)> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.contains("apply --server-side --field-manager=mesh-render --force-conflicts --filename -"))
        .map(|(i, c)| (i, context_of(c).unwrap()))
        .collect();
    assert_eq!(
        applied.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        ["kind-west", "east"],
        "east's secret into west, then west's into east"
    );
    assert!(applied.iter().all(|(i, _)| *i > roots));

    // The end state of each cluster.
    for (context, name) in [("east", "east"), ("kind-west", "west")] {
        let state = cluster.context(context);
        assert_eq!(state["namespaces"]["istio-system"]["labels"]["topology.istio.io/network"], format!("net-{name}"));
        assert_eq!(state["violations"], serde_json::json!([]), "{context}");
        let releases: Vec<&String> = state["releases"].as_object().unwrap().keys().collect();
        assert_eq!(releases, ["istio-base", "istio-eastwestgateway", "istiod"], "{context}");
        assert_eq!(object(&state, "Certificate/istio-system/cacerts")["status"]["conditions"][0]["status"], "True");
        assert!(state["objects"].get("Secret/istio-system/istio-ca-secret").is_none());
    }
    let tokens = joined(&cluster);
    // No token on stdout or stderr, nor in the rendered tree.
    let tree = tree_text(&bench);
    for token in &tokens {
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(token.as_str()) && !stderr(&out).contains(token.as_str()),
            "{token} printed"
        );
        assert!(!tree.contains(token.as_str()));
    }
    assert!(stderr(&out)
        .contains("Secret istio-system/istio-remote-secret-west, with which its istiod watches cluster west at https://172.18.0.3:6443"));

    // `plan verify`: each cluster's own checks, the same root, the remote secrets, and the echo
    // Service answering from both clusters wherever it is called from; it cleans up.
    let (out, calls) = cluster.run(bench.path(), &bench.plan("verify", None), &[("MESH_RENDER_FLEET_PAUSE", "0")]);
    ok(&out, "fleet verify");
    let err = stderr(&out);
    for from in ["east", "west"] {
        assert!(err.contains(&format!("from cluster {from}: answers from east west")), "{err}");
    }
    assert!(calls.iter().all(|c| context_of(c).is_some()), "{calls:#?}");
    for context in ["east", "kind-west"] {
        at(&calls, context, "exec mesh-render-fleet-client");
        let state = cluster.context(context);
        assert!(state["objects"].get("Deployment/demo/mesh-render-fleet-echo").is_none(), "{context}: the echo is removed");
        assert!(
            !state["pods"].as_array().unwrap().iter().any(|p| p["name"] == "mesh-render-fleet-client"),
            "{context}: the client is removed"
        );
    }

    // `plan destroy`: the remote secrets go first in every cluster, then west's teardown and east's.
    let (out, calls) = cluster.run(bench.path(), &bench.plan("destroy", None), &[]);
    ok(&out, "fleet destroy");
    let secrets_gone = at(&calls, "east", "delete secret istio-remote-secret-west");
    assert!(secrets_gone < at(&calls, "kind-west", "delete secret istio-remote-secret-east"));
    let first_uninstall = calls.iter().position(|c| c.contains("uninstall")).unwrap();
    assert!(at(&calls, "kind-west", "delete secret istio-remote-secret-east") < first_uninstall);
    assert!(
        at(&calls, "kind-west", "helm --kube-context kind-west uninstall istiod") < at(&calls, "east", "uninstall istiod"),
        "reverse order"
    );
    for context in ["east", "kind-west"] {
        let state = cluster.context(context);
        assert_eq!(state["releases"], serde_json::json!({}), "{context}");
        assert_eq!(state["violations"], serde_json::json!([]), "{context}: the gateway goes before istiod");
        assert!(at(&calls, context, "uninstall istio-eastwestgateway") < at(&calls, context, "uninstall istiod"));
        assert!(
            state["objects"].get("ClusterIssuer//playground-root-ca").is_none(),
            "{context}: the ClusterIssuer mesh-render owns is deleted"
        );
        assert!(state["namespaces"].get("istio-system").is_none());
        object(&state, "Secret/cert-manager/playground-root-ca");
    }
    assert!(stderr(&out).contains("the root's Secret cert-manager/playground-root-ca stays in every cluster: it is yours"));
}

/// What Argo CD's ApplicationSet leaves in each cluster of `golden/fleet-two-networks` before the
/// joins (docs/argocd.md): objects applied from `helm template` and from the cluster's tree, no Helm
/// release. Here the intermediate CA (`manifests/01-trust.yaml`, which cert-manager issues) and the
/// base chart's reader ServiceAccount as `helm template` renders it (istio 1.29.6
/// `manifests/charts/base/templates/reader-serviceaccount.yaml:6-16`, its `istio.labels` with
/// `.Release.Service` "Helm", `templates/zzz_profile.yaml:61-73`): none of the ownership
/// annotations `helm install` adds (helm v4.1.4 `pkg/action/install.go:395-398`); Argo CD v3's
/// annotation tracking (`argocd.argoproj.io/tracking-id`, `<app>:<group>/<kind>:<namespace>/<name>`,
/// argo-cd `util/argo/resource_tracking.go` BuildAppInstanceValue) instead. That is all the joins read.
fn installed_by_argocd() -> (Cluster, Bench) {
    let (cluster, bench) = fleet(&golden("fleet-two-networks"));
    let mut script = String::from("set -eu\n");
    for (context, name) in [("east", "east"), ("kind-west", "west")] {
        std::fs::write(
            bench.path().join(format!("reader-{name}.yaml")),
            format!(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: istio-reader-service-account\n  namespace: istio-system\n  labels:\n    app: istio-reader\n    release: istio-base\n    app.kubernetes.io/name: istio-reader\n    app.kubernetes.io/managed-by: Helm\n    app.kubernetes.io/instance: istio-base\n    app.kubernetes.io/part-of: istio\n  annotations:\n    argocd.argoproj.io/tracking-id: istio-base-{name}:/ServiceAccount:istio-system/istio-reader-service-account\n"
            ),
        )
        .unwrap();
        for file in [format!("{R}/clusters/{name}/manifests/01-trust.yaml"), format!("reader-{name}.yaml")] {
            script.push_str(&format!(
                "kubectl --context {context} apply --server-side --field-manager=argocd-controller --filename {file}\n"
            ));
        }
    }
    ok(&cluster.run(bench.path(), &script, &[]).0, "Argo CD's sync");
    (cluster, bench)
}

/// Clusters installed by Argo CD: the fleet's `plan apply` cannot write their remote secrets, since its
/// first Helm install refuses the objects Argo CD applied (no release owns them); `plan join` runs
/// the joins alone, the very calls of the fleet apply's last steps, and writes the remote secrets as
/// on a fleet the plan installed, with no Helm call and nothing restarted.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn plan_join_joins_clusters_installed_by_argocd_and_nothing_else() {
    let (cluster, bench) = installed_by_argocd();
    let (err, calls) = apply_stops(&cluster, &bench);
    assert!(
        err.contains("Error: unable to continue with install: ServiceAccount \"istio-reader-service-account\" in namespace \"istio-system\" exists and cannot be imported into the current release: invalid ownership metadata; annotation validation error: missing key \"meta.helm.sh/release-name\": must be set to \"istio-base\""),
        "{err}"
    );
    assert!(calls.last().unwrap().starts_with("helm --kube-context east upgrade --install istio-base"), "{calls:#?}");

    let (out, calls) = cluster.run(bench.path(), &bench.plan("join", None), &[]);
    ok(&out, "plan join");
    let tokens = joined(&cluster);
    for c in &calls {
        assert!(c.starts_with("kubectl --context "), "only kubectl, on a cluster's context: {c}");
        assert!(!c.contains(" rollout ") && !c.contains("/manifests/"), "nothing installed or restarted: {c}");
    }
    for token in &tokens {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(token.as_str()) && !stderr(&out).contains(token.as_str()));
    }
    assert!(stderr(&out).contains("==> done: the clusters of mesh playground (east, west) are joined"), "{}", stderr(&out));

    // The same calls as the fleet apply's joins, on a fleet the plan installed.
    let (_, _, _, apply) = installed();
    let joins = at(&apply, "east", "get secret cacerts");
    assert_eq!(calls, apply[joins..], "the join plan is the fleet apply's joins");
}

/// The fleet plan runs each cluster's plan as `plan … --cluster NAME` prints it: the same calls, on
/// the same tree. `--context` moves every call of one cluster's plan to another context.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn a_cluster_plan_is_the_fleet_plans_part_and_follows_context() {
    let (_, _, _, fleet_calls) = installed();
    let east: Vec<&String> = fleet_calls.iter().take_while(|c| context_of(c) == Some("east")).collect();

    let (alone, bench) = fleet(&golden("fleet-two-networks"));
    let o = bench.mesh_render(&["--cluster", "east", "plan", "apply"]);
    ok(&o, "plan apply --cluster east");
    let plan = String::from_utf8(o.stdout).unwrap();
    let tree = format!("{R}/clusters/east");
    let (out, calls) = alone.run(bench.path(), &plan, &[("MESH_RENDER_RENDERED", &tree)]);
    ok(&out, "the cluster's plan alone");
    assert_eq!(calls.iter().collect::<Vec<_>>(), east);
    assert!(
        stderr(&out).contains("the fleet plan (`mesh-render plan apply`, without\n--cluster) installs each cluster in turn"),
        "{}",
        stderr(&out)
    );

    let o = bench.mesh_render(&["--cluster", "west", "plan", "verify", "--context", "kind-west-admin"]);
    ok(&o, "plan verify --context");
    let plan = String::from_utf8(o.stdout).unwrap();
    assert!(plan.contains("Generated by `mesh-render --cluster west --context kind-west-admin plan verify`"));
    let (out, calls) = alone.run(bench.path(), &plan, &[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("context was not found for specified context: kind-west-admin"), "{}", stderr(&out));
    assert!(calls.iter().all(|c| context_of(c) == Some("kind-west-admin")), "{calls:#?}");
}

/// The shared root's Secret is the user's: missing in a cluster, the plan stops there with the
/// command that creates it, and creates nothing of it itself.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn a_missing_root_secret_stops_the_plan_with_how_to_create_it() {
    let cluster = Cluster::fleet(&CONTEXTS, &LOAD_BALANCERS, &MESH);
    let bench = Bench::new(&golden("fleet-two-networks"), None);
    root_secrets(&cluster, &bench, &[("east", "root A")]);
    let (err, calls) = apply_stops(&cluster, &bench);
    assert!(err.contains("the Secret cert-manager/playground-root-ca is missing in cluster west (context kind-west)"), "{err}");
    assert!(err.contains(
        "kubectl --context kind-west create secret tls playground-root-ca --cert=root-cert.pem --key=root-key.pem --namespace cert-manager"
    ));
    assert!(err.contains("mesh-render never\nrenders or creates it"), "{err}");
    let stopped = at(&calls, "kind-west", "get secret playground-root-ca");
    assert_eq!(stopped, calls.len() - 1, "nothing runs after the check: {calls:#?}");
    assert!(cluster.context("kind-west")["objects"].get("Secret/cert-manager/playground-root-ca").is_none());
    assert_eq!(cluster.context("east")["releases"].as_object().unwrap().len(), 3, "east, before it, is installed");
}

/// On kind, a LoadBalancer Service never gets an address: the east-west gateway's Service must
/// carry the node's IP. Without one, the plan stops after the gateway with the hint, before the
/// manifests and the remote secrets.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn an_east_west_gateway_without_an_address_stops_the_plan() {
    let config = golden("fleet-two-networks")
        .replace("          eastWest:\n            service: {type: ClusterIP, externalIPs: [172.18.0.3]}\n", "");
    assert_ne!(config, golden("fleet-two-networks"));
    let (cluster, bench) = fleet(&config);
    let (err, calls) = apply_stops(&cluster, &bench);
    assert!(err.contains("the east-west gateway's Service istio-system/istio-eastwestgateway of cluster west (context kind-west)\nhas no address after 300s: it is type LoadBalancer and nothing assigned one"), "{err}");
    assert!(err.contains("eastWest: {service: {type: ClusterIP, externalIPs: [<the node's IP>]}}"), "{err}");
    assert!(err.contains("install a LoadBalancer\nimplementation"), "{err}");
    at(&calls, "kind-west", "wait --for=jsonpath={.status.loadBalancer.ingress} service/istio-eastwestgateway --timeout=300s");
    assert!(!calls.iter().any(|c| context_of(c) == Some("kind-west") && c.contains("00-namespaces.yaml")));
    assert!(!calls.iter().any(|c| c.contains("--filename -")), "no remote secret: {calls:#?}");
    // East's LoadBalancer implementation gave its gateway an address.
    assert!(err.contains("[east] the east-west gateway istio-system/istio-eastwestgateway has the address 203.0.113."), "{err}");
}

/// A NodePort east-west gateway has no address of its own: istiod gives the other networks the
/// ExternalIP of each node its `traffic.istio.io/nodeSelector` selects (`{}`, what the render writes
/// by default: every node), and kind's nodes have none. The plan stops there with the hint, before
/// the manifests and the remote secrets; once a selected node has an ExternalIP the same plan goes
/// on, names it, and calls cross through it. With a selector, only the nodes it selects count.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn a_node_port_east_west_gateway_needs_a_selected_node_with_an_external_ip() {
    let node_port = |extra: &str| {
        let config = golden("fleet-two-networks")
            .replace("service: {type: ClusterIP, externalIPs: [172.18.0.3]}", &format!("service: {{type: NodePort{extra}}}"));
        assert_ne!(config, golden("fleet-two-networks"));
        config
    };
    let node = |labels: serde_json::Value, external: bool| {
        let mut addresses = vec![serde_json::json!({"type": "InternalIP", "address": "172.18.0.3"})];
        if external {
            addresses.push(serde_json::json!({"type": "ExternalIP", "address": "198.51.100.7"}));
        }
        serde_json::json!({"metadata": {"name": "west-control-plane", "labels": labels}, "status": {"addresses": addresses}})
    };
    let set_nodes = |cluster: &Cluster, nodes: Vec<serde_json::Value>| cluster.edit(|s| s["contexts"]["kind-west"]["nodes"] = nodes.into());

    let (cluster, bench) = fleet(&node_port(""));
    let (err, calls) = apply_stops(&cluster, &bench);
    assert!(err.contains("the east-west gateway's Service istio-system/istio-eastwestgateway of cluster west (context kind-west)\nis type NodePort: istiod gives the other networks the ExternalIP of each node its annotation\ntraffic.istio.io/nodeSelector selects (every node), and none of them has one"), "{err}");
    assert!(err.contains("eastWest: {service: {type: ClusterIP, externalIPs: [<the node's IP>]}}"), "{err}");
    assert_eq!(calls.last().map(String::as_str), Some("kubectl --context kind-west get nodes --output=jsonpath={range .items[*]}{.status.addresses[?(@.type==\"ExternalIP\")].address}{\" \"}{end}"));
    assert!(!calls.iter().any(|c| c.contains("--filename -")), "no remote secret: {calls:#?}");

    set_nodes(&cluster, vec![node(serde_json::json!({}), true)]);
    let (out, _) = cluster.run(bench.path(), &bench.plan("apply", None), &[]);
    ok(&out, "fleet apply, a node with an ExternalIP");
    assert!(stderr(&out).contains("[west] the east-west gateway istio-system/istio-eastwestgateway is a NodePort Service: istiod gives the other networks the ExternalIP of the nodes traffic.istio.io/nodeSelector selects (every node): 198.51.100.7\n"), "{}", stderr(&out));
    let (out, _) = cluster.run(bench.path(), &bench.plan("verify", None), &[("MESH_RENDER_FLEET_PAUSE", "0")]);
    ok(&out, "fleet verify through the NodePort gateway");
    assert!(stderr(&out).contains("from cluster east: answers from east west\n"), "{}", stderr(&out));

    // Only the nodes the selector picks: an ExternalIP on another node is no address.
    let (cluster, bench) = fleet(&node_port(r#", annotations: {traffic.istio.io/nodeSelector: '{"edge": "true"}'}"#));
    set_nodes(&cluster, vec![node(serde_json::json!({}), true), node(serde_json::json!({"edge": "false"}), true)]);
    let (err, calls) = apply_stops(&cluster, &bench);
    assert!(err.contains("traffic.istio.io/nodeSelector selects (edge=true), and none of them has one"), "{err}");
    assert!(calls.last().unwrap().starts_with("kubectl --context kind-west get nodes --selector edge=true --output="), "{calls:#?}");
    set_nodes(&cluster, vec![node(serde_json::json!({"edge": "true"}), true)]);
    ok(&cluster.run(bench.path(), &bench.plan("apply", None), &[]).0, "fleet apply, the selected node with an ExternalIP");
}

/// Clusters whose intermediate CAs chain to different roots refuse each other's mTLS: the plan
/// compares the roots (SHA-256 of each `cacerts` `ca.crt`) and stops before any remote secret.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn clusters_on_different_roots_stop_the_plan() {
    let cluster = Cluster::fleet(&CONTEXTS, &LOAD_BALANCERS, &MESH);
    let bench = Bench::new(&golden("fleet-two-networks"), None);
    root_secrets(&cluster, &bench, &[("east", "root A"), ("kind-west", "root B")]);
    let (err, calls) = apply_stops(&cluster, &bench);
    assert!(err.contains("the clusters' intermediate CAs chain to different roots"), "{err}");
    let sha = |root: &str| {
        let pem = format!("-----BEGIN CERTIFICATE-----\n{root}\n-----END CERTIFICATE-----\n");
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg("printf '%s' \"$1\" | sha256sum | cut -d ' ' -f 1")
            .arg("sh")
            .arg(pem)
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    assert!(err.contains(&format!("  east (context east): {}\n  west (context kind-west): {}\n", sha("root A"), sha("root B"))), "{err}");
    assert!(!calls.iter().any(|c| c.contains("--filename -")), "no remote secret: {calls:#?}");
    assert_eq!(calls.last().map(|c| context_of(c)), Some(Some("kind-west")));
}

/// kind's kubeconfig names its API server on 127.0.0.1, which the other cluster's pods cannot
/// reach: without `apiServer`, the plan refuses it for the remote secret (istioctl only warns).
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn a_loopback_api_server_is_refused_for_the_remote_secret() {
    let config = golden("fleet-two-networks").replace("          apiServer: https://172.18.0.3:6443\n", "");
    assert_ne!(config, golden("fleet-two-networks"));
    let (cluster, bench) = fleet(&config);
    let (err, calls) = apply_stops(&cluster, &bench);
    assert!(err.contains("the API server of cluster west is 'https://127.0.0.1:40123' (the server of kube context kind-west): the pods of the\nother clusters cannot reach it"), "{err}");
    assert!(err.contains("Set apiServer on\ncluster west"), "{err}");
    at(&calls, "kind-west", "config view --minify");
    // East's remote secret went to west first; none of west reached east, and no token was read.
    assert!(cluster.context("kind-west")["objects"].get("Secret/istio-system/istio-remote-secret-east").is_some());
    assert!(cluster.context("east")["objects"].get("Secret/istio-system/istio-remote-secret-west").is_none());
    assert!(!calls.iter().any(|c| context_of(c) == Some("kind-west") && c.contains("istio-remote-secret-token")), "{calls:#?}");
}

/// Every loopback form of an API server is refused, from the config's `apiServer` too: the IPv4
/// loopback block 127.0.0.0/8 (RFC 1122 3.2.1.3), IPv6's ::1 (RFC 4291 2.5.3), `localhost` in any case
/// and below it (RFC 6761 6.3), and the unspecified 0.0.0.0 and ::, which Linux connects to the local
/// host. An address that only contains `127` is not.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn every_loopback_api_server_is_refused() {
    let (cluster, _, _, _) = installed();
    for (server, is_loopback) in [
        ("https://127.1.2.3:6443", true),
        ("https://[::1]:6443", true),
        ("https://[0:0:0:0:0:0:0:1]:6443", true),
        ("https://0.0.0.0:6443", true),
        ("https://[::]:6443", true),
        ("https://localhost:6443", true),
        ("https://LocalHost", true),
        ("https://api.localhost:6443", true),
        ("https://10.0.127.1:6443", false),
        ("https://127-0-0-1.example.com:6443", false),
    ] {
        let config = golden("fleet-two-networks").replace("apiServer: https://172.18.0.3:6443", &format!("apiServer: {server}"));
        assert_ne!(config, golden("fleet-two-networks"));
        let bench = Bench::new(&config, None);
        let (out, _) = cluster.run(bench.path(), &bench.plan("join", None), &[]);
        let err = stderr(&out);
        if is_loopback {
            assert_eq!(out.status.code(), Some(1), "{server}: {err}");
            assert!(
                err.contains(&format!("the API server of cluster west is '{server}' (apiServer in the config): the pods of the\nother clusters cannot reach it")),
                "{server}: {err}"
            );
        } else {
            ok(&out, server);
            assert!(err.contains(&format!("with which its istiod watches cluster west at {server}\n")), "{server}: {err}");
        }
    }
}

/// The reader token never lands in a file: the plan hands it on through pipes, not here-documents,
/// which bash before 5.1 writes to a temporary file (as bash 5.2 with BASH_COMPAT=50 does, which runs
/// the plan here). Every process the token or its kubeconfig reaches on stdin (base64, then kubectl)
/// reads it from a pipe.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn the_reader_token_goes_through_pipes_only() {
    let (cluster, bench) = installed_by_argocd();
    cluster.record_stdin("base64");
    let (out, _) = cluster.run_with("bash", bench.path(), &bench.plan("join", None), &[("BASH_COMPAT", "50")]);
    ok(&out, "plan join with bash's here-documents in files");
    joined(&cluster);
    let reads = cluster.stdin_log();
    let carrying: Vec<&String> = reads.iter().filter(|r| r.contains(": base64") || r.contains("--force-conflicts --filename -")).collect();
    assert_eq!(carrying.iter().filter(|r| r.contains("--force-conflicts")).count(), 2, "both remote secrets: {reads:#?}");
    assert!(carrying.iter().all(|r| r.starts_with("fifo: ")), "read from a file: {reads:#?}");
    // The recorder sees a here-document as a file: the Secret that starts the token controller
    // (no credential in it) comes through one.
    assert!(reads.iter().any(|r| r.starts_with("regular file: kubectl") && r.contains(" create --filename -")), "{reads:#?}");
}

/// `golden/fleet-gpu`'s kubeconfig: three clusters, each on its public address, each with a
/// LoadBalancer implementation.
const GPU_CONTEXTS: [(&str, &str); 3] =
    [("app-a", "https://app-a.example.com:6443"), ("app-b", "https://app-b.example.com:6443"), ("gpu", "https://gpu.example.com:6443")];

/// `config` (a variant of `golden/fleet-gpu`) installed by its fleet plan on three clusters, each
/// with the issuer the config names (`trust.issuer`: a Vault ClusterIssuer of the one root, which
/// mesh-render neither renders nor creates; Ready and its root as its own controller would leave
/// them).
fn gpu_fleet(config: &str) -> (Cluster, Bench) {
    let cluster = Cluster::fleet(&GPU_CONTEXTS, &["app-a", "app-b", "gpu"], &MESH);
    let bench = Bench::new(config, None);
    std::fs::write(
        bench.path().join("vault-issuer.yaml"),
        format!(
            "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: vault-mesh-root\nspec:\n  vault: {{server: https://vault.example.com, path: pki/sign/mesh}}\nstatus:\n  conditions: [{{type: Ready, status: \"True\"}}]\nfakeRoot: {}\n",
            base64("the Vault root of the mesh")
        ),
    )
    .unwrap();
    let issuers: String = GPU_CONTEXTS.iter().map(|(c, _)| format!("kubectl --context {c} apply --filename vault-issuer.yaml\n")).collect();
    ok(&cluster.run(bench.path(), &format!("set -eu\n{issuers}"), &[]).0, "the issuers");
    let (out, _) = cluster.run(bench.path(), &bench.plan("apply", None), &[]);
    ok(&out, "fleet apply");
    (cluster, bench)
}

/// `golden/fleet-gpu` shares no app namespace (the GPU cluster has `inference` only), so `plan
/// verify` probes in a namespace of its own, which no cross-network Gateway passes through (each
/// passes its app namespaces' services only): for the run, each east-west gateway gets a Gateway of
/// its own for that namespace, deleted on exit; then every cluster answers from every other.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn verify_calls_across_networks_when_the_clusters_share_no_app_namespace() {
    let (cluster, bench) = gpu_fleet(&golden("fleet-gpu"));
    let (out, calls) =
        cluster.run(bench.path(), &bench.plan("verify", None), &[("MESH_RENDER_FLEET_PAUSE", "0"), ("MESH_RENDER_FLEET_ROUNDS", "2")]);
    let err = stderr(&out);
    ok(&out, "fleet verify");
    for from in ["app-a", "app-b", "gpu"] {
        assert!(err.contains(&format!("from cluster {from}: answers from app-a app-b gpu\n")), "{err}");
    }
    for (context, _) in GPU_CONTEXTS {
        let applied = at(&calls, context, "--namespace istio-system apply --filename -");
        assert!(applied < at(&calls, context, "exec mesh-render-fleet-client"), "before the calls");
        at(&calls, context, "--namespace istio-system delete gateways.networking.istio.io mesh-render-fleet-verify");
        let state = cluster.context(context);
        assert!(state["objects"].get("Gateway/istio-system/mesh-render-fleet-verify").is_none(), "{context}: removed on exit");
        object(&state, "Gateway/istio-system/cross-network-gateway");
        assert!(state["namespaces"].get("mesh-render-fleet-verify").is_none(), "{context}");
    }
}

/// A cluster without an app namespace has no east-west gateway (nothing of it is for other
/// networks), and here it is alone on its network: calls from the other network cannot reach it,
/// and `plan verify` says so instead of waiting for its answer; it still calls out through the
/// others' gateways. A cluster without a gateway of its own (`eastWest.enabled: false`) on a network
/// that has one is reached through that one (istiod picks any gateway of the endpoint's network).
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn verify_expects_no_answer_across_networks_from_a_network_without_an_east_west_gateway() {
    let config = golden("fleet-gpu").replace("              apps: [inference]\n", "              apps: []\n").replace(
        "        - name: app-b\n          network: apps\n",
        "        - name: app-b\n          network: apps\n          eastWest: {enabled: false}\n",
    );
    assert_eq!(config.matches("apps: []").count() + config.matches("enabled: false").count(), 2, "{config}");
    let (cluster, bench) = gpu_fleet(&config);
    let (out, calls) =
        cluster.run(bench.path(), &bench.plan("verify", None), &[("MESH_RENDER_FLEET_PAUSE", "0"), ("MESH_RENDER_FLEET_ROUNDS", "2")]);
    let err = stderr(&out);
    ok(&out, "fleet verify");
    for from in ["app-a", "app-b"] {
        assert!(
            err.contains(&format!("from cluster {from}: no answer expected from cluster gpu: network gpu has no east-west gateway")),
            "{err}"
        );
        assert!(err.contains(&format!("from cluster {from}: answers from app-a app-b\n")), "{err}");
    }
    assert!(err.contains("from cluster gpu: answers from app-a app-b gpu\n"), "{err}");
    // The temporary Gateway goes where an east-west gateway runs.
    at(&calls, "app-a", "--namespace istio-system apply --filename -");
    for context in ["app-b", "gpu"] {
        assert!(
            !calls.iter().any(|c| context_of(c) == Some(context) && c.contains("--namespace istio-system apply")),
            "{context}: {calls:#?}"
        );
    }
}

/// istiod picks its CA when it starts: one installed before the intermediate CA (here by an earlier
/// install without it) runs on a root of its own, kept in `istio-ca-secret`, and would not take the
/// intermediate CA. The plan says how to move it and stops before it installs anything more there.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn istiod_on_its_own_root_stops_the_plan() {
    let (cluster, bench) = fleet(&golden("fleet-two-networks"));
    let earlier = format!(
        "set -eu\nhelm --kube-context east upgrade --install istiod istiod --namespace istio-system --create-namespace --values {R}/clusters/east/lifecycle/istiod-values.yaml --wait\n"
    );
    ok(&cluster.run(bench.path(), &earlier, &[]).0, "an istiod installed before");
    assert_eq!(cluster.context("east")["objects"]["Secret/istio-system/istio-ca-secret"]["type"], "istio.io/ca-root");
    let (err, calls) = apply_stops(&cluster, &bench);
    assert!(err.contains("istiod of cluster east (context east) runs, or ran, on a root of its own"), "{err}");
    assert!(err.contains("kubectl --context east rollout restart deployment/istiod --namespace istio-system"), "{err}");
    assert!(err.contains("then restart every workload with a sidecar"), "{err}");
    assert!(!calls.iter().any(|c| c.starts_with("helm")), "{calls:#?}");
    // The check comes once the intermediate CA is there, as the plan's order says.
    assert_eq!(
        calls.last().map(String::as_str),
        Some("kubectl --context east get secret istio-ca-secret --namespace istio-system --ignore-not-found --output=name")
    );
}

/// `plan verify` fails, naming the cluster never heard and what joins the two, when a call across
/// networks cannot get there (here west's cross-network Gateway is gone); and it names a missing
/// remote secret.
#[test]
#[ignore = "needs the fake cluster's Python with PyYAML: run by `make test` (`make tools` installs it)"]
fn verify_names_the_cluster_a_call_never_reached() {
    let (cluster, bench, _, _) = installed();
    let env = [("MESH_RENDER_FLEET_PAUSE", "0"), ("MESH_RENDER_FLEET_ROUNDS", "2")];
    let gone = "set -eu\nkubectl --context kind-west delete --filename deployment/rendered/clusters/west/manifests/32-east-west.yaml\n";
    ok(&cluster.run(bench.path(), gone, &[]).0, "the cross-network Gateway deleted");
    let (out, calls) = cluster.run(bench.path(), &bench.plan("verify", None), &env);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("from cluster east (network net-east), mesh-render-fleet-echo.demo never answered from:\n  west (network net-west: calls go through its network's east-west gateway on 15443; check that gateway's Service address, the Gateway istio-system/cross-network-gateway that passes demo through there,"), "{err}");
    assert_eq!(calls.iter().filter(|c| context_of(c) == Some("east") && c.contains(" exec ")).count(), 2, "two rounds");
    assert!(calls.last().unwrap().contains("delete"), "cleanup runs: {calls:#?}");

    let gone = "set -eu\nkubectl --context east --namespace istio-system delete secret istio-remote-secret-west\n";
    ok(&cluster.run(bench.path(), gone, &[]).0, "a remote secret deleted");
    let (out, _) = cluster.run(bench.path(), &bench.plan("verify", None), &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("remote secrets are missing or wrong; the fleet plan (mesh-render plan apply) writes them:\n  cluster east has no Secret istio-system/istio-remote-secret-west"), "{}", stderr(&out));
}

/// `--context` is one cluster's: without `--cluster` it is MR011, for a fleet and for one cluster.
/// `plan join` is the fleet's: with `--cluster`, or for a config of one cluster, it is MR011.
#[test]
fn plan_context_needs_a_cluster_and_plan_join_the_fleet() {
    let dir = support::workdir(&golden("fleet-two-networks"));
    let err = refused(dir.path(), &["plan", "apply", "--context", "kind-west"]);
    assert!(err.contains("error[MR011]: components.istio.multiCluster.clusters: the mesh spans 2 clusters (east, west); `plan --context` works on one of them"), "{err}");
    assert!(err.contains("hint: pass --cluster NAME with --context (one of east, west)"), "{err}");
    let o = support::run_in(dir.path(), &["--cluster", "west", "plan", "apply", "--context", "kind west"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(support::stderr(&o).contains("`kind west` is not a kube context name"));

    let dir = support::workdir(&support::playground());
    let o = support::run_in(dir.path(), &["plan", "destroy", "--context", "kind-west"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(support::stderr(&o).contains("error[MR011]: `plan --context` names the kube context of one cluster of a multi-cluster mesh"));

    let dir = support::workdir(&golden("fleet-two-networks"));
    let err = refused(dir.path(), &["--cluster", "west", "plan", "join"]);
    assert!(err.contains("error[MR011]: components.istio.multiCluster.clusters: `plan join` joins every cluster of the mesh (east, west), not one: --cluster west selects one"), "{err}");
    assert!(err.contains("hint: leave --cluster out"), "{err}");
    let plan = support::stdout(&support::run_in(dir.path(), &["plan", "join"]));
    assert!(plan.starts_with("#!/bin/sh\n# mesh-render plan join:"), "{plan}");
    assert!(!plan.contains("helm ") && !plan.contains("MESH_RENDER_RENDERED"), "{plan}");

    let dir = support::workdir(&support::playground());
    assert!(refused(dir.path(), &["plan", "join"])
        .contains("error[MR011]: `plan join` joins the clusters of a multi-cluster mesh, and this config describes one cluster"));
}

/// The fleet plan without a shared app namespace (the GPU cluster has its own) probes in a namespace
/// of its own, labelled for injection in each cluster with that cluster's label; with the issuer the
/// config names, the plans check it is Ready instead of a root Secret, and never delete it.
#[test]
fn fleet_plans_follow_the_trust_and_the_namespaces_of_the_config() {
    let dir = support::workdir(&golden("fleet-gpu"));
    let verify = support::stdout(&support::run_in(dir.path(), &["plan", "verify"]));
    assert!(verify.contains("kubectl --context gpu label namespace mesh-render-fleet-verify istio-injection=enabled"), "{verify}");
    assert!(verify.contains("heard_all app-a app-a apps app-a apps app-b apps gpu gpu\n"), "{verify}");
    // For the run, a Gateway that passes the plan's own namespace through each east-west gateway.
    assert!(verify.contains("kubectl --context gpu --namespace istio-system apply --filename - <<GATEWAY\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: mesh-render-fleet-verify\n"), "{verify}");
    assert!(verify.contains("        - \"*.mesh-render-fleet-verify.svc.cluster.local\"\n"), "{verify}");
    let apply = support::stdout(&support::run_in(dir.path(), &["plan", "apply"]));
    assert!(apply.contains("kubectl get clusterissuer.cert-manager.io vault-mesh-root --ignore-not-found"), "{apply}");
    assert!(!apply.contains("create secret tls"));
    let destroy = support::stdout(&support::run_in(dir.path(), &["plan", "destroy"]));
    assert!(destroy.contains("the issuer vault-mesh-root is yours and stays"));
    assert!(!destroy.contains("root's Secret"));
}
