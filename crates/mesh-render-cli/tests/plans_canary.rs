//! The canary steps of `upgrade --canary`, committed one after the other and applied with `plan apply`
//! against fake `kubectl` and `helm` (`support/bench.rs`).

mod support;

use std::process::Output;

use support::bench::{Bench, HEALTHY};
use support::playground;

impl Bench {
    /// Replaces the config and renders it again (a commit, then `render --out`).
    fn commit(&self, config: &str) {
        std::fs::write(self.path().join("config.yaml"), config).unwrap();
        let o = self.mesh_render(&["render", "--out", "deployment/rendered"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// `plan apply` of the committed config, run against a healthy cluster where `installed` are
    /// the istiod Helm releases and `pods_on` names a revision that still has pods; the calls made.
    fn apply_step(&self, installed: &str, pods_on: Option<&str>) -> (Output, Vec<String>) {
        let plan = self.plan("apply", None);
        let mut responses = format!("{HEALTHY}helm list --namespace istio-system --short\t{installed}\n");
        if let Some(rev) = pods_on {
            // What `kubectl get pods --all-namespaces` prints through the plan's jsonpath for a pod whose
            // injector wrote `istio.io/rev: <rev>` (an annotation: `files/injection-template.yaml:40-41`).
            responses.push_str(&format!("get pods --all-namespaces\tdemo/app-1|Running|{rev}\n"));
        }
        self.run_plan_with(&plan, None, &responses)
    }
}

fn helm_calls(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.starts_with("helm ") || c.starts_with("kubectl get pods --all-namespaces"))
        .map(|c| {
            // `helm upgrade --install NAME CHART --repo … --version V …` → `install NAME V`.
            let w: Vec<&str> = c.split_whitespace().collect();
            match w[1] {
                "upgrade" => format!("install {} {}", w[3], w[w.iter().position(|a| *a == "--version").unwrap() + 1]),
                "uninstall" => format!("uninstall {}", w[2]),
                "list" => "list".into(),
                _ => "pods".into(),
            }
        })
        .collect()
}

/// The configs `upgrade --to 1.30.3 --canary` prints for the playground, committed one after the
/// other and applied with `plan apply`, then rolled back one commit at a time: the exact Helm
/// releases, versions and order of each step (the config's order: no release owns a tag), the
/// workloads restarted after the tag's webhook moved, and the old revision removed only once no pod
/// runs on it.
#[test]
fn canary_steps_walk_forward_and_roll_back_with_exact_helm_order() {
    let bench = Bench::new(&playground(), None);
    let o = bench.mesh_render(&["upgrade", "--to", "1.30.3", "--canary", "--write-steps", "steps"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<String> =
        std::fs::read_dir(bench.path().join("steps")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["step-1-one-revision.yaml", "step-2-side-by-side.yaml", "step-3-tag-moved.yaml", "step-4-old-removed.yaml"]);
    let step = |n: usize| std::fs::read_to_string(bench.path().join("steps").join(&names[n - 1])).unwrap();
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    let forward: [(usize, &str, Vec<String>); 4] = [
        (1, "istiod", v(&["install istio-base 1.29.6", "install istiod 1.29.6", "list"])),
        (2, "istiod", v(&["install istio-base 1.30.3", "install istiod 1.29.6", "install istiod-1-30-3 1.30.3", "list"])),
        (3, "istiod istiod-1-30-3", v(&["install istio-base 1.30.3", "install istiod 1.29.6", "install istiod-1-30-3 1.30.3", "list"])),
        (4, "istiod istiod-1-30-3", v(&["install istio-base 1.30.3", "install istiod-1-30-3 1.30.3", "list", "pods", "uninstall istiod"])),
    ];
    for (n, installed, expected) in &forward {
        bench.commit(&step(*n));
        let (out, calls) = bench.apply_step(installed, None);
        assert_eq!(out.status.code(), Some(0), "step {n}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(helm_calls(&calls), *expected, "step {n}");
        if *n == 3 {
            let moved = calls.iter().position(|c| c.contains("manifests/02-revision-tags.yaml")).unwrap();
            let restart = calls.iter().position(|c| c.starts_with("kubectl rollout restart")).unwrap();
            assert!(moved < restart, "workloads restart after `prod` moved");
        }
    }

    // Rollback, one commit at a time.
    let back: [(usize, &str, Vec<String>); 3] = [
        (3, "istiod-1-30-3", v(&["install istio-base 1.30.3", "install istiod 1.29.6", "install istiod-1-30-3 1.30.3", "list"])),
        (2, "istiod istiod-1-30-3", v(&["install istio-base 1.30.3", "install istiod 1.29.6", "install istiod-1-30-3 1.30.3", "list"])),
        (1, "istiod istiod-1-30-3", v(&["install istio-base 1.29.6", "install istiod 1.29.6", "list", "pods", "uninstall istiod-1-30-3"])),
    ];
    for (n, installed, expected) in &back {
        bench.commit(&step(*n));
        let (out, calls) = bench.apply_step(installed, None);
        assert_eq!(out.status.code(), Some(0), "back to step {n}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(helm_calls(&calls), *expected, "back to step {n}");
    }
    bench.commit(&playground());
    let (out, calls) = bench.apply_step("istiod", None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(helm_calls(&calls), v(&["install istio-base 1.29.6", "install istiod 1.29.6"]), "back to the playground");
}

#[test]
fn the_old_revision_stays_while_pods_run_on_it() {
    let bench = Bench::new(&playground(), None);
    let o = bench.mesh_render(&["upgrade", "--to", "1.30.3", "--canary", "--write-steps", "steps"]);
    assert_eq!(o.status.code(), Some(0));
    bench.commit(&std::fs::read_to_string(bench.path().join("steps/step-4-old-removed.yaml")).unwrap());
    let (out, calls) = bench.apply_step("istiod istiod-1-30-3", Some("default"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pods still run with revision default's proxies"));
    assert!(!calls.iter().any(|c| c.starts_with("helm uninstall")), "{calls:#?}");
}

#[test]
fn canary_refuses_an_upgrade_in_progress_and_goes_through_each_minor() {
    let bench = Bench::new(&playground(), None);
    let o = bench.mesh_render(&["upgrade", "--to", "1.31.1", "--canary", "--write-steps", "steps"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Path: 1.29.6 → 1.30.5 → 1.31.1"), "{text}");
    let mut names: Vec<String> =
        std::fs::read_dir(bench.path().join("steps")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    // Every step loads and passes the analyzers (no tag without its revision, no skew past one minor).
    for name in &names {
        let config = std::fs::read_to_string(bench.path().join("steps").join(name)).unwrap();
        bench.commit(&config);
        let check = bench.mesh_render(&["check"]);
        assert_eq!(check.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&check.stdout));
    }
    bench.commit(&std::fs::read_to_string(bench.path().join("steps").join(&names[1])).unwrap());
    let o = bench.mesh_render(&["upgrade", "--to", "1.31.1", "--canary"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("an upgrade is in progress: 2 revisions are listed"));
}
