//! Issue 23: a multi-cluster mesh rolled out by an Argo CD ApplicationSet. Argo CD's own code, not
//! our reading of it, generates the ApplicationSet's Applications and walks its RollingSync steps:
//! `oracle/argocd-health/fleet/` runs argo-cd v3.5.1's ApplicationSet code on the rendered
//! `fleet/applicationset.yaml` and writes what it made; this test judges it, and each cluster's
//! children (what the generated parent's plugin prints: `render --part applications`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use mesh_render::api::argocd::{CLUSTER_LABEL, CLUSTER_PARAMETER, PART_PARAMETER};
use mesh_render::check::schema::{Sources, Validator};
use mesh_render::config::gitops::IN_CLUSTER;
use mesh_render::config::syntax::Limits;
use mesh_render::{render_fleet, Loaded, FLEET_APPLICATION_SET};
use serde_json::{json, Value};

/// What a golden fleet's ApplicationSet must generate: one parent per cluster, in the config's order.
struct Expected {
    mesh_id: String,
    /// `(cluster, server)` in the order of `multiCluster.clusters`.
    clusters: Vec<(String, String)>,
    argocd_namespace: String,
    /// `Some(path)` for a directory source: the parent reads `path/clusters/<cluster>/argocd`.
    directory: Option<String>,
}

impl Expected {
    fn of(loaded: &Loaded) -> Expected {
        let section = loaded.selected_section();
        let mc = section.multi_cluster.as_ref().expect("a multi-cluster mesh");
        let a = section.argocd.as_ref().expect("argocd");
        Expected {
            mesh_id: mc.mesh_id.clone(),
            clusters: mc.clusters.iter().map(|c| (c.name.clone(), c.server.clone().unwrap_or_else(|| IN_CLUSTER.into()))).collect(),
            argocd_namespace: a.namespace.clone(),
            directory: (a.mesh_source == mesh_render::config::gitops::MeshSource::Directory).then(|| a.path.clone()),
        }
    }

    fn parent(&self, cluster: &str) -> String {
        format!("istio-{}-{cluster}", self.mesh_id)
    }

    fn parents(&self) -> Vec<String> {
        self.clusters.iter().map(|(c, _)| self.parent(c)).collect()
    }
}

/// Everything wrong with what Argo CD made of an ApplicationSet, against what it must generate.
fn judge_parents(expected: &Expected, result: &Value, validator: &mut Validator) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(e) = result["error"].as_str() {
        problems.push(format!("Argo CD could not generate the Applications: {e}"));
    }
    let apps = result["applications"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = apps.iter().map(|a| a["metadata"]["name"].as_str().unwrap_or("")).collect();
    if names != expected.parents() {
        problems.push(format!("generated {names:?}, expected one parent per cluster in the config's order: {:?}", expected.parents()));
    }
    let report = validator.validate(&apps);
    problems.extend(report.problems.iter().map(|p| format!("Application CRD schema: {p}")));
    if report.counts.get("argoproj.io/v1alpha1/Application").map_or(0, |c| c.objects) != apps.len() {
        problems.push(format!("not every generated object was validated as an Application: {:?}", report.counts));
    }
    for (app, (cluster, _)) in apps.iter().zip(&expected.clusters) {
        let name = app["metadata"]["name"].as_str().unwrap_or("");
        if app["metadata"]["labels"][CLUSTER_LABEL].as_str() != Some(cluster) {
            problems.push(format!("{name}: label {CLUSTER_LABEL} is {}, not {cluster}", app["metadata"]["labels"][CLUSTER_LABEL]));
        }
        let source = &app["spec"]["source"];
        match &expected.directory {
            None => {
                let params: BTreeMap<&str, &str> = source["plugin"]["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| Some((p["name"].as_str()?, p["string"].as_str()?)))
                    .collect();
                if params.get(CLUSTER_PARAMETER) != Some(&cluster.as_str()) || params.get(PART_PARAMETER) != Some(&"applications") {
                    problems.push(format!(
                        "{name}: plugin parameters {params:?}, expected {CLUSTER_PARAMETER}: {cluster} and {PART_PARAMETER}: applications"
                    ));
                }
            }
            Some(path) => {
                let want = format!("{}/clusters/{cluster}/argocd", path.trim_end_matches('/'));
                if source["path"].as_str() != Some(want.as_str()) {
                    problems.push(format!("{name}: source path {}, expected {want}", source["path"]));
                }
            }
        }
        let destination = &app["spec"]["destination"];
        let want = json!({"server": IN_CLUSTER, "namespace": expected.argocd_namespace});
        if *destination != want {
            problems.push(format!("{name}: destination {destination}, expected Argo CD's own cluster and namespace {want}"));
        }
        if app["metadata"]["namespace"].as_str() != Some(expected.argocd_namespace.as_str()) {
            problems.push(format!("{name}: namespace {}", app["metadata"]["namespace"]));
        }
    }
    // RollingSync: step i selects the parent of cluster i, and nothing else.
    let steps: Vec<Vec<&str>> = result["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["applications"].as_array().into_iter().flatten().filter_map(Value::as_str).collect())
        .collect();
    let want_steps: Vec<Vec<String>> = expected.parents().into_iter().map(|p| vec![p]).collect();
    if steps != want_steps {
        problems.push(format!("RollingSync steps select {steps:?}, expected {want_steps:?}"));
    }
    if result["unselected"].as_array().is_some_and(|u| !u.is_empty()) {
        problems.push(format!("no step selects {}: RollingSync never syncs them", result["unselected"]));
    }
    // The rollout: each parent's first sync in the config's order; and a first parent that stays
    // Progressing holds every other.
    let mut order: Vec<&str> = Vec::new();
    for name in
        result["rollout"].as_array().into_iter().flatten().flat_map(|r| r.as_array().into_iter().flatten()).filter_map(Value::as_str)
    {
        if !order.contains(&name) {
            order.push(name);
        }
    }
    if order != expected.parents() {
        problems.push(format!("RollingSync syncs {order:?} in that order, expected {:?}", expected.parents()));
    }
    let held: BTreeSet<&str> = result["heldBy"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let parents = expected.parents();
    let first: BTreeSet<&str> = parents.first().map(String::as_str).into_iter().collect();
    if held != first {
        problems.push(format!("while the first parent is Progressing, RollingSync syncs {held:?}, expected only {first:?}"));
    }
    problems
}

/// One cluster's children as the parent's plugin prints them.
struct Children {
    cluster: String,
    server: String,
    applications: Vec<Value>,
}

/// Everything wrong with the fleet's children: schema, a name two clusters share, a destination that
/// is not the cluster's server, a missing cluster label.
fn judge_children(fleet: &[Children], validator: &mut Validator) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for c in fleet {
        if c.applications.is_empty() {
            problems.push(format!("{}: the parent's plugin prints no Application", c.cluster));
        }
        let report = validator.validate(&c.applications);
        problems.extend(report.problems.iter().map(|p| format!("{}: Application CRD schema: {p}", c.cluster)));
        if report.counts.get("argoproj.io/v1alpha1/Application").map_or(0, |k| k.objects) != c.applications.len() {
            problems.push(format!("{}: not every child was validated as an Application: {:?}", c.cluster, report.counts));
        }
        for app in &c.applications {
            let name = app["metadata"]["name"].as_str().unwrap_or("").to_string();
            if let Some(other) = seen.insert(name.clone(), &c.cluster) {
                problems.push(format!("{name}: rendered for {other} and {}: one Argo CD namespace holds both", c.cluster));
            }
            if app["spec"]["destination"]["server"].as_str() != Some(c.server.as_str()) {
                problems
                    .push(format!("{name}: destination server {}, not {}'s {}", app["spec"]["destination"]["server"], c.cluster, c.server));
            }
            if app["metadata"]["labels"][CLUSTER_LABEL].as_str() != Some(c.cluster.as_str()) {
                problems.push(format!("{name}: label {CLUSTER_LABEL} is {}", app["metadata"]["labels"][CLUSTER_LABEL]));
            }
        }
    }
    problems
}

fn children(loaded: &Loaded, expected: &Expected) -> Vec<Children> {
    expected
        .clusters
        .iter()
        .map(|(cluster, server)| {
            let one = loaded.clone().with_cluster(Some(cluster)).expect("a listed cluster");
            let applications = mesh_render::render(&one).applications.iter().map(|m| serde_json::to_value(&m.object).unwrap()).collect();
            Children { cluster: cluster.clone(), server: server.clone(), applications }
        })
        .collect()
}

/// A case for Argo CD: an ApplicationSet (as JSON, which its YAML reader reads too) under a file name.
struct AppSet {
    file: String,
    text: String,
}

fn go(dir: &Path) -> Command {
    let root = common::repo_root();
    let mut cmd = Command::new(std::env::var("GO").unwrap_or_else(|_| "go".into()));
    cmd.current_dir(dir)
        .env("GOMODCACHE", root.join(".cache/go/mod"))
        .env("GOCACHE", root.join(".cache/go/build"))
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        .env("GOTOOLCHAIN", "local");
    cmd
}

fn output(cmd: &mut Command) -> String {
    let out =
        cmd.output().unwrap_or_else(|e| panic!("cannot run go ({e}): install Go 1.26.3 or newer (`make tools` names what is missing)"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?}:\n{text}");
    text
}

/// Replaces `from` with `to` in `text`, which must hold `from` exactly once.
fn replace_once(text: &str, from: &str, to: &str, what: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{what}: `{from}` is not there exactly once");
    text.replacen(from, to, 1)
}

/// Copies a folder of the module cache: contents only, not its read-only modes (`std::fs::copy`
/// would keep them, and the next run could not patch the copy).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

/// The module file the fleet harness builds with (`oracle/argocd-health/fleet/applicationset_test.go`
/// says why): go.mod with gitops-engine replaced by a copy of the one go.mod names, whose `Diff` and
/// `DiffArray` take no context, as at argo-cd v3.5.1 (`gitops-engine/pkg/diff/diff.go:76`, `:881`).
/// A stable folder, so that Go's build cache serves the second run.
fn fleet_modfile(harness: &Path) -> PathBuf {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("argocd-fleet");
    let engine = work.join("gitops-engine");
    let gomod = std::fs::read_to_string(harness.join("go.mod")).unwrap();
    let line = gomod
        .lines()
        .find(|l| l.trim_start().starts_with("github.com/argoproj/argo-cd/gitops-engine => "))
        .expect("go.mod replaces gitops-engine");
    // `module version`: downloaded (go.sum pins it) even before any other test fetched it.
    let pinned = line.split(" => ").nth(1).unwrap().trim().replace(' ', "@");
    let download: Value = serde_json::from_str(&output(go(harness).args(["mod", "download", "-json", &pinned]))).unwrap();
    let dir = download["Dir"].as_str().unwrap_or_else(|| panic!("go mod download {pinned}: {download}"));
    let _ = std::fs::remove_dir_all(&engine);
    copy_dir(Path::new(dir), &engine);
    let diff = engine.join("pkg/diff/diff.go");
    let mut text = std::fs::read_to_string(&diff).unwrap();
    for (from, to) in [
        (
            "func Diff(ctx context.Context, config, live *unstructured.Unstructured, opts ...Option) (*DiffResult, error) {\n",
            "func Diff(config, live *unstructured.Unstructured, opts ...Option) (*DiffResult, error) {\n\tctx := context.TODO()\n",
        ),
        (
            "func DiffArray(ctx context.Context, configArray, liveArray []*unstructured.Unstructured, opts ...Option) (*DiffResultList, error) {\n",
            "func DiffArray(configArray, liveArray []*unstructured.Unstructured, opts ...Option) (*DiffResultList, error) {\n",
        ),
        (":= Diff(ctx, config, live, opts...)", ":= Diff(config, live, opts...)"),
    ] {
        text = replace_once(&text, from, to, "gitops-engine pkg/diff/diff.go");
    }
    std::fs::write(&diff, text).unwrap();
    let modfile = work.join("fleet.mod");
    let replaced = format!("\tgithub.com/argoproj/argo-cd/gitops-engine => {}", engine.display());
    std::fs::write(&modfile, replace_once(&gomod, line, &replaced, "go.mod")).unwrap();
    std::fs::copy(harness.join("go.sum"), work.join("fleet.sum")).unwrap();
    modfile
}

/// Runs the harness on every case; the JSON it wrote for each, by file name.
fn argo_cd(cases: &[AppSet]) -> BTreeMap<String, Value> {
    let harness = common::repo_root().join("oracle/argocd-health");
    let modfile = fleet_modfile(&harness);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut files = Vec::new();
    for c in cases {
        let file = dir.path().join(format!("{}.yaml", c.file));
        std::fs::write(&file, &c.text).unwrap();
        files.push(file);
    }
    let flags = ["-tags", "argocd_fleet", "-modfile"];
    output(go(&harness).args(["vet"]).args(flags).arg(&modfile).arg("./fleet"));
    let text = output(
        go(&harness)
            .args(["test", "-count=1", "-v", "-run", "^TestGenerateApplicationSets$"])
            .args(flags)
            .arg(&modfile)
            .arg("./fleet")
            .env("MESH_RENDER_APPSETS", std::env::join_paths(&files).unwrap())
            .env("MESH_RENDER_APPSETS_OUT", &out),
    );
    assert!(text.contains("--- PASS: TestGenerateApplicationSets"), "the harness did not run:\n{text}");
    cases
        .iter()
        .map(|c| {
            let path = out.join(format!("{}.json", c.file));
            let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
            (c.file.clone(), serde_json::from_str(&json).unwrap())
        })
        .collect()
}

/// The golden fleets with Argo CD, then a directory-source variant of `fleet-two-networks`.
fn fleets() -> Vec<(String, Loaded)> {
    let mut out = Vec::new();
    let mut variant = None;
    for case in common::fleet_cases() {
        let loaded = case.loaded();
        if loaded.selected_section().argocd.is_none() {
            continue;
        }
        if case.snapshot_name() == PLANTED_FROM {
            let text = case.text().replace(
                "      targetRevision: main\n",
                "      targetRevision: main\n      meshSource: directory\n      path: deployment/rendered\n",
            );
            let directory = mesh_render::config::load(&text, None, Limits::DEFAULT).unwrap();
            assert!(
                directory.selected_section().argocd.as_ref().is_some_and(|a| a.path == "deployment/rendered"),
                "the variant is a directory source"
            );
            variant = Some((format!("{PLANTED_FROM}-directory"), directory));
        }
        out.push((case.snapshot_name(), loaded));
    }
    out.extend(variant);
    out
}

/// The golden fleet the planted mistakes start from.
const PLANTED_FROM: &str = "fleet-two-networks";

fn planted_from(fleets: &[(String, Loaded)]) -> &Loaded {
    &fleets.iter().find(|(name, _)| name == PLANTED_FROM).expect("golden/fleet-two-networks").1
}

fn application_set(loaded: &Loaded) -> Value {
    let fleet = render_fleet(loaded).expect("a multi-cluster mesh");
    let yaml = &fleet.tree()[FLEET_APPLICATION_SET];
    let set: Value = serde_yaml::from_str(yaml).unwrap();
    assert_eq!(serde_json::to_value(&fleet.application_set[0].object).unwrap(), set, "the tree's file is the ApplicationSet");
    set
}

#[test]
#[ignore = "needs Go: run by `make test` (Go 1.26.3 or newer on PATH; argo-cd v3.5.1 from the Go module proxy into .cache/go/)"]
fn argo_cds_applicationset_code_generates_one_parent_per_cluster_and_rolls_them_out_in_order() {
    let fleets = fleets();
    assert!(fleets.len() >= 2, "no golden fleet has Argo CD");
    let mut cases: Vec<AppSet> =
        fleets.iter().map(|(name, l)| AppSet { file: name.clone(), text: application_set(l).to_string() }).collect();

    // Planted mistakes, each of which a check below must catch.
    let first = planted_from(&fleets);
    let set = application_set(first);
    let mut typo = set.clone();
    let name = typo["spec"]["template"]["metadata"]["name"].as_str().unwrap().replace("{{.cluster}}", "{{.clustr}}");
    typo["spec"]["template"]["metadata"]["name"] = json!(name);
    cases.push(AppSet { file: "planted-typo".into(), text: typo.to_string() });
    let mut nowhere = set.clone();
    nowhere["spec"]["strategy"]["rollingSync"]["steps"][0]["matchExpressions"][0]["values"] = json!(["nowhere"]);
    cases.push(AppSet { file: "planted-step-selects-nothing".into(), text: nowhere.to_string() });
    let mut unlabelled = set.clone();
    unlabelled["spec"]["template"]["metadata"]["labels"].as_object_mut().unwrap().remove(CLUSTER_LABEL);
    cases.push(AppSet { file: "planted-no-cluster-label".into(), text: unlabelled.to_string() });
    let mut reversed = set.clone();
    reversed["spec"]["strategy"]["rollingSync"]["steps"].as_array_mut().unwrap().reverse();
    cases.push(AppSet { file: "planted-steps-reversed".into(), text: reversed.to_string() });
    let mut remote = set.clone();
    remote["spec"]["template"]["spec"]["destination"]["server"] = json!("{{.server}}");
    cases.push(AppSet { file: "planted-parent-on-remote-cluster".into(), text: remote.to_string() });

    let results = argo_cd(&cases);
    let mut checked = 0;
    for (name, loaded) in &fleets {
        let expected = Expected::of(loaded);
        let mut validator = Validator::new(Sources::for_config(loaded.selected()));
        let problems = judge_parents(&expected, &results[name], &mut validator);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
        // Under RollingSync the ApplicationSet controller turns off the parents' automated sync and
        // syncs them itself (progressive_sync.go:738-756): docs/argocd.md says so.
        let automated = &results[name]["automated"];
        assert_eq!(automated.as_object().map(|a| a.values().all(|v| v == false)), Some(true), "{name}: {automated}");
        // The sync it starts prunes, as the template's automated.prune says (progressive_sync.go:751-753).
        let prune = &results[name]["prune"];
        let want: serde_json::Map<String, Value> = expected.parents().into_iter().map(|p| (p, json!(true))).collect();
        assert_eq!(prune.as_object(), Some(&want), "{name}");
        checked += expected.clusters.len();
    }
    assert!(checked >= 4, "{checked} parents checked");

    let expected = Expected::of(first);
    let mut validator = Validator::new(Sources::for_config(first.selected()));
    let mut judged = |file: &str| judge_parents(&expected, &results[file], &mut validator).join("\n");
    let typo = judged("planted-typo");
    assert!(typo.contains(r#"executing "base" at <.clustr>: map has no entry for key "clustr""#), "{typo}");
    assert!(typo.contains("generated [], expected one parent per cluster"), "{typo}");
    let nowhere = judged("planted-step-selects-nothing");
    assert!(nowhere.contains("RollingSync steps select [[], [\"istio-playground-west\"]]"), "{nowhere}");
    assert!(nowhere.contains("no step selects [\"istio-playground-east\"]"), "{nowhere}");
    let unlabelled = judged("planted-no-cluster-label");
    assert!(unlabelled.contains("label mesh-render/cluster is null"), "{unlabelled}");
    assert!(unlabelled.contains("RollingSync steps select [[], []]"), "{unlabelled}");
    let reversed = judged("planted-steps-reversed");
    assert!(reversed.contains("RollingSync syncs [\"istio-playground-west\", \"istio-playground-east\"] in that order"), "{reversed}");
    let remote = judged("planted-parent-on-remote-cluster");
    assert!(
        remote.contains("istio-playground-west: destination {\"namespace\":\"argocd\",\"server\":\"https://172.18.0.3:6443\"}"),
        "{remote}"
    );
}

/// The parent's output for each cluster (`render --part applications` = `Rendered::applications`):
/// valid Applications, no name shared by two clusters, each sent to its cluster's server.
#[test]
fn every_clusters_children_are_valid_unique_and_sent_to_its_server() {
    let fleets = fleets();
    assert!(!fleets.is_empty(), "no golden fleet has Argo CD");
    for (name, loaded) in &fleets {
        let expected = Expected::of(loaded);
        let mut validator = Validator::new(Sources::for_config(loaded.selected()));
        let fleet = children(loaded, &expected);
        let problems = judge_children(&fleet, &mut validator);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
        assert!(
            fleet.iter().all(|c| c.applications.len() >= 3),
            "{name}: base, istiod (with the trust and the east-west gateway) and mesh per cluster"
        );
    }

    // The checks can fail: west's children under east's names, and sent to east's server.
    let loaded = planted_from(&fleets);
    let expected = Expected::of(loaded);
    let mut validator = Validator::new(Sources::for_config(loaded.selected()));
    let mut fleet = children(loaded, &expected);
    for app in &mut fleet[1].applications {
        let name = app["metadata"]["name"].as_str().unwrap().replace("-west", "-east");
        app["metadata"]["name"] = json!(name);
        app["spec"]["destination"]["server"] = json!(expected.clusters[0].1);
    }
    let problems = judge_children(&fleet, &mut validator).join("\n");
    assert!(problems.contains("istiod-east: rendered for east and west"), "{problems}");
    assert!(
        problems.contains("istiod-east: destination server \"https://east.example.com:6443\", not west's https://172.18.0.3:6443"),
        "{problems}"
    );
    fleet[0].applications[0]["spec"]["destinaton"] = json!({});
    let problems = judge_children(&fleet, &mut validator).join("\n");
    assert!(problems.contains("east: Application CRD schema"), "{problems}");
}

/// docs/argocd.md tells what the rollout needs that mesh-render cannot render: progressive syncs
/// switched on, each cluster registered under the config's server, and the Application health check.
#[test]
fn the_docs_say_what_the_fleet_needs_from_argo_cd() {
    let docs = std::fs::read_to_string(common::repo_root().join("docs/argocd.md")).unwrap();
    let fleet = &docs[docs.find("## Multi-cluster mesh (fleet)").expect("the fleet section")..];
    for needed in [
        "applicationsetcontroller.enable.progressive.syncs: \"true\"",
        "argocd.argoproj.io/secret-type: cluster",
        "[mesh-render's](#application-health-check)",
        "oracle/argocd-health/fleet/",
        "`cluster: <cluster>` and `part: applications`",
    ] {
        assert!(fleet.contains(needed), "the fleet section does not say {needed}");
    }
}
