//! Library render time (divan): the playground config, and configs with 10 to 10,000 app namespaces.
//! Each iteration is the whole library path of `mesh-render render`: load (parse + check), render,
//! the analyzers, and the YAML stream.
//!
//! `cargo bench -p mesh-render --bench render` (or `make bench`, which also times the CLI against
//! `helm template`; see bench/run.sh).

use mesh_render::config::syntax::Limits;

fn main() {
    divan::main();
}

/// The playground's config with its app namespaces replaced by `n` generated ones.
fn with_apps(n: usize) -> String {
    let playground = include_str!("../../../config.yaml");
    let apps: Vec<String> = (0..n).map(|i| format!("app-{i:05}")).collect();
    let replaced = playground.replace("apps: [demo, event-demo]", &format!("apps: [{}]", apps.join(", ")));
    assert_ne!(replaced, playground, "config.yaml lists its app namespaces as `apps: [demo, event-demo]`");
    replaced
}

fn load_render_stream(text: &str) -> String {
    let loaded = mesh_render::load(text, None, Limits::DEFAULT).expect("a valid config");
    let rendered = mesh_render::render(&loaded);
    assert!(mesh_render::check::analyzers::analyze(&loaded, &rendered).iter().all(|f| f.severity != mesh_render::Severity::Error));
    rendered.stream_yaml()
}

#[divan::bench]
fn playground(bencher: divan::Bencher) {
    let text = include_str!("../../../config.yaml");
    bencher.bench(|| load_render_stream(divan::black_box(text)));
}

#[divan::bench(args = [10, 100, 1_000, 10_000], sample_count = 20)]
fn app_namespaces(bencher: divan::Bencher, n: usize) {
    let text = with_apps(n);
    bencher.counter(divan::counter::ItemsCount::new(n)).bench(|| load_render_stream(divan::black_box(&text)));
}

/// The phases at 10,000 app namespaces, to see where the time goes.
mod phases_10_000 {
    use super::*;

    #[divan::bench(sample_count = 10)]
    fn load(bencher: divan::Bencher) {
        let text = with_apps(10_000);
        bencher.bench(|| mesh_render::load(divan::black_box(&text), None, Limits::DEFAULT).expect("valid"));
    }

    #[divan::bench(sample_count = 10)]
    fn render(bencher: divan::Bencher) {
        let loaded = mesh_render::load(&with_apps(10_000), None, Limits::DEFAULT).expect("valid");
        bencher.bench(|| mesh_render::render(divan::black_box(&loaded)));
    }

    #[divan::bench(sample_count = 10)]
    fn analyze(bencher: divan::Bencher) {
        let loaded = mesh_render::load(&with_apps(10_000), None, Limits::DEFAULT).expect("valid");
        let rendered = mesh_render::render(&loaded);
        bencher.bench(|| mesh_render::check::analyzers::analyze(divan::black_box(&loaded), &rendered));
    }

    #[divan::bench(sample_count = 10)]
    fn stream_yaml(bencher: divan::Bencher) {
        let rendered = mesh_render::render(&mesh_render::load(&with_apps(10_000), None, Limits::DEFAULT).expect("valid"));
        bencher.bench(|| divan::black_box(&rendered).stream_yaml());
    }
}
