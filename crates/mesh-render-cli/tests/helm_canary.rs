//! A canary step's wrapper chart, two istiod revisions side by side, through the real Helm 4 and
//! Helm 3 (`support/helm.rs` says how Helm is found and run).

mod support;

use mesh_render::config::syntax::Node;
use support::helm::{copy_dir, json, objects, reference_charts, render_tree, text, Helm};
use support::repo_root;

/// `(kind, name, istio.io/rev, istio.io/tag, services the webhooks call)` of every webhook configuration.
fn webhooks(docs: &[Node]) -> Vec<(String, String, String, String, Vec<String>)> {
    let mut out: Vec<_> = docs
        .iter()
        .filter(|d| matches!(text(d, "kind"), Some("MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration")))
        .map(|d| {
            let j = json(d);
            let label = |k: &str| j["metadata"]["labels"][k].as_str().unwrap_or("").to_string();
            let mut services: Vec<String> = j["webhooks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w["clientConfig"]["service"]["name"].as_str().map(str::to_string))
                .collect();
            services.dedup();
            (
                j["kind"].as_str().unwrap().to_string(),
                j["metadata"]["name"].as_str().unwrap().to_string(),
                label("istio.io/rev"),
                label("istio.io/tag"),
                services,
            )
        })
        .collect();
    out.sort();
    out
}

/// The wrapper chart of a canary step, with the reference charts of both revisions (`istiod` twice,
/// under its aliases, each at its own version) and the newer base chart, through the real Helm: two
/// istiod Deployments, one sidecar injector and one validator per revision, no tag webhook (the tags
/// are mesh objects of their own: issue 20 point 5), one default validator (the base chart's) calling the stable revision, and no
/// object rendered twice (separate Helm releases would fight over it).
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn two_istiod_revisions_render_side_by_side_with_their_tag_webhooks() {
    let step = |name: &str| std::fs::read_to_string(repo_root().join("golden").join(name).join("config.yaml")).unwrap();
    let w = |kind: &str, name: &str, rev: &str, tag: &str, svc: &str| {
        let kind = if kind == "M" { "MutatingWebhookConfiguration" } else { "ValidatingWebhookConfiguration" };
        (kind.to_string(), name.to_string(), rev.to_string(), tag.to_string(), vec![svc.to_string()])
    };
    let cases = [
        (
            "canary-2-side-by-side",
            vec![
                w("M", "istio-sidecar-injector", "default", "", "istiod"),
                w("M", "istio-sidecar-injector-1-30-3", "1-30-3", "", "istiod-1-30-3"),
                w("V", "istio-validator-1-30-3-istio-system", "1-30-3", "", "istiod-1-30-3"),
                w("V", "istio-validator-istio-system", "default", "", "istiod"),
                w("V", "istiod-default-validator", "default", "", "istiod"),
            ],
        ),
        (
            "canary-3-tag-moved",
            vec![
                w("M", "istio-sidecar-injector", "default", "", "istiod"),
                w("M", "istio-sidecar-injector-1-30-3", "1-30-3", "", "istiod-1-30-3"),
                w("V", "istio-validator-1-30-3-istio-system", "1-30-3", "", "istiod-1-30-3"),
                w("V", "istio-validator-istio-system", "default", "", "istiod"),
                w("V", "istiod-default-validator", "1-30-3", "", "istiod-1-30-3"),
            ],
        ),
    ];
    for major in [4, 3] {
        let helm = Helm::new(major);
        for (name, want) in &cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("config.yaml"), step(name)).unwrap();
            let charts = render_tree(dir.path()).join("helm/charts");
            // What `helm dependency build` would fetch: base at the newest version, istiod once per version.
            copy_dir(&reference_charts("1.30.3").join("base"), &charts.join("base"));
            for v in ["1.29.6", "1.30.3"] {
                copy_dir(&reference_charts(v).join("istiod"), &charts.join(format!("istiod-{v}")));
            }
            let chart = dir.path().join("out/helm");
            helm.lint(&chart, None);
            let docs = helm.template(&chart, None);
            let mut deployments: Vec<(String, String)> = objects(&docs, "Deployment")
                .iter()
                .map(|d| {
                    let image = json(d)["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap_or("").to_string();
                    (text(d, "metadata.name").unwrap().to_string(), image.rsplit(':').next().unwrap().to_string())
                })
                .collect();
            deployments.sort();
            assert_eq!(
                deployments,
                [("istiod".to_string(), "1.29.6".to_string()), ("istiod-1-30-3".into(), "1.30.3".into())],
                "helm{major} {name}"
            );
            assert_eq!(webhooks(&docs), *want, "helm{major} {name}");
            let mut ids: Vec<String> = docs
                .iter()
                .map(|d| {
                    format!(
                        "{} {} {}",
                        text(d, "kind").unwrap_or(""),
                        text(d, "metadata.namespace").unwrap_or(""),
                        text(d, "metadata.name").unwrap_or("")
                    )
                })
                .collect();
            let total = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), total, "helm{major} {name}: an object is rendered twice");
        }
    }
}

/// Issue 20 point 5: mesh-render's own tag objects (`render/revision_tags.rs`) are what the istiod
/// chart's `templates/revision-tags-mwc.yaml` and `revision-tags-svc.yaml` render for the same
/// revision and tag, field for field, through the real Helm 4 and Helm 3 at every reference version:
/// the chart is the judge. Both sides are read by the same YAML reader (`support::helm::documents`);
/// only Helm's and mesh-render's bookkeeping labels, and Argo CD's sync-wave annotation, differ.
#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn tag_objects_are_what_the_charts_tag_templates_render() {
    let config = std::fs::read_to_string(repo_root().join("golden/canary-2-side-by-side/config.yaml")).unwrap();
    let rendered = {
        let loaded = mesh_render::load(&config, None, mesh_render::config::syntax::Limits::DEFAULT)
            .unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
        mesh_render::render(&loaded)
    };
    // Labels the chart writes for Helm and the operator, and labels mesh-render writes for itself.
    let bookkeeping = [
        "release",
        "install.operator.istio.io/owning-resource",
        "operator.istio.io/component",
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/version",
        "helm.sh/chart",
        "app.kubernetes.io/component",
    ];
    let normal = |mut j: serde_json::Value| {
        if let Some(labels) = j["metadata"]["labels"].as_object_mut() {
            labels.retain(|k, _| !bookkeeping.contains(&k.as_str()));
        }
        if let Some(meta) = j["metadata"].as_object_mut() {
            meta.remove("annotations");
        }
        j
    };
    let ours = |name: &str| {
        let m = rendered
            .manifests
            .iter()
            .find(|m| m.object.metadata().name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} not rendered"));
        // Through the same reader as Helm's output, which keeps every scalar as text.
        let docs = support::helm::documents(&mesh_render::emit::yaml_document(m));
        normal(json(&docs[0]))
    };
    for major in [4, 3] {
        let helm = Helm::new(major);
        for version in ["1.29.6", "1.30.3", "1.31.0-rc.0"] {
            let chart = reference_charts(version).join("istiod");
            for (tag, revision) in [("prod", ""), ("canary", "1-30-3")] {
                let set_tags = format!("revisionTags={{{tag}}}");
                let set_revision = format!("revision={revision}");
                let docs = helm.template_with(
                    &chart,
                    &[
                        "--set",
                        &set_tags,
                        "--set",
                        &set_revision,
                        "-s",
                        "templates/revision-tags-mwc.yaml",
                        "-s",
                        "templates/revision-tags-svc.yaml",
                    ],
                );
                assert_eq!(docs.len(), 2, "helm{major} {version} {tag}");
                for d in &docs {
                    let theirs = normal(json(d));
                    let name = theirs["metadata"]["name"].as_str().unwrap().to_string();
                    assert_eq!(ours(&name), theirs, "helm{major} {version}: {name}");
                }
            }
        }
    }
}
