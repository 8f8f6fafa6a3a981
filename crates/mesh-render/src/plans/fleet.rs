//! The plans of a multi-cluster mesh: one cluster's (`--cluster NAME`, every kubectl and helm call
//! to its kube context, the shared root's intermediate CA before istiod, the east-west gateway after
//! it) and the fleet's (every cluster's plan in the config's order, then the check that every
//! cluster's root is the same and the remote secrets; `plan verify` adds a call across clusters), and
//! the fleet's joins alone (`plan join`: the same-root check and the remote secrets, the very steps
//! of the fleet's `plan apply`, from one template, `fleet-joins.sh.j2`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{render_template, Context, Kind};
use crate::config::multi_cluster::{CACERTS_SECRET, CERT_MANAGER_GROUP, EAST_WEST_PORT, NODE_SELECTOR_ANNOTATION};
use crate::config::Config;
use crate::render::manifest::Concern;
use crate::render::multi_cluster::{gateway_values, selector_label};
use crate::{Loaded, MeshFacts};

/// A kube context name the plans accept: what the config accepts for `clusters[].context`
/// (`config/multi_cluster.rs`), and no control character.
pub(crate) fn is_context_name(c: &str) -> bool {
    !c.is_empty() && !c.chars().any(|ch| ch.is_whitespace() || ch.is_control() || ch == '\'' || ch == '"')
}

/// Whether `s` holds what a shell would expand in double quotes (`$`, a backquote).
fn has_expansion(s: &str) -> bool {
    s.contains('$') || s.contains('`')
}

/// `s` as one shell word: as it is when it needs no quoting, else in single quotes.
fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:/@%+=,".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// One cluster of a multi-cluster mesh, as its plan needs it.
#[derive(Serialize)]
pub(crate) struct ClusterPlan {
    pub name: String,
    pub mesh_id: String,
    pub network: String,
    /// The kube context every call goes to, as a shell word.
    pub context: String,
    /// The same, always in single quotes (an assignment of `a-b` unquoted reads to shellcheck as
    /// arithmetic, SC2100).
    pub context_quoted: String,
    /// The context holds `$` or a backquote, which the single quotes keep as they are (shellcheck
    /// SC2016 asks whether that is meant: it is).
    pub context_literal: bool,
    /// The context came from `--context` (the flags that print the plan again name it).
    explicit_context: bool,
    /// The shared root's intermediate CA (`None` with `trust.enabled: false`).
    pub trust: Option<TrustPlan>,
    /// The east-west gateway, when the cluster has one.
    pub east_west: Option<EastWestPlan>,
    /// The other clusters of the mesh, whose remote secrets the fleet plan writes.
    pub others: Vec<String>,
}

/// The intermediate CA of the shared root (`manifests/01-trust.yaml`).
#[derive(Serialize)]
pub(crate) struct TrustPlan {
    pub file: String,
    /// The Certificate and its Secret in the root namespace, which istiod mounts at start.
    pub certificate: &'static str,
    /// With the ClusterIssuer mesh-render renders: the root's Secret it reads, which the user puts
    /// in cert-manager's namespace of every cluster (never rendered, never created by a plan).
    pub root_secret: Option<String>,
    pub cert_manager_namespace: String,
    pub issuer_kind: &'static str,
    pub issuer_name: String,
    /// The issuer for kubectl (`clusterissuer.cert-manager.io`).
    pub issuer_resource: String,
}

/// The east-west gateway: a release of Istio's `gateway` chart with `networkGateway`.
#[derive(Serialize)]
pub(crate) struct EastWestPlan {
    /// The Helm release, Deployment and Service name.
    pub release: String,
    /// `gateway --repo URL` or `oci://…/gateway`.
    pub source: String,
    pub version: String,
    /// `lifecycle/<release>-values.yaml`.
    pub values: String,
    pub service_type: &'static str,
    /// A NodePort Service with `traffic.istio.io/nodeSelector` (the render writes `{}` on every
    /// NodePort east-west gateway): istiod takes its addresses from the nodes the selector selects
    /// (istio 1.29.6 `pilot/pkg/serviceregistry/kube/conversion.go:118-130`), and of each node only an
    /// `ExternalIP` (`controller/controller.go:565-576`). It has no address of its own to wait for;
    /// the plan checks that a selected node has one.
    pub node_addresses: bool,
    /// The nodes the selector selects, as `kubectl get nodes --selector` takes them (a shell word);
    /// `None` for every node: `{}`, or a value that is not a JSON object of strings, which istiod
    /// reads as no selector (`controller/util.go:138-148`, then labels.Instance.SubsetOf,
    /// `controller/network.go:459-485`).
    pub node_selector: Option<String>,
    /// The selection as the messages name it, as a shell word (the config's value, kept as it is).
    pub node_selection: String,
}

impl ClusterPlan {
    /// The plan data of the selected cluster of `config`; `None` outside a multi-cluster mesh.
    pub(crate) fn of(config: &Config, context: Option<&str>) -> Option<ClusterPlan> {
        let (mc, id) = (config.multi_cluster.as_ref()?, config.cluster.as_ref()?);
        let spec = mc.cluster(&id.name)?;
        let trust = mc.trust.as_ref().map(|t| TrustPlan {
            file: format!("manifests/{}", Concern::Trust.file_name()),
            certificate: CACERTS_SECRET,
            root_secret: t.root_ca_secret.clone(),
            cert_manager_namespace: t.cert_manager_namespace.clone(),
            issuer_kind: t.issuer.kind,
            issuer_name: t.issuer.name.clone(),
            issuer_resource: format!(
                "{}.{}",
                t.issuer.kind.to_ascii_lowercase(),
                if t.issuer.group.is_empty() { CERT_MANAGER_GROUP } else { &t.issuer.group }
            ),
        });
        // The annotation as the render writes it into the gateway chart's values.
        let node_selector = gateway_values(config)
            .and_then(|v| v.service.annotations.get(NODE_SELECTOR_ANNOTATION).cloned())
            .filter(|_| id.east_west.service_type == "NodePort");
        let selected = node_selector
            .as_deref()
            .and_then(|a| serde_json::from_str::<BTreeMap<String, String>>(a).ok())
            .filter(|m| !m.is_empty())
            .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","));
        let east_west = Some(&id.east_west).filter(|ew| ew.enabled).map(|ew| EastWestPlan {
            release: ew.name.clone(),
            source: config.charts.helm_chart_args("gateway"),
            version: config.release.version.to_string(),
            values: super::istiod_values_file(&ew.name),
            service_type: ew.service_type,
            node_addresses: node_selector.is_some(),
            node_selection: shell_word(selected.as_deref().unwrap_or("every node")),
            node_selector: selected.as_deref().map(shell_word),
        });
        Some(ClusterPlan {
            name: id.name.clone(),
            mesh_id: mc.mesh_id.clone(),
            network: id.network.clone(),
            context: shell_word(context.unwrap_or(&spec.context)),
            context_quoted: format!("'{}'", context.unwrap_or(&spec.context).replace('\'', r"'\''")),
            context_literal: has_expansion(context.unwrap_or(&spec.context)),
            explicit_context: context.is_some(),
            trust,
            east_west,
            others: mc.clusters.iter().filter(|c| c.name != id.name).map(|c| c.name.clone()).collect(),
        })
    }

    /// ` --cluster NAME` (and ` --context CTX` when it was given).
    pub(crate) fn flags(&self) -> String {
        let context = if self.explicit_context { format!(" --context {}", self.context) } else { String::new() };
        format!(" --cluster {}{context}", self.name)
    }
}

/// One cluster in the fleet plan.
#[derive(Serialize)]
struct FleetCluster {
    name: String,
    network: String,
    /// The kube context, as a shell word.
    context: String,
    /// `multiCluster.clusters[].apiServer` as a shell word, if set.
    api_server: Option<String>,
    /// The cluster's own plan, run in a subshell: the same steps `plan … --cluster NAME` prints
    /// (empty in the join plan, which runs none).
    part: String,
    /// The injection label of the cluster's mesh namespaces (`key=value`), for the cross-cluster
    /// probe's namespace when the clusters share no app namespace.
    injection_label: String,
    /// With an east-west gateway: the `istio` label of its pods (the release name without `istio-`),
    /// which the probe's own cross-network Gateway selects.
    east_west: Option<String>,
    /// Calls from other networks can reach the cluster: its network has an east-west gateway. istiod
    /// hands a caller on another network, for the cluster's endpoints, the network gateways of their
    /// network and cluster, else of their network from any cluster (istio 1.29.6
    /// `pilot/pkg/xds/endpoints/ep_filters.go:281-287`); with none, their pod IPs, which another
    /// network cannot reach.
    reachable_across: bool,
}

#[derive(Serialize)]
struct FleetContext {
    plan: &'static str,
    mesh_id: String,
    environment: Option<String>,
    env_flag: String,
    rendered: String,
    /// The root namespace: the same in every cluster (`overrides` cannot change it).
    namespace: String,
    field_manager: &'static str,
    clusters: Vec<FleetCluster>,
    /// The shared root (`trust`): every cluster's `cacerts` must chain to it.
    trust: bool,
    /// The root's Secret, when mesh-render renders its ClusterIssuer; the issuer otherwise.
    root_secret: Option<String>,
    cert_manager_namespace: String,
    issuer_name: String,
    /// The cross-cluster probe's namespace: the first app namespace every cluster has, else
    /// `mesh-render-fleet-verify` (created, labelled for injection and deleted by the plan).
    probe_namespace: String,
    /// The probe's namespace is the plan's own (created and deleted by it); an app namespace is
    /// left as it is. The cross-network Gateway passes the app namespaces' services only
    /// (`render::multi_cluster::east_west`), so the plan's own namespace gets a Gateway of its own on
    /// each east-west gateway for the run.
    probe_namespace_created: bool,
    /// The port the east-west gateways pass mTLS through on.
    east_west_port: u16,
    /// The clusters' Istio versions, for the header.
    versions: Vec<String>,
    /// A context or API server holds `$` or a backquote, kept as it is in single quotes (SC2016).
    literal_expansions: bool,
}

/// The namespace of the cross-cluster probe when the clusters share no app namespace.
pub(crate) const FLEET_VERIFY_NAMESPACE: &str = "mesh-render-fleet-verify";

/// The fleet plan of the selected section's multi-cluster mesh; `None` for one cluster.
pub(crate) fn render_fleet(kind: Kind, loaded: &Loaded, rendered: &str) -> Option<String> {
    let section = loaded.selected_section();
    let mc = section.multi_cluster.as_ref()?;
    let mut clusters = Vec::new();
    let mut configs = Vec::new();
    for name in loaded.clusters() {
        let one = loaded.clone().with_cluster(Some(&name)).ok()?;
        let config = one.selected().clone();
        let plan = ClusterPlan::of(&config, None)?;
        let east_west = plan.east_west.as_ref().map(|ew| ew.release.clone());
        let spec = mc.cluster(&name)?;
        let part = match kind {
            Kind::Join => String::new(),
            _ => render_template(kind.name(), kind.template(), &Context::new(kind, &one, rendered, Some(plan), true)),
        };
        let (key, value) = MeshFacts::of(&config).injection_label.clone();
        clusters.push(FleetCluster {
            name: name.clone(),
            network: spec.network.clone(),
            context: shell_word(&spec.context),
            api_server: spec.api_server.as_deref().map(shell_word),
            part,
            injection_label: format!("{key}={value}"),
            east_west: east_west.map(|release| selector_label(&release)),
            reachable_across: false,
        });
        configs.push(config);
    }
    let with_gateway: Vec<String> = clusters.iter().filter(|c| c.east_west.is_some()).map(|c| c.network.clone()).collect();
    for c in &mut clusters {
        c.reachable_across = with_gateway.contains(&c.network);
    }
    let shared_app = configs.first().and_then(|first| first.apps.iter().find(|a| configs.iter().all(|c| c.apps.contains(a)))).cloned();
    let mut versions: Vec<String> = Vec::new();
    for v in configs.iter().map(|c| c.release.version.to_string()) {
        if !versions.contains(&v) {
            versions.push(v);
        }
    }
    let context = FleetContext {
        plan: kind.name(),
        mesh_id: mc.mesh_id.clone(),
        environment: section.environment.clone(),
        env_flag: section.environment.as_ref().map(|e| format!(" --env {e}")).unwrap_or_default(),
        rendered: rendered.to_string(),
        namespace: section.namespace.clone(),
        field_manager: crate::render::manifest::FIELD_MANAGER,
        clusters,
        trust: mc.trust.is_some(),
        root_secret: mc.trust.as_ref().and_then(|t| t.root_ca_secret.clone()),
        cert_manager_namespace: mc.trust.as_ref().map(|t| t.cert_manager_namespace.clone()).unwrap_or_default(),
        issuer_name: mc.trust.as_ref().map(|t| t.issuer.name.clone()).unwrap_or_default(),
        probe_namespace_created: shared_app.is_none(),
        east_west_port: EAST_WEST_PORT,
        probe_namespace: shared_app.unwrap_or_else(|| FLEET_VERIFY_NAMESPACE.to_string()),
        versions,
        literal_expansions: mc.clusters.iter().any(|c| has_expansion(&c.context) || c.api_server.as_deref().is_some_and(has_expansion)),
    };
    let template = match kind {
        Kind::Apply => include_str!("fleet-apply.sh.j2"),
        Kind::Verify => include_str!("fleet-verify.sh.j2"),
        Kind::Destroy => include_str!("fleet-destroy.sh.j2"),
        Kind::Join => include_str!("fleet-join.sh.j2"),
    };
    Some(render_template(&format!("fleet-{}", kind.name()), template, &context))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: a NodePort east-west gateway's plan checks the ExternalIP of the nodes its
    /// `traffic.istio.io/nodeSelector` selects: every node for the `{}` the render writes by default
    /// (or a value that is not a JSON object of strings, which istiod reads as no selector), else the
    /// selector's labels, quoted for the shell.
    #[test]
    fn a_node_port_east_west_gateway_is_checked_on_the_nodes_its_selector_selects() {
        let plan = |service: &str| {
            let text = format!(
                "components:\n  istio:\n    enabled: true\n    namespaces: {{apps: [demo]}}\n    multiCluster:\n      meshID: m\n      eastWest: {{service: {service}}}\n      clusters: [{{name: a, network: n1}}, {{name: b, network: n2}}]\n"
            );
            let loaded = crate::load(&text, None, crate::config::syntax::Limits::DEFAULT).unwrap().with_cluster(Some("a")).unwrap();
            let ew = ClusterPlan::of(loaded.selected(), None).unwrap().east_west.unwrap();
            (ew.node_addresses, ew.node_selector, ew.node_selection)
        };
        assert_eq!(plan("{type: NodePort}"), (true, None, "'every node'".into()));
        assert_eq!(
            plan(r#"{type: NodePort, annotations: {traffic.istio.io/nodeSelector: '{"edge": "true", "zone": "b"}'}}"#),
            (true, Some("edge=true,zone=b".into()), "edge=true,zone=b".into())
        );
        assert_eq!(plan("{type: NodePort, annotations: {traffic.istio.io/nodeSelector: 'edge'}}"), (true, None, "'every node'".into()));
        assert!(!plan("{type: LoadBalancer}").0);
    }

    #[test]
    fn contexts_are_single_shell_words() {
        assert_eq!(shell_word("kind-west"), "kind-west");
        assert_eq!(shell_word("arn:aws:eks:eu-west-1:123:cluster/west"), "arn:aws:eks:eu-west-1:123:cluster/west");
        assert_eq!(shell_word("a$b`c"), "'a$b`c'");
        assert_eq!(shell_word("https://[fd00::1]:6443"), "'https://[fd00::1]:6443'", "brackets would glob");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert!(
            is_context_name("kind-west")
                && !is_context_name("")
                && !is_context_name("a b")
                && !is_context_name("a'b")
                && !is_context_name("a\nb")
        );
    }
}
