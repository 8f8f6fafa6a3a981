//! The Helm binaries the chart tests run: found where `make tools` puts them, each of its major.

mod support;

use std::ffi::OsString;

use support::helm::{locate_helm, Helm};

#[test]
fn a_missing_helm_fails_and_says_to_run_make_tools() {
    let dir = tempfile::tempdir().unwrap();
    let e = locate_helm(4, None, dir.path()).unwrap_err();
    assert!(e.starts_with("Helm 4 not found at ") && e.contains("Run `make tools`"), "{e}");
    let e = locate_helm(3, Some(dir.path().join("no-helm").into_os_string()), dir.path()).unwrap_err();
    assert!(e.contains("($MESH_RENDER_HELM3)") && e.contains("Run `make tools`"), "{e}");
    // An empty variable means unset.
    let e = locate_helm(3, Some(OsString::new()), dir.path()).unwrap_err();
    assert!(e.contains(".cache/tools/helm3/helm"), "{e}");
}

#[test]
#[ignore = "needs Helm: run by `make test` (`make tools` installs it)"]
fn the_helm_binaries_are_the_expected_majors() {
    for major in [4, 3] {
        let helm = Helm::new(major);
        assert!(helm.version().starts_with(&format!("v{major}.")));
    }
}
