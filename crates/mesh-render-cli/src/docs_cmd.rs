//! `mesh-render docs --out docs [--check-codes docs/check-codes.md]`: writes the generated docs (the
//! library renders them) and the check-code table of that page, each file replaced atomically; `--check`
//! compares instead.

use crate::error::ExitStatus;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::Error;

#[derive(Args, Debug)]
pub struct DocsArgs {
    /// Folder to write `architecture.md`, `ai-serving.md` and `upgrade-notes.md` into (for a
    /// multi-cluster mesh without `--cluster`: `fleet.md`).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also regenerate the check-code table between the `check-codes` markers of this Markdown page.
    #[arg(long, value_name = "PATH")]
    pub check_codes: Option<PathBuf>,
    /// Write nothing; exit 1 if a file is missing or differs from a fresh render.
    #[arg(long)]
    pub check: bool,
}

pub fn run(global: &GlobalArgs, args: &DocsArgs) -> Result<ExitStatus, Error> {
    let loaded = crate::input::load(global)?;
    crate::input::print_warnings(&crate::input::display(&global.config), &loaded.warnings);
    // A multi-cluster mesh without `--cluster`: its page (`fleet.md`); a cluster's docs with it.
    let mut files: Vec<(PathBuf, String)> = match mesh_render::docs::fleet_page(&loaded, &crate::input::display(&global.config)) {
        Some(page) if loaded.cluster().is_none() => vec![(args.out.join("fleet.md"), page)],
        _ => mesh_render::docs::docs(&loaded).into_iter().map(|(name, text)| (args.out.join(name), text)).collect(),
    };
    if let Some(page) = &args.check_codes {
        let text = std::fs::read_to_string(page).map_err(|e| output_error(page, format!("cannot read the page: {e}")))?;
        let updated = mesh_render::docs::with_check_codes_table(&text).ok_or_else(|| {
            output_error(
                page,
                format!(
                    "no `{}` … `{}` markers to put the check codes between",
                    mesh_render::docs::CHECK_CODES_START,
                    mesh_render::docs::CHECK_CODES_END
                ),
            )
        })?;
        files.push((page.clone(), updated));
    }
    if args.check {
        let differences: Vec<String> = files
            .iter()
            .filter(|(path, text)| std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()))
            .map(|(path, _)| format!("differs:   {}", path.display()))
            .collect();
        if differences.is_empty() {
            note!("{}: up to date", args.out.display());
            return Ok(ExitStatus::Success);
        }
        return Err(Error::Stale { out: args.out.clone(), differences, regenerate: "`make docs`".into() });
    }
    std::fs::create_dir_all(&args.out).map_err(|e| output_error(&args.out, format!("cannot create the folder: {e}")))?;
    for (path, text) in &files {
        write_atomically(path, text)?;
    }
    note!("{}: wrote {} files", args.out.display(), files.len());
    Ok(ExitStatus::Success)
}

fn output_error(path: &Path, message: String) -> Error {
    Error::Output { path: path.to_path_buf(), message }
}

/// Writes a sibling temporary file, then renames it over `path`: a reader never sees half a file.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.mesh-render-new"));
    std::fs::write(&temp, text).map_err(|e| output_error(path, format!("cannot write: {e}")))?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        output_error(path, format!("cannot move the new file into place: {e}"))
    })
}
