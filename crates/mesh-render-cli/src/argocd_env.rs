//! The environment selection when Argo CD's repo-server runs mesh-render as a config management
//! plugin (`argocd/plugin.yaml`).
//!
//! Only under Argo CD (`ARGOCD_APP_NAME` is set, as the CMP server always sets it) are these read,
//! first match wins:
//!
//! 1. `--env NAME` on the command line;
//! 2. the `env` parameter in `ARGOCD_APP_PARAMETERS` (JSON: `[{"name": "env", "string": "prod"}]`);
//! 3. `PARAM_ENV` (the same parameter as Argo CD also passes it);
//! 4. `ARGOCD_ENV_MESH_ENV` (`spec.source.plugin.env: [{name: MESH_ENV, value: prod}]`);
//! 5. the default the plugin announces, which Argo CD does not send: empty, the base settings.
//!
//! The cluster of a multi-cluster mesh comes the same way: `--cluster`, the `cluster` parameter,
//! `PARAM_CLUSTER`, `ARGOCD_ENV_MESH_CLUSTER`; and the part of its render (`render --part`) from
//! the `part` parameter or `PARAM_PART`.
//!
//! `KUBE_VERSION` (the destination cluster's version) only selects a warning on stderr when the
//! Istio release does not support that Kubernetes version; it never reaches the output.

use mesh_render::api::argocd::{
    CLUSTER_PARAMETER, CLUSTER_VARIABLE, ENV_DEFAULT, ENV_PARAMETER, ENV_VARIABLE, GATE_ARGOCD_NAMESPACE_PARAMETER,
    GATE_HOOK_IMAGE_PARAMETER, GATE_NAMESPACE_PARAMETER, GATE_PARAMETER, PART_PARAMETER,
};

use crate::args::Part;

use crate::args::GlobalArgs;
use crate::error::Error;

/// The string value of parameter `name` in `ARGOCD_APP_PARAMETERS` (JSON:
/// `[{"name": "env", "string": "prod"}]`), if that variable lists it.
fn parameter(lookup: &dyn Fn(&str) -> Option<String>, name: &str, what: &str) -> Result<Option<String>, Error> {
    let Some(json) = lookup("ARGOCD_APP_PARAMETERS").filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    let bad = |message: String| Error::ConfigUnreadable {
        path: "ARGOCD_APP_PARAMETERS".into(),
        message,
        hint: format!("the plugin's `{name}` parameter takes one string, {what}"),
    };
    let params: serde_json::Value = serde_json::from_str(&json).map_err(|e| bad(format!("not JSON: {e}")))?;
    let list = params.as_array().ok_or_else(|| bad("expected a JSON list of parameters".into()))?;
    match list.iter().find(|p| p["name"] == name) {
        Some(p) => {
            let value = p["string"].as_str().ok_or_else(|| bad(format!("parameter `{name}` must be a string")))?;
            Ok(Some(value.to_string()))
        }
        None => Ok(None),
    }
}

/// Where the selection came from, for the log line on stderr.
fn select(lookup: &dyn Fn(&str) -> Option<String>) -> Result<(Option<String>, &'static str), Error> {
    if let Some(value) = parameter(lookup, ENV_PARAMETER, "the environment's name")? {
        return Ok((Some(value), "ARGOCD_APP_PARAMETERS"));
    }
    let param = format!("PARAM_{}", ENV_PARAMETER.to_ascii_uppercase());
    if let Some(v) = lookup(&param) {
        return Ok((Some(v), "PARAM_ENV"));
    }
    if let Some(v) = lookup(ENV_VARIABLE) {
        return Ok((Some(v), "ARGOCD_ENV_MESH_ENV"));
    }
    Ok((Some(ENV_DEFAULT.to_string()), "the plugin's default"))
}

/// The `revisionGate` parameter of the plugin source (a revision's Argo CD Application asks for its
/// PreDelete gate with it), from `ARGOCD_APP_PARAMETERS` or `PARAM_REVISIONGATE`; only under Argo CD.
pub fn revision_gate() -> Result<Option<String>, Error> {
    revision_gate_with(&|name| std::env::var(name).ok())
}

pub fn revision_gate_with(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, Error> {
    if lookup("ARGOCD_APP_NAME").filter(|v| !v.is_empty()).is_none() {
        return Ok(None);
    }
    param_or_variable(lookup, GATE_PARAMETER, "an istiod revision's name")
}

/// Parameter `name` from `ARGOCD_APP_PARAMETERS`, else `PARAM_<NAME>`; empty counts as absent.
fn param_or_variable(lookup: &dyn Fn(&str) -> Option<String>, name: &str, what: &str) -> Result<Option<String>, Error> {
    let value = match parameter(lookup, name, what)? {
        Some(v) => Some(v),
        None => lookup(&format!("PARAM_{}", name.to_ascii_uppercase())),
    };
    Ok(value.filter(|v| !v.is_empty()))
}

/// The gate's settings the revision's Application carries next to `revisionGate` (`gateNamespace`,
/// `gateArgocdNamespace`, `gateHookImage`): `None` when it carries none (an Application rendered
/// before they existed: the gate then comes from today's config), an error when only some.
pub fn gate_settings() -> Result<Option<mesh_render::GateSettings>, Error> {
    gate_settings_with(&|name| std::env::var(name).ok())
}

pub fn gate_settings_with(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<mesh_render::GateSettings>, Error> {
    if lookup("ARGOCD_APP_NAME").filter(|v| !v.is_empty()).is_none() {
        return Ok(None);
    }
    let namespace = param_or_variable(lookup, GATE_NAMESPACE_PARAMETER, "the root namespace")?;
    let argocd_namespace = param_or_variable(lookup, GATE_ARGOCD_NAMESPACE_PARAMETER, "Argo CD's namespace")?;
    let hook_image = param_or_variable(lookup, GATE_HOOK_IMAGE_PARAMETER, "the hook image")?;
    match (namespace, argocd_namespace, hook_image) {
        (Some(namespace), Some(argocd_namespace), Some(hook_image)) => {
            let cluster = param_or_variable(lookup, CLUSTER_PARAMETER, "a cluster's name")?;
            Ok(Some(mesh_render::GateSettings { namespace, argocd_namespace, hook_image, cluster }))
        }
        (None, None, None) => Ok(None),
        _ => Err(Error::ConfigUnreadable {
            path: "ARGOCD_APP_PARAMETERS".into(),
            message: format!(
                "the gate needs all of `{GATE_NAMESPACE_PARAMETER}`, `{GATE_ARGOCD_NAMESPACE_PARAMETER}` and `{GATE_HOOK_IMAGE_PARAMETER}`, or none"
            ),
            hint: "render the revision's Application again (`mesh-render render --out …`) and apply it".into(),
        }),
    }
}

/// Whether the CMP server runs mesh-render (it always sets `ARGOCD_APP_NAME`).
pub fn under_argocd() -> bool {
    std::env::var("ARGOCD_APP_NAME").is_ok_and(|v| !v.is_empty())
}

/// The `part` parameter (`trust`, `mesh`, `applications` or `eastwest-gate`), only under Argo CD.
pub fn part() -> Result<Option<Part>, Error> {
    part_with(&|name| std::env::var(name).ok())
}

pub fn part_with(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<Part>, Error> {
    if lookup("ARGOCD_APP_NAME").filter(|v| !v.is_empty()).is_none() {
        return Ok(None);
    }
    match param_or_variable(lookup, PART_PARAMETER, "`trust`, `mesh`, `applications` or `eastwest-gate`")?.as_deref() {
        None => Ok(None),
        Some("trust") => Ok(Some(Part::Trust)),
        Some("mesh") => Ok(Some(Part::Mesh)),
        Some("applications") => Ok(Some(Part::Applications)),
        Some("eastwest-gate") => Ok(Some(Part::EastWestGate)),
        Some(other) => Err(Error::ConfigUnreadable {
            path: "ARGOCD_APP_PARAMETERS".into(),
            message: format!("`{other}` is not a part of a render"),
            hint: "the plugin's `part` parameter takes `trust`, `mesh`, `applications` or `eastwest-gate`".into(),
        }),
    }
}

/// Fills `global.env` from Argo CD's variables when running under Argo CD and no `--env` was given.
pub fn apply(global: &mut GlobalArgs) -> Result<(), Error> {
    apply_with(global, &|name| std::env::var(name).ok())
}

pub fn apply_with(global: &mut GlobalArgs, lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
    let Some(app) = lookup("ARGOCD_APP_NAME").filter(|v| !v.is_empty()) else { return Ok(()) };
    let source = if global.env.is_some() {
        "--env"
    } else {
        let (env, source) = select(lookup)?;
        global.env = env.filter(|e| !e.is_empty());
        source
    };
    if global.cluster.is_none() {
        global.cluster = param_or_variable(lookup, CLUSTER_PARAMETER, "a cluster's name")?
            .or_else(|| lookup(CLUSTER_VARIABLE).filter(|v| !v.is_empty()));
    }
    let shown = global.env.as_deref().map_or("the base settings".to_string(), |e| format!("environment `{e}`"));
    let cluster = global.cluster.as_deref().map(|c| format!(" of cluster `{c}`")).unwrap_or_default();
    note!("mesh-render: Argo CD Application {app}: rendering {shown}{cluster} (from {source})");
    if let Some(kube) = lookup("KUBE_VERSION").filter(|v| !v.is_empty()) {
        warn_on_unsupported_kubernetes(global, &kube);
    }
    Ok(())
}

/// `KUBE_VERSION` looks like `1.34` or `v1.34.1+k3s1`.
fn warn_on_unsupported_kubernetes(global: &GlobalArgs, kube: &str) {
    let mut parts = kube.trim_start_matches('v').split(['.', '+', '-']);
    let (Some(Ok(major)), Some(Ok(minor))) = (parts.next().map(str::parse::<u32>), parts.next().map(str::parse::<u32>)) else {
        return;
    };
    // A broken config is reported by the command itself.
    let Ok(loaded) = crate::input::load(global) else { return };
    let release = loaded.selected().release;
    let ((lo_major, lo_minor), (hi_major, hi_minor)) = release.kubernetes;
    if (major, minor) < (lo_major, lo_minor) || (major, minor) > (hi_major, hi_minor) {
        note!(
            "mesh-render: warning: the destination runs Kubernetes {major}.{minor}; Istio {} supports {lo_major}.{lo_minor} to {hi_major}.{hi_minor}",
            release.version
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env_for(vars: &[(&str, &str)], flag: Option<&str>) -> Result<Option<String>, String> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut global = GlobalArgs { config: "does-not-exist.yaml".into(), env: flag.map(str::to_string), cluster: None };
        apply_with(&mut global, &|name| vars.get(name).cloned()).map_err(|e| e.to_string())?;
        Ok(global.env)
    }

    #[test]
    fn precedence_flag_parameters_param_env_default() {
        let all = [
            ("ARGOCD_APP_NAME", "mesh"),
            ("ARGOCD_APP_PARAMETERS", r#"[{"name":"other","string":"x"},{"name":"env","string":"from-json"}]"#),
            ("PARAM_ENV", "from-param"),
            ("ARGOCD_ENV_MESH_ENV", "from-env"),
        ];
        assert_eq!(env_for(&all, Some("flag")), Ok(Some("flag".into())));
        assert_eq!(env_for(&all, None), Ok(Some("from-json".into())));
        assert_eq!(env_for(&[all[0], all[2], all[3]], None), Ok(Some("from-param".into())));
        assert_eq!(env_for(&[all[0], all[3]], None), Ok(Some("from-env".into())));
        assert_eq!(env_for(&[all[0]], None), Ok(None), "the announced default: the base settings");
        assert_eq!(env_for(&[all[0], ("ARGOCD_APP_PARAMETERS", r#"[{"name":"env","string":""}]"#), all[2]], None), Ok(None));
    }

    /// The gate's settings: all three from the parameters (or `PARAM_*`), none, or an error.
    #[test]
    fn gate_settings_are_all_three_or_none() {
        let settings = |vars: &[(&str, &str)]| {
            let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            gate_settings_with(&|name| vars.get(name).cloned()).map_err(|e| e.to_string())
        };
        let app = ("ARGOCD_APP_NAME", "istiod");
        let all = r#"[{"name":"gateNamespace","string":"mesh-a"},{"name":"gateArgocdNamespace","string":"gitops"},{"name":"gateHookImage","string":"m/k:1"}]"#;
        let want = mesh_render::GateSettings {
            namespace: "mesh-a".into(),
            argocd_namespace: "gitops".into(),
            hook_image: "m/k:1".into(),
            cluster: None,
        };
        assert_eq!(settings(&[app, ("ARGOCD_APP_PARAMETERS", all)]), Ok(Some(want.clone())));
        assert_eq!(
            settings(&[app, ("PARAM_GATENAMESPACE", "mesh-a"), ("PARAM_GATEARGOCDNAMESPACE", "gitops"), ("PARAM_GATEHOOKIMAGE", "m/k:1")]),
            Ok(Some(want))
        );
        assert_eq!(settings(&[app, ("ARGOCD_APP_PARAMETERS", r#"[{"name":"revisionGate","string":"default"}]"#)]), Ok(None));
        assert_eq!(settings(&[("ARGOCD_APP_PARAMETERS", all)]), Ok(None), "outside Argo CD");
        let partial = settings(&[app, ("PARAM_GATENAMESPACE", "mesh-a")]).unwrap_err();
        assert!(partial.contains("or none"), "{partial}");
    }

    /// The cluster comes from `--cluster`, the `cluster` parameter, `PARAM_CLUSTER` or
    /// `ARGOCD_ENV_MESH_CLUSTER`, in that order; the part from the `part` parameter.
    #[test]
    fn the_cluster_and_the_part_come_from_the_parameters() {
        let cluster_for = |vars: &[(&str, &str)], flag: Option<&str>| {
            let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let mut global = GlobalArgs { config: "does-not-exist.yaml".into(), env: None, cluster: flag.map(str::to_string) };
            apply_with(&mut global, &|name| vars.get(name).cloned()).map_err(|e| e.to_string())?;
            Ok::<_, String>(global.cluster)
        };
        let app = ("ARGOCD_APP_NAME", "istio-east");
        let json = ("ARGOCD_APP_PARAMETERS", r#"[{"name":"cluster","string":"east"},{"name":"part","string":"trust"}]"#);
        assert_eq!(cluster_for(&[app, json, ("PARAM_CLUSTER", "west")], None), Ok(Some("east".into())));
        assert_eq!(cluster_for(&[app, json], Some("flag")), Ok(Some("flag".into())));
        assert_eq!(cluster_for(&[app, ("PARAM_CLUSTER", "west"), ("ARGOCD_ENV_MESH_CLUSTER", "gpu")], None), Ok(Some("west".into())));
        assert_eq!(cluster_for(&[app, ("ARGOCD_ENV_MESH_CLUSTER", "gpu")], None), Ok(Some("gpu".into())));
        assert_eq!(cluster_for(&[("PARAM_CLUSTER", "west")], None), Ok(None), "outside Argo CD");
        let part = |vars: &[(&str, &str)]| {
            let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            part_with(&|name| vars.get(name).cloned()).map_err(|e| e.to_string())
        };
        assert_eq!(part(&[app, json]), Ok(Some(Part::Trust)));
        assert_eq!(part(&[app, ("PARAM_PART", "applications")]), Ok(Some(Part::Applications)));
        assert_eq!(part(&[json]), Ok(None), "outside Argo CD");
        assert!(part(&[app, ("PARAM_PART", "all")]).unwrap_err().contains("`all` is not a part"));
    }

    #[test]
    fn outside_argo_cd_nothing_is_read() {
        assert_eq!(env_for(&[("PARAM_ENV", "x"), ("ARGOCD_ENV_MESH_ENV", "y")], None), Ok(None));
    }

    #[test]
    fn malformed_parameters_are_errors() {
        let app = ("ARGOCD_APP_NAME", "mesh");
        for bad in ["{", r#"{"name":"env"}"#, r#"[{"name":"env","array":["a"]}]"#] {
            let e = env_for(&[app, ("ARGOCD_APP_PARAMETERS", bad)], None).unwrap_err();
            assert!(e.starts_with("ARGOCD_APP_PARAMETERS: error: "), "{e}");
        }
    }
}
