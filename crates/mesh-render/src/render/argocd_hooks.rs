//! The mesh Application's lifecycle under Argo CD (with `components.istio.argocd`): sync waves on
//! every mesh object, and two hook Jobs with their own least-privilege RBAC, so that an Argo CD sync
//! reaches the state `mesh-render plan apply` reaches, and deleting the Application undoes it as
//! `plan destroy` does.
//!
//! Waves (Argo CD applies a wave once the one before is synced and healthy; Argo CD's "Sync Phases
//! and Waves"): 0 namespaces with their injection labels and the hooks' RBAC; 1 the restart Job
//! (hook `Sync`); 2 CRDs, Telemetry, the cluster-internal Gateways, AI serving; 3 the Knative patch;
//! 4 mTLS STRICT and the authorization policies; 5 the Gateways whose Service is a LoadBalancer, last
//! (see [`wave`]). Teardown: a `PreDelete` hook (Argo CD 3.3 and later) deletes
//! the policies, removes the labels and restarts the workloads before Argo CD deletes the rest.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, PodSecurityContext, PodSpec, PodTemplateSpec, SeccompProfile, SecurityContext,
    ServiceAccount, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::argocd::{ARGOCD_SSA_MANAGER, MESH_APP, SYNC_WAVE};
use crate::config::Config;
use crate::plans;
use crate::render::facts::MeshFacts;
use crate::render::manifest::{owned_meta, Concern, Manifest, Object};
use crate::render::revision_tags;

/// Name of the hooks' ServiceAccount, Roles and bindings.
pub(crate) const NAME: &str = "mesh-render-lifecycle";
/// The restart Job (hook `Sync`, wave 1).
pub(crate) const SYNC_JOB: &str = "mesh-render-sidecar-restart";
/// The teardown Job (hook `PreDelete`).
pub(crate) const PRE_DELETE_JOB: &str = "mesh-render-sidecar-teardown";
/// Argo CD's hook annotations.
pub(crate) const HOOK: &str = "argocd.argoproj.io/hook";
pub(crate) const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";

/// The wave of an object of the mesh Application (`manifests`: all of them, to find a Gateway's
/// options ConfigMap).
///
/// A Gateway whose Service is a LoadBalancer goes last, after STRICT, in a wave of its own with no
/// hook. On a cluster without a LoadBalancer implementation (kind, minikube) istiod never writes
/// `Programmed=True` for it: the Service stays without an address, "address pending for hostname"
/// (istio 1.29.6 `pilot/pkg/config/kube/gateway/context.go:99-101`; 1.30.3
/// `gatewaycommon/context.go:114`), so `Programmed` is `False` with reason `AddressNotAssigned`
/// (1.29.6 `conversion.go:1917-1946`; 1.30.3 `conversion.go:1921`). Argo CD's built-in Gateway
/// health (argo-cd v3.5.1 `resource_customizations/gateway.networking.k8s.io/Gateway/health.lua:33-43`)
/// calls that `Progressing`; gitops-engine ends a running task only on `Healthy` or `Degraded`
/// (`gitops-engine/pkg/sync/sync_context.go:556-567`) and a multi-step sync waits while any task
/// runs (`:573-596`), so in wave 2 it held back the Knative patch and STRICT forever. In the last
/// wave the sync succeeds once its objects are applied, "EVEN if those objects subsequently
/// degrades" (`:704-712`, when no hook is in that wave): waves 0 to 4 apply, and the Application
/// stays `Progressing` only until an address is assigned (or for good on kind: see docs/argocd.md).
pub(crate) fn wave(m: &Manifest, manifests: &[Manifest]) -> i32 {
    match (&m.object, m.concern) {
        (Object::Gateway(gw), _) if crate::render::gateways::service_type(gw, manifests) == "LoadBalancer" => LOAD_BALANCER_WAVE,
        // Trust is never in the mesh Application: it goes into istiod's, before istiod's own objects
        // (wave 0), which Argo CD applies only once the Certificate is Healthy, that is Ready (argo-cd
        // v3.5.1 `resource_customizations/cert-manager.io/Certificate/health.lua`).
        (_, Concern::Trust) => TRUST_WAVE,
        (_, Concern::Namespaces | Concern::RevisionTags | Concern::ArgocdHooks) => 0,
        (_, Concern::InferenceCrds | Concern::Telemetry | Concern::Gateways | Concern::EastWest | Concern::AiServing) => 2,
        (_, Concern::Knative) => 3,
        (_, Concern::Security) => 4,
        (_, Concern::Argocd) => 0,
    }
}

/// The wave of a multi-cluster mesh's trust objects in istiod's Application: before istiod.
pub(crate) const TRUST_WAVE: i32 = -1;

/// The wave of the restart Job: after the labels, before everything that routes traffic.
pub(crate) const RESTART_WAVE: i32 = 1;
/// The wave of the Gateways whose Service is a LoadBalancer: the last one ([`wave`]).
pub(crate) const LOAD_BALANCER_WAVE: i32 = 5;

/// Adds the waves to `manifests` and returns the hooks and their RBAC; nothing without Argo CD.
pub(crate) fn render(config: &Config, facts: &MeshFacts, manifests: &mut [Manifest]) -> Vec<Manifest> {
    let Some(a) = &config.argocd else { return Vec::new() };
    let waves: Vec<i32> = manifests.iter().map(|m| wave(m, manifests)).collect();
    for (m, w) in manifests.iter_mut().zip(waves) {
        m.object.metadata_mut().annotations.get_or_insert_with(Default::default).insert(SYNC_WAVE.into(), w.to_string());
    }
    let mesh = facts.injected.clone();
    // Teardown order: the namespace- and mesh-wide PeerAuthentications (STRICT) first, then the
    // authorization policies, the workload exceptions (webhooks' PERMISSIVE ports) last.
    let mut security: Vec<&Manifest> = manifests.iter().filter(|m| m.concern == Concern::Security).collect();
    security.sort_by_key(|m| match &m.object {
        Object::PeerAuthentication(pa) if pa.spec.selector.is_none() => 0,
        Object::PeerAuthentication(_) => 2,
        _ => 1,
    });
    let policies: Vec<(String, String)> = security
        .iter()
        .map(|m| {
            let meta = m.object.metadata();
            let resource = match m.object.kind() {
                "PeerAuthentication" => "peerauthentications.security.istio.io",
                "NetworkPolicy" => "networkpolicies.networking.k8s.io",
                _ => "authorizationpolicies.security.istio.io",
            };
            (meta.namespace.clone().unwrap_or_default(), format!("{resource}/{}", meta.name.clone().unwrap_or_default()))
        })
        .collect();
    let injection_key = facts.injection_label.0.clone();
    let restore = plans::knative_restore(config);
    let stable_webhook = config.revisions.as_ref().map(|rs| revision_tags::webhook_name(config, &rs.stable_tag));
    let context = plans::HookContext {
        gateway_checks: false,
        restarts: true,
        revision_guard: false,
        namespace: config.namespace.clone(),
        field_manager: ARGOCD_SSA_MANAGER,
        mesh_namespaces: mesh.clone(),
        injection_key,
        policies: policies.clone(),
        argocd_namespace: a.namespace.clone(),
        mesh_application: match &config.cluster {
            Some(c) => format!("{MESH_APP}-{}", c.name),
            None => MESH_APP.into(),
        },
        remote_guard: config.cluster.as_ref().map(|_| PRE_DELETE_JOB.to_string()),
        expected_revision: expected_revision(config),
        expected_istiod: plans::stable_istiod(config),
        stable_webhook: stable_webhook.clone(),
        knative_restore: restore
            .iter()
            .map(|m| plans::RestoreStep {
                namespace: m.object.metadata().namespace.clone().unwrap_or_default(),
                name: m.object.metadata().name.clone().unwrap_or_default(),
                yaml: crate::emit::yaml_document(m),
            })
            .collect(),
        strict: config.mtls == crate::config::MtlsMode::Strict,
    };
    let root = config.namespace.as_str();
    let mut out = vec![
        hook_object(ServiceAccount { metadata: owned_meta(NAME, Some(root), Concern::ArgocdHooks), ..Default::default() }),
        job(&config.namespace, &a.hook_image, NAME, SYNC_JOB, "Sync", Some(RESTART_WAVE), plans::sync_hook_script(&context)),
        job(&config.namespace, &a.hook_image, NAME, PRE_DELETE_JOB, "PreDelete", None, plans::pre_delete_hook_script(&context)),
    ];
    let access = Access {
        argocd_namespace: &a.namespace,
        mesh: &mesh,
        policies: &policies,
        stable_webhook: stable_webhook.as_deref(),
        istiod: plans::stable_istiod(config),
        knative: &restore,
    };
    out.extend(rbac(config, &access));
    for m in &mut out {
        if !m.object.metadata().annotations.as_ref().is_some_and(|an| an.contains_key(HOOK)) {
            m.object.metadata_mut().annotations.get_or_insert_with(Default::default).insert(SYNC_WAVE.into(), "0".into());
        }
    }
    out
}

/// The `istio.io/rev` annotation the injector puts on the pods of the labelled namespaces: the stable
/// tag's revision, the configured `revision`, or `default` (istiod's `files/injection-template.yaml`).
pub(crate) fn expected_revision(config: &Config) -> String {
    if let Some(stable) = config.revisions.as_ref().and_then(|r| r.stable()) {
        return stable.name.clone();
    }
    config.revision.clone().unwrap_or_else(|| crate::config::canary::DEFAULT_REVISION.into())
}

pub(crate) fn hook_object(object: impl Into<Object>) -> Manifest {
    Manifest { concern: Concern::ArgocdHooks, object: object.into() }
}

fn subject(root: &str) -> Subject {
    Subject { kind: "ServiceAccount".into(), name: NAME.into(), namespace: Some(root.into()), api_group: None }
}

pub(crate) fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: Vec<String>) -> PolicyRule {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        resource_names: (!names.is_empty()).then_some(names),
        non_resource_urls: None,
    }
}

/// What the hooks touch, for their RBAC.
struct Access<'a> {
    argocd_namespace: &'a str,
    mesh: &'a [String],
    policies: &'a [(String, String)],
    stable_webhook: Option<&'a str>,
    istiod: String,
    knative: &'a [Manifest],
}

/// Exactly what the two scripts call: the labelled namespaces by name (get, patch their labels);
/// in each labelled namespace, its workloads (list, restart, watch the rollout) and its pods (list);
/// the stable istiod Deployment by name (wait for Available) and the stable tag's webhook by name
/// (read its revision); Knative's ConfigMaps by name (read, server-side apply the restore); each
/// policy by name (delete); the mesh Application by name (get its deletion timestamp).
fn rbac(config: &Config, access: &Access) -> Vec<Manifest> {
    let Access { argocd_namespace, mesh, policies, .. } = *access;
    let root = config.namespace.as_str();
    let mut out = Vec::new();
    let mut cluster_rules = Vec::new();
    if !mesh.is_empty() {
        cluster_rules.push(rule(&[""], &["namespaces"], &["get", "patch"], mesh.to_vec()));
    }
    if let Some(webhook) = access.stable_webhook {
        cluster_rules.push(rule(
            &["admissionregistration.k8s.io"],
            &["mutatingwebhookconfigurations"],
            &["get"],
            vec![webhook.to_string()],
        ));
    }
    if !cluster_rules.is_empty() {
        out.push(hook_object(ClusterRole {
            metadata: owned_meta(NAME, None, Concern::ArgocdHooks),
            rules: Some(cluster_rules),
            ..Default::default()
        }));
        out.push(hook_object(ClusterRoleBinding {
            metadata: owned_meta(NAME, None, Concern::ArgocdHooks),
            role_ref: RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "ClusterRole".into(), name: NAME.into() },
            subjects: Some(vec![subject(root)]),
        }));
    }
    let mut per_namespace: BTreeMap<String, Vec<PolicyRule>> = BTreeMap::new();
    for ns in mesh {
        per_namespace.entry(ns.clone()).or_default().extend([
            rule(&["apps"], &["deployments", "statefulsets", "daemonsets"], &["get", "list", "watch", "patch"], Vec::new()),
            rule(&[""], &["pods"], &["list"], Vec::new()),
            // `stale_pods` reads which ReplicaSets a Deployment owns (a restart replaces only those pods).
            rule(&["apps"], &["replicasets"], &["list"], Vec::new()),
        ]);
    }
    // `kubectl wait` gets the object, then lists and watches it with `metadata.name=` (which RBAC
    // authorizes against resourceNames).
    per_namespace.entry(root.to_string()).or_default().push(rule(
        &["apps"],
        &["deployments"],
        &["get", "list", "watch"],
        vec![access.istiod.clone()],
    ));
    let mut configmaps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in access.knative {
        let meta = m.object.metadata();
        configmaps.entry(meta.namespace.clone().unwrap_or_default()).or_default().insert(meta.name.clone().unwrap_or_default());
    }
    for (ns, names) in configmaps {
        per_namespace.entry(ns).or_default().push(rule(&[""], &["configmaps"], &["get", "patch"], names.into_iter().collect()));
    }
    let mut by_resource: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (ns, object) in policies {
        if let Some((resource, name)) = object.split_once('/') {
            by_resource.entry((ns.clone(), resource.to_string())).or_default().insert(name.to_string());
        }
    }
    for ((ns, resource), names) in by_resource {
        let (plural, group) = resource.split_once('.').unwrap_or((&resource, ""));
        per_namespace.entry(ns).or_default().push(rule(&[group], &[plural], &["delete"], names.into_iter().collect()));
    }
    match &config.cluster {
        // A cluster of a multi-cluster mesh: the guard reads its own Job, not the Application.
        Some(_) => {
            per_namespace.entry(root.to_string()).or_default().push(rule(&["batch"], &["jobs"], &["get"], vec![PRE_DELETE_JOB.to_string()]))
        }
        None => per_namespace.entry(argocd_namespace.to_string()).or_default().push(rule(
            &["argoproj.io"],
            &["applications"],
            &["get"],
            vec![MESH_APP.to_string()],
        )),
    }
    for (ns, rules) in per_namespace {
        out.push(hook_object(Role { metadata: owned_meta(NAME, Some(&ns), Concern::ArgocdHooks), rules: Some(rules) }));
        out.push(hook_object(RoleBinding {
            metadata: owned_meta(NAME, Some(&ns), Concern::ArgocdHooks),
            role_ref: RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "Role".into(), name: NAME.into() },
            subjects: Some(vec![subject(root)]),
        }));
    }
    out
}

/// A hook Job: non-root, read-only root filesystem, no sidecar; it runs as `service_account`. A Sync
/// hook is deleted once it succeeded and before the next run; for a PreDelete hook Argo CD honours
/// only `HookSucceeded` (argo-cd v3.5.1 `controller/hook.go:141,284-289`) and deletes a failed one
/// itself before it creates it again (`:218-227`).
pub(crate) fn job(root: &str, image: &str, service_account: &str, name: &str, hook: &str, wave: Option<i32>, script: String) -> Manifest {
    let mut meta: ObjectMeta = owned_meta(name, Some(root), Concern::ArgocdHooks);
    let annotations = meta.annotations.get_or_insert_with(Default::default);
    annotations.insert(HOOK.into(), hook.into());
    annotations.insert(HOOK_DELETE_POLICY.into(), "BeforeHookCreation,HookSucceeded".into());
    if let Some(w) = wave {
        annotations.insert(SYNC_WAVE.into(), w.to_string());
    }
    let mut pod_labels = meta.labels.clone().unwrap_or_default();
    pod_labels.insert("sidecar.istio.io/inject".into(), "false".into());
    let container = Container {
        name: "kubectl".into(),
        image: Some(image.into()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        env: Some(vec![EnvVar { name: "HOME".into(), value: Some("/tmp".into()), value_from: None }]),
        volume_mounts: Some(vec![VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..Default::default() }]),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), add: None }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let pod = PodSpec {
        service_account_name: Some(service_account.into()),
        restart_policy: Some("Never".into()),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(65532),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), localhost_profile: None }),
            ..Default::default()
        }),
        containers: vec![container],
        volumes: Some(vec![Volume { name: "tmp".into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Default::default() }]),
        ..Default::default()
    };
    let spec = JobSpec {
        backoff_limit: Some(2),
        active_deadline_seconds: Some(1800),
        template: PodTemplateSpec { metadata: Some(ObjectMeta { labels: Some(pod_labels), ..Default::default() }), spec: Some(pod) },
        ..Default::default()
    };
    hook_object(Job { metadata: meta, spec: Some(spec), status: None })
}
