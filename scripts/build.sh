#!/usr/bin/env bash
# Installs the mesh: renders the config, then runs `mesh-render plan apply` (charts, mesh resources,
# the Knative swap from Envoy Gateway to Istio). See docs/lifecycle.md.
set -euo pipefail
# shellcheck source=scripts/lib/mesh-render.sh
source "$(dirname "$0")/lib/mesh-render.sh"

render_tree
"$MESH_RENDER" "${mesh_render_args[@]}" plan apply --rendered "$rendered" | sh
