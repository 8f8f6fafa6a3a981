//! `components.istio.mode` (the data plane) and `components.istio.mtls` (mesh-wide mutual TLS).

use super::codes;
use super::decode::{self, Decoder};
use crate::config::syntax::Node;

/// Mesh-wide mutual TLS mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MtlsMode {
    Strict,
    Permissive,
    Disable,
}

impl MtlsMode {
    /// A PeerAuthentication's mode; `None` for `UNSET` (inherit) and unknown spellings.
    pub fn parse(mode: &str) -> Option<Self> {
        match mode {
            "STRICT" => Some(MtlsMode::Strict),
            "PERMISSIVE" => Some(MtlsMode::Permissive),
            "DISABLE" => Some(MtlsMode::Disable),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Strict => "STRICT",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Disable => "DISABLE",
        }
    }
}

/// `mode`: only the sidecar data plane is supported.
pub(super) fn check_mode(node: Option<&Node>, path: &str, dec: &mut Decoder) {
    let Some(n) = node else { return };
    if dec.one_of(n, path, &["sidecar", "ambient"]) == Some("ambient") {
        dec.report(
            &codes::INVALID_VALUE,
            n.pos,
            path,
            "ambient mode is not supported: Knative is not yet compatible with Istio's ambient data plane",
            "use `mode: sidecar` (the default)",
        );
    }
}

/// `mtls.mode`: STRICT unless the config says otherwise, and then a warning.
pub(super) fn read_mtls(node: Option<&Node>, path: &str, dec: &mut Decoder) -> MtlsMode {
    let Some(n) = node else { return MtlsMode::Strict };
    let mode = dec
        .map(n, path, Some(&["mode"]))
        .and_then(|mf| mf.get("mode").map(|m| (m, dec.one_of(m, &mf.path("mode"), &["STRICT", "PERMISSIVE", "DISABLE"]))));
    let Some((m, Some(value))) = mode else { return MtlsMode::Strict };
    let mode = MtlsMode::parse(value).unwrap_or(MtlsMode::Strict);
    if mode != MtlsMode::Strict {
        dec.report(
            &codes::WEAKENED_MTLS,
            m.pos,
            &decode::join(path, "mode"),
            format!("mTLS is {value}: workloads accept plaintext traffic that no AuthorizationPolicy can attribute to a caller"),
            "use STRICT (the default) once every workload that calls into the mesh has a sidecar",
        );
    }
    mode
}
