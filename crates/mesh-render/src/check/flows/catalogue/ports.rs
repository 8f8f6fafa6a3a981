//! The ports and paths the catalogued calls go to, from the upstream sources `catalogue.rs` names,
//! and the namespaces of the callers outside the mesh.

/// queue-proxy's HTTP/1 port, the revision Service's target (serving `pkg/networking/constants.go`,
/// `BackendHTTPPort`).
pub const QUEUE_HTTP1: u16 = 8012;
/// queue-proxy's HTTP/2 (h2c) port (`BackendHTTP2Port`).
pub const QUEUE_H2C: u16 = 8013;
/// queue-proxy's admin port, where the user container's preStop hook asks it to drain
/// (`QueueAdminPort`; `deploy.go`, `userLifecycle`, path `queue.RequestQueueDrainPath`).
pub const QUEUE_ADMIN: u16 = 8022;
/// queue-proxy's autoscaling metrics port (`AutoscalingQueueMetricsPort`).
pub const QUEUE_AUTOSCALING_METRICS: u16 = 9090;
/// queue-proxy's user metrics port (`UserQueueMetricsPort`).
pub const QUEUE_USER_METRICS: u16 = 9091;
/// The drain path of queue-proxy's admin port (serving `pkg/queue/constants.go`, `RequestQueueDrainPath`).
pub const DRAIN_PATH: &str = "/wait-for-drain";
/// Knative's health-check path (`knative.dev/networking/pkg/http` `HealthCheckPath`), which
/// net-gateway-api's prober requests when a probe URL has no path (`pkg/status/status.go`).
pub const HEALTH_PATH: &str = "/healthz";
/// The path of the autoscaler's activator probe as it is sent: `http://%s/%s` with `/healthz`
/// gives `//healthz` (serving knative-v1.23.0 `pkg/reconciler/autoscaling/kpa/scaler.go:131`).
pub const ACTIVATOR_PROBE_PATH: &str = "//healthz";
/// Knative webhooks' container port (`https-webhook`, containerPort 8443, in every webhook Deployment).
pub const WEBHOOK_PORT: u16 = 8443;
/// The eventing data-plane containers' HTTP port (broker ingress/filter, imc-dispatcher:
/// `containerPort: 8080`; their Services map 80 → 8080).
pub const EVENTING_HTTP: u16 = 8080;
/// The port a plain subscriber pod listens on: an example; the rendered policies name no app ports.
pub const SUBSCRIBER_PORT: u16 = 8080;
/// Pilot-agent's status port, which serves the merged Prometheus metrics (`/stats/prometheus`,
/// the `prometheus.io/port` annotation the injector writes).
pub const MERGED_METRICS_PORT: u16 = 15020;
/// Gateway listener port of the Knative Gateways (`crate::render::gateways`).
pub const GATEWAY_HTTP: u16 = 80;
/// Where callers outside the mesh are placed: a namespace without injection.
pub const OUTSIDE_NAMESPACE: &str = "default";
/// The playground's Prometheus namespace (`components.observability.namespace` of its config.yaml;
/// mesh-render does not read that key, so this is the playground's value, not the user's).
pub const PROMETHEUS_NAMESPACE: &str = "observability";
