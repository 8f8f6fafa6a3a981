//! `check --rendered`: validate objects that mesh-render (or anything else) rendered.

use crate::error::ExitStatus;
use std::io::Read;
use std::path::{Path, PathBuf};

use mesh_render::check::analyzers::{self, Subject};
use mesh_render::check::schema::{Sources, Validator};
use mesh_render::config::syntax::{self, Limits};
use mesh_render::versions::{self, Version};

use crate::args::CheckArgs;
use crate::error::Error;
use crate::report;

/// Rendered output can be far larger than a config.
const LIMITS: Limits = Limits { max_bytes: 64 * 1024 * 1024, max_depth: 128, max_nodes: 5_000_000 };

pub fn check(args: &CheckArgs) -> Result<ExitStatus, Error> {
    let path = args.rendered.clone().unwrap_or_else(|| PathBuf::from("-"));
    // A multi-cluster mesh's tree (`render --out` without `--cluster`): every cluster's tree, then
    // what they must agree on.
    let clusters = path.join(mesh_render::FLEET_CLUSTERS);
    if clusters.is_dir() {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(&clusters).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        let mut failed = false;
        let mut members = Vec::new();
        for dir in &dirs {
            let (status, member) = check_tree(args, dir)?;
            failed |= status != ExitStatus::Success;
            members.extend(member);
        }
        let mut findings = analyzers::fleet::check(&members);
        findings.retain(|f| !args.ignore.contains(&f.code));
        let shown = path.display().to_string();
        failed |= report::findings(&findings, &shown, args.format, args.strict)?;
        note!("{shown}: {} cluster trees; {}", dirs.len(), report::summary(&findings));
        return Ok(if failed { ExitStatus::Failure } else { ExitStatus::Success });
    }
    check_tree(args, &path).map(|(status, _)| status)
}

/// Checks one rendered tree, file or stream; a tree also gives its cluster as a fleet member.
fn check_tree(args: &CheckArgs, path: &Path) -> Result<(ExitStatus, Option<analyzers::fleet::Member>), Error> {
    let path = path.to_path_buf();
    let shown = path.display().to_string();
    let unreadable = |message: String| Error::ConfigUnreadable {
        path: shown.clone(),
        message,
        hint: "pass a rendered tree, a YAML file, or - for stdin".into(),
    };
    let mut inputs: Vec<(String, String)> = Vec::new();
    let mut chart_version = None;
    let mut values = None;
    if shown == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| unreadable(format!("cannot read stdin: {e}")))?;
        inputs.push(("<stdin>".into(), text));
    } else if path.is_dir() {
        let manifests = if path.join("manifests").is_dir() { path.join("manifests") } else { path.clone() };
        let mut files = Vec::new();
        yaml_files(&manifests, &mut files);
        files.sort();
        if files.is_empty() {
            return Err(unreadable("no YAML files found".into()));
        }
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| unreadable(format!("{}: {e}", f.display())))?;
            inputs.push((f.strip_prefix(&path).unwrap_or(&f).display().to_string(), text));
        }
        values = std::fs::read_to_string(path.join("helm/values.yaml")).ok();
        chart_version = std::fs::read_to_string(path.join("helm/Chart.yaml"))
            .ok()
            .and_then(|t| syntax::parse(&t, Limits::DEFAULT).ok())
            .and_then(|n| n.get("appVersion").and_then(|v| v.as_scalar().map(str::to_string)));
    } else {
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(format!("cannot read it: {e}")))?;
        inputs.push((shown.clone(), text));
    }

    let version_text = args.istio_version.clone().or(chart_version).unwrap_or_else(|| versions::DEFAULT_VERSION.to_string());
    let version = Version::parse(&version_text).filter(|v| versions::release(*v).is_some()).ok_or_else(|| {
        unreadable(format!("`{version_text}` is not a supported Istio version (supported: {})", versions::supported_summary()))
    })?;

    let mut objects = Vec::new();
    let mut subjects = Vec::new();
    for (name, text) in &inputs {
        let docs = syntax::parse_documents(text, LIMITS).map_err(|d| Error::ConfigInvalid {
            path: name.clone(),
            diagnostics: d,
            unreadable: true,
        })?;
        for (i, doc) in docs.iter().enumerate() {
            let json = doc.to_json();
            subjects.push(Subject::read(json.clone(), format!("{name}#{i}")));
            objects.push(json);
        }
    }
    if objects.is_empty() {
        return Err(unreadable("it holds no Kubernetes objects".into()));
    }
    let sources = Sources::for_release(version, &args.inference_version);
    let report = Validator::new(sources.clone()).validate(&objects);
    for p in &report.problems {
        note!("{p}");
    }
    note!("validated against {}, {}, {} and {}:", sources.istio, sources.gateway_api, sources.inference, sources.argocd);
    for (kind, c) in &report.counts {
        note!("  {kind}: {} object(s), {} CEL rule(s) evaluated", c.objects, c.cel_rules);
    }
    // The analyzers too, with the tree's Helm values when there are some.
    let values = values.and_then(|t| syntax::parse(&t, Limits::DEFAULT).ok()).map(|n| n.to_json());
    let mut findings = analyzers::run(&analyzers::Input { config: None, facts: None, objects: &subjects, values: values.as_ref() });
    findings.retain(|f| !args.ignore.contains(&f.code));
    let failed = report::findings(&findings, &shown, args.format, args.strict)?;
    // The east-west gateway's values (the `gateway` chart's, with `networkGateway`) when the tree has them.
    let east_west = std::fs::read_dir(path.join("lifecycle"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.lines().any(|l| l.starts_with("networkGateway:"))));
    let label = path.file_name().map_or(shown.clone(), |n| n.to_string_lossy().into_owned());
    let member = values.as_ref().map(|v| analyzers::fleet::member_of_tree(&label, v, &subjects, Some(version), east_west));
    if report.problems.is_empty() && !failed {
        note!("{shown}: {} objects valid", objects.len());
        Ok((ExitStatus::Success, member))
    } else {
        note!("{shown}: {} problem(s); {}", report.problems.len(), report::summary(&findings));
        Ok((ExitStatus::Failure, member))
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}
