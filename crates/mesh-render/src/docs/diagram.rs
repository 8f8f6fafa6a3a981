//! The architecture diagram of `docs/architecture.md`, as Mermaid.

use crate::config::{Config, MtlsMode};
use crate::render::{ai_serving, gateways, security};

fn k_eventing(config: &Config) -> bool {
    config.knative.as_ref().is_some_and(|k| k.eventing_namespace.is_some())
}

/// The Mermaid flowchart of namespaces, gateways, mTLS and authorization edges. Node ids are
/// letters and digits only; every label is quoted (names are DNS labels, so no quote inside).
pub fn diagram(config: &Config) -> String {
    let mut d = Diagram::default();
    let gw = &config.gateways;
    let strict = config.mtls == MtlsMode::Strict;
    let mtls = |s: &str| if strict { format!("mTLS, {s}") } else { format!("{} mTLS, {s}", config.mtls.as_str()) };

    d.line("flowchart LR");
    d.line("  client([\"External client\"])");
    if config.knative.is_some() {
        d.line("  apiserver([\"kube-apiserver\"])");
    }
    d.line(&format!("  subgraph root[\"{} (root namespace)\"]", config.namespace));
    d.line("    istiod[\"istiod\"]");
    d.line(&format!(
        "    gwext[\"Gateway {}<br/>Service {} ({})\"]",
        gw.external,
        gateways::service_name(&gw.external),
        gw.external_service_type
    ));
    d.line(&format!("    gwlocal[\"Gateway {}<br/>Service {} (ClusterIP)\"]", gw.local, gateways::service_name(&gw.local)));
    if let Some(ai) = config.ai_serving.as_ref().filter(|a| a.gateway.create && a.gateway.namespace == config.namespace) {
        d.line(&format!("    gwai[\"Gateway {}\"]", ai.gateway.name));
    }
    d.line("  end");

    let mut app_nodes = Vec::new();
    if let Some(k) = &config.knative {
        d.line(&format!("  subgraph serving[\"{} (sidecars)\"]", k.serving_namespace));
        d.line("    activator[\"activator\"]");
        for (i, w) in k.webhooks.iter().enumerate().filter(|(_, w)| w.namespace == k.serving_namespace) {
            d.line(&format!("    wh{i}[\"{} :{}\"]", w.name, w.port));
        }
        d.line("  end");
        if let Some(eventing) = &k.eventing_namespace {
            d.line(&format!("  subgraph eventing[\"{eventing} (sidecars)\"]"));
            d.line("    dispatch[\"broker / channel dispatchers\"]");
            for (i, w) in k.webhooks.iter().enumerate().filter(|(_, w)| &w.namespace == eventing) {
                d.line(&format!("    wh{i}[\"{} :{}\"]", w.name, w.port));
            }
            d.line("  end");
        }
    }
    // App namespaces and inference pool namespaces, each once, with what runs there.
    let pools: Vec<_> = config.ai_serving.iter().flat_map(|a| &a.pools).collect();
    let mut extra: Vec<&String> = pools.iter().map(|p| &p.namespace).filter(|ns| !config.apps.contains(ns)).collect();
    extra.sort();
    extra.dedup();
    for (i, ns) in config.apps.iter().chain(extra).enumerate() {
        let is_app = config.apps.contains(ns);
        let label = if is_app { format!("{ns} (sidecars, ALLOW {})", security::APP_POLICY) } else { format!("{ns} (sidecars)") };
        d.line(&format!("  subgraph ns{i}[\"{label}\"]"));
        if is_app {
            d.line(&format!("    app{i}[\"queue-proxy → app\"]"));
            app_nodes.push(format!("app{i}"));
        }
        for (j, pool) in pools.iter().enumerate().filter(|(_, p)| &p.namespace == ns) {
            d.line(&format!("    epp{j}[\"{} :{}\"]", ai_serving::picker_name(pool), ai_serving::EXT_PROC_PORT));
            let ports = pool.target_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
            d.line(&format!("    model{j}[\"pool {} model servers :{ports}\"]", pool.name));
        }
        d.line("  end");
    }
    if let Some(t) = &config.tracing {
        d.line(&format!("  collector[(\"{}:{}\")]", t.service, t.port));
    }
    if config.prometheus {
        d.line("  prometheus([\"Prometheus\"])");
    }

    d.line("  client -->|\"HTTP 80 / TLS 443\"| gwext");
    if config.knative.is_some() {
        d.line(&format!("  gwext -->|\"{}\"| activator", mtls("via activator")));
        d.line(&format!("  gwlocal -->|\"{}\"| activator", mtls("cluster-local")));
    }
    if config.knative.is_some() {
        // Gateway pods carry no `security.istio.io/tlsMode` label, so callers reach them in plaintext.
        d.line("  anypod([\"any pod, in the mesh or not\"])");
        d.line("  anypod -->|\"plaintext HTTP 80, no identity\"| gwlocal");
        if k_eventing(config) {
            d.line("  dispatch -->|\"events to a Knative Service, plaintext HTTP 80\"| gwlocal");
        }
    }
    for (i, _) in config.apps.iter().enumerate() {
        for (node, gateway) in [("gwext", &gw.external), ("gwlocal", &gw.local)] {
            d.line(&format!("  {node} -->|\"{}\"| app{i}", mtls(&format!("ALLOW sa {}", gateways::service_name(gateway)))));
        }
        if let Some(k) = &config.knative {
            // The app policies admit the activator by principal (`render/facts.rs` `knative_callers`).
            d.line(&format!("  activator -->|\"{}\"| app{i}", mtls("ALLOW sa activator :8012,8013")));
            if k.eventing_namespace.is_some() {
                // A subscriber that is a plain Service is called directly, over mTLS, and admitted by
                // the senders' principals; a Knative Service subscriber's address is its cluster-local
                // URL, which goes through the local gateway in plaintext like any cluster-local call.
                d.line(&format!("  dispatch -->|\"{}\"| app{i}", mtls("events to a Service, ALLOW sa of the dispatchers")));
            }
        }
    }
    if strict {
        for (i, w) in config.knative.iter().flat_map(|k| k.webhooks.iter()).enumerate() {
            d.line(&format!("  apiserver -.->|\"{} PERMISSIVE, no mesh identity\"| wh{i}", w.port));
        }
    }
    if let Some(ai) = config.ai_serving.as_ref() {
        let gw_node = if ai.gateway.create && ai.gateway.namespace == config.namespace {
            "gwai"
        } else if ai.gateway.name == gw.external && ai.gateway.namespace == config.namespace {
            "gwext"
        } else {
            ""
        };
        for (i, _) in pools.iter().enumerate() {
            if !gw_node.is_empty() {
                d.line(&format!("  {gw_node} -->|\"ext_proc :{}\"| epp{i}", ai_serving::EXT_PROC_PORT));
                d.line(&format!("  {gw_node} -->|\"InferencePool, ALLOW sa of the gateway\"| model{i}"));
            }
        }
    }
    let sidecars: Vec<String> = app_nodes.iter().cloned().chain(config.knative.iter().map(|_| "activator".to_string())).collect::<Vec<_>>();
    if let Some(first) = sidecars.first() {
        if config.tracing.is_some() {
            d.line(&format!("  {first} -.->|\"spans (OTLP), from every sidecar\"| collector"));
            d.line("  gwext -.->|\"spans (OTLP)\"| collector");
        }
        if config.prometheus {
            d.line(&format!("  prometheus -.->|\"scrapes L7 metrics of every sidecar\"| {first}"));
        }
    }
    d.line("  istiod -.->|\"xDS config, certificates\"| gwext");
    d.text
}

#[derive(Default)]
struct Diagram {
    text: String,
}

impl Diagram {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }
}
