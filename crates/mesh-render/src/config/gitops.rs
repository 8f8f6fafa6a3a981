//! GitOps settings: `components.istio.argocd` (rendered Argo CD Applications).

use super::codes;
use super::decode::Decoder;
use crate::config::syntax::Node;

/// Envoy Gateway's previous layout, at the path callers used before it moved to its own module.
pub use super::envoy_gateway::{default_previous, PreviousGateway};

/// Keys of `components.istio.argocd`.
pub const ARGOCD_KEYS: &[&str] =
    &["enabled", "namespace", "project", "destinationServer", "repoURL", "targetRevision", "path", "meshSource", "automated", "hookImage"];

/// The image of the mesh Application's lifecycle hooks. The hook scripts call only `kubectl` and
/// POSIX shell builtins (a test lists every command they call), so the image needs `/bin/sh` and
/// `kubectl` (1.34 or later, the minor Knative 1.23 needs) on `PATH`.
///
/// Not `registry.k8s.io/kubectl`: it has no shell. It is built `FROM` go-runner (kubernetes/kubernetes
/// `build/common.sh` `KUBECTL_BASE_IMAGE`), which is `FROM` distroless `static-debian12`
/// (kubernetes/release `images/build/go-runner/Dockerfile`); the Debian-based variant,
/// kubernetes/kubernetes#119592, was reverted by #120219. Nor `rancher/kubectl` (rancher/kubectl
/// `package/Dockerfile`: `FROM scratch`).
///
/// `alpine/k8s` (alpine-docker/k8s `Dockerfile`, read at commit c1eab3a: `FROM alpine`, BusyBox
/// `/bin/sh`, `kubectl` from dl.k8s.io into `/usr/bin/kubectl` at the tag's version, tagged with the
/// kubectl version; `alpine/k8s:1.34.1` is named in that repository's history, commit 9431d53). The
/// image was not pulled from here: a cluster that cannot reach Docker Hub sets `hookImage` to a mirror
/// or to an image of its own with the same two commands.
pub const DEFAULT_HOOK_IMAGE: &str = "docker.io/alpine/k8s:1.34.1";

/// Argo CD's own cluster as a destination (argo-cd v3.5.1
/// `pkg/apis/application/v1alpha1/application_defaults.go:31`, `KubernetesInternalAPIServerAddr`):
/// the only one the hooks work in (MR027).
pub const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// Where the mesh Application gets its objects from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshSource {
    /// The `mesh-render` config management plugin renders the config at `path` in the repo-server.
    Plugin,
    /// A directory of the committed rendered tree (`path` points at its `manifests/`).
    Directory,
}

/// `components.istio.argocd`: render Argo CD Applications for the charts and the mesh resources.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgoCd {
    /// Namespace of the Application objects (Argo CD's own namespace).
    pub namespace: String,
    pub project: String,
    pub destination_server: String,
    /// The Git repository holding this config (plugin) or the rendered tree (directory).
    pub repo_url: String,
    pub target_revision: String,
    /// Folder in `repo_url`: of `config.yaml` (plugin), or of the rendered `manifests/` (directory).
    pub path: String,
    pub mesh_source: MeshSource,
    /// Automated sync (prune and self-heal); `false` leaves syncing to a person.
    pub automated: bool,
    /// Image with `/bin/sh` and `kubectl` for the restart and teardown hooks ([`DEFAULT_HOOK_IMAGE`]).
    pub hook_image: String,
}

impl ArgoCd {
    /// What a revision's PreDelete gate needs when the config no longer has `argocd` (the commit
    /// that switched Argo CD off prunes every child Application, and each still runs its gate):
    /// Argo CD's namespace and the hook image as `read_argocd` defaults them. No Application is
    /// rendered from it.
    pub fn gate_defaults() -> ArgoCd {
        ArgoCd {
            namespace: "argocd".into(),
            project: "default".into(),
            destination_server: String::new(),
            repo_url: String::new(),
            target_revision: String::new(),
            path: String::new(),
            mesh_source: MeshSource::Plugin,
            automated: true,
            hook_image: DEFAULT_HOOK_IMAGE.into(),
        }
    }
}

/// `None` when absent, switched off, or wrong (then with problems reported).
pub fn read_argocd(node: &Node, path: &str, dec: &mut Decoder) -> Option<ArgoCd> {
    let f = dec.map(node, path, Some(ARGOCD_KEYS))?;
    let enabled = match f.get("enabled") {
        Some(n) => dec.bool(n, &f.path("enabled")).unwrap_or(true),
        None => true,
    };
    let namespace = f.get("namespace").and_then(|n| dec.dns_label(n, &f.path("namespace"))).unwrap_or_else(|| "argocd".into());
    let project = f.get("project").and_then(|n| dec.dns_label(n, &f.path("project"))).unwrap_or_else(|| "default".into());
    let destination_server = match f.get("destinationServer") {
        Some(n) => url(n, &f.path("destinationServer"), &["https://"], dec).inspect(|server| {
            if enabled && server != IN_CLUSTER {
                dec.report(
                    &codes::REMOTE_ARGOCD_DESTINATION,
                    n.pos,
                    &f.path("destinationServer"),
                    format!("`{server}` is not Argo CD's own cluster: the hooks there cannot read the mesh Application nor create their Role in Argo CD's namespace, so the teardown and the revision gates fail and block every deletion"),
                    format!("use `{IN_CLUSTER}` and run Argo CD in the mesh's cluster, or install the mesh with the plans"),
                );
            }
        }),
        None => Some(IN_CLUSTER.into()),
    };
    let mesh_source = match f.get("meshSource") {
        Some(n) => match dec.one_of(n, &f.path("meshSource"), &["plugin", "directory"]) {
            Some("directory") => MeshSource::Directory,
            _ => MeshSource::Plugin,
        },
        None => MeshSource::Plugin,
    };
    let repo_url = match f.get("repoURL") {
        Some(n) => url(n, &f.path("repoURL"), &["https://", "http://", "ssh://", "git@"], dec),
        None if enabled => {
            dec.report(
                &codes::MISSING_SETTING,
                node.pos,
                &f.path("repoURL"),
                "the Applications need the Git repository that holds this config",
                "set `repoURL`, e.g. `https://github.com/example/playground.git`",
            );
            None
        }
        None => Some(String::new()),
    };
    let target_revision = match f.get("targetRevision") {
        Some(n) => plain(n, &f.path("targetRevision"), dec),
        None => Some("HEAD".into()),
    };
    let repo_path = match f.get("path") {
        Some(n) => plain(n, &f.path("path"), dec).and_then(|p| {
            if p.starts_with('/') || p.split('/').any(|part| part == "..") {
                dec.report(
                    &codes::INVALID_VALUE,
                    n.pos,
                    &f.path("path"),
                    format!("`{p}` is not a path inside the repository"),
                    "write a relative path without `..`",
                );
                None
            } else {
                Some(p)
            }
        }),
        None if mesh_source == MeshSource::Directory => Some("deployment/rendered/manifests".into()),
        None => Some(".".into()),
    };
    let automated = match f.get("automated") {
        Some(n) => dec.bool(n, &f.path("automated")).unwrap_or(true),
        None => true,
    };
    let hook_image = match f.get("hookImage") {
        Some(n) => plain(n, &f.path("hookImage"), dec),
        None => Some(DEFAULT_HOOK_IMAGE.into()),
    };
    let argocd = ArgoCd {
        namespace,
        project,
        destination_server: destination_server?,
        repo_url: repo_url?,
        target_revision: target_revision?,
        path: repo_path?,
        mesh_source,
        automated,
        hook_image: hook_image?,
    };
    enabled.then_some(argocd)
}

/// A single-line value without blanks.
pub(super) fn plain(node: &Node, path: &str, dec: &mut Decoder) -> Option<String> {
    let text = dec.string(node, path)?;
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            format!("`{text}` is empty or contains blanks"),
            "write one word, e.g. `main` or `deployment/rendered`",
        );
        return None;
    }
    Some(text)
}

fn url(node: &Node, path: &str, schemes: &[&str], dec: &mut Decoder) -> Option<String> {
    let text = plain(node, path, dec)?;
    if !schemes.iter().any(|s| text.starts_with(s) && text.len() > s.len()) {
        dec.report(
            &codes::INVALID_VALUE,
            node.pos,
            path,
            format!("`{text}` is not a URL here"),
            format!("start it with {}", schemes.join(" or ")),
        );
        return None;
    }
    Some(text)
}
