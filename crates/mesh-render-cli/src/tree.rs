//! The rendered tree on disk: replaced atomically, or compared with a fresh render.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Replaces `out` with exactly `files`. Everything is written to a sibling folder first and swapped
/// in with renames, so a failure leaves the old tree exactly as it was.
pub fn write(out: &Path, files: &BTreeMap<String, String>) -> Result<(), Error> {
    let fail = |path: &Path, message: String| Error::Output { path: path.to_path_buf(), message };
    if out.exists() && !out.is_dir() {
        return Err(fail(out, "the output path exists and is not a directory".into()));
    }
    let name = out.file_name().ok_or_else(|| fail(out, "the output path has no folder name".into()))?.to_string_lossy().into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| fail(&parent, format!("cannot create the parent folder: {e}")))?;
    let staging = parent.join(format!(".{name}.mesh-render-new"));
    let previous = parent.join(format!(".{name}.mesh-render-old"));
    for leftover in [&staging, &previous] {
        if leftover.exists() {
            fs::remove_dir_all(leftover).map_err(|e| fail(leftover, format!("cannot remove a leftover folder: {e}")))?;
        }
    }
    let staged = stage(&staging, files);
    if let Err(e) = staged {
        let _ = fs::remove_dir_all(&staging);
        return Err(fail(out, format!("cannot write the new tree: {e}")));
    }
    let had_previous = out.exists();
    if had_previous {
        if let Err(e) = fs::rename(out, &previous) {
            let _ = fs::remove_dir_all(&staging);
            return Err(fail(out, format!("cannot replace the output folder: {e}")));
        }
    }
    if let Err(e) = fs::rename(&staging, out) {
        if had_previous {
            let _ = fs::rename(&previous, out);
        }
        let _ = fs::remove_dir_all(&staging);
        return Err(fail(out, format!("cannot move the new tree into place: {e}")));
    }
    if had_previous {
        let _ = fs::remove_dir_all(&previous);
    }
    Ok(())
}

fn stage(staging: &Path, files: &BTreeMap<String, String>) -> std::io::Result<()> {
    fs::create_dir_all(staging)?;
    for (rel, contents) in files {
        let path = staging.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, contents)?;
    }
    Ok(())
}

/// What `helm dependency build` adds next to the wrapper chart: Helm's, not mesh-render's.
fn is_helm_build_output(rel: &str) -> bool {
    rel == "helm/Chart.lock" || rel.starts_with("helm/charts/")
}

/// Lines describing how `out` differs from `files`: changed, missing and unexpected files.
pub fn diff(out: &Path, files: &BTreeMap<String, String>) -> Vec<String> {
    let mut on_disk = BTreeMap::new();
    collect(out, out, &mut on_disk);
    on_disk.retain(|rel, _| !is_helm_build_output(rel));
    let mut lines = Vec::new();
    for (rel, contents) in files {
        match on_disk.get(rel) {
            None => lines.push(format!("missing:   {rel}")),
            Some(bytes) if bytes != contents.as_bytes() => lines.push(format!("differs:   {rel}")),
            Some(_) => {}
        }
    }
    for rel in on_disk.keys().filter(|rel| !files.contains_key(*rel)) {
        lines.push(format!("unexpected: {rel}"));
    }
    lines
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let (Ok(rel), Ok(bytes)) = (path.strip_prefix(root), fs::read(&path)) {
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            out.insert(rel, bytes);
        }
    }
}
