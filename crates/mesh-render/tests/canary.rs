//! Revision-based control plane (`controlPlane.revisions`, `tags`, `stableTag`): the config rules,
//! and what each of the four committed steps of a 1.29.6 -> 1.30.3 canary renders.

mod common;

use mesh_render::config::syntax::Limits;
use serde_json::Value;

fn load(text: &str) -> mesh_render::Loaded {
    mesh_render::load(text, None, Limits::DEFAULT).unwrap_or_else(|e| panic!("{:?}", e.diagnostics))
}

fn step(n: usize) -> mesh_render::Loaded {
    let dir = ["canary-1-one-revision", "canary-2-side-by-side", "canary-3-tag-moved", "canary-4-old-removed"][n - 1];
    load(&std::fs::read_to_string(common::repo_root().join("golden").join(dir).join("config.yaml")).unwrap())
}

fn with_control_plane(cp: &str, extra: &str) -> String {
    let body: String = cp.lines().map(|l| format!("      {l}\n")).collect();
    format!("components:\n  knative:\n    enabled: true\n  istio:\n    enabled: true\n{extra}    controlPlane:\n{body}")
}

fn errors(text: &str) -> Vec<String> {
    match mesh_render::load(text, None, Limits::DEFAULT) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.diagnostics.iter().map(|d| d.to_string_in("c.yaml")).collect(),
    }
}

fn values(loaded: &mesh_render::Loaded) -> Value {
    serde_json::to_value(mesh_render::render(loaded).selected_values).unwrap()
}

fn labels_of(loaded: &mesh_render::Loaded, kind: &str) -> Vec<(String, Option<String>)> {
    let rendered = mesh_render::render(loaded);
    rendered
        .manifests
        .iter()
        .filter(|m| m.object.kind() == kind)
        .map(|m| {
            let meta = m.object.metadata();
            (meta.name.clone().unwrap(), meta.labels.as_ref().and_then(|l| l.get("istio.io/rev").cloned()))
        })
        .collect()
}

fn app_waves(loaded: &mesh_render::Loaded) -> Vec<(String, String, i64)> {
    mesh_render::render(loaded)
        .applications
        .iter()
        .map(|m| {
            let json = serde_json::to_value(&m.object).unwrap();
            let wave = json["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"].as_str().unwrap().parse().unwrap();
            (
                json["metadata"]["name"].as_str().unwrap().to_string(),
                // A revision's chart is its first source (the second is its PreDelete gate).
                json["spec"]["source"]["targetRevision"]
                    .as_str()
                    .or(json["spec"]["sources"][0]["targetRevision"].as_str())
                    .unwrap()
                    .to_string(),
                wave,
            )
        })
        .collect()
}

#[test]
fn revision_name_defaults_to_the_version_with_dashes_and_default_keeps_the_unrevisioned_names() {
    let loaded = step(2);
    let rs = loaded.selected().revisions.as_ref().unwrap();
    let names: Vec<(&str, String, Option<String>)> =
        rs.revisions.iter().map(|r| (r.name.as_str(), r.istiod_name(), r.chart_revision())).collect();
    assert_eq!(names, [("default", "istiod".into(), None), ("1-30-3", "istiod-1-30-3".into(), Some("1-30-3".into()))]);
}

#[test]
fn namespaces_and_gateways_carry_the_stable_tag_never_a_revision() {
    for n in 1..=4 {
        let loaded = step(n);
        let namespaces = labels_of(&loaded, "Namespace");
        for (ns, label) in namespaces.iter().filter(|(ns, _)| ns != "istio-system") {
            assert_eq!(label.as_deref(), Some("prod"), "step {n}: namespace {ns}");
        }
        for (gw, label) in labels_of(&loaded, "Gateway") {
            assert_eq!(label.as_deref(), Some("prod"), "step {n}: Gateway {gw}");
        }
        let rendered = mesh_render::render(&loaded);
        for m in rendered.manifests.iter().filter(|m| m.object.kind() == "Namespace") {
            let labels = m.object.metadata().labels.clone().unwrap_or_default();
            assert!(!labels.contains_key("istio-injection"), "step {n}: namespace {:?} keeps istio-injection", m.object.metadata().name);
        }
    }
}

/// Issue 20 point 5: no istiod release owns a tag (no `revisionTags` in any values); each step
/// renders the tags' webhooks and Services as mesh objects, on the revision the tag points at, so
/// that a tag move is an in-place update of objects with one owner.
#[test]
fn tags_are_mesh_objects_on_their_revision_and_no_release_owns_one() {
    let tags = |n: usize| -> Vec<(String, String, String, String)> {
        let loaded = step(n);
        let v = values(&loaded);
        for (k, iv) in v.as_object().unwrap().iter().filter(|(k, _)| k.starts_with("istiod")) {
            assert!(iv.get("revisionTags").is_none(), "step {n}: release {k} must not own a tag: {iv}");
        }
        let rendered = mesh_render::render(&loaded);
        rendered
            .manifests
            .iter()
            .filter(|m| m.concern == mesh_render::Concern::RevisionTags)
            .map(|m| {
                let j = serde_json::to_value(&m.object).unwrap();
                let target = match m.object.kind() {
                    "MutatingWebhookConfiguration" => j["webhooks"][0]["clientConfig"]["service"]["name"].as_str().unwrap().to_string(),
                    _ => j["spec"]["selector"].to_string(),
                };
                (
                    m.object.kind().to_string(),
                    j["metadata"]["name"].as_str().unwrap().to_string(),
                    j["metadata"]["labels"]["istio.io/rev"].as_str().unwrap().to_string(),
                    target,
                )
            })
            .collect()
    };
    let t = |k: &str, n: &str, r: &str, target: &str| (k.to_string(), n.to_string(), r.to_string(), target.to_string());
    let mwc = "MutatingWebhookConfiguration";
    let default_selector = r#"{"app":"istiod","istio":"pilot"}"#;
    let new_selector = r#"{"app":"istiod","istio.io/rev":"1-30-3"}"#;
    assert_eq!(
        tags(1),
        [t(mwc, "istio-revision-tag-prod", "default", "istiod"), t("Service", "istiod-revision-tag-prod", "default", default_selector)]
    );
    assert_eq!(
        tags(2),
        [
            t(mwc, "istio-revision-tag-canary", "1-30-3", "istiod-1-30-3"),
            t(mwc, "istio-revision-tag-prod", "default", "istiod"),
            t("Service", "istiod-revision-tag-canary", "1-30-3", new_selector),
            t("Service", "istiod-revision-tag-prod", "default", default_selector),
        ]
    );
    let moved =
        [t(mwc, "istio-revision-tag-prod", "1-30-3", "istiod-1-30-3"), t("Service", "istiod-revision-tag-prod", "1-30-3", new_selector)];
    assert_eq!(tags(3), moved);
    assert_eq!(tags(4), moved);
}

#[test]
fn the_base_chart_comes_from_the_newest_revision_and_validates_through_the_stable_one() {
    let base = |n: usize| {
        let l = step(n);
        (l.selected().release.version.to_string(), values(&l)["base"]["defaultRevision"].as_str().unwrap().to_string())
    };
    assert_eq!(base(1), ("1.29.6".into(), "default".into()));
    assert_eq!(base(2), ("1.30.3".into(), "default".into()), "CRDs from the newer base chart before the new istiod starts");
    assert_eq!(base(3), ("1.30.3".into(), "1-30-3".into()));
    assert_eq!(base(4), ("1.30.3".into(), "1-30-3".into()));
}

#[test]
fn plans_install_one_istiod_release_per_revision_at_its_own_version_in_the_configs_order() {
    let plan = mesh_render::plans::render(mesh_render::plans::Kind::Apply, &step(2), "deployment/rendered").unwrap();
    let helm: Vec<&str> = plan.lines().filter(|l| l.starts_with("helm ")).collect();
    assert_eq!(helm, [
        "helm upgrade --install istio-base base --repo https://blob.istio.io/istio-release/charts --version 1.30.3 --namespace istio-system --create-namespace --values \"$RENDERED/lifecycle/base-values.yaml\" --wait",
        "helm upgrade --install istiod istiod --repo https://blob.istio.io/istio-release/charts --version 1.29.6 --namespace istio-system --values \"$RENDERED/lifecycle/istiod-values.yaml\" --wait",
        "helm upgrade --install istiod-1-30-3 istiod --repo https://blob.istio.io/istio-release/charts --version 1.30.3 --namespace istio-system --values \"$RENDERED/lifecycle/istiod-1-30-3-values.yaml\" --wait",
    ]);
    let tree = mesh_render::render(&step(2)).tree();
    assert!(tree.contains_key("lifecycle/istiod-values.yaml") && tree.contains_key("lifecycle/istiod-1-30-3-values.yaml"));
}

#[test]
fn argocd_waves_install_every_revision_before_the_mesh_objects_that_carry_the_tags() {
    // Issue 20 point 5: no release owns a tag, so no release must sync before another: every
    // revision in wave 1, the mesh Application (tags, labels, restart hook) in wave 2.
    let s = |a: &str, b: &str, w: i64| (a.to_string(), b.to_string(), w);
    assert_eq!(app_waves(&step(1)), [s("istio-base", "1.29.6", 0), s("istiod", "1.29.6", 1), s("istio-mesh", "main", 2)]);
    for n in [2, 3] {
        assert_eq!(
            app_waves(&step(n)),
            [s("istio-base", "1.30.3", 0), s("istiod", "1.29.6", 1), s("istiod-1-30-3", "1.30.3", 1), s("istio-mesh", "main", 2)],
            "step {n}"
        );
    }
    assert_eq!(app_waves(&step(4)), [s("istio-base", "1.30.3", 0), s("istiod-1-30-3", "1.30.3", 1), s("istio-mesh", "main", 2)]);
}

#[test]
fn the_wrapper_chart_has_one_aliased_istiod_per_revision() {
    let chart = serde_json::to_value(mesh_render::render(&step(2)).chart).unwrap();
    let deps: Vec<(String, String, String)> = chart["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().into(), d["version"].as_str().unwrap().into(), d["alias"].as_str().unwrap_or("").into()))
        .collect();
    let d = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(deps, [d("base", "1.30.3", ""), d("istiod", "1.29.6", "istiod"), d("istiod", "1.30.3", "istiod-1-30-3")]);
}

#[test]
fn version_must_be_the_newest_revision() {
    assert_eq!(
        errors(&with_control_plane("revisions: [{version: \"1.29.6\"}, {version: \"1.30.3\"}]\ntags: {prod: 1-29-6}", "    version: \"1.29.6\"\n")),
        ["c.yaml:6:14: error[MR008]: components.istio.version: `version` is 1.29.6 but the newest revision is 1.30.3\n  hint: with `controlPlane.revisions`, `version` is the base chart's (the CRDs), which must come from the newest revision: set it to \"1.30.3\" or remove it"]
    );
}

#[test]
fn revision_and_revisions_are_exclusive() {
    assert_eq!(
        errors(&with_control_plane("revisions: [{version: \"1.30.3\"}]\ntags: {prod: 1-30-3}", "    revision: blue\n")),
        ["c.yaml:6:15: error[MR008]: components.istio.revision: `revision` and `controlPlane.revisions` cannot both be set\n  hint: remove `revision`: list it under `controlPlane.revisions` and label namespaces with a tag"]
    );
}

/// A revision's version is read like `components.istio.version` (one reader): same messages and hints.
#[test]
fn revision_versions_are_read_like_the_top_level_version() {
    assert_eq!(
        errors(&with_control_plane("revisions: [{version: \"1.30\"}, {version: \"1.28.0\"}]\ntags: {prod: 1-28-0}", "")),
        [
            "c.yaml:7:29: error[MR006]: components.istio.controlPlane.revisions[0].version: `1.30` is not an Istio version\n  hint: write MAJOR.MINOR.PATCH in quotes, e.g. \"1.30.3\"; supported: 1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1",
            "c.yaml:7:48: error[MR010]: components.istio.controlPlane.revisions[1].version: Istio 1.28.0 is not in mesh-render's version table\n  hint: supported: 1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1"
        ]
    );
}

#[test]
fn revision_names_are_unique() {
    assert_eq!(
        errors(&with_control_plane("revisions: [{version: \"1.30.3\"}, {version: \"1.30.3\"}]\ntags: {prod: 1-30-3}", "")),
        ["c.yaml:7:40: error[MR006]: components.istio.controlPlane.revisions[1]: revision `1-30-3` is listed twice (first at line 7, column 19)\n  hint: give each revision its own `name`"]
    );
}

#[test]
fn the_stable_tag_must_be_declared() {
    assert_eq!(
        errors(&with_control_plane("revisions: [{version: \"1.30.3\"}]\ntags: {canary: 1-30-3}", "")),
        ["c.yaml:8:13: error[MR008]: components.istio.controlPlane.tags: namespaces are labelled with tag `prod`, which is not declared\n  hint: add `tags: {prod: 1-30-3}`, or set `stableTag` to one of the tags"]
    );
}

#[test]
fn tags_need_revisions_and_cannot_be_a_revision_name() {
    assert_eq!(
        errors(&with_control_plane("tags: {prod: x}", "")),
        ["c.yaml:7:13: error[MR008]: components.istio.controlPlane.tags: `tags` needs `controlPlane.revisions`\n  hint: list the control plane's revisions, e.g. `revisions: [{version: \"1.29.6\"}]`"]
    );
    // Issue 20 point 8: a `default` tag is Istio's own (`istioctl tag set default`, the chart's
    // `revision-tags-mwc.yaml:93-122`) once the unrevisioned istiod is gone; while it is listed, the
    // tag has a revision's name.
    load(&with_control_plane("revisions: [{version: \"1.30.3\"}]\ntags: {default: 1-30-3, prod: 1-30-3}", ""));
    assert_eq!(
        errors(&with_control_plane("revisions: [{version: \"1.29.6\", name: default}, {version: \"1.30.3\"}]\ntags: {default: 1-30-3, prod: 1-30-3}", "")),
        ["c.yaml:8:14: error[MR008]: components.istio.controlPlane.tags.default: tag `default` has the name of a revision\n  hint: a namespace label `istio.io/rev` would be ambiguous: rename the tag"]
    );
    assert_eq!(
        errors(&with_control_plane("revisions: [{version: \"1.30.3\"}]\ntags: {1-30-3: 1-30-3, prod: 1-30-3}", "")),
        ["c.yaml:8:14: error[MR008]: components.istio.controlPlane.tags.1-30-3: tag `1-30-3` has the name of a revision\n  hint: a namespace label `istio.io/rev` would be ambiguous: rename the tag"]
    );
}

#[test]
fn a_fresh_revisioned_install_needs_no_version_key() {
    let loaded = load(&with_control_plane("revisions: [{version: \"1.30.3\"}]\ntags: {prod: 1-30-3}", ""));
    assert_eq!(loaded.selected().release.version.to_string(), "1.30.3");
}

#[test]
fn namespaces_read_from_files_with_a_revision_or_with_both_labels_are_reported() {
    use mesh_render::check::analyzers::{self, Input, Subject};
    let loaded = step(3);
    let ns = |name: &str, labels: Value| serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}});
    let objects = vec![
        Subject::read(ns("demo", serde_json::json!({"istio-injection": "enabled", "istio.io/rev": "prod"})), "ns.yaml#0"),
        Subject::read(ns("event-demo", serde_json::json!({"istio.io/rev": "1-30-3"})), "ns.yaml#1"),
    ];
    let findings = analyzers::run(&Input { config: Some(loaded.selected()), facts: None, objects: &objects, values: None });
    let codes: Vec<(&str, Option<&str>)> =
        findings.iter().filter(|f| f.code == "MR103" || f.code == "MR140").map(|f| (f.code, f.object.as_deref())).collect();
    // The injection label next to a tag label is MR103 (the existing check for both labels).
    assert_eq!(codes, [("MR103", Some("Namespace demo")), ("MR140", Some("Namespace event-demo"))]);
}

/// `upgrade --to 1.30.3 --canary` on the config before step 1 prints configs that render exactly
/// like the four golden steps.
#[test]
fn the_printed_steps_render_like_the_golden_steps() {
    let one = std::fs::read_to_string(common::repo_root().join("golden/canary-1-one-revision/config.yaml")).unwrap();
    let before: String = one
        .lines()
        .filter(|l| !["revisions:", "- {version:", "tags:", "prod: default"].iter().any(|k| l.trim_start().starts_with(k)))
        .map(|l| format!("{l}\n"))
        .collect();
    let loaded = load(&before);
    assert!(loaded.selected().revisions.is_none());
    let plan = mesh_render::upgrade::canary::plan(&before, &loaded, "1.30.3").unwrap();
    assert_eq!(plan.steps.len(), 4);
    for (i, s) in plan.steps.iter().enumerate() {
        let printed = mesh_render::render(&load(&s.config)).tree();
        assert_eq!(printed, mesh_render::render(&step(i + 1)).tree(), "step {}", i + 1);
    }
}

#[test]
fn a_patch_upgrade_of_a_revisioned_config_is_three_steps_and_keeps_user_tags() {
    let text = with_control_plane("revisions: [{version: \"1.30.3\"}]\ntags: {prod: 1-30-3, blue: 1-30-3}", "");
    let plan = mesh_render::upgrade::canary::plan(&text, &load(&text), "1.30.5").unwrap();
    let slugs: Vec<&str> = plan.steps.iter().map(|s| s.slug).collect();
    assert_eq!(slugs, ["side-by-side", "tag-moved", "old-removed"]);
    let last = load(&plan.steps[2].config);
    let rs = last.selected().revisions.clone().unwrap();
    assert_eq!(
        rs.tags.into_iter().collect::<Vec<_>>(),
        [("blue".to_string(), "1-30-5".to_string()), ("prod".to_string(), "1-30-5".to_string())]
    );
    assert_eq!(rs.revisions.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["1-30-5"]);
}

#[test]
fn the_upgrade_page_draws_the_canary_path_of_the_config() {
    let text = std::fs::read_to_string(common::repo_root().join("config.yaml")).unwrap();
    let docs = mesh_render::docs::docs(&load(&text));
    let page = &docs["upgrade-notes.md"];
    assert!(page.contains("s0[\"now: Istio 1.29.6, one istiod<br/>namespaces istio-injection=enabled\"]"), "{page}");
    assert!(page.contains("s2[\"2. side-by-side<br/>default (1.29.6) ← prod<br/>1-30-5 (1.30.5) ← canary\"]"), "{page}");
    assert!(page.contains("s7[\"7. old-removed<br/>1-31-1 (1.31.1) ← prod\"]") && page.contains("s7 -.->|rollback| s6"), "{page}");
}

/// For every step, the istiod Applications in wave order are the istiod releases in the order
/// `plan apply` installs them: both paths move the stable tag the same way.
#[test]
fn argocd_waves_order_each_step_as_the_plan_does() {
    for n in 1..=4 {
        let loaded = step(n);
        let mut apps: Vec<(i64, usize, String)> = app_waves(&loaded)
            .into_iter()
            .enumerate()
            .filter(|(_, (name, _, _))| name.starts_with("istiod"))
            .map(|(i, (name, _, wave))| (wave, i, name))
            .collect();
        apps.sort();
        let by_wave: Vec<String> = apps.into_iter().map(|(_, _, name)| name).collect();
        let plan = mesh_render::plans::render(mesh_render::plans::Kind::Apply, &loaded, "deployment/rendered").unwrap();
        let by_plan: Vec<String> = plan
            .lines()
            .filter(|l| l.starts_with("helm upgrade --install istiod"))
            .map(|l| l.split_whitespace().nth(3).unwrap().to_string())
            .collect();
        assert_eq!(by_wave, by_plan, "step {n}");
    }
}

/// Issue 20 point 4: with the plugin, each revision's Application carries its PreDelete gate as a
/// second source (the plugin with `revisionGate: <revision>` and the environment) and the PreDelete
/// finalizers, so that Argo CD runs the gate before it deletes that istiod (argo-cd v3.5.1
/// `controller/appcontroller.go:1322-1341`); with a directory source nothing could render the gate
/// once the revision is gone from the commit, so there is none.
#[test]
fn each_revision_application_carries_its_pre_delete_gate_with_the_plugin() {
    let loaded = step(2);
    let apps: Vec<serde_json::Value> =
        mesh_render::render(&loaded).applications.iter().map(|m| serde_json::to_value(&m.object).unwrap()).collect();
    let mut seen = Vec::new();
    for app in apps.iter().filter(|a| a["metadata"]["name"].as_str().unwrap().starts_with("istiod")) {
        let name = app["metadata"]["name"].as_str().unwrap();
        assert!(app["spec"].get("source").is_none(), "{name}: `source` and `sources` are exclusive");
        let sources = app["spec"]["sources"].as_array().unwrap();
        assert_eq!(sources.len(), 2, "{name}");
        assert_eq!(sources[0]["chart"], "istiod", "{name}: the chart first");
        let params = &sources[1]["plugin"]["parameters"];
        assert_eq!(sources[1]["plugin"]["name"], mesh_render::api::argocd::PLUGIN_NAME);
        assert_eq!(params[0]["name"], mesh_render::api::argocd::GATE_PARAMETER);
        seen.push((name.to_string(), params[0]["string"].as_str().unwrap().to_string()));
        let finalizers = app["metadata"]["finalizers"].as_array().unwrap();
        for f in mesh_render::api::argocd::PRE_DELETE_FINALIZERS {
            assert!(finalizers.iter().any(|x| x == f), "{name}: {f}");
        }
    }
    assert_eq!(seen, [("istiod".to_string(), "default".to_string()), ("istiod-1-30-3".into(), "1-30-3".into())]);

    let text = std::fs::read_to_string(common::repo_root().join("golden/canary-2-side-by-side/config.yaml")).unwrap();
    let directory = text.replace("      targetRevision: main\n", "      targetRevision: main\n      meshSource: directory\n");
    assert_ne!(directory, text);
    for m in mesh_render::render(&load(&directory)).applications.iter() {
        let app = serde_json::to_value(&m.object).unwrap();
        assert!(app["spec"]["sources"].is_null(), "{}: one source with a directory", app["metadata"]["name"]);
    }
}
