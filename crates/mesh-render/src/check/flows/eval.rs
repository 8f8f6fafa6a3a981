//! Istio's semantics for the kinds mesh-render renders, applied to one flow at a time.
//!
//! Each rule names the Istio 1.29.6 source (github.com/istio/istio, tag 1.29.6) or istio.io page it
//! follows. What is not modelled: RequestAuthentication, CUSTOM and AUDIT policies, `notX` fields
//! other than `source.notPrincipals` and `operation.notPorts`,
//! hosts/methods/headers/when conditions (a rule using only those never matches here), Sidecar
//! resources, `targetRefs`, ambient mode, and several namespace-wide PeerAuthentications in one namespace
//! (Istio keeps the oldest; this takes the first by name).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::{Call, Decider, Endpoint, Flow, Hop, HopResult, Role, Row, Transport, Verdict, Via, Workload};
use crate::api::istio::{AuthorizationPolicy, AuthorizationRule, DestinationRule, Operation, PeerAuthentication};
use crate::check::analyzers::istio_match;
use crate::Object;

/// Label istiod's Gateway deployments carry (`files/kube-gateway.yaml`); policy attachment keys
/// on it (`pilot/pkg/model/policyattachment.go`, `workloadGatewayName`).
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";
/// Ports the injector always leaves out of inbound capture: pilot-agent's status port (15020,
/// `excludeInboundPort` in `pkg/kube/inject/template.go`), and 15090 and 15021
/// (`files/injection-template.yaml`, `ISTIO_META_...`/`-d` argument of istio-init).
pub const ALWAYS_EXCLUDED: [u16; 3] = [15020, 15021, 15090];
const EXCLUDE_INBOUND: &str = "traffic.sidecar.istio.io/excludeInboundPorts";
const INJECT: &str = "sidecar.istio.io/inject";
const REWRITE_PROBES: &str = "sidecar.istio.io/rewriteAppHTTPProbers";

pub use crate::config::MtlsMode;

/// The rendered objects the evaluation reads, indexed by namespace.
#[derive(Debug, Default)]
pub struct Mesh<'a> {
    root: String,
    peer: HashMap<&'a str, Vec<&'a PeerAuthentication>>,
    authz: HashMap<&'a str, Vec<&'a AuthorizationPolicy>>,
    destination_rules: HashMap<&'a str, &'a DestinationRule>,
    /// Namespaces labelled for injection (`istio-injection=enabled` or `istio.io/rev`).
    injected: BTreeSet<&'a str>,
    /// Rendered Deployments by namespace and name (their pod templates carry annotations).
    deployments: HashMap<(&'a str, &'a str), &'a Deployment>,
    /// Rendered headless Services by namespace: their endpoints are reached over mTLS by pod IP.
    headless: HashMap<&'a str, Vec<&'a Service>>,
    /// Rendered NetworkPolicies by namespace (ingress only is read).
    network: HashMap<&'a str, Vec<&'a NetworkPolicy>>,
    /// Labels of the rendered Namespaces, for NetworkPolicy namespace selectors.
    namespace_labels: HashMap<&'a str, &'a BTreeMap<String, String>>,
}

fn ns_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or_default()
}

fn decider(kind: &str, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, rule: Option<usize>) -> Decider {
    Decider { kind: kind.into(), namespace: ns_of(meta).into(), name: meta.name.clone().unwrap_or_default(), rule }
}

/// Whether Istio treats a Service port as HTTP: the protocol comes from `appProtocol` if set, else
/// from the port name's prefix before `-` (istio 1.29.6 `pkg/config/kube/conversion.go:48-78`,
/// `ConvertProtocol`); HTTP, HTTP2, HTTP_PROXY, GRPC and GRPC-Web are HTTP
/// (`pkg/config/protocol/instance.go:117-124`, `IsHTTP`). UDP is never HTTP.
pub fn is_http_port(p: &k8s_openapi::api::core::v1::ServicePort) -> bool {
    if p.protocol.as_deref() == Some("UDP") {
        return false;
    }
    let name = p.app_protocol.as_deref().or(p.name.as_deref()).unwrap_or_default().to_ascii_lowercase();
    if name == "kubernetes.io/h2c" || name == "kubernetes.io/ws" {
        return true;
    }
    if name.starts_with("grpc-web") {
        return true;
    }
    let prefix = name.split('-').next().unwrap_or_default();
    matches!(prefix, "http" | "http2" | "http_proxy" | "grpc")
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`, ANDed; apimachinery
/// `pkg/apis/meta/v1/helpers.go` `LabelSelectorAsSelector`); an unknown operator matches nothing.
fn label_selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let plain = sel.match_labels.as_ref().is_none_or(|m| selects(m, labels));
    plain
        && sel.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
                "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
                "Exists" => labels.contains_key(&e.key),
                "DoesNotExist" => !labels.contains_key(&e.key),
                _ => false,
            }
        })
}

/// `selector ⊆ labels`: `labels.Instance.SubsetOf` (`pilot/pkg/model/policyattachment.go`, `isSelected`).
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl<'a> Mesh<'a> {
    /// Indexes the objects; `root` is Istio's root namespace.
    pub fn new(root: &str, objects: impl IntoIterator<Item = &'a Object>) -> Self {
        let mut mesh = Mesh { root: root.to_string(), ..Default::default() };
        for object in objects {
            match object {
                Object::PeerAuthentication(p) => mesh.peer.entry(ns_of(&p.metadata)).or_default().push(p),
                Object::AuthorizationPolicy(p) => mesh.authz.entry(ns_of(&p.metadata)).or_default().push(p),
                Object::DestinationRule(d) => {
                    mesh.destination_rules.insert(d.spec.host.as_str(), d);
                }
                Object::NetworkPolicy(p) => mesh.network.entry(ns_of(&p.metadata)).or_default().push(p),
                Object::Namespace(n) => {
                    if let Some(l) = n.metadata.labels.as_ref() {
                        mesh.namespace_labels.insert(n.metadata.name.as_deref().unwrap_or_default(), l);
                    }
                    let labels = n.metadata.labels.as_ref();
                    let injected = labels
                        .is_some_and(|l| l.get("istio-injection").map(String::as_str) == Some("enabled") || l.contains_key("istio.io/rev"));
                    if injected {
                        mesh.injected.insert(n.metadata.name.as_deref().unwrap_or_default());
                    }
                }
                Object::Deployment(d) => {
                    mesh.deployments.insert((ns_of(&d.metadata), d.metadata.name.as_deref().unwrap_or_default()), d);
                }
                Object::Service(s) if s.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") => {
                    mesh.headless.entry(ns_of(&s.metadata)).or_default().push(s);
                }
                _ => {}
            }
        }
        for list in mesh.peer.values_mut() {
            list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        }
        for list in mesh.authz.values_mut() {
            list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        }
        for list in mesh.network.values_mut() {
            list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        }
        mesh
    }

    /// Kubernetes NetworkPolicy on the callee (networking.k8s.io/v1, kubernetes/website
    /// `content/en/docs/concepts/services-networking/network-policies.md`): a pod selected by a
    /// policy with `policyTypes: [Ingress]` accepts only what some ingress rule of some such policy
    /// allows (rules and policies OR); a rule without `from` allows every source, one without
    /// `ports` every port; a peer's namespace selector matches the caller's namespace labels, which
    /// always include `kubernetes.io/metadata.name`, and its pod selector the caller's labels. Traffic
    /// from the node (kubelet) is always allowed. Only `matchLabels` and the `In`, `NotIn`, `Exists`,
    /// `DoesNotExist` expressions, TCP ports by number (with `endPort`) and no `ipBlock` are read:
    /// a rule with anything else is taken to allow (a rule this project does not render). Returns the
    /// denying policies, or `None` when the call is let through. The port is the hop's, which is the
    /// pod's port for the gateway hops this is used on (istiod's gateway Services have no
    /// `targetPort`); a policy on a remapped Service port would need the target port.
    fn network_denies(&self, from: &Workload, to: &Workload, port: u16, call: &Call) -> Option<Vec<Decider>> {
        if *call == Call::Kubelet {
            return None;
        }
        let selecting: Vec<&NetworkPolicy> = self
            .network
            .get(to.namespace.as_str())?
            .iter()
            .copied()
            .filter(|p| {
                let Some(spec) = p.spec.as_ref() else { return false };
                // Unset or empty `policyTypes` means Ingress (plus Egress with egress rules).
                let ingress = spec.policy_types.as_ref().is_none_or(|t| t.is_empty() || t.iter().any(|t| t == "Ingress"));
                ingress && spec.pod_selector.as_ref().is_none_or(|sel| label_selector_matches(sel, &to.labels))
            })
            .collect();
        if selecting.is_empty() {
            return None;
        }
        // The injector labels every pod it gives a sidecar `security.istio.io/tlsMode: istio`
        // (istio 1.29.6 `files/injection-template.yaml:34`; `tests/injected_pods.rs` reads it there).
        let mut caller_labels = from.labels.clone();
        if self.sidecar(from) {
            caller_labels.insert("security.istio.io/tlsMode".into(), "istio".into());
        }
        let mut ns_labels: BTreeMap<String, String> =
            self.namespace_labels.get(from.namespace.as_str()).map(|l| (*l).clone()).unwrap_or_default();
        ns_labels.insert("kubernetes.io/metadata.name".into(), from.namespace.clone());
        let allowed = selecting.iter().any(|p| {
            p.spec.as_ref().and_then(|s| s.ingress.as_ref()).is_some_and(|rules| {
                rules.iter().any(|r| {
                    // An empty or missing `ports` list matches every port, an empty or missing `from`
                    // every source (NetworkPolicyIngressRule's field docs).
                    let port_ok = r.ports.as_ref().is_none_or(|ports| {
                        ports.is_empty()
                            || ports.iter().any(|np| {
                                let tcp = np.protocol.as_deref().unwrap_or("TCP") == "TCP";
                                match &np.port {
                                    None => tcp,
                                    Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(start)) => {
                                        let end = np.end_port.unwrap_or(*start);
                                        tcp && (*start..=end).contains(&i32::from(port))
                                    }
                                    Some(_) => true,
                                }
                            })
                    });
                    let from_ok = r.from.as_ref().is_none_or(|peers| {
                        peers.is_empty()
                            || peers.iter().any(|peer| {
                                if peer.ip_block.is_some() {
                                    return true;
                                }
                                let ns_ok = match &peer.namespace_selector {
                                    Some(sel) => label_selector_matches(sel, &ns_labels),
                                    None => from.namespace == to.namespace,
                                };
                                ns_ok && peer.pod_selector.as_ref().is_none_or(|sel| label_selector_matches(sel, &caller_labels))
                            })
                    });
                    port_ok && from_ok
                })
            })
        });
        (!allowed).then(|| selecting.iter().map(|p| decider("NetworkPolicy", &p.metadata, None)).collect())
    }

    /// A rendered headless Service that selects the workload and serves `port` as TCP (or a
    /// protocol Istio does not know): only such a port gets one outbound listener per endpoint IP
    /// (istio 1.29.6 `pilot/pkg/networking/core/listener.go:489-494`, 1.30.3 `:499-504`:
    /// `servicePort.Protocol.IsTCP() || servicePort.Protocol.IsUnsupported()`). An HTTP port is
    /// served on `0.0.0.0:<port>` whose virtual hosts match the Service's hostname and
    /// `*.<hostname>` (`httproute.go:570-574`), never a pod IP, so a call to `<podIP>:<port>` falls
    /// through to PassthroughCluster (`serviceregistry/kube/controller/endpointslice.go:113,140`:
    /// "pure HTTP headless services ... do not require a Listener based on IP").
    fn headless_service(&self, w: &Workload, port: u16) -> Option<&'a Service> {
        self.headless.get(w.namespace.as_str())?.iter().copied().find(|s| {
            let Some(spec) = s.spec.as_ref() else { return false };
            let selected = spec.selector.as_ref().is_some_and(|sel| !sel.is_empty() && selects(sel, &w.labels));
            let per_ip = |p: &&k8s_openapi::api::core::v1::ServicePort| !is_http_port(p);
            selected && spec.ports.iter().flatten().filter(per_ip).any(|p| p.port == i32::from(port))
        })
    }

    /// The pod-template annotation or label of a rendered Deployment named like the workload.
    fn template_value(&self, w: &Workload, key: &str, labels: bool) -> Option<&'a str> {
        let d = self.deployments.get(&(w.namespace.as_str(), w.name.as_str()))?;
        let meta = d.spec.as_ref()?.template.metadata.as_ref()?;
        let map = if labels { meta.labels.as_ref() } else { meta.annotations.as_ref() };
        map?.get(key).map(String::as_str)
    }

    /// Whether the workload runs a sidecar. The injector's webhook selects pods of namespaces
    /// labelled `istio-injection=enabled` or `istio.io/rev`, and a pod opts out with the label or
    /// annotation `sidecar.istio.io/inject: "false"` (`istio-discovery/templates/mutatingwebhook.yaml`;
    /// istio.io "Installing the sidecar", "Controlling the injection policy").
    pub fn sidecar(&self, w: &Workload) -> bool {
        if w.role != Role::Pod || !self.injected.contains(w.namespace.as_str()) {
            return false;
        }
        let opt_out = |v: Option<&str>| v == Some("false");
        !(opt_out(w.labels.get(INJECT).map(String::as_str))
            || opt_out(self.template_value(w, INJECT, true))
            || opt_out(self.template_value(w, INJECT, false)))
    }

    /// The mTLS mode a workload's sidecar accepts on a port, and the PeerAuthentication that set it:
    /// mesh (root namespace, no selector), then namespace (no selector), then workload (selector,
    /// not in the root namespace), then the workload policy's `portLevelMtls`; `UNSET` inherits,
    /// and PERMISSIVE is the default (`pilot/pkg/security/authn/policy_applier.go`,
    /// `ComposePeerAuthentication`).
    pub fn mtls_mode(&self, w: &Workload, port: u16) -> (MtlsMode, Option<Decider>) {
        let mut mode = (MtlsMode::Permissive, None);
        let apply = |mode: &mut (MtlsMode, Option<Decider>), value: Option<&str>, p: &PeerAuthentication| {
            if let Some(m) = value.and_then(MtlsMode::parse) {
                *mode = (m, Some(decider("PeerAuthentication", &p.metadata, None)));
            }
        };
        let unselected = |p: &&&PeerAuthentication| p.spec.selector.as_ref().is_none_or(|s| s.match_labels.is_empty());
        let in_ns = |ns: &str| self.peer.get(ns).map(Vec::as_slice).unwrap_or_default();
        if let Some(p) = in_ns(&self.root).iter().find(unselected) {
            apply(&mut mode, p.spec.mtls.as_ref().map(|m| m.mode.as_str()), p);
        }
        if w.namespace != self.root {
            if let Some(p) = in_ns(&w.namespace).iter().find(unselected) {
                apply(&mut mode, p.spec.mtls.as_ref().map(|m| m.mode.as_str()), p);
            }
            let workload = in_ns(&w.namespace)
                .iter()
                .find(|p| p.spec.selector.as_ref().is_some_and(|s| !s.match_labels.is_empty() && selects(&s.match_labels, &w.labels)));
            if let Some(p) = workload {
                apply(&mut mode, p.spec.mtls.as_ref().map(|m| m.mode.as_str()), p);
                apply(&mut mode, p.spec.port_level_mtls.get(&port.to_string()).map(|m| m.mode.as_str()), p);
            }
        }
        mode
    }

    /// The namespace- or mesh-level mode, which is what a client's auto-mTLS looks at
    /// (`pilot/pkg/model/push_context.go`, `BestEffortInferServiceMTLSMode`).
    fn namespace_mode(&self, namespace: &str) -> MtlsMode {
        let unselected = |p: &&&PeerAuthentication| p.spec.selector.as_ref().is_none_or(|s| s.match_labels.is_empty());
        let mode_in =
            |ns: &str| self.peer.get(ns)?.iter().find(unselected).and_then(|p| p.spec.mtls.as_ref()).and_then(|m| MtlsMode::parse(&m.mode));
        let ns_mode = if namespace == self.root { None } else { mode_in(namespace) };
        ns_mode.or_else(|| mode_in(&self.root)).unwrap_or(MtlsMode::Permissive)
    }

    /// Ports the workload's sidecar does not capture: `traffic.sidecar.istio.io/excludeInboundPorts`
    /// on the pod, plus Istio's own ports.
    fn excluded(&self, w: &Workload, port: u16) -> Option<Option<Decider>> {
        if ALWAYS_EXCLUDED.contains(&port) {
            return Some(None);
        }
        let listed = self.template_value(w, EXCLUDE_INBOUND, false)?;
        let hit = listed.split(',').any(|p| p.trim().parse::<u16>() == Ok(port));
        let d = self.deployments.get(&(w.namespace.as_str(), w.name.as_str()))?;
        hit.then(|| Some(decider("Deployment", &d.metadata, None)))
    }

    /// AuthorizationPolicies that apply to a workload's proxy: those in the root namespace and in
    /// the workload's namespace whose selector matches (none: the whole namespace). Gateway API
    /// gateway pods take selector-based policies too (`ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY`
    /// defaults to true in `pilot/pkg/features/pilot.go`) (`pilot/pkg/model/authorization.go`,
    /// `ListAuthorizationPolicies`; `policyattachment.go`, `ShouldAttachPolicy`). `targetRefs` is not
    /// modelled: mesh-render's typed AuthorizationPolicy has no such field and renders none.
    pub fn policies_for(&self, w: &Workload) -> Vec<&'a AuthorizationPolicy> {
        let namespaces: Vec<&str> = if w.namespace == self.root { vec![&self.root] } else { vec![&self.root, &w.namespace] };
        namespaces
            .into_iter()
            .flat_map(|ns| self.authz.get(ns).into_iter().flatten())
            .filter(|p| p.spec.selector.as_ref().is_none_or(|s| selects(&s.match_labels, &w.labels)))
            .copied()
            .collect()
    }

    /// Evaluates a flow hop by hop; the first denied hop decides.
    pub fn evaluate(&self, flow: &Flow) -> Row {
        let mut caller = flow.from.clone();
        let mut hops = Vec::new();
        for hop in &flow.hops {
            let result = self.hop(&caller, hop);
            let denied = result.verdict == Verdict::Deny;
            hops.push(result);
            caller = hop.to.clone();
            if denied {
                break;
            }
        }
        let last = flow.hops.last().unwrap_or_else(|| unreachable!("a flow has a hop"));
        let mut verdict = if hops.iter().all(|h| h.verdict == Verdict::Allow) { Verdict::Allow } else { Verdict::Deny };
        let transport = hops.iter().map(|h| h.transport).max().unwrap_or(Transport::Mtls);
        let mut decided_by: Vec<Decider> = Vec::new();
        for d in hops.iter().flat_map(|h| &h.decided_by) {
            if !decided_by.contains(d) {
                decided_by.push(d.clone());
            }
        }
        let mut reason = hops.iter().map(|h| h.reason.as_str()).collect::<Vec<_>>().join("; then ");
        let mut via = (flow.hops.len() > 1).then(|| Via {
            namespace: flow.hops[0].to.namespace.clone(),
            workload: flow.hops[0].to.name.clone(),
            port: flow.hops[0].port,
        });
        let mut via_call = (flow.hops.len() > 1).then(|| flow.hops[0].call.kind());
        // A call from another cluster (`fleet`): what blocks it whatever the policies say, and the
        // east-west gateway it goes through across networks, which passes only Istio mTLS.
        if let Some(cross) = &flow.cross {
            if let Some(east_west) = &cross.east_west {
                via = Some(east_west.clone());
                via_call = Some(super::CallKind::Service);
                if transport != Transport::Mtls && verdict == Verdict::Allow {
                    verdict = Verdict::Deny;
                    reason = format!(
                        "{reason}; but the east-west gateway routes only Istio mTLS, by its SNI (AUTO_PASSTHROUGH), and this call is {transport}"
                    );
                }
            }
            if let Some(blocked) = &cross.blocked {
                verdict = Verdict::Deny;
                reason = blocked.clone();
                decided_by.clear();
            }
        }
        Row {
            from: self.endpoint(&flow.from),
            to: self.endpoint(&last.to),
            from_cluster: flow.cross.as_ref().map(|c| c.from_cluster.clone()),
            to_cluster: flow.cross.as_ref().map(|c| c.to_cluster.clone()),
            via_call,
            via,
            port: last.port,
            path: last.path.clone(),
            call: last.call.kind(),
            purpose: flow.purpose.clone(),
            need: flow.need,
            verdict,
            transport,
            decided_by,
            reason,
            hops,
            expectation: flow.expectation,
        }
    }

    fn endpoint(&self, w: &Workload) -> Endpoint {
        Endpoint { namespace: w.namespace.clone(), workload: w.name.clone(), sidecar: self.sidecar(w) }
    }

    fn hop(&self, from: &Workload, hop: &Hop) -> HopResult {
        let mut result = self.hop_in_mesh(from, hop);
        if let Some(deciders) = self.network_denies(from, &hop.to, hop.port, &hop.call) {
            let names: Vec<String> = deciders.iter().map(|d| format!("{}/{}", d.namespace, d.name)).collect();
            result.reason = format!(
                "NetworkPolicy {} admits no connection from {} to port {}: where the network plugin enforces NetworkPolicy, the packets never reach {}",
                names.join(", "),
                from.id(),
                hop.port,
                hop.to.id()
            );
            result.verdict = Verdict::Deny;
            result.decided_by = deciders;
        }
        result
    }

    fn hop_in_mesh(&self, from: &Workload, hop: &Hop) -> HopResult {
        let to = &hop.to;
        let target = self.endpoint(to);
        let result = |verdict, transport, plaintext_in_mesh, decided_by: Vec<Decider>, reason: String| HopResult {
            to: target.clone(),
            port: hop.port,
            verdict,
            transport,
            plaintext_in_mesh,
            decided_by,
            reason,
        };
        let callee_sidecar = self.sidecar(to);
        let is_gateway = matches!(to.role, Role::Gateway { .. });

        // Kubelet probes and lifecycle hooks of a pod with a sidecar go to pilot-agent (15020), which
        // calls the app from inside the pod: the sidecar never sees them (`pkg/kube/inject/app_probe.go`;
        // on unless `sidecar.istio.io/rewriteAppHTTPProbers: "false"`, `ShouldRewriteAppHTTPProbers`).
        if hop.call == Call::Kubelet && callee_sidecar && self.template_value(to, REWRITE_PROBES, false) != Some("false") {
            return result(
                Verdict::Allow,
                Transport::Bypass,
                false,
                Vec::new(),
                format!("the injector rewrites kubelet's call to pilot-agent on 15020, which calls port {} inside the pod", hop.port),
            );
        }
        if callee_sidecar {
            if let Some(d) = self.excluded(to, hop.port) {
                let why = match &d {
                    Some(_) => format!("port {} is in the pod's excludeInboundPorts: the sidecar does not see the call", hop.port),
                    None => format!("port {} is Istio's own and never captured by the sidecar", hop.port),
                };
                return result(Verdict::Allow, Transport::Bypass, false, d.into_iter().collect(), why);
            }
        }
        if !callee_sidecar && !is_gateway {
            return result(
                Verdict::Allow,
                Transport::Plaintext,
                false,
                Vec::new(),
                format!("{} has no sidecar: nothing in the mesh checks the call", to.id()),
            );
        }

        // Client side: a sidecar or a gateway originates Istio mTLS only towards endpoints labelled
        // `security.istio.io/tlsMode: istio` (injected pods; gateway pods lack it), only on EDS
        // clusters (not the ORIGINAL_DST passthrough cluster of pod-IP calls), and not when the
        // callee's namespace or mesh mode is DISABLE (`pilot/pkg/networking/core/cluster_tls.go`,
        // `buildUpstreamTLSSettings` and its transport-socket matches; `push_context.go`,
        // `BestEffortInferServiceMTLSMode`). A DestinationRule's `trafficPolicy.tls` replaces
        // auto-mTLS for its host (istio.io "Mutual TLS Migration"; concepts/security "Auto mutual TLS").
        let caller_proxy = self.sidecar(from) || matches!(from.role, Role::Gateway { .. });
        let mut transport_deciders = Vec::new();
        let (mtls, client_why) = if !caller_proxy {
            (false, format!("{} has no proxy to originate mTLS", from.id()))
        } else if is_gateway {
            (false, format!("gateway pods carry no tlsMode label, so {} sends plaintext", from.id()))
        } else {
            match &hop.call {
                Call::PodIp => match self.headless_service(to, hop.port) {
                    // A headless Service's TCP port gets a listener per pod IP whose ORIGINAL_DST
                    // cluster keeps its ISTIO_MUTUAL transport socket (`cluster_tls.go:93-95`:
                    // auto-mTLS is skipped for `Cluster_ORIGINAL_DST`); an HTTP port gets none.
                    Some(s) => {
                        transport_deciders.push(decider("Service", &s.metadata, None));
                        (
                            true,
                            "a headless Service's TCP port gives the pod IP its own listener, whose ORIGINAL_DST cluster sends mTLS"
                                .to_string(),
                        )
                    }
                    None => (
                        false,
                        "a pod-IP call leaves through the passthrough cluster without mTLS (no headless Service serves the port as TCP)"
                            .to_string(),
                    ),
                },
                Call::Kubelet => (false, "a pod-IP call leaves through the passthrough cluster without mTLS".to_string()),
                Call::Service { host } => match host.as_deref().and_then(|h| self.destination_rules.get(h)) {
                    // Only the TLS settings for the hop's port count: a port-level entry replaces the
                    // host-level policy (`TrafficPolicy::tls_for`); without TLS settings auto-mTLS applies.
                    Some(dr) if dr.spec.traffic_policy.as_ref().and_then(|t| t.tls_for(hop.port)).is_some() => {
                        let mode =
                            dr.spec.traffic_policy.as_ref().and_then(|t| t.tls_for(hop.port)).map(|t| t.mode.as_str()).unwrap_or_default();
                        transport_deciders.push(decider("DestinationRule", &dr.metadata, None));
                        (mode == "ISTIO_MUTUAL", format!("a DestinationRule sets tls.mode {mode} for port {}", hop.port))
                    }
                    _ if self.namespace_mode(&to.namespace) == MtlsMode::Disable => {
                        (false, "auto-mTLS is off towards a namespace whose mode is DISABLE".to_string())
                    }
                    _ => (true, String::new()),
                },
            }
        };
        let transport = if mtls { Transport::Mtls } else { Transport::Plaintext };
        let plaintext_in_mesh = !mtls && caller_proxy;

        // Server side, peer authentication: a sidecar in STRICT mode refuses plaintext. Gateways'
        // listeners are governed by the Gateway's own TLS settings, not by PeerAuthentication.
        let mut deciders = transport_deciders;
        if callee_sidecar {
            let (mode, pa) = self.mtls_mode(to, hop.port);
            if mode == MtlsMode::Strict && !mtls {
                deciders.extend(pa);
                return result(
                    Verdict::Deny,
                    transport,
                    plaintext_in_mesh,
                    deciders,
                    format!("{client_why}, and {} accepts only mTLS on {} (STRICT)", to.id(), hop.port),
                );
            }
            if !mtls {
                deciders.extend(pa);
            }
        }

        // Authorization (istio.io concepts/security "Authorization policy precedence"): a matching
        // DENY policy denies; no ALLOW policy allows; a matching ALLOW rule allows; else deny.
        let identity = mtls.then_some((from.namespace.as_str(), from.service_account.as_str()));
        let request = Request { identity, port: hop.port, path: hop.path.as_deref() };
        let policies = self.policies_for(to);
        let action = |p: &AuthorizationPolicy| p.spec.action.clone().unwrap_or_else(|| "ALLOW".into());
        for p in policies.iter().filter(|p| action(p) == "DENY") {
            if let Some(i) = p.spec.rules.iter().position(|r| request.matches(r)) {
                deciders.push(decider("AuthorizationPolicy", &p.metadata, Some(i)));
                return result(Verdict::Deny, transport, plaintext_in_mesh, deciders, format!("DENY rule {i} matches"));
            }
        }
        let allow: Vec<&&AuthorizationPolicy> = policies.iter().filter(|p| action(p) == "ALLOW").collect();
        let prefix = if client_why.is_empty() { String::new() } else { format!("{client_why}; ") };
        if allow.is_empty() {
            return result(
                Verdict::Allow,
                transport,
                plaintext_in_mesh,
                deciders,
                format!("{prefix}no ALLOW policy applies to {}", to.id()),
            );
        }
        for p in &allow {
            if let Some(i) = p.spec.rules.iter().position(|r| request.matches(r)) {
                deciders.push(decider("AuthorizationPolicy", &p.metadata, Some(i)));
                return result(Verdict::Allow, transport, plaintext_in_mesh, deciders, format!("{prefix}ALLOW rule {i} matches"));
            }
        }
        deciders.extend(allow.iter().map(|p| decider("AuthorizationPolicy", &p.metadata, None)));
        let unknown = if identity.is_none() { " (source namespaces and principals need an mTLS peer identity)" } else { "" };
        result(
            Verdict::Deny,
            transport,
            plaintext_in_mesh,
            deciders,
            format!("{prefix}ALLOW policies apply to {} and none matches{unknown}", to.id()),
        )
    }
}

/// What an authorization rule sees of a call.
struct Request<'r> {
    /// `(namespace, service account)` of the peer, known only over mTLS.
    identity: Option<(&'r str, &'r str)>,
    port: u16,
    /// `None`: any request on the port; a rule that only allows some paths does not cover it.
    path: Option<&'r str>,
}

impl Request<'_> {
    /// Sources, operations and their fields are ANDed across kinds and ORed within a list; a rule
    /// without `from` and `to` matches everything; `source.namespaces` and `source.principals`
    /// come from the peer certificate, so they never match plaintext (istio.io reference
    /// config/security/authorization-policy; `pilot/pkg/security/authz/model/model.go`).
    fn matches(&self, rule: &AuthorizationRule) -> bool {
        let from = rule.from.is_empty()
            || rule.from.iter().any(|f| {
                let s = &f.source;
                let ns_ok = s.namespaces.is_empty() || self.identity.is_some_and(|(ns, _)| s.namespaces.iter().any(|p| istio_match(p, ns)));
                let principal_ok = s.principals.is_empty()
                    || self.identity.is_some_and(|(ns, sa)| {
                        let principal = format!("cluster.local/ns/{ns}/sa/{sa}");
                        s.principals.iter().any(|p| istio_match(p, &principal))
                    });
                // `notPrincipals`: an absent principal (plaintext) is not in the list, so it matches;
                // istio.io's "deny requests without principals" uses DENY with `notPrincipals: ["*"]`
                // (`pilot/pkg/security/authz/model/model.go`, `NotPrincipals` negates the principal matcher).
                let not_principal_ok = s.not_principals.is_empty()
                    || self.identity.is_none_or(|(ns, sa)| {
                        let principal = format!("cluster.local/ns/{ns}/sa/{sa}");
                        !s.not_principals.iter().any(|p| istio_match(p, &principal))
                    });
                ns_ok && principal_ok && not_principal_ok
            });
        let to = rule.to.is_empty()
            || rule.to.iter().any(|t| {
                let o = &t.operation;
                let path_ok = o.paths.is_empty() || self.path.is_some_and(|path| o.paths.iter().any(|p| istio_match(p, path)));
                operation_port_matches(o, self.port) && path_ok
            });
        from && to
    }
}

/// An operation's ports: `ports` (empty: any) ANDed with `notPorts` (the port is in none of them),
/// both on `destination.port` (istio 1.29.6 `pilot/pkg/security/authz/model/model.go:140`).
fn operation_port_matches(o: &Operation, port: u16) -> bool {
    let listed = |list: &[String]| list.iter().any(|p| p.parse::<u16>() == Ok(port));
    (o.ports.is_empty() || listed(&o.ports)) && !listed(&o.not_ports)
}

/// Whether some request on `port` can match the rule's `to` (a rule without `to` matches every
/// port; a rule that names paths on the port matches some requests there). For tests that pin a
/// port no rule may open.
#[cfg(test)]
pub(crate) fn rule_admits_port(rule: &AuthorizationRule, port: u16) -> bool {
    rule.to.is_empty() || rule.to.iter().any(|t| operation_port_matches(&t.operation, port))
}

#[cfg(test)]
mod tests;
