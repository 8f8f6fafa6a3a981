//! `components.istio.aiServing`: LLM routing through the Gateway API Inference Extension.

use super::codes;
use std::collections::BTreeMap;

use super::decode::{self, Decoder};
use super::Resources;
use crate::config::syntax::{Node, Value};
use crate::diagnostics::Pos;

/// Inference Extension releases whose CRDs mesh-render bundles.
pub const RELEASES: &[&str] = &["v1.1.0", "v1.6.0"];

/// The AI-serving settings; absent section means off.
#[derive(Clone, Debug, PartialEq)]
pub struct AiServing {
    /// Inference Extension release (`v1.1.0`, the one Istio 1.29 pins, or `v1.6.0`).
    pub release: &'static str,
    /// Render the Inference Extension CRDs too.
    pub install_crds: bool,
    pub gateway: InferenceGateway,
    pub pools: Vec<Pool>,
}

/// The Gateway the pools' routes attach to.
#[derive(Clone, Debug, PartialEq)]
pub struct InferenceGateway {
    pub name: String,
    pub namespace: String,
    /// `false`: the Gateway exists already (e.g. the Knative external Gateway) and is only referenced.
    pub create: bool,
    /// `serviceAccount`: the ServiceAccount the pods of a Gateway that mesh-render does not render
    /// run as. istiod names it after the annotation `gateway.istio.io/service-account` when the
    /// Gateway carries one, else `<name>-<class>` (istio 1.29.6 `pilot/pkg/config/kube/gateway/
    /// deploymentcontroller.go:514,547`, 1.30.3 `gatewaycommon/deploymentcontroller.go:396,429`),
    /// and mesh-render cannot read the annotations of a Gateway it does not render. `None`:
    /// `<name>-istio`. See `config/rules.rs` `inference_gateway_identity`.
    pub service_account: Option<String>,
    /// Where `gateway` (or `aiServing`) and `serviceAccount` are written, for the cross-section rules.
    pub pos: Pos,
    pub service_account_pos: Option<Pos>,
}

/// One InferencePool with its endpoint picker and route.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    pub name: String,
    pub namespace: String,
    /// Labels of the model server pods.
    pub selector: BTreeMap<String, String>,
    pub target_ports: Vec<u16>,
    pub hostnames: Vec<String>,
    pub path_prefix: String,
    pub picker: EndpointPicker,
    pub objectives: Vec<Objective>,
}

/// How the gateway reaches the endpoint picker's ext_proc port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickerTls {
    /// The picker serves its own self-signed certificate; a DestinationRule originates TLS without
    /// verifying it, and the sidecar lets port 9002 through untouched.
    SelfSigned,
    /// The picker serves plaintext; the mesh's mTLS protects it.
    Mesh,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointPicker {
    pub image: String,
    pub version: String,
    pub replicas: u32,
    /// `FailClose` or `FailOpen`.
    pub failure_mode: &'static str,
    pub tls: PickerTls,
    pub resources: Resources,
}

/// An InferenceObjective (v1.1.0 only: later releases moved it to llm-d).
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub name: String,
    pub priority: i64,
}

const KEYS: &[&str] = &["inferenceExtension", "installCRDs", "gateway", "pools"];
const POOL_KEYS: &[&str] = &["name", "namespace", "selector", "targetPorts", "hostnames", "pathPrefix", "endpointPicker", "objectives"];
const PICKER_KEYS: &[&str] = &["image", "version", "replicas", "failureMode", "tls", "resources"];
/// Keys of the removed InferenceModel API, answered with what replaced it.
const REMOVED: &[&str] = &["models", "inferenceModels", "inferenceModel", "InferenceModel"];

fn removed_api(dec: &mut Decoder, node: &Node, path: &str) {
    if let Value::Map(entries) = &node.value {
        for (k, _) in entries {
            let key = k.as_scalar().unwrap_or_default();
            if REMOVED.contains(&key) {
                dec.report(&codes::INVALID_VALUE,
                    k.pos,
                    &decode::join(path, key),
                    "InferenceModel no longer exists: it became InferenceObjective (inference.networking.x-k8s.io/v1alpha2, `priority` and `poolRef`), which only the endpoint picker reads",
                    "list `objectives: [{name, priority}]` under the pool (Inference Extension v1.1.0; from v1.6.0 objectives live in the llm-d project)",
                );
            }
        }
    }
}

/// Reads the section. `root_namespace` is Istio's, the default home of the inference Gateway.
pub fn read(node: &Node, path: &str, root_namespace: &str, dec: &mut Decoder) -> Option<AiServing> {
    removed_api(dec, node, path);
    let known: Vec<&str> = KEYS.iter().chain(REMOVED).copied().collect();
    let f = dec.map(node, path, Some(&known))?;
    let release = match f.get("inferenceExtension") {
        Some(n) => dec.one_of(n, &f.path("inferenceExtension"), RELEASES).unwrap_or(RELEASES[0]),
        None => RELEASES[0],
    };
    let install_crds = f.get("installCRDs").and_then(|n| dec.bool(n, &f.path("installCRDs"))).unwrap_or(false);
    let mut gateway = InferenceGateway {
        name: "inference-gateway".into(),
        namespace: root_namespace.into(),
        create: true,
        service_account: None,
        pos: node.pos,
        service_account_pos: None,
    };
    if let Some(n) = f.get("gateway") {
        gateway.pos = n.pos;
        if let Some(gf) = dec.map(n, &f.path("gateway"), Some(&["name", "namespace", "create", "serviceAccount"])) {
            if let Some(sa) = gf.get("serviceAccount") {
                gateway.service_account_pos = Some(sa.pos);
                gateway.service_account = dec.dns_label(sa, &gf.path("serviceAccount"));
            }
            if let Some(v) = gf.get("name").and_then(|v| dec.dns_label(v, &gf.path("name"))) {
                gateway.name = v;
            }
            if let Some(v) = gf.get("namespace").and_then(|v| dec.dns_label(v, &gf.path("namespace"))) {
                gateway.namespace = v;
            }
            if let Some(v) = gf.get("create").and_then(|v| dec.bool(v, &gf.path("create"))) {
                gateway.create = v;
            }
        }
    }
    let mut pools = Vec::new();
    if let Some(n) = f.get("pools") {
        let ppath = f.path("pools");
        if let Some(items) = dec.seq(n, &ppath) {
            let mut seen: BTreeMap<(String, String), Pos> = BTreeMap::new();
            for (i, item) in items.iter().enumerate() {
                let ipath = format!("{ppath}[{i}]");
                if let Some(pool) = read_pool(item, &ipath, release, root_namespace, dec) {
                    let key = (pool.namespace.clone(), pool.name.clone());
                    if let Some(first) = seen.get(&key) {
                        dec.report(
                            &codes::INVALID_VALUE,
                            item.pos,
                            &ipath,
                            format!("pool `{}/{}` is declared twice (first at line {})", key.0, key.1, first.line),
                            "give each pool a unique name in its namespace",
                        );
                        continue;
                    }
                    seen.insert(key, item.pos);
                    pools.push(pool);
                }
            }
        }
    }
    let declared = f.get("pools").is_some_and(|n| matches!(&n.value, Value::Seq(items) if !items.is_empty()));
    if !declared {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            &f.path("pools"),
            "aiServing is present but declares no pools",
            "add at least one pool, or remove the aiServing section",
        );
    }
    // Pool order has no meaning: render them sorted.
    pools.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Some(AiServing { release, install_crds, gateway, pools })
}

fn read_pool(node: &Node, path: &str, release: &'static str, root_namespace: &str, dec: &mut Decoder) -> Option<Pool> {
    removed_api(dec, node, path);
    let known: Vec<&str> = POOL_KEYS.iter().chain(REMOVED).copied().collect();
    let f = dec.map(node, path, Some(&known))?;
    let required = |dec: &mut Decoder, key: &str| {
        let found = f.get(key);
        if found.is_none() {
            dec.report(
                &codes::MISSING_SETTING,
                node.pos,
                &f.path(key),
                format!("`{key}` is required"),
                "see `mesh-render example` for a complete pool",
            );
        }
        found
    };
    let name = required(dec, "name").and_then(|n| dec.dns_label(n, &f.path("name")));
    let namespace = required(dec, "namespace").and_then(|n| dec.dns_label(n, &f.path("namespace")));
    let selector = required(dec, "selector").and_then(|n| labels(n, &f.path("selector"), dec));
    let target_ports = required(dec, "targetPorts").and_then(|n| ports(n, &f.path("targetPorts"), dec));
    let hostnames = f.get("hostnames").and_then(|n| hostnames(n, &f.path("hostnames"), dec)).unwrap_or_default();
    let path_prefix = match f.get("pathPrefix").and_then(|n| dec.string(n, &f.path("pathPrefix")).map(|s| (n, s))) {
        Some((_, p)) if p.starts_with('/') && !p.contains(char::is_whitespace) => p,
        Some((n, p)) => {
            dec.report(
                &codes::INVALID_VALUE,
                n.pos,
                &f.path("pathPrefix"),
                format!("`{p}` is not an absolute path"),
                "start it with `/`, e.g. `/v1`",
            );
            "/".into()
        }
        None => "/".into(),
    };
    // The default TLS mode: `mesh` where the picker has a sidecar (every pool namespace but the root
    // one is injected, `render/facts.rs`), so the mesh authenticates the gateway and the `<pool>-epp`
    // policy admits only its principal; `selfSigned` would leave 9002 uncaptured, open to any pod.
    // In the root namespace (no sidecar) `mesh` would be plaintext gRPC, so `selfSigned` stays.
    let default_tls = match &namespace {
        Some(ns) if ns != root_namespace => PickerTls::Mesh,
        _ => PickerTls::SelfSigned,
    };
    let picker = read_picker(f.get("endpointPicker"), &f.path("endpointPicker"), release, default_tls, dec);
    let mut objectives = Vec::new();
    if let Some(n) = f.get("objectives") {
        let opath = f.path("objectives");
        if release != "v1.1.0" {
            dec.report(
                &codes::CONFLICTING_SETTINGS,
                n.pos,
                &opath,
                format!("Inference Extension {release} has no InferenceObjective (it moved to the llm-d project in v1.6.0)"),
                "use `inferenceExtension: v1.1.0`, or manage objectives with llm-d",
            );
        } else if let Some(items) = dec.seq(n, &opath) {
            for (i, item) in items.iter().enumerate() {
                let ipath = format!("{opath}[{i}]");
                let Some(of) = dec.map(item, &ipath, Some(&["name", "priority"])) else { continue };
                let oname = of.get("name").and_then(|v| dec.dns_label(v, &of.path("name")));
                let priority = of.get("priority").map_or(Some(0), |v| dec.int(v, &of.path("priority"), -1000, 1000));
                match (oname, priority) {
                    (Some(name), Some(priority)) => objectives.push(Objective { name, priority }),
                    (None, _) if of.get("name").is_none() => {
                        dec.report(&codes::MISSING_SETTING, item.pos, &of.path("name"), "`name` is required", "name the objective")
                    }
                    _ => {}
                }
            }
            objectives.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
    Some(Pool {
        name: name?,
        namespace: namespace?,
        selector: selector?,
        target_ports: target_ports?,
        hostnames,
        path_prefix,
        picker: picker?,
        objectives,
    })
}

fn read_picker(node: Option<&Node>, path: &str, release: &str, default_tls: PickerTls, dec: &mut Decoder) -> Option<EndpointPicker> {
    let upstream = crate::render::ai_serving::picker_release(release);
    let mut picker = EndpointPicker {
        image: upstream.image.into(),
        version: upstream.tag.into(),
        replicas: 1,
        failure_mode: "FailClose",
        tls: default_tls,
        resources: Resources {
            requests: [("cpu", "100m"), ("memory", "256Mi")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
            limits: [("memory", "1Gi")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
        },
    };
    let Some(node) = node else { return Some(picker) };
    let f = dec.map(node, path, Some(PICKER_KEYS))?;
    if let Some(v) = f.get("image").and_then(|n| dec.string(n, &f.path("image"))) {
        if v.is_empty() || v.contains([' ', '@']) || v.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            dec.report(
                &codes::INVALID_VALUE,
                f.get("image").map_or(node.pos, |n| n.pos),
                &f.path("image"),
                format!("`{v}` is not an image name without a tag"),
                "give the repository here and the tag under `version`",
            );
        } else {
            picker.image = v;
        }
    }
    if let Some(v) = f.get("version").and_then(|n| dec.string(n, &f.path("version"))) {
        picker.version = v;
    }
    if let Some(v) = f.get("replicas").and_then(|n| dec.int(n, &f.path("replicas"), 1, 10)) {
        picker.replicas = v as u32;
    }
    if let Some(v) = f.get("failureMode").and_then(|n| dec.one_of(n, &f.path("failureMode"), &["FailClose", "FailOpen"])) {
        picker.failure_mode = v;
    }
    if let Some(v) = f.get("tls").and_then(|n| dec.one_of(n, &f.path("tls"), &["selfSigned", "mesh"])) {
        picker.tls = if v == "mesh" { PickerTls::Mesh } else { PickerTls::SelfSigned };
        if picker.tls == PickerTls::SelfSigned && default_tls == PickerTls::Mesh {
            dec.report(
                &codes::UNGUARDED_PICKER_PORT,
                f.get("tls").map_or(node.pos, |n| n.pos),
                &f.path("tls"),
                format!(
                    "`selfSigned` excludes the picker's ext_proc port {} from its sidecar: any pod can call it",
                    crate::render::ai_serving::EXT_PROC_PORT
                ),
                "remove `tls` (the default in an injected namespace is `mesh`, which admits only the inference gateway)",
            );
        }
    }
    if let Some(n) = f.get("resources") {
        picker.resources = super::read_resources(n, &f.path("resources"), picker.resources.clone(), dec);
    }
    Some(picker)
}

fn labels(node: &Node, path: &str, dec: &mut Decoder) -> Option<BTreeMap<String, String>> {
    let f = dec.map(node, path, None)?;
    let mut out = BTreeMap::new();
    if let Value::Map(entries) = &f.node.value {
        for (k, v) in entries {
            let vpath = f.path(k.as_scalar().unwrap_or_default());
            let Some(key) = dec.label_key(k, &vpath, "label") else { continue };
            let Some(value) = dec.label_value(v, &vpath) else { continue };
            out.insert(key, value);
        }
    }
    if out.is_empty() {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            "the selector is empty",
            "select the model server pods by their labels, e.g. `{app: vllm-llama3}`",
        );
        return None;
    }
    Some(out)
}

fn ports(node: &Node, path: &str, dec: &mut Decoder) -> Option<Vec<u16>> {
    let items = dec.seq(node, path)?;
    if items.is_empty() || items.len() > 8 {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            format!("{} target ports given; an InferencePool takes 1 to 8", items.len()),
            "list the model servers' ports",
        );
        return None;
    }
    let mut out: Vec<u16> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(p) = dec.int(item, &format!("{path}[{i}]"), 1, 65535) else { continue };
        let p = p as u16;
        if out.contains(&p) {
            dec.report(
                &codes::INVALID_VALUE,
                item.pos,
                &format!("{path}[{i}]"),
                format!("port {p} is listed twice"),
                "target ports must be unique",
            );
        } else {
            out.push(p);
        }
    }
    Some(out)
}

fn hostnames(node: &Node, path: &str, dec: &mut Decoder) -> Option<Vec<String>> {
    let items = dec.seq(node, path)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let Some(h) = dec.string(item, &ipath) else { continue };
        let bare = h.strip_prefix("*.").unwrap_or(&h);
        if bare.split('.').any(|label| decode::dns_label_problem(label).is_some()) {
            dec.report(
                &codes::INVALID_VALUE,
                item.pos,
                &ipath,
                format!("`{h}` is not a DNS hostname"),
                "use lowercase DNS labels separated by dots, optionally starting with `*.`",
            );
        } else {
            out.push(h);
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}
