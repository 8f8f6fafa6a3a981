//! A multi-cluster mesh (`components.istio.multiCluster`) through the binary: one cluster at a time
//! (`--cluster`, and the plugin's `cluster` and `part` parameters under Argo CD), the fleet's tree,
//! and `check` of both.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{repo_root, run_in, snapshot_tree, stderr, stdout, workdir};

fn fleet() -> tempfile::TempDir {
    workdir(&std::fs::read_to_string(repo_root().join("golden/fleet-two-networks/config.yaml")).unwrap())
}

/// The kinds of the objects of a YAML stream, in order.
fn kinds(stream: &str) -> Vec<String> {
    stream.lines().filter_map(|l| l.strip_prefix("kind: ")).map(str::to_string).collect()
}

/// Rule: printing one cluster's objects needs `--cluster` (MR011): nothing on stdout, exit 2, and
/// the hint names the clusters.
#[test]
fn a_fleets_stream_needs_a_cluster() {
    let dir = fleet();
    let o = run_in(dir.path(), &["render"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("error[MR011]: components.istio.multiCluster.clusters: the mesh spans 2 clusters (east, west); `render` to stdout works on one of them"), "{err}");
    assert!(err.contains("hint: pass --cluster NAME (one of east, west)"), "{err}");
    let o = run_in(dir.path(), &["--cluster", "north", "render"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cluster `north` is not in the mesh's clusters"), "{}", stderr(&o));
}

/// Rule: `--part` splits a cluster's stream: `trust` (the intermediate CA istiod needs at start),
/// `mesh` (the rest), and together they are the whole stream; `applications` is the cluster's
/// Argo CD Applications, each named for the cluster and sent to its server.
#[test]
fn a_clusters_stream_splits_into_trust_and_mesh() {
    let dir = fleet();
    let all = stdout(&run_in(dir.path(), &["--cluster", "east", "render"]));
    let trust = stdout(&run_in(dir.path(), &["--cluster", "east", "render", "--part", "trust"]));
    let mesh = stdout(&run_in(dir.path(), &["--cluster", "east", "render", "--part", "mesh"]));
    assert_eq!(kinds(&trust), ["ClusterIssuer", "Certificate"]);
    assert!(!kinds(&mesh).iter().any(|k| k == "Certificate" || k == "ClusterIssuer"));
    let mut together = kinds(&trust);
    together.extend(kinds(&mesh));
    let mut whole = kinds(&all);
    whole.sort();
    together.sort();
    assert_eq!(together, whole, "trust and mesh are the whole stream");
    assert!(mesh.contains("kind: Gateway\nmetadata:\n") && mesh.contains("name: cross-network-gateway"));
    let apps = stdout(&run_in(dir.path(), &["--cluster", "east", "render", "--part", "applications"]));
    let names: Vec<&str> = apps.lines().filter_map(|l| l.strip_prefix("  name: ")).collect();
    assert_eq!(names, ["istio-base-east", "istiod-east", "istio-eastwest-east", "istio-mesh-east"]);
    assert_eq!(apps.matches("server: https://east.example.com:6443").count(), 4, "every child goes to east's server");
    // istiod's Application holds the trust, one wave before istiod, and the PostDelete finalizers
    // of the trust's cleanup; the gateway's Application has its PreSync gate as a second source.
    let doc = |name: &str| apps.split("\n---\n").find(|d| d.contains(&format!("  name: {name}\n"))).map(str::to_string).expect(name);
    let istiod = doc("istiod-east");
    assert!(istiod.contains("chart: istiod") && istiod.contains("string: trust") && !istiod.contains("chart: gateway"), "{istiod}");
    assert!(istiod.contains("- post-delete-finalizer.argocd.argoproj.io\n"), "{istiod}");
    let gateway = doc("istio-eastwest-east");
    assert!(gateway.contains("chart: gateway") && gateway.contains("string: eastwest-gate"), "{gateway}");
    assert!(trust.matches("argocd.argoproj.io/sync-wave: \"-1\"").count() == 2, "the trust objects are wave -1: {trust}");
    assert!(!trust.contains("PostDelete"), "outside Argo CD the trust part holds no hook: {trust}");
}

/// Rule: `render --out DIR` of a fleet writes every cluster's tree under `clusters/<name>/`, each the
/// bytes `--cluster NAME render --out` writes, and the ApplicationSet under `fleet/`; `--check`
/// finds it up to date, and a stale file makes it fail.
#[test]
fn the_fleets_tree_holds_every_clusters_tree_and_the_application_set() {
    let dir = fleet();
    let o = run_in(dir.path(), &["render", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("(58 objects in 2 clusters)"), "{}", stderr(&o));
    assert!(dir.path().join("out/fleet/applicationset.yaml").is_file());
    for cluster in ["east", "west"] {
        let single = format!("single-{cluster}");
        assert_eq!(run_in(dir.path(), &["--cluster", cluster, "render", "--out", &single]).status.code(), Some(0));
        let strip = |root: &Path| -> Vec<(std::path::PathBuf, Vec<u8>)> {
            snapshot_tree(root).into_iter().map(|(p, b)| (p.strip_prefix(root).unwrap().to_path_buf(), b)).collect()
        };
        assert_eq!(strip(&dir.path().join(format!("out/clusters/{cluster}"))), strip(&dir.path().join(&single)), "{cluster}");
    }
    assert_eq!(run_in(dir.path(), &["render", "--out", "out", "--check"]).status.code(), Some(0));
    std::fs::write(dir.path().join("out/clusters/west/lifecycle/istiod-values.yaml"), "global: {}\n").unwrap();
    let stale = run_in(dir.path(), &["render", "--out", "out", "--check"]);
    assert_eq!(stale.status.code(), Some(1), "{}", stderr(&stale));
    assert!(stderr(&stale).contains("clusters/west/lifecycle/istiod-values.yaml"), "{}", stderr(&stale));
}

/// Rule: `check --rendered` of a fleet's tree checks every cluster's tree, then what they must
/// agree on: a tree rendered for another mesh is MR151.
#[test]
fn check_rendered_reads_a_fleets_trees_together() {
    let dir = fleet();
    assert_eq!(run_in(dir.path(), &["render", "--out", "out"]).status.code(), Some(0));
    let ok = run_in(dir.path(), &["check", "--rendered", "out"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stderr(&ok).contains("out: 2 cluster trees"), "{}", stderr(&ok));
    let values = dir.path().join("out/clusters/west/helm/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    assert!(text.contains("meshID: playground"));
    std::fs::write(&values, text.replace("meshID: playground", "meshID: staging")).unwrap();
    let bad = run_in(dir.path(), &["check", "--rendered", "out"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains(
            "error[MR151]: components.istio.multiCluster.meshID: the clusters name different meshes (east: playground, west: staging)"
        ),
        "{}",
        stderr(&bad)
    );
}

/// Rule: under Argo CD the plugin takes the cluster and the part from the Application's parameters,
/// and prints what the same flags print; without a cluster it prints nothing and fails.
#[test]
fn the_plugin_renders_the_cluster_and_part_its_application_names() {
    let dir = fleet();
    let plugin = |parameters: &str| -> Output {
        Command::new(env!("CARGO_BIN_EXE_mesh-render"))
            .current_dir(dir.path())
            .arg("render")
            .env("ARGOCD_APP_NAME", "istio-trust-west")
            .env("ARGOCD_APP_PARAMETERS", parameters)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = plugin(r#"[{"name":"cluster","string":"west"},{"name":"part","string":"trust"}]"#);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plain = stdout(&run_in(dir.path(), &["--cluster", "west", "render", "--part", "trust"]));
    let out = stdout(&o);
    let (objects, hooks) = out.split_at(plain.len());
    assert_eq!(objects, plain, "under Argo CD the trust part is the trust objects, then the cleanup hooks");
    assert_eq!(kinds(hooks), ["ServiceAccount", "Role", "RoleBinding", "Job"]);
    assert_eq!(hooks.matches("argocd.argoproj.io/hook: PostDelete").count(), 4, "{hooks}");
    let gate = plugin(r#"[{"name":"cluster","string":"west"},{"name":"part","string":"eastwest-gate"}]"#);
    assert_eq!(kinds(&stdout(&gate)), ["ServiceAccount", "Role", "RoleBinding", "Job"]);
    assert!(stderr(&o).contains("rendering the base settings of cluster `west`"), "{}", stderr(&o));
    let none = plugin("[]");
    assert_eq!(none.status.code(), Some(2));
    assert!(none.stdout.is_empty(), "an empty render would make Argo CD prune everything");
}

/// Rule: `check` of a fleet without `--cluster` analyzes every cluster; a finding about one cluster
/// names it, and the mesh-wide checks report once.
#[test]
fn check_analyzes_every_cluster() {
    let dir = workdir(
        "components:\n  istio:\n    enabled: true\n    version: \"1.29.8\"\n    namespaces: {apps: [demo]}\n    multiCluster:\n      meshID: m\n      eastWest: {enabled: false}\n      clusters:\n      - {name: east, network: n1}\n      - {name: west, network: n2}\n",
    );
    let o = run_in(dir.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.matches("error[MR152]").count(), 2, "one per network, reported once: {err}");
    assert!(
        err.contains(
            "(pod of cluster west -> Kubernetes Service of its namespace in cluster east): east (network n1) has no east-west gateway"
        ),
        "{err}"
    );
    assert!(err.contains("(in cluster `east`)") && err.contains("(in cluster `west`)"), "{err}");
}

/// Rule: under Argo CD the east-west gateway's Application waits for istiod by a PreSync gate (a
/// gateway pod created before the injector keeps `image: auto`), and the Application that holds the
/// trust deletes the intermediate CA's Secret after istiod is gone (PostDelete), only when Argo CD
/// created the Job; both Jobs run with exactly the RBAC they call.
#[test]
fn the_gateway_waits_for_istiod_and_the_trust_cleans_up_after_itself() {
    let dir = fleet();
    assert_eq!(run_in(dir.path(), &["render", "--out", "out"]).status.code(), Some(0));
    let read = |f: &str| std::fs::read_to_string(dir.path().join("out/clusters/west").join(f)).unwrap();
    let gate = read("argocd-hooks/eastwest-gate.yaml");
    assert!(gate.contains("wait --for=condition=Available deployment/istiod --timeout=600s"), "{gate}");
    assert_eq!(gate.matches("argocd.argoproj.io/hook: PreSync").count(), 4);
    assert!(gate.contains("resourceNames:\n  - istiod\n  resources:\n  - deployments\n  verbs:\n  - get\n  - list\n  - watch\n"), "{gate}");
    let cleanup = read("argocd-hooks/trust-cleanup.yaml");
    assert!(cleanup.contains("kubectl delete secret cacerts --namespace istio-system --ignore-not-found"), "{cleanup}");
    assert!(cleanup.contains("carries no Argo CD tracking: it was not created by a deletion; nothing to do"), "{cleanup}");
    assert!(cleanup.contains("resourceNames:\n  - cacerts\n  resources:\n  - secrets\n  verbs:\n  - delete\n"), "{cleanup}");
    assert!(!read("manifests/01-trust.yaml").contains("PostDelete"), "kubectl apply of the trust file never creates the cleanup");
}
