//! `components.istio.multiCluster`: one mesh across several clusters (Istio's multi-primary model,
//! on one network or on several joined by east-west gateways, with one root of trust).
//!
//! Each cluster is rendered on its own (`--cluster NAME`): its settings are the section (after the
//! selected environment) with the cluster's `version` and `overrides` deep-merged on top, read and
//! checked like the base. What makes the clusters one mesh is written into every cluster's render:
//! istiod's `global.meshID`, `global.multiCluster.clusterName` and `global.network`, the network label
//! on the root namespace, the east-west gateway and the cross-network Gateway when networks differ,
//! and the cert-manager Certificate that gives each cluster an intermediate CA of the shared root.

use std::collections::BTreeMap;

use super::codes;
use super::decode::{self, Decoder, Fields};
use crate::config::syntax::{Node, Value};
use crate::diagnostics::Pos;

/// Keys of `components.istio.multiCluster`.
pub const MULTI_CLUSTER_KEYS: &[&str] = &["meshID", "clusters", "eastWest", "trust"];
/// Keys of one entry of `multiCluster.clusters`.
pub const CLUSTER_KEYS: &[&str] = &["name", "network", "context", "server", "apiServer", "version", "eastWest", "overrides"];
/// Keys of `multiCluster.eastWest` (and of a cluster's `eastWest`, merged on top).
pub const EAST_WEST_KEYS: &[&str] = &["enabled", "name", "service", "replicas"];
const SERVICE_KEYS: &[&str] = &["type", "externalIPs", "annotations"];
/// Keys of `multiCluster.trust`.
pub const TRUST_KEYS: &[&str] = &["enabled", "issuer", "rootCASecret", "certManagerNamespace", "duration", "renewBefore"];
/// `components.istio` keys a cluster's `overrides` may not set: what is the same for every cluster
/// of one mesh (the root namespace: remote secrets and the trust live there in every cluster; Argo
/// CD: the ApplicationSet puts every cluster's parent into one Argo CD namespace and project, where
/// the cluster's Applications must be too).
pub const NOT_OVERRIDABLE: &[&str] = &["enabled", "namespace", "multiCluster", "environments", "argocd"];

/// The annotation that makes istiod take a NodePort gateway's address from the nodes it selects (a
/// JSON label selector; `{}`: every node): without it a NodePort Service gives no address (istio
/// 1.29.6 `pilot/pkg/serviceregistry/kube/conversion.go:119-130`,
/// `pilot/pkg/serviceregistry/kube/controller/util.go:138-160`), and only nodes with an `ExternalIP`
/// count (`controller.go:568-576`).
pub const NODE_SELECTOR_ANNOTATION: &str = "traffic.istio.io/nodeSelector";

/// The label that puts a cluster's pods on a network: on the root namespace, istiod reads it as the
/// network of every pod of the cluster (istio 1.29.6
/// `pilot/pkg/serviceregistry/kube/controller/network.go:94-101`, `setNetworkFromNamespace`); on
/// the east-west gateway's Service, it makes the Service the gateway of that network (`:314-340`).
pub const NETWORK_LABEL: &str = "topology.istio.io/network";

/// The east-west gateway's default name: Istio's samples and docs call it so
/// (`samples/multicluster/gen-eastwest-gateway.sh`), and the gateway chart derives its selector label
/// `istio: eastwestgateway` from it (`charts/gateway/templates/_helpers.tpl:18-21`, `trimPrefix "istio-"`),
/// which `samples/multicluster/expose-services.yaml` selects.
pub const DEFAULT_EAST_WEST_NAME: &str = "istio-eastwestgateway";

/// The port of mTLS passthrough on an east-west gateway (istio 1.29.6
/// `pilot/pkg/serviceregistry/kube/controller/network.go:324`, `DefaultNetworkGatewayPort`; the gateway
/// chart's Service with `networkGateway`, `charts/gateway/templates/service.yaml:52-66`).
pub const EAST_WEST_PORT: u16 = 15443;

/// The cert-manager API group (`cert-manager.io/v1`).
pub const CERT_MANAGER_GROUP: &str = "cert-manager.io";

/// The Secret istiod reads a plugged-in CA from, in the root namespace (istio 1.29.6
/// `security/pkg/pki/ca/ca.go:65-66`, `CACertsSecret`), mounted at `/etc/cacerts`. In the format of a
/// `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`, `ca.crt`, which cert-manager writes) istiod signs
/// with `tls.crt`/`tls.key` and trusts `ca.crt` (`pilot/pkg/bootstrap/istio_ca.go:223-242`).
pub const CACERTS_SECRET: &str = "cacerts";

/// The mesh across clusters, as the section describes it (the same for every cluster).
#[derive(Clone, Debug, PartialEq)]
pub struct MultiCluster {
    /// istiod's `global.meshID`: the same in every cluster of the mesh.
    pub mesh_id: String,
    /// In the order of the config: the order of the fleet plan and of the ApplicationSet's steps.
    pub clusters: Vec<ClusterSpec>,
    /// The mesh-wide east-west settings (a cluster may override some: [`ClusterIdentity::east_west`]).
    pub east_west: EastWest,
    /// The shared root of trust; `None` with `trust.enabled: false` (each istiod then signs with a
    /// root of its own, and cross-cluster mTLS fails: MR152).
    pub trust: Option<Trust>,
    /// Where `multiCluster` is in the file.
    pub pos: Pos,
}

impl MultiCluster {
    /// The distinct networks, in the order they first appear.
    pub fn networks(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.clusters {
            if !out.contains(&c.network.as_str()) {
                out.push(&c.network);
            }
        }
        out
    }

    pub fn cluster(&self, name: &str) -> Option<&ClusterSpec> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

/// One entry of `multiCluster.clusters`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSpec {
    /// istiod's `global.multiCluster.clusterName`; unique in the mesh.
    pub name: String,
    /// istiod's `global.network` and the root namespace's [`NETWORK_LABEL`].
    pub network: String,
    /// The kube context the plans use for this cluster (`--context` overrides it); the name by default.
    pub context: String,
    /// Argo CD's destination server for this cluster (the ApplicationSet's list element).
    pub server: Option<String>,
    /// The API server address the other clusters' istiod reach (`istioctl create-remote-secret
    /// --server`); the kube context's server when absent.
    pub api_server: Option<String>,
    pub pos: Pos,
    /// What the cluster's settings (the section with its overrides) say about it, for checks that
    /// look across clusters (the flows between them); filled once every cluster is read.
    pub summary: ClusterSummary,
}

/// A cluster's settings as the other clusters' checks see them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterSummary {
    /// Its app namespaces (`namespaces.apps`).
    pub apps: Vec<String>,
    /// Its east-west gateway is rendered.
    pub east_west: bool,
    /// Its Istio release.
    pub version: Option<crate::versions::Version>,
}

/// The east-west gateway of a cluster (the `gateway` chart with `networkGateway`).
#[derive(Clone, Debug, PartialEq)]
pub struct EastWest {
    /// Rendered: by default when the clusters are on more than one network.
    pub enabled: bool,
    /// Where `enabled` was set (`None`: the default), for MR151.
    pub enabled_pos: Option<Pos>,
    /// The Helm release, Deployment and Service name.
    pub name: String,
    /// `LoadBalancer`, `NodePort` or `ClusterIP` (then with `externalIPs`).
    pub service_type: &'static str,
    /// `spec.externalIPs`: istiod takes them as the gateway's addresses (istio 1.29.6
    /// `pilot/pkg/serviceregistry/kube/conversion.go:160-165`), e.g. on kind without a LoadBalancer.
    pub external_ips: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    /// A fixed replica count (autoscaling off); the chart's autoscaling (1 to 5) when absent.
    pub replicas: Option<u32>,
}

/// The selected cluster of a per-cluster config.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterIdentity {
    pub name: String,
    pub network: String,
    /// The mesh-wide east-west settings with the cluster's `eastWest` merged on top.
    pub east_west: EastWest,
}

/// The cert-manager issuer of the shared root that signs every cluster's intermediate CA.
#[derive(Clone, Debug, PartialEq)]
pub struct Trust {
    pub issuer: IssuerRef,
    /// With no `issuer`: mesh-render renders the CA ClusterIssuer `issuer.name`, which reads the root
    /// key pair from this Secret in [`Trust::cert_manager_namespace`] (put there by you in every
    /// cluster, never rendered).
    pub root_ca_secret: Option<String>,
    /// cert-manager's cluster resource namespace, where a ClusterIssuer's Secret is read from.
    pub cert_manager_namespace: String,
    /// The intermediate CA's lifetime and renewal (cert-manager durations).
    pub duration: String,
    pub renew_before: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRef {
    pub name: String,
    /// `ClusterIssuer` or `Issuer` (then in the root namespace).
    pub kind: &'static str,
    pub group: String,
}

/// One cluster's overlay: its `overrides` with its `version` merged in, to deep-merge onto the
/// section (positions stay those of the file).
pub(super) struct ClusterOverlay<'n> {
    pub spec: ClusterSpec,
    pub overlay: Node,
    pub east_west: Option<&'n Node>,
}

/// Reads `multiCluster`; `None` when absent or wrong (problems reported). The overlays of the
/// clusters come back beside it, for [`super::read_clusters`].
pub(super) fn read<'n>(node: &'n Node, path: &str, dec: &mut Decoder) -> Option<(MultiCluster, Vec<ClusterOverlay<'n>>)> {
    let f = dec.map(node, path, Some(MULTI_CLUSTER_KEYS))?;
    let errors = dec.diags.iter().filter(|d| d.is_error()).count();
    let mesh_id = match f.get("meshID") {
        Some(n) => dec.dns_label(n, &f.path("meshID")),
        None => {
            dec.report(
                &codes::MISSING_SETTING,
                node.pos,
                &f.path("meshID"),
                "`meshID` is missing",
                "name the mesh, e.g. `meshID: playground`: every cluster's istiod gets it as `global.meshID`",
            );
            None
        }
    };
    let overlays = read_clusters(&f, node, dec);
    let networks: usize = {
        let mut n: Vec<&str> = overlays.iter().map(|o| o.spec.network.as_str()).collect();
        n.sort_unstable();
        n.dedup();
        n.len()
    };
    let east_west = read_east_west(f.get("eastWest"), &f.path("eastWest"), networks > 1, dec);
    let trust = read_trust(f.get("trust"), &f.path("trust"), mesh_id.as_deref().unwrap_or("mesh"), dec);
    if dec.diags.iter().filter(|d| d.is_error()).count() > errors {
        return None;
    }
    let multi = MultiCluster {
        mesh_id: mesh_id?,
        clusters: overlays.iter().map(|o| o.spec.clone()).collect(),
        east_west: east_west?,
        trust: trust?,
        pos: node.pos,
    };
    Some((multi, overlays))
}

fn read_clusters<'n>(f: &Fields<'n>, node: &Node, dec: &mut Decoder) -> Vec<ClusterOverlay<'n>> {
    let path = f.path("clusters");
    let Some(list) = f.get("clusters") else {
        dec.report(
            &codes::MISSING_SETTING,
            node.pos,
            &path,
            "`clusters` is missing",
            "list the mesh's clusters, e.g. `clusters: [{name: east, network: net-east}, {name: west, network: net-west}]`",
        );
        return Vec::new();
    };
    let Some(items) = dec.seq(list, &path) else { return Vec::new() };
    if items.is_empty() {
        dec.report(&codes::INVALID_VALUE, list.pos, &path, "`clusters` is empty", "list at least one cluster, or remove `multiCluster`");
    }
    let mut out: Vec<ClusterOverlay<'n>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let Some(cf) = dec.map(item, &ipath, Some(CLUSTER_KEYS)) else { continue };
        let name = required(&cf, "name", "e.g. `name: east`: istiod's `global.multiCluster.clusterName`", item, dec)
            .and_then(|n| dec.dns_label(n, &cf.path("name")));
        let network =
            required(&cf, "network", "e.g. `network: net-east`; clusters whose pods reach each other directly share one", item, dec)
                .and_then(|n| dec.label_value(n, &cf.path("network")));
        let context = cf.get("context").and_then(|n| dec.string(n, &cf.path("context")));
        let server = cf.get("server").and_then(|n| https_url(n, &cf.path("server"), dec));
        let api_server = cf.get("apiServer").and_then(|n| https_url(n, &cf.path("apiServer"), dec));
        if let Some(over) = cf.get("overrides") {
            check_overrides(over, &cf.path("overrides"), dec);
        }
        let overlay = overlay(item, cf.get("version"), cf.get("overrides"), &cf, dec);
        let (Some(name), Some(network)) = (name, network) else { continue };
        if let Some(first) = out.iter().find(|o| o.spec.name == name) {
            let first_line = first.spec.pos.line;
            dec.report(
                &codes::CONFLICTING_SETTINGS,
                cf.get("name").map_or(item.pos, |n| n.pos),
                &cf.path("name"),
                format!("cluster `{name}` is listed twice (first on line {first_line})"),
                "give every cluster a name of its own: it is istiod's clusterName, and the mesh tells clusters apart by it",
            );
            continue;
        }
        if context.as_deref().is_some_and(|c| c.is_empty() || c.chars().any(|ch| ch.is_whitespace() || ch == '\'' || ch == '"')) {
            dec.report(
                &codes::INVALID_VALUE,
                cf.get("context").map_or(item.pos, |n| n.pos),
                &cf.path("context"),
                "a kube context name without spaces or quotes is expected here",
                "use the name `kubectl config get-contexts` lists",
            );
        }
        out.push(ClusterOverlay {
            spec: ClusterSpec {
                context: context.unwrap_or_else(|| name.clone()),
                name,
                network,
                server,
                api_server,
                pos: item.pos,
                summary: ClusterSummary::default(),
            },
            overlay,
            east_west: cf.get("eastWest"),
        });
    }
    out
}

fn required<'n>(f: &Fields<'n>, key: &str, hint: &str, item: &Node, dec: &mut Decoder) -> Option<&'n Node> {
    let node = f.get(key);
    if node.is_none() {
        dec.report(&codes::MISSING_SETTING, item.pos, &f.path(key), format!("`{key}` is missing"), format!("add `{key}`, {hint}"));
    }
    node
}

fn https_url(node: &Node, path: &str, dec: &mut Decoder) -> Option<String> {
    let text = dec.string(node, path)?;
    let host = text.strip_prefix("https://").unwrap_or_default();
    if host.is_empty() || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~:/@%+-[]".contains(&b)) {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            format!("`{text}` is not an https:// URL of an API server"),
            "write the server as `kubectl config view` shows it, e.g. https://203.0.113.10:6443",
        );
        return None;
    }
    Some(text.trim_end_matches('/').to_string())
}

/// Argo CD in a multi-cluster mesh: each cluster's Applications go to its `server`, so
/// `argocd.destinationServer` has no meaning, and two clusters cannot share a server.
pub(super) fn check_argocd(mc: &MultiCluster, argocd: &Node, path: &str, dec: &mut Decoder) {
    if let Some(n) = argocd.get("destinationServer") {
        dec.report(
            &codes::CONFLICTING_SETTINGS,
            n.pos,
            &decode::join(path, "destinationServer"),
            "`destinationServer` is one server, and a multi-cluster mesh deploys to each cluster's own",
            "remove it and set `server` on each entry of `multiCluster.clusters` (Argo CD's own cluster when absent)",
        );
    }
    let server = |c: &ClusterSpec| c.server.clone().unwrap_or_else(|| super::gitops::IN_CLUSTER.into());
    for (i, c) in mc.clusters.iter().enumerate() {
        if let Some(first) = mc.clusters[..i].iter().find(|f| server(f) == server(c)) {
            dec.report(
                &codes::CONFLICTING_SETTINGS,
                c.pos,
                &format!("components.istio.multiCluster.clusters[{i}].server"),
                format!("clusters `{}` and `{}` both deploy to {}", first.name, c.name, server(c)),
                "give each cluster the API server Argo CD knows it by (its cluster Secret's `server`); an absent `server` is Argo CD's own cluster",
            );
        }
    }
}

/// `overrides` may set any `components.istio` key but those that are one per mesh.
fn check_overrides(node: &Node, path: &str, dec: &mut Decoder) {
    let Value::Map(entries) = &node.value else {
        dec.map(node, path, None);
        return;
    };
    for (key, _) in entries {
        let name = key.as_scalar().unwrap_or_default();
        if NOT_OVERRIDABLE.contains(&name) {
            dec.report(
                &codes::CONFLICTING_SETTINGS,
                key.pos,
                &decode::join(path, name),
                format!("`{name}` is one per mesh and cannot be overridden per cluster"),
                "set it in `components.istio` (or an environment) for every cluster",
            );
        }
    }
}

/// The cluster's overlay: `overrides` with `version` added. `version` beside `overrides.version` is
/// an error.
fn overlay(item: &Node, version: Option<&Node>, overrides: Option<&Node>, f: &Fields, dec: &mut Decoder) -> Node {
    let mut entries: Vec<(Node, Node)> = match overrides.map(|o| &o.value) {
        Some(Value::Map(entries)) => {
            entries.iter().filter(|(k, _)| !NOT_OVERRIDABLE.contains(&k.as_scalar().unwrap_or_default())).cloned().collect()
        }
        _ => Vec::new(),
    };
    if let Some(v) = version {
        if let Some((k, _)) = entries.iter().find(|(k, _)| k.as_scalar() == Some("version")) {
            dec.report(
                &codes::CONFLICTING_SETTINGS,
                k.pos,
                &decode::join(&f.path("overrides"), "version"),
                "the cluster sets `version` twice, beside and in `overrides`",
                "keep one of them",
            );
        } else {
            let key = Node { pos: v.pos, value: Value::Scalar { text: "version".into(), quoted: false } };
            entries.push((key, v.clone()));
        }
    }
    Node { pos: overrides.map_or(item.pos, |o| o.pos), value: Value::Map(entries) }
}

/// The east-west settings of `node` (`multiCluster.eastWest`, or it merged with a cluster's);
/// `multi_network` gives `enabled` its default.
pub(super) fn read_east_west(node: Option<&Node>, path: &str, multi_network: bool, dec: &mut Decoder) -> Option<EastWest> {
    let mut ew = EastWest {
        enabled: multi_network,
        enabled_pos: None,
        name: DEFAULT_EAST_WEST_NAME.into(),
        service_type: "LoadBalancer",
        external_ips: Vec::new(),
        annotations: BTreeMap::new(),
        replicas: None,
    };
    let Some(node) = node else { return Some(ew) };
    let f = dec.map(node, path, Some(EAST_WEST_KEYS))?;
    if let Some(n) = f.get("enabled") {
        ew.enabled = dec.bool(n, &f.path("enabled"))?;
        ew.enabled_pos = Some(n.pos);
    }
    if let Some(n) = f.get("name") {
        ew.name = dec.dns_label(n, &f.path("name"))?;
        if !ew.name.starts_with("istio-") {
            dec.report(
                &codes::INVALID_VALUE,
                n.pos,
                &f.path("name"),
                format!("`{}` does not start with `istio-`", ew.name),
                "the gateway chart labels the pods `istio: <name without istio->`, and the cross-network Gateway selects that label: keep the prefix",
            );
            return None;
        }
    }
    if let Some(n) = f.get("replicas") {
        ew.replicas = dec.int(n, &f.path("replicas"), 1, 100).map(|r| r as u32);
    }
    if let Some(n) = f.get("service") {
        let sf = dec.map(n, &f.path("service"), Some(SERVICE_KEYS))?;
        if let Some(t) = sf.get("type") {
            ew.service_type = dec.one_of(t, &sf.path("type"), &["LoadBalancer", "NodePort", "ClusterIP"])?;
        }
        if let Some(ips) = sf.get("externalIPs") {
            let ipath = sf.path("externalIPs");
            for (i, ip) in dec.seq(ips, &ipath)?.iter().enumerate() {
                let p = format!("{ipath}[{i}]");
                let text = dec.string(ip, &p)?;
                if text.parse::<std::net::IpAddr>().is_err() {
                    dec.report(
                        &codes::INVALID_VALUE,
                        ip.pos,
                        &p,
                        format!("`{text}` is not an IP address"),
                        "write an IPv4 or IPv6 address",
                    );
                    return None;
                }
                ew.external_ips.push(text);
            }
        }
        if let Some(a) = sf.get("annotations") {
            let apath = sf.path("annotations");
            let af = dec.map(a, &apath, None)?;
            if let Value::Map(entries) = &af.node.value {
                for (k, v) in entries {
                    let key = dec.label_key(k, &decode::join(&apath, k.as_scalar().unwrap_or_default()), "annotation");
                    let value = dec.string(v, &decode::join(&apath, k.as_scalar().unwrap_or_default()));
                    if let (Some(k), Some(v)) = (key, value) {
                        ew.annotations.insert(k, v);
                    }
                }
            }
        }
    }
    Some(ew)
}

/// `trust`: `Some(None)` when switched off.
fn read_trust(node: Option<&Node>, path: &str, mesh_id: &str, dec: &mut Decoder) -> Option<Option<Trust>> {
    let default_name = format!("{mesh_id}-root-ca");
    let mut trust = Trust {
        issuer: IssuerRef { name: default_name.clone(), kind: "ClusterIssuer", group: CERT_MANAGER_GROUP.into() },
        root_ca_secret: Some(default_name),
        cert_manager_namespace: "cert-manager".into(),
        duration: "8760h".into(),
        renew_before: "720h".into(),
    };
    let Some(node) = node else { return Some(Some(trust)) };
    let f = dec.map(node, path, Some(TRUST_KEYS))?;
    if let Some(n) = f.get("enabled") {
        if !dec.bool(n, &f.path("enabled"))? {
            return Some(None);
        }
    }
    if let Some(n) = f.get("certManagerNamespace") {
        trust.cert_manager_namespace = dec.dns_label(n, &f.path("certManagerNamespace"))?;
    }
    for (key, slot) in [("duration", &mut trust.duration), ("renewBefore", &mut trust.renew_before)] {
        if let Some(n) = f.get(key) {
            *slot = duration(n, &f.path(key), dec)?;
        }
    }
    match (f.get("issuer"), f.get("rootCASecret")) {
        (Some(_), Some(s)) => {
            dec.report(
                &codes::CONFLICTING_SETTINGS,
                s.pos,
                &f.path("rootCASecret"),
                "`rootCASecret` is for the ClusterIssuer mesh-render renders; with `issuer` it is not used",
                "keep `issuer` to use an issuer you already have, or `rootCASecret` to have mesh-render render one",
            );
            return None;
        }
        (Some(i), None) => {
            let ipath = f.path("issuer");
            let inf = dec.map(i, &ipath, Some(&["name", "kind", "group"]))?;
            let Some(name) = inf.get("name") else {
                dec.report(&codes::MISSING_SETTING, i.pos, &inf.path("name"), "`name` is missing", "name the issuer of the shared root");
                return None;
            };
            trust.issuer.name = dec.dns_label(name, &inf.path("name"))?;
            if let Some(k) = inf.get("kind") {
                trust.issuer.kind = dec.one_of(k, &inf.path("kind"), &["ClusterIssuer", "Issuer"])?;
            }
            if let Some(g) = inf.get("group") {
                trust.issuer.group = dec.string(g, &inf.path("group"))?;
            }
            trust.root_ca_secret = None;
        }
        (None, Some(s)) => {
            let secret = dec.dns_label(s, &f.path("rootCASecret"))?;
            trust.issuer.name.clone_from(&secret);
            trust.root_ca_secret = Some(secret);
        }
        (None, None) => {}
    }
    Some(Some(trust))
}

/// A cert-manager duration (Go's `time.ParseDuration` units `h`, `m`, `s`), e.g. `8760h`.
fn duration(node: &Node, path: &str, dec: &mut Decoder) -> Option<String> {
    let text = dec.string(node, path)?;
    let mut rest = text.as_str();
    let mut ok = !rest.is_empty();
    while ok && !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].bytes().take_while(u8::is_ascii_alphabetic).count();
        ok = digits > 0 && matches!(&rest[digits..digits + unit], "h" | "m" | "s");
        rest = &rest[digits + unit..];
    }
    if !ok {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            format!("`{text}` is not a duration"),
            "write hours, minutes or seconds, e.g. `8760h` or `720h`",
        );
        return None;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syntax::{self, Limits};

    fn read_text(text: &str) -> (Option<MultiCluster>, Vec<String>) {
        let node = syntax::parse(text, Limits::DEFAULT).unwrap_or_else(|e| panic!("{e:?}"));
        let mut dec = Decoder::default();
        let out = read(&node, "multiCluster", &mut dec).map(|(m, _)| m);
        (out, dec.diags.iter().map(|d| format!("{}: {}", d.config_path.clone().unwrap_or_default(), d.message)).collect())
    }

    #[test]
    fn east_west_is_on_by_default_only_across_networks() {
        let (one, _) = read_text("meshID: m\nclusters: [{name: a, network: n}, {name: b, network: n}]\n");
        assert!(!one.expect("read").east_west.enabled);
        let (two, _) = read_text("meshID: m\nclusters: [{name: a, network: n1}, {name: b, network: n2}]\n");
        let two = two.expect("read");
        assert!(two.east_west.enabled);
        assert_eq!(two.networks(), ["n1", "n2"]);
        assert_eq!(two.clusters[1].context, "b", "the context defaults to the cluster's name");
    }

    #[test]
    fn a_cluster_named_twice_is_an_error_naming_the_first() {
        let (m, problems) = read_text("meshID: m\nclusters:\n- {name: a, network: n}\n- {name: a, network: n}\n");
        assert!(m.is_none());
        assert_eq!(problems, ["multiCluster.clusters[1].name: cluster `a` is listed twice (first on line 3)"]);
    }

    #[test]
    fn overrides_cannot_set_what_is_one_per_mesh() {
        let (m, problems) =
            read_text("meshID: m\nclusters:\n- name: a\n  network: n\n  overrides: {namespace: other, mtls: {mode: STRICT}}\n");
        assert!(m.is_none());
        assert_eq!(
            problems,
            ["multiCluster.clusters[0].overrides.namespace: `namespace` is one per mesh and cannot be overridden per cluster"]
        );
    }

    #[test]
    fn trust_defaults_to_a_rendered_ca_issuer_of_a_root_secret_named_after_the_mesh() {
        let (m, _) = read_text("meshID: play\nclusters: [{name: a, network: n}]\n");
        let trust = m.expect("read").trust.expect("on by default");
        assert_eq!(trust.issuer, IssuerRef { name: "play-root-ca".into(), kind: "ClusterIssuer", group: "cert-manager.io".into() });
        assert_eq!(trust.root_ca_secret.as_deref(), Some("play-root-ca"));
        let (m, _) = read_text("meshID: play\nclusters: [{name: a, network: n}]\ntrust: {issuer: {name: vault, kind: Issuer}}\n");
        let trust = m.expect("read").trust.expect("on");
        assert_eq!((trust.issuer.name.as_str(), trust.issuer.kind, trust.root_ca_secret), ("vault", "Issuer", None));
        let (_, problems) = read_text("meshID: play\nclusters: [{name: a, network: n}]\ntrust: {duration: 1y}\n");
        assert_eq!(problems, ["multiCluster.trust.duration: `1y` is not a duration"]);
    }
}
