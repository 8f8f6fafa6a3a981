//! `components.istio.version`: the Istio release, one of mesh-render's version table.

use super::codes;
use super::decode::Decoder;
use crate::config::syntax::Node;
use crate::versions::{self, Release, Version};

/// The release `version` names (the default one when absent); `None` after an error.
pub(super) fn read_version(node: Option<&Node>, path: &str, dec: &mut Decoder) -> Option<&'static Release> {
    match node {
        None => versions::release(versions::DEFAULT_VERSION),
        Some(n) => read_release(n, path, "1.29.6", dec),
    }
}

/// A release of the version table, written `MAJOR.MINOR.PATCH` (`example` shows one in the hint);
/// `None` after an error.
pub(super) fn read_release(n: &Node, path: &str, example: &str, dec: &mut Decoder) -> Option<&'static Release> {
    match dec.string(n, path).map(|t| (Version::parse(&t), t)) {
        Some((Some(v), _)) => {
            let found = versions::release(v);
            if found.is_none() {
                dec.report(
                    &codes::UNKNOWN_RELEASE,
                    n.pos,
                    path,
                    format!("Istio {v} is not in mesh-render's version table"),
                    format!("supported: {}", versions::supported_summary()),
                );
            }
            found
        }
        Some((None, t)) => {
            dec.report(
                &codes::INVALID_VALUE,
                n.pos,
                path,
                format!("`{t}` is not an Istio version"),
                format!("write MAJOR.MINOR.PATCH in quotes, e.g. \"{example}\"; supported: {}", versions::supported_summary()),
            );
            None
        }
        None => None,
    }
}
