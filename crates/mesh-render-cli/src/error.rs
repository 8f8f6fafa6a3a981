//! Every way a command can fail, with its exit code and its message.

use std::fmt;
use std::path::PathBuf;

use mesh_render::Diagnostic;

/// How a command that ran to its end came out: the process exit status (ruff's `ExitStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, or nothing found.
    Success,
    /// 1: the check found problems, or a `--check` found stale files.
    Failure,
    /// 2: the input cannot be used (reported before this status is returned).
    Error,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// A failed command.
#[derive(Debug)]
pub enum Error {
    /// The config file cannot be read (missing, a directory, not UTF-8, too large).
    ConfigUnreadable { path: String, message: String, hint: String },
    /// The config was read and has problems.
    ConfigInvalid { path: String, diagnostics: Vec<Diagnostic>, unreadable: bool },
    /// Writing the output tree failed; the tree on disk is as it was.
    Output { path: PathBuf, message: String },
    /// A `--check` (`render --check`, `docs --check`): files on disk differ from a fresh render.
    /// `regenerate` is the command that brings them up to date.
    Stale { out: PathBuf, differences: Vec<String>, regenerate: String },
    /// `--expand-charts` could not run Helm or read its output; nothing was written.
    Expand { message: String },
    /// Writing to stdout failed for a reason other than a closed pipe.
    Stdout(std::io::Error),
}

impl Error {
    /// Exit status: 1 for "the check found differences", 2 for every input or output problem.
    pub fn code(&self) -> u8 {
        match self {
            Error::Stale { .. } => 1,
            _ => 2,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConfigUnreadable { path, message, hint } => write!(f, "{path}: error: {message}\n  hint: {hint}"),
            Error::ConfigInvalid { path, diagnostics, .. } => {
                for d in diagnostics {
                    writeln!(f, "{}", d.to_string_in(path))?;
                }
                let n = diagnostics.len();
                write!(f, "{path}: {n} error{} found; nothing was rendered", if n == 1 { "" } else { "s" })
            }
            Error::Output { path, message } => {
                write!(f, "{}: error: {message}\n  hint: the existing tree was left as it was", path.display())
            }
            Error::Stale { out, differences, regenerate } => {
                for d in differences {
                    writeln!(f, "{d}")?;
                }
                write!(
                    f,
                    "{}: {} file(s) differ from a fresh render; run {regenerate} and commit the result",
                    out.display(),
                    differences.len()
                )
            }
            Error::Expand { message } => write!(f, "error: --expand-charts: {message}\n  hint: nothing was written"),
            Error::Stdout(e) => write!(f, "error: cannot write to standard output: {e}"),
        }
    }
}
