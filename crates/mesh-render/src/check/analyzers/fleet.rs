//! A multi-cluster mesh as a whole: what every cluster must agree on for the clusters to be one mesh.
//!
//! The checks read [`Member`]s: each cluster as the config describes it (`multiCluster`, every
//! render), or as its rendered tree says (`check --rendered` of a fleet's tree, where two trees may
//! disagree on what the config would never let differ).

use serde_json::Value;

use super::{Diagnostic, Input, Rule, Subject};
use crate::config::multi_cluster::{MultiCluster, CACERTS_SECRET};
use crate::diagnostics::Severity;
use crate::versions::Version;

/// One cluster of a fleet, as the checks see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// How the finding names it: the config's cluster name, or the tree's folder.
    pub label: String,
    /// istiod's `global.multiCluster.clusterName` (`None`: unset, istiod's `CLUSTER_ID` is then
    /// `Kubernetes`, istio 1.29.6 `templates/deployment.yaml:212-213`).
    pub cluster_name: Option<String>,
    /// istiod's `global.meshID`.
    pub mesh_id: Option<String>,
    /// istiod's `global.network`.
    pub network: Option<String>,
    pub version: Option<Version>,
    /// An east-west gateway is rendered for the cluster.
    pub east_west: bool,
    /// The cluster has app namespaces, whose services the other clusters call (unknown from a tree:
    /// taken as yes).
    pub has_apps: bool,
    /// The issuer of its intermediate CA (`kind/name`), `None` without one (istiod signs with a root
    /// of its own).
    pub trust: Option<String>,
}

/// The clusters as the config describes them.
pub fn members_of_config(mc: &MultiCluster) -> Vec<Member> {
    let trust = mc.trust.as_ref().map(|t| format!("{}/{}", t.issuer.kind, t.issuer.name));
    mc.clusters
        .iter()
        .map(|c| Member {
            label: c.name.clone(),
            cluster_name: Some(c.name.clone()),
            mesh_id: Some(mc.mesh_id.clone()),
            network: Some(c.network.clone()),
            version: c.summary.version,
            east_west: c.summary.east_west,
            has_apps: !c.summary.apps.is_empty(),
            trust: trust.clone(),
        })
        .collect()
}

/// A cluster as its rendered tree says: `values` is the wrapper chart's `helm/values.yaml`, `objects`
/// the tree's manifests, `version` its chart's, `east_west` whether the tree has east-west gateway
/// values.
pub fn member_of_tree(label: &str, values: &Value, objects: &[Subject], version: Option<Version>, east_west: bool) -> Member {
    let istiod = super::istiod_values(values);
    let global = &istiod["global"];
    let string = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let trust = objects.iter().find(|o| o.kind() == "Certificate" && o.name() == CACERTS_SECRET).map(|c| {
        let issuer = &c.json()["spec"]["issuerRef"];
        format!("{}/{}", issuer["kind"].as_str().unwrap_or("Issuer"), issuer["name"].as_str().unwrap_or_default())
    });
    Member {
        label: label.to_string(),
        cluster_name: string(&global["multiCluster"]["clusterName"]),
        mesh_id: string(&global["meshID"]),
        network: string(&global["network"]),
        version,
        east_west,
        has_apps: true,
        trust,
    }
}

pub(super) const DUPLICATE_CLUSTER_NAME: Rule = Rule {
    code: "MR150",
    name: "duplicate-cluster-name",
    severity: Severity::Error,
    summary: "Two clusters of one mesh have the same cluster name",
    explanation: "Each istiod calls its own cluster by `global.multiCluster.clusterName` (its `CLUSTER_ID`, \
        `Kubernetes` when unset) and each remote secret registers another cluster under that name; istiod \
        ignores a remote secret named like itself and keeps the first of two secrets of one name (istio 1.29.6 \
        `pkg/kube/multicluster/secretcontroller.go:347-372`), so the endpoints of one of the clusters are never \
        seen. Give every cluster its own name (`multiCluster.clusters[].name`).",
};

pub(super) const MESH_ID_MISMATCH: Rule = Rule {
    code: "MR151",
    name: "mesh-id-mismatch",
    severity: Severity::Error,
    summary: "The clusters' renders name different meshes",
    explanation: "`global.meshID` must be the same in every cluster of one mesh: it is the sidecars' \
        `ISTIO_META_MESH_ID` and the mesh ConfigMap's `meshId` (istio 1.29.6 \
        `files/injection-template.yaml:331-336`, `templates/configmap.yaml:29-30`), which telemetry and \
        multi-mesh features key on. Two trees rendered from configs with different `multiCluster.meshID` (or \
        one without) are not one mesh: render every cluster from one config.",
};

pub(super) const NETWORK_GATEWAY_MISMATCH: Rule = Rule {
    code: "MR152",
    name: "network-gateway-mismatch",
    severity: Severity::Error,
    summary: "A network of a multi-network mesh has no east-west gateway (or one network has one it does not need)",
    explanation: "Across networks a sidecar reaches another cluster's pods only through that network's \
        east-west gateway: istiod replaces their endpoints by the gateway's address on 15443 (istio 1.29.6 \
        `pilot/pkg/xds/endpoints/ep_filters.go:146-162`); with no gateway for a network it hands out the pod \
        IPs as they are, which the other network cannot reach (`:48-63`). So every network of a multi-network \
        mesh needs one (`multiCluster.eastWest.enabled`, on by default there). On a single network the pods \
        reach each other directly, and a gateway only exposes the app namespaces' services on its address \
        (a warning).",
};

pub(super) const TRUST_NOT_SHARED: Rule = Rule {
    code: "MR153",
    name: "trust-not-shared",
    severity: Severity::Error,
    summary: "The clusters do not share one root of trust",
    explanation: "A sidecar accepts mTLS only from certificates that chain to its own root. Without \
        `cacerts`, each istiod signs with a root it made itself (istio 1.29.6 \
        `pilot/pkg/bootstrap/istio_ca.go:519-537`), so every call between clusters fails its handshake. \
        `multiCluster.trust` (on by default) gives each cluster an intermediate CA from one issuer of the \
        shared root; `mesh-render plan apply` checks that every cluster's root is the same.",
};

pub(super) const CLUSTER_VERSION_SKEW: Rule = Rule {
    code: "MR154",
    name: "cluster-version-skew",
    severity: Severity::Warning,
    summary: "The clusters run Istio releases more than one minor apart",
    explanation: "Each istiod reads the other clusters' Services and pods and pushes them to its own proxies; \
        Istio publishes no skew policy between the control planes of one multi-cluster mesh (its supported \
        releases page covers a control plane one minor ahead of its own data plane, and istio/istio.io#12971 \
        asks for the multi-cluster case). mesh-render keeps them within one minor, the span of a canary \
        upgrade: upgrade the cluster that lags (`mesh-render --cluster NAME upgrade --to VERSION`) before \
        moving another one further.",
};

/// Whether a finding of `code` is about the whole mesh (the same from every cluster's render).
pub fn is_fleet_wide(code: &str) -> bool {
    [&DUPLICATE_CLUSTER_NAME, &MESH_ID_MISMATCH, &NETWORK_GATEWAY_MISMATCH, &TRUST_NOT_SHARED, &CLUSTER_VERSION_SKEW]
        .iter()
        .any(|r| r.code == code)
}

/// The findings of every fleet check on `members`.
pub fn check(members: &[Member]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let name = m.cluster_name.as_deref().unwrap_or("Kubernetes");
        if let Some(first) = members[..i].iter().find(|f| f.cluster_name.as_deref().unwrap_or("Kubernetes") == name) {
            out.push(
                Diagnostic::new(
                    &DUPLICATE_CLUSTER_NAME,
                    format!("{} and {} both call themselves `{name}`", first.label, m.label),
                    "render each cluster with its own `multiCluster.clusters[].name` (`--cluster NAME`)",
                )
                .key("components.istio.multiCluster.clusters"),
            );
        }
    }
    let mut ids: Vec<(&str, &str)> = members.iter().map(|m| (m.label.as_str(), m.mesh_id.as_deref().unwrap_or("(none)"))).collect();
    ids.sort_by_key(|(_, id)| *id);
    ids.dedup_by_key(|(_, id)| *id);
    if ids.len() > 1 {
        let listed: Vec<String> = ids.iter().map(|(label, id)| format!("{label}: {id}")).collect();
        out.push(
            Diagnostic::new(
                &MESH_ID_MISMATCH,
                format!("the clusters name different meshes ({})", listed.join(", ")),
                "render every cluster from one config's `multiCluster.meshID`",
            )
            .key("components.istio.multiCluster.meshID"),
        );
    }
    let mut networks: Vec<&str> = members.iter().map(|m| m.network.as_deref().unwrap_or("")).collect();
    networks.sort_unstable();
    networks.dedup();
    if networks.len() > 1 {
        for net in &networks {
            // A network whose clusters have no app namespace has nothing the others call.
            let on_net = || members.iter().filter(|m| m.network.as_deref().unwrap_or("") == *net);
            if on_net().any(|m| m.has_apps) && !on_net().any(|m| m.east_west) {
                let clusters: Vec<&str> =
                    members.iter().filter(|m| m.network.as_deref().unwrap_or("") == *net).map(|m| m.label.as_str()).collect();
                out.push(
                    Diagnostic::new(
                        &NETWORK_GATEWAY_MISMATCH,
                        format!(
                            "network `{net}` ({}) has no east-west gateway: the other networks' sidecars get its pod IPs, which they cannot reach",
                            clusters.join(", ")
                        ),
                        "remove `multiCluster.eastWest.enabled: false` (an east-west gateway is rendered by default when networks differ)",
                    )
                    .key("components.istio.multiCluster.eastWest.enabled"),
                );
            }
        }
    } else if let Some(m) = members.iter().find(|m| m.east_west) {
        out.push(
            Diagnostic::new(
                &NETWORK_GATEWAY_MISMATCH,
                format!("every cluster is on network `{}`, yet {} has an east-west gateway: its pods reach the others directly, and the gateway only exposes the app namespaces' services on its address", networks.first().copied().unwrap_or_default(), m.label),
                "remove `multiCluster.eastWest.enabled: true`, or put the clusters on the networks they are on",
            )
            .severity(Severity::Warning)
            .key("components.istio.multiCluster.eastWest.enabled"),
        );
    }
    if members.len() > 1 {
        let mut issuers: Vec<&str> = members.iter().map(|m| m.trust.as_deref().unwrap_or("")).collect();
        issuers.sort_unstable();
        issuers.dedup();
        if issuers.contains(&"") {
            let without: Vec<&str> = members.iter().filter(|m| m.trust.is_none()).map(|m| m.label.as_str()).collect();
            out.push(
                Diagnostic::new(
                    &TRUST_NOT_SHARED,
                    format!(
                        "{} sign{} with a root of {} own: calls between clusters fail the mTLS handshake",
                        without.join(", "),
                        if without.len() == 1 { "s" } else { "" },
                        if without.len() == 1 { "its" } else { "their" }
                    ),
                    "remove `multiCluster.trust.enabled: false`: each cluster then gets an intermediate CA of one shared root",
                )
                .key("components.istio.multiCluster.trust"),
            );
        } else if issuers.len() > 1 {
            out.push(
                Diagnostic::new(
                    &TRUST_NOT_SHARED,
                    format!("the clusters' intermediate CAs come from different issuers ({})", issuers.join(", ")),
                    "one issuer of one root for every cluster (`multiCluster.trust`); `plan apply` checks the roots are equal",
                )
                .key("components.istio.multiCluster.trust"),
            );
        }
    }
    let versions: Vec<(&str, Version)> = members.iter().filter_map(|m| Some((m.label.as_str(), m.version?))).collect();
    if let (Some(lo), Some(hi)) = (versions.iter().min_by_key(|(_, v)| *v), versions.iter().max_by_key(|(_, v)| *v)) {
        if (hi.1.major, hi.1.minor) > (lo.1.major, lo.1.minor + 1) {
            out.push(
                Diagnostic::new(
                    &CLUSTER_VERSION_SKEW,
                    format!("{} runs Istio {} and {} runs {}: more than one minor apart", hi.0, hi.1, lo.0, lo.1),
                    format!("upgrade {} first (`mesh-render --cluster {} upgrade --to VERSION`)", lo.0, lo.0),
                )
                .key("components.istio.multiCluster.clusters"),
            );
        }
    }
    out
}

fn config_members(input: &Input) -> Vec<Member> {
    input.config.and_then(|c| c.multi_cluster.as_ref()).map(members_of_config).unwrap_or_default()
}

fn of_rule(input: &Input, rule: &Rule) -> Vec<Diagnostic> {
    let members = config_members(input);
    if members.is_empty() {
        return Vec::new();
    }
    check(&members).into_iter().filter(|d| d.code == rule.code).collect()
}

pub(super) fn duplicate_cluster_name(input: &Input) -> Vec<Diagnostic> {
    of_rule(input, &DUPLICATE_CLUSTER_NAME)
}

pub(super) fn mesh_id_mismatch(input: &Input) -> Vec<Diagnostic> {
    of_rule(input, &MESH_ID_MISMATCH)
}

pub(super) fn network_gateway_mismatch(input: &Input) -> Vec<Diagnostic> {
    of_rule(input, &NETWORK_GATEWAY_MISMATCH)
}

pub(super) fn trust_not_shared(input: &Input) -> Vec<Diagnostic> {
    of_rule(input, &TRUST_NOT_SHARED)
}

pub(super) fn cluster_version_skew(input: &Input) -> Vec<Diagnostic> {
    of_rule(input, &CLUSTER_VERSION_SKEW)
}
