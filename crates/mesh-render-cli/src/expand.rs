//! `render --expand-charts`: a real `helm template` of the rendered wrapper chart, split into one
//! file per object under `expanded/`, so a review sees the istiod Deployment itself change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mesh_render::api::helm::CHART_NAME;
use mesh_render::Config;

use crate::error::Error;

/// Kubernetes version given to `helm template`: the charts' capability checks must not depend on
/// the Helm build.
pub const KUBE_VERSION: &str = "1.34.0";

/// Where the `base` and `istiod` charts come from.
pub struct ChartsSource {
    /// A folder with unpacked `base/` and `istiod/`; `{version}` is replaced by the Istio version.
    /// `None`: `helm dependency build` from the official repository (needs the network).
    pub local: Option<String>,
    pub helm: PathBuf,
}

fn fail(message: impl Into<String>) -> Error {
    Error::Expand { message: message.into() }
}

/// Adds `expanded/…` to `files` (the rendered tree): the wrapper chart's base and istiod releases,
/// and with `east_west` (the east-west gateway's release name, whose values the tree holds in
/// `lifecycle/<name>-values.yaml`) Istio's `gateway` chart under `expanded/<name>/`.
pub fn expand(
    files: &mut BTreeMap<String, String>,
    config: &Config,
    env: Option<&str>,
    source: &ChartsSource,
    east_west: Option<&str>,
) -> Result<(), Error> {
    if let Some(name) = east_west {
        expand_gateway(files, config, name, source)?;
    }
    let work = Work::new()?;
    let chart = work.path.join("chart");
    for (rel, contents) in files.iter().filter(|(p, _)| p.starts_with("helm/")) {
        let path = chart.join(rel.trim_start_matches("helm/"));
        std::fs::create_dir_all(path.parent().unwrap_or(&chart)).map_err(|e| fail(format!("cannot prepare the chart: {e}")))?;
        std::fs::write(&path, contents).map_err(|e| fail(format!("cannot prepare the chart: {e}")))?;
    }
    let version = config.release.version.to_string();
    match &source.local {
        Some(pattern) => {
            // base at the config's release; istiod once per revision version (the wrapper chart's
            // aliased dependencies find each by name and version).
            let mut wanted = vec![("base", version.clone(), "base".to_string())];
            let mut istiod: Vec<String> = mesh_render::plans::istiod_releases(config).into_iter().map(|(_, _, v)| v.to_string()).collect();
            istiod.sort();
            istiod.dedup();
            for v in istiod {
                let dest = if config.revisions.is_some() { format!("istiod-{v}") } else { "istiod".to_string() };
                wanted.push(("istiod", v, dest));
            }
            for (sub, version, dest) in wanted {
                let from = PathBuf::from(pattern.replace("{version}", &version)).join(sub);
                let found = chart_version(&from);
                if found.as_deref() != Some(version.as_str()) {
                    return Err(fail(match found {
                        None => format!("{} is not an unpacked `{sub}` chart", from.display()),
                        Some(v) => format!("{} is the `{sub}` chart {v}, but the config asks for Istio {version}", from.display()),
                    }));
                }
                copy_dir(&from, &chart.join("charts").join(dest)).map_err(|e| fail(format!("cannot copy {}: {e}", from.display())))?;
            }
        }
        None => {
            helm(source, &work, &["dependency".as_ref(), "build".as_ref(), chart.as_os_str()])?;
        }
    }
    let mut args: Vec<std::ffi::OsString> = vec![
        "template".into(),
        CHART_NAME.into(),
        chart.clone().into(),
        "--namespace".into(),
        config.namespace.clone().into(),
        "--kube-version".into(),
        KUBE_VERSION.into(),
    ];
    if let Some(env) = env {
        args.push("-f".into());
        args.push(chart.join(format!("values-{env}.yaml")).into());
    }
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let out = helm(source, &work, &refs)?;
    let expanded = mesh_render::expanded::split(&out, CHART_NAME).map_err(fail)?;
    files.extend(expanded);
    Ok(())
}

/// The `gateway` chart of Istio at the config's version, released as `name` in the root namespace
/// with the tree's `lifecycle/<name>-values.yaml`: what `helm install <name> gateway -f` installs.
/// Helm validates the values against the chart's `values.schema.json` (whose top level refuses
/// unknown keys) before templating, so values the chart does not take fail here.
fn expand_gateway(files: &mut BTreeMap<String, String>, config: &Config, name: &str, source: &ChartsSource) -> Result<(), Error> {
    let values_file = mesh_render::plans::istiod_values_file(name);
    let Some(values) = files.get(&values_file) else {
        return Err(fail(format!("the rendered tree has no {values_file} for the east-west gateway `{name}`")));
    };
    let work = Work::new()?;
    let values_path = work.path.join("values.yaml");
    std::fs::write(&values_path, values).map_err(|e| fail(format!("cannot write the gateway's values: {e}")))?;
    let version = config.release.version.to_string();
    let mut args: Vec<std::ffi::OsString> = vec!["template".into(), name.into()];
    match &source.local {
        Some(pattern) => {
            let from = PathBuf::from(pattern.replace("{version}", &version)).join("gateway");
            let found = chart_version(&from);
            if found.as_deref() != Some(version.as_str()) {
                return Err(fail(match found {
                    None => format!(
                        "{} is not an unpacked `gateway` chart, which the east-west gateway `{name}` is installed from \
                         (Istio's gateway chart {version}); pass --charts a folder that holds it next to base and istiod, \
                         or leave --charts out to fetch it",
                        from.display()
                    ),
                    Some(v) => format!("{} is the `gateway` chart {v}, but the config asks for Istio {version}", from.display()),
                }));
            }
            args.push(from.into());
        }
        None if config.charts.is_oci() => args.push(format!("{}/gateway", config.charts.url).into()),
        None => args.extend(["gateway".into(), "--repo".into(), config.charts.url.clone().into()]),
    }
    if source.local.is_none() {
        args.extend(["--version".into(), version.into()]);
    }
    args.extend([
        "--namespace".into(),
        config.namespace.clone().into(),
        "--kube-version".into(),
        KUBE_VERSION.into(),
        "-f".into(),
        values_path.into(),
    ]);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let out = helm(source, &work, &refs).map_err(|e| match e {
        Error::Expand { message } => fail(format!("the east-west gateway `{name}` ({values_file}): {message}")),
        other => other,
    })?;
    // The chart's templates are `gateway/templates/…`: split names them `expanded/gateway/…`.
    let from = format!("{}/gateway/", mesh_render::expanded::DIR);
    let to = format!("{}/{name}/", mesh_render::expanded::DIR);
    for (path, text) in mesh_render::expanded::split(&out, "gateway").map_err(fail)? {
        let path = match path.strip_prefix(&from) {
            Some(rest) => format!("{to}{rest}"),
            None => path,
        };
        files.insert(path, text);
    }
    Ok(())
}

/// Runs Helm with a private home, so no repository or plugin of the machine changes the output.
fn helm(source: &ChartsSource, work: &Work, args: &[&std::ffi::OsStr]) -> Result<String, Error> {
    let home = work.path.join("home");
    let out = Command::new(&source.helm)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("KUBECONFIG", home.join("kubeconfig"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => fail(format!(
                "`{}` was not found: --expand-charts runs Helm (3.17 or 4.x). Install it, run `make tools` (puts Helm 4 in .cache/tools/helm4/helm), or pass --helm PATH",
                source.helm.display()
            )),
            _ => fail(format!("cannot run {}: {e}", source.helm.display())),
        })?;
    if !out.status.success() {
        return Err(fail(format!(
            "helm {} failed: {}",
            args.first().map(|a| a.to_string_lossy()).unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout).map_err(|_| fail("helm printed output that is not UTF-8"))
}

fn chart_version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("Chart.yaml")).ok()?;
    let node = mesh_render::config::syntax::parse(&text, mesh_render::config::syntax::Limits::DEFAULT).ok()?;
    node.get("version")?.as_scalar().map(str::to_string)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// A scratch folder, removed on drop.
struct Work {
    path: PathBuf,
}

impl Work {
    fn new() -> Result<Self, Error> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let path = base.join(format!("mesh-render-expand-{}-{attempt}", std::process::id()));
            if std::fs::create_dir(&path).is_ok() {
                return Ok(Work { path });
            }
        }
        Err(fail("cannot create a scratch folder in the temporary directory"))
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
