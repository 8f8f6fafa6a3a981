//! `controlPlane.revisions`, `controlPlane.tags` and `controlPlane.stableTag`: the control plane as
//! named revisions with stable tags, so that an upgrade is a canary (Istio's "Canary upgrades with
//! revision tags") and each of its steps is a config the user commits.
//!
//! Namespaces and the Knative Gateways are labelled `istio.io/rev=<stableTag>`, never with a
//! revision: moving the tag to another revision moves them (after a restart).

use super::codes;
use std::collections::BTreeMap;

use super::decode::{self, Decoder};
use crate::config::syntax::{Node, Value};
use crate::diagnostics::Pos;
use crate::versions::{Release, Version};

/// The revision name that keeps the chart's unrevisioned names (`istiod`, `istio-sidecar-injector`):
/// the istiod chart renders `revision: ""` as the `default` revision
/// (`reference/istio-1.29.6/charts/istiod/templates/revision-tags-mwc.yaml:50`,
/// `istio.io/rev: {{ $.Values.revision | default "default" }}`). An existing install adopts tags
/// under this name without reinstalling istiod.
pub const DEFAULT_REVISION: &str = "default";

/// The tag namespaces are labelled with unless `stableTag` says otherwise.
pub const DEFAULT_STABLE_TAG: &str = "prod";

/// One istiod of a revision-based control plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// `1-29-6` by default (the version with `-` for `.`), or `default`.
    pub name: String,
    pub release: &'static Release,
    pub pos: Pos,
}

impl Revision {
    /// The istiod chart's `revision` value: empty (`None`) for [`DEFAULT_REVISION`].
    pub fn chart_revision(&self) -> Option<String> {
        (self.name != DEFAULT_REVISION).then(|| self.name.clone())
    }

    /// The istiod chart's resource names: `istiod-<revision>`, or `istiod` for the default
    /// revision (`templates/deployment.yaml`, `service.yaml`); also the Helm release and the
    /// Argo CD Application name.
    pub fn istiod_name(&self) -> String {
        match self.chart_revision() {
            Some(rev) => format!("istiod-{rev}"),
            None => "istiod".into(),
        }
    }
}

/// The default revision name of a version: `1.29.6` → `1-29-6` (revision names are DNS labels).
pub fn revision_name(version: Version) -> String {
    version.to_string().replace('.', "-")
}

/// A revision-based control plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revisions {
    /// As listed (the order of the config); names are unique.
    pub revisions: Vec<Revision>,
    /// Tag → revision name. A tag may name a revision that is not listed (MR141 reports it; such a
    /// tag is not rendered).
    pub tags: BTreeMap<String, String>,
    /// The tag (or, against advice, the revision: MR140) that namespaces and Gateways carry.
    pub stable_tag: String,
}

impl Revisions {
    pub fn get(&self, name: &str) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.name == name)
    }

    /// The revision that serves the stable label: the tag's target, or the revision it names.
    pub fn stable(&self) -> Option<&Revision> {
        self.get(self.tags.get(&self.stable_tag).unwrap_or(&self.stable_tag))
    }

    /// The newest revision's release: the base chart (CRDs) comes from it, because CRDs must be at
    /// least as new as every istiod that reads them.
    pub fn newest(&self) -> &'static Release {
        self.revisions.iter().map(|r| r.release).max_by_key(|r| r.version).unwrap_or_else(|| unreachable!("revisions are never empty"))
    }
}

/// Reads the three keys from the `controlPlane` node. `None` when `revisions` is absent (then
/// `tags` and `stableTag` are errors) or on error.
pub fn read(control_plane: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<Revisions> {
    let node = control_plane?;
    let Value::Map(_) = &node.value else { return None };
    let get = |key: &str| node.get(key).filter(|n| !matches!(n.value, Value::Null));
    let Some(list) = get("revisions") else {
        for key in ["tags", "stableTag"] {
            if let Some(n) = get(key) {
                dec.report(
                    &codes::CONFLICTING_SETTINGS,
                    n.pos,
                    &decode::join(path, key),
                    format!("`{key}` needs `controlPlane.revisions`"),
                    "list the control plane's revisions, e.g. `revisions: [{version: \"1.29.6\"}]`",
                );
            }
        }
        return None;
    };
    let rpath = decode::join(path, "revisions");
    let items = dec.seq(list, &rpath)?;
    if items.is_empty() {
        dec.report(&codes::INVALID_VALUE, list.pos, &rpath, "`revisions` is empty", "list at least one revision, or remove the key");
        return None;
    }
    let mut revisions: Vec<Revision> = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{rpath}[{i}]");
        let Some(f) = dec.map(item, &ipath, Some(&["version", "name"])) else {
            ok = false;
            continue;
        };
        let Some(vnode) = f.get("version") else {
            dec.report(
                &codes::MISSING_SETTING,
                item.pos,
                &ipath,
                "a revision needs a `version`",
                "e.g. `{version: \"1.30.3\"}` (its name defaults to `1-30-3`)",
            );
            ok = false;
            continue;
        };
        let vpath = f.path("version");
        let release = super::version::read_release(vnode, &vpath, "1.30.3", dec);
        let name = match f.get("name") {
            Some(n) => dec.dns_label(n, &f.path("name")),
            None => release.map(|r| revision_name(r.version)),
        };
        let (Some(release), Some(name)) = (release, name) else {
            ok = false;
            continue;
        };
        if let Some(first) = revisions.iter().find(|r| r.name == name) {
            dec.report(
                &codes::INVALID_VALUE,
                item.pos,
                &ipath,
                format!("revision `{name}` is listed twice (first at line {}, column {})", first.pos.line, first.pos.column),
                "give each revision its own `name`",
            );
            ok = false;
            continue;
        }
        revisions.push(Revision { name, release, pos: item.pos });
    }
    let mut tags = BTreeMap::new();
    if let Some(n) = get("tags") {
        let tpath = decode::join(path, "tags");
        if let Some(tf) = dec.map(n, &tpath, None) {
            if let Value::Map(entries) = &tf.node.value {
                for (k, v) in entries {
                    let tag = k.as_scalar().unwrap_or_default().to_string();
                    let kpath = tf.path(&tag);
                    if let Some(problem) = decode::dns_label_problem(&tag) {
                        dec.report(
                            &codes::INVALID_VALUE,
                            k.pos,
                            &kpath,
                            format!("`{tag}` is not a valid tag name: {problem}"),
                            "use lowercase letters, digits and `-`",
                        );
                        ok = false;
                    } else if revisions.iter().any(|r| r.name == tag) {
                        // Also refuses the `default` tag while the unrevisioned istiod is listed: the
                        // tag's extra webhooks serve `istio-injection=enabled` and
                        // `sidecar.istio.io/inject=true` (istio 1.29.6 `revision-tags-mwc.yaml:97-131`),
                        // as that istiod's own injector does, and the injector that runs last
                        // re-injects (`pkg/kube/inject/inject.go:556-577`): two would fight.
                        dec.report(
                            &codes::CONFLICTING_SETTINGS,
                            k.pos,
                            &kpath,
                            format!("tag `{tag}` has the name of a revision"),
                            "a namespace label `istio.io/rev` would be ambiguous: rename the tag",
                        );
                        ok = false;
                    } else if let Some(rev) = dec.dns_label(v, &kpath) {
                        tags.insert(tag, rev);
                    } else {
                        ok = false;
                    }
                }
            }
        } else {
            ok = false;
        }
    }
    let stable_tag = match get("stableTag") {
        Some(n) => dec.dns_label(n, &decode::join(path, "stableTag"))?,
        None => DEFAULT_STABLE_TAG.to_string(),
    };
    if !ok {
        return None;
    }
    if !tags.contains_key(&stable_tag) && !revisions.iter().any(|r| r.name == stable_tag) {
        let pos = get("stableTag").or(get("tags")).unwrap_or(list).pos;
        dec.report(
            &codes::CONFLICTING_SETTINGS,
            pos,
            &decode::join(path, if get("stableTag").is_some() { "stableTag" } else { "tags" }),
            format!("namespaces are labelled with tag `{stable_tag}`, which is not declared"),
            format!("add `tags: {{{stable_tag}: {}}}`, or set `stableTag` to one of the tags", revisions[0].name),
        );
        return None;
    }
    Some(Revisions { revisions, tags, stable_tag })
}
