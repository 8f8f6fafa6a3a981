//! GitOps and lifecycle in the library: the Argo CD Applications (waves, sources, webhook drift
//! handling by release), their config keys, the Envoy Gateway settings, the Knative restore objects,
//! the lifecycle files of the tree, and the Istio CRD list the destroy plan deletes.

mod common;

use mesh_render::api::argocd::{BASE_APP, ISTIOD_APP, MESH_APP, SYNC_OPTIONS, SYNC_WAVE};
use mesh_render::config::syntax::Limits;
use mesh_render::plans::{self, Kind};
use serde_json::{json, Value};

fn load(text: &str, env: Option<&str>) -> mesh_render::Loaded {
    mesh_render::load(text, env, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:#?}", e.diagnostics))
}

fn errors(text: &str) -> Vec<String> {
    mesh_render::load(text, None, Limits::DEFAULT).unwrap_err().diagnostics.iter().map(|d| d.to_string_in("c.yaml")).collect()
}

fn golden_app_of_apps() -> String {
    std::fs::read_to_string(common::repo_root().join("golden/argocd-app-of-apps/config.yaml")).unwrap()
}

fn applications(text: &str, env: Option<&str>) -> Vec<Value> {
    mesh_render::render(&load(text, env)).applications.iter().map(|m| serde_json::to_value(&m.object).unwrap()).collect()
}

fn by_name<'a>(apps: &'a [Value], name: &str) -> &'a Value {
    apps.iter().find(|a| a["metadata"]["name"] == name).unwrap_or_else(|| panic!("no Application {name}"))
}

#[test]
fn applications_sync_in_waves_from_the_official_charts_and_the_plugin() {
    let text = golden_app_of_apps();
    let apps = applications(&text, None);
    assert_eq!(apps.len(), 3);
    let wave = |name| by_name(&apps, name)["metadata"]["annotations"][SYNC_WAVE].as_str().unwrap().parse::<i32>().unwrap();
    assert!(wave(BASE_APP) < wave(ISTIOD_APP) && wave(ISTIOD_APP) < wave(MESH_APP), "CRDs/base, then istiod, then the mesh");
    let values = mesh_render::render(&load(&text, None)).selected_values;
    for (name, chart, values) in [
        (BASE_APP, "base", serde_json::to_value(&values.base).unwrap()),
        (ISTIOD_APP, "istiod", serde_json::to_value(values.istiod()).unwrap()),
    ] {
        let app = by_name(&apps, name);
        assert_eq!(app["metadata"]["namespace"], "argocd");
        let source = &app["spec"]["source"];
        assert_eq!(source["repoURL"], "https://blob.istio.io/istio-release/charts", "Istio's chart home since the GCP retirement");
        assert_eq!(source["chart"], chart);
        assert_eq!(source["targetRevision"], "1.29.6", "the chart version is the Istio version");
        assert_eq!(source["helm"]["releaseName"], name);
        assert_eq!(source["helm"]["valuesObject"], values, "the typed values of that chart");
        assert_eq!(app["spec"]["destination"]["namespace"], "istio-system");
        assert_eq!(app["spec"]["syncPolicy"]["automated"], json!({"prune": true, "selfHeal": true}));
        assert_eq!(app["spec"]["syncPolicy"]["retry"]["limit"], 5);
        // 1.29.6 starts the webhook as Fail: nothing to ignore.
        assert_eq!(source["helm"]["valuesObject"]["base"]["validationFailurePolicy"], "Fail");
        assert!(app["spec"].get("ignoreDifferences").is_none());
    }
    assert_eq!(by_name(&apps, BASE_APP)["spec"]["syncPolicy"]["syncOptions"], json!(["CreateNamespace=true", "ServerSideApply=true"]));
    let mesh = by_name(&apps, MESH_APP);
    assert_eq!(mesh["spec"]["syncPolicy"]["syncOptions"], json!(["ServerSideApply=true"]), "partial objects need server-side apply");
    assert_eq!(
        mesh["spec"]["source"],
        json!({"repoURL": "https://github.com/example/playground.git", "targetRevision": "main", "path": ".", "plugin": {"name": "mesh-render"}})
    );
}

#[test]
fn releases_without_validation_failure_policy_ignore_the_webhook_flip() {
    let apps = applications(&golden_app_of_apps(), Some("legacy"));
    for name in [BASE_APP, ISTIOD_APP] {
        let app = by_name(&apps, name);
        assert_eq!(app["spec"]["source"]["targetRevision"], "1.29.1");
        assert!(app["spec"]["source"]["helm"]["valuesObject"].get("base").is_none());
        assert_eq!(
            app["spec"]["ignoreDifferences"],
            json!([{"group": "admissionregistration.k8s.io", "kind": "ValidatingWebhookConfiguration",
                    "jqPathExpressions": [".webhooks[]?.clientConfig.caBundle", ".webhooks[]?.failurePolicy"]}])
        );
        assert!(app["spec"]["syncPolicy"]["syncOptions"].as_array().unwrap().contains(&json!("RespectIgnoreDifferences=true")));
        assert!(app["spec"]["syncPolicy"].get("automated").is_none(), "automated: false");
    }
    let mesh = by_name(&apps, MESH_APP);
    assert_eq!(mesh["spec"]["source"]["directory"], json!({"recurse": true}));
    assert_eq!(mesh["spec"]["source"]["path"], "deployment/rendered-legacy/manifests");
    // `validationFailurePolicy: Ignore` on a release that has it: drift handling again.
    let text = golden_app_of_apps().replace("    namespaces:\n", "    controlPlane: {validationFailurePolicy: Ignore}\n    namespaces:\n");
    assert!(by_name(&applications(&text, None), ISTIOD_APP)["spec"].get("ignoreDifferences").is_some());
}

#[test]
fn the_plugin_source_passes_the_environment() {
    let text = golden_app_of_apps().replace(
        "        argocd:\n          meshSource: directory\n          path: deployment/rendered-legacy/manifests\n",
        "        argocd:\n",
    );
    let apps = applications(&text, Some("legacy"));
    assert_eq!(
        by_name(&apps, MESH_APP)["spec"]["source"]["plugin"],
        json!({"name": "mesh-render", "parameters": [{"name": "env", "string": "legacy"}]})
    );
}

#[test]
fn with_argocd_the_mesh_application_never_deletes_what_others_own() {
    let rendered = mesh_render::render(&load(&golden_app_of_apps(), None));
    assert!(!rendered.stream_yaml().contains("kind: Application"), "the stream (the plugin's output) holds no Application");
    let tree = rendered.tree();
    assert!(tree["argocd/applications.yaml"].contains("kind: Application"));
    for m in &rendered.manifests {
        let protected = m.object.metadata().annotations.as_ref().and_then(|a| a.get(SYNC_OPTIONS)).map(String::as_str);
        let expected = (m.object.is_partial() || m.object.kind() == "Namespace").then_some("Prune=false,Delete=false");
        assert_eq!(protected, expected, "{} {:?}", m.object.kind(), m.object.metadata().name);
    }
    // Without the section: no Applications, no annotations.
    let playground = mesh_render::render(&load(&std::fs::read_to_string(common::repo_root().join("config.yaml")).unwrap(), None));
    assert!(playground.applications.is_empty());
    assert!(!playground.stream_yaml().contains(SYNC_OPTIONS));
}

#[test]
fn argocd_keys_are_checked_like_the_rest_of_the_config() {
    let base = "components:\n  istio:\n    enabled: true\n    argocd:\n";
    assert_eq!(
        errors(&format!("{base}      repoURL: https://example.com/r.git\n      targetRevison: main\n")),
        ["c.yaml:6:7: error[MR004]: components.istio.argocd.targetRevison: unknown key `targetRevison`\n  hint: did you mean `targetRevision`? Known keys here: enabled, namespace, project, destinationServer, repoURL, targetRevision, path, meshSource, automated, hookImage"]
    );
    assert_eq!(
        errors(&format!("{base}      namespace: argocd\n")),
        ["c.yaml:5:7: error[MR007]: components.istio.argocd.repoURL: the Applications need the Git repository that holds this config\n  hint: set `repoURL`, e.g. `https://github.com/example/playground.git`"]
    );
    assert_eq!(
        errors(&format!("{base}      repoURL: example.com/r.git\n      meshSource: Directory\n      path: ../up\n")),
        [
            "c.yaml:5:16: error[MR006]: components.istio.argocd.repoURL: `example.com/r.git` is not a URL here\n  hint: start it with https:// or http:// or ssh:// or git@",
            "c.yaml:6:19: error[MR006]: components.istio.argocd.meshSource: `Directory` is not allowed here\n  hint: did you mean `directory`? Allowed: plugin, directory",
            "c.yaml:7:13: error[MR006]: components.istio.argocd.path: `../up` is not a path inside the repository\n  hint: write a relative path without `..`",
        ]
    );
    // `enabled: false` needs nothing else and renders no Application.
    assert!(applications(&format!("{base}      enabled: false\n"), None).is_empty());
}

#[test]
fn envoy_gateway_layout_is_configurable_and_checked() {
    let eg = load(&golden_app_of_apps(), None).selected().envoy_gateway.clone().unwrap();
    assert!(eg.installed);
    assert_eq!(
        (eg.external.class.as_str(), eg.external.gateway.as_str(), eg.external.service.as_str()),
        ("eg-public", "envoy-gateway-system/public", "envoy-gateway-system/envoy-public")
    );
    assert_eq!(eg.local, mesh_render::config::gitops::default_previous().1, "unset entries keep upstream's layout");
    let text = "components:\n  envoyGateway:\n    enabled: true\n    version: v1.6.0\n    knativeGateways:\n      external: {gateway: eg-external}\n      locl: {}\n  istio:\n    enabled: true\n";
    assert_eq!(
        errors(text),
        [
            "c.yaml:6:27: error[MR006]: components.envoyGateway.knativeGateways.external.gateway: `eg-external` is not `namespace/name`\n  hint: write e.g. `eg-external/eg-external`",
            "c.yaml:7:7: error[MR004]: components.envoyGateway.knativeGateways.locl: unknown key `locl`\n  hint: did you mean `local`? Known keys here: external, local",
        ]
    );
}

#[test]
fn the_tree_holds_per_chart_values_of_the_selected_environment() {
    let text = std::fs::read_to_string(common::repo_root().join("config.yaml")).unwrap();
    for env in [None, Some("shared")] {
        let rendered = mesh_render::render(&load(&text, env));
        let tree = rendered.tree();
        let values = &rendered.selected_values;
        assert_eq!(tree[plans::BASE_VALUES], mesh_render::emit::yaml_value(&values.base));
        assert_eq!(tree[plans::ISTIOD_VALUES], mesh_render::emit::yaml_value(values.istiod()));
    }
    let shared = mesh_render::render(&load(&text, Some("shared"))).tree();
    assert!(shared[plans::ISTIOD_VALUES].contains("autoscaleMin: 2"));
}

/// The list the destroy plan deletes must be every CRD the base chart installs, for every release
/// with reference charts: 14 on 1.29, 15 on 1.30 (TrafficExtension).
#[test]
fn istio_crd_list_matches_the_reference_charts() {
    let vendored = mesh_render::versions::RELEASES.iter().filter(|r| r.reference_charts).map(|r| (r.version, r.version.to_string()));
    let prerelease = mesh_render::versions::PRERELEASE_CHARTS
        .iter()
        .map(|(major, minor, folder)| (mesh_render::versions::Version::new(*major, *minor, 0), folder.to_string()));
    for (version, folder) in vendored.chain(prerelease) {
        let file = common::repo_root().join(format!("reference/istio-{folder}/charts/base/files/crd-all.gen.yaml"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut names = Vec::new();
        for doc in
            mesh_render::config::syntax::parse_documents(&text, Limits { max_bytes: 64 << 20, max_depth: 256, max_nodes: 10_000_000 })
                .unwrap()
        {
            let crd = doc.to_json();
            if crd["kind"] == "CustomResourceDefinition" {
                assert_eq!(crd["metadata"]["annotations"]["helm.sh/resource-policy"], "keep", "{}", crd["metadata"]["name"]);
                names.push(crd["metadata"]["name"].as_str().unwrap().to_string());
            }
        }
        names.sort();
        assert_eq!(names.len(), if version.minor == 29 { 14 } else { 15 }, "{folder}");
        assert_eq!(names, plans::istio_crds(version), "Istio {folder}");
    }
}

#[test]
fn plans_name_tree_files_and_refuse_paths_that_need_quoting() {
    let loaded = load(&std::fs::read_to_string(common::repo_root().join("config.yaml")).unwrap(), None);
    let apply = plans::render(Kind::Apply, &loaded, "out/tree").unwrap();
    assert!(apply.contains("RENDERED=\"${MESH_RENDER_RENDERED:-out/tree}\""));
    assert!(!apply.contains("apiVersion"), "no inlined YAML");
    for bad in ["a b", "$(x)", "", "a'b", "a;b"] {
        assert!(plans::render(Kind::Destroy, &loaded, bad).is_err(), "{bad}");
    }
    // A revision changes the istiod Deployment and the injection label the plans use.
    let text = std::fs::read_to_string(common::repo_root().join("golden/many-apps-eventing/config.yaml")).unwrap();
    let loaded = load(&text, None);
    let rev = loaded.selected().revision.clone().unwrap();
    assert!(plans::render(Kind::Apply, &loaded, "r").unwrap().contains(&format!("rollout status deployment/istiod-{rev} ")));
    assert!(plans::render(Kind::Destroy, &loaded, "r").unwrap().contains(" istio.io/rev-\n"));
}

/// kubectl's own YAML 1.1 parser reads the Applications and the restore objects back unchanged.
#[test]
#[ignore = "needs kubectl on PATH: run by `make test` (`make tools` checks for it)"]
fn lifecycle_and_argocd_files_read_back_unchanged_in_kubectl() {
    let text = golden_app_of_apps();
    for env in [None, Some("legacy")] {
        let rendered = mesh_render::render(&load(&text, env));
        let tree = rendered.tree();
        for (file, objects) in [("argocd/applications.yaml", &rendered.applications), (plans::KNATIVE_RESTORE, &rendered.knative_restore)] {
            let read = common::kubectl_read_raw(&tree[file]).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(read.len(), objects.len(), "{file}");
            for (r, m) in read.iter().zip(objects.iter()) {
                let mut r = r.clone();
                r["metadata"]["labels"].as_object_mut().unwrap().remove("probe");
                if r["metadata"]["labels"].as_object().unwrap().is_empty() {
                    r["metadata"].as_object_mut().unwrap().remove("labels");
                }
                assert_eq!(r, serde_json::to_value(&m.object).unwrap(), "{file}");
            }
        }
    }
}

/// The example config's commented `argocd` and `knativeGateways` blocks are valid when uncommented.
#[test]
fn the_example_gitops_blocks_are_valid_when_uncommented() {
    let mut out = Vec::new();
    let mut inside = false;
    for line in mesh_render::example_config().lines() {
        if line.starts_with("    # argocd:") || line.starts_with("    # knativeGateways:") {
            inside = true;
            out.push(line.replacen("# ", "", 1));
        } else if inside && line.starts_with("    #   ") {
            out.push(line.replacen("#   ", "  ", 1));
        } else {
            inside = false;
            out.push(line.to_string());
        }
    }
    let text = out.join("\n");
    let loaded = load(&text, None);
    assert_eq!(mesh_render::render(&loaded).applications.len(), 3);
    assert_eq!(loaded.selected().envoy_gateway.as_ref().unwrap().local.gateway, "eg-internal/eg-internal");
}

/// `chartRepository` reaches every consumer of the charts: the wrapper chart, the Argo CD
/// Applications (Argo CD's native OCI form for a registry) and the apply plan's `helm` calls.
#[test]
fn chart_repository_is_used_by_chart_applications_and_plans() {
    let text = golden_app_of_apps().replacen(
        "    version: \"1.29.6\"\n",
        "    version: \"1.29.6\"\n    chartRepository: oci://ghcr.io/istio/release/charts\n",
        1,
    );
    assert!(text.contains("chartRepository"), "the golden config sets the version under istio");
    let loaded = load(&text, None);
    let rendered = mesh_render::render(&loaded);
    assert!(rendered.chart.dependencies.iter().all(|d| d.repository == "oci://ghcr.io/istio/release/charts"));
    let apps = applications(&text, None);
    let base = &by_name(&apps, BASE_APP)["spec"]["source"];
    assert_eq!(base["repoURL"], "oci://ghcr.io/istio/release/charts/base");
    assert_eq!(base["path"], ".");
    assert!(base.get("chart").is_none(), "the native OCI form names the chart in repoURL");
    let apply = plans::render(Kind::Apply, &loaded, "deployment/rendered").unwrap();
    assert!(apply.contains("helm upgrade --install istio-base oci://ghcr.io/istio/release/charts/base --version 1.29.6 "), "{apply}");
    assert!(apply.contains("helm upgrade --install istiod oci://ghcr.io/istio/release/charts/istiod --version 1.29.6 "));

    // The default: Istio's HTTPS chart repository, with `--repo`.
    let apply = plans::render(Kind::Apply, &load(&golden_app_of_apps(), None), "deployment/rendered").unwrap();
    assert!(apply.contains("helm upgrade --install istio-base base --repo https://blob.istio.io/istio-release/charts --version 1.29.6 "));
}

/// The waves in which the parent prunes its children when it prunes them all (the config's
/// Applications removed from the parent's source), as gitops-engine orders prune tasks (argo-cd
/// v3.5.1 `gitops-engine/pkg/sync/sync_context.go:1097-1125`: the prune waves swapped end for end;
/// `:1127-1144`: a child whose live annotation says `PruneLast=true` moved to one past the last
/// wave). Returns `(name, wave)` per Application.
fn prune_waves(apps: &[Value]) -> Vec<(String, i64)> {
    let wave = |a: &Value| a["metadata"]["annotations"][SYNC_WAVE].as_str().unwrap().parse::<i64>().unwrap();
    let mut waves: Vec<i64> = apps.iter().map(wave).collect();
    waves.sort_unstable();
    waves.dedup();
    let swapped = |w: i64| waves[waves.len() - 1 - waves.iter().position(|x| *x == w).unwrap()];
    let last = apps.iter().map(|a| swapped(wave(a))).max().unwrap() + 1;
    apps.iter()
        .map(|a| {
            let prune_last =
                a["metadata"]["annotations"][SYNC_OPTIONS].as_str().is_some_and(|o| o.split(',').any(|o| o == "PruneLast=true"));
            (a["metadata"]["name"].as_str().unwrap().to_string(), if prune_last { last } else { swapped(wave(a)) })
        })
        .collect()
}

/// Review of issue 20: a full prune never takes `istio-base` (the CRDs and the default validator)
/// before an istiod revision. The revisions carry `PruneLast` (their gate may hold them), so base
/// carries it too; without it base (wave 0, pruned in the swapped wave 2) would go before the
/// revisions (moved to wave 3). The mesh Application goes first, as its PreDelete hook needs.
#[test]
fn a_full_prune_never_takes_base_before_an_istiod_revision() {
    for golden in ["canary-2-side-by-side", "argocd-app-of-apps"] {
        let text = std::fs::read_to_string(common::repo_root().join("golden").join(golden).join("config.yaml")).unwrap();
        let waves = prune_waves(&applications(&text, None));
        let of = |name: &str| waves.iter().find(|(n, _)| n == name).unwrap().1;
        let istiods: Vec<&(String, i64)> = waves.iter().filter(|(n, _)| n.starts_with("istiod")).collect();
        assert!(!istiods.is_empty(), "{golden}: {waves:?}");
        for (name, wave) in &istiods {
            assert!(of(BASE_APP) >= *wave, "{golden}: base is pruned in wave {} before {name} (wave {wave}): {waves:?}", of(BASE_APP));
            assert!(of(MESH_APP) < *wave, "{golden}: {waves:?}");
        }
    }
}
