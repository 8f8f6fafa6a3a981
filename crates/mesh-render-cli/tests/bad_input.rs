//! The bad-input matrix (CONTRIBUTING.md, "Bad input"): every way a config or an output can be wrong, run
//! through the real binary. Each row pins the exact message (or its first line), exit status 2, an
//! empty stdout, and an output tree left byte for byte as it was, with no staging folder left behind.
//!
//! `cli.rs` covers the rows it already had (out is a file, a closed stdout at the first write); this
//! file adds the rest and the `--out` tree check to every config row.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{repo_root, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_mesh-render");

/// Rows that could hang or blow up if a limit were missing must answer within this time (debug build;
/// they take well under a second).
const PROMPT: Duration = Duration::from_secs(20);

/// Every file below `dir`, with its bytes, and every entry of `dir` itself (staging leftovers show up).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push((p.clone(), Vec::new()));
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "config.yaml") {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A working folder with `config.yaml` holding the bad input and an `out/` tree from an earlier good
/// render, which no failed run may touch.
struct Workdir {
    dir: tempfile::TempDir,
    before: Vec<(PathBuf, Vec<u8>)>,
}

impl Workdir {
    fn new(config: impl AsRef<[u8]>) -> Workdir {
        let dir = tempfile::tempdir().unwrap();
        let good = repo_root().join("config.yaml");
        let o = Command::new(BIN).current_dir(dir.path()).arg("--config").arg(&good).args(["render", "--out", "out"]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        let before = snapshot(dir.path());
        assert!(before.len() > 5, "the out tree is populated: {before:?}");
        Workdir { dir, before }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `mesh-render ARGS` and checks the contract of every refused input: exit 2, nothing on
    /// stdout, the tree untouched. Returns stderr.
    fn refused(&self, args: &[&str]) -> String {
        self.refused_by(Command::new(BIN).args(args))
    }

    fn refused_by(&self, cmd: &mut Command) -> String {
        let start = Instant::now();
        let o = cmd.current_dir(self.path()).stdin(Stdio::null()).output().unwrap();
        assert!(start.elapsed() < PROMPT, "took {:?}", start.elapsed());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(o.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&o.stdout));
        assert_eq!(snapshot(self.path()), self.before, "the out tree changed");
        stderr(&o)
    }
}

/// `render --out out` of `config` is refused with exactly `expected` on stderr.
fn assert_render_refused(config: impl AsRef<[u8]>, expected: &str) {
    let w = Workdir::new(config);
    assert_eq!(w.refused(&["render", "--out", "out"]), expected);
    // The same refusal when the stream goes to stdout.
    assert_eq!(w.refused(&["render"]), expected);
}

/// Like [`assert_render_refused`], for messages too long to spell out: the first line, then the count.
fn assert_render_refused_first_line(config: impl AsRef<[u8]>, first_line: &str, last_line: &str) {
    let w = Workdir::new(config);
    let err = w.refused(&["render", "--out", "out"]);
    assert_eq!(err.lines().next(), Some(first_line), "{err}");
    assert_eq!(err.lines().last(), Some(last_line), "{err}");
}

const ISTIO: &str = "components:\n  istio:\n    enabled: true\n";

#[test]
fn malformed_yaml() {
    assert_render_refused(
        format!("{ISTIO}    mtls: {{mode: STRICT\n"),
        "config.yaml:5:1: error[MR001]: the config is not valid YAML: while parsing a flow mapping, did not find expected ',' or '}'\n  hint: fix the YAML syntax at this position (indentation, an unclosed quote or bracket, a tab)\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
    assert_render_refused(
        "components:\n\tistio: {enabled: true}\n",
        "config.yaml:2:2: error[MR001]: the config is not valid YAML: tabs disallowed within this context (block indentation)\n  hint: fix the YAML syntax at this position (indentation, an unclosed quote or bracket, a tab)\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
    assert_render_refused(
        format!("{ISTIO}    mtls: {{mode: \"STRICT}}\n"),
        "config.yaml:4:18: error[MR001]: the config is not valid YAML: while scanning a quoted scalar, found unexpected end of stream\n  hint: fix the YAML syntax at this position (indentation, an unclosed quote or bracket, a tab)\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
}

#[test]
fn wrong_types() {
    assert_render_refused(
        "components:\n  istio:\n    enabled: \"yes\"\n    controlPlane:\n      replicas: two\n    namespaces:\n      apps: demo\n",
        "config.yaml:3:14: error[MR005]: components.istio.enabled: expected true or false, found the quoted string \"yes\"\n  hint: remove the quotes\n\
         config.yaml:5:17: error[MR005]: components.istio.controlPlane.replicas: expected a whole number, found `two`\n  hint: write a number from 1 to 100\n\
         config.yaml:7:13: error[MR005]: components.istio.namespaces.apps: expected a list, found a scalar\n  hint: write a YAML list (`- item` lines or `[a, b]`)\n\
         config.yaml: 3 errors found; nothing was rendered\n",
    );
}

#[test]
fn unknown_key_with_suggestion() {
    let w = Workdir::new(format!("{ISTIO}    mtsl:\n      mode: STRICT\n"));
    let err = w.refused(&["render", "--out", "out"]);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "config.yaml:4:5: error[MR004]: components.istio.mtsl: unknown key `mtsl`", "{err}");
    // The hint goes on with the list of known keys, which grows with the config.
    assert!(lines[1].starts_with("  hint: did you mean `mtls`? Known keys here: enabled, version, "), "{err}");
    assert_eq!(lines[2..], ["config.yaml: 1 error found; nothing was rendered"], "{err}");
}

#[test]
fn invalid_dns_names_and_label_values() {
    let long = "a".repeat(64);
    assert_render_refused(
        format!(
            "{ISTIO}    namespaces: {{apps: [-bad, ok, {long}, Demo_App]}}\n    gateways: {{external: {{name: Knative_GW}}}}\n    metadata:\n      labels: {{team: \"-x-\", \"bad key!\": v}}\n"
        ),
        &format!(
            "config.yaml:4:25: error[MR006]: components.istio.namespaces.apps[0]: `-bad` is not a valid name: it must start and end with a letter or digit\n  hint: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit\n\
             config.yaml:4:35: error[MR006]: components.istio.namespaces.apps[2]: `{long}` is not a valid name: it is longer than 63 characters\n  hint: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit\n\
             config.yaml:4:101: error[MR006]: components.istio.namespaces.apps[3]: `Demo_App` is not a valid name: only lowercase letters, digits and `-` are allowed\n  hint: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit\n\
             config.yaml:5:33: error[MR006]: components.istio.gateways.external.name: `Knative_GW` is not a valid name: only lowercase letters, digits and `-` are allowed\n  hint: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit\n\
             config.yaml:7:22: error[MR006]: components.istio.metadata.labels.team: `-x-` is not a valid label value: it must start and end with a letter or digit\n  hint: use at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit\n\
             config.yaml:7:29: error[MR006]: components.istio.metadata.labels.bad key!: `bad key!` is not a valid label key: only letters, digits, `-`, `_` and `.` are allowed\n  hint: use an optional DNS prefix and `/`, then at most 63 letters, digits, `-`, `_` or `.`\n\
             config.yaml: 6 errors found; nothing was rendered\n"
        ),
    );
}

#[test]
fn invalid_quantities() {
    assert_render_refused(
        format!("{ISTIO}    controlPlane:\n      resources:\n        requests: {{memory: 500mi, cpu: 1.5.0}}\n        limits: {{cpu: \"2 cores\"}}\n"),
        "config.yaml:6:28: error[MR006]: components.istio.controlPlane.resources.requests.memory: `500mi` is not a Kubernetes quantity\n  hint: did you mean `500Mi`? Suffixes are case-sensitive: m (milli), k, M, G, Ki, Mi, Gi, …\n\
         config.yaml:6:40: error[MR006]: components.istio.controlPlane.resources.requests.cpu: `1.5.0` is not a Kubernetes quantity\n  hint: write a number with an optional suffix, e.g. `500m` (CPU) or `512Mi` (memory)\n\
         config.yaml:7:23: error[MR006]: components.istio.controlPlane.resources.limits.cpu: `2 cores` is not a Kubernetes quantity\n  hint: write a number with an optional suffix, e.g. `500m` (CPU) or `512Mi` (memory)\n\
         config.yaml: 3 errors found; nothing was rendered\n",
    );
}

#[test]
fn invalid_versions() {
    for (written, shown) in [("v1.29.0", "v1.29.0"), ("1.29", "1.29"), ("\"1.29.0-rc.1\"", "1.29.0-rc.1")] {
        assert_render_refused(
            format!("{ISTIO}    version: {written}\n"),
            &format!("config.yaml:4:14: error[MR006]: components.istio.version: `{shown}` is not an Istio version\n  hint: write MAJOR.MINOR.PATCH in quotes, e.g. \"1.29.6\"; supported: 1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1\nconfig.yaml: 1 error found; nothing was rendered\n"),
        );
    }
}

/// 1.29.9 among them (issue 20, version facts: istio.io's 1.29 releases end at 1.29.8).
#[test]
fn versions_outside_the_table() {
    for version in ["1.28.3", "1.29.9", "1.29.10", "1.31.2", "1.32.0"] {
        assert_render_refused(
            format!("{ISTIO}    version: \"{version}\"\n"),
            &format!("config.yaml:4:14: error[MR010]: components.istio.version: Istio {version} is not in mesh-render's version table\n  hint: supported: 1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1\nconfig.yaml: 1 error found; nothing was rendered\n"),
        );
    }
    // In an environment too, even when another environment is rendered.
    assert_render_refused(
        format!("{ISTIO}    environments:\n      prod:\n        version: \"1.28.9\"\n"),
        "config.yaml:6:18: error[MR010]: components.istio.version: Istio 1.28.9 is not in mesh-render's version table\n  hint: supported: 1.29.0 to 1.29.8, 1.30.0 to 1.30.5, 1.31.0 to 1.31.1\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
}

#[test]
fn duplicate_keys() {
    assert_render_refused(
        format!("{ISTIO}    enabled: false\n    mtls: {{mode: STRICT, mode: PERMISSIVE}}\n"),
        "config.yaml:4:5: error[MR002]: duplicate key `enabled` (first defined at line 3, column 5)\n  hint: YAML keeps only one of them; remove or merge the duplicate\n\
         config.yaml:5:26: error[MR002]: duplicate key `mode` (first defined at line 5, column 12)\n  hint: YAML keeps only one of them; remove or merge the duplicate\n\
         config.yaml: 2 errors found; nothing was rendered\n",
    );
    // A duplicate entry of a list that is a set.
    assert_render_refused(
        format!("{ISTIO}    namespaces:\n      apps: [demo, shop, demo]\n"),
        "config.yaml:5:26: error[MR006]: components.istio.namespaces.apps[2]: `demo` is listed twice (first at line 5, column 14)\n  hint: remove the duplicate\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
}

/// Regression: the duplicate-key check searched the mapping linearly, so a mapping of 99,000 keys
/// took about nine minutes to read (debug build). Now it takes well under a second.
#[test]
fn a_mapping_with_99_000_keys_is_read_promptly() {
    let mut text = String::from("cluster:\n");
    for i in 0..99_000 {
        text.push_str(&format!("  k{i:06}: 1\n"));
    }
    text.push_str("  k000000: 2\n");
    assert_render_refused(
        text,
        "config.yaml:99002:3: error[MR002]: duplicate key `k000000` (first defined at line 2, column 3)\n  hint: YAML keeps only one of them; remove or merge the duplicate\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
}

#[test]
fn empty_file() {
    let empty = "config.yaml:1:1: error[MR001]: the config is empty\n  hint: start from `mesh-render example`, which prints a documented config\nconfig.yaml: 1 error found; nothing was rendered\n";
    assert_render_refused("", empty);
    assert_render_refused("# nothing here yet\n\n", empty);
    assert_render_refused(
        "~\n",
        "config.yaml:1:1: error[MR001]: the config holds no settings (the document is null)\n  hint: start from `mesh-render example`, which prints a documented config\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
}

#[test]
fn missing_file() {
    let w = Workdir::new(ISTIO);
    assert_eq!(
        w.refused(&["--config", "nope.yaml", "render", "--out", "out"]),
        "nope.yaml: error: the config file does not exist\n  hint: run mesh-render where config.yaml is, or pass --config PATH; there is no built-in default mesh\n"
    );
}

#[test]
fn directory_as_config() {
    let w = Workdir::new(ISTIO);
    assert_eq!(
        w.refused(&["--config", "out", "render", "--out", "out"]),
        "out: error: this is a directory, not a config file\n  hint: pass the config file itself, e.g. --config DIR/config.yaml\n"
    );
}

#[test]
fn non_utf8_bytes() {
    let w = Workdir::new(b"components:\n  istio:\n    enabled: true\n    namespaces: {apps: [caf\xe9]}\n");
    assert_eq!(
        w.refused(&["render", "--out", "out"]),
        "config.yaml: error: line 4, column 28: the config is not UTF-8 text\n  hint: save the file as UTF-8\n"
    );
    // A UTF-16 file (what some editors save) is refused the same way, not misread.
    let utf16: Vec<u8> = "components: {}\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let w = Workdir::new([&[0xff, 0xfe][..], &utf16].concat());
    assert_eq!(
        w.refused(&["render", "--out", "out"]),
        "config.yaml: error: line 1, column 1: the config is not UTF-8 text\n  hint: save the file as UTF-8\n"
    );
}

#[test]
fn a_50_mb_file() {
    let mut text = String::from(ISTIO);
    let filler = format!("# {}\n", "x".repeat(97));
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(&filler);
    }
    let len = text.len();
    assert_render_refused(
        text,
        &format!("config.yaml: error: the config is {len} bytes, more than the limit of 4194304 bytes\n  hint: a mesh config is a few kilobytes; check that the right file was given\n"),
    );
}

/// Regression: a config with no size in its metadata (a device, a pipe) was read to the end, so
/// `--config /dev/zero` ran until memory ran out. Now reading stops one byte past the limit.
#[test]
fn an_endless_config_is_cut_at_the_limit() {
    let w = Workdir::new(ISTIO);
    let too_large = |path: &str| {
        format!("{path}: error: the config is more than the limit of 4194304 bytes\n  hint: a mesh config is a few kilobytes; check that the right file was given\n")
    };
    assert_eq!(w.refused(&["--config", "/dev/zero", "render", "--out", "out"]), too_large("/dev/zero"));

    // An endless pipe on stdin.
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .current_dir(w.path())
        .args(["--config", "/dev/stdin", "render", "--out", "out"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = "components: {istio: {enabled: true}}\n".repeat(1000);
        // Stops when mesh-render closes the pipe.
        while stdin.write_all(chunk.as_bytes()).is_ok() {}
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(start.elapsed() < PROMPT);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(stderr(&o), too_large("/dev/stdin"));
    assert_eq!(snapshot(w.path()), w.before);
}

#[test]
fn deep_nesting_flow_style() {
    let n = 10_000;
    assert_render_refused(
        "[".repeat(n) + &"]".repeat(n),
        "config.yaml:1:256: error[MR001]: the config is not valid YAML: recursion limit exceeded\n  hint: the config nests far too deep; a mesh config is a few levels deep\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
    assert_render_refused(
        "{a: ".repeat(n) + "1" + &"}".repeat(n),
        "config.yaml:1:1021: error[MR001]: the config is not valid YAML: recursion limit exceeded\n  hint: the config nests far too deep; a mesh config is a few levels deep\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
}

#[test]
fn deep_nesting_block_style() {
    // 10,000 nested block sequences fit on one line.
    assert_render_refused(
        "- ".repeat(10_000) + "x\n",
        "config.yaml:1:129: error[MR003]: the config nests deeper than 64 levels\n  hint: a mesh config is a few levels deep; check that the right file was given\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
    // 10,000 nested block mappings need 50 MB of indentation: the size limit refuses them unread.
    let block = |levels: usize| -> String { (0..levels).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect() };
    let text = block(10_000);
    let len = text.len();
    assert_render_refused(
        text,
        &format!("config.yaml: error: the config is {len} bytes, more than the limit of 4194304 bytes\n  hint: a mesh config is a few kilobytes; check that the right file was given\n"),
    );
    // The deepest block mappings that fit in 4 MiB meet the depth limit.
    let text = block(2_800);
    assert!(text.len() < 4 * 1024 * 1024);
    assert_render_refused(
        text,
        "config.yaml:65:65: error[MR003]: the config nests deeper than 64 levels\n  hint: a mesh config is a few levels deep; check that the right file was given\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
}

#[test]
fn alias_bomb() {
    // Billion laughs: nine levels of nine aliases would expand to 9^9 (387 million) scalars.
    let mut text = String::from("lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*lol{}", i - 1); 9].join(", ");
        text.push_str(&format!("lol{i}: &lol{i} [{refs}]\n"));
    }
    assert_render_refused(
        text,
        "config.yaml:6:21: error[MR003]: the config expands to more than 200000 YAML nodes\n  hint: aliases that refer to aliases multiply (a \"billion laughs\" document); write the values out\nconfig.yaml: 1 error found; nothing was rendered\n",
    );
    // The same bomb hidden inside the section mesh-render reads.
    let mut text = format!("{ISTIO}    metadata:\n      labels:\n        a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..8 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("        a{i}: &a{i} [{refs}]\n"));
    }
    assert_render_refused_first_line(
        text,
        "config.yaml:11:18: error[MR003]: the config expands to more than 200000 YAML nodes",
        "config.yaml: 1 error found; nothing was rendered",
    );
}

/// Tests run as root, and root writes through any permission bits, so `chmod -w` proves nothing.
/// Three places refuse writes even to root: a location in /proc, a path below a regular file, and a
/// file-size limit of 0 (RLIMIT_FSIZE binds root too), which makes the first write of the new tree fail.
#[test]
fn unwritable_out() {
    let w = Workdir::new(std::fs::read(repo_root().join("config.yaml")).unwrap());
    // The playground config has warnings; they come first and are not errors.
    let ends_with_only_error = |err: String, expected: &str| {
        let warnings = err.strip_suffix(expected).unwrap_or_else(|| panic!("expected to end with {expected:?}:\n{err}"));
        assert!(!warnings.contains("error"), "{err}");
    };
    ends_with_only_error(
        w.refused(&["render", "--out", "/proc/mesh-render-out"]),
        "/proc/mesh-render-out: error: cannot write the new tree: No such file or directory (os error 2)\n  hint: the existing tree was left as it was\n",
    );
    assert!(!Path::new("/proc/mesh-render-out").exists());

    ends_with_only_error(
        w.refused(&["render", "--out", "config.yaml/out"]),
        "config.yaml: error: cannot create the parent folder: File exists (os error 17)\n  hint: the existing tree was left as it was\n",
    );

    // The shell ignores SIGXFSZ (an ignored signal stays ignored across exec), so the write fails
    // with EFBIG instead of killing the process.
    ends_with_only_error(
        w.refused_by(Command::new("sh").args(["-c", "trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"", BIN, "render", "--out", "out"])),
        "out: error: cannot write the new tree: File too large (os error 27)\n  hint: the existing tree was left as it was\n",
    );
}

/// `cli.rs` closes stdout before the first write; here a real `head -1` reads one line of a stream far
/// larger than the pipe buffer (about 600 kB) and closes the pipe while mesh-render is still writing.
#[test]
fn closed_pipe_after_the_first_line() {
    let apps: Vec<String> = (0..500).map(|i| format!("app-{i:05}")).collect();
    let dir = tempfile::tempdir().unwrap();
    let config =
        format!("components:\n  istio:\n    enabled: true\n    version: \"1.30.5\"\n    namespaces:\n      apps: [{}]\n", apps.join(", "));
    std::fs::write(dir.path().join("config.yaml"), config).unwrap();
    for (args, first) in [("render", "---"), ("render -o json", "{")] {
        let o = Command::new("bash")
            .current_dir(dir.path())
            .args(["-c", &format!("set -o pipefail; \"$0\" {args} | head -1"), BIN])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args}: {}", stderr(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout), format!("{first}\n"), "{args}");
        assert!(!stderr(&o).contains("error"), "{args}: {}", stderr(&o));
    }
}

/// Regression: warnings and analyzer findings were printed with `eprintln!`, which panics when stderr
/// is a closed pipe (`mesh-render 2>&1 | head -1` once `head` has gone), so the run exited 101 before
/// writing the objects. A closed stderr is now ignored like a closed stdout.
#[test]
fn closed_stderr_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo_root().join("config.yaml"), dir.path().join("config.yaml")).unwrap();
    let expected = Command::new(BIN).current_dir(dir.path()).arg("render").output().unwrap();
    assert_eq!(expected.status.code(), Some(0));
    assert!(stderr(&expected).contains("warning"), "the playground config has warnings to print");

    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(BIN).current_dir(dir.path()).arg("render").stderr(writer).stdout(Stdio::piped()).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, expected.stdout);
}

#[test]
fn closed_stderr_keeps_the_exit_status_of_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (args, code) in [(&["--config", "nope.yaml"][..], 2), (&["check", "--config", "nope.yaml"][..], 2), (&["explain", "MR999"][..], 2)]
    {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = Command::new(BIN).current_dir(dir.path()).args(args).stderr(writer).stdout(Stdio::piped()).output().unwrap();
        assert_eq!(o.status.code(), Some(code), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
