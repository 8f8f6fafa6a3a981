//! The codes of config problems (MR001–MR099), one per family: what [`crate::load`] reports before anything
//! is rendered. The analyzers' codes (MR101 and up) live with their checks; [`crate::check::rules`]
//! lists both. MR100 was the single code of every config problem before these; it is not reused.

use crate::diagnostics::{Rule, Severity};

pub(crate) const YAML_SYNTAX: Rule = Rule {
    code: "MR001",
    name: "yaml-syntax",
    severity: Severity::Error,
    summary: "The config is not one valid YAML document",
    explanation: "The file must be exactly one YAML document holding a mapping: a syntax error, an empty \
        or null document, a second document, an alias to an unknown anchor or a key that is not a plain \
        string stops the read. The position is where the YAML parser stopped.",
};

pub(crate) const DUPLICATE_KEY: Rule = Rule {
    code: "MR002",
    name: "duplicate-key",
    severity: Severity::Error,
    summary: "A mapping holds the same key twice",
    explanation: "YAML parsers disagree on a repeated key (most keep the last one silently, kubectl's \
        rejects it), so a config with one is refused. Merge the two entries.",
};

pub(crate) const INPUT_LIMIT: Rule = Rule {
    code: "MR003",
    name: "input-limit",
    severity: Severity::Error,
    summary: "The config is larger, deeper or expands to more nodes than the limits allow",
    explanation: "The reader has explicit limits on bytes, nesting depth and nodes after alias expansion, \
        so that a hostile file (a \"billion laughs\" of aliases) cannot exhaust memory in CI or in the Argo CD \
        plugin: 4 MiB, 64 levels and 200,000 nodes, far above any real config.",
};

pub(crate) const UNKNOWN_KEY: Rule = Rule {
    code: "MR004",
    name: "unknown-key",
    severity: Severity::Error,
    summary: "A key mesh-render does not know",
    explanation: "Every section accepts a fixed set of keys; a misspelt one would otherwise be ignored and \
        its setting silently lost. The hint names the closest known key.",
};

pub(crate) const WRONG_TYPE: Rule = Rule {
    code: "MR005",
    name: "wrong-type",
    severity: Severity::Error,
    summary: "A value of the wrong type: a list where a mapping is expected, a quoted boolean, …",
    explanation: "Each key has one type. YAML 1.1 spellings such as `yes` or a quoted `\"true\"` are \
        refused rather than guessed, because kubectl and Helm read them differently.",
};

pub(crate) const INVALID_VALUE: Rule = Rule {
    code: "MR006",
    name: "invalid-value",
    severity: Severity::Error,
    summary: "A value of the right type that is not allowed: out of range, not a valid name, label, URL, …",
    explanation: "Values are checked as the cluster will check them (DNS labels, label keys and values, \
        quantities, ports) and against what mesh-render supports (enumerations, check codes, chart \
        repositories), so that a mistake fails here with its position instead of at apply time.",
};

pub(crate) const MISSING_SETTING: Rule = Rule {
    code: "MR007",
    name: "missing-setting",
    severity: Severity::Error,
    summary: "A required section or key is missing",
    explanation: "Some keys have no safe default (`components.istio.enabled`, a pool's `selector`, a \
        revision's `version`, …). `mesh-render example` prints a complete config.",
};

pub(crate) const CONFLICTING_SETTINGS: Rule = Rule {
    code: "MR008",
    name: "conflicting-settings",
    severity: Severity::Error,
    summary: "Two settings that cannot hold together",
    explanation: "Each value is fine alone, but together they describe a mesh that cannot work: a setting \
        the chosen Istio release does not offer, two Gateways with one name, the Inference Extension \
        without the Gateway API, a tag pointing at no revision, … The hint says which one to change.",
};

pub(crate) const UNKNOWN_ENVIRONMENT: Rule = Rule {
    code: "MR009",
    name: "environment",
    severity: Severity::Error,
    summary: "An environment that is not declared, badly named or nested",
    explanation: "`--env NAME` selects one of `components.istio.environments`, each a partial config merged \
        over the base settings. Names are DNS labels, environments cannot nest, and selecting an \
        undeclared one is an error rather than a silent render of the base.",
};

pub(crate) const UNKNOWN_RELEASE: Rule = Rule {
    code: "MR010",
    name: "unknown-release",
    severity: Severity::Error,
    summary: "An Istio version that is not in mesh-render's version table",
    explanation: "Chart values, CRD schemas, Gateway API pins and upgrade notes are per release, read \
        from the upstream tag; a release the table does not hold could not be rendered faithfully. \
        The hint lists the supported releases, as docs/config.md does under `version`.",
};

pub(crate) const UNKNOWN_CLUSTER: Rule = Rule {
    code: "MR011",
    name: "cluster",
    severity: Severity::Error,
    summary: "A cluster that the multi-cluster mesh does not list, or a command that needs one",
    explanation: "In a config with `components.istio.multiCluster`, each cluster is rendered on its own:         `--cluster NAME` (the plugin's `cluster` parameter under Argo CD) selects one of         `multiCluster.clusters` of the selected environment. Commands that print one cluster's objects or         plan need it; `render --out DIR` without it writes every cluster's tree. Selecting a cluster the         config does not list, or one in a single-cluster config, is an error rather than a render of the         wrong settings.",
};

pub(crate) const WEAKENED_MTLS: Rule = Rule {
    code: "MR020",
    name: "weakened-mtls",
    severity: Severity::Warning,
    summary: "mTLS is PERMISSIVE or DISABLE instead of STRICT",
    explanation: "mesh-render is secure by default: STRICT mTLS. PERMISSIVE lets workloads accept plaintext \
        that no AuthorizationPolicy can attribute to a caller; it is meant for a migration, while some \
        callers have no sidecar yet. Ignore MR020 once the choice is deliberate and reviewed.",
};

pub(crate) const INEFFECTIVE_SETTING: Rule = Rule {
    code: "MR021",
    name: "ineffective-setting",
    severity: Severity::Warning,
    summary: "A setting that has no effect with the rest of the config",
    explanation: "The setting is valid but something else overrides it (a fixed replica count under \
        autoscaling, Knative settings with Knative off). Remove it, or change what overrides it.",
};

pub(crate) const MIGRATION_PENDING: Rule = Rule {
    code: "MR022",
    name: "migration-pending",
    severity: Severity::Warning,
    summary: "Envoy Gateway is still installed next to Istio",
    explanation: "During the swap from Envoy Gateway, both controllers run. Once the Istio-backed Knative \
        Gateways report Programmed, set `components.envoyGateway.enabled: false`.",
};

pub(crate) const MESH_COMPATIBILITY_MODE: Rule = Rule {
    code: "MR023",
    name: "mesh-compatibility-mode",
    severity: Severity::Warning,
    summary: "Knative's mesh-compatibility-mode is not `enabled` while mTLS is PERMISSIVE",
    explanation: "With `auto`, the activator and the autoscaler call revision pods by IP first and fall back \
        to the ClusterIP only on errors that look like a mesh: HTTP 502 or 503 (knative-v1.23.0 \
        `IsPotentialMeshErrorResponse`; a bare transport error never falls back). Under STRICT that works \
        because the private Service declares 8012 and 9090 as HTTP, so the caller's sidecar answers the \
        refused pod-IP call with a 503. Under PERMISSIVE the revision's sidecar accepts the plaintext call \
        and its ALLOW policy answers 403, which is no mesh error: the activator never falls back and \
        requests through it fail. mesh-render sets `enabled` under PERMISSIVE unless the config says otherwise.",
};

pub(crate) const IGNORED_ERROR_CHECK: Rule = Rule {
    code: "MR024",
    name: "ignored-error-check",
    severity: Severity::Warning,
    summary: "An error-severity check is ignored",
    explanation: "Error checks guard something that breaks or opens the mesh. Ignoring one lets that problem \
        through to the cluster; the warning names the check so that the choice stays visible in review.",
};

pub(crate) const ASSUMED_GATEWAY_IDENTITY: Rule = Rule {
    code: "MR025",
    name: "assumed-gateway-identity",
    severity: Severity::Warning,
    summary: "The reused inference Gateway's service account is assumed, not known",
    explanation: "With `aiServing.gateway.create: false` and a Gateway that mesh-render does not render, the \
        pool policies admit that Gateway's pods by their principal, `<namespace>/sa/<service account>`. istiod \
        names the service account after the Gateway's annotation `gateway.istio.io/service-account`, else \
        `<name>-<class>` (`<name>` alone for the waypoint and east-west classes; istio 1.29.6 \
        `deploymentcontroller.go:205,231,514,547`), and mesh-render cannot see that Gateway's \
        annotations. It assumes `<name>-istio`; if that is wrong, the gateway's calls to the model servers \
        and the picker are refused. Set `aiServing.gateway.serviceAccount` to state it.",
};

pub(crate) const UNGUARDED_PICKER_PORT: Rule = Rule {
    code: "MR026",
    name: "unguarded-picker-port",
    severity: Severity::Warning,
    summary: "`tls: selfSigned` leaves the picker's ext_proc port open to every pod",
    explanation: "In an injected namespace `endpointPicker.tls: selfSigned` makes the picker serve its own \
        certificate on 9002, and mesh-render excludes that port from the sidecar's inbound capture \
        (`traffic.sidecar.istio.io/excludeInboundPorts`), so that the sidecar does not terminate the \
        gateway's TLS. No AuthorizationPolicy is enforced on an uncaptured port, and the gateway does not \
        verify the picker's certificate nor the picker the gateway's: any pod that reaches the picker's \
        Service can call its ext_proc port. The default there, `tls: mesh`, lets the sidecar terminate \
        mesh mTLS and the `<pool>-epp` policy admit only the inference gateway's principal.",
};

pub(crate) const REMOTE_ARGOCD_DESTINATION: Rule = Rule {
    code: "MR027",
    name: "remote-argocd-destination",
    severity: Severity::Warning,
    summary: "The Argo CD Applications deploy to another cluster than Argo CD's, where the hooks cannot see them",
    explanation: "The hooks run in the destination cluster (`destinationServer`): the mesh Application's \
        PreDelete teardown and each revision's PreDelete gate read the mesh Application \
        (`applications.argoproj.io` in Argo CD's namespace) there, and their Role and RoleBinding live in \
        that namespace. Argo CD's namespace and its Applications exist only in the cluster Argo CD runs in: \
        in a remote destination the Role cannot be created (its namespace is missing, so that sync fails), \
        and the teardown and the gate fail on every run, which blocks the deletion they guard (argo-cd \
        v3.5.1 `controller/hook.go:218-227`, `controller/appcontroller.go:1322-1341`). mesh-render \
        supports the in-cluster destination `https://kubernetes.default.svc` only; for another cluster, \
        run Argo CD in it or use the plans.",
};

pub(crate) const OPEN_LOCAL_GATEWAY: Rule = Rule {
    code: "MR028",
    name: "open-local-gateway",
    severity: Severity::Warning,
    summary: "Pods outside the mesh reach every Knative Service through the local gateway",
    explanation: "A cluster-local call to a Knative Service goes to the local gateway's pods, which have no \
        sidecar, so it arrives in plaintext and the gateway forwards it over mTLS with its own identity, \
        which every app policy admits: STRICT does not keep a pod outside the mesh out. By default \
        mesh-render renders the NetworkPolicy `<local gateway>-mesh-only`, which admits to the gateway's \
        listener only pods with a sidecar in the mesh's namespaces and the external gateway's pods (where \
        the cluster's network plugin enforces NetworkPolicy). `gateways.local.meshOnly: false` drops it, for \
        example when an event source's adapter in a namespace mesh-render does not manage (ApiServerSource, \
        ContainerSource, SinkBinding) delivers to Knative Services; adding that namespace to \
        `namespaces.apps` keeps the policy.",
};

/// Every config rule, by code.
pub(crate) const RULES: &[Rule] = &[
    YAML_SYNTAX,
    DUPLICATE_KEY,
    INPUT_LIMIT,
    UNKNOWN_KEY,
    WRONG_TYPE,
    INVALID_VALUE,
    MISSING_SETTING,
    CONFLICTING_SETTINGS,
    UNKNOWN_ENVIRONMENT,
    UNKNOWN_RELEASE,
    UNKNOWN_CLUSTER,
    WEAKENED_MTLS,
    INEFFECTIVE_SETTING,
    MIGRATION_PENDING,
    MESH_COMPATIBILITY_MODE,
    IGNORED_ERROR_CHECK,
    ASSUMED_GATEWAY_IDENTITY,
    UNGUARDED_PICKER_PORT,
    REMOTE_ARGOCD_DESTINATION,
    OPEN_LOCAL_GATEWAY,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syntax::Limits;

    /// MR003's explanation states the reader's limits: it must say the ones `load` applies.
    #[test]
    fn input_limit_explanation_states_the_default_limits() {
        let l = Limits::DEFAULT;
        for fact in [format!("{} MiB", l.max_bytes / (1024 * 1024)), format!("{} levels", l.max_depth), "200,000 nodes".to_string()] {
            assert!(INPUT_LIMIT.explanation.contains(&fact), "{fact}");
        }
        assert_eq!(l.max_nodes, 200_000);
    }
}
