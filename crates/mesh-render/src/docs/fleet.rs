//! The generated page of a multi-cluster mesh (`mesh-render docs --out DIR` of a config with
//! `components.istio.multiCluster`): its clusters, networks, gateways and root of trust, with a
//! diagram, and the calls between clusters as the flow checks judge them.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::config::multi_cluster::EAST_WEST_PORT;
use crate::config::Loaded;

#[derive(Serialize)]
struct ClusterRow {
    name: String,
    network: String,
    version: String,
    context: String,
    server: String,
    api_server: String,
    east_west: String,
    apps: String,
}

#[derive(Serialize)]
struct FleetContext {
    config_file: String,
    environment: Option<String>,
    mesh_id: String,
    networks: Vec<String>,
    east_west_port: u16,
    trust: Option<String>,
    clusters: Vec<ClusterRow>,
    diagram: String,
    flows: String,
    application_set: Option<String>,
}

/// The page (`fleet.md`) for the selected section's mesh; `None` for one cluster. `config_file` is
/// the config as the user named it.
pub fn fleet_page(loaded: &Loaded, config_file: &str) -> Option<String> {
    let section = loaded.selected_section();
    let mc = section.multi_cluster.as_ref()?;
    let fleet = crate::render_fleet(loaded)?;
    let code = |s: &str| format!("`{s}`");
    let clusters: Vec<ClusterRow> = mc
        .clusters
        .iter()
        .zip(&section.clusters)
        .map(|(spec, config)| {
            let ew = config.cluster.as_ref().map(|c| &c.east_west).filter(|ew| ew.enabled);
            ClusterRow {
                name: spec.name.clone(),
                network: spec.network.clone(),
                version: config.release.version.to_string(),
                context: spec.context.clone(),
                server: spec.server.as_deref().map_or("Argo CD's own".to_string(), code),
                api_server: spec.api_server.as_deref().map_or("the context's".to_string(), code),
                east_west: ew.map_or("none".to_string(), |ew| {
                    let ips = if ew.external_ips.is_empty() { String::new() } else { format!(", external IPs {}", ew.external_ips.join(", ")) };
                    format!("`{}` ({}{ips})", ew.name, ew.service_type)
                }),
                apps: if config.apps.is_empty() { "none".into() } else { config.apps.iter().map(|a| code(a)).collect::<Vec<_>>().join(", ") },
            }
        })
        .collect();
    let mut rows = Vec::new();
    for (name, config) in mc.clusters.iter().map(|c| c.name.clone()).zip(&section.clusters) {
        let rendered = &fleet.clusters.iter().find(|(n, _)| *n == name)?.1;
        let all = crate::check::flows::evaluate(config, rendered.manifests.iter().map(|m| &m.object));
        rows.extend(all.into_iter().filter(|r| r.from_cluster.is_some()));
    }
    let flows = if rows.is_empty() {
        "No app namespace is in two clusters, so no call crosses clusters.\n".to_string()
    } else {
        crate::check::flows::to_markdown(&rows)
    };
    let context = FleetContext {
        config_file: config_file.to_string(),
        environment: section.environment.clone(),
        mesh_id: mc.mesh_id.clone(),
        networks: mc.networks().into_iter().map(str::to_string).collect(),
        east_west_port: EAST_WEST_PORT,
        trust: mc.trust.as_ref().map(|t| match &t.root_ca_secret {
            Some(secret) => format!("ClusterIssuer `{}`, reading the Secret `{secret}` you put in `{}` of every cluster", t.issuer.name, t.cert_manager_namespace),
            None => format!("{} `{}`", t.issuer.kind, t.issuer.name),
        }),
        clusters,
        diagram: diagram(loaded),
        flows,
        application_set: fleet.application_set.first().and_then(|m| m.object.metadata().name.clone()),
    };
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let text = env
        .render_str(include_str!("../../templates/docs/fleet.md.j2"), &context)
        .unwrap_or_else(|e| unreachable!("the fleet template renders: {e:#}"));
    Some(super::tidy(&text))
}

/// The Mermaid picture: one box per network holding its clusters (istiod, the east-west gateway,
/// the app namespaces), the root of trust, calls between clusters (through the gateway of the
/// destination's network when it differs), and the remote-secret watches. Ids are the clusters' and
/// networks' positions (`c0`, `n1`): names may hold `-`.
fn diagram(loaded: &Loaded) -> String {
    let section = loaded.selected_section();
    let Some(mc) = &section.multi_cluster else { return String::new() };
    let networks = mc.networks();
    let index = |name: &str| mc.clusters.iter().position(|c| c.name == name).unwrap_or_default();
    let mut out = String::from("flowchart LR\n");
    if let Some(t) = &mc.trust {
        out.push_str(&format!("  root([\"root of trust: {} {}\"])\n", t.issuer.kind, t.issuer.name));
    }
    for (n, net) in networks.iter().enumerate() {
        out.push_str(&format!("  subgraph n{n}[\"network {net}\"]\n"));
        for (i, (spec, config)) in mc.clusters.iter().zip(&section.clusters).enumerate().filter(|(_, (s, _))| s.network == *net) {
            out.push_str(&format!("    subgraph c{i}[\"cluster {} (Istio {})\"]\n", spec.name, config.release.version));
            out.push_str(&format!("      istiod{i}[\"istiod, clusterName {}\"]\n", spec.name));
            if let Some(ew) = config.cluster.as_ref().map(|x| &x.east_west).filter(|ew| ew.enabled) {
                out.push_str(&format!("      ew{i}[\"{} ({}), {EAST_WEST_PORT} AUTO_PASSTHROUGH\"]\n", ew.name, ew.service_type));
            }
            if !config.apps.is_empty() {
                out.push_str(&format!("      apps{i}[\"{}\"]\n", config.apps.join(", ")));
            }
            out.push_str("    end\n");
        }
        out.push_str("  end\n");
    }
    for (i, (spec, config)) in mc.clusters.iter().zip(&section.clusters).enumerate() {
        if mc.trust.is_some() {
            out.push_str(&format!("  root -.->|\"intermediate CA\"| istiod{i}\n"));
        }
        for other in mc.clusters.iter().filter(|o| o.name != spec.name) {
            let j = index(&other.name);
            out.push_str(&format!("  istiod{i} -.->|\"watches (remote secret)\"| istiod{j}\n"));
            if config.apps.is_empty() || !other.summary.apps.iter().any(|a| config.apps.contains(a)) {
                continue;
            }
            if other.network == spec.network {
                out.push_str(&format!("  apps{i} -->|\"mTLS\"| apps{j}\n"));
            } else if other.summary.east_west {
                out.push_str(&format!("  apps{i} -->|\"mTLS to {EAST_WEST_PORT}\"| ew{j}\n"));
            }
        }
        if config.cluster.as_ref().is_some_and(|c| c.east_west.enabled) && !config.apps.is_empty() {
            out.push_str(&format!("  ew{i} -->|\"mTLS passed through by SNI\"| apps{i}\n"));
        }
    }
    out
}
