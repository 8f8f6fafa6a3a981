# mesh-render: render the playground mesh and test everything.
CARGO ?= cargo
CONFIG ?= config.yaml
OUT ?= deployment/rendered
MESH_RENDER = $(CARGO) run --quiet --locked -p mesh-render-cli --

.PHONY: render check-rendered test lint fmt snapshots clean

## Render config.yaml into deployment/rendered/ (replaced atomically).
render:
	$(MESH_RENDER) --config $(CONFIG) render --out $(OUT)

## Exit 1 if deployment/rendered/ is stale.
check-rendered:
	$(MESH_RENDER) --config $(CONFIG) render --out $(OUT) --check

## Every test: unit, golden snapshots (check mode), kubectl read-back, chart values, CLI.
test:
	INSTA_UPDATE=no $(CARGO) test --workspace --locked

## Formatting and clippy, warnings as errors.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## Re-record golden snapshots after an intended change; review with `git diff golden/`.
snapshots:
	INSTA_UPDATE=always $(CARGO) test --workspace --locked --test golden

clean:
	$(CARGO) clean
