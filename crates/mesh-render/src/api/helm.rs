//! The Istio charts' values as typed data, and the wrapper chart over `base` and `istiod`.
//!
//! The charts have no `values.schema.json`, so Helm ignores a misspelt key. Every key here is a
//! field of a Rust type whose serde name is a path of the real chart's values (`tests/chart_values.rs`
//! checks each against the reference charts). In a wrapper chart, base's values nest under `base:`
//! and istiod's under `istiod:`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Resources;

/// Where `helm` finds the official charts.
pub const CHART_REPOSITORY: &str = "https://blob.istio.io/istio-release/charts";
/// The same charts as OCI artifacts (`oci://ghcr.io/istio/release/charts/base`, …).
pub const OCI_CHART_REPOSITORY: &str = "oci://ghcr.io/istio/release/charts";
/// Istio's retired homes: charts and images there are removed in December 2026 for every version,
/// and 1.31 was never published there (istio.io blog "An update on our move to AWS", 2026-08-21,
/// istio/istio.io `content/en/blog/2026/retirement-of-gcp/index.md`). `registry.istio.io/release`,
/// the image registry Istio 1.30 defaults to, is retired with `gcr.io/istio-release` (istio.io
/// `blog/2026/retirement-of-gcr.io-follow-up`: "we have made the difficult decision to retire
/// `registry.istio.io/release`"). MR115 refuses them.
pub const RETIRED_HOSTS: [&str; 3] = ["istio-release.storage.googleapis.com", "gcr.io/istio-release", "registry.istio.io/release"];
/// Where Istio's images are (istio.io blog "An update on our move to AWS": 1.31+ images only on
/// `docker.io/istio`; the 1.29 and 1.30 images are there too). Always rendered as istiod's
/// `global.hub`: the published 1.30 charts default to the retired `registry.istio.io/release`.
pub const DEFAULT_HUB: &str = "docker.io/istio";
/// The last scream test of the retired homes, after which they are gone (istio.io
/// `blog/2026/retirement-of-gcp`, "Scream Tests": "The fourth and last scream test will be from
/// December 8th, 2026 3:00 PM UTC to December 9th, 2026 3:00 PM UTC").
pub const LAST_SCREAM_TEST: &str = "2026-12-08 15:00 UTC to 2026-12-09 15:00 UTC";

/// Where the `base` and `istiod` charts come from: an HTTPS chart repository (an `index.yaml`) or
/// an OCI registry path holding one artifact per chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartRepository {
    /// The URL as configured, without a trailing `/`.
    pub url: String,
}

impl Default for ChartRepository {
    fn default() -> Self {
        ChartRepository { url: CHART_REPOSITORY.into() }
    }
}

impl ChartRepository {
    pub fn is_oci(&self) -> bool {
        self.url.starts_with("oci://")
    }

    /// The chart argument of `helm install`: `base --repo URL` for a chart repository,
    /// `oci://…/base` for a registry.
    pub fn helm_chart_args(&self, chart: &str) -> String {
        if self.is_oci() {
            format!("{}/{chart}", self.url)
        } else {
            format!("{chart} --repo {}", self.url)
        }
    }

    /// An Argo CD Application source for `chart`: `repoURL` + `chart` for a chart repository;
    /// Argo CD's native OCI form for a registry (`repoURL: oci://…/<chart>`, `path: .`, Argo CD
    /// 3.1 and later; Argo CD's "OCI" user guide).
    pub fn argocd_source(&self, chart: &str) -> (String, Option<String>, Option<String>) {
        if self.is_oci() {
            (format!("{}/{chart}", self.url), None, Some(".".into()))
        } else {
            (self.url.clone(), Some(chart.into()), None)
        }
    }
}
/// The wrapper chart's name; also the Helm release name the plans use.
pub const CHART_NAME: &str = "istio-mesh";

/// `Chart.yaml` of the wrapper chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Chart {
    pub api_version: &'static str,
    pub name: &'static str,
    pub description: String,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub version: String,
    pub app_version: String,
    pub dependencies: Vec<ChartDependency>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ChartDependency {
    pub name: &'static str,
    pub version: String,
    pub repository: String,
    /// `istiod-<revision>`: one istiod dependency per revision, each under its own values key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// `values.yaml` of the wrapper chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Values {
    pub base: BaseValues,
    /// istiod's values by chart alias: `istiod` for one control plane; with revisions, one entry
    /// per revision named like its Helm release (`istiod-1-30-3`, or `istiod` for `default`).
    #[serde(flatten)]
    pub istiod: BTreeMap<String, IstiodValues>,
}

impl Values {
    /// The values of the first istiod (the only one without revisions).
    pub fn istiod(&self) -> &IstiodValues {
        self.istiod.values().next().unwrap_or_else(|| unreachable!("a control plane has at least one istiod"))
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct BaseValues {
    /// With a revisioned control plane, the default validating webhook must call `istiod-<revision>`:
    /// with `failurePolicy: Fail` and the default `default`, it would call a Service that does not
    /// exist and every Istio resource would be rejected.
    #[serde(rename = "defaultRevision", skip_serializing_if = "Option::is_none")]
    pub default_revision: Option<String>,
    pub global: BaseGlobal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<WebhookValues>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BaseGlobal {
    pub istio_namespace: String,
}

/// `base.validationFailurePolicy` (1.29.2 and later): the validating webhook starts as `Fail` instead
/// of `Ignore`, so istiod's runtime flip no longer shows as drift under GitOps.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookValues {
    pub validation_failure_policy: &'static str,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IstiodValues {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub autoscale_enabled: bool,
    /// Written only with autoscaling on (the chart ignores them otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale_min: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale_max: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuTarget>,
    /// Written only with autoscaling off (the chart ignores it otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<u32>,
    pub resources: ResourceValues,
    /// istiod's environment; the chart quotes every value.
    pub env: BTreeMap<String, String>,
    pub global: IstiodGlobal,
    pub mesh_config: MeshConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<WebhookValues>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CpuTarget {
    pub target_average_utilization: u32,
}

/// Kubernetes requests and limits (cpu, memory).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ResourceValues {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
}

impl From<&Resources> for ResourceValues {
    fn from(r: &Resources) -> Self {
        ResourceValues { requests: r.requests.clone(), limits: r.limits.clone() }
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IstiodGlobal {
    /// The image registry for istiod (`templates/deployment.yaml:101`), the sidecars and the gateway
    /// pods (the injection templates read `.Values.global.hub`).
    pub hub: String,
    pub istio_namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    pub proxy: ProxyValues,
    /// A multi-cluster mesh's name, the same in every cluster: the mesh ConfigMap's
    /// `defaultConfig.meshId` and the sidecars' `ISTIO_META_MESH_ID` (istio 1.29.6
    /// `templates/configmap.yaml:29-30`, `files/injection-template.yaml:331-336`).
    #[serde(rename = "meshID", skip_serializing_if = "Option::is_none")]
    pub mesh_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_cluster: Option<MultiClusterValues>,
    /// The cluster's network: the sidecars' `ISTIO_META_NETWORK`, the network the proxy says it is
    /// on (`files/injection-template.yaml:315-317`). The network of the cluster's endpoints comes
    /// from the root namespace's label (`pilot/pkg/serviceregistry/kube/controller/network.go:94-101`):
    /// the injector writes a pod's network label only for a `/net/<network>` injection path
    /// (`pkg/kube/inject/webhook.go:767-769`), which the chart's `/inject` is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// `global.multiCluster` of the istiod chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MultiClusterValues {
    /// istiod's `CLUSTER_ID` (`templates/deployment.yaml:212-213`; `Kubernetes` when empty) and the
    /// sidecars' `ISTIO_META_CLUSTER_ID`: the name other clusters' remote secrets must use for it.
    pub cluster_name: String,
}

/// Values of Istio's `gateway` chart for a cluster's east-west gateway
/// (`lifecycle/<name>-values.yaml`), as Istio's multi-network install does it: `name` and
/// `networkGateway` (istio.io "Install Multi-Primary on different networks", Helm steps). Unlike
/// `base` and `istiod`, the chart has a `values.schema.json`; `tests/helm_values.rs` checks these
/// values against it and renders them with the real chart.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GatewayValues {
    /// The release, Deployment and Service name; the pods' `istio:` label is it without `istio-`
    /// (`charts/gateway/templates/_helpers.tpl:18-21`).
    pub name: String,
    /// With revisions: the tag whose injector serves the gateway pods (`istio.io/rev` on the pods,
    /// `_helpers.tpl:27-32`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The network the gateway serves: the Service's and pods' `topology.istio.io/network` label,
    /// the ports 15021, 15443, 15012 and 15017, and `ISTIO_META_REQUESTED_NETWORK_VIEW`
    /// (`templates/service.yaml:11-13,52-64`, `deployment.yaml:44-46,94-96`).
    pub network_gateway: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<GatewayAutoscaling>,
    pub service: GatewayService,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct GatewayAutoscaling {
    pub enabled: bool,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct GatewayService {
    #[serde(rename = "type")]
    pub type_: String,
    /// Addresses istiod takes as the gateway's (`pilot/pkg/serviceregistry/kube/conversion.go:160-165`).
    #[serde(rename = "externalIPs", skip_serializing_if = "Vec::is_empty")]
    pub external_ips: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Logging {
    pub level: String,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ProxyValues {
    pub resources: ResourceValues,
}

/// The part of Istio's MeshConfig mesh-render sets.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MeshConfig {
    pub default_providers: DefaultProviders,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension_providers: Vec<ExtensionProvider>,
    /// Hosts whose endpoints stay in the caller's own cluster (multi-cluster meshes only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_settings: Vec<ServiceSettings>,
}

/// One `meshConfig.serviceSettings` entry: settings for the services of `hosts`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ServiceSettings {
    pub settings: ServiceSettingsValues,
    /// Host names, or `*.<namespace>.svc.<domain>` for every service of a namespace.
    pub hosts: Vec<String>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSettingsValues {
    /// istiod gives a caller only the endpoints of its own cluster (istio 1.29.6
    /// `pilot/pkg/model/cluster_local.go:85-140`, added to its own defaults: `kube-system`,
    /// `kubernetes.default` and istiod).
    pub cluster_local: bool,
}

/// Always written: once `defaultProviders` is set at all, the chart stops adding
/// `metrics: [prometheus]`, so the list must say `prometheus` itself.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct DefaultProviders {
    pub metrics: Vec<String>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ExtensionProvider {
    pub name: String,
    pub opentelemetry: OpenTelemetryProvider,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct OpenTelemetryProvider {
    pub service: String,
    pub port: u16,
}
