//! Revision tags as objects of their own: per tag, the MutatingWebhookConfiguration
//! `istio-revision-tag-<tag>` and the Service `istiod-revision-tag-<tag>`, owned by mesh-render (the
//! mesh Application under Argo CD, server-side apply in `plan apply`) and never by an istiod release.
//!
//! Why not the chart's `revisionTags`: there a tag's objects belong to the release of the revision
//! it points at, so moving the stable tag deletes them with one release and recreates them with the
//! other, and pods created in between are not injected. Istio's Helm upgrade guide keeps tags out of
//! the istiod releases for that reason (istio.io `setup/upgrade/helm`: `helm template … -s
//! templates/revision-tags-mwc.yaml | kubectl apply`). With one owner, a tag move is an in-place
//! update of the webhook's service and the Service's selector.
//!
//! The objects are the chart's, field for field: istio 1.29.6
//! `manifests/charts/istio-control/istio-discovery/templates/revision-tags-mwc.yaml` and
//! `revision-tags-svc.yaml` (identical at 1.30.3; 1.31.0-rc.0 only quotes the namespace), with the
//! chart's defaults `istiodRemote.injectionPath: "/inject"` (`values.yaml:193`),
//! `sidecarInjectorWebhook.reinvocationPolicy: Never` (`:144`) and `enableNamespacesByDefault: false`
//! (`:139`). A Helm test renders the chart's own template with the same tags and compares.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, ServiceReference, WebhookClientConfig,
};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::canary::{Revision, DEFAULT_REVISION};
use crate::config::Config;
use crate::render::manifest::{owned_meta, Concern, Manifest};

/// The tag's MutatingWebhookConfiguration (`revision-tags-mwc.yaml:43-47`, the name; `:50`, its revision label).
pub(crate) fn webhook_name(config: &Config, tag: &str) -> String {
    if config.namespace == "istio-system" {
        format!("istio-revision-tag-{tag}")
    } else {
        format!("istio-revision-tag-{tag}-{}", config.namespace)
    }
}

/// The tag's Service (`revision-tags-svc.yaml:7`).
pub(crate) fn service_name(tag: &str) -> String {
    format!("istiod-revision-tag-{tag}")
}

/// The tag that also serves `istio-injection=enabled` and `sidecar.istio.io/inject=true`
/// (`revision-tags-mwc.yaml:95-151`).
pub(crate) const DEFAULT_TAG: &str = "default";

/// The tags and the revisions they point at; a tag whose revision is not listed gets nothing (MR141).
pub(crate) fn tags(config: &Config) -> Vec<(&str, &Revision)> {
    let Some(rs) = &config.revisions else { return Vec::new() };
    rs.tags.iter().filter_map(|(tag, rev)| Some((tag.as_str(), rs.get(rev)?))).collect()
}

pub(crate) fn render(config: &Config) -> Vec<Manifest> {
    let mut out = Vec::new();
    for (tag, revision) in tags(config) {
        out.push(Manifest { concern: Concern::RevisionTags, object: webhook(config, tag, revision).into() });
        out.push(Manifest { concern: Concern::RevisionTags, object: service(config, tag, revision).into() });
    }
    out
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn requirement(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
    LabelSelectorRequirement { key: key.into(), operator: operator.into(), values: (!values.is_empty()).then(|| strings(values)) }
}

fn selector(requirements: Vec<LabelSelectorRequirement>) -> Option<LabelSelector> {
    Some(LabelSelector { match_expressions: Some(requirements), match_labels: None })
}

fn labels(tag: &str, revision: &Revision, app: &str, concern_labels: Option<BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut labels = concern_labels.unwrap_or_default();
    labels.insert("istio.io/tag".into(), tag.into());
    // istiod patches the caBundle only of webhook configurations whose `istio.io/rev` label is its
    // own revision (istio 1.29.6 `pkg/webhooks/webhookpatch.go:127-135`): after a tag move, the new
    // revision's istiod takes the webhook over.
    labels.insert("istio.io/rev".into(), revision.name.clone());
    labels.insert("app".into(), app.into());
    labels
}

fn webhook(config: &Config, tag: &str, revision: &Revision) -> MutatingWebhookConfiguration {
    let mut meta = owned_meta(&webhook_name(config, tag), None, Concern::RevisionTags);
    meta.labels = Some(labels(tag, revision, "sidecar-injector", meta.labels.take()));
    // `core` of revision-tags-mwc.yaml:12-35: the revision's istiod (`istiod` for the default
    // revision), path `/inject`, port 443.
    let core = |prefix: &str, namespaces: Vec<LabelSelectorRequirement>, objects: Vec<LabelSelectorRequirement>| MutatingWebhook {
        name: format!("{prefix}sidecar-injector.istio.io"),
        client_config: WebhookClientConfig {
            service: Some(ServiceReference {
                name: revision.istiod_name(),
                namespace: config.namespace.clone(),
                path: Some("/inject".into()),
                port: Some(443),
            }),
            ..Default::default()
        },
        side_effects: "None".into(),
        rules: Some(vec![RuleWithOperations {
            operations: Some(strings(&["CREATE"])),
            api_groups: Some(strings(&[""])),
            api_versions: Some(strings(&["v1"])),
            resources: Some(strings(&["pods"])),
            scope: None,
        }]),
        failure_policy: Some("Fail".into()),
        reinvocation_policy: Some("Never".into()),
        admission_review_versions: strings(&["v1"]),
        namespace_selector: selector(namespaces),
        object_selector: selector(objects),
        match_conditions: None,
        match_policy: None,
        timeout_seconds: None,
    };
    let not_opted_out = || requirement("sidecar.istio.io/inject", "NotIn", &["false"]);
    let mut webhooks = vec![
        // revision-tags-mwc.yaml:62-76: namespaces labelled `istio.io/rev=<tag>`.
        core(
            "rev.namespace.",
            vec![requirement("istio.io/rev", "In", &[tag]), requirement("istio-injection", "DoesNotExist", &[])],
            vec![not_opted_out()],
        ),
        // :77-92: pods labelled `istio.io/rev=<tag>` in unlabelled namespaces.
        core(
            "rev.object.",
            vec![requirement("istio.io/rev", "DoesNotExist", &[]), requirement("istio-injection", "DoesNotExist", &[])],
            vec![not_opted_out(), requirement("istio.io/rev", "In", &[tag])],
        ),
    ];
    if tag == DEFAULT_TAG {
        // :100-114: namespaces labelled `istio-injection=enabled`.
        webhooks.push(core("namespace.", vec![requirement("istio-injection", "In", &["enabled"])], vec![not_opted_out()]));
        // :115-131: pods labelled `sidecar.istio.io/inject=true` in unlabelled namespaces.
        webhooks.push(core(
            "object.",
            vec![requirement("istio-injection", "DoesNotExist", &[]), requirement("istio.io/rev", "DoesNotExist", &[])],
            vec![requirement("sidecar.istio.io/inject", "In", &["true"]), requirement("istio.io/rev", "DoesNotExist", &[])],
        ));
    }
    MutatingWebhookConfiguration { metadata: meta, webhooks: Some(webhooks) }
}

fn service(config: &Config, tag: &str, revision: &Revision) -> Service {
    let mut meta = owned_meta(&service_name(tag), Some(&config.namespace), Concern::RevisionTags);
    let mut l = labels(tag, revision, "istiod", meta.labels.take());
    l.insert("istio".into(), "pilot".into());
    meta.labels = Some(l);
    let port = |port: i32, name: &str, target: Option<i32>| ServicePort {
        port,
        name: Some(name.into()),
        protocol: Some("TCP".into()),
        target_port: target.map(IntOrString::Int),
        ..Default::default()
    };
    // revision-tags-svc.yaml:24-46: the istiod ports, selecting the revision's pods (`istio: pilot`
    // for the default revision, whose pods carry no `istio.io/rev` of another name).
    let mut select = BTreeMap::from([("app".to_string(), "istiod".to_string())]);
    if revision.name == DEFAULT_REVISION {
        select.insert("istio".into(), "pilot".into());
    } else {
        select.insert("istio.io/rev".into(), revision.name.clone());
    }
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            ports: Some(vec![
                port(15010, "grpc-xds", None),
                port(15012, "https-dns", None),
                port(443, "https-webhook", Some(15017)),
                port(15014, "http-monitoring", None),
            ]),
            selector: Some(select),
            ..Default::default()
        }),
        status: None,
    }
}
