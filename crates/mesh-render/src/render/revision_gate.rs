//! The PreDelete gate of an istiod revision's Argo CD Application: a hook Job that keeps Argo CD
//! from deleting a revision (when the config stops listing it and the parent prunes its
//! Application) while a tag still points at it or a pod's proxy still uses it, the check `plan
//! apply` runs before `helm uninstall` (issue 20, point 4).
//!
//! Argo CD finds an Application's PreDelete hooks by rendering its sources again at deletion time
//! (argo-cd v3.5.1 `controller/hook.go:113-121`, `GetRepoObjs` on `app.Spec.GetSources()`). The
//! revision's Application is being deleted because the config no longer lists that revision, so the
//! gate cannot come from the config's revisions: it is rendered from the revision's name alone,
//! which the Application carries as the `revisionGate` parameter of its second source (the
//! `mesh-render` plugin). A directory source cannot do that (the commit that removes the revision
//! removes its folder too): with `meshSource: directory` no gate is rendered, and docs/argocd.md
//! says to remove a revision only after `plan verify` passed on the tag move.
//!
//! A failed PreDelete hook is deleted and created again on the next reconcile, and the Application
//! stays until one succeeds (`controller/hook.go:218-227`, `appcontroller.go:1322-1341`). A hook
//! that exists is not created again (`hook.go:141`), and only `HookSucceeded` of the delete policy
//! counts for PreDelete (`:284-289`): the succeeded Job is deleted once the deletion goes on.
//!
//! While the gate refuses, the parent that pruned the Application keeps its sync operation running
//! (gitops-engine `pkg/sync/sync_context.go:599-608`); the revision Applications carry
//! `PruneLast=true`, so every other wave of the parent syncs first (`:1127-1144`). Stop the wait with
//! `argocd app terminate-op <parent>`; the gate keeps running on the child. PreDelete hooks need Argo
//! CD 3.3.0 or later: before it, the PreDelete finalizers the Applications carry are never removed.
//!
//! Two meshes in one cluster (two root namespaces): a tag webhook counts when it calls this root
//! namespace's istiod (its `clientConfig.service.namespace`), whatever its name. Pods are counted
//! cluster-wide by revision name, as `plan apply` counts them (the `istio.io/rev` annotation holds
//! the name alone): another mesh's pods on a revision of the same name hold this gate too. That
//! errs towards refusing, never towards deleting an istiod in use.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject};

use crate::api::argocd::MESH_APP;
use crate::plans;
use crate::render::argocd_hooks::{hook_object, job, rule};
use crate::render::manifest::{owned_meta, Concern, Manifest};
use crate::render::GateSettings;

/// The gate's objects' name for revision `revision` (as pods carry it: `default` for the
/// unrevisioned istiod) in root namespace `root`: with the root namespace as a suffix outside
/// `istio-system`, as Istio names its tag webhooks (`revision_tags::webhook_name`), so that two
/// meshes' cluster-scoped RBAC objects do not collide.
pub(crate) fn name(revision: &str, root: &str) -> String {
    match root {
        "istio-system" => format!("mesh-render-revision-gate-{revision}"),
        _ => format!("mesh-render-revision-gate-{revision}-{root}"),
    }
}

/// The gate of revision `revision` for the Application `application`: its ServiceAccount, a
/// ClusterRole with exactly the script's cluster-wide calls (list pods in every namespace, list the
/// mutating webhook configurations: lists RBAC cannot narrow by name), a Role in Argo CD's
/// namespace to get the mesh Application by name, their bindings, and the PreDelete Job.
///
/// The RBAC objects are ordinary objects of the revision's Application, as the mesh hooks' are: as
/// PreDelete hooks they would be created together with the Job, whose first pod could start before
/// its binding exists.
pub(crate) fn render(settings: &GateSettings, revision: &str, application: &str) -> Vec<Manifest> {
    let root = settings.namespace.as_str();
    let argocd_namespace = settings.argocd_namespace.as_str();
    let name = name(revision, root);
    let context = plans::GateContext {
        gateway_checks: false,
        restarts: false,
        revision_guard: true,
        revision: revision.to_string(),
        namespace: root.to_string(),
        argocd_namespace: argocd_namespace.to_string(),
        application: application.to_string(),
        mesh_application: match &settings.cluster {
            Some(c) => format!("{MESH_APP}-{c}"),
            None => MESH_APP.to_string(),
        },
        remote: settings.cluster.is_some(),
    };
    let subject = Subject { kind: "ServiceAccount".into(), name: name.clone(), namespace: Some(root.into()), api_group: None };
    let role = ClusterRole {
        metadata: owned_meta(&name, None, Concern::ArgocdHooks),
        rules: Some(vec![
            rule(&[""], &["pods"], &["list"], Vec::new()),
            rule(&["admissionregistration.k8s.io"], &["mutatingwebhookconfigurations"], &["list"], Vec::new()),
        ]),
        ..Default::default()
    };
    let binding = ClusterRoleBinding {
        metadata: owned_meta(&name, None, Concern::ArgocdHooks),
        role_ref: RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "ClusterRole".into(), name: name.clone() },
        subjects: Some(vec![subject.clone()]),
    };
    let app_role = Role {
        metadata: owned_meta(&name, Some(argocd_namespace), Concern::ArgocdHooks),
        rules: Some(vec![rule(&["argoproj.io"], &["applications"], &["get"], vec![MESH_APP.to_string()])]),
    };
    let app_binding = RoleBinding {
        metadata: owned_meta(&name, Some(argocd_namespace), Concern::ArgocdHooks),
        role_ref: RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "Role".into(), name: name.clone() },
        subjects: Some(vec![subject.clone()]),
    };
    let mut out = vec![
        hook_object(ServiceAccount { metadata: owned_meta(&name, Some(root), Concern::ArgocdHooks), ..Default::default() }),
        hook_object(role),
        hook_object(binding),
    ];
    // In a multi-cluster mesh the gate runs in the cluster, where Argo CD's namespace is not.
    if settings.cluster.is_none() {
        out.extend([hook_object(app_role), hook_object(app_binding)]);
    }
    out.push(job(root, &settings.hook_image, &name, &name, "PreDelete", None, plans::revision_gate_script(&context)));
    out
}
