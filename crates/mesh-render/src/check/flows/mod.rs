//! Traffic flows: which calls the rendered mesh allows, over mTLS or in plaintext, and why.
//!
//! A [`catalogue`] of the calls this mesh exists for (Knative's data and control paths, eventing
//! delivery, probes, webhooks, scrapes, AI serving) and of calls it must refuse (least privilege),
//! each with the upstream manifest or code it comes from; an [`eval`]uator that applies Istio's
//! documented PeerAuthentication, AuthorizationPolicy, DestinationRule and injection semantics to
//! the rendered objects; and the outputs of `mesh-render flows` (table, JSON, Mermaid).
//!
//! Pure: typed objects and the config in, rows out.

pub mod catalogue;
mod classes;
pub mod eval;
pub mod fleet;

pub use classes::app_classes;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::config::Config;
use crate::Object;

/// Whether the mesh needs a flow, must refuse it, or only shows it.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Need {
    /// Knative (or the configured feature) breaks without it.
    Needed,
    /// Least privilege: the mesh must deny it.
    Refused,
    /// Shown for information; either verdict is acceptable.
    Info,
}

/// What the destination's proxy does with the call.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Deny,
}

/// How the call crosses the network, as the destination sees it.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Istio mutual TLS: the destination knows the caller's identity.
    Mtls,
    /// The destination's sidecar does not see the call (excluded port, or a probe that pilot-agent
    /// makes inside the pod).
    Bypass,
    /// No mesh identity: plain text, or TLS that is not Istio's.
    Plaintext,
}

macro_rules! names {
    ($($ty:ident { $($variant:ident = $name:literal),* })*) => {$(
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

names! {
    Need { Needed = "needed", Refused = "refused", Info = "info" }
    Verdict { Allow = "allow", Deny = "deny" }
    Transport { Mtls = "mtls", Bypass = "bypass", Plaintext = "plaintext" }
    CallKind { Service = "service", PodIp = "pod-ip", Kubelet = "kubelet" }
}

/// What kind of caller or callee a workload is: it decides sidecars and which policies apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A pod: it gets a sidecar when its namespace is injected and it does not opt out.
    Pod,
    /// The pods istiod deploys for a Gateway API Gateway of class `istio` (Envoy is the main
    /// container; no sidecar, no `security.istio.io/tlsMode` label).
    Gateway { gateway: String },
    /// Not a pod network endpoint of the mesh: kubelet, kube-apiserver.
    Host,
}

/// A workload as the catalogue knows it from the upstream manifests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Empty for callers that are not pods (kubelet, kube-apiserver).
    pub namespace: String,
    pub name: String,
    /// Pod labels (what workload selectors match).
    pub labels: BTreeMap<String, String>,
    /// The pod's service account, for `source.principals`.
    pub service_account: String,
    pub role: Role,
}

impl Workload {
    pub fn pod(namespace: &str, name: &str, labels: &[(&str, &str)], service_account: &str) -> Self {
        Workload {
            namespace: namespace.into(),
            name: name.into(),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            service_account: service_account.into(),
            role: Role::Pod,
        }
    }

    pub fn host(name: &str) -> Self {
        Workload { namespace: String::new(), name: name.into(), labels: BTreeMap::new(), service_account: String::new(), role: Role::Host }
    }

    /// `namespace/name`, or the name alone for hosts.
    pub fn id(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

/// How the caller addresses the callee: it decides whether the caller's sidecar can use mTLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// Through a Service (ClusterIP or an InferencePool's shadow Service): an EDS cluster, where
    /// auto-mTLS applies. `host` is the Service's FQDN when a DestinationRule may name it.
    Service { host: Option<String> },
    /// To a pod IP: the caller's sidecar forwards it through its passthrough (ORIGINAL_DST) cluster,
    /// which gets no auto-mTLS.
    PodIp,
    /// A kubelet probe or lifecycle hook.
    Kubelet,
}

/// The kind of a [`Call`], as a row prints it (`call`, `via_call`).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum CallKind {
    /// Through a Service.
    Service,
    /// To a pod IP.
    PodIp,
    /// A kubelet probe or lifecycle hook.
    Kubelet,
}

impl Call {
    pub fn kind(&self) -> CallKind {
        match self {
            Call::Service { .. } => CallKind::Service,
            Call::PodIp => CallKind::PodIp,
            Call::Kubelet => CallKind::Kubelet,
        }
    }
}

/// One leg of a flow: through a gateway, a flow has two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub to: Workload,
    /// The port on the callee's pod (what PeerAuthentication `portLevelMtls` and
    /// AuthorizationPolicy `to.operation.ports` name).
    pub port: u16,
    pub path: Option<String>,
    pub call: Call,
}

/// One call the catalogue or the config's expectations describe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub purpose: String,
    pub need: Need,
    pub from: Workload,
    /// At least one; every hop but the last ends at a proxy that calls on with its own identity (a
    /// gateway, or the activator).
    pub hops: Vec<Hop>,
    /// Index into `components.istio.flows.expect`, for flows the config asked for.
    pub expectation: Option<usize>,
    /// A call from another cluster of a multi-cluster mesh (`fleet`).
    pub cross: Option<fleet::Cross>,
}

impl Flow {
    fn new(need: Need, purpose: impl Into<String>, from: Workload, hops: Vec<Hop>) -> Self {
        Flow { purpose: purpose.into(), need, from, hops, expectation: None, cross: None }
    }
}

/// A workload as printed in a row.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub namespace: String,
    pub workload: String,
    pub sidecar: bool,
}

/// The gateway a flow passes through.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Via {
    pub namespace: String,
    pub workload: String,
    pub port: u16,
}

/// An object that decided a verdict or a transport.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decider {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The index in `spec.rules` of the AuthorizationPolicy rule that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<usize>,
}

impl fmt::Display for Decider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)?;
        if let Some(rule) = self.rule {
            write!(f, "#{rule}")?;
        }
        Ok(())
    }
}

/// How one hop went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HopResult {
    pub to: Endpoint,
    pub port: u16,
    pub verdict: Verdict,
    pub transport: Transport,
    /// The caller could have used mTLS (it has a sidecar or is a gateway), but the hop is plaintext.
    pub plaintext_in_mesh: bool,
    pub decided_by: Vec<Decider>,
    pub reason: String,
}

/// One evaluated flow: the `mesh-render flows` row.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub from: Endpoint,
    pub to: Endpoint,
    /// The caller's cluster, on a row of a call from another cluster of a multi-cluster mesh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_cluster: Option<String>,
    /// The destination's cluster (the one rendered), on such a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// How the caller addresses the first hop's callee (`via`), for a row through a gateway or the
    /// activator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_call: Option<CallKind>,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How the last hop's caller addresses `to`: through a Service, to a pod IP, or as the kubelet.
    pub call: CallKind,
    pub purpose: String,
    pub need: Need,
    pub verdict: Verdict,
    pub transport: Transport,
    pub decided_by: Vec<Decider>,
    /// Why, in one sentence per hop.
    pub reason: String,
    #[serde(skip)]
    pub hops: Vec<HopResult>,
    #[serde(skip)]
    pub expectation: Option<usize>,
}

/// Every catalogued flow and every expectation of the config, evaluated against `objects` (the
/// rendered objects of that config).
pub fn evaluate<'a>(config: &Config, objects: impl IntoIterator<Item = &'a Object>) -> Vec<Row> {
    let mut rows = Vec::new();
    for_each_row(config, objects, |row| rows.push(row));
    rows
}

/// Like [`evaluate`], one row at a time: the analyzers keep only what they report, so that a mesh
/// of 10,000 app namespaces (over 200,000 rows) never holds every row at once.
pub fn for_each_row<'a>(config: &Config, objects: impl IntoIterator<Item = &'a Object>, mut each: impl FnMut(Row)) {
    let mesh = eval::Mesh::new(&config.namespace, objects);
    for flow in catalogue::catalogue(config).into_iter().chain(catalogue::expectations(config)) {
        each(mesh.evaluate(&flow));
    }
}

/// Like [`for_each_row`], with one representative per class of app namespaces: two app namespaces
/// are alike when their own objects, and those of the app namespace each is paired with (the next
/// one), are the same once the namespace's name is replaced by a placeholder ([`app_classes`]).
/// Every per-app flow reads only those objects and the mesh-wide ones, so the rows of the others are
/// the representative's with another name: a 10,000-namespace mesh of identical apps is checked in
/// the time of one. The analyzers use it; `mesh-render flows` lists every row.
pub fn for_each_row_by_class(config: &Config, objects: &[&Object], mut each: impl FnMut(Row)) {
    let owners = classes::Owners::of(&config.apps, objects);
    let classes = classes::classes_of(&config.apps, objects, &owners.owner);
    let n = classes.len();
    let mut seen = std::collections::HashSet::new();
    let keep: Vec<bool> = (0..n).map(|i| seen.insert((classes[i], classes[(i + 1) % n.max(1)]))).collect();
    let flows: Vec<Flow> = catalogue::catalogue_with(config, &|i| keep[i]).into_iter().chain(catalogue::expectations(config)).collect();
    // A flow reads the objects of its workloads' namespaces, the root namespace's and the
    // DestinationRules (by host): the objects of the app namespaces no flow names are not indexed.
    let mut named = vec![false; n];
    for flow in &flows {
        for ns in std::iter::once(&flow.from.namespace).chain(flow.hops.iter().map(|h| &h.to.namespace)) {
            if let Some(&i) = owners.index.get(ns.as_str()) {
                named[i] = true;
            }
        }
    }
    let read = objects
        .iter()
        .zip(&owners.owner)
        .filter(|(o, owner)| owner.is_none_or(|i| named[i]) || matches!(o, Object::DestinationRule(_)))
        .map(|(o, _)| *o);
    let mesh = eval::Mesh::new(&config.namespace, read);
    for flow in &flows {
        each(mesh.evaluate(flow));
    }
}

/// The rows as pretty JSON (an array; field names are documented in docs/flows.md).
pub fn to_json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|e| unreachable!("JSON of plain data: {e}")) + "\n"
}

/// The rows as an aligned text table.
pub fn to_table(rows: &[Row]) -> String {
    let header = ["NEED", "VERDICT", "TRANSPORT", "FROM", "TO", "PORT", "PURPOSE", "DECIDED BY"];
    let mut lines: Vec<[String; 8]> = vec![header.map(String::from)];
    for r in rows {
        let endpoint = |e: &Endpoint, cluster: Option<&String>| {
            let id = if e.namespace.is_empty() { e.workload.clone() } else { format!("{}/{}", e.namespace, e.workload) };
            let id = match cluster {
                Some(c) => format!("{c}:{id}"),
                None => id,
            };
            if e.sidecar {
                format!("{id}+")
            } else {
                id
            }
        };
        let to = match &r.via {
            Some(v) => format!("{} (via {}/{})", endpoint(&r.to, r.to_cluster.as_ref()), v.namespace, v.workload),
            None => endpoint(&r.to, r.to_cluster.as_ref()),
        };
        let port = match &r.path {
            Some(p) => format!("{}{p}", r.port),
            None => r.port.to_string(),
        };
        let deciders: Vec<String> = r.decided_by.iter().map(Decider::to_string).collect();
        let decided = if deciders.is_empty() { "-".to_string() } else { deciders.join(", ") };
        lines.push([
            r.need.to_string(),
            r.verdict.to_string(),
            r.transport.to_string(),
            endpoint(&r.from, r.from_cluster.as_ref()),
            to,
            port,
            r.purpose.clone(),
            decided,
        ]);
    }
    let widths: Vec<usize> = (0..8).map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for line in &lines {
        let cells: Vec<String> = line.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str("(+ = the workload has a sidecar)\n");
    out
}

/// The rows as a Markdown table (for docs/architecture.md).
pub fn to_markdown(rows: &[Row]) -> String {
    let end = |e: &Endpoint, cluster: Option<&String>| {
        let id = if e.namespace.is_empty() { e.workload.clone() } else { format!("{}/{}", e.namespace, e.workload) };
        let id = cluster.map_or(id.clone(), |c| format!("{c}:{id}"));
        format!("`{id}`{}", if e.sidecar { "+" } else { "" })
    };
    let mut out =
        String::from("| Need | Verdict | Transport | From | To | Port | Purpose | Decided by |\n|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let to = match &r.via {
            Some(v) => format!("{} via `{}/{}`", end(&r.to, r.to_cluster.as_ref()), v.namespace, v.workload),
            None => end(&r.to, r.to_cluster.as_ref()),
        };
        let port = format!("{}{}", r.port, r.path.as_deref().unwrap_or_default());
        let deciders: Vec<String> = r.decided_by.iter().map(|d| format!("`{d}`")).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {to} | `{port}` | {} | {} |\n",
            r.need,
            r.verdict,
            r.transport,
            end(&r.from, r.from_cluster.as_ref()),
            r.purpose.replace('|', "\\|"),
            deciders.join(", ")
        ));
    }
    out
}

/// A Mermaid flowchart of the allowed flows, grouped by namespace: solid arrows for mTLS, dashed
/// for plaintext, thick for calls the sidecar does not see.
pub fn to_mermaid(rows: &[Row]) -> String {
    let mut nodes: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let node_id = |ns: &str, workload: &str, nodes: &mut BTreeMap<String, BTreeMap<String, String>>| {
        let id = format!("{}__{}", ns, workload).replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        nodes.entry(ns.to_string()).or_default().insert(id.clone(), workload.to_string());
        id
    };
    let mut edges: Vec<(String, String, String, Transport)> = Vec::new();
    for r in rows.iter().filter(|r| r.verdict == Verdict::Allow) {
        // A caller of another cluster is a node of its own (`cluster:namespace`).
        let from_ns = r.from_cluster.as_ref().map_or(r.from.namespace.clone(), |c| format!("{c}:{}", r.from.namespace));
        let mut from = node_id(&from_ns, &r.from.workload, &mut nodes);
        let mut legs: Vec<(&str, &str, u16, Transport)> = Vec::new();
        for (i, hop) in r.hops.iter().enumerate() {
            let port = if i + 1 == r.hops.len() { r.port } else { hop.port };
            legs.push((&hop.to.namespace, &hop.to.workload, port, hop.transport));
        }
        for (ns, workload, port, transport) in legs {
            let to = node_id(ns, workload, &mut nodes);
            let edge = (from.clone(), to.clone(), port.to_string(), transport);
            if !edges.contains(&edge) {
                edges.push(edge);
            }
            from = to;
        }
    }
    edges.sort();
    let mut out = String::from("flowchart LR\n");
    for (ns, members) in &nodes {
        if ns.is_empty() {
            for (id, name) in members {
                out.push_str(&format!("  {id}[\"{name}\"]\n"));
            }
            continue;
        }
        out.push_str(&format!("  subgraph {}[\"{ns}\"]\n", format!("ns_{ns}").replace('-', "_")));
        for (id, name) in members {
            out.push_str(&format!("    {id}[\"{name}\"]\n"));
        }
        out.push_str("  end\n");
    }
    for (from, to, port, transport) in &edges {
        let arrow = match transport {
            Transport::Mtls => "-->",
            Transport::Plaintext => "-.->",
            Transport::Bypass => "==>",
        };
        out.push_str(&format!("  {from} {arrow}|\"{port} {transport}\"| {to}\n"));
    }
    out
}
