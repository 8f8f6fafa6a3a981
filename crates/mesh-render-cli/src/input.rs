//! Reading the config file.

use std::io::{Read, Write};
use std::path::Path;

use mesh_render::config::syntax::Limits;
use mesh_render::{Diagnostic, Loaded};

use crate::args::GlobalArgs;
use crate::error::Error;

/// The config path as the user wrote it (never made absolute: no machine paths in messages).
pub fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Reads and loads the config named by the flags.
pub fn load(global: &GlobalArgs) -> Result<Loaded, Error> {
    load_with_text(global).map(|(_, loaded)| loaded)
}

/// Like [`load`], with the text as read (for commands that print edited copies of it).
pub fn load_with_text(global: &GlobalArgs) -> Result<(String, Loaded), Error> {
    let path = display(&global.config);
    let text = read(&global.config, &path, Limits::DEFAULT)?;
    let loaded = mesh_render::config::load_cluster(&text, global.env.as_deref(), global.cluster.as_deref(), Limits::DEFAULT)
        .map_err(|e| Error::ConfigInvalid { path, diagnostics: e.diagnostics, unreadable: e.unreadable })?;
    Ok((text, loaded))
}

/// An error (MR011) when the config is a multi-cluster mesh and no cluster is selected: `what`
/// prints or plans one cluster.
pub fn require_cluster(global: &GlobalArgs, loaded: &Loaded, what: &str) -> Result<(), Error> {
    match loaded.cluster_required(what) {
        None => Ok(()),
        Some(d) => Err(Error::ConfigInvalid { path: display(&global.config), diagnostics: vec![d], unreadable: false }),
    }
}

fn read(file: &Path, path: &str, limits: Limits) -> Result<String, Error> {
    let unreadable = |message: String, hint: &str| Error::ConfigUnreadable { path: path.to_string(), message, hint: hint.to_string() };
    let meta = std::fs::metadata(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => unreadable(
            "the config file does not exist".into(),
            "run mesh-render where config.yaml is, or pass --config PATH; there is no built-in default mesh",
        ),
        _ => unreadable(format!("cannot read the config file: {e}"), "check the path and its permissions"),
    })?;
    if meta.is_dir() {
        return Err(unreadable(
            "this is a directory, not a config file".into(),
            "pass the config file itself, e.g. --config DIR/config.yaml",
        ));
    }
    if meta.len() > limits.max_bytes as u64 {
        return Err(unreadable(
            format!("the config is {} bytes, more than the limit of {} bytes", meta.len(), limits.max_bytes),
            "a mesh config is a few kilobytes; check that the right file was given",
        ));
    }
    // Read at most one byte past the limit: a device or pipe (`/dev/zero`, `/dev/stdin`) has no
    // size in its metadata and could otherwise be read until memory runs out.
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(limits.max_bytes as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| unreadable(format!("cannot read the config file: {e}"), "check the path and its permissions"))?;
    if bytes.len() > limits.max_bytes {
        return Err(unreadable(
            format!("the config is more than the limit of {} bytes", limits.max_bytes),
            "a mesh config is a few kilobytes; check that the right file was given",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        unreadable(format!("line {line}, column {column}: the config is not UTF-8 text"), "save the file as UTF-8")
    })
}

/// Prints problems (warnings, or findings for people) to stderr, where Argo CD shows them without
/// mixing them into the objects. A closed stderr (`mesh-render 2>&1 | head -1`) is not an error:
/// `eprintln!` would panic (exit 101).
pub fn print_warnings(path: &str, warnings: &[Diagnostic]) {
    let mut stderr = std::io::stderr().lock();
    for w in warnings {
        let _ = writeln!(stderr, "{}", w.to_string_in(path));
    }
}
