//! The upgrade notes of every release line, judged for the config (`docs/upgrade-notes.md`).

use serde::Serialize;

use crate::config::Config;
use crate::upgrade::{self, Applicability};

#[derive(Serialize)]
pub(crate) struct NoteGroup {
    heading: String,
    notes: Vec<NoteRow>,
}

#[derive(Serialize)]
struct NoteRow {
    id: &'static str,
    title: &'static str,
    release: String,
    origin: String,
    ambient_or_cni_only: bool,
    summary: &'static str,
    change: &'static str,
    level: &'static str,
    why: String,
}

pub(crate) fn note_groups(config: &Config) -> Vec<NoteGroup> {
    let mut lines: Vec<(u32, u32)> = upgrade::NOTES.iter().map(|n| (n.release.major, n.release.minor)).collect();
    lines.dedup();
    lines
        .into_iter()
        .map(|(major, minor)| NoteGroup {
            heading: format!("Istio {major}.{} → {major}.{minor}", minor - 1),
            notes: upgrade::notes_of_line(major, minor)
                .into_iter()
                .map(|n| {
                    let judged = upgrade::applies(n, config);
                    NoteRow {
                        id: n.id,
                        title: n.title,
                        release: n.release.to_string(),
                        origin: match n.origin {
                            upgrade::Origin::Upstream { file } => format!("upstream `{file}`"),
                            upgrade::Origin::MeshRender => "mesh-render".into(),
                        },
                        ambient_or_cni_only: n.ambient_or_cni_only,
                        summary: n.summary,
                        change: n.change,
                        level: match judged {
                            Applicability::Applies(_) => "applies",
                            Applicability::Check(_) => "check",
                            Applicability::NotApplicable(_) => "does not apply",
                        },
                        why: judged.why().to_string(),
                    }
                })
                .collect(),
        })
        .collect()
}
